#include "core/tls/tls13_records.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/ssl.h>
#include <openssl/tls1.h>

#include <cstring>

namespace parley::core::tls {
namespace {

// The TLS 1.3 suites OpenSSL enables by default (RFC 8446 §B.4); the CCM suites it does not.
struct Suite {
  std::uint32_t id;
  const char* cipher;
  const char* digest;
  std::size_t key_bytes;
  std::size_t hash_bytes;
};
constexpr std::array<Suite, 3> kSuites{{
    {TLS1_3_CK_AES_128_GCM_SHA256, "AES-128-GCM", "SHA256", 16, 32},
    {TLS1_3_CK_AES_256_GCM_SHA384, "AES-256-GCM", "SHA384", 32, 48},
    {TLS1_3_CK_CHACHA20_POLY1305_SHA256, "ChaCha20-Poly1305", "SHA256", 32, 32},
}};

// Each suite's cipher, fetched once for the process (a fetch by name per record would cost more
// than the record).
const EVP_CIPHER* cipher_of(std::size_t suite) {
  static const std::array<EVP_CIPHER*, kSuites.size()> ciphers = [] {
    std::array<EVP_CIPHER*, kSuites.size()> out{};
    for (std::size_t i = 0; i < kSuites.size(); ++i) {
      out[i] = EVP_CIPHER_fetch(nullptr, kSuites[i].cipher, nullptr);
    }
    return out;
  }();
  return ciphers[suite];
}

// One cipher context per suite and direction per thread: a record sets its key and nonce, so
// connections share them and an idle connection holds none.
EVP_CIPHER_CTX* context_of(std::size_t suite, bool encrypt) {
  struct Contexts {
    std::array<std::array<EVP_CIPHER_CTX*, 2>, kSuites.size()> ctx{};
    ~Contexts() {
      for (auto& pair : ctx) {
        for (EVP_CIPHER_CTX* c : pair) EVP_CIPHER_CTX_free(c);
      }
    }
  };
  thread_local Contexts contexts;
  EVP_CIPHER_CTX*& ctx = contexts.ctx[suite][encrypt ? 1 : 0];
  if (ctx == nullptr) {
    const EVP_CIPHER* cipher = cipher_of(suite);
    EVP_CIPHER_CTX* fresh = EVP_CIPHER_CTX_new();
    if (cipher == nullptr || fresh == nullptr ||
        EVP_CipherInit_ex2(fresh, cipher, nullptr, nullptr, encrypt ? 1 : 0, nullptr) != 1) {
      EVP_CIPHER_CTX_free(fresh);
      return nullptr;
    }
    ctx = fresh;
  }
  return ctx;
}

// HKDF-Expand-Label(secret, label, "", size) of RFC 8446 §7.1, by OpenSSL's TLS13-KDF.
bool expand_label(const Suite& suite, const Tls13Records::Secret& secret, std::string_view label,
                  unsigned char* out, std::size_t size) {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_TLS1_3_KDF, nullptr);
  if (kdf == nullptr) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) return false;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  static constexpr char kPrefix[] = "tls13 ";
  const std::array<OSSL_PARAM, 6> params{
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(suite.digest), 0),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(secret.bytes.data()), secret.size),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, const_cast<char*>(kPrefix),
                                        sizeof kPrefix - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, const_cast<char*>(label.data()),
                                        label.size()),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = EVP_KDF_derive(ctx, out, size, params.data()) == 1;
  EVP_KDF_CTX_free(ctx);
  return ok;
}

void put_header(char* at, std::uint8_t type, std::size_t length) {
  at[0] = static_cast<char>(type);
  at[1] = 0x03;  // legacy_record_version 0x0303 (§5.1)
  at[2] = 0x03;
  at[3] = static_cast<char>(length >> 8);
  at[4] = static_cast<char>(length & 0xff);
}

Tls13Records::Opened failed(std::uint8_t alert, int reason) {
  Tls13Records::Opened out;
  out.status = Tls13Records::Opened::Status::Failed;
  out.alert = alert;
  out.reason = reason;
  return out;
}

}  // namespace

Tls13Records::Secret::~Secret() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Tls13Records::~Tls13Records() {
  OPENSSL_cleanse(read_.key.data(), read_.key.size());
  OPENSSL_cleanse(write_.key.data(), write_.key.size());
}

