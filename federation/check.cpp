#include "federation/check.hpp"

#include <ares.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <utility>

#include "core/tls/openssl_util.hpp"
#include "federation/dns/channel.hpp"
#include "federation/dns/resolver.hpp"
#include "federation/pki/identity.hpp"
#include "federation/pki/peer_verifier.hpp"

namespace parley::federation {

namespace {

namespace asio = boost::asio;
using core::CheckReport;
using core::Severity;

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// "a", "a and b", "a, b and c".
std::string enumerate(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

std::string addresses_text(const std::vector<asio::ip::address>& addresses) {
  std::vector<std::string> texts;
  for (const auto& a : addresses) texts.push_back(a.to_string());
  return enumerate(texts);
}

std::string seconds_text(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", std::chrono::duration<double>(d).count());
  return text;
}

// --- DNS against the listeners ---------------------------------------------------------------

// One side of the picture: what other servers look up and reach ([s2s]), or what clients do
// ([c2s]). RFC 6120 §3.2.1 and XEP-0368 §3 give both the same rules.
struct Side {
  std::string who;       // "other servers": the subject of "... connect there"
  std::string protocol;  // "servers": "SRV records for servers", "listener for servers"
  std::string section;   // "[s2s]"
  const char* tls_service;
  const char* starttls_service;
  const core::ListenerConfig& starttls;
  const core::ListenerConfig& tls;
  const std::string& top_bind;  // Config::bind_address, for listeners without their own
  std::uint16_t fallback_port;  // RFC 6120 §3.2.2: 5269, or 5222 for clients
  Severity unreachable;         // when nobody can find the domain this way

  const core::ListenerConfig& listener(bool direct_tls) const {
    return direct_tls ? tls : starttls;
  }
  static const char* key(bool direct_tls) { return direct_tls ? "tls_port" : "port"; }
  std::string key_text(bool direct_tls) const { return section + " " + key(direct_tls); }
  // The address a listener binds: its own, or the top-level one; "" for all interfaces.
  const std::string& bind(bool direct_tls) const {
    const auto& own = listener(direct_tls).address;
    return own.empty() ? top_bind : own;
  }
  std::string bind_key(bool direct_tls) const {
    return listener(direct_tls).address.empty() ? "bind" : section + " bind";
  }
};

Side server_side(const core::Config& config) {
  return Side{"other servers",
              "servers",
              "[s2s]",
              dns::kXmppsServerService,
              dns::kXmppServerService,
              config.s2s.listener,
              config.s2s.tls_listener,
              config.bind_address,
              dns::kXmppServerPort,
              Severity::Error};
}

// Clients that cannot find the domain can still be told the host and port by hand: a warning.
Side client_side(const core::Config& config) {
  return Side{"clients",           "clients",           "[c2s]",
              kXmppsClientService, kXmppClientService,  config.c2s,
              config.c2s_tls,      config.bind_address, core::kDefaultC2sPort,
              Severity::Warning};
}

const char* mode(bool direct_tls) { return direct_tls ? "direct TLS" : "STARTTLS"; }

// As in a zone file, without the trailing dots: "_xmpp-server._tcp.example.org SRV 0 5 5269
// xmpp.example.org".
std::string record_text(const dns::SrvRecord& record, std::string_view domain) {
  return record.service + "." + std::string(domain) + " SRV " + std::to_string(record.priority) +
         " " + std::to_string(record.weight) + " " + std::to_string(record.port) + " " +
         record.target;
}

// Whether Parley listens on `port` with the kind of TLS `direct_tls` says, as `subject` (a record)
// tells `side.who` to expect; an error or a warning when not.
bool check_record_port(const Side& side, const std::string& subject, std::uint16_t port,
                       bool direct_tls, CheckReport& report) {
  const auto& same = side.listener(direct_tls);
  const auto& other = side.listener(!direct_tls);
  const std::string p = std::to_string(port);
  if (same.port && *same.port == port && port != 0) return true;
  if (other.port && *other.port == port && port != 0) {
    report.error(subject + ": " + side.who + " connect to port " + p + " with " + mode(direct_tls) +
                 ", but that is Parley's " + mode(!direct_tls) + " port for " + side.protocol +
                 " (" + side.key_text(!direct_tls) + "): the handshake will fail; " +
                 (same.port && *same.port != 0
                      ? "point the record at port " + std::to_string(*same.port) + ", or "
                      : std::string()) +
                 "publish port " + p + " as " +
                 (direct_tls ? side.starttls_service : side.tls_service) + " instead");
    return false;
  }
  if (!same.port) {
    report.error(subject + ": " + side.who + " connect to port " + p + " with " + mode(direct_tls) +
                 ", but Parley's " + mode(direct_tls) + " listener for " + side.protocol +
                 " is off (" + side.key_text(direct_tls) + " = false): set " +
                 Side::key(direct_tls) + " = " + p + " in " + side.section +
                 ", or remove the record");
    return false;
  }
  if (*same.port == 0) {
    report.warning(subject + ": " + side.who + " connect to port " + p + ", but " +
                   side.key_text(direct_tls) +
                   " is 0, a free port chosen at each start, which DNS cannot name: set " +
                   Side::key(direct_tls) + " = " + p + " in " + side.section);
    return false;
  }
  const std::string l = std::to_string(*same.port);
  report.warning(subject + ": " + side.who + " connect to port " + p + " with " + mode(direct_tls) +
                 ", but Parley listens for them on port " + l + " (" + side.key_text(direct_tls) +
                 "): unless a firewall forwards " + p + " to " + l +
                 ", they will fail; make the record and " + side.key_text(direct_tls) + " agree");
  return false;
}

// When the listener is bound to one address: whether `host` resolves to it (a warning if not).
bool check_bind(const Side& side, const std::string& subject, const std::string& host,
                const std::vector<asio::ip::address>& addresses, bool direct_tls,
                CheckReport& report) {
  const std::string& bind = side.bind(direct_tls);
  boost::system::error_code ec;
  const auto bound = asio::ip::make_address(bind, ec);
  if (bind.empty() || ec || bound.is_unspecified()) return true;
  if (std::find(addresses.begin(), addresses.end(), bound) != addresses.end()) return true;
  report.warning(subject + ": " + host + " is " + addresses_text(addresses) +
                 ", but Parley listens for " + side.protocol + " only on " + bind + " (" +
                 side.bind_key(direct_tls) + "): unless a router forwards " +
                 (addresses.size() == 1 ? "it" : "them") + " to " + bind + ", " + side.who +
                 " will fail to connect");
  return false;
}

// A "." target (RFC 2782: "decidedly not available").
void assess_dot(const Side& side, std::string_view domain, const SrvLookup& srv,
                const dns::SrvRecord& record, CheckReport& report) {
  const std::string subject = record_text(record, domain);
  auto count = [&](bool direct_tls, bool real) {
    return std::count_if(srv.records.begin(), srv.records.end(), [&](const dns::SrvRecord& r) {
      return r.direct_tls == direct_tls && (!real || r.target != ".");
    });
  };
  const std::string d(domain);
  if (count(record.direct_tls, false) > 1) {
    report.warning(subject + ": '.' means \"no service\" only as the one record of its service " +
                   "(RFC 2782); among other records " + side.who + " skip it: remove it");
    return;
  }
  const bool other_real = count(!record.direct_tls, true) > 0;
  const bool other_any = count(!record.direct_tls, false) > 0;
  const std::string other_service = record.direct_tls ? side.starttls_service : side.tls_service;
  if (record.direct_tls) {
    // XEP-0368 §5: "." for the direct TLS service only says there is no direct TLS.
    if (other_real) {
      report.ok(subject + ": '.' says " + d + " offers no direct TLS (XEP-0368); " + side.who +
                " use the " + other_service + " records");
    } else if (!other_any) {
      report.add(side.unreachable,
                 subject + ": '.' says " + d + " offers no direct TLS, and there is no " +
                     other_service + " record: with SRV records present " + side.who +
                     " do not fall back to " + d + "'s A/AAAA (XEP-0368), so they cannot reach " +
                     d + "; add " + other_service + " records, or remove this one");
    }
    // else: both services are "."; the STARTTLS one says it.
    return;
  }
  if (other_real) {
    report.ok(subject + ": '.' says " + d + " offers no STARTTLS; " + side.who + " use the " +
              other_service + " records (direct TLS)");
    return;
  }
  report.add(side.unreachable, subject + ": '.' says " + d + " offers no service for " +
                                   side.protocol + " (RFC 2782, RFC 6120 §3.2.1): " + side.who +
                                   " will not connect to it; remove the record, or point it at " +
                                   "this server's port " + std::to_string(side.fallback_port));
}

void assess_records(const Side& side, const DomainDns& dns, const SrvLookup& srv,
                    CheckReport& report) {
  int real = 0;
  int resolved = 0;
  int unknown = 0;
  std::vector<std::string> missing;
  for (const auto& record : srv.records) {
    if (record.target == ".") {
      assess_dot(side, dns.domain, srv, record, report);
      continue;
    }
    ++real;
    const std::string subject = record_text(record, dns.domain);
    const auto it = dns.hosts.find(lower(record.target));
    if (it == dns.hosts.end() || it->second.addresses.empty()) {
      const bool not_found = it != dns.hosts.end() && it->second.not_found;
      const std::string why = it == dns.hosts.end() ? "not looked up" : it->second.error;
      if (not_found) {
        if (std::find(missing.begin(), missing.end(), record.target) == missing.end()) {
          missing.push_back(record.target);
        }
        report.warning(subject + ": " + record.target + " does not resolve (" + why +
                       "): " + side.who + " skip this record");
      } else {
        ++unknown;
        report.warning(subject + ": could not look up " + record.target + " (" + why + ")");
      }
      check_record_port(side, subject, record.port, record.direct_tls, report);
      continue;
    }
    ++resolved;
    const auto& addresses = it->second.addresses;
    bool fine = check_record_port(side, subject, record.port, record.direct_tls, report);
    fine = check_bind(side, subject, record.target, addresses, record.direct_tls, report) && fine;
    if (fine) {
      report.ok(subject + ": " + record.target + " is " + addresses_text(addresses) + "; " +
                side.who + " connect there with " + mode(record.direct_tls) + ", to " +
                side.key_text(record.direct_tls));
    }
  }
  if (real > 0 && resolved == 0 && unknown == 0) {
    report.add(side.unreachable, "none of the SRV targets of " + dns.domain + " for " +
                                     side.protocol + " resolves: " + side.who + " cannot reach " +
                                     dns.domain + "; give " + enumerate(missing) +
                                     " an A or AAAA record");
  }
}

// No SRV records: RFC 6120 §3.2.2, the domain's own A/AAAA on the standard port, STARTTLS.
void assess_fallback(const Side& side, const DomainDns& dns, CheckReport& report) {
  const std::string& d = dns.domain;
  const std::string none = d + " has no SRV records for " + side.protocol + " (" +
                           side.tls_service + ", " + side.starttls_service + ")";
  const auto it = dns.hosts.find(lower(d));
  if (it == dns.hosts.end()) return;
  const HostLookup& host = it->second;
  const std::string fallback = std::to_string(side.fallback_port);
  const auto& listener = side.starttls;
  const std::string example_port =
      std::to_string(listener.port && *listener.port != 0 ? *listener.port : side.fallback_port);
  if (host.addresses.empty()) {
    if (!host.not_found) {
      report.warning(none + ", and its A/AAAA addresses could not be looked up (" + host.error +
                     ")");
      return;
    }
    report.add(side.unreachable,
               none + " and no A or AAAA address" +
                   (contains(host.error, "NXDOMAIN") ? " (" + host.error + ")" : std::string()) +
                   ": " + side.who + " cannot find " + d + "; publish an SRV record such as \"" +
                   side.starttls_service + "." + d + ". 3600 IN SRV 0 5 " + example_port +
                   " xmpp." + d + ".\" (xmpp." + d +
                   " standing for this server's host name, with an A or AAAA record), or an A or "
                   "AAAA record for " +
                   d);
    return;
  }
  const std::string subject = none + ": " + side.who + " connect to " + d + " itself, " +
                              addresses_text(host.addresses) + ", on port " + fallback +
                              " with STARTTLS (RFC 6120 §3.2.2)";
  bool fine = true;
  if (!listener.port) {
    const auto& tls = side.tls.port;
    report.add(side.unreachable,
               subject + ", but Parley's STARTTLS listener for " + side.protocol + " is off (" +
                   side.key_text(false) + " = false): set port = " + fallback + " in " +
                   side.section +
                   (tls && *tls != 0 ? ", or publish \"" + std::string(side.tls_service) + "." + d +
                                           ". 3600 IN SRV 0 5 " + std::to_string(*tls) + " " + d +
                                           ".\" for the direct TLS port"
                                     : std::string()));
    fine = false;
  } else if (*listener.port != side.fallback_port) {
    report.warning(subject + ", but Parley listens for them on port " +
                   (*listener.port == 0 ? std::string("0 (a free port chosen at each start)")
                                        : std::to_string(*listener.port)) +
                   " (" + side.key_text(false) + "): " +
                   (*listener.port == 0
                        ? "set port = " + fallback + " in " + side.section
                        : "publish \"" + std::string(side.starttls_service) + "." + d +
                              ". 3600 IN SRV 0 5 " + std::to_string(*listener.port) + " " + d +
                              ".\", or set port = " + fallback + " in " + side.section));
    fine = false;
  }
  fine = check_bind(side, subject, d, host.addresses, false, report) && fine;
  if (fine) report.ok(subject + ", to " + side.key_text(false));
}

void assess_side(const Side& side, const DomainDns& dns, const SrvLookup& srv,
                 CheckReport& report) {
  if (!srv.error.empty()) {
    report.warning(
        "the SRV records of " + dns.domain + " for " + side.protocol + " could not be looked up (" +
        srv.error + ")" +
        (srv.timed_out ? ": check again when DNS answers (--skip-dns does without it)" : ""));
  }
  if (!srv.records.empty()) {
    assess_records(side, dns, srv, report);
  } else if (srv.error.empty()) {
    assess_fallback(side, dns, report);
  }
}

// --- certificates ----------------------------------------------------------------------------

using core::tls::BioPtr;
using core::tls::X509Ptr;

struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

int no_passphrase(char*, int, int, void*) { return 0; }

// The certificate's end as core/check.cpp prints dates: "2027-01-02 10:00 UTC".
std::string date_text(const std::tm& utc) {
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &utc);
  return text;
}

std::string trust_text(const pki::TrustAnchors& anchors) {
  return anchors.ca_file() ? "the CAs of " + anchors.ca_file()->string() + " ([s2s] ca_file)"
                           : std::string("the CAs this system trusts");
}

// --- gathering the DNS facts -------------------------------------------------------------------

// A deterministic RFC 2782 order for printing: the first candidate each time.
std::uint32_t first_choice(std::uint32_t) { return 0; }

HostLookup host_lookup_of(const dns::Result& result) {
  HostLookup lookup;
  for (const auto& endpoint : result.endpoints) {
    const auto address = endpoint.endpoint.address();
    if (std::find(lookup.addresses.begin(), lookup.addresses.end(), address) ==
        lookup.addresses.end()) {
      lookup.addresses.push_back(address);
    }
  }
  if (lookup.addresses.empty()) {
    lookup.error = result.error.empty() ? "no address" : result.error;
    lookup.timed_out = result.timed_out;
    // The resolver's definite answers (federation/dns/resolver.cpp): NXDOMAIN, no A/AAAA, a name
    // that cannot be a host name.
    lookup.not_found = !result.timed_out && (contains(lookup.error, "(NXDOMAIN)") ||
                                             contains(lookup.error, "has no A or AAAA records") ||
                                             contains(lookup.error, "is not a valid host name"));
  }
  return lookup;
}

// The client services' answers, as Channel::query_srv() gives them (a c-ares status each).
struct ClientAnswers {
  int status[2] = {ARES_ETIMEOUT, ARES_ETIMEOUT};  // [0] _xmpps-client, [1] _xmpp-client
  std::vector<dns::SrvRecord> records[2];
  std::chrono::milliseconds elapsed[2] = {};  // from the start of the round to the answer
};

std::string describe_status(int status, std::chrono::milliseconds elapsed) {
  switch (status) {
    case ARES_ETIMEOUT:
    case ARES_EDESTRUCTION:  // the deadline shut the channel down
    case ARES_ECANCELLED:
      return "DNS timeout after " + seconds_text(elapsed);
    case ARES_ESERVFAIL:
      return "the DNS server failed (SERVFAIL)";
    case ARES_EREFUSED:
      return "the DNS server refused the query (REFUSED)";
    case ARES_ECONNREFUSED:
      return "the DNS servers cannot be reached (connection refused)";
    default:
      return ares_strerror(status);
  }
}

SrvLookup client_lookup_of(const std::string& domain, const ClientAnswers& answers) {
  SrvLookup lookup;
  const char* services[2] = {kXmppsClientService, kXmppClientService};
  std::vector<dns::SrvRecord> records;
  for (int i = 0; i < 2; ++i) {
    const int status = answers.status[i];
    if (status == ARES_SUCCESS) {
      for (auto record : answers.records[i]) {
        record.service = services[i];
        record.direct_tls = i == 0;
        records.push_back(std::move(record));
      }
    } else if (status != ARES_ENODATA && status != ARES_ENOTFOUND) {
      if (!lookup.error.empty()) lookup.error += "; ";
      lookup.error += std::string(services[i]) + "." + domain + ": " +
                      describe_status(status, answers.elapsed[i]);
      lookup.timed_out = lookup.timed_out || status == ARES_ETIMEOUT ||
                         status == ARES_EDESTRUCTION || status == ARES_ECANCELLED;
    }
  }
  lookup.records = dns::order_srv(std::move(records), first_choice);
  return lookup;
}

// Runs handlers until `pending` is 0. Not io.run(): c-ares may keep sockets (and so waits) open
// after the last answer. Every lookup is bounded (the resolver's timeout, the round's deadline).
void run_until_done(asio::io_context& io, const std::size_t& pending) {
  io.restart();
  while (pending > 0) {
    if (io.run_one() == 0) break;
  }
}

struct Facts {
  std::string setup_error;           // the resolver could not be set up
  std::vector<std::string> servers;  // the DNS servers asked
  std::vector<DomainDns> domains;
  std::vector<HostLookup> routes;  // parallel to config.s2s.routes (when federation is on)
};

// Asks DNS everything at once, in two rounds of at most half of `budget` each: the SRV records
// (and the routes' hosts), then the A/AAAA of every target and of domains without SRV records.
Facts gather(const core::Config& config, const std::vector<std::string>& domains,
             std::chrono::milliseconds budget) {
  Facts facts;
  asio::io_context io;  // declared first: the resolver and channel go before it
  const auto round = std::max(budget / 2, std::chrono::milliseconds(1));
  std::unique_ptr<dns::Resolver> resolver;
  std::shared_ptr<dns::Channel> channel;
  try {
    dns::ResolverOptions options;
    options.resolv_conf = config.s2s.resolv_conf;
    options.servers = config.s2s.dns_servers;
    options.timeout = round;
    options.random = first_choice;
    resolver = std::make_unique<dns::Resolver>(io.get_executor(), options);
    // The resolver asks only the s2s services; the client ones go through a channel of the same
    // servers, with the resolver's per-try timeouts.
    dns::ChannelOptions channel_options;
    channel_options.resolv_conf = config.s2s.resolv_conf;
    for (const auto& server : config.s2s.dns_servers) {
      channel_options.servers.push_back(dns::parse_server_address(server));
    }
    channel_options.try_timeout = std::max(round / 6, std::chrono::milliseconds(1));
    channel_options.tries = 2;
    channel = dns::Channel::create(io.get_executor(), channel_options);
  } catch (const std::exception& e) {
    facts.setup_error = e.what();
    return facts;
  }
  facts.servers = resolver->servers();
  for (const auto& domain : domains) facts.domains.push_back(DomainDns{domain, {}, {}, {}});

  // Round 1. `pending` starts at one so that an answer given at once does not end the round early.
  std::vector<ClientAnswers> client_answers(facts.domains.size());
  const bool federation = config.s2s.enabled;
  facts.routes.resize(federation ? config.s2s.routes.size() : 0);
  std::size_t pending = 1;
  asio::steady_timer deadline(io);
  auto finished = [&] {
    if (--pending == 0) deadline.cancel();
  };
  const auto started = std::chrono::steady_clock::now();
  deadline.expires_after(round + std::chrono::milliseconds(50));
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) channel->shutdown();  // the client queries still outstanding end now
  });
  for (std::size_t i = 0; i < facts.domains.size(); ++i) {
    DomainDns& d = facts.domains[i];
    ++pending;
    asio::co_spawn(io, resolver->lookup_srv(d.domain),
                   [&d, &finished](std::exception_ptr error,
                                   std::pair<std::vector<dns::SrvRecord>, std::string> answer) {
                     if (error) {
                       d.servers.error = "the lookup failed";
                     } else {
                       d.servers.records = std::move(answer.first);
                       d.servers.error = std::move(answer.second);
                       d.servers.timed_out = contains(d.servers.error, "DNS timeout");
                     }
                     finished();
                   });
    const char* services[2] = {kXmppsClientService, kXmppClientService};
    for (int s = 0; s < 2; ++s) {
      ++pending;
      channel->query_srv(
          std::string(services[s]) + "." + d.domain,
          [&answers = client_answers[i], s, &finished, started](dns::SrvAnswer answer) {
            answers.status[s] = answer.status;
            answers.elapsed[s] = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started);
            answers.records[s] = std::move(answer.records);
            finished();
          });
    }
  }
  for (std::size_t r = 0; r < facts.routes.size(); ++r) {
    const auto& route = config.s2s.routes[r];
    ++pending;
    asio::co_spawn(
        io, resolver->resolve_host(route.host, route.port, route.direct_tls),
        [&lookup = facts.routes[r], &finished](std::exception_ptr error, dns::Result result) {
          if (error) result.error = "the lookup failed";
          lookup = host_lookup_of(result);
          finished();
        });
  }
  finished();
  run_until_done(io, pending);
  for (std::size_t i = 0; i < facts.domains.size(); ++i) {
    facts.domains[i].clients = client_lookup_of(facts.domains[i].domain, client_answers[i]);
  }

  // Round 2: every name to resolve, once.
  std::map<std::string, HostLookup> hosts;
  std::vector<std::set<std::string>> wanted(facts.domains.size());
  for (std::size_t i = 0; i < facts.domains.size(); ++i) {
    const DomainDns& d = facts.domains[i];
    for (const SrvLookup* srv : {&d.servers, &d.clients}) {
      if (srv == &d.servers && !federation) continue;
      for (const auto& record : srv->records) {
        if (record.target != ".") wanted[i].insert(lower(record.target));
      }
      if (srv->records.empty() && srv->error.empty()) wanted[i].insert(lower(d.domain));
    }
    for (const auto& name : wanted[i]) hosts.emplace(name, HostLookup{});
  }
  pending = hosts.size();
  for (auto& [name, lookup] : hosts) {
    asio::co_spawn(io, resolver->resolve_host(name, 0, false),
                   [&lookup = lookup, &pending](std::exception_ptr error, dns::Result result) {
                     if (error) result.error = "the lookup failed";
                     lookup = host_lookup_of(result);
                     --pending;
                   });
  }
  run_until_done(io, pending);
  for (std::size_t i = 0; i < facts.domains.size(); ++i) {
    for (const auto& name : wanted[i]) facts.domains[i].hosts[name] = hosts[name];
  }
  resolver.reset();
  channel->shutdown();
  return facts;
}

