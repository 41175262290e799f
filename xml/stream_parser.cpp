#include "xml/stream_parser.hpp"

#include <emmintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "xml/chars.hpp"
#include "xml/namespaces.hpp"

namespace parley::xml {

enum class StreamParser::State : std::uint8_t {
  Start,            // the very beginning: an optional BOM and XML declaration
  Prolog,           // whitespace before the stream header
  Between,          // stream level: whitespace between top-level elements
  StartName,        // the name of a start tag
  InTag,            // inside a start tag, before an attribute or the end of the tag
  AttrName,         // an attribute name
  AfterAttrName,    // expecting '='
  BeforeAttrValue,  // expecting a quote
  AttrValue,        // inside a quoted attribute value
  AfterAttrValue,   // expecting whitespace, '>' or "/>"
  EmptyTagEnd,      // after '/' in a start tag, expecting '>'
  EndName,          // the name of an end tag
  AfterEndName,     // expecting '>' of an end tag
  Text,             // character data inside an element
  CData,            // inside a CDATA section
  Ref,              // an entity or character reference, after '&'
  StreamText,       // a non-ASCII character at stream level (bad-format once it is complete)
  Closed,           // after </stream:stream>
  Failed,
};

namespace {

using detail::is_space;

// Byte classes for the scalar loops.
enum : std::uint8_t {
  kNameByte = 1,     // may continue a name (ASCII NameChar, ':' or any non-ASCII byte)
  kNameStart = 2,    // may start a name (ASCII NameStartChar, ':' or any non-ASCII byte)
  kTextSpecial = 4,  // stops the text loop: '<' '&' ']' '>' control characters, non-ASCII
  kAttrSpecial = 8,  // stops the attribute value loop: '<' '&' '\'' '"' controls, non-ASCII
  kCDataSpecial = 16,
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (letter || c >= 0x80) v |= kNameStart | kNameByte;
    if (digit || c == '-' || c == '.') v |= kNameByte;
    const bool control = c < 0x20 && c != '\t' && c != '\n' && c != '\r';
    if (control || c >= 0x80) v |= kTextSpecial | kAttrSpecial | kCDataSpecial;
    if (c == '<' || c == '&' || c == ']' || c == '>') v |= kTextSpecial;
    if (c == '<' || c == '&' || c == '\'' || c == '"' || c == '\t' || c == '\n' || c == '\r') {
      v |= kAttrSpecial;
    }
    if (c == ']' || c == '>') v |= kCDataSpecial;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kClass = make_classes();

inline bool is(unsigned char c, std::uint8_t cls) { return (kClass[c] & cls) != 0; }

// Mask of the bytes in v that are control characters other than TAB, LF, CR, or non-ASCII.
inline int unusual_mask(__m128i v) {
  const __m128i low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));  // also catches >= 0x80
  const __m128i ws = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
      _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
  return _mm_movemask_epi8(_mm_andnot_si128(ws, low));
}

// Advances p over bytes that need no attention in text (16 at a time while it can).
inline const unsigned char* skip_text(const unsigned char* p, const unsigned char* end) {
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')), _mm_cmpeq_epi8(v, _mm_set1_epi8('&'))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(']')), _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))));
    const int mask = _mm_movemask_epi8(special) | unusual_mask(v);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
  while (p < end && !is(*p, kTextSpecial)) ++p;
  return p;
}

inline const unsigned char* skip_attr(const unsigned char* p, const unsigned char* end) {
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')), _mm_cmpeq_epi8(v, _mm_set1_epi8('&'))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\'')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
    // TAB, LF and CR stop the loop too: attribute-value normalisation must then be asked of
    // pugixml (rare in practice, so it is not paid for on every value).
    const __m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
                                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
    const int mask = _mm_movemask_epi8(_mm_or_si128(special, ws)) | unusual_mask(v);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
  while (p < end && !is(*p, kAttrSpecial)) ++p;
  return p;
}

inline const unsigned char* skip_name(const unsigned char* p, const unsigned char* end) {
  while (p < end && *p < 0x80 && is(*p, kNameByte)) ++p;
  return p;
}

// A name the scanner framed holds name bytes only (kNameByte); this checks the rest of QName:
// an ASCII name starts with a letter or '_', has at most one ':', and a name start after it.
// Names with non-ASCII characters take the full check.
inline bool is_framed_qname(std::string_view name) {
  if (name.empty()) return false;
  std::size_t colon = std::string_view::npos;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80) return detail::is_qname(name);
    if (c == ':') {
      if (colon != std::string_view::npos) return false;
      colon = i;
    }
  }
  auto starts = [](unsigned char c) { return is(c, kNameStart) && c != ':'; };
  if (!starts(static_cast<unsigned char>(name[0]))) return false;
  return colon == std::string_view::npos ||
         (colon + 1 < name.size() && starts(static_cast<unsigned char>(name[colon + 1])));
}

