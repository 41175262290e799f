// Shared helpers for the xml/ unit tests: run a StreamParser over some chunking of an input and
// record its events, compare event sequences, parse a single element, and the sample streams.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.hpp"
#include "xml/namespaces.hpp"
#include "xml/stream_error.hpp"
#include "xml/stream_header.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace parley::xml::test {

using EventType = StreamParser::EventType;

inline constexpr std::string_view kClientHeader =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "to='example.com' version='1.0'>";
inline constexpr std::string_view kServerHeader =
    "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
    "xmlns:db='jabber:server:dialback' from='a.example' to='b.example' version='1.0'>";
// Prefix-free canonicalisation (RFC 6120 §4.8.2): no default namespace on the header.
inline constexpr std::string_view kPrefixFreeHeader =
    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
    "version='1.0'>";

// One event as recorded by run().
struct Recorded {
  EventType type = EventType::NeedMore;
  std::string xml;      // Element: serialize(root)
  Document doc;         // Element
  StreamHeader header;  // StreamOpened: a copy of header()
  StreamError error{};  // Error
};

inline const char* type_name(EventType t) {
  switch (t) {
    case EventType::NeedMore:
      return "NeedMore";
    case EventType::StreamOpened:
      return "StreamOpened";
    case EventType::Element:
      return "Element";
    case EventType::StreamClosed:
      return "StreamClosed";
    case EventType::Error:
      return "Error";
  }
  return "?";
}

inline std::string describe(const StreamHeader& h) {
  std::string s = "prefix=" + h.prefix + " content=" + h.content_namespace + " ns=[";
  for (const auto& [p, u] : h.namespaces) s += p + "=" + u + ";";
  s += "] attrs=[";
  for (const auto& [n, v] : h.attributes) s += n + "=" + v + ";";
  return s + "]";
}

inline std::string describe(const Recorded& r) {
  std::string s = type_name(r.type);
  switch (r.type) {
    case EventType::Element:
      return s + " " + r.xml;
    case EventType::StreamOpened:
      return s + " " + describe(r.header);
    case EventType::Error:
      return s + " " + std::string(to_string(r.error));
    default:
      return s;
  }
}

inline std::string describe(const std::vector<Recorded>& events) {
  std::string s;
  for (const auto& r : events) s += "  " + describe(r) + "\n";
  return s;
}

inline bool same_header(const StreamHeader& a, const StreamHeader& b) {
  return a.prefix == b.prefix && a.content_namespace == b.content_namespace &&
         a.namespaces == b.namespaces && a.attributes == b.attributes;
}

// Drains next() until NeedMore. Records every event but NeedMore; an Error is recorded once, and
// the parser must then keep returning the same Error.
inline void drain(StreamParser& p, std::vector<Recorded>& out) {
  for (int guard = 0; guard < 100000; ++guard) {
    if (!out.empty() && out.back().type == EventType::Error) {
      StreamParser::Event again = p.next();
      if (again.type != EventType::Error || again.error != out.back().error) {
        ADD_FAILURE() << "after an Error, next() returned " << type_name(again.type) << " "
                      << to_string(again.error);
      }
      return;
    }
    StreamParser::Event ev = p.next();
    if (ev.type == EventType::NeedMore) return;
    Recorded r;
    r.type = ev.type;
    switch (ev.type) {
      case EventType::Element:
        r.xml = serialize(ev.element.root());
        r.doc = std::move(ev.element);
        break;
      case EventType::StreamOpened:
        r.header = p.header();
        break;
      case EventType::Error:
        r.error = ev.error;
        break;
      default:
        break;
    }
    out.push_back(std::move(r));
  }
  ADD_FAILURE() << "next() never returned NeedMore";
}

// Feeds the chunks one after the other, draining next() after each.
inline std::vector<Recorded> run_chunks(const std::vector<std::string_view>& chunks,
                                        const ParserOptions& options = {}) {
  StreamParser p(options);
  std::vector<Recorded> out;
  for (std::string_view c : chunks) {
    p.feed(c);
    drain(p, out);
  }
  drain(p, out);
  return out;
}

inline std::vector<Recorded> run_whole(std::string_view input, const ParserOptions& options = {}) {
  return run_chunks({input}, options);
}

inline std::vector<Recorded> run_bytewise(std::string_view input,
                                          const ParserOptions& options = {}) {
  std::vector<std::string_view> chunks;
  for (std::size_t i = 0; i < input.size(); ++i) chunks.push_back(input.substr(i, 1));
  return run_chunks(chunks, options);
}

inline std::vector<Recorded> run_split(std::string_view input, std::size_t at,
                                       const ParserOptions& options = {}) {
  return run_chunks({input.substr(0, at), input.substr(at)}, options);
}

