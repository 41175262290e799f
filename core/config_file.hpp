// Parley's configuration file (TOML; reference in docs/CONFIG.md, commented sample in
// etc/parley.toml) and the command-line flags that override it. An error names the file, the line
// and the key, and says what would be accepted, so that an operator can fix it without the docs.
//
// Thread-safety: the functions are pure apart from reading the file; call them from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace parley::core {

// A configuration that cannot be used. what() is the whole message for the operator:
// "parley.toml:12: key 'port' in [c2s] must be a whole number from 0 to 65535, ...",
// "parley.toml:3:7: TOML syntax error: ..." or, for problems without a line, "parley.toml: ...";
// for problems caused by command-line flags alone, just the sentence.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::size_t line, std::string detail, std::size_t column = 0);

  // The file as named to the loader; empty when the problem comes from the flags.
  const std::string& file() const noexcept { return file_; }
  // 1-based; 0 when the problem has no single line (a file that cannot be read, validate()).
  std::size_t line() const noexcept { return line_; }
  // 1-based; 0 unless the problem is a TOML syntax error.
  std::size_t column() const noexcept { return column_; }
  // The message without the "file:line: " prefix.
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string file_;
  std::size_t line_;
  std::size_t column_;
  std::string detail_;
};

// Reads `path` and returns the Config it describes: built-in defaults (core/config.hpp) for every
// absent key, relative paths (data_dir, log_file, certificates, keys, ca_file, resolv_conf)
// resolved against the directory of `path`, source_file = `path`. Then runs validate(), whose
// message is prefixed with the file name. Throws ConfigError.
Config load_config_file(const std::filesystem::path& path);

// What load_config_file() does once the file is read: `text` is TOML, `name` is how messages
// name the file, `base_dir` the directory relative paths are resolved against. Does not set
// source_file. Throws ConfigError.
Config parse_config(std::string_view text, std::string_view name,
                    const std::filesystem::path& base_dir);

// The command-line flags of serve, check and the account commands that override the file, for
// quick starts without one. An absent member leaves the file's (or the default) value alone.
struct ConfigOverrides {
  // A listener port; nullopt turns the listener off.
  using Port = std::optional<std::uint16_t>;

  // Replaces the whole list of hosts with this one domain (with certificate and key below, if
  // given; else a generated self-signed pair).
  std::optional<std::string> domain;
  std::optional<std::filesystem::path> data_dir;
  std::optional<std::string> bind_address;
  std::optional<Port> c2s_port;
  std::optional<Port> c2s_tls_port;
  // Federation: --no-federation sets s2s_enabled = false; the listener ports; the CA file for
  // peers' certificates; the resolver's configuration (which also clears the file's
  // dns_servers, which would otherwise take precedence).
  std::optional<bool> s2s_enabled;
  std::optional<Port> s2s_port;
  std::optional<Port> s2s_tls_port;
  std::optional<std::filesystem::path> ca_file;
  std::optional<std::filesystem::path> resolv_conf;
  // The first host's PEM certificate chain and private key.
  std::optional<std::filesystem::path> certificate;
  std::optional<std::filesystem::path> key;
  std::optional<std::filesystem::path> log_file;
  std::optional<unsigned> threads;
  std::optional<std::string> log_level;
};

// Applies `overrides` to `config`. Domains are lower-cased (DNS names compare case-insensitively
// and accounts are stored under the prepared, lower-case domain).
void apply_overrides(Config& config, const ConfigOverrides& overrides);

// The configuration serve, check and the account commands run with: `file` if given, else the
// built-in defaults (which serve localhost); then `overrides`; then validate(). A SIGHUP reload
// calls it again with the same arguments, so flags keep overriding the edited file.
// Throws ConfigError.
Config load_config(const std::optional<std::filesystem::path>& file,
                   const ConfigOverrides& overrides = {});

// The edit distance (Levenshtein; a transposition counts as one edit) between two ASCII strings,
// for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace parley::core
