// The settings Parley runs with. Filled from the TOML config file (core/config_file.hpp; sample in
// etc/parley.toml) and then from command-line flags, which override the file for quick starts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core {

inline constexpr std::uint16_t kDefaultC2sPort = 5222;     // RFC 6120 §14.7
inline constexpr std::uint16_t kDefaultC2sTlsPort = 5223;  // XEP-0368
inline constexpr std::uint16_t kDefaultS2sPort = 5269;     // RFC 6120 §14.7
inline constexpr std::uint16_t kDefaultS2sTlsPort = 5270;  // XEP-0368

// The TLS 1.3 cipher suites (RFC 8446 §B.4), by OpenSSL's names.
inline constexpr std::string_view kTls13Suites[] = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"};
// The server's default preference: OpenSSL's three default suites, AES-128-GCM first
// (docs/SECURITY.md).
inline constexpr std::string_view kDefaultTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// One served domain.
struct VirtualHost {
  // The XMPP domain (RFC 7622 domainpart), e.g. "example.org".
  std::string domain;
  // PEM certificate chain and private key for the domain. Empty: <data_dir>/<domain>.crt and .key,
  // generated self-signed on first start when missing.
  std::filesystem::path certificate;
  std::filesystem::path key;
  // XEP-0077 in-band registration of new accounts (off by default: anyone could sign up).
  bool allow_registration = false;
  // The modules (core/modules/) enabled on this host: nullopt enables those enabled by default;
  // a list names exactly the enabled ones. disabled_modules then removes some.
  std::optional<std::vector<std::string>> modules;
  std::vector<std::string> disabled_modules;
};

// A shared roster group (organisation-wide presence): every member has every other member in
// the roster, subscription both, under the group's name. Members are bare JIDs of local accounts.
// Groups may also be managed with `parley group` (stored in the database); both add up.
struct SharedGroupConfig {
  std::string name;
  std::vector<std::string> members;
};

// A TCP listener; port 0 lets the kernel pick a free port (tests), nullopt disables it.
struct ListenerConfig {
  std::optional<std::uint16_t> port;
  // IP address to bind; "" means the server-wide bind_address.
  std::string address;
};

// A static route for one remote domain (private networks, tests): connect there instead of asking
// DNS (RFC 6120 §3.2 SRV lookups are skipped for this domain).
struct S2sRoute {
  std::string domain;  // the remote XMPP domain, lower case
  std::string host;    // host name or IP address to connect to
  std::uint16_t port = kDefaultS2sPort;
  bool direct_tls = false;  // XEP-0368: TLS from the first byte
};

// Server-to-server links (federation, RFC 6120). Outgoing links leave from listener.address when
// one is set, else from Config::bind_address. The dialback secret (XEP-0220 §2.1) is not here: it
// is generated and kept in the data directory.
struct S2sConfig {
  // Federation on/off; off: no s2s listeners and no outgoing links.
  bool enabled = true;
  ListenerConfig listener{kDefaultS2sPort, {}};         // STARTTLS (RFC 6120 §5)
  ListenerConfig tls_listener{kDefaultS2sTlsPort, {}};  // direct TLS (XEP-0368, ALPN xmpp-server)
  // Refuse s2s without TLS, in both directions (RFC 6120 §5.1).
  bool require_tls = true;
  // false: a peer whose certificate does not validate may still authenticate with dialback
  // (XEP-0220); true: it is refused (XEP-0178 SASL EXTERNAL only).
  bool require_valid_certificates = false;
  // Trust anchors (PEM) for peers' certificates; empty: the system's store.
  std::filesystem::path ca_file;
  // The DNS servers to ask, in resolv.conf(5) format; empty: /etc/resolv.conf.
  std::filesystem::path resolv_conf;
  // "ip", "ip:port", "[v6]:port" (parse_dns_server()); when not empty, asked instead of those of
  // resolv_conf.
  std::vector<std::string> dns_servers;
  std::vector<S2sRoute> routes;
  // Resolve + connect + authenticate must finish within this, or the stanzas waiting for the link
  // bounce with remote-server-timeout (RFC 6120 §8.3.3.17).
  std::chrono::seconds connect_timeout{30};
  // A link with no traffic for this long is closed.
  std::chrono::seconds idle_timeout{600};
  // Stanzas queued per outgoing link while it connects; beyond, a stanza bounces with
  // resource-constraint (RFC 6120 §8.3.3.18).
  std::size_t max_queued_stanzas = 1000;

  // The route for `domain`, or nullptr when DNS decides.
  const S2sRoute* route(std::string_view domain) const;
};

// The bounds the file and validate() enforce.
inline constexpr std::chrono::seconds kMaxS2sConnectTimeout{300};
inline constexpr std::chrono::seconds kMaxS2sIdleTimeout{86400};
inline constexpr std::size_t kMaxS2sQueuedStanzas = 100000;

