#include "core/sasl/scram_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <climits>
#include <stdexcept>

namespace parley::core::sasl {
namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

}  // namespace

std::optional<ScramHash> ScramHash::from_name(std::string_view name) {
  if (name == kSha1) return ScramHash(kSha1, EVP_sha1(), 20);
  if (name == kSha256) return ScramHash(kSha256, EVP_sha256(), 32);
  if (name == kSha512) return ScramHash(kSha512, EVP_sha512(), 64);
  return std::nullopt;
}

std::string ScramHash::hash(std::string_view data) const {
  std::string out(size_, '\0');
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), bytes(out), &n, md_, nullptr) != 1 || n != size_) {
    throw std::runtime_error("EVP_Digest failed");
  }
  return out;
}

std::string ScramHash::hmac(std::string_view key, std::string_view data) const {
  if (key.size() > INT_MAX) throw std::invalid_argument("HMAC key too long");
  std::string out(size_, '\0');
  unsigned int n = 0;
  if (HMAC(md_, key.data(), static_cast<int>(key.size()), bytes(data), data.size(), bytes(out),
           &n) == nullptr ||
      n != size_) {
    throw std::runtime_error("HMAC failed");
  }
  return out;
}

std::string ScramHash::hi(std::string_view password, std::string_view salt,
                          std::uint32_t iterations) const {
  if (iterations == 0 || iterations > INT_MAX || password.size() > INT_MAX ||
      salt.size() > INT_MAX) {
    throw std::invalid_argument("Hi: bad iteration count or input length");
  }
  std::string out(size_, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), md_,
                        static_cast<int>(size_), bytes(out)) != 1) {
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  }
  return out;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) throw std::invalid_argument("xor_bytes: sizes differ");
  std::string out(a.size(), '\0');
  for (std::size_t i = 0; i < a.size(); ++i) {
    out[i] = static_cast<char>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace parley::core::sasl
