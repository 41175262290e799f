// StreamParser on well-formed input: the stream header, the edge cases XML and RFC 6120 allow, and
// reset(). Malformed input is in malformed_test.cpp, chunking in chunking_test.cpp.
#include "xml/stream_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/xml/test_util.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::xml {
namespace {

using test::EventType;

TEST(StreamParserSmoke, HeaderAndMessage) {
  StreamParser p;
  p.feed(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>"
      "<message to='a@b' type='chat'><body>hi &amp; bye</body></message></stream:stream>");
  auto ev = p.next();
  ASSERT_EQ(ev.type, StreamParser::EventType::StreamOpened) << ev.error_text;
  EXPECT_EQ(p.header().attr("to"), "example.com");
  EXPECT_EQ(p.header().content_namespace, ns::kClient);
  ev = p.next();
  ASSERT_EQ(ev.type, StreamParser::EventType::Element) << ev.error_text;
  Element m = ev.element.root();
  EXPECT_EQ(m.name(), "message");
  EXPECT_EQ(m.ns(), ns::kClient);
  EXPECT_EQ(m.child("body", ns::kClient).text(), "hi & bye");
  EXPECT_EQ(
      serialize(m),
      "<message xmlns='jabber:client' to='a@b' type='chat'><body>hi &amp; bye</body></message>");
  ev = p.next();
  EXPECT_EQ(ev.type, StreamParser::EventType::StreamClosed);
}

// An idle session frees the parser's input buffer before each wait for more bytes: in any
// chunking, doing so after every drain changes no event.
TEST(StreamParserMemory, ReleasingTheIdleBufferChangesNoEvent) {
  const std::string input =
      std::string(test::kClientHeader) +
      "<message to='a@b' type='chat'><body>hi &amp; bye</body></message>"
      "<presence><show>away</show></presence>  <iq type='get' id='1'><query xmlns='q'/></iq>"
      "</stream:stream>";
  const auto expected = test::run_whole(input);
  ASSERT_EQ(expected.size(), 5u) << test::describe(expected);
  for (std::size_t chunk : {1u, 2u, 7u, 64u}) {
    StreamParser p;
    std::vector<test::Recorded> got;
    for (std::size_t i = 0; i < input.size(); i += chunk) {
      p.feed(std::string_view(input).substr(i, chunk));
      test::drain(p, got);
      p.release_idle_buffer();
    }
    ASSERT_EQ(got.size(), expected.size()) << "chunk " << chunk << ": " << test::describe(got);
    for (std::size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].type, expected[k].type) << "chunk " << chunk << ", event " << k;
      EXPECT_EQ(got[k].xml, expected[k].xml) << "chunk " << chunk << ", event " << k;
    }
  }
}

// Runs a whole stream that must not fail; returns its events.
std::vector<test::Recorded> accept(std::string_view input, const ParserOptions& options = {}) {
  auto events = test::run_whole(input, options);
  for (const auto& e : events) {
    EXPECT_NE(e.type, EventType::Error) << "input: " << input << "\n" << test::describe(events);
  }
  return events;
}

// The one element of a jabber:client stream whose body is `stanza`.
Document client_element(std::string_view stanza) {
  return test::parse_element(stanza, test::kClientHeader);
}

std::string body_text(std::string_view body_content) {
  Document d = client_element("<message><body>" + std::string(body_content) + "</body></message>");
  if (!d) return "<parse failed>";
  return d.root().child("body", ns::kClient).text();
}

std::string attr_value(std::string_view quoted_value) {
  Document d = client_element("<message a=" + std::string(quoted_value) + "/>");
  if (!d) return "<parse failed>";
  return std::string(d.root().attr("a"));
}

// --- The stream header ----------------------------------------------------------------------

TEST(StreamHeaderTest, RecordsDeclarationsAndAttributesInOrder) {
  auto events = accept(
      "<?xml version='1.0'?><stream:stream from='juliet@im.example.com' to='im.example.com' "
      "version='1.0' xml:lang='en' xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'>");
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events[0].type, EventType::StreamOpened);
  const StreamHeader& h = events[0].header;
  EXPECT_EQ(h.prefix, "stream");
  EXPECT_EQ(h.content_namespace, ns::kClient);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(h.namespaces, (Pairs{{"", "jabber:client"}, {"stream", std::string(ns::kStream)}}));
  EXPECT_EQ(h.attributes, (Pairs{{"from", "juliet@im.example.com"},
                                 {"to", "im.example.com"},
                                 {"version", "1.0"},
                                 {"xml:lang", "en"}}));
  EXPECT_EQ(h.namespace_of("stream"), ns::kStream);
  EXPECT_EQ(h.namespace_of("db"), std::nullopt);
  EXPECT_EQ(h.find("id"), std::nullopt);
}

