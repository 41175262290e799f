// `parley check`: looks at a configuration the way the server would use it and reports, in plain
// sentences, what it found — like `prosodyctl check`. Certificates (RFC 6120 §13.7.1.2; names as
// RFC 6125 §6.4 matches them), the data directory, the database, and the listening ports.
//
// Every check only reads, except that an existing database is opened as the server opens it, so
// an older schema is migrated (the same thing `parley serve` would do first). Listening ports are
// bound and closed again at once.
//
// Thread-safety: the functions share nothing; call them from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/config_file.hpp"

namespace parley::core {

enum class Severity { Ok, Warning, Error };

// "ok", "warning", "error": the prefix of a printed finding.
std::string_view to_string(Severity severity);

struct Finding {
  Severity severity;
  std::string message;  // one sentence, no prefix, no trailing newline
};

class CheckReport {
 public:
  void ok(std::string message) { add(Severity::Ok, std::move(message)); }
  void warning(std::string message) { add(Severity::Warning, std::move(message)); }
  void error(std::string message) { add(Severity::Error, std::move(message)); }
  void add(Severity severity, std::string message) {
    findings_.push_back({severity, std::move(message)});
  }

  const std::vector<Finding>& findings() const { return findings_; }
  std::size_t count(Severity severity) const;
  bool has_errors() const { return count(Severity::Error) > 0; }
  // One line per finding, "ok: ...", then a closing sentence counting errors and warnings.
  std::string to_text() const;

 private:
  std::vector<Finding> findings_;
};

struct CheckOptions {
  // Time and the warning period for certificate expiry (tests pass a fixed time).
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  std::chrono::hours expiry_warning{30 * 24};
  // Whether to verify certificate chains against the system's trusted CAs (OpenSSL's default
  // paths). Tests turn it off for reproducibility.
  bool verify_chain = true;
  // Whether to try binding the listeners' ports.
  bool check_listeners = true;
};

// Loads the configuration as serve would (load_config()), reporting success or the error.
std::optional<Config> check_configuration(const std::optional<std::filesystem::path>& file,
                                          const ConfigOverrides& overrides, CheckReport& report);

// The certificate chain and private key for `domain`: readable, parseable, valid now (a warning
// within options.expiry_warning of the end), covering `domain` (subjectAltName dNSName, wildcards
// included, or XmppAddr), the key matching the certificate and not readable by everyone,
// self-signed (a warning) or else chaining to a trusted CA.
void check_certificate(std::string_view domain, const std::filesystem::path& certificate_file,
                       const std::filesystem::path& key_file, CheckReport& report,
                       const CheckOptions& options = {});

// check_certificate() for a configured host, knowing that a host without certificate and key
// gets a self-signed pair generated in the data directory at the first start.
void check_host_certificate(const Config& config, const VirtualHost& host, CheckReport& report,
                            const CheckOptions& options = {});

// The data directory exists (or can be created) and is writable.
void check_data_dir(const Config& config, CheckReport& report);

// The database opens (when it exists), its schema version, and whose accounts it holds.
void check_database(const Config& config, CheckReport& report);

// Each enabled listener's address and port can be bound now.
void check_listeners(const Config& config, CheckReport& report);

// All of the above for a loaded configuration.
CheckReport run_checks(const Config& config, const CheckOptions& options = {});

// RFC 6125 §6.4.3: whether `reference` (a certificate's dNSName, maybe "*.example.org") matches
// `domain`. ASCII case-insensitive; a wildcard only as the whole leftmost label, standing for
// exactly one label, and never directly above a top-level domain ("*.org").
bool dns_name_matches(std::string_view reference, std::string_view domain);

}  // namespace parley::core
