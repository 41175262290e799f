// Incremental parser for XMPP XML streams (RFC 6120 §4, §11).
//
// Bytes go in with feed() in any chunking; next() hands out events one at a time. A fast scanner
// checks well-formedness, RFC 6120 §11's restrictions and the limits byte by byte, and frames each
// complete top-level element; only then does pugixml parse that range in place, and the tree is put
// into the canonical, namespace-resolved form of element.hpp. The events are exactly the same for
// every way of chunking the same bytes, errors included.
//
// Memory: the parser holds at most the element being framed (bounded by max_element_bytes) plus
// whatever was fed and not yet consumed by next(); drain next() until NeedMore after each feed().
//
// Thread-safety: none; one parser per stream, used from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xml/canonicalize.hpp"
#include "xml/element.hpp"
#include "xml/stream_error.hpp"
#include "xml/stream_header.hpp"

namespace parley::xml {

struct ParserLimits {
  // Bytes of one top-level element from its '<' to its final '>' (→ policy-violation).
  std::size_t max_element_bytes = 256 * 1024;
  // Nesting depth inside a top-level element; the top-level element itself is depth 1
  // (→ policy-violation).
  std::size_t max_depth = 64;
  // Attributes on one element, namespace declarations included (→ policy-violation).
  std::size_t max_attributes = 64;
  // Bytes of character data (whitespace keepalives) between two top-level elements, or between
  // the stream header and the first one (→ policy-violation).
  std::size_t max_text_between_elements = 1024 * 1024;
  // Bytes of the XML declaration and the stream header together (→ policy-violation).
  std::size_t max_header_bytes = 16 * 1024;
};

struct ParserOptions {
  ParserLimits limits;
  // Default namespaces accepted on the stream header (→ invalid-namespace otherwise). Empty: any
  // namespace other than the stream namespace.
  std::vector<std::string> content_namespaces = {"jabber:client", "jabber:server"};
};

class StreamParser {
 public:
  enum class EventType {
    NeedMore,      // nothing complete is buffered: feed more bytes
    StreamOpened,  // the stream header arrived: see header()
    Element,       // one complete top-level element: Event::element
    StreamClosed,  // </stream:stream> arrived; later bytes are ignored
    Error,         // the stream is broken: Event::error; the parser stays in this state
  };
  struct Event {
    EventType type = EventType::NeedMore;
    Document element;        // EventType::Element
    StreamError error{};     // EventType::Error
    std::string error_text;  // EventType::Error: what was wrong, for logs and <text/>
  };

  explicit StreamParser(ParserOptions options = {});

  // Appends bytes to the input. Cheap; the work happens in next().
  void feed(std::string_view bytes);
  // When every byte fed has been consumed, frees the input buffer: a connection waiting for
  // input then holds no room for it.
  void release_idle_buffer();
  // The next event, or NeedMore when the input buffered so far holds no complete one.
  Event next();
  // Forget everything: expect a new stream header. Bytes fed but not yet consumed are discarded
  // (RFC 6120 §5.4.3.3, §6.4.6: a stream restart after STARTTLS or SASL).
  void reset();

  // The header of the current stream; valid after StreamOpened.
  const StreamHeader& header() const { return header_; }
  const ParserOptions& options() const { return options_; }
  // Bytes fed and held by the parser right now.
  std::size_t buffered() const { return buf_.size() - consumed_; }

 private:
  enum class State : std::uint8_t;
  enum class Context : std::uint8_t { Prolog, Header, Stream, Element };
  struct OpenTag {
    std::uint32_t name_begin;  // offset from element_begin_
    std::uint32_t name_len;
  };

  Event fail(StreamError condition, std::string text);
  Event scan();
  bool consume_utf8(const unsigned char*& p, const unsigned char* end);
  Event finish_header(bool empty_tag);
  Event finish_element();

  ParserOptions options_;
  StreamHeader header_;
  std::vector<detail::NsBinding> header_scope_;  // views into header_
  std::string buf_;
  std::size_t consumed_ = 0;       // bytes of buf_ fully handled (may be dropped)
  std::size_t pos_ = 0;            // scan position in buf_
  std::size_t element_begin_ = 0;  // '<' of the top-level element being framed
  std::size_t tag_begin_ = 0;      // '<' of the tag being scanned
  std::size_t name_begin_ = 0;     // first byte of the name or entity reference being scanned
  std::size_t text_run_ = 0;       // bytes of text since the last top-level element
  std::size_t attr_count_ = 0;     // attributes on the tag being scanned
  std::uint32_t utf8_cp_ = 0;      // code point being decoded
  std::uint32_t utf8_min_ = 0;     // smallest code point allowed for the sequence's length
  std::uint32_t ref_value_ = 0;    // value of the character reference being scanned
  State state_;
  Context context_ = Context::Prolog;
  std::uint8_t utf8_need_ = 0;    // continuation bytes still expected
  std::uint8_t bracket_run_ = 0;  // consecutive ']' in text or CDATA (for "]]>")
  std::uint8_t ref_kind_ = 0;     // where in an entity or character reference the scanner is
  bool ref_in_attr_ = false;      // the reference is in an attribute value (else in text)
  bool ref_digits_ = false;       // the character reference has a digit
  char quote_ = 0;                // quote of the attribute value being scanned
  bool saw_cdata_ = false;        // current element has CDATA (its texts need merging)
  bool attr_whitespace_ = false;  // current element has TAB, LF or CR in an attribute value
  bool bom_checked_ = false;
  bool pending_close_ = false;  // the header was <stream:stream/>: StreamClosed is next
  std::vector<OpenTag> open_;
  std::string stream_qname_;
  StreamError error_ = StreamError::UndefinedCondition;
  std::string error_text_;
};

}  // namespace parley::xml