enum class Prefix { Match, Partial, NoMatch };
// Whether the bytes [p, end) start with `lit`, could still (more bytes needed), or cannot.
Prefix match_prefix(const unsigned char* p, const unsigned char* end, std::string_view lit) {
  const std::size_t avail = static_cast<std::size_t>(end - p);
  const std::size_t n = std::min(avail, lit.size());
  if (std::memcmp(p, lit.data(), n) != 0) return Prefix::NoMatch;
  return n == lit.size() ? Prefix::Match : Prefix::Partial;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

struct DeclResult {
  bool ok = true;
  StreamError condition = StreamError::NotWellFormed;
  std::string text;
};

// XML 1.0 §2.8: XMLDecl ::= '<?xml' VersionInfo EncodingDecl? SDDecl? S? '?>'.
// `body` is what stands between "<?xml" and "?>". RFC 6120 §11.6: UTF-8 only.
DeclResult check_xml_declaration(std::string_view body) {
  static constexpr std::array<std::string_view, 3> kOrder = {"version", "encoding", "standalone"};
  std::size_t i = 0;
  std::size_t next_allowed = 0;
  bool saw_version = false;
  auto bad = [](std::string t) {
    return DeclResult{false, StreamError::NotWellFormed, std::move(t)};
  };
  for (;;) {
    const std::size_t ws_begin = i;
    while (i < body.size() && is_space(static_cast<unsigned char>(body[i]))) ++i;
    if (i == body.size()) break;
    if (i == ws_begin) return bad("XML declaration: whitespace expected");
    const std::size_t name_begin = i;
    while (i < body.size() && body[i] >= 'a' && body[i] <= 'z') ++i;
    std::string_view name = body.substr(name_begin, i - name_begin);
    auto it = std::find(kOrder.begin(), kOrder.end(), name);
    if (it == kOrder.end() || static_cast<std::size_t>(it - kOrder.begin()) < next_allowed) {
      return bad("XML declaration: unexpected '" + std::string(name) + "'");
    }
    next_allowed = static_cast<std::size_t>(it - kOrder.begin()) + 1;
    while (i < body.size() && is_space(static_cast<unsigned char>(body[i]))) ++i;
    if (i == body.size() || body[i] != '=') return bad("XML declaration: '=' expected");
    ++i;
    while (i < body.size() && is_space(static_cast<unsigned char>(body[i]))) ++i;
    if (i == body.size() || (body[i] != '\'' && body[i] != '"')) {
      return bad("XML declaration: quote expected");
    }
    const char q = body[i++];
    const std::size_t value_begin = i;
    while (i < body.size() && body[i] != q) ++i;
    if (i == body.size()) return bad("XML declaration: unterminated value");
    std::string_view value = body.substr(value_begin, i - value_begin);
    ++i;
    if (name == "version") {
      saw_version = true;
      bool digits = value.size() > 2;
      for (std::size_t k = 2; k < value.size(); ++k)
        digits = digits && value[k] >= '0' && value[k] <= '9';
      if (value.substr(0, 2) != "1." || !digits) return bad("XML declaration: bad version");
    } else if (name == "encoding") {
      if (!iequals(value, "utf-8")) {
        return DeclResult{false, StreamError::UnsupportedEncoding,
                          "encoding '" + std::string(value) + "': XMPP streams are UTF-8"};
      }
    } else if (value != "yes" && value != "no") {
      return bad("XML declaration: bad standalone value");
    }
  }
  if (!saw_version) return bad("XML declaration without version");
  return {};
}

constexpr unsigned kPugiOptions = pugi::parse_cdata | pugi::parse_ws_pcdata | pugi::parse_escapes |
                                  pugi::parse_eol | pugi::parse_wconv_attribute;
// Without TAB, LF or CR in any attribute value, normalising values would change nothing.
constexpr unsigned kPugiOptionsNoAttrWhitespace = kPugiOptions & ~pugi::parse_wconv_attribute;

// Reference scanning sub-states.
enum : std::uint8_t { kRefStart, kRefName, kRefHash, kRefDec, kRefHex };

}  // namespace

StreamParser::StreamParser(ParserOptions options)
    : options_(std::move(options)), state_(State::Start) {}

void StreamParser::feed(std::string_view bytes) {
  if (state_ == State::Failed || state_ == State::Closed) return;
  if (consumed_ > 0) {
    if (consumed_ == buf_.size()) {
      pos_ -= consumed_;
      element_begin_ -= std::min(element_begin_, consumed_);
      tag_begin_ -= std::min(tag_begin_, consumed_);
      name_begin_ -= std::min(name_begin_, consumed_);
      consumed_ = 0;
      buf_.clear();
      if (buf_.capacity() > 64 * 1024) std::string().swap(buf_);  // give back a big stanza's room
    } else if (consumed_ >= 4096 && consumed_ * 2 >= buf_.size()) {
      buf_.erase(0, consumed_);
      pos_ -= consumed_;
      element_begin_ -= std::min(element_begin_, consumed_);
      tag_begin_ -= std::min(tag_begin_, consumed_);
      name_begin_ -= std::min(name_begin_, consumed_);
      consumed_ = 0;
    }
  }
  buf_.append(bytes);
}

