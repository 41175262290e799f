#include "core/config_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <utility>
#include <vector>

#include "core/jid.hpp"

namespace parley::core {

namespace {

using namespace std::string_view_literals;

// The tables of the file and the keys each one knows; the order is the order of docs/CONFIG.md.
enum class Section { Top, C2s, Limits, Host, Group, S2s, S2sRoute };

constexpr std::array kTopKeys = {"data_dir"sv,
                                 "bind"sv,
                                 "log_file"sv,
                                 "log_level"sv,
                                 "scram_iterations"sv,
                                 "threads"sv,
                                 "tls13_ciphersuites"sv,
                                 "c2s"sv,
                                 "limits"sv,
                                 "host"sv,
                                 "group"sv,
                                 "s2s"sv};
// The top-level keys that name tables rather than hold values.
constexpr std::array kTableKeys = {"c2s"sv, "limits"sv, "host"sv, "group"sv, "s2s"sv};
constexpr std::array kC2sKeys = {"port"sv, "tls_port"sv, "require_tls"sv, "compact_tls"sv,
                                 "bind"sv};
constexpr std::array kLimitsKeys = {"max_stanza_bytes"sv,
                                    "unauthenticated_timeout"sv,
                                    "max_auth_failures"sv,
                                    "registrations_per_address_per_hour"sv,
                                    "max_sessions_per_account"sv,
                                    "stanzas_per_second"sv,
                                    "stanza_burst"sv,
                                    "max_roster_items"sv,
                                    "max_offline_messages"sv};
constexpr std::array kHostKeys = {"domain"sv,  "certificate"sv,     "key"sv, "allow_registration"sv,
                                  "modules"sv, "disabled_modules"sv};
constexpr std::array kGroupKeys = {"name"sv, "members"sv};
constexpr std::array kS2sKeys = {"enabled"sv,      "port"sv,
                                 "tls_port"sv,     "bind"sv,
                                 "require_tls"sv,  "require_valid_certificates"sv,
                                 "ca_file"sv,      "resolv_conf"sv,
                                 "dns_servers"sv,  "connect_timeout"sv,
                                 "idle_timeout"sv, "max_queued_stanzas"sv,
                                 "route"sv};
constexpr std::array kS2sRouteKeys = {"domain"sv, "host"sv, "port"sv, "direct_tls"sv};

constexpr std::array kSections = {Section::Top,   Section::C2s, Section::Limits,  Section::Host,
                                  Section::Group, Section::S2s, Section::S2sRoute};

std::span<const std::string_view> keys_of(Section section) {
  switch (section) {
    case Section::Top:
      return kTopKeys;
    case Section::C2s:
      return kC2sKeys;
    case Section::S2s:
      return kS2sKeys;
    case Section::S2sRoute:
      return kS2sRouteKeys;
    case Section::Limits:
      return kLimitsKeys;
    case Section::Host:
      return kHostKeys;
    case Section::Group:
      return kGroupKeys;
  }
  return {};
}

// How a message names a section: "[c2s]", "[[host]]", "the top level".
std::string section_name(Section section) {
  switch (section) {
    case Section::Top:
      return "the top level";
    case Section::C2s:
      return "[c2s]";
    case Section::S2s:
      return "[s2s]";
    case Section::S2sRoute:
      return "[[s2s.route]]";
    case Section::Limits:
      return "[limits]";
    case Section::Host:
      return "[[host]]";
    case Section::Group:
      return "[[group]]";
  }
  return {};
}

// " in [c2s]" after a key name; nothing for top-level keys.
std::string in_section(Section section) {
  return section == Section::Top ? std::string() : " in " + section_name(section);
}

bool contains(std::span<const std::string_view> keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string_view> closest(std::string_view word,
                                        std::span<const std::string_view> candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  // Two edits for longer words, one for short ones: "prot" → "port", but not "tls" → "key".
  const std::size_t allowed = word.size() <= 4 ? 1 : 2;
  if (best && best_distance <= allowed && best_distance < word.size()) return best;
  return std::nullopt;
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::filesystem::path resolve(const std::filesystem::path& base_dir,
                              const std::filesystem::path& path) {
  if (path.empty() || path.is_absolute() || base_dir.empty()) return path;
  return (base_dir / path).lexically_normal();
}

class Loader {
 public:
  Loader(std::string_view name, std::filesystem::path base_dir)
      : name_(name), base_dir_(std::move(base_dir)) {}

  Config load(const toml::table& root) {
    Config config;
    // Even the default data directory is relative to the file, like every relative path in it.
    config.data_dir = resolve(base_dir_, config.data_dir);
    check_keys(root, Section::Top);
    if (auto* node = root.get("data_dir")) {
      config.data_dir = path(*node, "data_dir", Section::Top, "/var/lib/parley");
      if (config.data_dir.empty()) {
        fail(*node, "key 'data_dir' must not be empty; e.g. data_dir = \"/var/lib/parley\"");
      }
    }
    if (auto* node = root.get("bind")) config.bind_address = address(*node, "bind", Section::Top);
    if (auto* node = root.get("log_file")) {
      config.log_file = path(*node, "log_file", Section::Top, "/var/log/parley/parley.log");
    }
    if (auto* node = root.get("log_level")) config.log_level = log_level(*node);
    if (auto* node = root.get("scram_iterations")) {
      config.scram_iterations = static_cast<std::uint32_t>(
          whole_number(*node, "scram_iterations", Section::Top, 4096, 1'000'000, "4096",
                       " (RFC 5802 §5.1 asks for at least 4096)"));
    }
    if (auto* node = root.get("threads")) {
      config.threads = static_cast<unsigned>(whole_number(
          *node, "threads", Section::Top, 0, kMaxThreads, "2", " (0 means one per CPU core)"));
    }
    if (auto* node = root.get("tls13_ciphersuites")) {
      config.tls13_ciphersuites = tls13_ciphersuites(*node);
    }
    if (auto* node = root.get("c2s")) load_c2s(table(*node, "c2s", "[c2s]"), config);
    if (auto* node = root.get("limits")) load_limits(table(*node, "limits", "[limits]"), config);
    if (auto* node = root.get("host")) load_hosts(*node, config);
    // After the hosts too: a route must not be for a served domain.
    if (auto* node = root.get("s2s")) load_s2s(table(*node, "s2s", "[s2s]"), config);
    // After the hosts, wherever [[group]] stands in the file: members must be on their domains.
    if (auto* node = root.get("group")) load_groups(*node, config);
    return config;
  }

  [[noreturn]] void fail(std::size_t line, std::string detail) const {
    throw ConfigError(name_, line, std::move(detail));
  }
  [[noreturn]] void fail(const toml::node& node, std::string detail) const {
    fail(node.source().begin.line, std::move(detail));
  }

 private:
  // Unknown keys are errors (a typo must not silently leave a default in place), with the
  // nearest known key as a suggestion, or the table the key belongs to.
  void check_keys(const toml::table& table, Section section) const {
    const auto known = keys_of(section);
    for (auto&& [key, value] : table) {
      const std::string_view k = key.str();
      if (contains(known, k)) continue;
      const std::size_t line =
          key.source().begin.line ? key.source().begin.line : value.source().begin.line;
      std::string message = "unknown key '" + std::string(k) + "'";
      message += section == Section::Top ? " at the top level" : " in " + section_name(section);
      // (Not for the names of tables: 'host' in [s2s] is a route's key written in the wrong table.)
      if (section != Section::Top && contains(kTopKeys, k) && !contains(kTableKeys, k)) {
        fail(line, message + "; '" + std::string(k) +
                       "' is a top-level key, and in TOML every key after a [table] line belongs "
                       "to that table: move it above the first [table] line");
      }
      if (section == Section::S2s && k.find("dialback") != std::string_view::npos) {
        fail(line, message +
                       "; the dialback secret (XEP-0220) is not configured: Parley generates it "
                       "and keeps it in the data directory. Remove this key");
      }
      if (section == Section::S2sRoute && (k == "tls_port" || k == "tls")) {
        fail(line, message +
                       "; a route has one port: for direct TLS (XEP-0368) write port = 5270 and "
                       "direct_tls = true");
      }
      if ((section == Section::Top || section == Section::S2s) &&
          (k == "route" || k == "routes" || k == "s2s_route")) {
        fail(line, message +
                       "; did you mean [[s2s.route]]? Write one [[s2s.route]] table per remote "
                       "domain");
      }
      if (section == Section::Top && (k == "federation" || k == "server_to_server")) {
        fail(line, message + "; did you mean [s2s]? The federation settings go in [s2s]");
      }
      // Where the key does belong: "[c2s]", "[c2s] or [s2s]", "[c2s], [s2s] or [[s2s.route]]".
      std::vector<std::string> homes;
      for (Section other : kSections) {
        if (other == section || other == Section::Top) continue;
        if (contains(keys_of(other), k)) homes.push_back(section_name(other));
      }
      if (!homes.empty()) {
        std::string where = homes.front();
        for (std::size_t i = 1; i < homes.size(); ++i) {
          where += (i + 1 == homes.size() ? " or " : ", ") + homes[i];
        }
        fail(line, message + "; '" + std::string(k) + "' belongs in " + where);
      }
      if (section == Section::Top && (k == "hosts" || k == "virtual_host" || k == "vhost")) {
        fail(line, message + "; did you mean [[host]]? Write one [[host]] table per domain");
      }
      if (section == Section::Top &&
          (k == "groups" || k == "shared_group" || k == "shared_groups" || k == "roster_group")) {
        fail(line, message +
                       "; did you mean [[group]]? Write one [[group]] table per shared roster "
                       "group");
      }
      if (auto suggestion = closest(k, known)) {
        fail(line, message + "; did you mean '" + std::string(*suggestion) + "'?");
      }
      std::string list;
      for (std::string_view candidate : known) {
        if (!list.empty()) list += ", ";
        list += candidate;
      }
      fail(line, message + "; the keys " +
                     (section == Section::Top ? std::string("at the top level")
                                              : "of " + section_name(section)) +
                     " are: " + list);
    }
  }

  const toml::table& table(const toml::node& node, std::string_view key,
                           std::string_view header) const {
    const auto* t = node.as_table();
    if (!t) {
      fail(node, "key '" + std::string(key) + "' must be a table: write " + std::string(header) +
                     " on a line of its own, followed by its keys");
    }
    return *t;
  }

  // The line of `node`, or `fallback` when toml++ knows none.
  static std::size_t line_of(const toml::node& node, std::size_t fallback) {
    const std::size_t line = node.source().begin.line;
    return line ? line : fallback;
  }

  // What a message calls a value of the wrong type.
  static std::string kind_of(const toml::node& node) {
    switch (node.type()) {
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
      case toml::node_type::floating_point:
        return "a number";
      case toml::node_type::boolean:
        return "a boolean";
      case toml::node_type::date:
      case toml::node_type::time:
      case toml::node_type::date_time:
        return "a date or time";
      case toml::node_type::table:
        return "a table";
      case toml::node_type::array:
        return "a list";
      case toml::node_type::none:
        break;
    }
    return "a value";
  }

  struct ListItem {
    std::string value;
    std::size_t line;
  };

  // A list of strings, e.g. modules = ["roster", "presence"]; each element with its own line, so
  // that a mistake in a list written over several lines is reported where it is.
  std::vector<ListItem> string_list(const toml::node& node, std::string_view key, Section section,
                                    std::string_view noun, std::string_view example) const {
    const std::string where = "key '" + std::string(key) + "'" + in_section(section);
    const std::string e_g = ", e.g. " + std::string(key) + " = " + std::string(example);
    const auto* array = node.as_array();
    if (!array) {
      fail(node, where + " must be a list of " + std::string(noun) + "s in double quotes" + e_g);
    }
    std::vector<ListItem> items;
    for (const toml::node& element : *array) {
      const std::size_t line = line_of(element, node.source().begin.line);
      const auto* s = element.as_string();
      if (!s) {
        fail(line, where + " holds " + kind_of(element) + ", which is not a " + std::string(noun) +
                       ": write each one in double quotes" + e_g);
      }
      items.push_back({s->get(), line});
    }
    return items;
  }

  std::int64_t whole_number(const toml::node& node, std::string_view key, Section section,
                            std::int64_t min, std::int64_t max, std::string_view example,
                            std::string_view why = {}) const {
    const auto value = node.value<std::int64_t>();
    if (!node.is_integer() || !value || *value < min || *value > max) {
      fail(node, "key '" + std::string(key) + "'" + in_section(section) +
                     " must be a whole number from " + std::to_string(min) + " to " +
                     std::to_string(max) + std::string(why) + ", e.g. " + std::string(key) + " = " +
                     std::string(example));
    }
    return *value;
  }

  // A listener port: a number, or false to turn the listener off.
  std::optional<std::uint16_t> port(const toml::node& node, std::string_view key, Section section,
                                    std::string_view example) const {
    if (const auto b = node.as_boolean(); b && !b->get()) return std::nullopt;
    const auto value = node.value<std::int64_t>();
    if (!node.is_integer() || !value || *value < 0 || *value > 65535) {
      fail(node, "key '" + std::string(key) + "'" + in_section(section) +
                     " must be a whole number from 0 to 65535, or false to turn the listener off, "
                     "e.g. " +
                     std::string(key) + " = " + std::string(example));
    }
    return static_cast<std::uint16_t>(*value);
  }

  bool boolean(const toml::node& node, std::string_view key, Section section,
               std::string_view example) const {
    const auto* b = node.as_boolean();
    if (!b) {
      fail(node, "key '" + std::string(key) + "'" + in_section(section) +
                     " must be true or false, without quotes, e.g. " + std::string(key) + " = " +
                     std::string(example));
    }
    return b->get();
  }

  std::string string(const toml::node& node, std::string_view key, Section section,
                     std::string_view example) const {
    const auto* s = node.as_string();
    if (!s) {
      fail(node, "key '" + std::string(key) + "'" + in_section(section) +
                     " must be a string in double quotes, e.g. " + std::string(key) + " = " +
                     in_quotes(example));
    }
    return s->get();
  }

  std::filesystem::path path(const toml::node& node, std::string_view key, Section section,
                             std::string_view example) const {
    return resolve(base_dir_, string(node, key, section, example));
  }

  // A path to a file Parley reads at startup (CA certificates, resolv.conf): it must exist, so
  // that a typo is reported here, with its line, rather than when the first link is made. ""
  // stays empty: the default.
  std::filesystem::path existing_file(const toml::node& node, std::string_view key, Section section,
                                      std::string_view example, std::string_view what,
                                      std::string_view otherwise) const {
    const std::string written = string(node, key, section, example);
    std::filesystem::path file = resolve(base_dir_, written);
    if (file.empty()) return file;
    std::error_code error;
    const auto status = std::filesystem::status(file, error);
    std::string problem;
    if (!std::filesystem::exists(status)) {
      problem = "which does not exist";
    } else if (std::filesystem::is_directory(status)) {
      problem = "which is a directory";
    } else {
      return file;
    }
    const bool relative = !std::filesystem::path(written).is_absolute();
    fail(node, "key '" + std::string(key) + "'" + in_section(section) + " names " + file.string() +
                   ", " + problem +
                   (relative ? " (a relative path is relative to the configuration file's "
                               "directory)"
                             : std::string()) +
                   ": give the path of " + std::string(what) + ", e.g. " + std::string(key) +
                   " = " + in_quotes(example) + ", or leave the key out " + std::string(otherwise));
  }

  std::string address(const toml::node& node, std::string_view key, Section section) const {
    std::string value = string(node, key, section, "127.0.0.1");
    if (!value.empty() && !is_ip_address(value)) {
      fail(node, "key '" + std::string(key) + "'" + in_section(section) + " is " +
                     in_quotes(value) +
                     ", which is not an IP address: use e.g. \"127.0.0.1\" or \"::1\" (no "
                     "brackets, no host names), or \"\" for all interfaces");
    }
    return value;
  }

  // A colon-separated list of TLS 1.3 suites by OpenSSL's names. OpenSSL itself skips names it
  // does not know, so a typo would silently drop a suite: every name is checked here.
  std::string tls13_ciphersuites(const toml::node& node) const {
    const std::string value = string(node, "tls13_ciphersuites", Section::Top, kDefaultTls13Suites);
    std::string known;
    for (std::string_view suite : kTls13Suites)
      known += (known.empty() ? "" : ", ") + std::string(suite);
    const std::string how = " Use a colon-separated list of the TLS 1.3 suites " + known +
                            ", e.g. tls13_ciphersuites = " + in_quotes(kDefaultTls13Suites);
    if (value.empty()) fail(node, "key 'tls13_ciphersuites' names no suite." + how);
    std::size_t start = 0;
    while (start <= value.size()) {
      const std::size_t colon = std::min(value.find(':', start), value.size());
      const std::string_view name = std::string_view(value).substr(start, colon - start);
      if (std::find(std::begin(kTls13Suites), std::end(kTls13Suites), name) ==
          std::end(kTls13Suites)) {
        std::string message = "key 'tls13_ciphersuites' names " + in_quotes(name) +
                              ", which is not a TLS 1.3 cipher suite";
        if (auto suggestion = closest(name, kTls13Suites)) {
          message += "; did you mean " + in_quotes(*suggestion) + "?";
        } else {
          message += ".";
        }
        fail(node, message + how);
      }
      start = colon + 1;
    }
    return value;
  }

  std::string log_level(const toml::node& node) const {
    std::string value = string(node, "log_level", Section::Top, "info");
    if (is_log_level(value)) return value;
    std::string message =
        "key 'log_level' is " + in_quotes(value) +
        ", which is not a log level: use one of \"trace\", \"debug\", \"info\", \"warn\", "
        "\"error\"";
    std::vector<std::string_view> levels(std::begin(kLogLevels), std::end(kLogLevels));
    if (value == "warning") {
      message += "; did you mean \"warn\"?";
    } else if (auto suggestion = closest(value, levels)) {
      message += "; did you mean " + in_quotes(*suggestion) + "?";
    }
    fail(node, message);
  }

  void load_c2s(const toml::table& c2s, Config& config) const {
    check_keys(c2s, Section::C2s);
    if (auto* node = c2s.get("port")) config.c2s.port = port(*node, "port", Section::C2s, "5222");
    if (auto* node = c2s.get("tls_port")) {
      config.c2s_tls.port = port(*node, "tls_port", Section::C2s, "5223");
    }
    if (auto* node = c2s.get("require_tls")) {
      config.c2s_require_tls = boolean(*node, "require_tls", Section::C2s, "true");
    }
    if (auto* node = c2s.get("compact_tls")) {
      config.c2s_compact_tls = boolean(*node, "compact_tls", Section::C2s, "true");
    }
    if (auto* node = c2s.get("bind")) {
      config.c2s.address = address(*node, "bind", Section::C2s);
      config.c2s_tls.address = config.c2s.address;
    }
  }

  // Requires config.hosts to be final: routes are checked against the served domains.
  void load_s2s(const toml::table& table, Config& config) const {
    check_keys(table, Section::S2s);
    S2sConfig& s2s = config.s2s;
    if (auto* node = table.get("enabled")) {
      s2s.enabled = boolean(*node, "enabled", Section::S2s, "true");
    }
    if (auto* node = table.get("port")) {
      s2s.listener.port = port(*node, "port", Section::S2s, "5269");
    }
    if (auto* node = table.get("tls_port")) {
      s2s.tls_listener.port = port(*node, "tls_port", Section::S2s, "5270");
    }
    if (auto* node = table.get("bind")) {
      s2s.listener.address = address(*node, "bind", Section::S2s);
      s2s.tls_listener.address = s2s.listener.address;
    }
    if (auto* node = table.get("require_tls")) {
      s2s.require_tls = boolean(*node, "require_tls", Section::S2s, "true");
    }
    if (auto* node = table.get("require_valid_certificates")) {
      s2s.require_valid_certificates =
          boolean(*node, "require_valid_certificates", Section::S2s, "false");
    }
    if (auto* node = table.get("ca_file")) {
      s2s.ca_file =
          existing_file(*node, "ca_file", Section::S2s, "/etc/ssl/certs/ca-certificates.crt",
                        "a PEM file of CA certificates", "to trust the system's CAs");
    }
    if (auto* node = table.get("resolv_conf")) {
      s2s.resolv_conf = existing_file(*node, "resolv_conf", Section::S2s, "/etc/parley/resolv.conf",
                                      "a file in the format of /etc/resolv.conf (nameserver lines)",
                                      "to use /etc/resolv.conf");
    }
    if (auto* node = table.get("dns_servers")) s2s.dns_servers = dns_servers(*node);
    if (auto* node = table.get("connect_timeout")) {
      s2s.connect_timeout = std::chrono::seconds(
          whole_number(*node, "connect_timeout", Section::S2s, 1, kMaxS2sConnectTimeout.count(),
                       "30", " (seconds to find, reach and authenticate a remote server)"));
    }
    if (auto* node = table.get("idle_timeout")) {
      s2s.idle_timeout = std::chrono::seconds(
          whole_number(*node, "idle_timeout", Section::S2s, 1, kMaxS2sIdleTimeout.count(), "600",
                       " (seconds without traffic before a link is closed)"));
    }
    if (auto* node = table.get("max_queued_stanzas")) {
      s2s.max_queued_stanzas = static_cast<std::size_t>(
          whole_number(*node, "max_queued_stanzas", Section::S2s, 1,
                       static_cast<std::int64_t>(kMaxS2sQueuedStanzas), "1000"));
    }
    if (s2s.require_valid_certificates && !s2s.require_tls) {
      // Both keys differ from their defaults, so both were written.
      fail(*table.get("require_valid_certificates"),
           "key 'require_valid_certificates' in [s2s] is true, but require_tls = false: a "
           "certificate is only seen over TLS; set require_tls = true, or "
           "require_valid_certificates = false to let servers without a valid certificate use "
           "dialback");
    }
    if (auto* node = table.get("route")) load_routes(*node, config);
  }

  // `dns_servers` of [s2s]: each "ip", "ip:port" or "[v6]:port", on its own line if need be.
  std::vector<std::string> dns_servers(const toml::node& node) const {
    std::vector<std::string> servers;
    for (ListItem& item : string_list(node, "dns_servers", Section::S2s, "DNS server address",
                                      "[\"192.0.2.53\", \"[2001:db8::53]:5353\"]")) {
      if (!parse_dns_server(item.value)) {
        std::string message = "key 'dns_servers' in [s2s] holds " + in_quotes(item.value) +
                              ", which is not a DNS server address: write an IP address with an "
                              "optional port, e.g. \"192.0.2.53\", \"192.0.2.53:5353\" or "
                              "\"[2001:db8::53]:5353\" (an IPv6 address needs brackets before "
                              "a port)";
        if (is_valid_domain(item.value))
          message += "; a server is named by its address, not its name";
        fail(item.line, message);
      }
      servers.push_back(std::move(item.value));
    }
    return servers;
  }

  // [[s2s.route]] tables. Requires config.hosts to be final.
  void load_routes(const toml::node& node, Config& config) const {
    const auto* array = node.as_array();
    if (!array || !array->is_array_of_tables()) {
      fail(node,
           "'route' in [s2s] must be written [[s2s.route]] (with two brackets), one table per "
           "remote domain, each with its keys below it, e.g. [[s2s.route]] then domain = "
           "\"example.net\" and host = \"192.0.2.10\"");
    }
    std::vector<std::size_t> lines;
    for (const toml::node& element : *array) {
      const toml::table& t = *element.as_table();
      check_keys(t, Section::S2sRoute);
      const std::size_t line = t.source().begin.line;
      S2sRoute route;
      const toml::node* domain = t.get("domain");
      if (!domain) {
        fail(line,
             "this [[s2s.route]] has no domain: add e.g. domain = \"example.net\" below it (the "
             "remote domain it is the route to)");
      }
      route.domain = lower_ascii(string(*domain, "domain", Section::S2sRoute, "example.net"));
      if (!is_valid_domain(route.domain)) {
        fail(*domain, "key 'domain' in [[s2s.route]] is " + in_quotes(route.domain) +
                          ", which is not a domain: use an ASCII DNS name such as "
                          "\"example.net\", without '@', '/' or a port");
      }
      if (config.host(route.domain)) {
        fail(*domain, "the [[s2s.route]] is for " + route.domain +
                          ", a domain this server serves ([[host]]): routes are for remote "
                          "domains; correct the domain or remove this [[s2s.route]]");
      }
      for (std::size_t i = 0; i < config.s2s.routes.size(); ++i) {
        if (config.s2s.routes[i].domain == route.domain) {
          fail(*domain, "the domain " + route.domain + " already has a [[s2s.route]] at line " +
                            std::to_string(lines[i]) + ": remove one of the two");
        }
      }
      const toml::node* host = t.get("host");
      if (!host) {
        fail(line, "this [[s2s.route]] for " + route.domain +
                       " has no host: add e.g. host = \"192.0.2.10\" below it (where to connect "
                       "instead of asking DNS)");
      }
      route.host = string(*host, "host", Section::S2sRoute, "192.0.2.10");
      if (!is_valid_domain(route.host) && !is_ip_address(route.host)) {
        std::string message = "key 'host' in [[s2s.route]] is " + in_quotes(route.host) +
                              ", which is neither a host name nor an IP address: use e.g. "
                              "\"xmpp.example.net\", \"192.0.2.10\" or \"2001:db8::10\"";
        if (route.host.starts_with('[')) {
          message += " (an IPv6 address without brackets)";
        } else if (route.host.find(':') != std::string::npos) {
          message += "; the port goes in its own key, e.g. port = 5269";
        }
        fail(*host, message);
      }
      if (auto* n = t.get("direct_tls")) {
        route.direct_tls = boolean(*n, "direct_tls", Section::S2sRoute, "false");
      }
      // XEP-0368's port is the default for direct TLS.
      route.port = route.direct_tls ? kDefaultS2sTlsPort : kDefaultS2sPort;
      if (auto* n = t.get("port")) {
        route.port = static_cast<std::uint16_t>(
            whole_number(*n, "port", Section::S2sRoute, 1, 65535,
                         route.direct_tls ? "5270" : "5269", " (the remote server's port)"));
      }
      config.s2s.routes.push_back(std::move(route));
      lines.push_back(line);
    }
  }

  void load_limits(const toml::table& limits, Config& config) const {
    check_keys(limits, Section::Limits);
    Limits& l = config.limits;
    if (auto* node = limits.get("max_stanza_bytes")) {
      l.max_stanza_bytes = static_cast<std::size_t>(
          whole_number(*node, "max_stanza_bytes", Section::Limits, 10'000, 64 * 1024 * 1024,
                       "262144", " (RFC 6120 §13.12 asks for at least 10000)"));
    }
    if (auto* node = limits.get("unauthenticated_timeout")) {
      l.unauthenticated_timeout = std::chrono::seconds(whole_number(
          *node, "unauthenticated_timeout", Section::Limits, 1, 3600, "60", " (seconds)"));
    }
    if (auto* node = limits.get("max_auth_failures")) {
      l.max_auth_failures = static_cast<unsigned>(
          whole_number(*node, "max_auth_failures", Section::Limits, 1, 100, "3"));
    }
    if (auto* node = limits.get("registrations_per_address_per_hour")) {
      l.registrations_per_address_per_hour = static_cast<unsigned>(whole_number(
          *node, "registrations_per_address_per_hour", Section::Limits, 1, 1'000'000, "5"));
    }
    if (auto* node = limits.get("max_sessions_per_account")) {
      l.max_sessions_per_account = static_cast<unsigned>(
          whole_number(*node, "max_sessions_per_account", Section::Limits, 1, 10'000, "10"));
    }
    const toml::node* rate = limits.get("stanzas_per_second");
    if (rate) {
      l.stanzas_per_second = static_cast<unsigned>(whole_number(
          *rate, "stanzas_per_second", Section::Limits, 0, 1'000'000, "100", " (0: no limit)"));
    }
    const toml::node* burst = limits.get("stanza_burst");
    if (burst) {
      l.stanza_burst = static_cast<unsigned>(
          whole_number(*burst, "stanza_burst", Section::Limits, 1, 1'000'000, "200"));
    }
    if (l.stanzas_per_second != 0 && l.stanza_burst < l.stanzas_per_second) {
      // A client must be able to send one second's worth at once. Report the key that was
      // written: the burst, or the rate when the burst is the default.
      const std::string rate_text = std::to_string(l.stanzas_per_second);
      const std::string why =
          ": the burst is how many stanzas a client may send at once, and must cover at least one "
          "second at the rate; ";
      if (burst || !rate) {  // (!rate: only if the defaults themselves disagreed)
        fail(burst ? *burst : static_cast<const toml::node&>(limits),
             "key 'stanza_burst' in [limits] is " + std::to_string(l.stanza_burst) +
                 ", less than stanzas_per_second = " + rate_text + why + "set stanza_burst = " +
                 rate_text + " or more, or stanzas_per_second = 0 to turn the limit off");
      }
      fail(*rate, "key 'stanzas_per_second' in [limits] is " + rate_text +
                      ", more than stanza_burst (" + std::to_string(l.stanza_burst) +
                      " by default)" + why + "add stanza_burst = " + rate_text +
                      " or more to [limits]");
    }
    if (auto* node = limits.get("max_roster_items")) {
      l.max_roster_items = static_cast<unsigned>(
          whole_number(*node, "max_roster_items", Section::Limits, 1, 100'000, "1000"));
    }
    if (auto* node = limits.get("max_offline_messages")) {
      l.max_offline_messages = static_cast<unsigned>(
          whole_number(*node, "max_offline_messages", Section::Limits, 0, 1'000'000, "1000",
                       " (0: keep none, refuse every message to an offline user)"));
    }
  }

  // `modules` or `disabled_modules` of a [[host]]. Whether a name is a module is checked where
  // the modules are known (core/server.cpp); here only what any list of names must satisfy.
  std::vector<std::string> module_names(const toml::node& node, std::string_view key) const {
    std::vector<std::string> names;
    std::vector<std::size_t> lines;
    const std::string where = "key '" + std::string(key) + "' in [[host]]";
    for (ListItem& item :
         string_list(node, key, Section::Host, "module name", "[\"roster\", \"presence\"]")) {
      if (item.value.empty()) {
        fail(item.line, where +
                            " holds an empty module name \"\": remove it (`parley check` and "
                            "docs/MODULES.md list the modules)");
      }
      const auto seen = std::find(names.begin(), names.end(), item.value);
      if (seen != names.end()) {
        const std::size_t first = lines[static_cast<std::size_t>(seen - names.begin())];
        fail(item.line, where + " lists " + in_quotes(item.value) + " twice" +
                            (first != item.line ? " (first at line " + std::to_string(first) + ")"
                                                : std::string()) +
                            ": remove one");
      }
      names.push_back(std::move(item.value));
      lines.push_back(item.line);
    }
    return names;
  }

  void load_hosts(const toml::node& node, Config& config) const {
    const auto* array = node.as_array();
    if (!array || !array->is_array_of_tables()) {
      fail(node,
           "'host' must be written [[host]] (with two brackets), one [[host]] table per domain, "
           "each with its keys below it, e.g. [[host]] then domain = \"example.org\"");
    }
    config.hosts.clear();
    std::vector<std::size_t> lines;
    for (const toml::node& element : *array) {
      const toml::table& t = *element.as_table();
      check_keys(t, Section::Host);
      const std::size_t line = t.source().begin.line;
      VirtualHost host;
      const toml::node* domain = t.get("domain");
      if (!domain) {
        fail(line, "this [[host]] has no domain: add e.g. domain = \"example.org\" below it");
      }
      host.domain = lower_ascii(string(*domain, "domain", Section::Host, "example.org"));
      if (!is_valid_domain(host.domain)) {
        fail(*domain, "key 'domain' in [[host]] is " + in_quotes(host.domain) +
                          ", which is not a domain Parley can serve: use an ASCII DNS name such "
                          "as \"example.org\" or \"localhost\", without '@', '/' or a port");
      }
      for (std::size_t i = 0; i < config.hosts.size(); ++i) {
        if (config.hosts[i].domain == host.domain) {
          fail(*domain, "the domain " + host.domain +
                            " is already configured in the [[host]] at "
                            "line " +
                            std::to_string(lines[i]) + ": remove one of the two");
        }
      }
      if (auto* n = t.get("certificate")) {
        host.certificate = path(*n, "certificate", Section::Host, "/etc/parley/example.org.crt");
      }
      if (auto* n = t.get("key")) {
        host.key = path(*n, "key", Section::Host, "/etc/parley/example.org.key");
      }
      if (host.certificate.empty() != host.key.empty()) {
        const bool has_cert = !host.certificate.empty();
        fail(line, "the [[host]] " + host.domain + " has a " +
                       (has_cert ? "certificate but no key" : "key but no certificate") + ": add " +
                       (has_cert ? "key = \"/path/to/" + host.domain + ".key\""
                                 : "certificate = \"/path/to/" + host.domain + ".crt\"") +
                       ", or remove '" + (has_cert ? "certificate" : "key") +
                       "' to use a generated self-signed certificate");
      }
      if (auto* n = t.get("allow_registration")) {
        host.allow_registration = boolean(*n, "allow_registration", Section::Host, "false");
      }
      if (auto* n = t.get("modules")) host.modules = module_names(*n, "modules");
      if (auto* n = t.get("disabled_modules")) {
        host.disabled_modules = module_names(*n, "disabled_modules");
      }
      config.hosts.push_back(std::move(host));
      lines.push_back(line);
    }
  }

  // Requires config.hosts to be final: members are checked against the served domains.
  void load_groups(const toml::node& node, Config& config) const {
    const auto* array = node.as_array();
    if (!array || !array->is_array_of_tables()) {
      fail(node,
           "'group' must be written [[group]] (with two brackets), one [[group]] table per shared "
           "roster group, each with its keys below it, e.g. [[group]] then name = \"Staff\" and "
           "members = [\"alice@example.org\", \"bob@example.org\"]");
    }
    std::vector<std::size_t> lines;
    for (const toml::node& element : *array) {
      const toml::table& t = *element.as_table();
      check_keys(t, Section::Group);
      const std::size_t line = t.source().begin.line;
      SharedGroupConfig group;
      const toml::node* name = t.get("name");
      if (!name) {
        fail(line,
             "this [[group]] has no name: add e.g. name = \"Staff\" below it (the roster group "
             "in which its members see each other)");
      }
      group.name = string(*name, "name", Section::Group, "Staff");
      if (group.name.empty()) {
        // RFC 6121 §2.3.3: an empty group name is not-acceptable in a roster.
        fail(*name,
             "key 'name' in [[group]] must not be empty: it is the roster group the members see, "
             "e.g. name = \"Staff\"");
      }
      if (std::any_of(group.name.begin(), group.name.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
        fail(*name,
             "key 'name' in [[group]] must not contain control characters such as a line break: "
             "it is shown as one line in the members' rosters");
      }
      for (std::size_t i = 0; i < config.groups.size(); ++i) {
        if (config.groups[i].name == group.name) {
          fail(*name, "the group name " + in_quotes(group.name) +
                          " is already used by the [[group]] at line " + std::to_string(lines[i]) +
                          ": give each [[group]] its own name, or merge the two member lists");
        }
      }
      if (auto* members = t.get("members")) group.members = group_members(*members, group, config);
      config.groups.push_back(std::move(group));
      lines.push_back(line);
    }
  }

  // Prepared bare JIDs of accounts on the served domains, each once.
  std::vector<std::string> group_members(const toml::node& node, const SharedGroupConfig& group,
                                         const Config& config) const {
    std::vector<std::string> members;
    for (const ListItem& item : string_list(node, "members", Section::Group, "bare JID",
                                            "[\"alice@example.org\", \"bob@example.org\"]")) {
      const std::string who =
          "the member " + in_quotes(item.value) + " of the [[group]] " + in_quotes(group.name);
      if (item.value.empty()) fail(item.line, who + " is empty: remove it");
      JidError error{};
      const auto jid = Jid::parse(item.value, &error);
      if (!jid) {
        fail(item.line, who + " is not a valid JID (" + std::string(to_string(error)) +
                            "): write the bare JID of an account, e.g. \"alice@example.org\"");
      }
      if (!jid->has_local()) {
        fail(item.line, who + " is a domain, not an account: write an account's bare JID, e.g. " +
                            in_quotes("alice@" + std::string(jid->domain())));
      }
      if (!jid->is_bare()) {
        fail(item.line, who + " has a resource: write the bare JID " + in_quotes(jid->bare_view()) +
                            " (members are accounts, not one of their clients)");
      }
      if (!config.host(jid->domain())) {
        std::vector<std::string_view> domains;
        std::string list;
        for (const VirtualHost& h : config.hosts) {
          domains.push_back(h.domain);
          list += (list.empty() ? "" : ", ") + h.domain;
        }
        std::string message = who + " is not on a domain this server serves (" + list + ")";
        if (auto near = closest(jid->domain(), domains)) {
          message += ": did you mean " +
                     in_quotes(std::string(jid->local()) + "@" + std::string(*near)) +
                     "? Or add a [[host]] with domain = " + in_quotes(jid->domain());
        } else {
          message +=
              ": correct the address, or add a [[host]] with domain = " + in_quotes(jid->domain());
        }
        fail(item.line, message);
      }
      // Written twice, perhaps in different case: the same account, kept once.
      if (std::find(members.begin(), members.end(), jid->full()) == members.end()) {
        members.push_back(jid->full());
      }
    }
    return members;
  }

  std::string name_;
  std::filesystem::path base_dir_;
};

std::string with_location(const std::string& file, std::size_t line, std::size_t column,
                          const std::string& detail) {
  if (file.empty()) return detail;
  std::string location = file;
  if (line != 0) location += ":" + std::to_string(line);
  if (line != 0 && column != 0) location += ":" + std::to_string(column);
  return location + ": " + detail;
}

}  // namespace

ConfigError::ConfigError(std::string file, std::size_t line, std::string detail, std::size_t column)
    : std::runtime_error(with_location(file, line, column, detail)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      detail_(std::move(detail)) {}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance: Levenshtein plus adjacent transpositions.
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(n, m);
}

Config parse_config(std::string_view text, std::string_view name,
                    const std::filesystem::path& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    // toml++ names the problem; the usual causes are a string without quotes and a key given
    // twice, so say what TOML looks like.
    throw ConfigError(std::string(name), where.line,
                      "TOML syntax error: " + std::string(e.description()) +
                          " (each setting is key = value, strings in double quotes, e.g. "
                          "domain = \"example.org\"; each key at most once per table)",
                      where.column);
  }
  Loader loader(name, base_dir);
  Config config = loader.load(root);
  if (auto problem = validate(config)) throw ConfigError(std::string(name), 0, *problem);
  return config;
}

Config load_config_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    throw ConfigError(name, 0,
                      std::string("cannot read the configuration file: ") + std::strerror(error) +
                          "; check the path given to --config (etc/parley.toml in Parley's "
                          "sources is a commented sample to start from)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(name, 0, "cannot read the configuration file");
  Config config = parse_config(text.str(), name, path.parent_path());
  config.source_file = path;
  return config;
}

void apply_overrides(Config& config, const ConfigOverrides& o) {
  if (o.domain) {
    // Built member by member: an aggregate initializer would have to name every field.
    VirtualHost host;
    host.domain = lower_ascii(*o.domain);
    config.hosts.assign(1, std::move(host));
  }
  if (!config.hosts.empty()) {
    if (o.certificate) config.hosts.front().certificate = *o.certificate;
    if (o.key) config.hosts.front().key = *o.key;
  }
  if (o.data_dir) config.data_dir = *o.data_dir;
  if (o.bind_address) {
    // The flag wins over the file's listener addresses too: --bind 127.0.0.1 must not leave a
    // listener on all interfaces.
    config.bind_address = *o.bind_address;
    config.c2s.address.clear();
    config.c2s_tls.address.clear();
    config.s2s.listener.address.clear();
    config.s2s.tls_listener.address.clear();
  }
  if (o.c2s_port) config.c2s.port = *o.c2s_port;
  if (o.c2s_tls_port) config.c2s_tls.port = *o.c2s_tls_port;
  if (o.threads) config.threads = *o.threads;
  if (o.s2s_enabled) config.s2s.enabled = *o.s2s_enabled;
  if (o.s2s_port) config.s2s.listener.port = *o.s2s_port;
  if (o.s2s_tls_port) config.s2s.tls_listener.port = *o.s2s_tls_port;
  if (o.ca_file) config.s2s.ca_file = *o.ca_file;
  if (o.resolv_conf) {
    // The file's dns_servers would take precedence over the flag's file: the flag wins.
    config.s2s.resolv_conf = *o.resolv_conf;
    config.s2s.dns_servers.clear();
  }
  if (o.log_file) config.log_file = *o.log_file;
  if (o.log_level) config.log_level = *o.log_level;
}

Config load_config(const std::optional<std::filesystem::path>& file,
                   const ConfigOverrides& overrides) {
  Config config = file ? load_config_file(*file) : Config{};
  apply_overrides(config, overrides);
  if (auto problem = validate(config)) {
    // The file was valid on its own, so the flags made it so.
    throw ConfigError({}, 0, *problem);
  }
  return config;
}

}  // namespace parley::core
