// Test helpers for core/tls: a server context with a fresh self-signed certificate, and a client
// context that takes any certificate, both from OpenSSL, so that Parley's TLS code is checked
// against OpenSSL's own client.
#pragma once

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "core/tls/openssl_util.hpp"
#include "core/tls/self_signed.hpp"

namespace parley::testing {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

// TLS 1.2 and 1.3, no tickets, as core/tls/server_contexts.cpp makes them.
inline SslCtxPtr make_server_context() {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  const core::tls::PemPair pem = core::tls::generate_self_signed("localhost");
  core::tls::BioPtr cert_bio(
      BIO_new_mem_buf(pem.certificate.data(), static_cast<int>(pem.certificate.size())));
  core::tls::BioPtr key_bio(
      BIO_new_mem_buf(pem.private_key.data(), static_cast<int>(pem.private_key.size())));
  core::tls::X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  core::tls::PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!ctx || !cert || !key || SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) {
    throw std::runtime_error("test server context");
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

// `suites`: SSL_CTX_set_ciphersuites' list ("" keeps OpenSSL's); `max_version` 0 for any.
inline SslCtxPtr make_client_context(const std::string& suites = "", int max_version = 0) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("test client context");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (!suites.empty()) SSL_CTX_set_ciphersuites(ctx.get(), suites.c_str());
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  return ctx;
}

}  // namespace parley::testing
