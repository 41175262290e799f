// XML stream parse throughput: Parley's StreamParser vs libexpat doing the same job.
//
// Both sides parse the same bytes (bench/stream_corpus.hpp), fed in the same chunks, as one XML
// stream: the stream header opens depth 1 and every top-level element (depth 2) becomes its own
// element tree in the canonical form of xml/element.hpp (local names; an `xmlns` attribute on the
// root and wherever the namespace differs from the parent's; unqualified attributes; merged text).
// Parley's parser produces a parley::xml::Document per top-level element; the expat side builds an
// equivalent pugi::xml_document with pugixml's API from its namespace-aware (XML_ParserCreateNS)
// callbacks. Each finished tree goes to benchmark::DoNotOptimize and is then dropped.
//
// Before any benchmark runs, main() checks that both sides produce the same number of top-level
// elements and deep-equal trees (parley::xml::deep_equal) for every one of them, for several chunk
// sizes; it aborts otherwise, since a benchmark comparing different work would be worthless.
//
// docs/PERFORMANCE.md has the figures and the command that reproduces them.
#include <benchmark/benchmark.h>
#include <expat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/stream_corpus.hpp"
#include "xml/element.hpp"
#include "xml/namespaces.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace {

using parley::bench::StreamCorpus;
using parley::xml::Document;
using parley::xml::StreamParser;

const StreamCorpus& corpus() {
  static const StreamCorpus c = parley::bench::make_stream_corpus();
  return c;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "parse_bench: %s\n", message.c_str());
  std::abort();
}

// ---------------------------------------------------------------------------------------------
// Parley: StreamParser, draining next() after every feed().

template <class OnElement>
class ParleyStream {
 public:
  explicit ParleyStream(OnElement on_element) : on_element_(std::move(on_element)) {}

  // Returns false once the stream is broken (see error()).
  bool feed(std::string_view bytes) {
    parser_.feed(bytes);
    for (;;) {
      StreamParser::Event ev = parser_.next();
      switch (ev.type) {
        case StreamParser::EventType::NeedMore:
          return true;
        case StreamParser::EventType::StreamOpened:
          opened_ = true;
          break;
        case StreamParser::EventType::Element:
          on_element_(ev.element);
          break;
        case StreamParser::EventType::StreamClosed:
          closed_ = true;
          return true;
        case StreamParser::EventType::Error:
          error_ = std::string(parley::xml::to_string(ev.error)) + ": " + ev.error_text;
          return false;
      }
    }
  }
  bool finish() {
    if (!opened_ || !closed_) error_ = "the stream was not opened and closed";
    return error_.empty();
  }
  const std::string& error() const { return error_; }

 private:
  StreamParser parser_;
  OnElement on_element_;
  bool opened_ = false;
  bool closed_ = false;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// libexpat: one namespace-aware XML_Parser for the whole stream, building a pugixml tree in
// canonical form for every top-level element.

constexpr char kNsSep = '\x01';  // not an XML character: cannot occur in a namespace name
constexpr std::string_view kStreamElement = "http://etherx.jabber.org/streams\x01stream";
constexpr std::size_t kMaxDepth = 64;  // as parley::xml::ParserLimits::max_depth

template <class OnElement>
class ExpatStream {
 public:
  explicit ExpatStream(OnElement on_element) : on_element_(std::move(on_element)) {
    parser_ = XML_ParserCreateNS(nullptr, kNsSep);
    if (parser_ == nullptr) die("XML_ParserCreateNS failed");
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &ExpatStream::on_start, &ExpatStream::on_end);
    XML_SetCharacterDataHandler(parser_, &ExpatStream::on_text);
    // RFC 6120 §11.1: no comments, processing instructions or DTDs in a stream. Never triggered
    // by the corpus; here so that expat is asked for the same checks as Parley.
    XML_SetCommentHandler(parser_, &ExpatStream::on_comment);
    XML_SetProcessingInstructionHandler(parser_, &ExpatStream::on_pi);
    XML_SetStartDoctypeDeclHandler(parser_, &ExpatStream::on_doctype);
    ns_.reserve(kMaxDepth + 1);
  }
  ~ExpatStream() { XML_ParserFree(parser_); }
  ExpatStream(const ExpatStream&) = delete;
  ExpatStream& operator=(const ExpatStream&) = delete;

  bool feed(std::string_view bytes, bool final = false) {
    if (XML_Parse(parser_, bytes.data(), static_cast<int>(bytes.size()), final ? 1 : 0) !=
        XML_STATUS_OK) {
      if (error_.empty()) {
        error_ = std::string("expat: ") + XML_ErrorString(XML_GetErrorCode(parser_)) + " at line " +
                 std::to_string(XML_GetCurrentLineNumber(parser_));
      }
      return false;
    }
    return true;
  }
  bool finish() {
    if (!feed({}, true)) return false;
    if (!opened_ || depth_ != 0) error_ = "the stream was not opened and closed";
    return error_.empty();
  }
  const std::string& error() const { return error_; }

