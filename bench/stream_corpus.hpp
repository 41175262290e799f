// A deterministic, realistic XMPP client stream for the parser benchmarks.
//
// make_stream_corpus() writes a c2s stream (jabber:client) as a busy client session carries it:
// the stream header, then a weighted random mix of stanzas (chat messages, receipts and chat
// states, presences with caps, MAM results, disco#info and roster results, vCards with photos,
// pings, ...) with whitespace between some of them, then </stream:stream>. The mix and its
// proportions are documented in stream_corpus.cpp. The generator uses its own PRNG with a fixed
// seed, so the bytes are the same on every machine, compiler and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bench {

inline constexpr std::size_t kDefaultCorpusBytes = 5 * 512 * 1024;  // 2.5 MiB
inline constexpr std::uint64_t kDefaultCorpusSeed = 0x9a71e7'5eed'2026ULL;

struct StreamCorpus {
  // The whole stream: XML declaration, <stream:stream ...>, the stanzas, </stream:stream>.
  std::string bytes;
  // Top-level elements (children of the stream element, i.e. stanzas and nonzas).
  std::size_t stanzas = 0;
  // All elements inside the stream element, at any depth (top-level ones included).
  std::size_t elements = 0;

  // The composition, one row per kind of stanza, for reports.
  struct Kind {
    std::string name;
    std::size_t count = 0;
    std::size_t bytes = 0;
  };
  std::vector<Kind> kinds;
};

// Generates stanzas until the stream holds at least target_bytes; same arguments, same bytes.
StreamCorpus make_stream_corpus(std::size_t target_bytes = kDefaultCorpusBytes,
                                std::uint64_t seed = kDefaultCorpusSeed);

// A one-line-per-kind description of the corpus composition (count, share of stanzas, share of
// bytes), for the benchmark context and docs/PERFORMANCE.md.
std::string describe(const StreamCorpus& corpus);

}  // namespace parley::bench
