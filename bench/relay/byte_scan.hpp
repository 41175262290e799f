// Byte-level scanning of an XMPP stream for parley-relay: where the stream header and each
// top-level element end, an attribute's raw value, an element's text. No XML parser, no
// unescaping, no namespace processing: enough for the fixed shapes parley-load sends (RFC 6120
// §4.2 header, §4.8 top-level elements), not for arbitrary XMPP.
//
// Limits (a benchmark ceiling, not an XMPP server):
//  - an element ends at the first "</NAME>" after its start tag: an element nested in itself,
//    or "</NAME>" inside a comment or CDATA, ends it early; "</NAME >" is not recognised;
//  - no comments, CDATA or text at the top level (whitespace between elements is skipped);
//  - names are compared as bytes, prefixes included ("<cli:message" is not "message");
//  - attribute values come back as they are on the wire (entities not expanded).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace parley::relay {

enum class ScanResult {
  NeedMore,   // no complete element yet: read more bytes
  Element,    // a complete top-level element
  StreamEnd,  // </stream:stream>
  Malformed,  // something no scan here understands
};

struct TopLevel {
  ScanResult result = ScanResult::NeedMore;
  std::string_view name;       // element name as written ("message", "stream:features")
  std::string_view start_tag;  // "<message ...>" or "<presence/>"
  std::string_view bytes;      // the whole element, start tag to end tag
  bool empty = false;          // self-closing start tag
  // Bytes of the input this result accounts for (leading whitespace included). For NeedMore:
  // the whitespace that can be dropped.
  std::size_t consumed = 0;
};

// The next top-level element of `in` after optional whitespace.
TopLevel scan_top_level(std::string_view in);

// The stream header (RFC 6120 §4.7) at the start of `in`, after optional whitespace and an XML
// declaration: result Element with name "stream:stream" (or whatever prefix the peer uses) and
// its start tag; NeedMore until its '>' has arrived.
TopLevel scan_stream_header(std::string_view in);

struct AttrValue {
  std::string_view value;  // raw, as on the wire
  char quote = '\'';       // the quote it was written with, to re-emit it unchanged
};

// The attribute `name` of a start tag ("<iq type='get' id='x'>"); nullopt when absent.
std::optional<AttrValue> find_attr(std::string_view start_tag, std::string_view name);

// The raw content between a complete element's start tag and its end tag ("" if empty).
std::string_view inner_of(const TopLevel& element);

// The raw text of the first child element `name` anywhere inside `content` ("<resource>x<"):
// nullopt when there is none, "" when it is empty.
std::optional<std::string_view> child_text(std::string_view content, std::string_view name);

}  // namespace parley::relay
