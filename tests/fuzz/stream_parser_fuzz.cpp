// libFuzzer target for parley::xml::StreamParser (xml/stream_parser.hpp).
//
// Input layout: byte 0 selects the chunking scheme and the parser options, byte 1 seeds a small
// PRNG that picks chunk sizes and limits; the rest is fed to the parser as is (nothing is
// prepended: stream headers come from the seed corpus in tests/fuzz/stream_parser/).
//
//   byte 0, bits 0-1  chunking of the second run: 0 every byte, 1 chunks of 1..8 bytes,
//                     2 chunks of 1..64 bytes, 3 a random cut of what is left each time
//   byte 0, bit 2     small, random limits (to reach the policy-violation paths)
//   byte 0, bit 3     other accepted content namespaces (none = any, server only, three)
//   byte 0, bit 4     also check that reset() gives a parser that behaves like a new one
//
// Invariants (each violation prints what failed and calls __builtin_trap()):
//   (a) the events (type; error condition; serialize(root) of elements; the header) are the same
//       whether the input is fed in one buffer or in the chosen chunks;
//   (b) every element survives serialize() and a re-parse inside a minimal stream header:
//       exactly one element comes back and it is deep_equal to the original;
//   (c) after an Error, next() keeps returning Error with the same condition, even if fed more;
//   (d) after next() is drained to NeedMore, buffered() <= max_element_bytes + max_header_bytes
//       + a small constant (the header's memory contract);
//   (e) elements are in the canonical form of element.hpp (local names; the root declares its
//       namespace; attributes unqualified, xml:*, or p:* with xmlns:p on the same element; only
//       element and pcdata children, adjacent texts merged);
//   (f) after StreamClosed, later bytes produce no events;
//   (g) with bit 4 set: after reset(), feeding the same bytes gives the same events again.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.hpp"
#include "xml/stream_error.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace {

using parley::xml::Element;
using parley::xml::ParserOptions;
using parley::xml::StreamError;
using parley::xml::StreamParser;
using EventType = StreamParser::EventType;

// Slack for (d): a few bytes a scanner may reasonably keep beyond the limits (e.g. a lookahead).
constexpr std::size_t kBufferSlack = 64;

constexpr std::string_view kRoundTripOpen =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
constexpr std::string_view kRoundTripClose = "</stream:stream>";

const char* type_name(EventType t) {
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

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "stream_parser_fuzz: invariant violated: %s\n", what);
  if (!detail.empty()) {
    std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::fflush(stderr);
  __builtin_trap();
}

void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) [[unlikely]]
    fail(what, detail);
}

class Rng {
 public:
  explicit Rng(std::uint32_t seed) : s_(seed * 2654435761u + 0x9e3779b9u) {
    if (s_ == 0) s_ = 1;
  }
  std::uint32_t next() {  // xorshift32
    s_ ^= s_ << 13;
    s_ ^= s_ >> 17;
    s_ ^= s_ << 5;
    return s_;
  }
  // Uniform enough in [0, n); n > 0.
  std::size_t below(std::size_t n) { return next() % n; }

 private:
  std::uint32_t s_;
};

struct Config {
  unsigned chunking = 0;
  bool check_reset = false;
  ParserOptions options;
  std::uint32_t seed = 0;
};

Config make_config(std::uint8_t b0, std::uint8_t b1) {
  Config c;
  c.chunking = b0 & 3u;
  c.check_reset = (b0 & 16u) != 0;
  c.seed = b1;
  Rng rng(0x5eed0000u + b1);
  if ((b0 & 4u) != 0) {
    auto& l = c.options.limits;
    l.max_element_bytes = 16 + rng.below(512);
    l.max_depth = 1 + rng.below(8);
    l.max_attributes = rng.below(6);
    l.max_text_between_elements = rng.below(64);
    l.max_header_bytes = 32 + rng.below(512);
  }
  if ((b0 & 8u) != 0) {
    switch (rng.below(3)) {
      case 0:
        c.options.content_namespaces.clear();
        break;
      case 1:
        c.options.content_namespaces = {"jabber:server"};
        break;
      default:
        c.options.content_namespaces = {"jabber:client", "jabber:server",
                                        "jabber:component:accept"};
        break;
    }
  }
  return c;
}

