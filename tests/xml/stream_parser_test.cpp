#include "xml/stream_parser.hpp"

#include <gtest/gtest.h>

#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::xml {
namespace {

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

}  // namespace
}  // namespace parley::xml