struct Limits {
  // Bytes of one stanza (xml::ParserLimits::max_element_bytes) → policy-violation.
  std::size_t max_stanza_bytes = 256 * 1024;
  // A connection that has not authenticated within this time gets connection-timeout.
  std::chrono::seconds unauthenticated_timeout{60};
  // Failed SASL attempts on one stream before it is closed (RFC 6120 §6.4.5 leaves the number to
  // us).
  unsigned max_auth_failures = 3;
  // XEP-0077: registrations allowed from one IP address per hour, when registration is on.
  unsigned registrations_per_address_per_hour = 5;
  // Resources one account may have bound at once; a further bind gets resource-constraint
  // (RFC 6120 §7.6.2.1).
  unsigned max_sessions_per_account = 10;
  // Stanzas a client may send per second, on average, and in a burst; beyond, each stanza is
  // answered with policy-violation (type wait) instead of being routed. 0 turns the limit off.
  unsigned stanzas_per_second = 100;
  unsigned stanza_burst = 200;
  // Items in one roster; a roster set that would add one more gets not-allowed (RFC 6121 §2.3.3).
  unsigned max_roster_items = 1000;
  // Offline messages kept per account (XEP-0160); beyond, the sender gets
  // service-unavailable (XEP-0160 §3 "storage full").
  unsigned max_offline_messages = 1000;
};

// The most io threads a server runs (Config::threads).
inline constexpr unsigned kMaxThreads = 64;

struct Config {
  // Every served domain; the first is the default for streams without 'to'.
  std::vector<VirtualHost> hosts = {VirtualHost{"localhost", {}, {}, false, std::nullopt, {}}};
  // Where Parley keeps its state: the database and generated certificates.
  std::filesystem::path data_dir = "parley-data";
  // IP address listeners bind to unless they name their own; "" means all interfaces: "::"
  // accepting IPv4 too, or "0.0.0.0" on hosts without IPv6.
  std::string bind_address;
  ListenerConfig c2s{kDefaultC2sPort, {}};
  ListenerConfig c2s_tls{kDefaultC2sTlsPort, {}};
  // RFC 6120 §5.3.1: TLS before SASL unless the operator says otherwise (loopback testing only).
  bool c2s_require_tls = true;
  // After a TLS 1.3 handshake, free OpenSSL's connection and protect the records with
  // core/tls/Tls13Records (docs/SECURITY.md, "TLS after the handshake"): ~13 KiB less per client.
  bool c2s_compact_tls = true;
  S2sConfig s2s;
  // SCRAM iteration count for newly set passwords (RFC 5802 §5.1; at least 4096).
  std::uint32_t scram_iterations = 4096;
  // The TLS 1.3 suites the server side of every connection accepts, in the server's order of
  // preference, colon-separated (OpenSSL's names, all in kTls13Suites).
  std::string tls13_ciphersuites{kDefaultTls13Suites};
  // Threads that serve connections (each with its own event loop; the first also runs the router
  // and the modules); 0 means one per CPU core. One by default: on the 2-core machine measured,
  // a second thread cost more than it gave (docs/PERFORMANCE.md).
  unsigned threads = 1;
  Limits limits;
  std::vector<SharedGroupConfig> groups;
  // Also log to this file; "" logs to stderr only. Level: trace, debug, info, warn, error.
  std::filesystem::path log_file;
  std::string log_level = "info";
  // The file this was loaded from, if any (SIGHUP reloads it).
  std::filesystem::path source_file;

  const VirtualHost* host(std::string_view domain) const;
  const VirtualHost& default_host() const { return hosts.front(); }
  std::filesystem::path database_file() const { return data_dir / "parley.sqlite"; }
  std::filesystem::path certificate_file(const VirtualHost& host) const;
  std::filesystem::path private_key_file(const VirtualHost& host) const;
};

// What is wrong with the config, for the operator; nullopt when it is usable.
std::optional<std::string> validate(const Config& config);

// True when `name` is an ASCII DNS name Parley can serve: labels of letters, digits and '-',
// separated by single dots. (Internationalised domains need IDNA; later.)
bool is_valid_domain(std::string_view name);

// True for a numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "::"), as listeners bind to.
bool is_ip_address(std::string_view text);

// A DNS server of S2sConfig::dns_servers: "192.0.2.53", "192.0.2.53:5353", "2001:db8::53" or
// "[2001:db8::53]:5353" (a port after an IPv6 address needs the brackets). nullopt when `text` is
// none of these or the port is not 1 to 65535.
struct DnsServer {
  std::string ip;  // without brackets
  std::uint16_t port = 53;
};
std::optional<DnsServer> parse_dns_server(std::string_view text);

// The log levels Config::log_level accepts, most verbose first.
inline constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
bool is_log_level(std::string_view level);

}  // namespace parley::core
