#include "core/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "core/jid.hpp"

namespace parley::core {

bool is_valid_domain(std::string_view name) {
  // RFC 1035 §2.3.4 / RFC 7622 §3.2: at most 253 octets of labels of at most 63 octets each.
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-') return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
  }
  return label != 0 && name.back() != '-';
}

namespace {

bool is_address_of(int family, std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  const std::string s(text);
  unsigned char buffer[16];
  return ::inet_pton(family, s.c_str(), buffer) == 1;
}

// "53" → 53; nullopt for anything but a whole number from 1 to 65535.
std::optional<std::uint16_t> parse_port_number(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// Whether two listeners would ask for the same socket: the same port on the same address, or on
// a wildcard address that covers the other.
bool listeners_clash(const ListenerConfig& a, const ListenerConfig& b,
                     const std::string& bind_address) {
  if (!a.port || !b.port || *a.port == 0 || *a.port != *b.port) return false;
  const std::string& x = a.address.empty() ? bind_address : a.address;
  const std::string& y = b.address.empty() ? bind_address : b.address;
  auto wildcard = [](const std::string& address) {
    return address.empty() || address == "::" || address == "0.0.0.0";
  };
  return x == y || wildcard(x) || wildcard(y);
}

// The problem with a file that Parley must read, or nullopt.
std::optional<std::string> unreadable_file_problem(const std::filesystem::path& path,
                                                   const std::string& what,
                                                   const std::string& fix) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) {
    return what + " " + path.string() + " does not exist: " + fix;
  }
  if (std::filesystem::is_directory(status)) {
    return what + " " + path.string() + " is a directory: " + fix;
  }
  return std::nullopt;
}

std::optional<std::string> validate_s2s(const Config& config) {
  const S2sConfig& s2s = config.s2s;
  if (s2s.enabled) {
    if (!s2s.listener.port && !s2s.tls_listener.port) {
      return std::string(
          "both federation listeners ([s2s] port and tls_port) are disabled while federation is "
          "on: other servers could not connect to deliver their users' stanzas; turn one on, or "
          "turn federation off ([s2s] enabled = false, or --no-federation)");
    }
    struct Named {
      const ListenerConfig* listener;
      const char* name;
    };
    const Named listeners[] = {
        {&config.c2s, "the client listener ([c2s] port)"},
        {&config.c2s_tls, "the direct TLS client listener ([c2s] tls_port)"},
        {&s2s.listener, "the federation listener ([s2s] port)"},
        {&s2s.tls_listener, "the direct TLS federation listener ([s2s] tls_port)"},
    };
    for (std::size_t i = 2; i < std::size(listeners); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (listeners_clash(*listeners[i].listener, *listeners[j].listener, config.bind_address)) {
          return std::string(listeners[j].name) + " and " + listeners[i].name + " both use port " +
                 std::to_string(*listeners[i].listener->port) +
                 ": give them different ports (federation's are 5269 and 5270 by default)";
        }
      }
    }
  }
  if (s2s.require_valid_certificates && !s2s.require_tls) {
    return std::string(
        "[s2s] require_valid_certificates = true needs TLS (a certificate is only seen over TLS), "
        "but require_tls = false: set require_tls = true, or require_valid_certificates = false "
        "to let servers without a valid certificate use dialback");
  }
  if (!s2s.ca_file.empty()) {
    if (auto problem = unreadable_file_problem(
            s2s.ca_file, "the CA file ([s2s] ca_file, --ca-file)",
            "give a PEM file of CA certificates, or none to trust the system's CAs")) {
      return problem;
    }
  }
  if (!s2s.resolv_conf.empty()) {
    if (auto problem = unreadable_file_problem(
            s2s.resolv_conf, "the resolver configuration ([s2s] resolv_conf, --resolv-conf)",
            "give a file in the format of /etc/resolv.conf, or none to use /etc/resolv.conf")) {
      return problem;
    }
  }
  for (const std::string& server : s2s.dns_servers) {
    if (!parse_dns_server(server)) {
      return "the DNS server '" + server +
             "' ([s2s] dns_servers) is not an IP address with an optional port: write e.g. "
             "192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:5353";
    }
  }
  if (s2s.connect_timeout.count() < 1 || s2s.connect_timeout > kMaxS2sConnectTimeout) {
    return "[s2s] connect_timeout must be from 1 to " +
           std::to_string(kMaxS2sConnectTimeout.count()) + " seconds";
  }
  if (s2s.idle_timeout.count() < 1 || s2s.idle_timeout > kMaxS2sIdleTimeout) {
    return "[s2s] idle_timeout must be from 1 to " + std::to_string(kMaxS2sIdleTimeout.count()) +
           " seconds";
  }
  if (s2s.max_queued_stanzas < 1 || s2s.max_queued_stanzas > kMaxS2sQueuedStanzas) {
    return "[s2s] max_queued_stanzas must be from 1 to " + std::to_string(kMaxS2sQueuedStanzas);
  }
  for (std::size_t i = 0; i < s2s.routes.size(); ++i) {
    const S2sRoute& route = s2s.routes[i];
    if (!is_valid_domain(route.domain)) {
      return "the [[s2s.route]] domain '" + route.domain +
             "' is not a domain: use an ASCII DNS name such as example.net";
    }
    if (config.host(route.domain)) {
      return "there is an [[s2s.route]] for " + route.domain +
             ", which this server serves: routes are for remote domains; remove the route, or "
             "stop serving " +
             route.domain;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (s2s.routes[j].domain == route.domain) {
        return "the domain " + route.domain + " has two [[s2s.route]] tables: remove one";
      }
    }
    if (!is_valid_domain(route.host) && !is_ip_address(route.host)) {
      return "the [[s2s.route]] for " + route.domain + " has the host '" + route.host +
             "', which is neither a host name nor an IP address";
    }
    if (route.port == 0) {
      return "the [[s2s.route]] for " + route.domain + " has port 0: give the remote server's port";
    }
  }
  return std::nullopt;
}

}  // namespace

