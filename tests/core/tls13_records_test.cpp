// Tls13Records against OpenSSL's own TLS 1.3 client, over memory BIOs: OpenSSL does the
// handshake on both sides, then the server side's records are ours (RFC 8446 §5, §4.6.3, §6).
#include "core/tls/tls13_records.hpp"

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "tests/core/tls_test_peer.hpp"

namespace parley::testing {
namespace {

using core::tls::Tls13Records;
using Status = Tls13Records::Opened::Status;

std::vector<std::string>& key_log() {
  static std::vector<std::string> lines;
  return lines;
}

Tls13Records::Secret secret_from_log(const std::string& label) {
  Tls13Records::Secret secret;
  for (const std::string& line : key_log()) {
    if (line.rfind(label + " ", 0) != 0) continue;
    const std::string hex = line.substr(line.rfind(' ') + 1);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      secret.bytes[i / 2] = static_cast<unsigned char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    secret.size = hex.size() / 2;
  }
  return secret;
}

// Everything `bio` holds.
std::string drain(BIO* bio) {
  std::string out;
  char buffer[4096];
  int n = 0;
  while ((n = BIO_read(bio, buffer, sizeof buffer)) > 0)
    out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

void feed(BIO* bio, const std::string& bytes) {
  if (!bytes.empty()) BIO_write(bio, bytes.data(), static_cast<int>(bytes.size()));
}

// An OpenSSL client and an OpenSSL server after a TLS 1.3 handshake, and the server side's
// records from the server's key log.
class Tls13RecordsTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { connect(GetParam()); }

  void connect(const std::string& suite,
               std::uint64_t records_per_key = Tls13Records::kRecordsPerKey) {
    key_log().clear();
    server_ctx_ = make_server_context();
    SSL_CTX_set_keylog_callback(server_ctx_.get(),
                                [](const SSL*, const char* line) { key_log().emplace_back(line); });
    client_ctx_ = make_client_context(suite);
    client_.reset(SSL_new(client_ctx_.get()));
    server_.reset(SSL_new(server_ctx_.get()));
    client_in_ = BIO_new(BIO_s_mem());
    client_out_ = BIO_new(BIO_s_mem());
    server_in_ = BIO_new(BIO_s_mem());
    server_out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(client_.get(), client_in_, client_out_);
    SSL_set_bio(server_.get(), server_in_, server_out_);
    SSL_set_connect_state(client_.get());
    SSL_set_accept_state(server_.get());
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 10 && !(client_done && server_done); ++round) {
      client_done = SSL_do_handshake(client_.get()) == 1;
      feed(server_in_, drain(client_out_));
      server_done = SSL_do_handshake(server_.get()) == 1;
      feed(client_in_, drain(server_out_));
    }
    ASSERT_TRUE(client_done && server_done);
    ASSERT_EQ(SSL_version(server_.get()), TLS1_3_VERSION);
    records_ = Tls13Records::make(SSL_CIPHER_get_id(SSL_get_current_cipher(server_.get())),
                                  secret_from_log("CLIENT_TRAFFIC_SECRET_0"),
                                  secret_from_log("SERVER_TRAFFIC_SECRET_0"), records_per_key);
    ASSERT_NE(records_, nullptr);
  }

  // What the client sends for `text` (SSL_write), as bytes on the wire.
  std::string client_sends(const std::string& text) {
    EXPECT_EQ(SSL_write(client_.get(), text.data(), static_cast<int>(text.size())),
              static_cast<int>(text.size()));
    return drain(client_out_);
  }

  // Everything the client reads from `wire`, until it has no more.
  std::string client_reads(const std::string& wire) {
    feed(client_in_, wire);
    std::string out;
    char buffer[4096];
    int n = 0;
    while ((n = SSL_read(client_.get(), buffer, sizeof buffer)) > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    }
    last_client_error_ = SSL_get_error(client_.get(), n);
    return out;
  }

