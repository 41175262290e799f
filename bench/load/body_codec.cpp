// See body_codec.hpp.
#include "bench/load/body_codec.hpp"

#include <charconv>
#include <limits>

namespace parley::load {

namespace {

constexpr std::string_view kPrefix = "plm1 ";

// Reads "<key>=<decimal>" at the front of `rest` and removes it (and one following space when
// `last` is false). Canonical decimal only: no sign, no leading zero except "0" itself.
template <typename T>
bool take_field(std::string_view& rest, std::string_view key, bool last, T& out) {
  if (!rest.starts_with(key)) return false;
  rest.remove_prefix(key.size());
  const std::size_t end = last ? rest.size() : rest.find(' ');
  if (end == std::string_view::npos || end == 0) return false;
  const std::string_view digits = rest.substr(0, end);
  if (digits.size() > 1 && digits.front() == '0') return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return false;
  rest.remove_prefix(last ? end : end + 1);
  return true;
}

}  // namespace

std::string encode_body(const MessageStamp& stamp) {
  std::string body(kPrefix);
  body += "s=" + std::to_string(stamp.sender);
  body += " r=" + std::to_string(stamp.recipient);
  body += " q=" + std::to_string(stamp.seq);
  body += " t=" + std::to_string(stamp.sent_ns);
  return body;
}

std::optional<MessageStamp> decode_body(std::string_view body) {
  if (!body.starts_with(kPrefix)) return std::nullopt;
  body.remove_prefix(kPrefix.size());
  MessageStamp stamp;
  if (!take_field(body, "s=", false, stamp.sender) ||
      !take_field(body, "r=", false, stamp.recipient) ||
      !take_field(body, "q=", false, stamp.seq) || !take_field(body, "t=", true, stamp.sent_ns) ||
      !body.empty()) {
    return std::nullopt;
  }
  return stamp;
}

}  // namespace parley::load
