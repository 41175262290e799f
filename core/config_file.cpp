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

namespace parley::core {

namespace {

// The tables of the file and the keys each one knows; the order is the order of docs/CONFIG.md.
enum class Section { Top, C2s, Limits, Host };

constexpr std::array kTopKeys = {
    std::string_view("data_dir"),         std::string_view("bind"),
    std::string_view("log_file"),         std::string_view("log_level"),
    std::string_view("scram_iterations"), std::string_view("c2s"),
    std::string_view("limits"),           std::string_view("host")};
constexpr std::array kC2sKeys = {std::string_view("port"), std::string_view("tls_port"),
                                 std::string_view("require_tls"), std::string_view("bind")};
constexpr std::array kLimitsKeys = {
    std::string_view("max_stanza_bytes"), std::string_view("unauthenticated_timeout"),
    std::string_view("max_auth_failures"), std::string_view("registrations_per_address_per_hour")};
constexpr std::array kHostKeys = {std::string_view("domain"), std::string_view("certificate"),
                                  std::string_view("key"), std::string_view("allow_registration")};

constexpr std::array kSections = {Section::Top, Section::C2s, Section::Limits, Section::Host};

std::span<const std::string_view> keys_of(Section section) {
  switch (section) {
    case Section::Top:
      return kTopKeys;
    case Section::C2s:
      return kC2sKeys;
    case Section::Limits:
      return kLimitsKeys;
    case Section::Host:
      return kHostKeys;
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
    case Section::Limits:
      return "[limits]";
    case Section::Host:
      return "[[host]]";
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
    if (auto* node = root.get("c2s")) load_c2s(table(*node, "c2s", "[c2s]"), config);
    if (auto* node = root.get("limits")) load_limits(table(*node, "limits", "[limits]"), config);
    if (auto* node = root.get("host")) load_hosts(*node, config);
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
      if (section != Section::Top && contains(kTopKeys, k)) {
        fail(line, message + "; '" + std::string(k) +
                       "' is a top-level key, and in TOML every key after a [table] line belongs "
                       "to that table: move it above the first [table] line");
      }
      for (Section other : kSections) {
        if (other == section || other == Section::Top) continue;
        if (contains(keys_of(other), k)) {
          fail(line, message + "; '" + std::string(k) + "' belongs in " + section_name(other));
        }
      }
      if (section == Section::Top && (k == "hosts" || k == "virtual_host" || k == "vhost")) {
        fail(line, message + "; did you mean [[host]]? Write one [[host]] table per domain");
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
  std::optional<std::uint16_t> port(const toml::node& node, std::string_view key,
                                    std::string_view example) const {
    if (const auto b = node.as_boolean(); b && !b->get()) return std::nullopt;
    const auto value = node.value<std::int64_t>();
    if (!node.is_integer() || !value || *value < 0 || *value > 65535) {
      fail(node, "key '" + std::string(key) +
                     "' in [c2s] must be a whole number from 0 to 65535, or false to turn the "
                     "listener off, e.g. " +
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
    if (auto* node = c2s.get("port")) config.c2s.port = port(*node, "port", "5222");
    if (auto* node = c2s.get("tls_port")) config.c2s_tls.port = port(*node, "tls_port", "5223");
    if (auto* node = c2s.get("require_tls")) {
      config.c2s_require_tls = boolean(*node, "require_tls", Section::C2s, "true");
    }
    if (auto* node = c2s.get("bind")) {
      config.c2s.address = address(*node, "bind", Section::C2s);
      config.c2s_tls.address = config.c2s.address;
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
      config.hosts.push_back(std::move(host));
      lines.push_back(line);
    }
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
    config.hosts.assign(1, VirtualHost{lower_ascii(*o.domain), {}, {}, false});
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
  }
  if (o.c2s_port) config.c2s.port = *o.c2s_port;
  if (o.c2s_tls_port) config.c2s_tls.port = *o.c2s_tls_port;
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
