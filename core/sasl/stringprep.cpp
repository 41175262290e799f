#include "core/sasl/stringprep.hpp"

#include <stringprep.h>

#include <cstdint>

namespace parley::core::sasl {
namespace {

const Stringprep_profile* libidn_profile(StringprepProfile profile) {
  switch (profile) {
    case StringprepProfile::Nodeprep:
      return stringprep_xmpp_nodeprep;
    case StringprepProfile::Resourceprep:
      return stringprep_xmpp_resourceprep;
    case StringprepProfile::Nameprep:
      return stringprep_nameprep;
    case StringprepProfile::Saslprep:
      return stringprep_saslprep;
  }
  return nullptr;
}

// What the four profiles do to ASCII. NFKC, the bidi rules and the unassigned table never touch
// ASCII, and B.1 maps no ASCII character, so only case folding (B.2, Nodeprep and Nameprep) and
// the prohibition tables matter: C.2.1 (controls and DEL) for Nodeprep, Resourceprep and SASLprep;
// C.1.1 (space) and the XMPP-specific "&'/:<>@ for Nodeprep. Nameprep prohibits no ASCII at all.
std::optional<std::string> ascii_stringprep(std::string_view in, StringprepProfile profile) {
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    const bool control = c < 0x20 || c == 0x7f;
    switch (profile) {
      case StringprepProfile::Nodeprep:
        if (control || c == ' ' || c == '"' || c == '&' || c == '\'' || c == '/' || c == ':' ||
            c == '<' || c == '>' || c == '@') {
          return std::nullopt;
        }
        break;
      case StringprepProfile::Resourceprep:
      case StringprepProfile::Saslprep:
        if (control) return std::nullopt;
        break;
      case StringprepProfile::Nameprep:
        break;
    }
    const bool folds =
        profile == StringprepProfile::Nodeprep || profile == StringprepProfile::Nameprep;
    if (folds && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

std::optional<std::string> stringprep(std::string_view in, StringprepProfile profile,
                                      Unassigned unassigned) {
  bool ascii = true;
  for (char ch : in) {
    if (ch == '\0') return std::nullopt;  // libidn works on C strings
    if (static_cast<unsigned char>(ch) >= 0x80) ascii = false;
  }
  if (ascii) return ascii_stringprep(in, profile);
  if (!is_valid_utf8(in)) return std::nullopt;

  const auto flags =
      unassigned == Unassigned::Refuse ? STRINGPREP_NO_UNASSIGNED : Stringprep_profile_flags{};
  // stringprep() works in place and reports TOO_SMALL_BUFFER when NFKC or a mapping makes the
  // result longer than the buffer; a few rounds of growth cover every real input.
  std::string buffer;
  for (std::size_t capacity = in.size() * 2 + 16;; capacity *= 4) {
    buffer.assign(in);
    buffer.resize(capacity, '\0');
    const int rc = ::stringprep(buffer.data(), buffer.size(), flags, libidn_profile(profile));
    if (rc == STRINGPREP_OK) break;
    if (rc != STRINGPREP_TOO_SMALL_BUFFER || capacity > in.size() * 64 + 1024) {
      return std::nullopt;
    }
  }
  buffer.resize(buffer.find('\0'));
  return buffer;
}

}  // namespace parley::core::sasl
