// The certification authorities a peer server's certificate must chain to (RFC 6120 §13.7.2,
// RFC 5280 §6): the system's trust store, or the certificates of one PEM file given with
// `--ca-file` (a private federation trusts its own CA and nothing else).
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace parley::federation::pki {

class TrustAnchors {
 public:
  // nullopt: OpenSSL's default locations (on Debian /etc/ssl/certs, filled by ca-certificates).
  // A file: every certificate in it, PEM, and nothing else — the system store is not consulted.
  // Throws std::runtime_error naming the file when it cannot be read, is not PEM, or holds no
  // certificate.
  static std::shared_ptr<TrustAnchors> load(std::optional<std::filesystem::path> ca_file);
  ~TrustAnchors();
  TrustAnchors(const TrustAnchors&) = delete;
  TrustAnchors& operator=(const TrustAnchors&) = delete;

  // The store to verify against. Safe to use from several threads at once (OpenSSL locks the
  // store's lookups); never modified after load().
  X509_STORE* store() const { return store_; }
  // For logs and `parley check`: "the system trust store (/usr/lib/ssl/certs)" or
  // "3 certificates from /etc/parley/ca.pem".
  std::string describe() const;
  // The file the anchors came from; nullopt for the system store.
  const std::optional<std::filesystem::path>& ca_file() const { return ca_file_; }
  // Certificates read from ca_file(); 0 for the system store (loaded lazily by OpenSSL).
  std::size_t certificate_count() const { return count_; }

 private:
  TrustAnchors() = default;
  X509_STORE* store_ = nullptr;  // owned
  std::optional<std::filesystem::path> ca_file_;
  std::size_t count_ = 0;
};

}  // namespace parley::federation::pki
