// Serialisation of element trees and stream headers (RFC 6120 §4.7, §11).
//
// Text and attribute values are escaped so that parse(serialise(tree)) gives back the same tree:
// '&', '<', '>' and quotes as entities, and CR, TAB, LF in attribute values (CR in text) as
// character references, which XML's end-of-line and attribute-value normalisation would otherwise
// change. A namespace is declared only on the elements where it differs from the parent's.
#pragma once

#include <string>
#include <string_view>

#include "xml/element.hpp"
#include "xml/stream_header.hpp"

namespace parley::xml {

// What the stream an element is written into has declared on its header.
struct WriteContext {
  // Default namespace of the stream ("" when none). Elements in it are written without xmlns.
  std::string_view content_namespace;
  // Prefix bound to the stream namespace on the header; elements in the stream namespace (features,
  // error) are written with it. "" writes them with an xmlns declaration instead.
  std::string_view stream_prefix;
  // When true, a top-level element in jabber:client or jabber:server is written in
  // content_namespace: a stanza keeps its meaning when it crosses from a c2s to an s2s stream.
  bool remap_stanza_namespace = false;
};

// Appends the element, as a top-level element of a stream with this context.
void write_element(std::string& out, Element e, const WriteContext& context);
// The element as a standalone document fragment: the root always declares its namespace.
std::string serialize(Element e);

// "<?xml version='1.0'?><stream:stream ...>" with the header's declarations and attributes.
void write_stream_header(std::string& out, const StreamHeader& header, bool xml_declaration = true);
// "</stream:stream>" with the header's prefix.
void write_stream_close(std::string& out, const StreamHeader& header);

void escape_text(std::string& out, std::string_view text);
void escape_attribute(std::string& out, std::string_view value);

}  // namespace parley::xml
