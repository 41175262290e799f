// TLS for server-to-server links (RFC 6120 §5 and §13.7, RFC 7590, XEP-0368): per served host, a
// server context for incoming links and a client context for outgoing ones, both presenting the
// host's certificate (XEP-0178 §3: the initiating server authenticates with its certificate too).
// Neither side fails a handshake over the peer's certificate: verify_peer() decides afterwards
// between SASL EXTERNAL (valid) and dialback (XEP-0220, not valid).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "federation/pki/peer_verifier.hpp"
#include "federation/pki/trust_anchors.hpp"

namespace boost::asio::ssl {
class context;
}

namespace parley::federation::pki {

// The ALPN protocol of direct TLS server-to-server links (XEP-0368 §3).
inline constexpr std::string_view kS2sAlpn = "xmpp-server";

// Immutable once loaded; SIGHUP builds a new one for new links while established links keep the
// one they started with. REQUIRES: a stream created from one of its contexts holds the shared_ptr
// at least until its handshake is over (the SNI callback refers to this object).
class S2sTls {
 public:
  // Loads every host's certificate chain and key (Config::certificate_file/private_key_file, the
  // files c2s uses) into a server and a client context: TLS 1.2+, no compression, renegotiation,
  // tickets or session cache; the server context requests a client certificate; both let the
  // handshake go on whatever the peer's certificate and use `anchors` for OpenSSL's own advisory
  // verdict. Throws std::runtime_error naming the file and OpenSSL's reason when a certificate or
  // key cannot be used, std::invalid_argument without hosts or anchors.
  static std::shared_ptr<S2sTls> load(const core::Config& config,
                                      std::shared_ptr<TrustAnchors> anchors);
  ~S2sTls();
  S2sTls(const S2sTls&) = delete;
  S2sTls& operator=(const S2sTls&) = delete;

  // Incoming links, STARTTLS on 5269 and direct TLS on 5270: the default host's server context;
  // SNI switches to the named host's, and ALPN "xmpp-server" is accepted when offered.
  boost::asio::ssl::context& server_context() const;
  // Outgoing links from `local_domain`: the context presenting its certificate as TLS client.
  // Throws std::invalid_argument for a domain not served (a caller's bug: Parley only initiates
  // links for its own domains).
  boost::asio::ssl::context& client_context(std::string_view local_domain) const;
  bool serves(std::string_view domain) const;

  // Before accepting STARTTLS on an incoming link: present the certificate of the domain the
  // stream was addressed to ('to'); a domain not served keeps the default host's certificate.
  void prepare_server(SSL* ssl, std::string_view local_domain) const;
  // Before connecting: SNI = the remote XMPP domain (XEP-0368 §3, RFC 6120 §13.7.2.2 — not the SRV
  // target), and for direct TLS the ALPN protocol "xmpp-server". Throws std::runtime_error when
  // OpenSSL refuses them.
  static void prepare_client(SSL* ssl, std::string_view remote_domain, bool direct_tls);

  const TrustAnchors& trust_anchors() const { return *anchors_; }
  // verify_peer() with these anchors, after the handshake.
  PeerCertificate verify(SSL* ssl, std::string_view peer_domain) const {
    return verify_peer(ssl, peer_domain, *anchors_);
  }

 private:
  struct Host;
  S2sTls() = default;
  const Host* find(std::string_view domain) const;
  static int on_servername(SSL* ssl, int* alert, void* arg);

  std::shared_ptr<TrustAnchors> anchors_;
  std::vector<std::unique_ptr<Host>> hosts_;  // config order; the first is the default
};

}  // namespace parley::federation::pki