  // Opens every record of `wire`; returns the application data, and the types seen.
  std::string open_all(std::string wire, std::vector<std::uint8_t>* types = nullptr) {
    std::string data;
    std::size_t at = 0;
    while (at < wire.size()) {
      const Tls13Records::Opened r = records_->open(wire.data() + at, wire.size() - at);
      EXPECT_EQ(r.status, Status::Record);
      if (r.status != Status::Record) break;
      if (types != nullptr) types->push_back(r.type);
      if (r.type == Tls13Records::kApplicationData) data.append(r.content, r.size);
      at += r.consumed;
    }
    return data;
  }

  SslCtxPtr server_ctx_;
  SslCtxPtr client_ctx_;
  SslPtr client_;
  SslPtr server_;
  BIO* client_in_ = nullptr;
  BIO* client_out_ = nullptr;
  BIO* server_in_ = nullptr;
  BIO* server_out_ = nullptr;
  std::unique_ptr<Tls13Records> records_;
  int last_client_error_ = 0;
};

TEST_P(Tls13RecordsTest, OpensWhatTheClientSendsAndSealsWhatItReads) {
  EXPECT_EQ(open_all(client_sends("<stream:stream to='localhost'>")),
            "<stream:stream to='localhost'>");
  std::string wire;
  ASSERT_TRUE(records_->seal(Tls13Records::kApplicationData, "<stream:features/>", wire));
  EXPECT_EQ(client_reads(wire), "<stream:features/>");
  // Sequence numbers move on in both directions: a second exchange still opens.
  EXPECT_EQ(open_all(client_sends("<presence/>")), "<presence/>");
  wire.clear();
  ASSERT_TRUE(records_->seal(Tls13Records::kApplicationData, "<presence/>", wire));
  EXPECT_EQ(client_reads(wire), "<presence/>");
}

TEST_P(Tls13RecordsTest, SplitsLongWritesIntoRecordsOfAtMost16KiB) {
  std::string text(40000, 'x');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  std::string wire;
  ASSERT_TRUE(records_->seal(Tls13Records::kApplicationData, text, wire));
  // Three records: 16384 + 16384 + 7232 bytes of content, each with a type byte and a tag.
  EXPECT_EQ(wire.size(), text.size() + 3 * (5 + 1 + 16));
  EXPECT_EQ(client_reads(wire), text);
  EXPECT_EQ(open_all(client_sends(text)), text);
}

TEST_P(Tls13RecordsTest, AnswersTheClientsKeyUpdateWithItsOwn) {
  ASSERT_EQ(SSL_key_update(client_.get(), SSL_KEY_UPDATE_REQUESTED), 1);
  std::vector<std::uint8_t> types;
  EXPECT_EQ(open_all(client_sends("after"), &types), "after");
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0], Tls13Records::kHandshake);
  EXPECT_TRUE(records_->owes_key_update());
  std::string wire;
  ASSERT_TRUE(records_->seal(Tls13Records::kApplicationData, "reply", wire));
  EXPECT_FALSE(records_->owes_key_update());
  EXPECT_EQ(client_reads(wire), "reply");  // the client opened our KeyUpdate, then the data
  // Both sides are on their next keys now.
  EXPECT_EQ(open_all(client_sends("again")), "again");
  wire.clear();
  ASSERT_TRUE(records_->seal(Tls13Records::kApplicationData, "and again", wire));
  EXPECT_EQ(client_reads(wire), "and again");
}