void StreamParser::release_idle_buffer() {
  if (consumed_ != buf_.size() || buf_.capacity() <= std::string().capacity()) return;
  pos_ -= consumed_;
  element_begin_ -= std::min(element_begin_, consumed_);
  tag_begin_ -= std::min(tag_begin_, consumed_);
  name_begin_ -= std::min(name_begin_, consumed_);
  consumed_ = 0;
  std::string().swap(buf_);
}

void StreamParser::reset() {
  ParserOptions options = std::move(options_);
  *this = StreamParser(std::move(options));
}

StreamParser::Event StreamParser::fail(StreamError condition, std::string text) {
  state_ = State::Failed;
  error_ = condition;
  error_text_ = std::move(text);
  buf_.clear();
  std::string().swap(buf_);
  consumed_ = pos_ = 0;
  Event e;
  e.type = EventType::Error;
  e.error = error_;
  e.error_text = error_text_;
  return e;
}

StreamParser::Event StreamParser::next() {
  if (state_ == State::Failed) {
    Event e;
    e.type = EventType::Error;
    e.error = error_;
    e.error_text = error_text_;
    return e;
  }
  if (pending_close_) {
    pending_close_ = false;
    state_ = State::Closed;
    Event e;
    e.type = EventType::StreamClosed;
    return e;
  }
  if (state_ == State::Closed) {
    consumed_ = pos_ = buf_.size();
    return {};
  }
  return scan();
}

// Consumes the continuation bytes of a UTF-8 sequence (starting at its lead byte when utf8_need_
// is 0). Returns false on malformed UTF-8 or a code point XML does not allow.
bool StreamParser::consume_utf8(const unsigned char*& p, const unsigned char* end) {
  if (utf8_need_ == 0) {
    const unsigned char b = *p++;
    if (b >= 0xC2 && b <= 0xDF) {
      utf8_need_ = 1, utf8_cp_ = b & 0x1Fu, utf8_min_ = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
      utf8_need_ = 2, utf8_cp_ = b & 0x0Fu, utf8_min_ = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
      utf8_need_ = 3, utf8_cp_ = b & 0x07u, utf8_min_ = 0x10000;
    } else {
      return false;
    }
  }
  while (utf8_need_ > 0 && p < end) {
    const unsigned char c = *p;
    if ((c & 0xC0) != 0x80) return false;
    utf8_cp_ = (utf8_cp_ << 6) | (c & 0x3Fu);
    ++p;
    --utf8_need_;
    // Reject overlong and out-of-range forms as early as the bits allow.
    if (utf8_need_ == 1 && utf8_min_ == 0x800 && utf8_cp_ < 0x20) return false;
  }
  if (utf8_need_ == 0) {
    if (utf8_cp_ < utf8_min_ || utf8_cp_ > 0x10FFFF) return false;
    if (!detail::is_xml_char(utf8_cp_)) return false;
  }
  return true;
}

