// The settings `parley serve` runs with. Filled from the command line for now; the TOML config
// file (etc/parley.toml) comes with a later issue and will fill the same struct.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace parley::core {

inline constexpr std::uint16_t kDefaultC2sPort = 5222;  // RFC 6120 §14.7

struct Config {
  // The XMPP domain served (RFC 7622 domainpart), e.g. "example.org".
  std::string domain = "localhost";
  // Where Parley keeps its state: certificates now, the database later.
  std::filesystem::path data_dir = "parley-data";
  // IP address the c2s listener binds to; "" means all interfaces: "::" accepting IPv4 too, or
  // "0.0.0.0" on hosts without IPv6.
  std::string bind_address;
  // 0 lets the kernel pick a free port (tests).
  std::uint16_t c2s_port = kDefaultC2sPort;
  // Also log to this file; "" logs to stderr only.
  std::filesystem::path log_file;

  std::filesystem::path certificate_file() const { return data_dir / (domain + ".crt"); }
  std::filesystem::path private_key_file() const { return data_dir / (domain + ".key"); }
};

// What is wrong with the config, for the operator; nullopt when it is usable.
std::optional<std::string> validate(const Config& config);

// True when `name` is an ASCII DNS name Parley can serve: labels of letters, digits and '-',
// separated by single dots. (Internationalised domains need IDNA; later.)
bool is_valid_domain(std::string_view name);

}  // namespace parley::core