// Chunk sizes for the chunked run.
class Chunker {
 public:
  Chunker(unsigned mode, std::uint32_t seed) : mode_(mode), rng_(seed) {}
  std::size_t next(std::size_t remaining) {
    switch (mode_) {
      case 0:
        return 1;
      case 1:
        return 1 + rng_.below(8);
      case 2:
        return 1 + rng_.below(64);
      default:
        return 1 + rng_.below(remaining);
    }
  }

 private:
  unsigned mode_;
  Rng rng_;
};

// What (a) compares of one event.
struct Record {
  EventType type = EventType::NeedMore;
  StreamError error{};
  std::string text;  // Element: serialize(root); StreamOpened: the header, flattened
  bool operator==(const Record&) const = default;
};

std::string flatten_header(const parley::xml::StreamHeader& h) {
  std::string s;
  s += h.prefix;
  s += '\x01';
  s += h.content_namespace;
  for (const auto& [p, uri] : h.namespaces) {
    s += '\x02';
    s += p;
    s += '\x03';
    s += uri;
  }
  for (const auto& [n, v] : h.attributes) {
    s += '\x04';
    s += n;
    s += '\x03';
    s += v;
  }
  return s;
}

// (e): the canonical form of element.hpp.
void check_canonical(pugi::xml_node n, bool is_root) {
  std::string_view name = n.name();
  check(!name.empty(), "canonical form: element without a name");
  check(name.find(':') == std::string_view::npos, "canonical form: prefixed element name", name);
  bool has_xmlns = false;
  for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
    std::string_view an = a.name();
    check(!an.empty(), "canonical form: attribute without a name", name);
    for (pugi::xml_attribute b = a.next_attribute(); b; b = b.next_attribute()) {
      check(an != b.name(), "canonical form: duplicate attribute", an);
    }
    if (an == "xmlns") {
      has_xmlns = true;
      continue;
    }
    auto colon = an.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view prefix = an.substr(0, colon);
    std::string_view local = an.substr(colon + 1);
    check(!prefix.empty() && !local.empty() && local.find(':') == std::string_view::npos,
          "canonical form: malformed qualified attribute name", an);
    if (prefix == "xmlns" || prefix == "xml") continue;
    std::string decl = "xmlns:";
    decl += prefix;
    check(static_cast<bool>(n.attribute(decl.c_str())),
          "canonical form: attribute prefix not declared on the same element", an);
  }
  if (is_root) check(has_xmlns, "canonical form: root element does not declare its namespace");
  bool prev_text = false;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) {
      check_canonical(c, false);
      prev_text = false;
    } else {
      check(c.type() == pugi::node_pcdata, "canonical form: child that is not element or pcdata",
            name);
      check(!prev_text, "canonical form: adjacent text nodes not merged", name);
      prev_text = true;
    }
  }
}

const ParserOptions& round_trip_options() {
  static const ParserOptions options = [] {
    ParserOptions o;
    o.limits.max_element_bytes = std::size_t{1} << 30;
    o.limits.max_depth = std::size_t{1} << 20;
    o.limits.max_attributes = std::size_t{1} << 20;
    o.limits.max_text_between_elements = std::size_t{1} << 30;
    o.limits.max_header_bytes = std::size_t{1} << 20;
    o.content_namespaces.clear();
    return o;
  }();
  return options;
}

// (b): serialize, re-parse in a minimal stream, compare.
void check_round_trip(Element e, const std::string& serialized) {
  std::string doc;
  doc.reserve(kRoundTripOpen.size() + serialized.size() + kRoundTripClose.size());
  doc += kRoundTripOpen;
  doc += serialized;
  doc += kRoundTripClose;
  StreamParser p(round_trip_options());
  p.feed(doc);
  StreamParser::Event a = p.next();
  check(a.type == EventType::StreamOpened, "round trip: no StreamOpened", doc);
  StreamParser::Event b = p.next();
  if (b.type == EventType::Error) {
    std::string detail =
        doc + "\n  error: " + std::string(parley::xml::to_string(b.error)) + ": " + b.error_text;
    fail("round trip: re-parsing the serialized element fails", detail);
  }
  check(b.type == EventType::Element, "round trip: no Element", doc);
  check(static_cast<bool>(b.element.root()), "round trip: Element event without a root", doc);
  if (!parley::xml::deep_equal(e, b.element.root())) {
    std::string detail = serialized + "\n  re-parsed and serialized again: " +
                         parley::xml::serialize(b.element.root());
    fail("round trip: re-parsed element is not deep_equal to the original", detail);
  }
  StreamParser::Event c = p.next();
  check(c.type == EventType::StreamClosed, "round trip: more than one element, or no close", doc);
}