std::string dns_source(const core::Config& config) {
  if (!config.s2s.dns_servers.empty()) return "[s2s] dns_servers";
  if (!config.s2s.resolv_conf.empty())
    return config.s2s.resolv_conf.string() + ", [s2s] resolv_conf";
  return "/etc/resolv.conf";
}

}  // namespace

bool is_local_only(std::string_view domain) {
  const std::string d = lower(std::string(domain));
  const std::string_view suffix = ".localhost";
  return d == "localhost" || d == "localhost." ||
         (d.size() > suffix.size() &&
          d.compare(d.size() - suffix.size(), suffix.size(), suffix) == 0);
}

void assess_dns(const core::Config& config, const DomainDns& dns, CheckReport& report) {
  if (config.s2s.enabled) {
    assess_side(server_side(config), dns, dns.servers, report);
  } else {
    std::vector<std::string> targets;
    for (const auto& record : dns.servers.records) {
      if (record.target != ".") targets.push_back(record_text(record, dns.domain));
    }
    if (!targets.empty()) {
      report.warning(enumerate(targets) + (targets.size() == 1 ? " invites" : " invite") +
                     " other servers, but federation is off here ([s2s] enabled = false): they "
                     "will fail to connect; remove the records, or turn federation on");
    }
  }
  assess_side(client_side(config), dns, dns.clients, report);
}