// Whether two event sequences are the same: types, serialised and deep_equal elements, headers,
// error conditions.
inline ::testing::AssertionResult same_events(const std::vector<Recorded>& expected,
                                              const std::vector<Recorded>& actual) {
  auto fail = [&](const std::string& why) {
    return ::testing::AssertionFailure() << why << "\nexpected:\n"
                                         << describe(expected) << "actual:\n"
                                         << describe(actual);
  };
  if (expected.size() != actual.size()) return fail("different number of events");
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Recorded& a = expected[i];
    const Recorded& b = actual[i];
    const std::string at = "event " + std::to_string(i) + ": ";
    if (a.type != b.type) return fail(at + "different types");
    switch (a.type) {
      case EventType::Element:
        if (a.xml != b.xml) return fail(at + "different serialisation");
        if (!deep_equal(a.doc.root(), b.doc.root())) return fail(at + "not deep_equal");
        break;
      case EventType::StreamOpened:
        if (!same_header(a.header, b.header)) return fail(at + "different headers");
        break;
      case EventType::Error:
        if (a.error != b.error) return fail(at + "different error conditions");
        break;
      default:
        break;
    }
  }
  return ::testing::AssertionSuccess();
}

inline std::size_t count_elements(const std::vector<Recorded>& events) {
  std::size_t n = 0;
  for (const auto& r : events) n += r.type == EventType::Element ? 1 : 0;
  return n;
}

// Parses one element, sent as the only element of a stream with this header; a null Document (and
// a test failure) when the parser does not produce exactly that.
inline Document parse_element(std::string_view xml, std::string_view header = kPrefixFreeHeader) {
  StreamParser p;
  p.feed(header);
  p.feed(xml);
  StreamParser::Event ev = p.next();
  if (ev.type != EventType::StreamOpened) {
    ADD_FAILURE() << "header: " << type_name(ev.type) << " " << to_string(ev.error) << " "
                  << ev.error_text;
    return {};
  }
  ev = p.next();
  if (ev.type != EventType::Element) {
    ADD_FAILURE() << "element " << xml << ": " << type_name(ev.type) << " " << to_string(ev.error)
                  << " " << ev.error_text;
    return {};
  }
  StreamParser::Event after = p.next();
  if (after.type != EventType::NeedMore) {
    ADD_FAILURE() << "element " << xml << " is followed by " << type_name(after.type);
  }
  return std::move(ev.element);
}

// parse(serialize(e)): serialise the element and parse it back as a standalone element.
inline Document reparse(Element e) { return parse_element(serialize(e)); }

// --- Sample streams ---------------------------------------------------------------------------

// A long text of mixed 1- to 4-byte UTF-8 characters (makes the stream long enough for the
// parser's buffer compaction to happen while a stanza is being framed).
inline std::string long_text() {
  std::string s;
  for (int i = 0; i < 60; ++i) s += "lorem ipsum é 日本 😀 &amp; ";
  return s;
}

