// A self-signed certificate for a domain, so that a fresh server has TLS material from its first
// start (RFC 6120 §13.7.1.2 asks for certificates; operators replace this one with a real one).
// Key: EC P-256. Certificate: X.509 v3, SAN dNSName = the domain, one year, signed with SHA-256.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace parley::core::tls {

struct PemPair {
  std::string certificate;  // "-----BEGIN CERTIFICATE-----..."
  std::string private_key;  // PKCS#8, unencrypted: "-----BEGIN PRIVATE KEY-----..."
};

inline constexpr std::chrono::seconds kSelfSignedValidity{365 * 24 * 60 * 60};

// A new key and a certificate for `domain` valid from now for `validity`.
// Throws std::runtime_error (with OpenSSL's reason) on failure.
PemPair generate_self_signed(std::string_view domain,
                             std::chrono::seconds validity = kSelfSignedValidity);

// Makes sure `certificate_file` and `key_file` exist: when neither does, generates a self-signed
// pair for `domain` and writes them (the key with mode 0600, created exclusively) and returns true.
// Returns false when both exist (they are left untouched). Throws std::runtime_error when only one
// of them exists, since overwriting an operator's file would be worse than refusing to start.
bool ensure_self_signed(const std::filesystem::path& certificate_file,
                        const std::filesystem::path& key_file, std::string_view domain);

}  // namespace parley::core::tls