TEST_P(Tls13RecordsTest, AKeyUpdateTheClientDoesNotRequestIsNotAnswered) {
  ASSERT_EQ(SSL_key_update(client_.get(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  EXPECT_EQ(open_all(client_sends("after")), "after");
  EXPECT_FALSE(records_->owes_key_update());
  std::string wire;
  ASSERT_TRUE(records_->seal(Tls13Records::kApplicationData, "reply", wire));
  EXPECT_EQ(wire.size(), 5 + 5 + 1 + 16u);  // one record: no KeyUpdate before it
  EXPECT_EQ(client_reads(wire), "reply");
}

TEST_P(Tls13RecordsTest, MovesToTheNextWriteKeyBeforeTheLimit) {
  connect(GetParam(), /*records_per_key=*/2);
  std::string wire;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(records_->seal(Tls13Records::kApplicationData, "m" + std::to_string(i), wire));
  }
  // 5 records and 2 KeyUpdates (after the 2nd and the 4th), each of 5 + content + 1 + 16 bytes.
  EXPECT_EQ(wire.size(), 5 * (5 + 2 + 1 + 16) + 2 * (5 + 5 + 1 + 16u));
  EXPECT_EQ(client_reads(wire), "m0m1m2m3m4");
}

TEST_P(Tls13RecordsTest, ARunOfRecordsWithoutDataIsCutOff) {
  // 32 KeyUpdates in a row are fine (the count starts again at application data), the 33rd not.
  std::string wire;
  for (unsigned i = 0; i < Tls13Records::kMaxIdleRecords; ++i) {
    ASSERT_EQ(SSL_key_update(client_.get(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    ASSERT_EQ(SSL_do_handshake(client_.get()), 1);
  }
  wire = client_sends("data");
  ASSERT_EQ(SSL_key_update(client_.get(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  ASSERT_EQ(SSL_do_handshake(client_.get()), 1);
  wire += drain(client_out_);
  for (unsigned i = 0; i < Tls13Records::kMaxIdleRecords; ++i) {
    ASSERT_EQ(SSL_key_update(client_.get(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    ASSERT_EQ(SSL_do_handshake(client_.get()), 1);
  }
  wire += drain(client_out_);
  std::size_t at = 0;
  std::string data;
  Tls13Records::Opened r;
  for (;;) {
    r = records_->open(wire.data() + at, wire.size() - at);
    if (r.status != Status::Record) break;
    if (r.type == Tls13Records::kApplicationData) data.append(r.content, r.size);
    at += r.consumed;
  }
  EXPECT_EQ(data, "data");
  EXPECT_EQ(r.status, Status::Failed);
  EXPECT_EQ(r.alert, Tls13Records::kUnexpectedMessage);
  // The failing record is the 33rd KeyUpdate after the data, the last one sent.
  EXPECT_EQ(wire.size() - at, 5 + 5 + 1 + 16u);
}

TEST_P(Tls13RecordsTest, AKeyUpdateNotEndingItsRecordIsUnexpected) {
  // A second record layer with the client's keys plays a client that coalesces a KeyUpdate with
  // what follows (RFC 8446 §5.1 forbids it).
  auto client = Tls13Records::make(SSL_CIPHER_get_id(SSL_get_current_cipher(server_.get())),
                                   secret_from_log("SERVER_TRAFFIC_SECRET_0"),
                                   secret_from_log("CLIENT_TRAFFIC_SECRET_0"));
  ASSERT_NE(client, nullptr);
  std::string wire;
  ASSERT_TRUE(
      client->seal(Tls13Records::kHandshake, std::string("\x18\x00\x00\x01\x00x", 6), wire));
  const auto r = records_->open(wire.data(), wire.size());
  EXPECT_EQ(r.status, Status::Failed);
  EXPECT_EQ(r.alert, Tls13Records::kUnexpectedMessage);
}

TEST_P(Tls13RecordsTest, RejectsATamperedRecordWithBadRecordMac) {
  std::string wire = client_sends("<message/>");
  wire[wire.size() - 3] ^= 0x01;  // in the tag
  const auto r = records_->open(wire.data(), wire.size());
  EXPECT_EQ(r.status, Status::Failed);
  EXPECT_EQ(r.alert, Tls13Records::kBadRecordMac);
  wire = client_sends("<message/>");
  wire[8] ^= 0x40;  // in the ciphertext
  EXPECT_EQ(records_->open(wire.data(), wire.size()).alert, Tls13Records::kBadRecordMac);
}

TEST_P(Tls13RecordsTest, RejectsARecordOpenedTwiceOrOutOfOrder) {
  [[maybe_unused]] const std::string first = client_sends("one");
  const std::string second = client_sends("two");
  std::string copy = second;  // sequence number 1, opened as 0
  EXPECT_EQ(records_->open(copy.data(), copy.size()).alert, Tls13Records::kBadRecordMac);
}

TEST_P(Tls13RecordsTest, WaitsForTheWholeRecord) {
  std::string wire = client_sends("<iq type='get' id='1'/>");
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_EQ(records_->open(wire.data(), n).status, Status::NeedMore) << n << " bytes";
  }
  EXPECT_EQ(open_all(wire), "<iq type='get' id='1'/>");
}

TEST_P(Tls13RecordsTest, TheClientsCloseNotifyIsAnAlert) {
  ASSERT_GE(SSL_shutdown(client_.get()), 0);
  std::string wire = drain(client_out_);
  const auto r = records_->open(wire.data(), wire.size());
  ASSERT_EQ(r.status, Status::Record);
  EXPECT_EQ(r.type, Tls13Records::kAlert);
  ASSERT_EQ(r.size, 2u);
  EXPECT_EQ(r.content[1], Tls13Records::kCloseNotify);
}

TEST_P(Tls13RecordsTest, OurCloseNotifyEndsTheClientsReads) {
  std::string wire;
  ASSERT_TRUE(records_->seal(Tls13Records::kApplicationData, "last", wire));
  ASSERT_TRUE(records_->seal_alert(Tls13Records::kCloseNotify, wire));
  EXPECT_EQ(client_reads(wire), "last");
  EXPECT_EQ(last_client_error_, SSL_ERROR_ZERO_RETURN);
}

TEST_P(Tls13RecordsTest, AFatalAlertReachesTheClient) {
  std::string wire;
  ASSERT_TRUE(records_->seal_alert(Tls13Records::kDecodeError, wire));
  EXPECT_EQ(client_reads(wire), "");
  EXPECT_EQ(last_client_error_, SSL_ERROR_SSL);
}

INSTANTIATE_TEST_SUITE_P(Suites, Tls13RecordsTest,
                         ::testing::Values("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"));

// Records that are not well-formed, independent of keys.
class Tls13RecordsFramingTest : public Tls13RecordsTest {
 protected:
  void SetUp() override {}  // each test connects with its suite
};

TEST_F(Tls13RecordsFramingTest, AnUnprotectedRecordAfterTheHandshakeIsUnexpected) {
  connect("TLS_AES_128_GCM_SHA256");
  std::string change_cipher_spec("\x14\x03\x03\x00\x01\x01", 6);
  auto r = records_->open(change_cipher_spec.data(), change_cipher_spec.size());
  EXPECT_EQ(r.status, Status::Failed);
  EXPECT_EQ(r.alert, Tls13Records::kUnexpectedMessage);
  std::string plaintext_alert("\x15\x03\x03\x00\x02\x01\x00", 7);
  EXPECT_EQ(records_->open(plaintext_alert.data(), plaintext_alert.size()).alert,
            Tls13Records::kUnexpectedMessage);
}

TEST_F(Tls13RecordsFramingTest, ARecordLongerThanTheLimitOverflows) {
  connect("TLS_AES_128_GCM_SHA256");
  // 2^14 + 256 + 1 bytes announced: refused from the header, before it arrives.
  std::string header("\x17\x03\x03\x41\x01", 5);
  const auto r = records_->open(header.data(), header.size());
  EXPECT_EQ(r.status, Status::Failed);
  EXPECT_EQ(r.alert, Tls13Records::kRecordOverflow);
}

TEST_F(Tls13RecordsFramingTest, ARecordTooShortForItsTagIsABadRecordMac) {
  connect("TLS_AES_128_GCM_SHA256");
  std::string record("\x17\x03\x03\x00\x04\x00\x00\x00\x00", 9);
  EXPECT_EQ(records_->open(record.data(), record.size()).alert, Tls13Records::kBadRecordMac);
}

TEST(Tls13RecordsMakeTest, RefusesSuitesAndSecretsItDoesNotKnow) {
  Tls13Records::Secret secret;
  secret.size = 32;
  EXPECT_NE(Tls13Records::make(TLS1_3_CK_AES_128_GCM_SHA256, secret, secret), nullptr);
  EXPECT_EQ(Tls13Records::make(TLS1_3_CK_AES_128_CCM_SHA256, secret, secret), nullptr);
  EXPECT_EQ(Tls13Records::make(TLS1_3_CK_AES_256_GCM_SHA384, secret, secret), nullptr);  // 48
}

}  // namespace
}  // namespace parley::testing
