// Where to connect for a server-to-server stream: RFC 6120 §3.2.1 (SRV lookup) with XEP-0368 §3
// (_xmpps-server records for direct TLS, merged with _xmpp-server and ordered as RFC 2782 says),
// the A/AAAA fallback on port 5269 of RFC 6120 §3.2.2 (which honours /etc/hosts), and plain host
// lookups. Asynchronous, on c-ares (channel.hpp) and the caller's executor.
//
// Thread-safety: a Resolver and its lookups run on the executor it was given; call it from there
// only. REQUIRES: the Resolver is destroyed before the execution context of that executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "federation/dns/srv_order.hpp"

namespace parley::federation::dns {

class Channel;
namespace detail {
struct ResolverShared;
}

// RFC 6120 §3.2.2: the port of the fallback when a domain has no SRV records.
inline constexpr std::uint16_t kXmppServerPort = 5269;

struct ResolverOptions {
  // The DNS configuration to read (nameserver lines; c-ares 1.18 reads no port from it, so 53).
  // Empty: the system's /etc/resolv.conf. A file named here must be readable.
  std::filesystem::path resolv_conf;
  // "ip", "ip:port", "[v6]:port" or a bare IPv6 address; non-empty overrides resolv_conf's servers.
  std::vector<std::string> servers;
  // The bound on one whole lookup (every query and retry in it). Each query tries a server for a
  // sixth of it, then again for a third (two rounds over the servers), so with one silent server
  // the SRV queries give up after half the bound and the A/AAAA fallback has the other half; with
  // several servers the bound cuts the rounds short.
  std::chrono::milliseconds timeout{5000};
  // The RFC 2782 weighted choice; empty: default_random_source().
  RandomSource random;
};

// One place to connect to, in the order to try.
struct Endpoint {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host;  // the SRV target or the domain (for logs; TLS SNI stays the XMPP domain)
  bool direct_tls = false;  // from _xmpps-server: TLS from the first byte, ALPN xmpp-server

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct Result {
  std::vector<Endpoint> endpoints;
  // Empty when there are endpoints; else one sentence for logs, e.g. "example.org: no such domain
  // (NXDOMAIN)", "example.org: DNS timeout after 5.0 s", "_xmpp-server._tcp.example.org says the
  // service is not available ('.')".
  std::string error;
  bool timed_out = false;  // the lookup ended for lack of answers, not because of an answer
  bool from_srv = false;   // the endpoints come from SRV records, not the A/AAAA fallback
};

class Resolver {
 public:
  using SrvRecord = dns::SrvRecord;

  // Throws std::runtime_error with the reason when the resolv.conf cannot be read, a server
  // string is invalid, or c-ares cannot be set up.
  Resolver(boost::asio::any_io_executor executor, ResolverOptions options);
  // Ends outstanding lookups: their coroutines resume (later, on the executor) with an error.
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // RFC 6120 §3.2.1 + XEP-0368 §3 for `domain` (an IDN is converted to its A-labels first):
  // _xmpps-server._tcp and _xmpp-server._tcp asked concurrently, merged and ordered (order_srv()),
  // then every target's A and AAAA (the hosts file first) asked concurrently; the endpoints follow
  // the SRV order, each target's addresses in RFC 6724 order. Targets that do not resolve are left
  // out; if none resolves, an error naming each. When the bound runs out while targets are still
  // being resolved, the endpoints of those already resolved are returned.
  // - No records from either service (none, NXDOMAIN, or no answer: RFC 6120 §3.2.1 says to fall
  //   back when the SRV query gets no response): the domain's own A/AAAA on port 5269, not direct
  //   TLS, the hosts file first (/etc/hosts, or the file the environment variable CARES_HOSTS
  //   names, as c-ares does).
  // - A lone "." target (RFC 2782; RFC 6120 §3.2.1 step 3) for _xmpp-server: "not available",
  //   unless _xmpps-server has real targets. A lone "." for _xmpps-server only means no direct
  //   TLS (XEP-0368 §5): the _xmpp-server records are used, and never the A/AAAA fallback.
  // Per-operation cancellation (e.g. `co_await (lookup || timer)`) ends the lookup.
  boost::asio::awaitable<Result> resolve_s2s(std::string domain);

  // A and AAAA for a host name, the hosts file first, or a literal IPv4/IPv6 address (with or
  // without brackets) at once: for static overrides and `parley check`.
  boost::asio::awaitable<Result> resolve_host(std::string host, std::uint16_t port,
                                              bool direct_tls);

  // The SRV records of both services for `parley check` to print, in the order resolve_s2s()
  // would try them ("." targets included). The error is empty when both queries were answered
  // (with records or with none), else it says what failed; the records then hold what the other
  // query returned.
  boost::asio::awaitable<std::pair<std::vector<SrvRecord>, std::string>> lookup_srv(
      std::string domain);

  // The DNS servers asked, "ip:port" or "[v6]:port" each, for logs and `parley check`.
  std::vector<std::string> servers() const;

 private:
  std::shared_ptr<detail::ResolverShared> shared_;
};

}  // namespace parley::federation::dns
