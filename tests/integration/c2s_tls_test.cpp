// Certificates per virtual host: SNI picks the host's certificate (RFC 6066 §3), and SIGHUP reloads
// the configuration and certificates for new streams without dropping the established ones.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_process.hpp"

namespace parley::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kTwoHosts =
    "[[host]]\ndomain = \"localhost\"\n\n[[host]]\ndomain = \"example.test\"\n";

// The SHA-256 fingerprint of the certificate the server presented on this connection.
std::string peer_fingerprint(const Client& client) {
  X509* cert = SSL_get1_peer_certificate(client.ssl());
  if (cert == nullptr) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  X509_free(cert);
  return std::string(reinterpret_cast<const char*>(md), n);
}

bool peer_certificate_names(const Client& client, const std::string& host) {
  X509* cert = SSL_get1_peer_certificate(client.ssl());
  if (cert == nullptr) return false;
  const bool ok = X509_check_host(cert, host.data(), host.size(), 0, nullptr) == 1;
  X509_free(cert);
  return ok;
}

// Waits until the server's log contains `text` (bounded).
bool wait_for_log(const ServerProcess& server, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (server.output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(C2sTlsTest, SniPicksTheCertificateOfTheNamedHost) {
  ServerProcess server({}, std::nullopt, std::string(kTwoHosts));
  TlsOptions other;
  other.server_name = "example.test";
  other.alpn = {"xmpp-client"};
  Client to_other(server.tls_port(), other);
  EXPECT_TRUE(peer_certificate_names(to_other, "example.test"));
  EXPECT_FALSE(peer_certificate_names(to_other, "localhost"));

  TlsOptions local;
  local.server_name = "localhost";
  Client to_local(server.tls_port(), local);
  EXPECT_TRUE(peer_certificate_names(to_local, "localhost"));
  EXPECT_NE(peer_fingerprint(to_local), peer_fingerprint(to_other));
}

TEST(C2sTlsTest, StartTlsPresentsTheCertificateOfTheStreamsDomain) {
  ServerProcess server({}, std::nullopt, std::string(kTwoHosts));
  Client client(server.port());
  client.open_stream(
      "<?xml version='1.0'?><stream:stream to='example.test' version='1.0' "
      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  TlsOptions no_sni;
  no_sni.server_name.clear();  // no SNI: the stream's 'to' chooses
  client.starttls(no_sni);
  EXPECT_TRUE(peer_certificate_names(client, "example.test"));
}

TEST(C2sTlsTest, SighupReloadsWithoutDroppingSessions) {
  ServerProcess server({}, std::nullopt, "[[host]]\ndomain = \"localhost\"\n");
  server.add_user("alice@localhost", "secret");

  TlsOptions local;
  Client before(server.tls_port(), local);
  const std::string old_fingerprint = peer_fingerprint(before);
  before.login("alice", "secret");

  // A new domain in the configuration file, and a new certificate for localhost (the generated
  // one removed: the reload makes another).
  std::filesystem::path config;
  for (const auto& entry : std::filesystem::directory_iterator(server.data_dir().parent_path())) {
    if (entry.path().extension() == ".toml") config = entry.path();
  }
  ASSERT_FALSE(config.empty()) << "the test's config file";
  {
    std::ofstream out(config, std::ios::trunc);
    out << kTwoHosts;
  }
  std::filesystem::remove(server.data_dir() / "localhost.crt");
  std::filesystem::remove(server.data_dir() / "localhost.key");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_for_log(server, "reloaded")) << server.output();

  // The established session is still there and answers.
  const xml::Document pong =
      before.iq("<iq type='get' id='after-hup'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(pong.root().attr("type"), "result") << before.received();

  // New connections see the new certificate and the new domain.
  Client after(server.tls_port(), local);
  EXPECT_NE(peer_fingerprint(after), old_fingerprint);
  Client other(server.port());
  const xml::Document features = other.open_stream(
      "<?xml version='1.0'?><stream:stream to='example.test' version='1.0' "
      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  EXPECT_TRUE(features.root().child("starttls", "urn:ietf:params:xml:ns:xmpp-tls"))
      << other.received();
}

TEST(C2sTlsTest, SighupWithABrokenConfigurationKeepsTheOldOne) {
  ServerProcess server({}, std::nullopt, "[[host]]\ndomain = \"localhost\"\n");
  std::filesystem::path config;
  for (const auto& entry : std::filesystem::directory_iterator(server.data_dir().parent_path())) {
    if (entry.path().extension() == ".toml") config = entry.path();
  }
  ASSERT_FALSE(config.empty());
  {
    std::ofstream out(config, std::ios::trunc);
    out << "[[host]]\ndomian = \"x\"\n";
  }
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_for_log(server, "reload failed")) << server.output();
  Client client(server.port());
  const xml::Document features = client.open_stream();
  EXPECT_TRUE(features.root().child("starttls", "urn:ietf:params:xml:ns:xmpp-tls"));
}

// A client that drops its connection with a TCP reset while messages are on their way to it
// costs that connection only: OpenSSL's write to the reset socket fails with EPIPE, and the
// server (which ignores SIGPIPE) goes on serving everyone else. Several rounds, messages queued
// for the client before and after its reset, so that some write meets the reset socket. Headlines:
// not stored for later.
TEST(C2sTlsTest, AClientResettingItsConnectionCostsOnlyThatConnection) {
  // No stanza rate limit: alice sends 40 messages a round.
  ServerProcess server({}, std::nullopt,
                       "[limits]\nstanzas_per_second = 0\n[[host]]\ndomain = \"localhost\"\n");
  server.add_user("alice@localhost", "secret");
  server.add_user("bob@localhost", "secret");
  Client alice(server.port());
  alice.login("alice", "secret", "SCRAM-SHA-256", "desk");
  const std::string body(2000, 'x');
  for (int round = 0; round < 10; ++round) {
    Client bob(server.port());
    const std::string bob_jid =
        bob.login("bob", "secret", "SCRAM-SHA-256", "r" + std::to_string(round));
    const std::string message =
        "<message to='" + bob_jid + "' type='headline'><body>" + body + "</body></message>";
    for (int i = 0; i < 20; ++i) alice.send(message);
    bob.reset_connection();
    for (int i = 0; i < 20; ++i) alice.send(message);
    // The server still answers alice (the errors for messages that found no session come first).
    const std::string id = "ping" + std::to_string(round);
    alice.send("<iq type='get' id='" + id + "'><ping xmlns='urn:xmpp:ping'/></iq>");
    std::string answer;
    for (int k = 0; k < 100 && answer.empty(); ++k) {
      auto event = alice.next_event();
      ASSERT_TRUE(event && event->type == xml::StreamParser::EventType::Element)
          << "round " << round << ": no answer to the ping\n"
          << server.output();
      const xml::Element root = event->element.root();
      if (root.name() == "iq" && root.attr("id") == id) answer = std::string(root.attr("type"));
    }
    ASSERT_EQ(answer, "result") << "round " << round << "\n" << server.output();
  }
  Client carol(server.port());
  EXPECT_EQ(carol.open_stream().root().name(), "features") << carol.received();
}

TEST(C2sTlsTest, BurstsLargerThanEveryReadBufferArriveWhole) {
  // TlsSocket reads 512 bytes per connection first and the rest of a burst into a buffer of the
  // thread; OpenSSL may leave part of what was read for later. Bursts of every size from small
  // to far beyond 16 KiB, and single stanzas of 100 KiB, must arrive byte for byte, in order.
  ServerProcess server({}, std::nullopt,
                       "[limits]\nstanzas_per_second = 0\n[[host]]\ndomain = \"localhost\"\n");
  server.add_user("alice@localhost", "secret");
  server.add_user("bob@localhost", "secret");
  Client alice(server.port());
  alice.login("alice", "secret", "SCRAM-SHA-256", "desk");
  Client bob(server.port());
  const std::string bob_jid = bob.login("bob", "secret", "SCRAM-SHA-256", "desk");
  std::vector<std::string> bodies;
  std::string burst;
  int number = 0;
  for (const std::size_t size : {1u, 300u, 511u, 512u, 513u, 4000u, 16384u, 40000u, 100000u}) {
    for (int copy = 0; copy < 3; ++copy) {
      std::string body = std::to_string(number++) + ":";
      for (std::size_t i = body.size(); i < size; ++i)
        body += static_cast<char>('a' + (i * 7 + copy) % 26);
      burst += "<message type='chat' to='" + bob_jid + "'><body>" + body + "</body></message>";
      bodies.push_back(std::move(body));
    }
    if (burst.size() > 60000) {
      alice.send(burst);  // one write: TLS records back to back
      burst.clear();
    }
  }
  alice.send(burst);
  for (const std::string& expected : bodies) {
    const xml::Document got = read_until(bob, [](xml::Element e) { return e.name() == "message"; });
    ASSERT_EQ(got.root().child("body").text(), expected) << server.output();
  }
}

// Alice and Bob exchange messages while each asks for a TLS 1.3 KeyUpdate (RFC 8446 §4.6.3): the
// server must move its read key on and, when asked, send its own KeyUpdate before its next record.
void exchange_with_key_updates(ServerProcess& server) {
  server.add_user("alice@localhost", "secret");
  server.add_user("bob@localhost", "secret");
  Client alice(server.port());
  const std::string alice_jid = alice.login("alice", "secret", "SCRAM-SHA-256", "desk");
  Client bob(server.port());
  const std::string bob_jid = bob.login("bob", "secret", "SCRAM-SHA-256", "desk");
  ASSERT_EQ(SSL_version(alice.ssl()), TLS1_3_VERSION);
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(SSL_key_update(alice.ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
    const std::string to_bob = "to bob " + std::to_string(round);
    alice.send("<message type='chat' to='" + bob_jid + "'><body>" + to_bob + "</body></message>");
    xml::Document got = read_until(bob, [](xml::Element e) { return e.name() == "message"; });
    ASSERT_EQ(got.root().child("body").text(), to_bob) << server.output();
    ASSERT_EQ(SSL_key_update(bob.ssl(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    const std::string to_alice = "to alice " + std::to_string(round);
    bob.send("<message type='chat' to='" + alice_jid + "'><body>" + to_alice + "</body></message>");
    got = read_until(alice, [](xml::Element e) { return e.name() == "message"; });
    ASSERT_EQ(got.root().child("body").text(), to_alice) << server.output();
  }
}

TEST(C2sTlsTest, ClientKeyUpdatesKeepTheSessionGoing) {
  // The default: after the handshake the records are Parley's (core/tls/Tls13Records).
  ServerProcess server;
  exchange_with_key_updates(server);
  EXPECT_TRUE(
      wait_for_log(server, "TLS established (TLSv1.3, TLS_AES_128_GCM_SHA256, records by Parley)"))
      << server.output();
}

TEST(C2sTlsTest, WithCompactTlsOffOpenSslKeepsTheConnection) {
  ServerProcess server({}, std::nullopt,
                       "[c2s]\ncompact_tls = false\n"
                       "[[host]]\ndomain = \"localhost\"\n");
  exchange_with_key_updates(server);
  EXPECT_TRUE(wait_for_log(server, "TLS established (TLSv1.3, TLS_AES_128_GCM_SHA256)"))
      << server.output();
  EXPECT_EQ(server.output().find("records by Parley"), std::string::npos) << server.output();
}

// The server's TLS 1.3 preference: AES-128-GCM, whatever the client's order among the AES suites,
// unless the client puts ChaCha20 first (SSL_OP_PRIORITIZE_CHACHA: a client without AES
// instructions); the session then works with each suite through the whole server.
TEST(C2sTlsTest, TheServerPrefersAes128GcmAndGivesChaChaToClientsThatPutItFirst) {
  ServerProcess server;
  server.add_user("alice@localhost", "secret");
  struct Case {
    std::string offered;
    std::string negotiated;
  };
  const std::vector<Case> cases{
      {"", "TLS_AES_128_GCM_SHA256"},  // OpenSSL's own order: AES-256-GCM first
      {"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"},
      {"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"},
      {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.offered.empty() ? std::string("OpenSSL's default order") : c.offered);
    Client client(server.port());
    client.open_stream();
    TlsOptions options;
    options.ciphersuites = c.offered;
    client.starttls(options);
    EXPECT_EQ(std::string(SSL_CIPHER_get_name(SSL_get_current_cipher(client.ssl()))), c.negotiated);
    const std::string jid = client.login("alice", "secret", "SCRAM-SHA-256", "desk");
    client.send("<message type='chat' to='" + jid + "'><body>" + c.negotiated +
                "</body></message>");
    xml::Document got = read_until(client, [](xml::Element e) { return e.name() == "message"; });
    EXPECT_EQ(got.root().child("body").text(), c.negotiated) << server.output();
  }
}

// tls13_ciphersuites: the operator's order wins over the client's, and a suite left out is
// refused even to a client that offers nothing else.
TEST(C2sTlsTest, Tls13CiphersuitesSetsTheServersOrder) {
  ServerProcess server({}, std::nullopt,
                       "tls13_ciphersuites = \"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256\"\n"
                       "[[host]]\ndomain = \"localhost\"\n");
  {
    Client client(server.port());
    client.open_stream();
    TlsOptions options;
    options.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
    client.starttls(options);
    EXPECT_EQ(std::string(SSL_CIPHER_get_name(SSL_get_current_cipher(client.ssl()))),
              "TLS_AES_256_GCM_SHA384");
  }
  Client chacha_only(server.port());
  chacha_only.open_stream();
  TlsOptions options;
  options.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
  options.max_version = TLS1_3_VERSION;
  EXPECT_THROW(chacha_only.starttls(options), std::runtime_error);
}

}  // namespace
}  // namespace parley::testing
