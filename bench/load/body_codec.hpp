// The body of a parley-load chat message: who sent it, its sequence number and when it was sent
// (steady clock, nanoseconds). The recipient decodes it to measure end-to-end latency and to tell
// lost, duplicated and reordered messages apart. Only ASCII letters, digits and spaces, so no XML
// escaping is needed on either side and any server relays it byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::load {

struct MessageStamp {
  std::uint32_t sender = 0;     // index of the sending client in the scenario
  std::uint32_t recipient = 0;  // index of the client it is addressed to
  std::uint64_t seq = 0;        // per sender, from 0
  std::int64_t sent_ns = 0;     // steady_clock time at sending, ns since the clock's epoch (>= 0)

  friend bool operator==(const MessageStamp&, const MessageStamp&) = default;
};

// "plm1 s=<sender> r=<recipient> q=<seq> t=<sent_ns>" in decimal. REQUIRES: stamp.sent_ns >= 0.
std::string encode_body(const MessageStamp& stamp);

// The stamp of a body made by encode_body(); nullopt for anything else (another prefix, missing
// or extra fields, signs, leading zeros, overflow), so a mangled body is counted as an error
// rather than as a delivery with a wrong latency.
std::optional<MessageStamp> decode_body(std::string_view body);

}  // namespace parley::load
