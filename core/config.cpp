#include "core/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
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

bool is_ip_address(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  const std::string s(text);
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, s.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, s.c_str(), buffer) == 1;
}

bool is_log_level(std::string_view level) {
  return std::find(std::begin(kLogLevels), std::end(kLogLevels), level) != std::end(kLogLevels);
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
  if (config.scram_iterations < 4096) {
    return std::string("scram_iterations must be at least 4096 (RFC 5802 §5.1)");
  }
  for (const auto* address : {&config.bind_address, &config.c2s.address, &config.c2s_tls.address}) {
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
