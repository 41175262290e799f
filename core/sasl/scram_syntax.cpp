#include "core/sasl/scram_syntax.hpp"

#include "core/sasl/stringprep.hpp"

namespace parley::core::sasl::scram {

std::vector<std::string_view> split_fields(std::string_view message) {
  std::vector<std::string_view> fields;
  while (true) {
    const auto comma = message.find(',');
    fields.push_back(message.substr(0, comma));
    if (comma == std::string_view::npos) break;
    message.remove_prefix(comma + 1);
  }
  return fields;
}

std::optional<std::string_view> attribute(std::string_view field, char name) {
  if (field.size() < 2 || field[0] != name || field[1] != '=') return std::nullopt;
  return field.substr(2);
}

std::string encode_saslname(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> decode_saslname(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0' || c == ',') return std::nullopt;
    if (c != '=') {
      out += c;
      continue;
    }
    // RFC 5802 §5.1: '=' not followed by "2C" or "3D" MUST fail the authentication.
    const std::string_view escape = text.substr(i + 1, 2);
    if (escape == "2C") {
      out += ',';
    } else if (escape == "3D") {
      out += '=';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  if (!is_valid_utf8(out)) return std::nullopt;
  return out;
}

bool is_printable(std::string_view text) {
  if (text.empty()) return false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

bool is_extension(std::string_view field) {
  if (field.size() < 3 || field[1] != '=') return false;
  const char name = field[0];
  if (!((name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z'))) return false;
  const std::string_view value = field.substr(2);
  return value.find('\0') == std::string_view::npos && is_valid_utf8(value);
}

}  // namespace parley::core::sasl::scram
