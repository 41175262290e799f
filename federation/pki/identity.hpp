// Does a certificate name an XMPP server domain? The identity check of RFC 6120 §13.7.2.1, done
// with the rules of RFC 6125 §6: DNS-ID (§6.4), SRV-ID "_xmpp-server.<domain>" (§6.5.1, RFC 4985),
// XmppAddr (RFC 6120 §13.7.1.4) and, only as a fallback, CN-ID (§6.4.4).
#pragma once

#include <openssl/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::federation::pki {

// Which presented identifier matched the reference identifier (the peer's XMPP domain).
enum class IdentityKind {
  DnsId,       // subjectAltName dNSName, exact or "*.rest" wildcard
  SrvId,       // subjectAltName otherName id-on-dnsSRV "_xmpp-server.<domain>"
  XmppAddr,    // subjectAltName otherName id-on-xmppAddr equal to the bare domain
  CommonName,  // subject CN, consulted only when the certificate has none of the above nor a URI
};

// "DNS-ID", "SRV-ID", "XmppAddr", "CN-ID".
std::string_view to_string(IdentityKind kind);

// Whether `cert` identifies the XMPP server `domain`, and by which identifier; nullopt when it does
// not. `domain` is an ASCII domain name (IDNA A-labels as they are); comparison ignores ASCII case.
// Rules (RFC 6125 §6.4.3): a wildcard is accepted only as the whole left-most label of a name with
// at least two further labels, and it matches exactly one label ("*.example.org" matches
// "a.example.org", neither "example.org" nor "a.b.example.org"); partial wildcards
// ("a*.example.org") never match. SRV-IDs count only for the service "_xmpp-server". XmppAddr
// counts only when it is a bare domain (no '@' or '/'). The subject CN is a fallback only for
// certificates with no DNS-ID, SRV-ID (of any service), URI-ID or XmppAddr (RFC 6125 §6.4.4), and
// only the last CN counts. Names with embedded NUL bytes or of the wrong ASN.1 string type never
// match.
std::optional<IdentityKind> certificate_identifies(X509* cert, std::string_view domain);

// Every identifier in `cert`, for logs and `parley check`: "DNS:a.example.org",
// "SRV:_xmpp-server.example.org", "xmppAddr:example.org", "URI:xmpp:example.org",
// "CN:example.org" (the CN is listed even when it would not be consulted). Bytes outside printable
// ASCII are written as \xNN so that a hostile certificate cannot forge log lines.
std::vector<std::string> certificate_identities(X509* cert);

// True when `presented` (a DNS name from a certificate) matches `domain` under the rules above.
bool dns_name_matches(std::string_view presented, std::string_view domain);

}  // namespace parley::federation::pki