TEST(StreamHeaderTest, HeaderAttributeValuesAreUnescaped) {
  auto events = accept(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
      "to=\"it's &amp; &#x263A;\" id='a&#10;b\tc'>");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].header.attr("to"), "it's & ☺");
  EXPECT_EQ(events[0].header.attr("id"), "a\nb c");
}

// RFC 6120 §4.8.5: the prefix is not fixed; the closing tag must use the same one.
TEST(StreamHeaderTest, AnyPrefixBoundToTheStreamNamespaceIsAccepted) {
  auto events = accept(
      "<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams'>"
      "<s:features/><presence/></s:stream>");
  ASSERT_EQ(events.size(), 4u) << test::describe(events);
  EXPECT_EQ(events[0].header.prefix, "s");
  EXPECT_TRUE(events[1].doc.root().is("features", ns::kStream));
  EXPECT_TRUE(events[2].doc.root().is("presence", ns::kClient));
  EXPECT_EQ(events[3].type, EventType::StreamClosed);
}

// --- Prolog -----------------------------------------------------------------------------------

TEST(AcceptTest, ByteOrderMarkAtStart) {
  auto events = accept("\xEF\xBB\xBF<?xml version='1.0'?>" + std::string(test::kClientHeader));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::StreamOpened);
}

TEST(AcceptTest, ByteOrderMarkWithoutXmlDeclaration) {
  auto events = accept("\xEF\xBB\xBF" + std::string(test::kClientHeader));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::StreamOpened);
}

TEST(AcceptTest, NoXmlDeclarationAndWhitespaceBeforeHeader) {
  auto events = accept("\n \t" + std::string(test::kClientHeader));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::StreamOpened);
}

TEST(AcceptTest, XmlDeclarationWithUtf8EncodingInAnyCaseAndStandalone) {
  for (const char* decl : {
           "<?xml version='1.0' encoding='utf-8'?>",
           "<?xml version='1.0' encoding='UTF-8'?>",
           "<?xml version='1.0' encoding='Utf-8'?>",
           "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>",
           "<?xml version='1.0' standalone='no'?>",
           "<?xml version = '1.0'  encoding = 'uTf-8' ?>",
           "<?xml\nversion='1.0'\r\n?>",
       }) {
    auto events = accept(std::string(decl) + "\n" + std::string(test::kClientHeader));
    ASSERT_EQ(events.size(), 1u) << decl;
    EXPECT_EQ(events[0].type, EventType::StreamOpened) << decl;
  }
}

// --- Namespaces on the stream -------------------------------------------------------------------

// RFC 6120 §4.8.2: prefix-free canonicalisation.
TEST(AcceptTest, PrefixFreeStreamWhereStanzasDeclareTheirNamespace) {
  auto events = accept(test::sample_prefix_free_stream());
  ASSERT_EQ(events.size(), 5u) << test::describe(events);
  EXPECT_EQ(events[0].header.content_namespace, "");
  EXPECT_EQ(events[0].header.namespace_of(""), std::nullopt);
  EXPECT_TRUE(events[1].doc.root().is("message", ns::kClient));
  EXPECT_EQ(events[1].doc.root().child("body", ns::kClient).text(), "hi");
  EXPECT_TRUE(events[2].doc.root().is("iq", ns::kClient));
  EXPECT_TRUE(events[2].doc.root().child("ping", "urn:xmpp:ping"));
  Element error = events[3].doc.root();
  EXPECT_TRUE(error.is("error", ns::kStream));
  EXPECT_TRUE(error.child("not-well-formed", ns::kStreamErrors));
  EXPECT_EQ(events[4].type, EventType::StreamClosed);
}

