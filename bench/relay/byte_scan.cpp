// See byte_scan.hpp.
#include "bench/relay/byte_scan.hpp"

namespace parley::relay {

namespace {

constexpr std::string_view kSpace = " \t\r\n";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::size_t skip_space(std::string_view in, std::size_t i) {
  while (i < in.size() && is_space(in[i])) ++i;
  return i;
}

// The '>' closing the start tag that begins at `from` ('<'), skipping quoted attribute values
// (a '>' is legal inside them); npos when it has not arrived.
std::size_t start_tag_end(std::string_view in, std::size_t from) {
  char quote = 0;
  for (std::size_t i = from + 1; i < in.size(); ++i) {
    const char c = in[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

std::string_view name_at(std::string_view in, std::size_t from) {
  std::size_t end = from;
  while (end < in.size() && !is_space(in[end]) && in[end] != '/' && in[end] != '>') ++end;
  return in.substr(from, end - from);
}

// The element starting at `at` ('<' of a start tag); `consumed` counts from `base`.
TopLevel element_at(std::string_view in, std::size_t base, std::size_t at) {
  TopLevel t;
  t.consumed = base;
  const std::size_t gt = start_tag_end(in, at);
  if (gt == std::string_view::npos) return t;
  t.name = name_at(in, at + 1);
  if (t.name.empty()) {
    t.result = ScanResult::Malformed;
    return t;
  }
  t.start_tag = in.substr(at, gt + 1 - at);
  if (in[gt - 1] == '/') {
    t.empty = true;
    t.bytes = t.start_tag;
  } else {
    // The first "</NAME>" after the start tag (see the limits in the header).
    std::size_t from = gt + 1;
    for (;;) {
      const std::size_t lt = in.find("</", from);
      if (lt == std::string_view::npos) return t;
      const std::size_t after = lt + 2 + t.name.size();
      if (after >= in.size()) return t;
      if (in[after] == '>' && in.substr(lt + 2, t.name.size()) == t.name) {
        t.bytes = in.substr(at, after + 1 - at);
        break;
      }
      from = lt + 2;
    }
  }
  t.result = ScanResult::Element;
  t.consumed = at + t.bytes.size();
  return t;
}

}  // namespace

TopLevel scan_top_level(std::string_view in) {
  const std::size_t at = skip_space(in, 0);
  TopLevel t;
  t.consumed = at;
  if (at == in.size()) return t;
  if (in[at] != '<') {
    t.result = ScanResult::Malformed;
    return t;
  }
  if (at + 1 == in.size()) return t;
  if (in[at + 1] == '/') {
    const std::size_t gt = in.find('>', at);
    if (gt == std::string_view::npos) return t;
    const std::string_view name = name_at(in, at + 2);
    // RFC 6120 §4.4: the closing tag of the stream, whatever prefix the stream uses.
    const bool stream = name == "stream" || (name.size() > 7 && name.ends_with(":stream"));
    t.result = stream ? ScanResult::StreamEnd : ScanResult::Malformed;
    t.consumed = gt + 1;
    return t;
  }
  if (in[at + 1] == '?' || in[at + 1] == '!') {
    t.result = ScanResult::Malformed;
    return t;
  }
  return element_at(in, at, at);
}

TopLevel scan_stream_header(std::string_view in) {
  std::size_t at = skip_space(in, 0);
  TopLevel t;
  if (in.size() - at < 2) return t;
  if (in.substr(at, 2) == "<?") {  // the XML declaration (RFC 6120 §11.5)
    const std::size_t end = in.find("?>", at);
    if (end == std::string_view::npos) return t;
    at = skip_space(in, end + 2);
    if (at == in.size()) return t;
  }
  if (in[at] != '<') {
    t.result = ScanResult::Malformed;
    return t;
  }
  const std::size_t gt = start_tag_end(in, at);
  if (gt == std::string_view::npos) return t;
  t.name = name_at(in, at + 1);
  if (t.name != "stream" && !(t.name.size() > 7 && t.name.ends_with(":stream"))) {
    t.result = ScanResult::Malformed;
    return t;
  }
  t.result = ScanResult::Element;
  t.start_tag = in.substr(at, gt + 1 - at);
  t.bytes = t.start_tag;
  t.consumed = gt + 1;
  return t;
}

std::optional<AttrValue> find_attr(std::string_view start_tag, std::string_view name) {
  // Past the element name, then name='value' pairs.
  std::size_t i = start_tag.find_first_of(kSpace);
  while (i != std::string_view::npos && i < start_tag.size()) {
    i = skip_space(start_tag, i);
    const std::size_t eq = start_tag.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view attr = start_tag.substr(i, eq - i);
    while (!attr.empty() && is_space(attr.back())) attr.remove_suffix(1);
    const std::size_t q = skip_space(start_tag, eq + 1);
    if (q >= start_tag.size() || (start_tag[q] != '\'' && start_tag[q] != '"')) {
      return std::nullopt;
    }
    const std::size_t close = start_tag.find(start_tag[q], q + 1);
    if (close == std::string_view::npos) return std::nullopt;
    if (attr == name) return AttrValue{start_tag.substr(q + 1, close - q - 1), start_tag[q]};
    i = close + 1;
  }
  return std::nullopt;
}

std::string_view inner_of(const TopLevel& element) {
  if (element.empty) return {};
  const std::size_t end_tag = element.name.size() + 3;  // "</" NAME ">"
  return element.bytes.substr(element.start_tag.size(),
                              element.bytes.size() - element.start_tag.size() - end_tag);
}

std::optional<std::string_view> child_text(std::string_view content, std::string_view name) {
  std::size_t from = 0;
  for (;;) {
    const std::size_t lt = content.find('<', from);
    if (lt == std::string_view::npos) return std::nullopt;
    if (name_at(content, lt + 1) == name) {
      const std::size_t gt = start_tag_end(content, lt);
      if (gt == std::string_view::npos) return std::nullopt;
      if (content[gt - 1] == '/') return std::string_view();
      const std::size_t end = content.find('<', gt + 1);
      if (end == std::string_view::npos) return std::nullopt;
      return content.substr(gt + 1, end - gt - 1);
    }
    from = lt + 1;
  }
}

}  // namespace parley::relay
