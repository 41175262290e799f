#include "xml/writer.hpp"

#include <array>
#include <cstring>

#include "xml/namespaces.hpp"

namespace parley::xml {
namespace {

enum : std::uint8_t { kEscText = 1, kEscAttr = 2 };

constexpr std::array<std::uint8_t, 256> make_escapes() {
  std::array<std::uint8_t, 256> t{};
  t['&'] = t['<'] = t['>'] = kEscText | kEscAttr;
  t['\r'] = kEscText | kEscAttr;
  t['\''] = t['"'] = t['\t'] = t['\n'] = kEscAttr;
  return t;
}
constexpr std::array<std::uint8_t, 256> kEscapes = make_escapes();

void escape(std::string& out, std::string_view s, std::uint8_t cls) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((kEscapes[c] & cls) == 0) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        break;
    }
  }
  out.append(s.data() + run, s.size() - run);
}

const char* own_ns(pugi::xml_node n) {
  for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
    const char* name = a.name();
    if (name[0] == 'x' && std::strcmp(name, "xmlns") == 0) return a.value();
  }
  return nullptr;
}

void append_attr(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "='";
  escape_attribute(out, value);
  out += '\'';
}

// Writes element n, which is in namespace `actual`, as an element of namespace `written` (they
// differ when a stanza is remapped between jabber:client and jabber:server), with `prefix` (the
// stream prefix, or none); `scope_default` is the default namespace in scope in the output.
void write_node(std::string& out, pugi::xml_node n, std::string_view actual,
                std::string_view written, std::string_view scope_default, std::string_view prefix) {
  // The XML namespace can only be written with its own prefix (Namespaces in XML §3).
  if (prefix.empty() && written == ns::kXml) prefix = "xml";
  out += '<';
  if (!prefix.empty()) {
    out += prefix;
    out += ':';
  }
  const char* name = n.name();
  out += name;
  std::string_view child_scope = scope_default;
  if (prefix.empty()) {
    if (written != scope_default) append_attr(out, "xmlns", written);
    child_scope = written;
  }
  for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
    if (std::strcmp(a.name(), "xmlns") == 0) continue;
    append_attr(out, a.name(), a.value());
  }
  pugi::xml_node c = n.first_child();
  if (!c) {
    out += "/>";
    return;
  }
  out += '>';
  for (; c; c = c.next_sibling()) {
    switch (c.type()) {
      case pugi::node_element: {
        const char* own = own_ns(c);
        const std::string_view c_actual = own != nullptr ? std::string_view(own) : actual;
        const std::string_view c_written = c_actual == actual ? written : c_actual;
        write_node(out, c, c_actual, c_written, child_scope, {});
        break;
      }
      case pugi::node_pcdata:
      case pugi::node_cdata:
        escape_text(out, c.value());
        break;
      default:
        break;
    }
  }
  out += "</";
  if (!prefix.empty()) {
    out += prefix;
    out += ':';
  }
  out += name;
  out += '>';
}

}  // namespace

void escape_text(std::string& out, std::string_view text) { escape(out, text, kEscText); }
void escape_attribute(std::string& out, std::string_view value) { escape(out, value, kEscAttr); }

void write_element(std::string& out, Element e, const WriteContext& context) {
  if (!e) return;
  const std::string_view actual = e.ns();
  std::string_view written = actual;
  if (context.remap_stanza_namespace && !context.content_namespace.empty() &&
      (actual == ns::kClient || actual == ns::kServer)) {
    written = context.content_namespace;
  }
  std::string_view prefix;
  if (!context.stream_prefix.empty() && actual == ns::kStream) prefix = context.stream_prefix;
  write_node(out, e.node(), actual, written, context.content_namespace, prefix);
}

std::string serialize(Element e) {
  std::string out;
  if (!e) return out;
  const std::string_view actual = e.ns();
  // A scope no namespace equals, so that the root always declares its own (even xmlns='').
  write_node(out, e.node(), actual, actual, std::string_view("\x01"), {});
  return out;
}

void write_stream_header(std::string& out, const StreamHeader& header, bool xml_declaration) {
  if (xml_declaration) out += "<?xml version='1.0'?>";
  const std::string_view prefix =
      header.prefix.empty() ? std::string_view("stream") : std::string_view(header.prefix);
  out += '<';
  out += prefix;
  out += ":stream";
  if (!header.content_namespace.empty() && !header.namespace_of("")) {
    append_attr(out, "xmlns", header.content_namespace);
  }
  if (!header.namespace_of(prefix)) {
    append_attr(out, std::string("xmlns:") + std::string(prefix), ns::kStream);
  }
  for (const auto& [p, uri] : header.namespaces) {
    append_attr(out, p.empty() ? std::string("xmlns") : "xmlns:" + p, uri);
  }
  for (const auto& [name, value] : header.attributes) append_attr(out, name, value);
  out += '>';
}

void write_stream_close(std::string& out, const StreamHeader& header) {
  out += "</";
  out += header.prefix.empty() ? std::string_view("stream") : std::string_view(header.prefix);
  out += ":stream>";
}

}  // namespace parley::xml