StreamParser::Event StreamParser::scan() {
  const auto* const base = reinterpret_cast<const unsigned char*>(buf_.data());
  const std::size_t size = buf_.size();
  const ParserLimits& limits = options_.limits;

  for (;;) {
    // How far this pass may scan: the limit of what is being framed, or the data there is.
    std::size_t end = size;
    const char* limit_what = nullptr;
    if (context_ == Context::Element) {
      const std::size_t limit_end = element_begin_ + limits.max_element_bytes;
      if (limit_end < end) end = limit_end, limit_what = "element exceeds the size limit";
    } else if (context_ == Context::Prolog || context_ == Context::Header) {
      if (limits.max_header_bytes < end) {
        end = limits.max_header_bytes, limit_what = "stream header exceeds the size limit";
      }
    }
    if (pos_ >= end) {
      if (limit_what != nullptr) return fail(StreamError::PolicyViolation, limit_what);
      return {};
    }
    // Lookahead that cannot be decided with the bytes at hand: wait for more, or hit the limit.
    auto wait = [&]() -> Event {
      if (end < size) return fail(StreamError::PolicyViolation, limit_what);
      return {};
    };

    const unsigned char* p = base + pos_;
    const unsigned char* const e = base + end;

    if (utf8_need_ > 0) {
      if (!consume_utf8(p, e)) return fail(StreamError::NotWellFormed, "invalid UTF-8");
      pos_ = static_cast<std::size_t>(p - base);
      continue;
    }

    switch (state_) {
      case State::Start: {
        if (!bom_checked_) {
          switch (match_prefix(p, e, "\xEF\xBB\xBF")) {
            case Prefix::Partial:
              return wait();
            case Prefix::Match:
              p += 3;
              break;
            case Prefix::NoMatch:
              break;
          }
          bom_checked_ = true;
          pos_ = static_cast<std::size_t>(p - base);
          continue;
        }
        auto m = match_prefix(p, e, "<?xml");
        if (m == Prefix::Partial) return wait();
        if (m == Prefix::NoMatch) {
          state_ = State::Prolog;
          continue;
        }
        if (e - p < 6) return wait();
        if (!is_space(p[5])) return fail(StreamError::RestrictedXml, "processing instruction");
        std::string_view rest(reinterpret_cast<const char*>(p) + 5,
                              static_cast<std::size_t>(e - p) - 5);
        auto close = rest.find("?>");
        if (close == std::string_view::npos) return wait();
        std::string_view body = rest.substr(0, close);
        for (char c : body) {
          if (static_cast<unsigned char>(c) >= 0x80 ||
              (static_cast<unsigned char>(c) < 0x20 && !is_space(static_cast<unsigned char>(c)))) {
            return fail(StreamError::NotWellFormed, "XML declaration: unexpected character");
          }
        }
        auto result = check_xml_declaration(body);
        if (!result.ok) return fail(result.condition, result.text);
        pos_ = static_cast<std::size_t>(p - base) + 5 + close + 2;
        state_ = State::Prolog;
        continue;
      }

      case State::Prolog: {
        while (p < e && is_space(*p)) ++p;
        pos_ = static_cast<std::size_t>(p - base);
        if (p == e) continue;
        if (*p != '<') return fail(StreamError::NotWellFormed, "text before the stream header");
        if (e - p < 2) return wait();
        if (p[1] == '?') return fail(StreamError::RestrictedXml, "processing instruction");
        if (p[1] == '!') {
          return fail(StreamError::RestrictedXml, "comment or document type declaration");
        }
        if (!is(p[1], kNameStart))
          return fail(StreamError::NotWellFormed, "'<' not followed by a name");
        tag_begin_ = pos_;
        name_begin_ = pos_ + 1;
        pos_ += 1;
        context_ = Context::Header;
        state_ = State::StartName;
        continue;
      }

      case State::Between: {
        const unsigned char* start = p;
        while (p < e && is_space(*p)) ++p;
        text_run_ += static_cast<std::size_t>(p - start);
        pos_ = consumed_ = static_cast<std::size_t>(p - base);
        if (text_run_ > limits.max_text_between_elements) {
          return fail(StreamError::PolicyViolation, "too much whitespace between elements");
        }
        if (p == e) continue;
        if (*p != '<') {
          // Control characters and invalid UTF-8 are not XML at all; other text is XML but not
          // allowed by XMPP: bad-format once the character is complete.
          if (*p < 0x20) return fail(StreamError::NotWellFormed, "character not allowed in XML");
          if (*p >= 0x80) {
            if (!consume_utf8(p, e)) return fail(StreamError::NotWellFormed, "invalid UTF-8");
            pos_ = static_cast<std::size_t>(p - base);
            state_ = State::StreamText;
            continue;
          }
          return fail(StreamError::BadFormat, "character data at stream level");
        }
        if (e - p < 2) return wait();
        const unsigned char c = p[1];
        if (c == '/') {
          tag_begin_ = pos_;
          name_begin_ = pos_ + 2;
          pos_ += 2;
          context_ = Context::Stream;
          state_ = State::EndName;
          continue;
        }
        if (c == '?') return fail(StreamError::RestrictedXml, "processing instruction");
        if (c == '!') {
          auto cm = match_prefix(p, e, "<!--");
          auto cd = match_prefix(p, e, "<![CDATA[");
          if (cm == Prefix::Match) return fail(StreamError::RestrictedXml, "comment");
          if (cd == Prefix::Match)
            return fail(StreamError::BadFormat, "character data at stream level");
          if (cm == Prefix::Partial || cd == Prefix::Partial) return wait();
          return fail(StreamError::RestrictedXml, "markup declaration");
        }
        if (!is(c, kNameStart))
          return fail(StreamError::NotWellFormed, "'<' not followed by a name");
        element_begin_ = tag_begin_ = pos_;
        name_begin_ = pos_ + 1;
        pos_ += 1;
        context_ = Context::Element;
        open_.clear();
        saw_cdata_ = false;
        attr_whitespace_ = false;
        state_ = State::StartName;
        continue;
      }

      case State::StartName:
      case State::AttrName:
      case State::EndName: {
        p = skip_name(p, e);
        if (p < e && *p >= 0x80) {
          if (!consume_utf8(p, e)) return fail(StreamError::NotWellFormed, "invalid UTF-8");
          pos_ = static_cast<std::size_t>(p - base);
          continue;
        }
        pos_ = static_cast<std::size_t>(p - base);
        if (p == e) continue;
        std::string_view name(reinterpret_cast<const char*>(base) + name_begin_,
                              pos_ - name_begin_);
        if (!is_framed_qname(name)) {
          if (name.empty()) return fail(StreamError::NotWellFormed, "name expected");
          return fail(StreamError::NotWellFormed, "invalid name '" + std::string(name) + "'");
        }
        const unsigned char c = *p;
        if (state_ == State::StartName) {
          if (!is_space(c) && c != '>' && c != '/') {
            return fail(StreamError::NotWellFormed, "unexpected character in a start tag");
          }
          if (context_ == Context::Element) {
            if (open_.size() >= limits.max_depth) {
              return fail(StreamError::PolicyViolation, "elements nested too deep");
            }
            open_.push_back({static_cast<std::uint32_t>(name_begin_ - element_begin_),
                             static_cast<std::uint32_t>(name.size())});
          } else {
            stream_qname_.assign(name);
          }
          attr_count_ = 0;
          state_ = State::InTag;
        } else if (state_ == State::AttrName) {
          if (is_space(c)) {
            state_ = State::AfterAttrName;
          } else if (c == '=') {
            ++pos_;
            state_ = State::BeforeAttrValue;
          } else {
            return fail(StreamError::NotWellFormed, "'=' expected after an attribute name");
          }
        } else {  // EndName
          if (is_space(c)) {
            state_ = State::AfterEndName;
          } else if (c != '>') {
            return fail(StreamError::NotWellFormed, "unexpected character in an end tag");
          } else {
            state_ = State::AfterEndName;
          }
        }
        continue;
      }

      case State::InTag: {
        while (p < e && is_space(*p)) ++p;
        pos_ = static_cast<std::size_t>(p - base);
        if (p == e) continue;
        const unsigned char c = *p;
        if (c == '>') {
          ++pos_;
          if (context_ == Context::Header) return finish_header(false);
          state_ = State::Text;
          bracket_run_ = 0;
          continue;
        }
        if (c == '/') {
          ++pos_;
          state_ = State::EmptyTagEnd;
          continue;
        }
        if (!is(c, kNameStart)) {
          return fail(StreamError::NotWellFormed, "unexpected character in a start tag");
        }
        if (++attr_count_ > limits.max_attributes) {
          return fail(StreamError::PolicyViolation, "too many attributes on an element");
        }
        name_begin_ = pos_;
        state_ = State::AttrName;
        continue;
      }

      case State::AfterAttrName: {
        while (p < e && is_space(*p)) ++p;
        pos_ = static_cast<std::size_t>(p - base);
        if (p == e) continue;
        if (*p != '=')
          return fail(StreamError::NotWellFormed, "'=' expected after an attribute name");
        ++pos_;
        state_ = State::BeforeAttrValue;
        continue;
      }

      case State::BeforeAttrValue: {
        while (p < e && is_space(*p)) ++p;
        pos_ = static_cast<std::size_t>(p - base);
        if (p == e) continue;
        if (*p != '\'' && *p != '"') {
          return fail(StreamError::NotWellFormed, "attribute values must be quoted");
        }
        quote_ = static_cast<char>(*p);
        ++pos_;
        state_ = State::AttrValue;
        continue;
      }

      case State::AttrValue: {
        for (;;) {
          p = skip_attr(p, e);
          if (p == e) break;
          const unsigned char c = *p;
          if (c == static_cast<unsigned char>(quote_)) break;
          if (c == '\'' || c == '"') {
            ++p;
            continue;
          }
          if (c == '\t' || c == '\n' || c == '\r') {
            attr_whitespace_ = true;
            ++p;
            continue;
          }
          break;
        }
        pos_ = static_cast<std::size_t>(p - base);
        if (p == e) continue;
        const unsigned char c = *p;
        if (c == static_cast<unsigned char>(quote_)) {
          ++pos_;
          state_ = State::AfterAttrValue;
        } else if (c == '&') {
          ++pos_;
          ref_in_attr_ = true;
          ref_kind_ = kRefStart;
          state_ = State::Ref;
        } else if (c == '<') {
          return fail(StreamError::NotWellFormed, "'<' in an attribute value");
        } else if (c >= 0x80) {
          if (!consume_utf8(p, e)) return fail(StreamError::NotWellFormed, "invalid UTF-8");
          pos_ = static_cast<std::size_t>(p - base);
        } else {
          return fail(StreamError::NotWellFormed, "character not allowed in XML");
        }
        continue;
      }

      case State::AfterAttrValue: {
        const unsigned char c = *p;
        if (is_space(c)) {
          ++pos_;
        } else if (c != '>' && c != '/') {
          return fail(StreamError::NotWellFormed, "whitespace expected between attributes");
        }
        state_ = State::InTag;
        continue;
      }

      case State::EmptyTagEnd: {
        if (*p != '>') return fail(StreamError::NotWellFormed, "'>' expected after '/'");
        ++pos_;
        if (context_ == Context::Header) return finish_header(true);
        open_.pop_back();
        if (open_.empty()) return finish_element();
        state_ = State::Text;
        bracket_run_ = 0;
        continue;
      }

      case State::AfterEndName: {
        while (p < e && is_space(*p)) ++p;
        pos_ = static_cast<std::size_t>(p - base);
        if (p == e) continue;
        if (*p != '>') return fail(StreamError::NotWellFormed, "'>' expected in an end tag");
        // The name ends at the first space or '>' after name_begin_.
        std::size_t name_end = name_begin_;
        while (!is_space(base[name_end]) && base[name_end] != '>') ++name_end;
        std::string_view name(reinterpret_cast<const char*>(base) + name_begin_,
                              name_end - name_begin_);
        ++pos_;
        if (context_ == Context::Stream) {
          if (name != stream_qname_) {
            return fail(StreamError::NotWellFormed, "end tag </" + std::string(name) +
                                                        "> does not match <" + stream_qname_ + ">");
          }
          state_ = State::Closed;
          consumed_ = pos_;
          Event ev;
          ev.type = EventType::StreamClosed;
          return ev;
        }
        const OpenTag& open = open_.back();
        std::string_view open_name(
            reinterpret_cast<const char*>(base) + element_begin_ + open.name_begin, open.name_len);
        if (name != open_name) {
          return fail(StreamError::NotWellFormed, "end tag </" + std::string(name) +
                                                      "> does not match <" +
                                                      std::string(open_name) + ">");
        }
        open_.pop_back();
        if (open_.empty()) return finish_element();
        state_ = State::Text;
        bracket_run_ = 0;
        continue;
      }

      case State::Text: {
        const unsigned char* q = skip_text(p, e);
        if (q != p) bracket_run_ = 0;
        p = q;
        pos_ = static_cast<std::size_t>(p - base);
        if (p == e) continue;
        const unsigned char c = *p;
        switch (c) {
          case '<': {
            if (e - p < 2) return wait();
            const unsigned char n = p[1];
            if (n == '/') {
              tag_begin_ = pos_;
              name_begin_ = pos_ + 2;
              pos_ += 2;
              state_ = State::EndName;
            } else if (n == '!') {
              auto cd = match_prefix(p, e, "<![CDATA[");
              auto cm = match_prefix(p, e, "<!--");
              if (cd == Prefix::Match) {
                pos_ += 9;
                saw_cdata_ = true;
                bracket_run_ = 0;
                state_ = State::CData;
              } else if (cm == Prefix::Match) {
                return fail(StreamError::RestrictedXml, "comment");
              } else if (cd == Prefix::Partial || cm == Prefix::Partial) {
                return wait();
              } else {
                return fail(StreamError::RestrictedXml, "markup declaration");
              }
            } else if (n == '?') {
              return fail(StreamError::RestrictedXml, "processing instruction");
            } else if (is(n, kNameStart)) {
              tag_begin_ = pos_;
              name_begin_ = pos_ + 1;
              pos_ += 1;
              state_ = State::StartName;
            } else {
              return fail(StreamError::NotWellFormed, "'<' not followed by a name");
            }
            continue;
          }
          case '&':
            ++pos_;
            ref_in_attr_ = false;
            ref_kind_ = kRefStart;
            state_ = State::Ref;
            continue;
          case ']':
            if (bracket_run_ < 2) ++bracket_run_;
            ++pos_;
            continue;
          case '>':
            if (bracket_run_ >= 2) return fail(StreamError::NotWellFormed, "']]>' in text");
            bracket_run_ = 0;
            ++pos_;
            continue;
          default:
            break;
        }
        bracket_run_ = 0;
        if (c >= 0x80) {
          if (!consume_utf8(p, e)) return fail(StreamError::NotWellFormed, "invalid UTF-8");
          pos_ = static_cast<std::size_t>(p - base);
          continue;
        }
        return fail(StreamError::NotWellFormed, "character not allowed in XML");
      }

      case State::CData: {
        while (p < e) {
          const unsigned char c = *p;
          if (!is(c, kCDataSpecial)) {
            bracket_run_ = 0;
            ++p;
            continue;
          }
          if (c == ']') {
            if (bracket_run_ < 2) ++bracket_run_;
            ++p;
            continue;
          }
          if (c == '>') {
            ++p;
            if (bracket_run_ >= 2) {
              bracket_run_ = 0;
              state_ = State::Text;
              break;
            }
            bracket_run_ = 0;
            continue;
          }
          bracket_run_ = 0;
          if (c >= 0x80) {
            if (!consume_utf8(p, e)) return fail(StreamError::NotWellFormed, "invalid UTF-8");
            if (utf8_need_ > 0) break;
            continue;
          }
          return fail(StreamError::NotWellFormed, "character not allowed in XML");
        }
        pos_ = static_cast<std::size_t>(p - base);
        continue;
      }

      case State::Ref: {
        const unsigned char c = *p;
        switch (ref_kind_) {
          case kRefStart:
            if (c == '#') {
              ref_kind_ = kRefHash;
              ref_value_ = 0;
              ref_digits_ = false;
              ++pos_;
            } else if (is(c, kNameStart) && c != ':') {
              ref_kind_ = kRefName;
              name_begin_ = pos_;
              if (c >= 0x80) {
                if (!consume_utf8(p, e)) return fail(StreamError::NotWellFormed, "invalid UTF-8");
                pos_ = static_cast<std::size_t>(p - base);
              } else {
                ++pos_;
              }
            } else {
              return fail(StreamError::NotWellFormed, "'&' not followed by a reference");
            }
            continue;
          case kRefName: {
            p = skip_name(p, e);
            if (p < e && *p >= 0x80) {
              if (!consume_utf8(p, e)) return fail(StreamError::NotWellFormed, "invalid UTF-8");
              pos_ = static_cast<std::size_t>(p - base);
              continue;
            }
            pos_ = static_cast<std::size_t>(p - base);
            if (p == e) continue;
            if (*p != ';') return fail(StreamError::NotWellFormed, "entity reference without ';'");
            std::string_view name(reinterpret_cast<const char*>(base) + name_begin_,
                                  pos_ - name_begin_);
            ++pos_;
            if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") {
              state_ = ref_in_attr_ ? State::AttrValue : State::Text;
              bracket_run_ = 0;
              continue;
            }
            if (detail::is_qname(name) || name.find(':') != std::string_view::npos) {
              // RFC 6120 §11.1: no entity references but the five predefined ones.
              return fail(StreamError::RestrictedXml,
                          "entity reference &" + std::string(name) + ";");
            }
            return fail(StreamError::NotWellFormed, "invalid entity reference");
          }
          case kRefHash:
            if (c == 'x') {
              ref_kind_ = kRefHex;
              ++pos_;
            } else if (c >= '0' && c <= '9') {
              ref_kind_ = kRefDec;
            } else {
              return fail(StreamError::NotWellFormed, "invalid character reference");
            }
            continue;
          case kRefDec:
          case kRefHex: {
            const bool hex = ref_kind_ == kRefHex;
            while (p < e) {
              const unsigned char d = *p;
              std::uint32_t v;
              if (d >= '0' && d <= '9') {
                v = d - '0';
              } else if (hex && d >= 'a' && d <= 'f') {
                v = d - 'a' + 10u;
              } else if (hex && d >= 'A' && d <= 'F') {
                v = d - 'A' + 10u;
              } else {
                break;
              }
              ref_value_ = std::min<std::uint32_t>(ref_value_ * (hex ? 16u : 10u) + v, 0x110000u);
              ref_digits_ = true;
              ++p;
            }
            pos_ = static_cast<std::size_t>(p - base);
            if (p == e) continue;
            if (*p != ';' || !ref_digits_) {
              return fail(StreamError::NotWellFormed, "invalid character reference");
            }
            if (!detail::is_xml_char(ref_value_)) {
              return fail(StreamError::NotWellFormed,
                          "character reference to a character XML forbids");
            }
            ++pos_;
            state_ = ref_in_attr_ ? State::AttrValue : State::Text;
            bracket_run_ = 0;
            continue;
          }
          default:
            return fail(StreamError::InternalServerError, "parser state");
        }
      }

      case State::StreamText:
        return fail(StreamError::BadFormat, "character data at stream level");

      case State::Closed:
      case State::Failed:
        return {};
    }
  }
}

