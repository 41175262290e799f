// Character classes of XML 1.0 (Fifth Edition) §2.2–2.3 and UTF-8 decoding, for the stream scanner.
// Internal to xml/.
#pragma once

#include <cstdint>
#include <string_view>

namespace parley::xml::detail {

// Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
constexpr bool is_xml_char(std::uint32_t c) {
  if (c < 0x20) return c == 0x9 || c == 0xA || c == 0xD;
  if (c <= 0xD7FF) return true;
  if (c < 0xE000) return false;
  if (c <= 0xFFFD) return true;
  return c >= 0x10000 && c <= 0x10FFFF;
}

// NameStartChar, without ':' (Namespaces in XML: NCName).
constexpr bool is_name_start(std::uint32_t c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
         (c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) ||
         (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
         (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
         (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) ||
         (c >= 0x10000 && c <= 0xEFFFF);
}

// NameChar, without ':'.
constexpr bool is_name_char(std::uint32_t c) {
  if (is_name_start(c)) return true;
  if (c < 0x80) return c == '-' || c == '.' || (c >= '0' && c <= '9');
  return c == 0xB7 || (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

constexpr bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Decodes one UTF-8 sequence from s at i (advancing i); returns false on malformed input.
inline bool decode_utf8(std::string_view s, std::size_t& i, std::uint32_t& cp) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    cp = b;
    ++i;
    return true;
  }
  int need;
  std::uint32_t min;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1, cp = b & 0x1F, min = 0x80;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2, cp = b & 0x0F, min = 0x800;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3, cp = b & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (i + static_cast<std::size_t>(need) >= s.size()) return false;
  for (int k = 1; k <= need; ++k) {
    auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((c & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += static_cast<std::size_t>(need) + 1;
  return true;
}

// An NCName: NameStartChar NameChar*, no ':'.
inline bool is_ncname(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  std::uint32_t cp;
  if (!decode_utf8(s, i, cp) || !is_name_start(cp)) return false;
  while (i < s.size()) {
    if (!decode_utf8(s, i, cp) || !is_name_char(cp)) return false;
  }
  return true;
}

// A QName of Namespaces in XML: NCName or NCName ':' NCName.
inline bool is_qname(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return is_ncname(s);
  return is_ncname(s.substr(0, colon)) && is_ncname(s.substr(colon + 1));
}

}  // namespace parley::xml::detail