bool is_ip_address(std::string_view text) {
  return is_address_of(AF_INET, text) || is_address_of(AF_INET6, text);
}

std::optional<DnsServer> parse_dns_server(std::string_view text) {
  std::string_view ip = text;
  std::string_view port;
  if (text.starts_with('[')) {
    // "[v6]" or "[v6]:port".
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    ip = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
    if (!is_address_of(AF_INET6, ip)) return std::nullopt;
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    // "v4:port"; a bare IPv6 address has at least two colons.
    const std::size_t colon = text.find(':');
    ip = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty() || !is_address_of(AF_INET, ip)) return std::nullopt;
  } else if (!is_ip_address(text)) {
    return std::nullopt;
  }
  DnsServer server{std::string(ip), 53};
  if (!port.empty()) {
    const auto number = parse_port_number(port);
    if (!number) return std::nullopt;
    server.port = *number;
  }
  return server;
}

bool is_log_level(std::string_view level) {
  return std::find(std::begin(kLogLevels), std::end(kLogLevels), level) != std::end(kLogLevels);
}

const S2sRoute* S2sConfig::route(std::string_view domain) const {
  for (const auto& r : routes) {
    if (r.domain == domain) return &r;
  }
  return nullptr;
}

const VirtualHost* Config::host(std::string_view domain) const {
  for (const auto& h : hosts) {
    if (h.domain == domain) return &h;
  }
  return nullptr;
}

std::filesystem::path Config::certificate_file(const VirtualHost& h) const {
  return h.certificate.empty() ? data_dir / (h.domain + ".crt") : h.certificate;
}

std::filesystem::path Config::private_key_file(const VirtualHost& h) const {
  return h.key.empty() ? data_dir / (h.domain + ".key") : h.key;
}