StreamParser::Event StreamParser::finish_header(bool empty_tag) {
  // Parse the start tag with pugixml as an empty element, then read its raw attributes.
  std::string tag = buf_.substr(tag_begin_, pos_ - tag_begin_);
  if (!empty_tag) tag.insert(tag.size() - 1, "/");
  pugi::xml_document doc;
  auto result = doc.load_buffer_inplace(tag.data(), tag.size(), kPugiOptions, pugi::encoding_utf8);
  if (!result)
    return fail(StreamError::NotWellFormed, "stream header: " + std::string(result.description()));
  pugi::xml_node root = doc.document_element();

  StreamHeader header;
  for (pugi::xml_attribute a = root.first_attribute(); a; a = a.next_attribute()) {
    std::string_view name = a.name();
    for (pugi::xml_attribute b = a.next_attribute(); b; b = b.next_attribute()) {
      if (name == b.name()) {
        return fail(StreamError::NotWellFormed,
                    "duplicate attribute '" + std::string(name) + "' on the stream header");
      }
    }
    if (name == "xmlns" || name.substr(0, 6) == "xmlns:") {
      const bool is_default = name == "xmlns";
      std::string_view prefix = is_default ? std::string_view{} : name.substr(6);
      if (auto err = detail::check_declaration(prefix, a.value(), is_default)) {
        return fail(err->condition, err->text);
      }
      header.namespaces.emplace_back(prefix, a.value());
    } else {
      header.attributes.emplace_back(name, a.value());
    }
  }
  auto bound = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (prefix == "xml") return ns::kXml;
    return header.namespace_of(prefix);
  };
  // Namespaces in XML §6.3: attributes bound, and distinct by expanded name.
  std::vector<std::pair<std::string_view, std::string_view>> expanded;
  for (const auto& [name, value] : header.attributes) {
    const std::string_view qname_view(name);
    const auto colon = qname_view.find(':');
    if (colon == std::string_view::npos) {
      expanded.emplace_back(std::string_view{}, qname_view);
      continue;
    }
    auto uri = bound(qname_view.substr(0, colon));
    if (!uri) {
      return fail(StreamError::NotWellFormed,
                  "unbound namespace prefix on attribute '" + name + "'");
    }
    const std::pair<std::string_view, std::string_view> key{*uri, qname_view.substr(colon + 1)};
    if (std::find(expanded.begin(), expanded.end(), key) != expanded.end()) {
      return fail(StreamError::NotWellFormed,
                  "attribute '" + name + "' duplicates another by namespace on the stream header");
    }
    expanded.push_back(key);
  }

  // RFC 6120 §4.8.1, §4.8.5, §11.2: the root is <stream/> in the stream namespace, with a prefix.
  std::string_view qname = root.name();
  auto colon = qname.find(':');
  if (colon == std::string_view::npos) {
    if (header.namespace_of("") == ns::kStream) {
      return fail(StreamError::BadNamespacePrefix, "the stream element needs a namespace prefix");
    }
    return fail(StreamError::InvalidNamespace, "the stream element is not in the stream namespace");
  }
  std::string_view prefix = qname.substr(0, colon);
  auto stream_ns = bound(prefix);
  if (!stream_ns) {
    return fail(StreamError::BadNamespacePrefix,
                "namespace prefix '" + std::string(prefix) + "' is not declared");
  }
  if (*stream_ns != ns::kStream) {
    return fail(StreamError::InvalidNamespace, "stream namespace '" + std::string(*stream_ns) +
                                                   "' is not " + std::string(ns::kStream));
  }
  if (qname.substr(colon + 1) != "stream") {
    return fail(StreamError::BadFormat, "the root element must be <stream/>");
  }
  if (auto content = header.namespace_of("")) {
    const auto& allowed = options_.content_namespaces;
    if (*content == ns::kStream || (!allowed.empty() && std::find(allowed.begin(), allowed.end(),
                                                                  *content) == allowed.end())) {
      return fail(StreamError::InvalidNamespace,
                  "content namespace '" + std::string(*content) + "' is not supported here");
    }
    header.content_namespace = *content;
  }
  header.prefix = prefix;

  header_ = std::move(header);
  header_scope_.clear();
  for (const auto& [p, uri] : header_.namespaces) header_scope_.push_back({p, uri});

  consumed_ = pos_;
  text_run_ = 0;
  context_ = Context::Stream;
  state_ = State::Between;
  pending_close_ = empty_tag;
  Event ev;
  ev.type = EventType::StreamOpened;
  return ev;
}

StreamParser::Event StreamParser::finish_element() {
  const std::size_t len = pos_ - element_begin_;
  auto bytes = std::make_unique_for_overwrite<char[]>(len);
  std::memcpy(bytes.get(), buf_.data() + element_begin_, len);
  Event ev;
  ev.type = EventType::Element;
  pugi::xml_document& doc = ev.element.pugi_document();
  auto result = doc.load_buffer_inplace(
      bytes.get(), len, attr_whitespace_ ? kPugiOptions : kPugiOptionsNoAttrWhitespace,
      pugi::encoding_utf8);
  ev.element.adopt_buffer(std::move(bytes));
  if (!result) {
    // The scanner accepted what pugixml did not: a bug in one of them, never the peer's fault.
    return fail(StreamError::InternalServerError,
                std::string("XML parser: ") + result.description());
  }
  if (auto err = detail::canonicalize(doc.document_element(), header_scope_, saw_cdata_)) {
    return fail(err->condition, err->text);
  }
  consumed_ = pos_;
  text_run_ = 0;
  context_ = Context::Stream;
  state_ = State::Between;
  return ev;
}

}  // namespace parley::xml