// Feeds `data` (in one buffer, or in chunks from `chunker`) and drains next() after each feed.
std::vector<Record> run(StreamParser& p, std::string_view data, Chunker* chunker,
                        bool deep_checks) {
  const auto& limits = p.options().limits;
  const std::size_t bound = limits.max_element_bytes + limits.max_header_bytes + kBufferSlack;
  const std::size_t max_events = data.size() + 2;
  std::vector<Record> events;
  bool closed = false;
  std::size_t off = 0;
  do {
    std::size_t n = data.size() - off;
    if (chunker != nullptr && n > 0) n = std::min(n, chunker->next(n));
    p.feed(data.substr(off, n));
    off += n;
    for (;;) {
      StreamParser::Event ev = p.next();
      if (ev.type == EventType::NeedMore) break;
      if (closed) {
        // (f): bytes after </stream:stream> are ignored.
        check(ev.type == EventType::StreamClosed, "event after StreamClosed", type_name(ev.type));
        break;
      }
      check(events.size() < max_events, "more events than bytes fed (next() loops?)");
      Record r;
      r.type = ev.type;
      switch (ev.type) {
        case EventType::StreamOpened:
          r.text = flatten_header(p.header());
          break;
        case EventType::Element: {
          Element root = ev.element.root();
          check(static_cast<bool>(root), "Element event without a root element");
          r.text = parley::xml::serialize(root);
          if (deep_checks) {
            check_canonical(root.node(), true);
            check_round_trip(root, r.text);
          }
          break;
        }
        case EventType::Error:
          r.error = ev.error;
          break;
        default:
          break;
      }
      events.push_back(std::move(r));
      if (ev.type == EventType::Error) {
        // (c): the parser stays broken.
        for (int i = 0; i < 3; ++i) {
          if (i == 2) p.feed("<x/>");
          StreamParser::Event again = p.next();
          check(again.type == EventType::Error, "next() after Error is not Error",
                type_name(again.type));
          check(again.error == ev.error, "next() after Error changed the condition");
        }
        return events;
      }
      if (ev.type == EventType::StreamClosed) {
        closed = true;
        break;
      }
    }
    // (d): drained to NeedMore: only the element being framed may be held.
    if (p.buffered() > bound) {
      std::string detail = "buffered() = " + std::to_string(p.buffered()) +
                           ", bound = " + std::to_string(bound) + " after " + std::to_string(off) +
                           " of " + std::to_string(data.size()) + " bytes";
      fail("buffered() exceeds max_element_bytes + max_header_bytes after draining", detail);
    }
  } while (off < data.size());
  return events;
}

std::string describe(const std::vector<Record>& events) {
  std::string s;
  for (const auto& r : events) {
    s += "\n    ";
    s += type_name(r.type);
    if (r.type == EventType::Error) {
      s += ' ';
      s += parley::xml::to_string(r.error);
    }
    if (!r.text.empty()) {
      s += ' ';
      s += r.text;
    }
  }
  return s;
}

void compare(const std::vector<Record>& want, const std::vector<Record>& got, const char* what) {
  if (want == got) return;
  std::string detail = "one buffer:" + describe(want) + "\n  other run:" + describe(got);
  fail(what, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const Config config = make_config(data[0], data[1]);
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  StreamParser whole(config.options);
  const std::vector<Record> expected = run(whole, input, nullptr, /*deep_checks=*/true);

  StreamParser chunked(config.options);
  Chunker chunker(config.chunking, config.seed);
  compare(expected, run(chunked, input, &chunker, /*deep_checks=*/false),
          "events differ between one buffer and chunked input");

  if (config.check_reset) {
    chunked.reset();
    compare(expected, run(chunked, input, nullptr, /*deep_checks=*/false),
            "events differ after reset()");
  }
  return 0;
}
