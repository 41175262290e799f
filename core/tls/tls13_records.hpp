// The TLS 1.3 record layer (RFC 8446 §5.2–5.5, §4.6.3 KeyUpdate, §6 alerts) of an established
// connection, for TlsSocket once OpenSSL has done the handshake: OpenSSL keeps about 13.9 KiB per
// idle connection (the SSL object, its copies of the context's structures, transcript and cipher
// contexts), where the traffic secrets, keys and sequence numbers below are 232 bytes. The AEAD
// and the key schedule are OpenSSL's (EVP ciphers, the TLS13-KDF); this class frames and numbers
// records, pads nothing, and answers the few post-handshake messages a client may send. Why this
// exists and what it does not do: docs/SECURITY.md ("TLS after the handshake").
//
// Thread-safety: none; an object belongs to one connection. Cipher contexts are per thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace parley::core::tls {

class Tls13Records {
 public:
  // A traffic secret (RFC 8446 §7.1): 32 bytes for SHA-256 suites, 48 for SHA-384. Wiped when
  // destroyed.
  struct Secret {
    std::array<unsigned char, 48> bytes{};
    std::size_t size = 0;
    ~Secret();
  };

  // Content types (RFC 8446 §5.1) and alert descriptions (§6) this layer uses.
  static constexpr std::uint8_t kChangeCipherSpec = 20;
  static constexpr std::uint8_t kAlert = 21;
  static constexpr std::uint8_t kHandshake = 22;
  static constexpr std::uint8_t kApplicationData = 23;
  static constexpr std::uint8_t kCloseNotify = 0;
  static constexpr std::uint8_t kUnexpectedMessage = 10;
  static constexpr std::uint8_t kBadRecordMac = 20;
  static constexpr std::uint8_t kRecordOverflow = 22;
  static constexpr std::uint8_t kIllegalParameter = 47;
  static constexpr std::uint8_t kDecodeError = 50;
  static constexpr std::uint8_t kUserCanceled = 90;

  static constexpr std::size_t kHeaderBytes = 5;
  static constexpr std::size_t kTagBytes = 16;
  static constexpr std::size_t kMaxContent = 16384;                 // 2^14, §5.1
  static constexpr std::size_t kMaxCiphertext = kMaxContent + 256;  // §5.2
  // Records sealed under one key before this side moves to the next (§5.5 allows AES-GCM about
  // 2^24.5 full-size records per key; this stays well below).
  static constexpr std::uint64_t kRecordsPerKey = std::uint64_t{1} << 23;
  // Records in a row that carry no application data before open() fails (OpenSSL allows 32 empty
  // records and 32 KeyUpdates; BoringSSL 32 KeyUpdates).
  static constexpr unsigned kMaxIdleRecords = 32;

  // For the suite OpenSSL negotiated (SSL_CIPHER_get_id: TLS1_3_CK_AES_128_GCM_SHA256,
  // TLS1_3_CK_AES_256_GCM_SHA384 or TLS1_3_CK_CHACHA20_POLY1305_SHA256) and the peer's and our
  // application traffic secrets at the first record after the handshake (sequence numbers 0).
  // nullptr for any other suite, a secret of the wrong size, or when OpenSSL cannot derive keys.
  static std::unique_ptr<Tls13Records> make(std::uint32_t cipher_id, const Secret& read,
                                            const Secret& write,
                                            std::uint64_t records_per_key = kRecordsPerKey);
  ~Tls13Records();
  Tls13Records(const Tls13Records&) = delete;
  Tls13Records& operator=(const Tls13Records&) = delete;

  // The ciphertext length a record header announces (the 5 bytes at `header`, §5.2).
  static std::size_t record_length(const char* header) {
    return (static_cast<std::size_t>(static_cast<unsigned char>(header[3])) << 8) |
           static_cast<unsigned char>(header[4]);
  }

  // What open() found at the start of its input.
  struct Opened {
    enum class Status { NeedMore, Record, Failed };
    Status status = Status::NeedMore;
    std::size_t consumed = 0;  // Record: the record's bytes, header included
    // Record: the inner content type and content, decrypted in place in the input. A KeyUpdate
    // has been applied already (type kHandshake, no content); an alert is its two bytes.
    std::uint8_t type = 0;
    char* content = nullptr;
    std::size_t size = 0;
    // Failed: the fatal alert owed to the peer (§6.2), and OpenSSL's reason code (SSL_R_*) for
    // the same condition, so that errors read as OpenSSL's would.
    std::uint8_t alert = 0;
    int reason = 0;
  };
  // Opens the first record of [data, data + size), in place. Application data (possibly empty)
  // and alerts are returned; a KeyUpdate moves the read key on (and, when the peer requests it,
  // makes the next seal() send ours first); anything else a client may not send after the
  // handshake fails.
  Opened open(char* data, std::size_t size);

  // Appends `content` to `out` as records of `type` (at most kMaxContent bytes each; nothing for
  // empty application data), preceded by a KeyUpdate when one is owed or the write key is used up.
  // False (and the connection is unusable) only when OpenSSL cannot encrypt, e.g. out of memory.
  bool seal(std::uint8_t type, std::string_view content, std::string& out);
  // The bytes of the fatal or warning alert `description` (level 2 unless close_notify or
  // user_canceled), as one record appended to `out`.
  bool seal_alert(std::uint8_t description, std::string& out);

  // Whether the peer asked for our KeyUpdate and the next seal() will send it.
  bool owes_key_update() const { return owe_key_update_; }

 private:
  struct Direction {
    Secret secret;
    std::array<unsigned char, 32> key{};
    std::array<unsigned char, 12> iv{};
    std::uint64_t sequence = 0;
  };
  Tls13Records() = default;
  // The direction's key and IV from its secret (§7.3); then its next secret, when `advance`
  // (§7.2, "traffic upd"). False when OpenSSL fails.
  bool derive(Direction& direction, bool advance);
  // Seals one record of at most kMaxContent bytes.
  bool seal_one(std::uint8_t type, std::string_view content, std::string& out);
  // Sends our KeyUpdate (update_requested = `request`) and moves the write key on.
  bool seal_key_update(bool request, std::string& out);

  std::uint8_t suite_ = 0;  // index into the suite table in the .cpp
  bool owe_key_update_ = false;
  unsigned idle_records_ = 0;  // records in a row without application data (kMaxIdleRecords)
  std::uint64_t records_per_key_ = kRecordsPerKey;
  Direction read_;
  Direction write_;
};

}  // namespace parley::core::tls