 private:
  static void XMLCALL on_start(void* self, const XML_Char* name, const XML_Char** atts) {
    static_cast<ExpatStream*>(self)->start(name, atts);
  }
  static void XMLCALL on_end(void* self, const XML_Char* /*name*/) {
    static_cast<ExpatStream*>(self)->end();
  }
  static void XMLCALL on_text(void* self, const XML_Char* s, int len) {
    auto* me = static_cast<ExpatStream*>(self);
    if (me->depth_ >= 2) me->text_.append(s, static_cast<std::size_t>(len));
  }
  static void XMLCALL on_comment(void* self, const XML_Char*) {
    static_cast<ExpatStream*>(self)->fail("restricted XML: comment");
  }
  static void XMLCALL on_pi(void* self, const XML_Char*, const XML_Char*) {
    static_cast<ExpatStream*>(self)->fail("restricted XML: processing instruction");
  }
  static void XMLCALL on_doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*,
                                 int) {
    static_cast<ExpatStream*>(self)->fail("restricted XML: DTD");
  }

  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    XML_StopParser(parser_, XML_FALSE);
  }

  void start(const char* name, const char** atts) {
    ++depth_;
    if (depth_ == 1) {
      if (name != kStreamElement) return fail("the root element is not <stream:stream>");
      opened_ = true;
      return;
    }
    if (depth_ > kMaxDepth + 1) return fail("policy-violation: too deep");

    const char* sep = std::strchr(name, kNsSep);
    const std::string_view ns = sep != nullptr
                                    ? std::string_view(name, static_cast<std::size_t>(sep - name))
                                    : std::string_view();
    const char* local = sep != nullptr ? sep + 1 : name;

    pugi::xml_node e;
    if (depth_ == 2) {
      if (!doc_) doc_ = std::make_unique<pugi::xml_document>();
      e = doc_->append_child(local);
      pugi::xml_attribute decl = e.append_attribute("xmlns");
      decl.set_value(ns.data(), ns.size());
      ns_.push_back(decl.value());
    } else {
      flush_text();
      e = current_.append_child(local);
      if (ns != ns_.back()) {
        pugi::xml_attribute decl = e.append_attribute("xmlns");
        decl.set_value(ns.data(), ns.size());
        ns_.push_back(decl.value());
      } else {
        ns_.push_back(ns_.back());
      }
    }
    current_ = e;

    // Attributes: expat resolves prefixes ("uri\x01local") and drops the declarations.
    int prefixed = 0;
    for (const char** a = atts; *a != nullptr; a += 2) {
      const char* an = a[0];
      const char* asep = std::strchr(an, kNsSep);
      if (asep == nullptr) {
        e.append_attribute(an).set_value(a[1]);
        continue;
      }
      const std::string_view ans(an, static_cast<std::size_t>(asep - an));
      if (ans == parley::xml::ns::kXml) {
        qname_.assign("xml:").append(asep + 1);
      } else {
        // Canonical form: `p:name` with `xmlns:p` on the same element (any prefix will do).
        const std::string prefix = "ns" + std::to_string(prefixed++);
        e.append_attribute(("xmlns:" + prefix).c_str()).set_value(ans.data(), ans.size());
        qname_.assign(prefix).append(":").append(asep + 1);
      }
      e.append_attribute(qname_.c_str()).set_value(a[1]);
    }
  }

  void end() {
    if (depth_ >= 2) {
      flush_text();
      ns_.pop_back();
      if (depth_ == 2) {
        on_element_(doc_);
        if (doc_) doc_->reset();
        current_ = pugi::xml_node();
      } else {
        current_ = current_.parent();
      }
    }
    --depth_;
  }

  // Character data arrives in pieces (per line, around references, at buffer ends): merge them.
  void flush_text() {
    if (text_.empty()) return;
    current_.append_child(pugi::node_pcdata).set_value(text_.data(), text_.size());
    text_.clear();
  }

  XML_Parser parser_;
  OnElement on_element_;
  std::unique_ptr<pugi::xml_document> doc_;
  pugi::xml_node current_;
  std::vector<std::string_view> ns_;  // namespace of each open element (views into the tree)
  std::string text_;
  std::string qname_;
  std::size_t depth_ = 0;
  bool opened_ = false;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// Verification, outside the timed loops.

std::size_t count_elements(pugi::xml_node n) {
  std::size_t count = 1;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) count += count_elements(c);
  }
  return count;
}

