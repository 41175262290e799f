#include "core/sasl/channel_binding.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

namespace parley::core::sasl {

const std::string* ChannelBindings::find(std::string_view cb_name) const {
  const std::string* data = nullptr;
  if (cb_name == kTlsExporter) data = &tls_exporter;
  if (cb_name == kTlsServerEndPoint) data = &tls_server_end_point;
  if (cb_name == kTlsUnique) data = &tls_unique;
  return data != nullptr && !data->empty() ? data : nullptr;
}

std::vector<std::string_view> ChannelBindings::types() const {
  std::vector<std::string_view> out;
  if (!tls_exporter.empty()) out.push_back(kTlsExporter);
  if (!tls_server_end_point.empty()) out.push_back(kTlsServerEndPoint);
  if (!tls_unique.empty() && advertise_tls_unique) out.push_back(kTlsUnique);
  return out;
}

std::string tls_exporter(ssl_st* ssl) {
  if (ssl == nullptr || SSL_is_init_finished(ssl) != 1) return {};
  if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1) return {};
  static constexpr std::string_view kLabel = "EXPORTER-Channel-Binding";
  std::string out(32, '\0');
  // use_context = 0: RFC 9266 §2 says "no context", which differs from an empty context in
  // TLS 1.2.
  if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                 kLabel.data(), kLabel.size(), nullptr, 0, 0) != 1) {
    return {};
  }
  return out;
}

std::string tls_server_end_point(ssl_st* ssl) {
  if (ssl == nullptr) return {};
  // The server's own certificate is borrowed; a peer's comes with a reference we must drop.
  std::unique_ptr<X509, decltype(&X509_free)> peer(nullptr, &X509_free);
  X509* cert = nullptr;
  if (SSL_is_server(ssl) == 1) {
    cert = SSL_get_certificate(ssl);
  } else {
    peer.reset(SSL_get1_peer_certificate(ssl));
    cert = peer.get();
  }
  if (cert == nullptr) return {};
  int md_nid = NID_undef;
  // X509_get_signature_info also finds the hash of RSASSA-PSS signatures (in the parameters).
  if (X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr) != 1) return {};
  if (md_nid == NID_md5 || md_nid == NID_sha1) md_nid = NID_sha256;
  const EVP_MD* md = EVP_get_digestbynid(md_nid);
  if (md == nullptr) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, md, digest, &n) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), n);
}

std::string tls_unique(ssl_st* ssl) {
  if (ssl == nullptr || SSL_is_init_finished(ssl) != 1) return {};
  // RFC 5929 §3.1: the first Finished message of the handshake: the client's in a full
  // handshake, the server's in an abbreviated (resumed) one.
  const bool resumed = SSL_session_reused(ssl) == 1;
  const bool peer_first = (SSL_is_server(ssl) == 1) != resumed;
  unsigned char buf[EVP_MAX_MD_SIZE];
  const std::size_t n = peer_first ? SSL_get_peer_finished(ssl, buf, sizeof buf)
                                   : SSL_get_finished(ssl, buf, sizeof buf);
  return std::string(reinterpret_cast<const char*>(buf), std::min(n, sizeof buf));
}

ChannelBindings channel_bindings(ssl_st* ssl) {
  ChannelBindings b{tls_exporter(ssl), tls_server_end_point(ssl), tls_unique(ssl), false};
  // tls-unique is defined for TLS 1.2 and below only (RFC 9266 §3): advertised there alone.
  b.advertise_tls_unique = ssl != nullptr && SSL_version(ssl) < TLS1_3_VERSION;
  return b;
}

}  // namespace parley::core::sasl
