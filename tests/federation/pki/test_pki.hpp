// Certificates for tests of server-to-server TLS: a private CA (with intermediates if wanted)
// issuing EC P-256 leaf certificates with chosen RFC 6125 identifiers (DNS-ID, SRV-ID, XmppAddr,
// URI, CN), extended key usage and validity, in memory or as PEM files. Never for production.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/tls/openssl_util.hpp"

namespace parley::federation::pki::test {

enum class Eku {
  ServerAuth,   // serverAuth only: Let's Encrypt's 2025 "tlsserver" profile
  ClientAuth,   // clientAuth only
  Both,         // serverAuth, clientAuth: the classic web server certificate
  None,         // no extendedKeyUsage extension at all (any use, RFC 5280 §4.2.1.12)
  CodeSigning,  // codeSigning only: not a TLS certificate
};

enum class Validity { Current, Expired, NotYetValid };

struct LeafOptions {
  std::vector<std::string> dns_names;   // subjectAltName dNSName, e.g. "*.example.org"
  std::vector<std::string> srv_names;   // id-on-dnsSRV as written, e.g. "_xmpp-server.example.org"
  std::vector<std::string> xmpp_addrs;  // id-on-xmppAddr (UTF8String), e.g. "example.org"
  std::vector<std::string> uris;        // uniformResourceIdentifier
  std::string common_name;              // subject CN; "" for none
  Eku eku = Eku::Both;
  Validity validity = Validity::Current;
  // Flip a bit of the signature after signing: a certificate whose signature does not verify.
  bool corrupt_signature = false;
};

// The usual server certificate of `domain`: DNS-ID and CN `domain`, serverAuth and clientAuth.
LeafOptions server_leaf(const std::string& domain);

struct Issued {
  core::tls::X509Ptr certificate;
  core::tls::PkeyPtr key;
  // The intermediate CAs between the leaf and the root, the leaf's issuer first (empty when the
  // root issued it). The root itself is never part of it: a peer need not send its trust anchor.
  std::vector<core::tls::X509Ptr> chain;
};

struct PemFiles {
  std::filesystem::path certificate;  // the leaf, then (when written with it) the chain
  std::filesystem::path key;          // PKCS#8, unencrypted
};

// Writes <dir>/<name>.crt and <dir>/<name>.key. Throws std::runtime_error on failure.
PemFiles write_files(const Issued& issued, const std::filesystem::path& dir,
                     const std::string& name, bool with_chain = true);

class TestCa {
 public:
  // A new self-signed root CA "CN=<name>, O=Parley tests", valid for a year around now.
  explicit TestCa(const std::string& name = "Parley Test CA");
  TestCa(TestCa&&) = default;
  TestCa& operator=(TestCa&&) = default;

  // An intermediate CA signed by this one; what it issues carries it (and this CA, if this is an
  // intermediate too) in Issued::chain.
  TestCa intermediate(const std::string& name) const;

  Issued issue(const LeafOptions& options) const;
  PemFiles issue_files(const LeafOptions& options, const std::filesystem::path& dir,
                       const std::string& name, bool with_chain = true) const {
    return write_files(issue(options), dir, name, with_chain);
  }

  // The root certificate: what a trust store must hold. Writes it as <dir>/<name>.pem.
  X509* root() const { return root_.get(); }
  std::filesystem::path write_root(const std::filesystem::path& dir, const std::string& name) const;
  // This CA's own certificate (the root, or the intermediate).
  X509* certificate() const { return certificate_.get(); }

 private:
  struct Empty {};
  explicit TestCa(Empty) {}
  core::tls::X509Ptr certificate_;
  core::tls::PkeyPtr key_;
  std::vector<core::tls::X509Ptr>
      chain_;  // this CA and the intermediates above it; none for a root
  core::tls::X509Ptr root_;
};

// A self-signed leaf (its own issuer, CA:FALSE) with the given identities: what a fresh Parley or
// Prosody presents before the operator installs a real certificate.
Issued self_signed(const LeafOptions& options);

// PEM text of one certificate.
std::string to_pem(X509* certificate);

// A fresh directory under the system's temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace parley::federation::pki::test