// Feeds the corpus in `chunk`-byte pieces to both parsers in lockstep and compares every pair of
// top-level elements.
void verify(const StreamCorpus& c, std::size_t chunk) {
  std::deque<Document> parley_pending;
  std::deque<std::unique_ptr<pugi::xml_document>> expat_pending;
  std::size_t compared = 0;
  std::size_t parley_elements = 0;
  std::size_t expat_elements = 0;

  auto compare = [&] {
    while (!parley_pending.empty() && !expat_pending.empty()) {
      const parley::xml::Element mine = parley_pending.front().root();
      const parley::xml::Element theirs(expat_pending.front()->document_element());
      if (!parley::xml::deep_equal(mine, theirs)) {
        die("chunk " + std::to_string(chunk) + ": top-level element #" + std::to_string(compared) +
            " differs.\n  Parley: " + parley::xml::serialize(mine) +
            "\n  expat:  " + parley::xml::serialize(theirs));
      }
      parley_elements += count_elements(mine.node());
      expat_elements += count_elements(theirs.node());
      parley_pending.pop_front();
      expat_pending.pop_front();
      ++compared;
    }
  };

  ParleyStream parley([&](Document& d) { parley_pending.push_back(std::move(d)); });
  ExpatStream expat(
      [&](std::unique_ptr<pugi::xml_document>& d) { expat_pending.push_back(std::move(d)); });
  const std::string_view bytes = c.bytes;
  for (std::size_t off = 0; off < bytes.size(); off += chunk) {
    const std::string_view piece = bytes.substr(off, chunk);
    if (!parley.feed(piece)) die("Parley: " + parley.error());
    if (!expat.feed(piece)) die(expat.error());
    compare();
  }
  if (!parley.finish()) die("Parley: " + parley.error());
  if (!expat.finish()) die(expat.error());
  compare();
  if (!parley_pending.empty() || !expat_pending.empty() || compared != c.stanzas) {
    die("chunk " + std::to_string(chunk) + ": top-level elements: corpus " +
        std::to_string(c.stanzas) + ", Parley " + std::to_string(compared + parley_pending.size()) +
        ", expat " + std::to_string(compared + expat_pending.size()));
  }
  if (parley_elements != c.elements || expat_elements != c.elements) {
    die("chunk " + std::to_string(chunk) + ": elements: corpus " + std::to_string(c.elements) +
        ", Parley " + std::to_string(parley_elements) + ", expat " +
        std::to_string(expat_elements));
  }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks. Each iteration parses the whole corpus as one stream, fed in state.range(0)-byte
// chunks (what a socket read gives).

void set_counters(benchmark::State& state, std::size_t top_level) {
  const StreamCorpus& c = corpus();
  const auto iterations = static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(c.bytes.size()));
  // Top-level elements (stanzas) and all elements, per second.
  state.counters["stanzas"] =
      benchmark::Counter(static_cast<double>(top_level), benchmark::Counter::kIsRate);
  state.counters["elements"] =
      benchmark::Counter(iterations * static_cast<double>(c.elements), benchmark::Counter::kIsRate);
}

void BM_ParleyStreamParser(benchmark::State& state) {
  const std::string_view bytes = corpus().bytes;
  const auto chunk = static_cast<std::size_t>(state.range(0));
  std::size_t top_level = 0;
  for (auto _ : state) {
    ParleyStream parley([&](Document& d) {
      benchmark::DoNotOptimize(d);
      ++top_level;
    });
    for (std::size_t off = 0; off < bytes.size(); off += chunk) {
      if (!parley.feed(bytes.substr(off, chunk))) break;
    }
    if (!parley.finish()) {
      state.SkipWithError(parley.error().c_str());
      break;
    }
  }
  set_counters(state, top_level);
}

void BM_ExpatTree(benchmark::State& state) {
  const std::string_view bytes = corpus().bytes;
  const auto chunk = static_cast<std::size_t>(state.range(0));
  std::size_t top_level = 0;
  for (auto _ : state) {
    ExpatStream expat([&](std::unique_ptr<pugi::xml_document>& d) {
      benchmark::DoNotOptimize(*d);
      ++top_level;
    });
    for (std::size_t off = 0; off < bytes.size(); off += chunk) {
      if (!expat.feed(bytes.substr(off, chunk))) break;
    }
    if (!expat.finish()) {
      state.SkipWithError(expat.error().c_str());
      break;
    }
  }
  set_counters(state, top_level);
}

BENCHMARK(BM_ParleyStreamParser)->Arg(4096)->Arg(64 * 1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExpatTree)->Arg(4096)->Arg(64 * 1024)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const StreamCorpus& c = corpus();
  std::fprintf(stderr, "parse_bench: corpus: %s", parley::bench::describe(c).c_str());
  // 13: a small odd size that splits names, references and UTF-8 sequences.
  for (std::size_t chunk : {std::size_t{4096}, std::size_t{64 * 1024}, std::size_t{13}}) {
    verify(c, chunk);
  }
  std::fprintf(stderr,
               "parse_bench: verified: Parley and expat produce the same %zu top-level elements "
               "(%zu elements in all) for chunks of 4096, 65536 and 13 bytes\n",
               c.stanzas, c.elements);

  benchmark::AddCustomContext("corpus", std::to_string(c.bytes.size()) + " bytes, " +
                                            std::to_string(c.stanzas) + " stanzas, " +
                                            std::to_string(c.elements) + " elements");
  for (const auto& k : c.kinds) {
    benchmark::AddCustomContext("corpus." + k.name, std::to_string(k.count) + " stanzas, " +
                                                        std::to_string(k.bytes) + " bytes");
  }
  benchmark::AddCustomContext("expat", XML_ExpatVersion());
  benchmark::AddCustomContext("pugixml", std::to_string(PUGIXML_VERSION));

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
