// `parley check` for federation: what other servers (and clients) find in DNS for each served
// domain — the SRV records of RFC 6120 §3.2.1 and XEP-0368 §3, the A/AAAA fallback of §3.2.2 —
// compared with the listeners configured here; what other servers make of each domain's
// certificate (RFC 6120 §13.7.2: SASL EXTERNAL, XEP-0178, or dialback, XEP-0220); and whether each
// [[s2s.route]] resolves. Findings are core::CheckReport lines, like the rest of `parley check`.
//
// The assess_*() functions are pure: they turn facts (records, addresses, a certificate) and the
// configuration into findings. check_federation() gathers the facts (DNS with the configured
// servers, bounded in time; the certificate files) and calls them.
//
// Thread-safety: the functions share nothing; call them from any thread.
#pragma once

#include <openssl/types.h>
#include <openssl/x509.h>

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/check.hpp"
#include "core/config.hpp"
#include "federation/dns/srv_order.hpp"
#include "federation/pki/trust_anchors.hpp"

namespace parley::federation {

// The SRV services of client connections (RFC 6120 §3.2.1, XEP-0368 §3).
inline constexpr const char* kXmppsClientService = "_xmpps-client._tcp";
inline constexpr const char* kXmppClientService = "_xmpp-client._tcp";

// What DNS said about one host name: its addresses, or why there are none.
struct HostLookup {
  std::vector<boost::asio::ip::address> addresses;
  std::string error;       // "" when there are addresses
  bool timed_out = false;  // no answer in time: nothing is known
  bool not_found = false;  // a definite answer: NXDOMAIN, or no A or AAAA records
};

// The SRV records of one protocol (servers or clients), both services (direct TLS and STARTTLS).
struct SrvLookup {
  // In the order a peer tries them (priority ascending), "." targets included; `service` and
  // `direct_tls` set.
  std::vector<dns::SrvRecord> records;
  std::string error;       // "" when both queries were answered (with records or with none)
  bool timed_out = false;  // the error is a timeout
};

// What DNS says about one served domain.
struct DomainDns {
  std::string domain;
  SrvLookup servers;  // _xmpps-server._tcp and _xmpp-server._tcp
  SrvLookup clients;  // _xmpps-client._tcp and _xmpp-client._tcp
  // A and AAAA of every SRV target and, when a protocol has no SRV records, of the domain itself;
  // keyed by the name in lower case. A name missing here was not looked up.
  std::map<std::string, HostLookup> hosts;
};

// Findings about a domain's DNS records against the configuration: the server records (when
// federation is on; when it is off, only a warning if they invite other servers) against the
// [s2s] listeners, the client records against the [c2s] ones. For every record: where it points,
// what that resolves to, whether Parley listens on that port with that kind of TLS, and — when the
// listener is bound to one address — whether the target resolves to it. Without records: the
// A/AAAA fallback on 5269 (servers) or 5222 (clients). "." targets are explained (RFC 2782,
// RFC 6120 §3.2.1 step 3, XEP-0368 §5). Errors: a record pointing at a listener that is off or at
// the other kind of TLS, a server record that says "no service", no way at all for other servers
// to find the domain. Warnings: ports that differ (maybe forwarded), addresses not bound here,
// targets that do not resolve, lookups that timed out or failed.
void assess_dns(const core::Config& config, const DomainDns& dns, core::CheckReport& report);

// A [[s2s.route]]: its host resolves (an error when it definitely does not: stanzas to the domain
// would bounce).
void assess_route(const core::S2sRoute& route, const HostLookup& lookup, core::CheckReport& report);

// What other servers make of `leaf` (with the untrusted intermediates `chain`, may be null) as the
// certificate of `domain`, judged with `anchors` as pki::verify_certificate() judges peers: valid
// (SASL EXTERNAL; a warning within options.expiry_warning of its end), or not (a warning: dialback,
// and refusal by servers that require valid certificates); its extended key usage when it lacks
// clientAuth or serverAuth.
void assess_certificate(std::string_view domain, X509* leaf, STACK_OF(X509) * chain,
                        const pki::TrustAnchors& anchors, core::CheckReport& report,
                        const core::CheckOptions& options = {});

// assess_certificate() for a host's configured certificate file, or the self-signed one
// `parley serve` generates (a warning when it does not exist yet). A file that cannot be read or
// parsed adds nothing: core::check_host_certificate() reports it.
void assess_host_certificate(const core::Config& config, const core::VirtualHost& host,
                             const pki::TrustAnchors& anchors, core::CheckReport& report,
                             const core::CheckOptions& options = {});

// RFC 6761 §6.3: "localhost" and names under it never reach DNS; other servers cannot reach them.
bool is_local_only(std::string_view domain);

struct FederationCheckOptions {
  // false: no DNS lookups at all (`parley check --skip-dns`, offline machines).
  bool check_dns = true;
  // The bound on all DNS lookups together: the SRV queries (and routes) get half of it, the
  // targets' A/AAAA the other half.
  std::chrono::milliseconds dns_timeout{5000};
  // The time and the expiry warning period for certificates.
  core::CheckOptions certificates;
};

// Everything above for a loaded configuration: the DNS servers asked, then for each served domain
// (except local-only ones) its DNS and, when federation is on, its certificate as other servers
// see it, then each [[s2s.route]].
core::CheckReport check_federation(const core::Config& config,
                                   const FederationCheckOptions& options = {});

}  // namespace parley::federation