TEST(AcceptTest, ServerStreamWithDialbackPrefix) {
  auto events = accept(test::sample_server_stream());
  ASSERT_EQ(events.size(), 6u) << test::describe(events);
  const StreamHeader& h = events[0].header;
  EXPECT_EQ(h.content_namespace, ns::kServer);
  EXPECT_EQ(h.namespace_of("db"), ns::kDialback);
  Element result = events[1].doc.root();
  EXPECT_EQ(result.name(), "result");
  EXPECT_EQ(result.ns(), ns::kDialback);
  EXPECT_TRUE(result.is("result", ns::kDialback));
  EXPECT_EQ(result.attr("from"), "a.example");
  EXPECT_EQ(result.text(), "b4835385f37fe2895af6c196b59097b16862406db80559900d596f18b3b3d71f");
  Element verify = events[2].doc.root();
  EXPECT_TRUE(verify.is("verify", ns::kDialback));
  EXPECT_EQ(verify.attr("type"), "valid");
  Element features = events[3].doc.root();
  EXPECT_TRUE(features.is("features", ns::kStream));
  EXPECT_TRUE(features.child("starttls", ns::kTls).child("required", ns::kTls));
  Element message = events[4].doc.root();
  EXPECT_TRUE(message.is("message", ns::kServer));
  EXPECT_EQ(message.child("body", ns::kServer).text(), "s2s é");
  EXPECT_EQ(events[5].type, EventType::StreamClosed);
}

// Namespaces in XML §3: the xml prefix MAY be declared, if bound to its own namespace.
TEST(AcceptTest, CorrectDeclarationOfXmlPrefix) {
  Document d =
      client_element("<message xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:lang='en'/>");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.root().lang(), "en");
}

// An empty ParserOptions::content_namespaces accepts any content namespace.
TEST(AcceptTest, AnyContentNamespaceWhenNoneConfigured) {
  ParserOptions o;
  o.content_namespaces.clear();
  auto events = accept(
      "<stream:stream xmlns='jabber:component:accept' "
      "xmlns:stream='http://etherx.jabber.org/streams'><handshake>x</handshake>",
      o);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].header.content_namespace, ns::kComponentAccept);
  EXPECT_TRUE(events[1].doc.root().is("handshake", ns::kComponentAccept));
}

// --- Character data ----------------------------------------------------------------------------

// XML 1.0 §2.4: only the sequence "]]>" is forbidden in content.
TEST(AcceptTest, BracketsWithoutGreaterThanInText) {
  EXPECT_EQ(body_text("a]]b"), "a]]b");
  EXPECT_EQ(body_text("]] >"), "]] >");
  EXPECT_EQ(body_text("]]]"), "]]]");
  EXPECT_EQ(body_text("]]&gt;"), "]]>");
  EXPECT_EQ(body_text("]&amp;]>"), "]&]>");
  EXPECT_EQ(body_text("]]<![CDATA[>]]>"), "]]>");
}

TEST(AcceptTest, GreaterThanInText) {
  EXPECT_EQ(body_text("a > b >> c"), "a > b >> c");
  EXPECT_EQ(body_text("]>"), "]>");
}

TEST(AcceptTest, CDataSectionsBecomeText) {
  EXPECT_EQ(body_text("<![CDATA[<&>]]>"), "<&>");
  EXPECT_EQ(body_text("a<![CDATA[]]>b"), "ab");
  EXPECT_EQ(body_text("<![CDATA[x]]]]><![CDATA[>]]>"), "x]]>");
  EXPECT_EQ(body_text("<![CDATA[]]]>"), "]");
}