void assess_route(const core::S2sRoute& route, const HostLookup& lookup, CheckReport& report) {
  const std::string subject = "the [[s2s.route]] for " + route.domain + " (" + route.host +
                              " port " + std::to_string(route.port) + ", " +
                              mode(route.direct_tls) + ")";
  if (!lookup.addresses.empty()) {
    report.ok(subject + ": " + route.host + " is " + addresses_text(lookup.addresses));
  } else if (lookup.not_found) {
    report.error(subject + ": " + route.host + " does not resolve (" + lookup.error +
                 "): stanzas to " + route.domain + " will bounce; fix host in the route");
  } else {
    report.warning(subject + ": could not look up " + route.host + " (" + lookup.error + ")");
  }
}

void assess_certificate(std::string_view domain, X509* leaf, STACK_OF(X509) * chain,
                        const pki::TrustAnchors& anchors, CheckReport& report,
                        const core::CheckOptions& options) {
  const std::string d(domain);
  const pki::PeerCertificate peer = pki::verify_certificate(leaf, chain, domain, anchors);
  if (!peer.presented) return;
  const std::string trust = trust_text(anchors);
  const std::string consequence =
      "they will use dialback (XEP-0220) instead, and servers that require valid certificates "
      "will refuse you";
  if (peer.valid()) {
    std::tm tm{};
    const ASN1_TIME* not_after = X509_get0_notAfter(leaf);
    if (not_after != nullptr && ASN1_TIME_to_tm(not_after, &tm) == 1) {
      const std::time_t end = ::timegm(&tm);
      const auto left = std::chrono::duration_cast<std::chrono::hours>(
          std::chrono::system_clock::from_time_t(end) - options.now);
      if (left < options.expiry_warning) {
        const long days = static_cast<long>(left.count() / 24);
        report.warning("other servers can authenticate " + d +
                       " with SASL EXTERNAL (XEP-0178) only until " + date_text(tm) + " (" +
                       std::to_string(days) + (days == 1 ? " day" : " days") +
                       " from now), when its certificate expires: renew it, or " + consequence);
      } else {
        report.ok("other servers can authenticate " + d +
                  " with SASL EXTERNAL (XEP-0178): its certificate names it (" +
                  std::string(pki::to_string(*peer.identity)) + ") and chains to " + trust);
      }
    }
  } else {
    std::vector<std::string> why;
    if (!peer.chain_valid) {
      const bool alone = chain == nullptr || sk_X509_num(chain) == 0;
      // Issued by itself: names match and its own key verifies the signature (OpenSSL 3).
      const bool self_signed = X509_self_signed(leaf, 1) == 1;
      ERR_clear_error();
      why.push_back(self_signed && alone
                        ? "it is self-signed"
                        : "it does not validate against " + trust + ": " + peer.chain_error);
    }
    if (!peer.identity) {
      std::string names;
      for (const auto& identity : peer.identities) names += (names.empty() ? "" : ", ") + identity;
      why.push_back("it does not name " + d + " (it names " +
                    (names.empty() ? std::string("nothing") : names) + ")");
    }
    report.warning("other servers cannot authenticate " + d + " by its certificate (" +
                   enumerate(why) + "): " + consequence + "; use a certificate for " + d +
                   " from a CA they trust" +
                   (anchors.ca_file() ? " (here: one in " + anchors.ca_file()->string() + ")"
                                      : std::string(", e.g. Let's Encrypt")));
  }
  // RFC 5280 §4.2.1.12: without the extension any use is allowed.
  if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0) {
    const std::uint32_t usage = X509_get_extended_key_usage(leaf);
    const bool server = (usage & XKU_SSL_SERVER) != 0;
    const bool client = (usage & XKU_SSL_CLIENT) != 0;
    if (server && !client) {
      report.ok("note: the certificate of " + d +
                " allows TLS server use only (extended key usage serverAuth, no clientAuth): "
                "Parley and Prosody accept it from a server that connects to them, but some "
                "servers want clientAuth there and will not authenticate your outgoing "
                "connections with it (dialback then, where they allow it)");
    } else if (client && !server) {
      report.warning("the certificate of " + d +
                     " allows TLS client use only (extended key usage clientAuth, no "
                     "serverAuth): servers and clients connecting to you may refuse it; get one "
                     "with serverAuth");
    }
  }
}

