#include "federation/pki/peer_verifier.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

#include "core/tls/openssl_util.hpp"

namespace parley::federation::pki {
namespace {

using core::tls::BioPtr;
using core::tls::Deleter;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

// RFC 2253 form with control and non-ASCII bytes escaped: safe to put in a log line.
std::string subject_of(X509* cert) {
  const X509_NAME* name = cert != nullptr ? X509_get_subject_name(cert) : nullptr;
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (name == nullptr || !bio ||
      X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 | ASN1_STRFLGS_ESC_MSB) < 0) {
    ERR_clear_error();
    return "?";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 && data != nullptr ? std::string(data, static_cast<std::size_t>(size))
                                     : std::string();
}

struct ChainResult {
  int code = X509_V_OK;
  std::string error;  // "" when code is X509_V_OK
};

ChainResult verify_chain(X509* leaf, STACK_OF(X509) * untrusted, X509_STORE* store, int purpose) {
  ERR_clear_error();
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
    return {X509_V_ERR_UNSPECIFIED, "cannot set up verification: " + core::tls::openssl_reason()};
  }
  const int ok = X509_verify_cert(ctx.get());
  if (ok == 1) return {};
  int code = X509_STORE_CTX_get_error(ctx.get());
  if (code == X509_V_OK) code = X509_V_ERR_UNSPECIFIED;  // ok < 0: an internal failure
  std::string error = X509_verify_cert_error_string(code);
  X509* culprit = X509_STORE_CTX_get_current_cert(ctx.get());
  error += " (depth " + std::to_string(X509_STORE_CTX_get_error_depth(ctx.get()));
  if (culprit != nullptr) error += ", \"" + subject_of(culprit) + "\"";
  error += ")";
  if (const std::string reason = core::tls::openssl_reason(); !reason.empty()) {
    error += ": " + reason;
  }
  return {code, std::move(error)};
}

}  // namespace

std::string PeerCertificate::describe() const {
  std::string line = "certificate of " + domain;
  if (!presented) return line + ": none presented";
  if (valid()) {
    line += " valid (" + std::string(to_string(*identity)) + "):";
  } else {
    line += " not valid:";
    if (!chain_valid) line += " chain: " + chain_error + ";";
    if (!identity) line += " identity: names none of " + domain + ";";
  }
  line += " subject \"" + subject + "\" [";
  for (std::size_t i = 0; i < identities.size(); ++i) {
    if (i > 0) line += ", ";
    line += identities[i];
  }
  return line + "]";
}

PeerCertificate verify_certificate(X509* leaf, STACK_OF(X509) * untrusted, std::string_view domain,
                                   const TrustAnchors& anchors) {
  PeerCertificate result;
  result.domain = std::string(domain);
  if (leaf == nullptr) {
    result.chain_error = "no certificate presented";
    return result;
  }
  result.presented = true;
  result.subject = subject_of(leaf);
  result.identities = certificate_identities(leaf);
  result.identity = certificate_identifies(leaf, domain);

  // OpenSSL's purposes check the extended key usage of the leaf and of the CAs above it (RFC 5280
  // §4.2.1.12; no EKU allows any use). A server certificate used by an initiating server as TLS
  // client certificate need not carry clientAuth (Let's Encrypt's 2025 "tlsserver" profile has
  // serverAuth only), so either purpose is accepted, as Prosody does on s2s.
  ChainResult chain = verify_chain(leaf, untrusted, anchors.store(), X509_PURPOSE_SSL_SERVER);
  if (chain.code == X509_V_ERR_INVALID_PURPOSE) {
    ChainResult as_client = verify_chain(leaf, untrusted, anchors.store(), X509_PURPOSE_SSL_CLIENT);
    if (as_client.code == X509_V_ERR_INVALID_PURPOSE) {
      as_client.error += ": its extended key usage allows neither TLS server nor client use";
    }
    chain = std::move(as_client);
  }
  result.chain_valid = chain.code == X509_V_OK;
  result.chain_error = std::move(chain.error);
  return result;
}

PeerCertificate verify_peer(SSL* ssl, std::string_view domain, const TrustAnchors& anchors) {
  // On the server side of a handshake the chain excludes the leaf, on the client side it starts
  // with it; verify_certificate takes either.
  return verify_certificate(SSL_get0_peer_certificate(ssl), SSL_get_peer_cert_chain(ssl), domain,
                            anchors);
}

}  // namespace parley::federation::pki
