// The hash functions SCRAM is defined over (RFC 5802 "SHA-1", RFC 7677 "SHA-256", and SHA-512 as
// in draft-melnikov-scram-sha-512) and SCRAM's primitives H, HMAC and Hi (RFC 5802 §2.2), on
// OpenSSL 3 EVP. Byte strings are std::string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct evp_md_st;  // OpenSSL's EVP_MD

namespace parley::core::sasl {

inline constexpr std::string_view kSha1 = "SHA-1";
inline constexpr std::string_view kSha256 = "SHA-256";
inline constexpr std::string_view kSha512 = "SHA-512";

class ScramHash {
 public:
  // nullopt for a name other than the three above (the names are the IANA hash names used in
  // the mechanism names: "SCRAM-SHA-256" uses "SHA-256").
  static std::optional<ScramHash> from_name(std::string_view name);

  std::string_view name() const { return name_; }
  // Output length in bytes.
  std::size_t size() const { return size_; }

  std::string hash(std::string_view data) const;                        // H(data)
  std::string hmac(std::string_view key, std::string_view data) const;  // HMAC(key, data)
  // Hi(password, salt, i) = PBKDF2 with HMAC-H and one block of output. REQUIRES: 1 <= i.
  std::string hi(std::string_view password, std::string_view salt, std::uint32_t iterations) const;

 private:
  ScramHash(std::string_view name, const evp_md_st* md, std::size_t size)
      : name_(name), md_(md), size_(size) {}

  std::string_view name_;
  const evp_md_st* md_;
  std::size_t size_;
};

// a XOR b. REQUIRES: a.size() == b.size().
std::string xor_bytes(std::string_view a, std::string_view b);

// Constant-time equality (CRYPTO_memcmp); false when the sizes differ (sizes are not secret).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace parley::core::sasl
