// Federation between two real Parley servers on loopback (RFC 6120 server-to-server): a.test on
// 127.0.0.21 and b.test on 127.0.0.22, each with static [[s2s.route]]s to the other. With
// certificates from a CA both trust they authenticate with SASL EXTERNAL (XEP-0178); with
// certificates nobody trusts they fall back to dialback (XEP-0220). Messages, presence
// subscriptions, IQs to the remote server and errors cross in both directions; a raw s2s peer
// checks what Parley refuses (stanzas before authentication, a 'from' the link did not
// authenticate), and unreachable domains give their errors within [s2s] connect_timeout.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tests/federation/pki/test_pki.hpp"
#include "tests/integration/server_process.hpp"
#include "xml/namespaces.hpp"

namespace parley::testing {
namespace {

namespace pki_test = federation::pki::test;
using namespace std::chrono_literals;

constexpr const char* kAddressA = "127.0.0.21";
constexpr const char* kAddressB = "127.0.0.22";
constexpr const char* kAddressEvil = "127.0.0.23";
constexpr std::uint16_t kS2sPort = 5269;

// Reads elements until one satisfies `match`.
template <class Match>
xml::Document expect_matching(Client& client, Match match) {
  for (int i = 0; i < 50; ++i) {
    xml::Document d = client.expect_element();
    if (match(d.root())) return d;
  }
  throw std::runtime_error("no matching element; received: " + client.received());
}

enum class Trust { Ca, Nobody };

// The s2s listener on the standard port of the server's own address (the config's [s2s] bind).
std::vector<std::string> s2s_flags(const char* address, const char* tls_port = "0") {
  return {"--bind", address, "--s2s-port", "5269", "--s2s-tls-port", tls_port};
}

// Two servers, each serving one domain, with routes to each other (and to whatever `extra`
// adds), certificates per `trust`, and the accounts alice@a.test and bob@b.test.
class S2sTest : public ::testing::Test {
 protected:
  std::string config(const std::string& domain, const pki_test::PemFiles& files,
                     const std::string& ca, const std::string& s2s_keys = {},
                     const std::string& extra = {}) {
    std::string c = domain == "a.test" ? top_keys_a_ : std::string();
    c += "[[host]]\ndomain = \"" + domain + "\"\ncertificate = \"" + files.certificate.string() +
         "\"\nkey = \"" + files.key.string() + "\"\n";
    c += "[s2s]\nport = " + std::to_string(kS2sPort) + "\ntls_port = false\nca_file = \"" + ca +
         "\"\nconnect_timeout = 5\n" + s2s_keys;
    for (const auto& [name, ip] : {std::pair{"a.test", kAddressA}, std::pair{"b.test", kAddressB},
                                   std::pair{"evil.test", kAddressEvil}}) {
      if (name == domain) continue;
      if (extra.find("domain = \"" + std::string(name) + "\"") != std::string::npos) continue;
      c += "[[s2s.route]]\ndomain = \"" + std::string(name) + "\"\nhost = \"" + ip + "\"\n";
    }
    c += extra;
    return c;
  }

  void start(Trust trust, const std::string& s2s_keys_a = {}, const std::string& extra_a = {},
             const char* tls_port = "0") {
    pki_test::TestCa ca("Parley s2s test CA");
    const auto ca_file = ca.write_root(dir_.path(), "ca");
    // The dialback case: every server trusts a CA that signed nothing.
    pki_test::TestCa stranger("Nobody's CA");
    const auto stranger_file = stranger.write_root(dir_.path(), "stranger");
    const std::string trusted = (trust == Trust::Ca ? ca_file : stranger_file).string();
    const auto a = ca.issue_files(pki_test::server_leaf("a.test"), dir_.path(), "a");
    const auto b = ca.issue_files(pki_test::server_leaf("b.test"), dir_.path(), "b");
    evil_ = ca.issue_files(pki_test::server_leaf("evil.test"), dir_.path(), "evil");
    a_ = std::make_unique<ServerProcess>(s2s_flags(kAddressA, tls_port), std::nullopt,
                                         config("a.test", a, trusted, s2s_keys_a, extra_a));
    b_ = std::make_unique<ServerProcess>(s2s_flags(kAddressB, tls_port), std::nullopt,
                                         config("b.test", b, trusted));
    a_->add_user("alice@a.test", "secret");
    b_->add_user("bob@b.test", "secret");
  }