TEST(AcceptTest, CharacterReferencesAtTheEdgesOfChar) {
  EXPECT_EQ(body_text("&#x10FFFF;"), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(body_text("&#1114111;"), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(body_text("&#9;"), "\t");
  EXPECT_EQ(body_text("&#xD7FF;&#xE000;&#xFFFD;&#x10000;"),
            "\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBD\xF0\x90\x80\x80");
  EXPECT_EQ(body_text("&#x0000041;&#00066;"), "AB");
  EXPECT_EQ(body_text("&#x20;&#xa;&#xA;"), " \n\n");
}

// XML 1.0 §2.2 allows DEL and the C1 controls (they are only discouraged).
TEST(AcceptTest, DelAndC1ControlsAreXmlCharacters) {
  EXPECT_EQ(body_text("a\x7F"
                      "b\xC2\x85"
                      "c"),
            "a\x7F"
            "b\xC2\x85"
            "c");
}

// XML 1.0 §2.11: CR LF and lone CR become LF; a character reference to CR is kept.
TEST(AcceptTest, LineEndsInTextAreNormalisedToLf) {
  EXPECT_EQ(body_text("a\r\nb"), "a\nb");
  EXPECT_EQ(body_text("a\rb"), "a\nb");
  EXPECT_EQ(body_text("a\r\r\nb"), "a\n\nb");
  EXPECT_EQ(body_text("a\n\rb"), "a\n\nb");
  EXPECT_EQ(body_text("a\r"), "a\n");
  EXPECT_EQ(body_text("a&#13;b"), "a\rb");
  EXPECT_EQ(body_text("a&#13;&#10;b"), "a\r\nb");
  EXPECT_EQ(body_text("<![CDATA[a\r\nb\rc]]>"), "a\nb\nc");
}

// --- Attributes ----------------------------------------------------------------------------------

TEST(AcceptTest, QuotesOfTheOtherKindInsideAttributeValues) {
  EXPECT_EQ(attr_value("\"it's\""), "it's");
  EXPECT_EQ(attr_value("'say \"hi\"'"), "say \"hi\"");
  EXPECT_EQ(attr_value("'&apos;&quot;'"), "'\"");
}

TEST(AcceptTest, ReferencesAndSpecialCharactersInAttributeValues) {
  EXPECT_EQ(attr_value("'&lt;&#60;&#x3c;'"), "<<<");
  EXPECT_EQ(attr_value("'a > b ]]> c'"), "a > b ]]> c");
  EXPECT_EQ(attr_value("'&amp;amp;'"), "&amp;");
  EXPECT_EQ(attr_value("'日本 😀'"), "日本 😀");
  EXPECT_EQ(attr_value("''"), "");
}

// XML 1.0 §3.3.3: each literal TAB, LF, CR (after line-end normalisation) becomes a space; a
// character reference to one is kept.
TEST(AcceptTest, AttributeValueWhitespaceIsNormalised) {
  EXPECT_EQ(attr_value("'a\tb'"), "a b");
  EXPECT_EQ(attr_value("'a\nb'"), "a b");
  EXPECT_EQ(attr_value("'a\r\nb'"), "a b");
  EXPECT_EQ(attr_value("'a\rb'"), "a b");
  EXPECT_EQ(attr_value("'  a  '"), "  a  ");  // CDATA-type attributes keep their spaces
  EXPECT_EQ(attr_value("'a&#10;b'"), "a\nb");
  EXPECT_EQ(attr_value("'a&#9;b'"), "a\tb");
  EXPECT_EQ(attr_value("'a&#13;b'"), "a\rb");
  EXPECT_EQ(attr_value("'a&#13;&#10;b'"), "a\r\nb");
}

TEST(AcceptTest, WhitespaceAroundEqualsAndInsideTags) {
  Document d =
      client_element("<message\n\tto = 'a'\r\n  type\t=\"chat\" ><body >x</body\n></message >");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.root().attr("to"), "a");
  EXPECT_EQ(d.root().attr("type"), "chat");
  EXPECT_EQ(d.root().child("body", ns::kClient).text(), "x");
}

// --- Stream level ------------------------------------------------------------------------------

TEST(AcceptTest, WhitespaceKeepalivesGiveNoEvents) {
  StreamParser p;
  p.feed(test::kClientHeader);
  EXPECT_EQ(p.next().type, EventType::StreamOpened);
  for (const char* ws : {" ", "\n", "\r\n", "\t  \n"}) {
    p.feed(ws);
    EXPECT_EQ(p.next().type, EventType::NeedMore);
    EXPECT_EQ(p.buffered(), 0u);
  }
  p.feed("<presence/>");
  EXPECT_EQ(p.next().type, EventType::Element);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(AcceptTest, PartialStanzaGivesNeedMoreUntilComplete) {
  StreamParser p;
  p.feed(test::kClientHeader);
  EXPECT_EQ(p.next().type, EventType::StreamOpened);
  p.feed("<message><body>hel");
  EXPECT_EQ(p.next().type, EventType::NeedMore);
  EXPECT_EQ(p.next().type, EventType::NeedMore);
  p.feed("lo</body></message");
  EXPECT_EQ(p.next().type, EventType::NeedMore);
  p.feed(">");
  auto ev = p.next();
  ASSERT_EQ(ev.type, EventType::Element) << ev.error_text;
  EXPECT_EQ(ev.element.root().child("body", ns::kClient).text(), "hello");
}

TEST(AcceptTest, WhitespaceBeforeGreaterThanInStreamClose) {
  for (const char* close : {"</stream:stream >", "</stream:stream\n\t\r\n>"}) {
    auto events = accept(std::string(test::kClientHeader) + "<presence/>" + close);
    ASSERT_EQ(events.size(), 3u) << close;
    EXPECT_EQ(events[2].type, EventType::StreamClosed) << close;
  }
}

TEST(AcceptTest, SelfClosedHeaderOpensThenClosesTheStream) {
  StreamParser p;
  p.feed(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
      "to='example.com'/><presence/>");
  auto ev = p.next();
  ASSERT_EQ(ev.type, EventType::StreamOpened) << ev.error_text;
  EXPECT_EQ(p.header().attr("to"), "example.com");
  EXPECT_EQ(p.next().type, EventType::StreamClosed);
  EXPECT_EQ(p.next().type, EventType::NeedMore);  // the <presence/> after it is ignored
}

TEST(AcceptTest, BytesAfterStreamCloseAreIgnored) {
  StreamParser p;
  p.feed(std::string(test::kClientHeader) + "<presence/></stream:stream><message/>\xFF<<&");
  EXPECT_EQ(p.next().type, EventType::StreamOpened);
  EXPECT_EQ(p.next().type, EventType::Element);
  EXPECT_EQ(p.next().type, EventType::StreamClosed);
  EXPECT_EQ(p.next().type, EventType::NeedMore);
  p.feed("<!-- more garbage --> hello \x01");
  EXPECT_EQ(p.next().type, EventType::NeedMore);
  EXPECT_EQ(p.next().type, EventType::NeedMore);
  EXPECT_EQ(p.buffered(), 0u);
}

// --- reset() -------------------------------------------------------------------------------------

// RFC 6120 §5.4.3.3, §6.4.6: after STARTTLS or SASL the stream restarts with a new header.
TEST(ResetTest, DiscardsBufferedBytesAndAcceptsANewHeader) {
  StreamParser p;
  p.feed(std::string(test::kClientHeader) + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  ASSERT_EQ(p.next().type, EventType::StreamOpened);
  ASSERT_EQ(p.next().type, EventType::Element);
  // Bytes that arrived before the restart (a partial and a complete stanza): discarded.
  p.feed("<message><body>x</body></message><iq");
  p.reset();
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_EQ(p.next().type, EventType::NeedMore);
  p.feed(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' to='other.example' version='1.0'>"
      "<presence/>");
  auto ev = p.next();
  ASSERT_EQ(ev.type, EventType::StreamOpened) << to_string(ev.error) << ": " << ev.error_text;
  EXPECT_EQ(p.header().attr("to"), "other.example");
  ev = p.next();
  ASSERT_EQ(ev.type, EventType::Element);
  EXPECT_TRUE(ev.element.root().is("presence", ns::kClient));
  EXPECT_EQ(p.next().type, EventType::NeedMore);
}

TEST(ResetTest, KeepsTheOptions) {
  ParserOptions o;
  o.limits.max_element_bytes = 16;
  o.content_namespaces = {"jabber:server"};
  StreamParser p(o);
  p.reset();
  EXPECT_EQ(p.options().limits.max_element_bytes, 16u);
  p.feed(std::string(test::kServerHeader) + "<message><body>too long</body></message>");
  ASSERT_EQ(p.next().type, EventType::StreamOpened);
  auto ev = p.next();
  ASSERT_EQ(ev.type, EventType::Error);
  EXPECT_EQ(ev.error, StreamError::PolicyViolation);
}

TEST(ResetTest, StartsOverAfterAnError) {
  StreamParser p;
  p.feed("<!-- comment -->");
  ASSERT_EQ(p.next().type, EventType::Error);
  p.reset();
  p.feed(test::kClientHeader);
  EXPECT_EQ(p.next().type, EventType::StreamOpened);
}

TEST(StreamErrorTest, NamesRoundTrip) {
  for (StreamError e :
       {StreamError::BadFormat, StreamError::BadNamespacePrefix, StreamError::InvalidNamespace,
        StreamError::NotWellFormed, StreamError::PolicyViolation, StreamError::RestrictedXml,
        StreamError::UnsupportedEncoding, StreamError::UnsupportedVersion}) {
    EXPECT_EQ(stream_error_from_string(to_string(e)), e) << to_string(e);
  }
  EXPECT_EQ(to_string(StreamError::NotWellFormed), "not-well-formed");
  EXPECT_EQ(to_string(StreamError::RestrictedXml), "restricted-xml");
  EXPECT_EQ(stream_error_from_string("xml-not-well-formed"), std::nullopt);
}

}  // namespace
}  // namespace parley::xml
