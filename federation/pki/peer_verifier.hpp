// Is the certificate a peer server presented good for its domain? Chain validation against the
// trust anchors (RFC 6120 §13.7.2, RFC 5280 §6) plus the RFC 6125 identity check, done after the
// TLS handshake: the handshake never fails on a peer certificate, so that a peer whose certificate
// does not validate can still be authenticated with dialback (XEP-0220), while a valid one allows
// SASL EXTERNAL (XEP-0178).
#pragma once

#include <openssl/types.h>
#include <openssl/x509.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "federation/pki/identity.hpp"
#include "federation/pki/trust_anchors.hpp"

namespace parley::federation::pki {

// What the peer's certificate proves about `domain`.
struct PeerCertificate {
  std::string domain;      // the reference identifier that was checked
  bool presented = false;  // the peer sent a certificate at all
  // The chain reaches a trust anchor, every certificate is within its validity period and
  // correctly signed, and the leaf's extended key usage allows TLS server or client use.
  bool chain_valid = false;
  // Why not, in OpenSSL's words with the offending certificate's depth and subject; "" when valid.
  std::string chain_error;
  // Which identifier of the leaf names `domain` (identity.hpp); nullopt when none does.
  std::optional<IdentityKind> identity;
  // For logs: the leaf's subject (RFC 2253) and certificate_identities().
  std::string subject;
  std::vector<std::string> identities;

  // Good enough for SASL EXTERNAL (XEP-0178 §3): presented, chain valid and identity matched.
  bool valid() const { return presented && chain_valid && identity.has_value(); }
  // One line for the operator's log, e.g.
  //   certificate of example.org valid (DNS-ID): subject "CN=example.org" [DNS:example.org]
  //   certificate of example.org not valid: chain: certificate has expired (depth 0,
  //   "CN=example.org"); subject "CN=example.org" [DNS:example.org]
  //   certificate of example.org: none presented
  std::string describe() const;
};

// Checks the certificate the peer of `ssl` presented, after its handshake, for `domain` (the
// stream's 'from' on an incoming link, the domain connected to on an outgoing one). The chain the
// peer sent (SSL_get_peer_cert_chain) supplies the intermediates; only `anchors` are trusted.
// Extended key usage: serverAuth, clientAuth or no EKU at all are accepted on either side of a
// link, since a server initiating a link presents its ordinary server certificate as TLS client
// (Let's Encrypt's "tlsserver" profile has serverAuth only); anything else (codeSigning only) is
// refused. Revocation (CRL, OCSP) is not checked.
PeerCertificate verify_peer(SSL* ssl, std::string_view domain, const TrustAnchors& anchors);

// The same for a certificate at hand: `leaf` and the untrusted intermediates that came with it
// (may be null; may contain the leaf too). Also for checking Parley's own certificates.
PeerCertificate verify_certificate(X509* leaf, STACK_OF(X509) * untrusted, std::string_view domain,
                                   const TrustAnchors& anchors);

}  // namespace parley::federation::pki