void assess_host_certificate(const core::Config& config, const core::VirtualHost& host,
                             const pki::TrustAnchors& anchors, CheckReport& report,
                             const core::CheckOptions& options) {
  const auto file = config.certificate_file(host);
  std::error_code ec;
  if (host.certificate.empty() && !std::filesystem::exists(file, ec)) {
    report.warning("other servers cannot authenticate " + host.domain +
                   " by a certificate: parley serve will generate a self-signed one, so they "
                   "will use dialback (XEP-0220), and servers that require valid certificates "
                   "will refuse you; configure a certificate for " +
                   host.domain + " from a CA they trust");
    return;
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_file(file.c_str(), "r"));
  X509Ptr leaf(bio ? PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!leaf) {
    ERR_clear_error();  // check_host_certificate() says what is wrong with the file
    return;
  }
  X509StackPtr chain(sk_X509_new_null());
  while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
    sk_X509_push(chain.get(), next);
  }
  ERR_clear_error();
  assess_certificate(host.domain, leaf.get(), chain.get(), anchors, report, options);
}

CheckReport check_federation(const core::Config& config, const FederationCheckOptions& options) {
  CheckReport report;
  std::vector<const core::VirtualHost*> hosts;
  for (const auto& host : config.hosts) {
    if (is_local_only(host.domain)) {
      report.ok(host.domain +
                " is a name for this machine only (RFC 6761 §6.3): other servers cannot reach it, "
                "so neither its DNS nor its certificate as they would see it is checked");
    } else {
      hosts.push_back(&host);
    }
  }
  if (!config.s2s.enabled) {
    report.ok(
        "federation is off ([s2s] enabled = false): only clients' DNS records are checked, "
        "and no [[s2s.route]]");
  }

  std::optional<Facts> facts;
  const bool routes = config.s2s.enabled && !config.s2s.routes.empty();
  if (!hosts.empty() || routes) {
    if (!options.check_dns) {
      report.ok("DNS was not asked (--skip-dns): SRV records, addresses and routes not checked");
    } else {
      std::vector<std::string> domains;
      for (const auto* host : hosts) domains.push_back(host->domain);
      facts = gather(config, domains, options.dns_timeout);
      if (!facts->setup_error.empty()) {
        report.add(config.s2s.enabled ? Severity::Error : Severity::Warning,
                   "Parley cannot ask DNS: " + facts->setup_error);
        facts.reset();
      } else {
        report.ok("DNS questions go to " + enumerate(facts->servers) + " (" + dns_source(config) +
                  "), " + seconds_text(options.dns_timeout) + " at most for all of them");
      }
    }
  }

  std::shared_ptr<pki::TrustAnchors> anchors;
  if (config.s2s.enabled && !hosts.empty()) {
    try {
      anchors = pki::TrustAnchors::load(
          config.s2s.ca_file.empty() ? std::nullopt
                                     : std::optional<std::filesystem::path>(config.s2s.ca_file));
    } catch (const std::exception& e) {
      report.error(std::string("cannot load the trust anchors for other servers' certificates: ") +
                   e.what());
    }
  }
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (facts) assess_dns(config, facts->domains[i], report);
    if (anchors) assess_host_certificate(config, *hosts[i], *anchors, report, options.certificates);
  }
  if (facts) {
    for (std::size_t r = 0; r < facts->routes.size(); ++r) {
      assess_route(config.s2s.routes[r], facts->routes[r], report);
    }
  }
  return report;
}

}  // namespace parley::federation
