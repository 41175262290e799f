#include "core/tls/server_contexts.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>

#include "core/tls/openssl_util.hpp"
#include "core/tls/tls_socket.hpp"

namespace parley::core::tls {
namespace {

SSL_CTX* make_context(const Config& config, const VirtualHost& host) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw std::runtime_error("cannot create a TLS context: " + openssl_reason());
  // RFC 7590 §3.1 and today's practice: TLS 1.2 and 1.3 only; no compression (CRIME), no
  // renegotiation; the server's order of the TLS 1.3 suites (tls13_ciphersuites); OpenSSL's
  // default TLS 1.2 cipher list, modern already.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  try {
    set_server_suite_preference(ctx, config.tls13_ciphersuites);
  } catch (...) {
    SSL_CTX_free(ctx);
    throw;
  }
  SSL_CTX_set_num_tickets(ctx, 0);  // no TLS 1.3 resumption tickets either (docs/SECURITY.md)
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // no idle 34 KiB buffers per connection
  TlsSocket::prepare_context(ctx);  // client connections drop OpenSSL after the handshake
  const auto cert = config.certificate_file(host);
  const auto key = config.private_key_file(host);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    std::string reason = openssl_reason();
    SSL_CTX_free(ctx);
    throw std::runtime_error("cannot use the certificate " + cert.string() + " for " + host.domain +
                             ": " + reason);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string reason = openssl_reason();
    SSL_CTX_free(ctx);
    throw std::runtime_error("cannot use the private key " + key.string() + " for " + host.domain +
                             ": " + reason);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    SSL_CTX_free(ctx);
    throw std::runtime_error("the private key " + key.string() +
                             " does not match the certificate " + cert.string());
  }
  return ctx;
}

}  // namespace

// The default order is AES-128-GCM first, as BoringSSL, Go's crypto/tls and Mozilla's recommended
// server configurations order them; with SSL_OP_PRIORITIZE_CHACHA a client that puts ChaCha20
// first (one without AES instructions) gets it.
void set_server_suite_preference(SSL_CTX* ctx, std::string_view suites) {
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  set_tls13_suites(ctx, suites);
}

void set_tls13_suites(SSL_CTX* ctx, std::string_view suites) {
  if (SSL_CTX_set_ciphersuites(ctx, std::string(suites).c_str()) != 1) {
    throw std::runtime_error("cannot set the TLS 1.3 cipher suites: " + openssl_reason());
  }
}

// SNI (RFC 6066 §3): switch to the named host's certificate before the handshake goes on.
int on_client_hello_servername(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerContexts*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  SSL_CTX* ctx = self->for_domain(name);
  if (ctx == nullptr) return SSL_TLSEXT_ERR_NOACK;  // keep the default certificate
  SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

// ALPN (RFC 7301, XEP-0368): accept our protocol when offered; otherwise go on without ALPN.
int on_alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                   unsigned inlen, void* arg) {
  const auto* self = static_cast<const ServerContexts*>(arg);
  unsigned char* selected = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(self->alpn_wire_.data());
  if (SSL_select_next_proto(&selected, outlen, ours, static_cast<unsigned>(self->alpn_wire_.size()),
                            in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::shared_ptr<ServerContexts> ServerContexts::load(const Config& config, std::string alpn) {
  std::shared_ptr<ServerContexts> self(new ServerContexts());
  self->alpn_wire_.push_back(static_cast<char>(alpn.size()));
  self->alpn_wire_ += alpn;
  for (const VirtualHost& host : config.hosts) {
    SSL_CTX* ctx = make_context(config, host);
    self->by_domain_.emplace_back(host.domain, ctx);
    // SSL_CTX_set_tlsext_servername_callback, without the macro's C cast.
    SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&on_client_hello_servername));
    SSL_CTX_set_tlsext_servername_arg(ctx, self.get());
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn_select, self.get());
  }
  // The asio context owns one reference of the default host's SSL_CTX; by_domain_ the other.
  SSL_CTX* first = self->by_domain_.front().second;
  SSL_CTX_up_ref(first);
  self->default_ = std::make_unique<boost::asio::ssl::context>(first);
  return self;
}

ServerContexts::~ServerContexts() {
  default_.reset();
  for (auto& [domain, ctx] : by_domain_) SSL_CTX_free(ctx);
}

SSL_CTX* ServerContexts::for_domain(std::string_view domain) const {
  for (const auto& [d, ctx] : by_domain_) {
    if (d.size() == domain.size()) {
      bool same = true;
      for (std::size_t i = 0; i < d.size() && same; ++i) {
        char c = domain[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        same = d[i] == c;
      }
      if (same) return ctx;
    }
  }
  return nullptr;
}

void ServerContexts::select(SSL* ssl, std::string_view domain) const {
  if (SSL_CTX* ctx = for_domain(domain)) SSL_set_SSL_CTX(ssl, ctx);
}

}  // namespace parley::core::tls