std::unique_ptr<Tls13Records> Tls13Records::make(std::uint32_t cipher_id, const Secret& read,
                                                 const Secret& write,
                                                 std::uint64_t records_per_key) {
  for (std::size_t i = 0; i < kSuites.size(); ++i) {
    if (kSuites[i].id != cipher_id) continue;
    if (read.size != kSuites[i].hash_bytes || write.size != kSuites[i].hash_bytes) return nullptr;
    if (context_of(i, true) == nullptr || context_of(i, false) == nullptr) return nullptr;
    std::unique_ptr<Tls13Records> records(new Tls13Records());
    records->suite_ = static_cast<std::uint8_t>(i);
    records->records_per_key_ = records_per_key;
    records->read_.secret = read;
    records->write_.secret = write;
    if (!records->derive(records->read_, false) || !records->derive(records->write_, false)) {
      return nullptr;
    }
    return records;
  }
  return nullptr;
}

bool Tls13Records::derive(Direction& direction, bool advance) {
  const Suite& suite = kSuites[suite_];
  // Everything is derived first and committed together: a direction never has a new sequence
  // number with an old key, even when OpenSSL fails half way (a nonce must never repeat).
  Secret secret;
  secret.size = direction.secret.size;
  if (advance) {
    // §7.2: the next application traffic secret is
    // HKDF-Expand-Label(secret, "traffic upd", "", Hash.length).
    if (!expand_label(suite, direction.secret, "traffic upd", secret.bytes.data(), secret.size)) {
      return false;
    }
  } else {
    secret.bytes = direction.secret.bytes;
  }
  std::array<unsigned char, 32> key{};
  std::array<unsigned char, 12> iv{};
  if (!expand_label(suite, secret, "key", key.data(), suite.key_bytes) ||
      !expand_label(suite, secret, "iv", iv.data(), iv.size())) {
    OPENSSL_cleanse(key.data(), key.size());
    return false;
  }
  direction.secret = secret;
  direction.key = key;
  direction.iv = iv;
  OPENSSL_cleanse(key.data(), key.size());
  if (advance) direction.sequence = 0;
  return true;
}

namespace {

// One AEAD operation of §5.2 over [text, text + size) in place: the nonce is the IV XOR the
// sequence number, the additional data the record header. Decrypting checks `tag`; encrypting
// writes it.
bool crypt(EVP_CIPHER_CTX* ctx, const std::array<unsigned char, 32>& key,
           const std::array<unsigned char, 12>& iv, std::uint64_t sequence, bool encrypt,
           const char* header, char* text, std::size_t size, char* tag) {
  std::array<unsigned char, 12> nonce = iv;
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<unsigned char>(sequence >> (8 * i));
  }
  auto* bytes = reinterpret_cast<unsigned char*>(text);
  int written = 0;
  if (EVP_CipherInit_ex2(ctx, nullptr, key.data(), nonce.data(), encrypt ? 1 : 0, nullptr) != 1 ||
      EVP_CipherUpdate(ctx, nullptr, &written, reinterpret_cast<const unsigned char*>(header),
                       static_cast<int>(Tls13Records::kHeaderBytes)) != 1 ||
      EVP_CipherUpdate(ctx, bytes, &written, bytes, static_cast<int>(size)) != 1) {
    return false;
  }
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
                                      static_cast<int>(Tls13Records::kTagBytes), tag) != 1) {
    return false;
  }
  int final_bytes = 0;
  if (EVP_CipherFinal_ex(ctx, bytes + written, &final_bytes) != 1) return false;  // a bad tag
  return !encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
                                         static_cast<int>(Tls13Records::kTagBytes), tag) == 1;
}

}  // namespace

