// Chunking invariance: the events of a StreamParser depend only on the bytes fed, never on how they
// are split into feed() calls (stream_parser.hpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "tests/xml/test_util.hpp"

namespace parley::xml {
namespace {

using test::EventType;
using test::Recorded;

struct ChunkCase {
  const char* name;
  std::string input;
  ParserOptions options;
  // What the one-buffer run must give, so that invariance is not the invariance of nothing.
  std::size_t elements;
  EventType last;  // StreamClosed or Error
  StreamError error = StreamError::UndefinedCondition;
};

void PrintTo(const ChunkCase& c, std::ostream* os) { *os << c.name; }

ParserOptions with_limits(ParserLimits limits) {
  ParserOptions o;
  o.limits = limits;
  return o;
}

std::string client(std::string_view body) {
  return "<?xml version='1.0'?>" + std::string(test::kClientHeader) + std::string(body);
}

std::vector<ChunkCase> chunk_cases() {
  std::vector<ChunkCase> v;
  v.push_back({"SampleClientStream",
               test::sample_client_stream(),
               {},
               test::kSampleClientStanzas,
               EventType::StreamClosed});
  v.push_back({"ServerStreamWithBomAndDialback",
               test::sample_server_stream(),
               {},
               4,
               EventType::StreamClosed});
  v.push_back(
      {"PrefixFreeStream", test::sample_prefix_free_stream(), {}, 3, EventType::StreamClosed});
  v.push_back({"SelfClosedHeader",
               "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
               "xmlns:stream='http://etherx.jabber.org/streams'/>trailing garbage",
               {},
               0,
               EventType::StreamClosed});
  // Malformed streams: the condition and the elements before it must not depend on chunking.
  v.push_back({"InvalidUtf8AfterTwoStanzas",
               client("<presence/><message><body>ok</body></message>"
                      "<message><body>bad \xE6\x97"
                      "A</body></message>"),
               {},
               2,
               EventType::Error,
               StreamError::NotWellFormed});
  v.push_back({"OverlongUtf8InAttribute",
               client("<presence/><message to='\xF0\x80\x80\x80'/>"),
               {},
               1,
               EventType::Error,
               StreamError::NotWellFormed});
  v.push_back({"CommentAfterThreeStanzas",
               client("<presence/> <presence/>\n<presence/><message><!-- c --></message>"),
               {},
               3,
               EventType::Error,
               StreamError::RestrictedXml});
  v.push_back({"UndefinedEntity",
               client("<presence/><message><body>a&nbsp;b</body></message>"),
               {},
               1,
               EventType::Error,
               StreamError::RestrictedXml});
  v.push_back({"MismatchedEndTag",
               client("<presence/><presence/><message><body>x</bodx></message>"),
               {},
               2,
               EventType::Error,
               StreamError::NotWellFormed});
  v.push_back({"CDataEndInText",
               client("<presence/><message><body>a]]>b</body></message>"),
               {},
               1,
               EventType::Error,
               StreamError::NotWellFormed});
  v.push_back({"TextAtStreamLevel",
               client("<presence/> hello <presence/>"),
               {},
               1,
               EventType::Error,
               StreamError::BadFormat});
  v.push_back({"UnboundPrefix",
               client("<presence/><message><foo:bar/></message>"),
               {},
               1,
               EventType::Error,
               StreamError::NotWellFormed});
  v.push_back({"UnsupportedEncoding",
               "<?xml version='1.0' encoding='ISO-8859-1'?>" + std::string(test::kClientHeader),
               {},
               0,
               EventType::Error,
               StreamError::UnsupportedEncoding});
  v.push_back({"UndeclaredStreamPrefix",
               "<stream:stream xmlns='jabber:client' to='example.com'><presence/>",
               {},
               0,
               EventType::Error,
               StreamError::BadNamespacePrefix});
  // 26 bytes: "<message><body/></message>"; the limit admits one, not one byte more.
  v.push_back({"ElementSizeLimit", client("<message><body/></message><message><body/> </message>"),
               with_limits({.max_element_bytes = 26}), 1, EventType::Error,
               StreamError::PolicyViolation});
  v.push_back({"DepthLimit", client("<a><b><c/></b></a><a><b><c><d/></c></b></a>"),
               with_limits({.max_depth = 3}), 1, EventType::Error, StreamError::PolicyViolation});
  v.push_back({"HeaderSizeLimit", client(""),
               with_limits({.max_header_bytes = client("").size() - 1}), 0, EventType::Error,
               StreamError::PolicyViolation});
  v.push_back({"WhitespaceLimit", client("<a/>        <a/>         <a/>"),
               with_limits({.max_text_between_elements = 8}), 2, EventType::Error,
               StreamError::PolicyViolation});
  return v;
}

class ChunkingTest : public ::testing::TestWithParam<ChunkCase> {
 protected:
  void SetUp() override {
    const ChunkCase& c = GetParam();
    reference_ = test::run_whole(c.input, c.options);
    ASSERT_FALSE(reference_.empty());
    EXPECT_EQ(test::count_elements(reference_), c.elements) << test::describe(reference_);
    EXPECT_EQ(reference_.back().type, c.last) << test::describe(reference_);
    if (c.last == EventType::Error) {
      EXPECT_EQ(reference_.back().error, c.error) << to_string(reference_.back().error);
    }
  }
  std::vector<Recorded> reference_;
};

TEST_P(ChunkingTest, OneByteAtATimeGivesTheSameEvents) {
  const ChunkCase& c = GetParam();
  EXPECT_TRUE(test::same_events(reference_, test::run_bytewise(c.input, c.options)));
}

TEST_P(ChunkingTest, EverySplitIntoTwoChunksGivesTheSameEvents) {
  const ChunkCase& c = GetParam();
  for (std::size_t at = 0; at <= c.input.size(); ++at) {
    auto r = test::same_events(reference_, test::run_split(c.input, at, c.options));
    ASSERT_TRUE(r) << "split at byte " << at;
  }
}

TEST_P(ChunkingTest, RandomChunkingsGiveTheSameEvents) {
  const ChunkCase& c = GetParam();
  std::mt19937 rng(20240601);  // fixed seed: failures reproduce
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string_view> chunks;
    std::string_view rest = c.input;
    const std::uint32_t max_chunk = 1 + rng() % 64;
    while (!rest.empty()) {
      const std::size_t n = std::min<std::size_t>(rest.size(), 1 + rng() % max_chunk);
      chunks.push_back(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    auto r = test::same_events(reference_, test::run_chunks(chunks, c.options));
    ASSERT_TRUE(r) << "round " << round;
  }
}

// Empty feeds between the bytes must not change anything either.
TEST_P(ChunkingTest, EmptyFeedsChangeNothing) {
  const ChunkCase& c = GetParam();
  std::vector<std::string_view> chunks;
  std::string_view in = c.input;
  for (std::size_t i = 0; i < in.size(); i += 7) {
    chunks.push_back({});
    chunks.push_back(in.substr(i, 7));
  }
  EXPECT_TRUE(test::same_events(reference_, test::run_chunks(chunks, c.options)));
}

INSTANTIATE_TEST_SUITE_P(Streams, ChunkingTest, ::testing::ValuesIn(chunk_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

// The sample stream's reference run is the one the other tests compare with: check that it is
// right, not only stable.
TEST(ChunkingSample, ReferenceRunHasTheExpectedContent) {
  auto events = test::run_whole(test::sample_client_stream());
  ASSERT_EQ(events.size(), test::kSampleClientStanzas + 2) << test::describe(events);
  ASSERT_EQ(events.front().type, EventType::StreamOpened);
  const StreamHeader& h = events.front().header;
  EXPECT_EQ(h.prefix, "stream");
  EXPECT_EQ(h.content_namespace, ns::kClient);
  EXPECT_EQ(h.attr("to"), "example.com");
  EXPECT_EQ(h.attr("version"), "1.0");
  EXPECT_EQ(h.attr("xml:lang"), "en");
  ASSERT_EQ(events.back().type, EventType::StreamClosed);
  for (std::size_t i = 1; i + 1 < events.size(); ++i) {
    ASSERT_EQ(events[i].type, EventType::Element) << i;
  }
  auto root = [&](std::size_t i) { return events[i].doc.root(); };
  EXPECT_EQ(root(1).child("body", ns::kClient).text(),
            "Café crème, 日本語のテキスト, emoji 😀👍 and ß");
  EXPECT_EQ(root(2).child("body", ns::kClient).text(), "Fish & chips <b> \"quoted\" 'single'");
  EXPECT_EQ(root(3).child("body", ns::kClient).text(), "Hi ☺ éé 😀 😀");
  EXPECT_EQ(root(3).child("subject", ns::kClient).text(), "Tab\tand\nnewline");
  EXPECT_EQ(root(4).child("body", ns::kClient).text(),
            "<b>not markup</b> & ]] >  second tail & more");
  EXPECT_EQ(root(14).child("body", ns::kClient).text(), "text with\nCRLF and\nCR");
  EXPECT_EQ(root(21).attr("id"), "a&b'c'");
  EXPECT_EQ(root(21).attr("title"), "tab here newline end");
  EXPECT_EQ(root(21).attr("lf"), "x\ny\tz\r");
  EXPECT_EQ(root(22).child("body", ns::kClient).text().size(),
            60 * std::string("lorem ipsum é 日本 😀 & ").size());
  EXPECT_EQ(root(23).child("body", ns::kClient).text(), "]] and ]> and > alone]]");
  EXPECT_EQ(root(25).attr("id"), "last");
}

}  // namespace
}  // namespace parley::xml
