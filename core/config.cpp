#include "core/config.hpp"

#include <string_view>

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

std::optional<std::string> validate(const Config& config) {
  if (!is_valid_domain(config.domain)) {
    return "invalid domain '" + config.domain +
           "': use an ASCII DNS name such as example.org or localhost";
  }
  if (config.data_dir.empty()) return std::string("the data directory must not be empty");
  return std::nullopt;
}

}  // namespace parley::core
