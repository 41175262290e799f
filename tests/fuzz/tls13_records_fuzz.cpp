// libFuzzer target for parley::core::tls::Tls13Records (core/tls/tls13_records.hpp): what a
// client can put in TLS 1.3 records after the handshake, both forged bytes (which must fail the
// AEAD or the framing) and well-sealed records with any inner plaintext (which reach the parsing
// after decryption: padding, content types, alerts, KeyUpdate).
//
// Input layout: byte 0 picks the suite (mod 3); then chunks of [op][length: 2 bytes][bytes]:
//   op % 3 == 0  the client seals `bytes` as an inner plaintext (RFC 8446 §5.2 TLSInnerPlaintext:
//                the content type is its last non-zero byte, zeros after it are padding)
//   op % 3 == 1  `bytes` go on the wire as they are (forged, or a header cut anywhere)
//   op % 3 == 2  the server seals `bytes` as application data and the client opens them
// After each chunk the server opens every complete record on the wire.
//
// Invariants (a violation prints what failed and calls __builtin_trap()):
//   (a) a Record's consumed bytes are within the input, its content within the record and at most
//       2^14 bytes; NeedMore consumes nothing;
//   (b) while the wire holds only records the client sealed and no KeyUpdate has moved the
//       server's read key, a sealed inner plaintext whose type is application_data opens to
//       exactly its content; an alert opens to its two bytes or fails;
//   (c) after Failed, the connection is over: nothing more is opened;
//   (d) what the server seals, the client opens to the same bytes (after the server's KeyUpdate
//       when the client asked for one).
#include <openssl/tls1.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "core/tls/tls13_records.hpp"

namespace {

using parley::core::tls::Tls13Records;
using Status = Tls13Records::Opened::Status;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "tls13_records_fuzz: invariant violated: %s\n", what);
  __builtin_trap();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

Tls13Records::Secret secret(unsigned char seed, std::size_t size) {
  Tls13Records::Secret s;
  for (std::size_t i = 0; i < size; ++i) s.bytes[i] = static_cast<unsigned char>(seed + 31 * i);
  s.size = size;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr std::uint32_t kSuites[] = {TLS1_3_CK_AES_128_GCM_SHA256,
                                              TLS1_3_CK_AES_256_GCM_SHA384,
                                              TLS1_3_CK_CHACHA20_POLY1305_SHA256};
  const std::size_t pick = data[0] % 3;
  const std::size_t hash = pick == 1 ? 48 : 32;
  const Tls13Records::Secret to_server = secret(1, hash);
  const Tls13Records::Secret to_client = secret(2, hash);
  std::unique_ptr<Tls13Records> server = Tls13Records::make(kSuites[pick], to_server, to_client);
  std::unique_ptr<Tls13Records> client = Tls13Records::make(kSuites[pick], to_client, to_server);
  check(server != nullptr && client != nullptr, "make() succeeds for the three suites");

  std::string wire;      // what the client sent, not yet opened by the server
  std::string expected;  // (b): application data the server must open, in order
  bool clean = true;     // (b) applies
  bool failed = false;
  std::size_t at = 1;
  while (at + 3 <= size && !failed) {
    const std::uint8_t op = data[at];
    std::size_t length = (static_cast<std::size_t>(data[at + 1]) << 8) | data[at + 2];
    at += 3;
    if (length > size - at) length = size - at;
    const std::string_view bytes(reinterpret_cast<const char*>(data + at), length);
    at += length;
    switch (op % 3) {
      case 0: {
        if (bytes.empty() || bytes.size() > Tls13Records::kMaxContent + 1) break;
        const auto type = static_cast<std::uint8_t>(bytes.back());
        const std::string_view content = bytes.substr(0, bytes.size() - 1);
        check(client->seal(type, content, wire), "seal");
        // The inner plaintext's real type: its last non-zero byte.
        std::size_t end = bytes.size();
        while (end > 0 && bytes[end - 1] == 0) --end;
        if (end > 0 &&
            static_cast<std::uint8_t>(bytes[end - 1]) == Tls13Records::kApplicationData) {
          expected.append(bytes.substr(0, end - 1));
        } else {
          // Anything else may move keys or end the connection: (b) stops here.
          clean = false;
        }
        break;
      }
      case 1:
        wire.append(bytes);
        clean = false;
        break;
      default: {
        std::string sealed;
        const bool owed = server->owes_key_update();
        check(server->seal(Tls13Records::kApplicationData, bytes, sealed), "server seal");
        std::string opened;
        std::size_t offset = 0;
        bool first = true;
        while (offset < sealed.size()) {
          const auto r = client->open(sealed.data() + offset, sealed.size() - offset);
          check(r.status == Status::Record, "(d) the client opens what the server sealed");
          if (first && owed) {
            check(r.type == Tls13Records::kHandshake, "(d) the owed KeyUpdate comes first");
          } else {
            check(r.type == Tls13Records::kApplicationData, "(d) then application data");
            opened.append(r.content, r.size);
          }
          first = false;
          offset += r.consumed;
        }
        check(opened == bytes, "(d) the same bytes");
        break;
      }
    }
    // The server opens what is complete.
    std::size_t done = 0;
    while (!failed) {
      char* start = wire.data() + done;
      const std::size_t available = wire.size() - done;
      const auto r = server->open(start, available);
      if (r.status == Status::NeedMore) {
        check(r.consumed == 0, "(a) NeedMore consumes nothing");
        break;
      }
      if (r.status == Status::Failed) {
        failed = true;
        check(r.alert != 0 && r.reason != 0, "a failure names its alert and reason");
        check(!clean || expected.empty(), "(b) a clean record with application data opens");
        break;
      }
      check(r.consumed >= Tls13Records::kHeaderBytes + Tls13Records::kTagBytes + 1 &&
                r.consumed <= available,
            "(a) consumed is within the input");
      check(r.size <= Tls13Records::kMaxContent, "(a) content at most 2^14 bytes");
      check(r.size == 0 || (r.content >= start + Tls13Records::kHeaderBytes &&
                            r.content + r.size <= start + r.consumed),
            "(a) content within the record");
      if (r.type == Tls13Records::kApplicationData && clean) {
        const std::string_view got(r.content, r.size);
        check(expected.compare(0, got.size(), got) == 0, "(b) application data opens as sealed");
        expected.erase(0, got.size());
      }
      if (r.type == Tls13Records::kAlert) check(r.size == 2, "(b) an alert is two bytes");
      if (r.type == Tls13Records::kHandshake) clean = false;  // the read key moved on
      done += r.consumed;
    }
    wire.erase(0, done);
  }
  return 0;
}
