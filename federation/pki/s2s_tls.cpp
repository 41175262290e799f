#include "federation/pki/s2s_tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>

#include "core/tls/openssl_util.hpp"
#include "core/tls/server_contexts.hpp"

namespace parley::federation::pki {

using core::tls::openssl_reason;

struct S2sTls::Host {
  std::string domain;
  std::unique_ptr<boost::asio::ssl::context> server;
  std::unique_ptr<boost::asio::ssl::context> client;
};

namespace {

// ALPN wire format: the length-prefixed protocol name (RFC 7301 §3.1).
constexpr unsigned char kAlpnWire[] = {11, 'x', 'm', 'p', 'p', '-', 's', 'e', 'r', 'v', 'e', 'r'};
static_assert(sizeof kAlpnWire == kS2sAlpn.size() + 1 && kS2sAlpn.size() == 11);

// The peer's certificate never ends a handshake (RFC 6120 §13.7.2: an unverified certificate may
// still lead to dialback); verify_peer() judges it afterwards.
int continue_whatever(int, X509_STORE_CTX*) { return 1; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Owns an SSL_CTX until it is handed to a boost::asio::ssl::context.
using CtxPtr = std::unique_ptr<SSL_CTX, core::tls::Deleter<SSL_CTX_free>>;

CtxPtr make_context(const core::Config& config, const core::VirtualHost& host, bool server,
                    X509_STORE* anchors) {
  ERR_clear_error();
  CtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) throw std::runtime_error("cannot create a TLS context: " + openssl_reason());
  // The c2s hardening (core/tls/server_contexts.cpp, docs/SECURITY.md): TLS 1.2 and 1.3 only, no
  // compression (CRIME), no renegotiation, no resumption, so every link has fresh keys and every
  // handshake shows its certificates (a resumed session would skip the peer's certificate).
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(),
                      SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  // tls13_ciphersuites: the server's order when receiving; the same suites, in that order, offered
  // when connecting.
  if (server) {
    core::tls::set_server_suite_preference(ctx.get(), config.tls13_ciphersuites);
    SSL_CTX_set_num_tickets(ctx.get(), 0);
    // OpenSSL wants a session id context wherever client certificates are requested
    // (SSL_CTX_set_session_id_context(3)); with resumption off it never matters, but turning
    // resumption on later must not start failing handshakes.
    static constexpr unsigned char kSessionContext[] = "parley-s2s";
    if (SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1) !=
        1) {
      throw std::runtime_error("cannot set the TLS session context: " + openssl_reason());
    }
  } else {
    core::tls::set_tls13_suites(ctx.get(), config.tls13_ciphersuites);
  }
  // SSL_VERIFY_PEER on a server sends a CertificateRequest (XEP-0178 §3: the receiving server asks
  // for the initiating server's certificate); without FAIL_IF_NO_PEER_CERT a peer without one goes
  // on to dialback. The callback keeps any verification error from ending the handshake. With the
  // anchors as the context's store, OpenSSL's verdict (SSL_get_verify_result) is meaningful but
  // only advisory: it checks the TLS purpose of this side, not both, and no identity.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, continue_whatever);
  SSL_CTX_set1_cert_store(ctx.get(), anchors);

  const auto cert = config.certificate_file(host);
  const auto key = config.private_key_file(host);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1) {
    throw std::runtime_error("cannot use the certificate " + cert.string() + " for " + host.domain +
                             ": " + openssl_reason());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("cannot use the private key " + key.string() + " for " + host.domain +
                             ": " + openssl_reason());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("the private key " + key.string() +
                             " does not match the certificate " + cert.string());
  }
  return ctx;
}

// ALPN on incoming direct TLS (XEP-0368, RFC 7301): accept "xmpp-server" when offered; otherwise
// go on without ALPN, as the c2s listener does.
int on_alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                   unsigned inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnWire, sizeof kAlpnWire, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::unique_ptr<boost::asio::ssl::context> adopt(CtxPtr ctx) {
  // boost::asio::ssl::context takes ownership of the native handle and frees it.
  return std::make_unique<boost::asio::ssl::context>(ctx.release());
}

}  // namespace

// SNI (RFC 6066 §3): switch to the named host's certificate before the handshake goes on.
int S2sTls::on_servername(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const S2sTls*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  const Host* host = self->find(name);
  if (host == nullptr) return SSL_TLSEXT_ERR_NOACK;  // keep the default host's certificate
  SSL_set_SSL_CTX(ssl, host->server->native_handle());
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<S2sTls> S2sTls::load(const core::Config& config,
                                     std::shared_ptr<TrustAnchors> anchors) {
  if (!anchors) throw std::invalid_argument("S2sTls::load needs trust anchors");
  if (config.hosts.empty()) throw std::invalid_argument("S2sTls::load needs a served domain");
  std::shared_ptr<S2sTls> self(new S2sTls());
  self->anchors_ = std::move(anchors);
  for (const core::VirtualHost& vhost : config.hosts) {
    auto host = std::make_unique<Host>();
    host->domain = vhost.domain;
    CtxPtr server = make_context(config, vhost, true, self->anchors_->store());
    // SSL_CTX_set_tlsext_servername_callback, without the macro's C cast.
    SSL_CTX_callback_ctrl(server.get(), SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&S2sTls::on_servername));
    SSL_CTX_set_tlsext_servername_arg(server.get(), self.get());
    SSL_CTX_set_alpn_select_cb(server.get(), on_alpn_select, nullptr);
    host->server = adopt(std::move(server));
    host->client = adopt(make_context(config, vhost, false, self->anchors_->store()));
    self->hosts_.push_back(std::move(host));
  }
  return self;
}

S2sTls::~S2sTls() = default;

const S2sTls::Host* S2sTls::find(std::string_view domain) const {
  for (const auto& host : hosts_) {
    if (iequals(host->domain, domain)) return host.get();
  }
  return nullptr;
}

boost::asio::ssl::context& S2sTls::server_context() const { return *hosts_.front()->server; }

boost::asio::ssl::context& S2sTls::client_context(std::string_view local_domain) const {
  const Host* host = find(local_domain);
  if (host == nullptr) {
    throw std::invalid_argument("no TLS client context for " + std::string(local_domain) +
                                ", a domain not served here");
  }
  return *host->client;
}

bool S2sTls::serves(std::string_view domain) const { return find(domain) != nullptr; }

void S2sTls::prepare_server(SSL* ssl, std::string_view local_domain) const {
  if (const Host* host = find(local_domain)) SSL_set_SSL_CTX(ssl, host->server->native_handle());
}

void S2sTls::prepare_client(SSL* ssl, std::string_view remote_domain, bool direct_tls) {
  const std::string name(remote_domain);  // NUL-terminated for OpenSSL
  // SSL_set_tlsext_host_name, without the macro's C cast; OpenSSL copies the name.
  if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(name.c_str())) != 1) {
    throw std::runtime_error("cannot set SNI " + name + ": " + openssl_reason());
  }
  if (direct_tls) {
    // Unlike most of OpenSSL, SSL_set_alpn_protos returns 0 on success.
    if (SSL_set_alpn_protos(ssl, kAlpnWire, sizeof kAlpnWire) != 0) {
      throw std::runtime_error("cannot offer ALPN " + std::string(kS2sAlpn) + ": " +
                               openssl_reason());
    }
  }
}

}  // namespace parley::federation::pki