  std::unique_ptr<Client> login(ServerProcess& server, const std::string& domain,
                                const std::string& user) {
    auto c = std::make_unique<Client>(domain == "a.test" ? kAddressA : kAddressB, server.port(),
                                      "jabber:client");
    c->set_domain(domain);
    c->login(user, "secret", "SCRAM-SHA-256", "r");
    return c;
  }

  void TearDown() override {
    if (!HasFailure()) return;
    if (a_) std::cerr << "--- a.test output ---\n" << a_->output();
    if (b_) std::cerr << "--- b.test output ---\n" << b_->output();
  }

  void exchange_messages() {
    auto alice = login(*a_, "a.test", "alice");
    auto bob = login(*b_, "b.test", "bob");
    alice->send("<presence/>");
    bob->send("<presence/>");
    alice->send(
        "<message to='bob@b.test/r' type='chat' id='m1'><body>Hello from a.test</body></message>");
    xml::Document got = expect_matching(*bob, [](xml::Element e) { return e.name() == "message"; });
    EXPECT_EQ(got.root().attr("from"), "alice@a.test/r");
    EXPECT_EQ(got.root().child("body", xml::ns::kClient).text(), "Hello from a.test");
    bob->send("<message to='alice@a.test/r' type='chat' id='m2'><body>Hi back</body></message>");
    got = expect_matching(*alice, [](xml::Element e) { return e.name() == "message"; });
    EXPECT_EQ(got.root().attr("from"), "bob@b.test/r");
    EXPECT_EQ(got.root().child("body", xml::ns::kClient).text(), "Hi back");
  }