Tls13Records::Opened Tls13Records::open(char* data, std::size_t size) {
  if (size < kHeaderBytes) return {};
  const auto type = static_cast<std::uint8_t>(data[0]);
  const std::size_t length = record_length(data);
  // §5: after the handshake every record is protected, so its outer type is application_data; a
  // change_cipher_spec now is unexpected too (§5, "after the peer's Finished").
  if (type != kApplicationData) return failed(kUnexpectedMessage, SSL_R_UNEXPECTED_RECORD);
  if (length > kMaxCiphertext) return failed(kRecordOverflow, SSL_R_ENCRYPTED_LENGTH_TOO_LONG);
  if (size < kHeaderBytes + length) return {};
  if (length < kTagBytes + 1)
    return failed(kBadRecordMac, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
  char* text = data + kHeaderBytes;
  const std::size_t text_size = length - kTagBytes;
  if (!crypt(context_of(suite_, false), read_.key, read_.iv, read_.sequence, false, data, text,
             text_size, text + text_size)) {
    return failed(kBadRecordMac, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
  }
  ++read_.sequence;
  // §5.4: the whole TLSInnerPlaintext (content, type, padding) is at most 2^14 + 1 bytes.
  if (text_size > kMaxContent + 1) return failed(kRecordOverflow, SSL_R_DATA_LENGTH_TOO_LONG);
  // §5.4: the content type is the last non-zero byte; zeros after it are padding.
  std::size_t end = text_size;
  while (end > 0 && text[end - 1] == 0) --end;
  if (end == 0) return failed(kUnexpectedMessage, SSL_R_BAD_RECORD_TYPE);
  Opened out;
  out.status = Opened::Status::Record;
  out.consumed = kHeaderBytes + length;
  out.type = static_cast<std::uint8_t>(text[end - 1]);
  out.content = text;
  out.size = end - 1;
  // Records that carry no application data (empty ones, KeyUpdates, user_canceled alerts) cost
  // a decryption each and move nothing: a peer gets a bounded run of them, as from OpenSSL.
  if (out.type == kApplicationData && out.size > 0) {
    idle_records_ = 0;
  } else if (++idle_records_ > kMaxIdleRecords) {
    return failed(kUnexpectedMessage, SSL_R_UNEXPECTED_RECORD);
  }
  switch (out.type) {
    case kApplicationData:
      return out;
    case kAlert:
      // §6: an alert is a level and a description, alone in its record.
      if (out.size != 2) return failed(kDecodeError, SSL_R_BAD_LENGTH);
      return out;
    case kHandshake: {
      // §4.6.3: a KeyUpdate is the last message of its record (§5.1); a client may send no other
      // handshake message here, since this server requests no post-handshake authentication and
      // a NewSessionTicket comes only from servers.
      const auto* m = reinterpret_cast<const unsigned char*>(text);
      constexpr unsigned char kKeyUpdate = 24;
      if (out.size < 4 || m[0] != kKeyUpdate) {
        return failed(kUnexpectedMessage, SSL_R_UNEXPECTED_MESSAGE);
      }
      if (m[1] != 0 || m[2] != 0 || m[3] != 1) return failed(kDecodeError, SSL_R_BAD_LENGTH);
      // §5.1: a KeyUpdate must end its record; one cut short or followed by more is
      // unexpected_message.
      if (out.size != 5) return failed(kUnexpectedMessage, SSL_R_NOT_ON_RECORD_BOUNDARY);
      if (m[4] > 1) return failed(kIllegalParameter, SSL_R_BAD_KEY_UPDATE);
      if (!derive(read_, true)) return failed(kUnexpectedMessage, SSL_R_BAD_KEY_UPDATE);
      if (m[4] == 1) owe_key_update_ = true;  // update_requested
      out.size = 0;
      return out;
    }
    default:
      return failed(kUnexpectedMessage, SSL_R_UNEXPECTED_RECORD);
  }
}

bool Tls13Records::seal_one(std::uint8_t type, std::string_view content, std::string& out) {
  if (write_.sequence >= records_per_key_ && !seal_key_update(false, out)) return false;
  const std::size_t inner = content.size() + 1;  // the content and its type, no padding
  const std::size_t at = out.size();
  out.resize(at + kHeaderBytes + inner + kTagBytes);
  char* record = out.data() + at;
  put_header(record, kApplicationData, inner + kTagBytes);
  char* text = record + kHeaderBytes;
  std::memcpy(text, content.data(), content.size());
  text[content.size()] = static_cast<char>(type);
  // Encryption fails only when OpenSSL cannot allocate.
  if (!crypt(context_of(suite_, true), write_.key, write_.iv, write_.sequence, true, record, text,
             inner, text + inner)) {
    out.resize(at);
    return false;
  }
  ++write_.sequence;
  return true;
}

bool Tls13Records::seal_key_update(bool request, std::string& out) {
  // §4.6.3: msg_type key_update (24), length 1, request_update.
  const std::array<char, 5> message{24, 0, 0, 1, static_cast<char>(request ? 1 : 0)};
  owe_key_update_ = false;
  // Sealed under the current key; everything after it under the next one.
  const std::uint64_t limit = records_per_key_;
  records_per_key_ = UINT64_MAX;  // seal_one() must not recurse here
  const bool sealed = seal_one(kHandshake, std::string_view(message.data(), message.size()), out);
  records_per_key_ = limit;
  return sealed && derive(write_, true);
}

bool Tls13Records::seal(std::uint8_t type, std::string_view content, std::string& out) {
  if (owe_key_update_ && !seal_key_update(false, out)) return false;
  while (!content.empty()) {
    const std::string_view chunk = content.substr(0, kMaxContent);
    if (!seal_one(type, chunk, out)) return false;
    content.remove_prefix(chunk.size());
  }
  return true;
}

bool Tls13Records::seal_alert(std::uint8_t description, std::string& out) {
  // §6: close_notify and user_canceled are warnings; every other alert here is fatal.
  const bool warning = description == kCloseNotify || description == kUserCanceled;
  const std::array<char, 2> alert{static_cast<char>(warning ? 1 : 2),
                                  static_cast<char>(description)};
  return seal(kAlert, std::string_view(alert.data(), alert.size()), out);
}

}  // namespace parley::core::tls
