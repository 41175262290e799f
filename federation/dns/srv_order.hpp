// The order in which to try SRV targets: RFC 2782 ("Usage rules" and the Weight field) — priority
// ascending, a weighted random order within each priority — applied to the _xmpps-server and
// _xmpp-server records as one list (XEP-0368 §3, rule 1). Pure functions: randomness comes in as a
// RandomSource, so tests choose it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace parley::federation::dns {

// The SRV services of server-to-server XMPP: direct TLS (XEP-0368) and STARTTLS (RFC 6120 §3.2.1).
inline constexpr const char* kXmppsServerService = "_xmpps-server._tcp";
inline constexpr const char* kXmppServerService = "_xmpp-server._tcp";

// One SRV resource record, as received (RFC 2782 "The format of the SRV RR").
struct SrvRecord {
  std::string service;  // kXmppsServerService or kXmppServerService
  std::string target;   // without the trailing dot; "." is the root: "decidedly not available"
  std::uint16_t port = 0;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  bool direct_tls = false;  // from _xmpps-server: TLS from the first byte (XEP-0368 §3, rule 2)

  friend bool operator==(const SrvRecord&, const SrvRecord&) = default;
};

// Returns a uniformly distributed integer in [0, max], both ends included. A value above `max` is
// treated as `max`.
using RandomSource = std::function<std::uint32_t(std::uint32_t max)>;

// A RandomSource over its own std::mt19937, seeded from std::random_device. Not cryptographic:
// RFC 2782 weights spread load, they do not defend against anything.
RandomSource default_random_source();

// RFC 2782: "If there is precisely one SRV RR, and its Target is "." (the root domain), abort."
bool says_not_available(const std::vector<SrvRecord>& records);

// Orders `records` for connection attempts. Priorities ascending; within one priority, RFC 2782's
// selection: the records not yet chosen are listed (those of weight 0 first, as the RFC requires;
// then, since DNS servers rotate answers and the RFC allows "any order", a fixed order: direct TLS
// first, then by target and port), a number is drawn from `random(sum of their weights)`, and the
// first record whose running sum of weights reaches it is chosen next. `random` is called only
// when two or more records of a priority remain. Records whose target is "." are ordered like the
// others; whoever connects skips them.
std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, const RandomSource& random);

}  // namespace parley::federation::dns