  // Top-level keys of a.test's configuration (before its tables).
  std::string top_keys_a_;
  pki_test::TempDir dir_;
  pki_test::PemFiles evil_;
  std::unique_ptr<ServerProcess> a_;
  std::unique_ptr<ServerProcess> b_;
};

// a.test connects (it sends first); b.test answers over the same stream (XEP-0288).
TEST_F(S2sTest, CertificatesGiveSaslExternalAndABidirectionalStream) {
  start(Trust::Ca);
  exchange_messages();
  EXPECT_NE(a_->output().find("a.test -> b.test ready (SASL EXTERNAL, TLS)"), std::string::npos);
  EXPECT_NE(b_->output().find("a.test authenticated with SASL EXTERNAL for b.test"),
            std::string::npos);
  EXPECT_NE(b_->output().find("b.test -> a.test goes over this bidirectional stream"),
            std::string::npos);
  EXPECT_EQ(b_->output().find("s2s-out"), std::string::npos) << "b.test opened a link of its own";
  EXPECT_EQ(a_->output().find("by dialback"), std::string::npos);
  EXPECT_EQ(a_->output().find("ready (dialback"), std::string::npos);
}

// tls13_ciphersuites also sets what a server offers when it connects: a.test offers AES-256-GCM
// only, and b.test, which prefers AES-128-GCM, takes it.
TEST_F(S2sTest, Tls13CiphersuitesAlsoSetsTheSuitesOffered) {
  top_keys_a_ = "tls13_ciphersuites = \"TLS_AES_256_GCM_SHA384\"\n";
  start(Trust::Ca);
  exchange_messages();
  EXPECT_NE(a_->output().find("TLS established (TLSv1.3, TLS_AES_256_GCM_SHA384)"),
            std::string::npos);
  EXPECT_EQ(a_->output().find("TLS_AES_128_GCM_SHA256"), std::string::npos);
  EXPECT_NE(b_->output().find("TLS established (TLSv1.3, TLS_AES_256_GCM_SHA384)"),
            std::string::npos);
}

TEST_F(S2sTest, UntrustedCertificatesFallBackToDialback) {
  start(Trust::Nobody);
  exchange_messages();
  EXPECT_NE(a_->output().find("a.test -> b.test ready (dialback, TLS)"), std::string::npos);
  // The receiving side checked the key with the authoritative server (a.test) over a link of
  // its own, which a.test answered from its secret.
  EXPECT_NE(b_->output().find("a.test authenticated by dialback for b.test"), std::string::npos);
  EXPECT_NE(a_->output().find("dialback key check for a.test -> b.test: valid"), std::string::npos);
  EXPECT_EQ(a_->output().find("SASL EXTERNAL for"), std::string::npos);
}

TEST_F(S2sTest, RequireValidCertificatesRefusesDialback) {
  // a.test accepts only certificates that validate; b.test's does not (nobody trusts the CA).
  start(Trust::Nobody, "require_valid_certificates = true\n");
  auto alice = login(*a_, "a.test", "alice");
  alice->send("<message to='bob@b.test' id='v1'><body>1</body></message>");
  xml::Document error =
      expect_matching(*alice, [](xml::Element e) { return e.attr("id") == "v1"; });
  EXPECT_EQ(error.root().attr("type"), "error");
  EXPECT_EQ(stanza_error_condition(error.root()), "remote-server-not-found");
  EXPECT_NE(a_->output().find("require_valid_certificates is on"), std::string::npos);
  // And b.test's dialback towards a.test is refused.
  auto bob = login(*b_, "b.test", "bob");
  bob->send("<message to='alice@a.test' id='v2'><body>2</body></message>");
  error = expect_matching(*bob, [](xml::Element e) { return e.attr("id") == "v2"; });
  EXPECT_EQ(error.root().attr("type"), "error");
}

TEST_F(S2sTest, SubscriptionAndPresenceAcrossServers) {
  start(Trust::Ca);
  auto alice = login(*a_, "a.test", "alice");
  auto bob = login(*b_, "b.test", "bob");
  // Interested resources (RFC 6121 §2.1.6) get the roster pushes.
  alice->iq("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
  alice->send("<presence/>");
  bob->send("<presence><status>at b</status></presence>");
  alice->send("<presence type='subscribe' to='bob@b.test'/>");
  xml::Document request = expect_matching(
      *bob, [](xml::Element e) { return e.name() == "presence" && e.attr("type") == "subscribe"; });
  EXPECT_EQ(request.root().attr("from"), "alice@a.test");
  bob->send("<presence type='subscribed' to='alice@a.test'/>");
  // RFC 6121 §3.1.5-§3.1.6: alice's roster says 'to', and bob's available presence follows.
  expect_matching(*alice, [](xml::Element e) {
    if (e.name() != "iq" || e.attr("type") != "set") return false;
    const auto item = e.child("query", "jabber:iq:roster").child("item", "jabber:iq:roster");
    return item.attr("jid") == "bob@b.test" && item.attr("subscription") == "to";
  });
  xml::Document presence = expect_matching(*alice, [](xml::Element e) {
    return e.name() == "presence" && e.attr("type").empty() && e.attr("from") == "bob@b.test/r";
  });
  EXPECT_EQ(presence.root().child("status", xml::ns::kClient).text(), "at b");
  // A presence update crosses too.
  bob->send("<presence><show>away</show></presence>");
  presence = expect_matching(*alice, [](xml::Element e) {
    return e.name() == "presence" && e.attr("from") == "bob@b.test/r";
  });
  EXPECT_EQ(presence.root().child("show", xml::ns::kClient).text(), "away");
}

TEST_F(S2sTest, IqsToTheRemoteServerAndErrorsComeBack) {
  start(Trust::Ca);
  auto alice = login(*a_, "a.test", "alice");
  alice->send("<iq type='get' id='p1' to='b.test'><ping xmlns='urn:xmpp:ping'/></iq>");
  xml::Document pong = expect_matching(*alice, [](xml::Element e) { return e.name() == "iq"; });
  EXPECT_EQ(pong.root().attr("type"), "result");
  EXPECT_EQ(pong.root().attr("from"), "b.test");
  EXPECT_EQ(pong.root().attr("id"), "p1");
  alice->send(
      "<iq type='get' id='d1' to='b.test'><query "
      "xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  xml::Document info = expect_matching(*alice, [](xml::Element e) { return e.name() == "iq"; });
  EXPECT_EQ(info.root().attr("type"), "result");
  EXPECT_TRUE(info.root()
                  .child("query", "http://jabber.org/protocol/disco#info")
                  .child("identity", "http://jabber.org/protocol/disco#info"));
  // RFC 6121 §8.5.1: a message to a user b.test does not have.
  alice->send("<message to='nobody@b.test' type='chat' id='m9'><body>anyone?</body></message>");
  xml::Document error =
      expect_matching(*alice, [](xml::Element e) { return e.name() == "message"; });
  EXPECT_EQ(error.root().attr("type"), "error");
  EXPECT_EQ(error.root().attr("from"), "nobody@b.test");
  EXPECT_EQ(stanza_error_condition(error.root()), "service-unavailable");
}

TEST_F(S2sTest, UnreachableDomainsGetErrorsWithinTheBound) {
  // refused.test: nothing listens there; silent.test: a listener that never speaks.
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(silent, 8), 0);
  socklen_t size = sizeof address;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &size);
  const std::uint16_t silent_port = ntohs(address.sin_port);
  start(Trust::Ca, "max_queued_stanzas = 2\n",
        "[[s2s.route]]\ndomain = \"refused.test\"\nhost = \"127.0.0.1\"\nport = 1\n"
        "[[s2s.route]]\ndomain = \"silent.test\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(silent_port) + "\n");
  auto alice = login(*a_, "a.test", "alice");
  auto started = std::chrono::steady_clock::now();
  alice->send("<message to='x@refused.test' id='r1'><body>1</body></message>");
  xml::Document error =
      expect_matching(*alice, [](xml::Element e) { return e.attr("id") == "r1"; });
  EXPECT_EQ(error.root().attr("type"), "error");
  EXPECT_EQ(stanza_error_condition(error.root()), "remote-server-not-found");
  started = std::chrono::steady_clock::now();
  alice->send("<message to='x@silent.test' id='s1'><body>1</body></message>");
  alice->send("<message to='y@silent.test' id='s2'><body>2</body></message>");
  // The queue holds two ([s2s] max_queued_stanzas): the third is refused at once.
  alice->send("<message to='z@silent.test' id='s3'><body>3</body></message>");
  error = expect_matching(*alice, [&](xml::Element e) { return e.attr("id") == "s3"; });
  EXPECT_EQ(stanza_error_condition(error.root()), "resource-constraint");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  for (const char* id : {"s1", "s2"}) {
    error = expect_matching(*alice, [&](xml::Element e) { return e.attr("id") == id; });
    EXPECT_EQ(error.root().attr("type"), "error");
    EXPECT_EQ(stanza_error_condition(error.root()), "remote-server-timeout");
  }
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 4s);   // connect_timeout = 5 s in config()
  EXPECT_LE(waited, 12s);  // and not much longer
  ::close(silent);
}

// XEP-0368: a route (like an _xmpps-server SRV record) to the direct-TLS port.
TEST_F(S2sTest, DirectTlsLinks) {
  start(Trust::Ca, "",
        "[[s2s.route]]\ndomain = \"b.test\"\nhost = \"" + std::string(kAddressB) +
            "\"\nport = 5270\ndirect_tls = true\n",
        "5270");
  exchange_messages();
  EXPECT_NE(a_->output().find("connected to b.test at 127.0.0.22:5270 (direct TLS)"),
            std::string::npos);
  EXPECT_NE(a_->output().find("a.test -> b.test ready (SASL EXTERNAL, TLS)"), std::string::npos);
  EXPECT_NE(b_->output().find("(direct TLS)"), std::string::npos);
}

// [s2s] idle_timeout closes a quiet link; the next stanza makes a new one.
TEST_F(S2sTest, IdleLinksCloseAndComeBack) {
  start(Trust::Ca, "idle_timeout = 1\n");
  auto alice = login(*a_, "a.test", "alice");
  auto bob = login(*b_, "b.test", "bob");
  bob->send("<presence/>");
  alice->send("<message to='bob@b.test/r' id='i1'><body>one</body></message>");
  expect_matching(*bob, [](xml::Element e) { return e.attr("id") == "i1"; });
  for (int i = 0; i < 50 && a_->output().find("idle; closing") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(a_->output().find("a.test -> b.test idle; closing"), std::string::npos);
  alice->send("<message to='bob@b.test/r' id='i2'><body>two</body></message>");
  expect_matching(*bob, [](xml::Element e) { return e.attr("id") == "i2"; });
  const std::string out = a_->output();
  const auto first = out.find("connecting a.test -> b.test");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(out.find("connecting a.test -> b.test", first + 1), std::string::npos);
}

// A raw s2s peer, evil.test, with a certificate from the CA a.test trusts: it authenticates as
// evil.test and then tries to speak for b.test.
TEST_F(S2sTest, SpoofedFromOnAnS2sLinkIsRejected) {
  start(Trust::Ca);
  auto evil = Client::s2s(kAddressA, kS2sPort);
  evil->send(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
      "from='evil.test' to='a.test' version='1.0'>");
  ASSERT_TRUE(evil->next_event());
  xml::Document features = evil->expect_element();
  ASSERT_TRUE(features.root().child("starttls", xml::ns::kTls));
  TlsOptions tls;
  tls.server_name = "a.test";
  tls.certificate_file = evil_.certificate.string();
  tls.key_file = evil_.key.string();
  evil->starttls(tls);
  evil->send(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
      "from='evil.test' to='a.test' version='1.0'>");
  ASSERT_TRUE(evil->next_event());
  features = evil->expect_element();
  const auto mechanisms = features.root().child("mechanisms", xml::ns::kSasl);
  ASSERT_TRUE(mechanisms) << evil->received();
  EXPECT_EQ(mechanisms.child("mechanism", xml::ns::kSasl).text(), "EXTERNAL");
  evil->send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  ASSERT_TRUE(evil->expect_element().root().is("success", xml::ns::kSasl)) << evil->received();
  evil->reset_stream();
  evil->send(
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "from='evil.test' to='a.test' version='1.0'>");
  ASSERT_TRUE(evil->next_event());
  evil->expect_element();  // features
  // From its own domain: accepted (alice gets it).
  auto alice = login(*a_, "a.test", "alice");
  alice->send("<presence/>");
  evil->send(
      "<message from='mallory@evil.test' to='alice@a.test/r' id='ok'><body>hi</body></message>");
  xml::Document got = expect_matching(*alice, [](xml::Element e) { return e.attr("id") == "ok"; });
  EXPECT_EQ(got.root().attr("from"), "mallory@evil.test");
  // From b.test, which this link never authenticated: invalid-from, and the stream ends.
  evil->send(
      "<message from='bob@b.test' to='alice@a.test/r' id='spoof'><body>trust me</body></message>");
  xml::Document error = evil->expect_element();
  EXPECT_EQ(stream_error_condition(error.root()), "invalid-from");
  EXPECT_TRUE(evil->wait_for_close());
  // Alice never saw the spoofed message: a ping round-trip proves nothing is in flight.
  alice->send("<iq type='get' id='ping'><ping xmlns='urn:xmpp:ping'/></iq>");
  got = expect_matching(*alice,
                        [](xml::Element e) { return e.name() == "iq" || e.attr("id") == "spoof"; });
  EXPECT_EQ(got.root().attr("id"), "ping");
}

TEST_F(S2sTest, StanzasBeforeAuthenticationAreRefused) {
  start(Trust::Ca);
  auto peer = Client::s2s(kAddressA, kS2sPort);
  peer->send(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' from='evil.test' to='a.test' "
      "version='1.0'>");
  ASSERT_TRUE(peer->next_event());
  peer->expect_element();
  TlsOptions tls;
  tls.server_name = "a.test";
  peer->starttls(tls);
  peer->send(
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "from='evil.test' to='a.test' version='1.0'>");
  ASSERT_TRUE(peer->next_event());
  xml::Document features = peer->expect_element();
  // No client certificate: no EXTERNAL, dialback only.
  EXPECT_FALSE(features.root().child("mechanisms", xml::ns::kSasl));
  EXPECT_TRUE(features.root().child("dialback", xml::ns::kDialbackFeature));
  peer->send("<message from='mallory@evil.test' to='alice@a.test'><body>x</body></message>");
  EXPECT_EQ(stream_error_condition(peer->expect_element().root()), "not-authorized");
}

}  // namespace
}  // namespace parley::testing