// A client stream of 25 varied stanzas, whitespace keepalives and a closing tag.
inline std::string sample_client_stream() {
  std::string s;
  s += "<?xml version='1.0' encoding='UTF-8'?>\n";
  s += "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
       "to='example.com' version='1.0' xml:lang='en'>";
  s += "\n  ";
  // 1: 2-, 3- and 4-byte UTF-8, xml:lang
  s += "<message from='juliet@example.com/balcony' to='romeo@example.net' type='chat' id='m1' "
       "xml:lang='fr'><body>Café crème, 日本語のテキスト, emoji 😀👍 and ß</body>"
       "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>";
  s += "\n";
  // 2: the five predefined entities
  s += "<message to='romeo@example.net' id='m2'><body>Fish &amp; chips &lt;b&gt; "
       "&quot;quoted&quot; &apos;single&apos;</body></message>";
  // 3: decimal and hex character references
  s += "<message to='romeo@example.net' id='m3'><body>&#72;&#105; &#x263A; &#xe9;&#233; "
       "&#x1F600; &#128512;</body><subject>Tab&#9;and&#x0A;newline</subject></message>";
  // 4: CDATA sections, adjacent to each other and to text
  s += "<message id='m4' type='groupchat'><body><![CDATA[<b>not markup</b> & ]] > ]]>"
       "<![CDATA[ second ]]>tail &amp; more</body></message>";
  // 5: presence with caps and xml:lang
  s += "<presence xml:lang='de'><show>away</show><status>Bin weg – zurück später</status>"
       "<status xml:lang='ja'>留守</status><priority>5</priority>"
       "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org/client' "
       "ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>";
  s += "\n\n\t  ";
  // 6: disco
  s += "<iq type='get' id='disco1' to='example.com'>"
       "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>";
  // 7: prefixed element, unprefixed child, prefixed attribute declared on an ancestor
  s += "<iq type='set' id='x1'><x:foo xmlns:x='urn:x'><bar>in client ns</bar>"
       "<x:baz x:attr='1' plain='2'/></x:foo></iq>";
  // 8: prefixed attribute
  s += "<message id='pa'><a xmlns:p='urn:p' p:attr='v' attr='w'/></message>";
  // 9: xmlns='' undeclaration
  s += "<iq type='result' id='u1'><query xmlns='urn:q'><item xmlns=''><sub>no namespace</sub>"
       "</item><item2/></query></iq>";
  // 10: roster result
  s += "<iq type='result' id='roster1' to='juliet@example.com/balcony'>"
       "<query xmlns='jabber:iq:roster' ver='ver11'>"
       "<item jid='romeo@example.net' name='Romeo &amp; Co' subscription='both'>"
       "<group>Friends</group><group>Lovers</group></item>"
       "<item jid='mercutio@example.com' name='Mercutio' subscription='from'/>"
       "<item jid='benvolio@example.net' name=\"Benvolio 'Ben'\" subscription='none' "
       "ask='subscribe'><group>Friends</group></item></query></iq>";
  // 11: an empty-element stanza
  s += "<presence/>";
  s += " ";
  // 12: a nonza in another namespace
  s += "<r xmlns='urn:xmpp:sm:3'/>";
  // 13: deep-ish nesting with namespace changes
  s += "<iq type='set' id='deep'><l1 xmlns='urn:deep'><l2><l3 xmlns='urn:deep:3'><l4><l5>"
       "<l6 xmlns='urn:deep'><l7><l8><l9><l10>bottom</l10></l9></l8></l7></l6></l5></l4></l3>"
       "</l2></l1></iq>";
  // 14: whitespace inside tags, double quotes, CR LF and CR in text
  s += "<message\n   to = \"romeo@example.net\"\n\ttype='normal'\n   id='ws'\n>"
       "<body\n>text with\r\nCRLF and\rCR</body\n></message\n>";
  // 15: non-ASCII attribute values
  s += "<message to='日本@example.jp' from='ümlaut@example.de/📱' id='m15'>"
       "<body>attr utf8</body></message>";
  // 16: non-ASCII element name and namespace
  s += "<iq type='result' id='nm'><résumé xmlns='urn:example:ü'>x</résumé></iq>";
  // 17: XHTML-IM, mixed content
  s += "<message id='m17'><body>hi</body><html xmlns='http://jabber.org/protocol/xhtml-im'>"
       "<body xmlns='http://www.w3.org/1999/xhtml'><p style='font-weight:bold'>hi <em>there</em>!"
       "</p></body></html></message>";
  // 18: pubsub
  s += "<iq type='set' id='pub1'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
       "<publish node='urn:xmpp:avatar:metadata'><item id='abc'>"
       "<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='12345' id='abc' type='image/png'/>"
       "</metadata></item></publish></pubsub></iq>";
  s += "\r\n";
  // 19: ping
  s += "<iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>";
  // 20: subscription request
  s += "<presence to='romeo@example.net' type='subscribe'/>";
  // 21: references and literal whitespace in attribute values
  s += "<message id='a&amp;b&#x27;c&#39;' type=\"chat\" title='tab\there\nnewline\r\nend' "
       "lf='x&#10;y&#9;z&#13;'><body xml:lang='en-GB'>refs in attributes</body></message>";
  // 22: a long body
  s += "<message id='long'><body>" + long_text() + "</body></message>";
  // 23: ']]' and '>' in text
  s += "<message id='m23'><body>]] and ]> and > alone]]</body></message>";
  // 24: resource binding
  s += "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
       "<resource>balcony</resource></bind></iq>";
  // 25: an empty child
  s += "<message id='last'><body/></message>";
  s += "\n";
  s += "</stream:stream>";
  return s;
}
inline constexpr std::size_t kSampleClientStanzas = 25;

// A server-to-server stream with a byte order mark, dialback and the stream prefix on an element.
inline std::string sample_server_stream() {
  std::string s = "\xEF\xBB\xBF<?xml version=\"1.0\" standalone='yes'?>";
  s += kServerHeader;
  s += "<db:result from='a.example' to='b.example'>"
       "b4835385f37fe2895af6c196b59097b16862406db80559900d596f18b3b3d71f</db:result>\n";
  s += "<db:verify from='b.example' to='a.example' id='417GAF25' type='valid'/>";
  s += "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
       "</starttls></stream:features>";
  s += "<message from='juliet@a.example' to='romeo@b.example'><body>s2s é</body></message>";
  s += "</stream:stream >";
  return s;
}

// A prefix-free stream: the stanzas declare their namespace themselves.
inline std::string sample_prefix_free_stream() {
  std::string s(kPrefixFreeHeader);
  s += "<message xmlns='jabber:client' to='x@example.com'><body>hi</body></message> ";
  s += "<iq xmlns='jabber:client' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>";
  s += "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
       "</stream:error>";
  s += "</stream:stream>";
  return s;
}

}  // namespace parley::xml::test