std::optional<std::string> validate(const Config& config) {
  if (config.hosts.empty()) {
    return std::string("no domain to serve: add a [[host]] with domain = \"example.org\"");
  }
  for (std::size_t i = 0; i < config.hosts.size(); ++i) {
    const VirtualHost& h = config.hosts[i];
    if (!is_valid_domain(h.domain)) {
      return "invalid domain '" + h.domain +
             "': use an ASCII DNS name such as example.org or localhost";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (config.hosts[j].domain == h.domain) return "the domain " + h.domain + " is listed twice";
    }
    if (h.certificate.empty() != h.key.empty()) {
      return "the domain " + h.domain +
             " names a certificate or a key but not both: give both, or neither to use a "
             "generated self-signed certificate";
    }
  }
  if (config.data_dir.empty()) return std::string("the data directory must not be empty");
  if (config.threads > kMaxThreads) {
    return "threads must be from 0 (one per CPU core) to " + std::to_string(kMaxThreads);
  }
  if (config.scram_iterations < 4096) {
    return std::string("scram_iterations must be at least 4096 (RFC 5802 §5.1)");
  }
  for (const auto* address : {&config.bind_address, &config.c2s.address, &config.c2s_tls.address,
                              &config.s2s.listener.address, &config.s2s.tls_listener.address}) {
    if (!address->empty() && !is_ip_address(*address)) {
      return "cannot listen on '" + *address +
             "': not an IP address; use e.g. 127.0.0.1 or ::1, or nothing for all interfaces";
    }
  }
  if (!is_log_level(config.log_level)) {
    return "unknown log level '" + config.log_level +
           "': use one of trace, debug, info, warn, error";
  }
  if (config.c2s.port && config.c2s_tls.port && *config.c2s.port != 0 &&
      *config.c2s.port == *config.c2s_tls.port && config.c2s.address == config.c2s_tls.address) {
    return "the client listeners (STARTTLS and direct TLS) both use port " +
           std::to_string(*config.c2s.port) + ": give them different ports";
  }
  if (!config.c2s.port && !config.c2s_tls.port) {
    return std::string("both client listeners are disabled: clients could not connect");
  }
  if (auto problem = validate_s2s(config)) return problem;
  const Limits& limits = config.limits;
  if (limits.stanzas_per_second != 0 && limits.stanza_burst < limits.stanzas_per_second) {
    const std::string rate = std::to_string(limits.stanzas_per_second);
    return "the stanza burst (" + std::to_string(limits.stanza_burst) +
           ") is less than stanzas_per_second (" + rate +
           "): a client must be able to send one second's worth at once; set stanza_burst to " +
           rate + " or more, or stanzas_per_second to 0 to turn the limit off";
  }
  // The file's loader checks the same with line numbers; this catches what the flags change
  // (--domain replaces the hosts the members' domains were checked against).
  for (std::size_t i = 0; i < config.groups.size(); ++i) {
    const SharedGroupConfig& group = config.groups[i];
    if (group.name.empty()) return std::string("a shared group has no name: give every group one");
    for (std::size_t j = 0; j < i; ++j) {
      if (config.groups[j].name == group.name) {
        return "the shared group \"" + group.name +
               "\" is configured twice: give each group its own name";
      }
    }
    for (const std::string& member : group.members) {
      const auto jid = Jid::parse(member);
      if (!jid || !jid->has_local() || !jid->is_bare()) {
        return "the member '" + member + "' of the shared group \"" + group.name +
               "\" is not the bare JID of an account: write it as alice@example.org";
      }
      if (!config.host(jid->domain())) {
        return "the member " + member + " of the shared group \"" + group.name +
               "\" is not on a served domain: serve " + std::string(jid->domain()) +
               " too, or remove the member from the group";
      }
    }
  }
  return std::nullopt;
}

}  // namespace parley::core
