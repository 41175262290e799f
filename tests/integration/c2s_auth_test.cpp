// Client connections end to end, against the real `parley serve` over real sockets: STARTTLS and
// direct TLS (XEP-0368), SASL (RFC 6120 §6: SCRAM-SHA-1/256, their -PLUS variants with each
// channel-binding type, PLAIN over TLS), resource binding (§7), the server's own IQs (ping, disco,
// XEP-0077) and the stream errors that the client side can trigger.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/sasl/base64.hpp"
#include "core/sasl/channel_binding.hpp"
#include "core/sasl/scram_client.hpp"
#include "tests/integration/server_process.hpp"
#include "xml/namespaces.hpp"
#include "xml/stream_error.hpp"

namespace parley::testing {
namespace {

using EventType = xml::StreamParser::EventType;
namespace ns = xml::ns;
using namespace std::chrono_literals;

constexpr std::string_view kRegister = "jabber:iq:register";
constexpr std::string_view kRegisterFeature = "http://jabber.org/features/iq-register";
constexpr std::string_view kSaslChannelBinding = "urn:xmpp:sasl-cb:0";  // XEP-0440
constexpr std::string_view kDiscoInfo = "http://jabber.org/protocol/disco#info";

const std::string kUser = "alice";
const std::string kJid = "alice@localhost";
const std::string kPassword = "correct horse battery staple";

std::vector<std::string> mechanisms_of(const xml::Document& features) {
  std::vector<std::string> out;
  const xml::Element list = features.root().child("mechanisms", ns::kSasl);
  if (!list) return out;
  for (xml::Element m : list.children()) out.push_back(m.text());
  return out;
}

// XEP-0440 <sasl-channel-binding/>: the advertised channel-binding types.
std::set<std::string> channel_binding_types_of(const xml::Document& features) {
  std::set<std::string> out;
  const xml::Element list = features.root().child("sasl-channel-binding", kSaslChannelBinding);
  if (!list) return out;
  for (xml::Element cb : list.children()) out.insert(std::string(cb.attr("type")));
  return out;
}

SaslOptions with_binding(std::string cb_name, std::optional<std::string> cb_data = std::nullopt) {
  SaslOptions options;
  options.cb_name = std::move(cb_name);
  options.cb_data = std::move(cb_data);
  return options;
}

// SCRAM without -PLUS and the GS2 flag 'y'.
SaslOptions claiming_binding_support() {
  SaslOptions options;
  options.cb_name.clear();
  options.claim_channel_binding_support = true;
  return options;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

class C2sAuthTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- server output ---\n" << server_->output();
  }

  // A server (with `config_toml` as its config file, if any) and the account alice.
  void start(const std::string& config_toml = {}, bool with_account = true) {
    server_ =
        std::make_unique<ServerProcess>(std::vector<std::string>{}, std::nullopt, config_toml);
    if (with_account) server_->add_user(kJid, kPassword);
  }

  // A client over STARTTLS that has logged in as alice and bound `resource`.
  std::unique_ptr<Client> logged_in(const std::string& resource = "test") {
    auto client = std::make_unique<Client>(server_->port());
    EXPECT_EQ(client->login(kUser, kPassword, "SCRAM-SHA-256", resource), kJid + "/" + resource);
    return client;
  }

  // A client over STARTTLS at the point where SASL can start.
  std::unique_ptr<Client> ready_for_sasl(const TlsOptions& tls = {}) {
    auto client = std::make_unique<Client>(server_->port());
    client->open_stream();
    client->starttls(tls);
    features_ = client->open_stream();
    return client;
  }

  // RFC 6120 §4.9.1.1: <stream:error> with the condition, the closing tag, then TCP close.
  static void expect_stream_error(Client& client, xml::StreamError condition) {
    const xml::Document error = client.expect_element();
    EXPECT_EQ(stream_error_condition(error.root()), xml::to_string(condition))
        << "received: " << client.received();
    auto closed = client.next_event();
    ASSERT_TRUE(closed) << "no closing tag; received: " << client.received();
    EXPECT_EQ(closed->type, EventType::StreamClosed) << client.received();
    EXPECT_TRUE(client.wait_for_close()) << "connection still open after the stream error";
  }

  static void expect_sasl_failure(const SaslOutcome& outcome, std::string_view condition,
                                  const Client& client) {
    EXPECT_FALSE(outcome.success) << client.received();
    EXPECT_TRUE(outcome.element.root().is("failure", ns::kSasl)) << client.received();
    EXPECT_EQ(outcome.condition, condition) << client.received();
  }

  std::unique_ptr<ServerProcess> server_;
  xml::Document features_;  // of the last ready_for_sasl()
};

// --- TLS and SASL ------------------------------------------------------------------------------

TEST_F(C2sAuthTest, StartTlsThenScramSha256ThenBind) {
  start();
  Client client(server_->port());
  std::set<std::string> stream_ids;
  const xml::Document clear = client.open_stream();
  stream_ids.insert(std::string(client.header().attr("id")));
  const xml::Element starttls = clear.root().child("starttls", ns::kTls);
  ASSERT_TRUE(starttls) << client.received();
  EXPECT_TRUE(starttls.child("required", ns::kTls));
  EXPECT_TRUE(mechanisms_of(clear).empty()) << "no SASL before TLS: " << client.received();

  client.starttls();
  ASSERT_NE(client.ssl(), nullptr);
  EXPECT_EQ(SSL_version(client.ssl()), TLS1_3_VERSION);

  const xml::Document features = client.open_stream();
  stream_ids.insert(std::string(client.header().attr("id")));
  EXPECT_FALSE(features.root().child("starttls", ns::kTls)) << "STARTTLS offered twice";
  const auto mechanisms = mechanisms_of(features);
  for (const char* m :
       {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}) {
    EXPECT_TRUE(contains(mechanisms, m)) << m << " not offered; received: " << client.received();
  }
  // XEP-0440 on TLS 1.3: tls-exporter and tls-server-end-point, not tls-unique (RFC 9266 §3).
  EXPECT_EQ(channel_binding_types_of(features),
            (std::set<std::string>{"tls-exporter", "tls-server-end-point"}));

  const SaslOutcome outcome = client.authenticate(kUser, kPassword, "SCRAM-SHA-256");
  ASSERT_TRUE(outcome.success) << client.received();
  // <success/> carries the server-final-message "v=ServerSignature", which must verify.
  const auto server_final = core::sasl::base64_decode(outcome.element.root().text());
  ASSERT_TRUE(server_final) << client.received();
  EXPECT_TRUE(server_final->starts_with("v=")) << *server_final;
  EXPECT_TRUE(outcome.server_verified) << client.received();

  EXPECT_EQ(client.bind("phone"), "alice@localhost/phone");
  // RFC 6120 §4.7.3: each restarted stream gets a new id.
  stream_ids.insert(std::string(client.header().attr("id")));
  EXPECT_EQ(stream_ids.size(), 3u);
}

TEST_F(C2sAuthTest, ScramSha1) {
  start();
  Client client(server_->port());
  EXPECT_EQ(client.login(kUser, kPassword, "SCRAM-SHA-1", "laptop"), "alice@localhost/laptop");
}

TEST_F(C2sAuthTest, PlainOverTls) {
  start();
  Client client(server_->port());
  EXPECT_EQ(client.login(kUser, kPassword, "PLAIN", "tablet"), "alice@localhost/tablet");
}

// RFC 6120 §6.4.2: <auth/> without an initial response; it follows the empty challenge.
TEST_F(C2sAuthTest, ExchangesWithoutInitialResponse) {
  start();
  SaslOptions options;
  options.initial_response = false;
  for (const char* mechanism : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS"}) {
    SCOPED_TRACE(mechanism);
    auto client = ready_for_sasl();
    const SaslOutcome outcome = client->authenticate(kUser, kPassword, mechanism, options);
    ASSERT_TRUE(outcome.success) << client->received();
    EXPECT_EQ(client->bind(mechanism), "alice@localhost/" + std::string(mechanism));
  }
}

TEST_F(C2sAuthTest, PlainWithWrongPasswordGetsNotAuthorized) {
  start();
  auto client = ready_for_sasl();
  expect_sasl_failure(client->authenticate(kUser, "wrong", "PLAIN"), "not-authorized", *client);
}

TEST_F(C2sAuthTest, UserNameIsCaseInsensitive) {  // nodeprep folds case (RFC 7622 §3.3)
  start();
  Client client(server_->port());
  EXPECT_EQ(client.login("Alice", kPassword, "SCRAM-SHA-256", "r"), "alice@localhost/r");
}

// SCRAM-*-PLUS with each channel-binding type, over TLS 1.3 and TLS 1.2.
struct BindingCase {
  const char* name;
  int max_version;
  const char* mechanism;
  const char* cb_name;
};

void PrintTo(const BindingCase& c, std::ostream* os) { *os << c.name; }

class ChannelBindingTest : public C2sAuthTest, public ::testing::WithParamInterface<BindingCase> {};

TEST_P(ChannelBindingTest, PlusMechanismSucceeds) {
  const BindingCase& c = GetParam();
  start();
  auto client = ready_for_sasl(TlsOptions{.server_name = "localhost",
                                          .alpn = {},
                                          .max_version = c.max_version,
                                          .certificate_file = {},
                                          .key_file = {},
                                          .ciphersuites = {}});
  EXPECT_EQ(SSL_version(client->ssl()), c.max_version == 0 ? TLS1_3_VERSION : c.max_version);
  EXPECT_TRUE(contains(mechanisms_of(features_), c.mechanism)) << client->received();
  // tls-unique is advertised on TLS 1.2 only, though accepted on 1.3 too (docs/SECURITY.md).
  const bool advertised = std::string_view(c.cb_name) != "tls-unique" || c.max_version != 0;
  EXPECT_EQ(channel_binding_types_of(features_).contains(c.cb_name), advertised)
      << client->received();

  const SaslOutcome outcome =
      client->authenticate(kUser, kPassword, c.mechanism, with_binding(c.cb_name));
  ASSERT_TRUE(outcome.success) << client->received();
  EXPECT_TRUE(outcome.server_verified) << client->received();
  EXPECT_EQ(client->bind("cb"), "alice@localhost/cb");
}

INSTANTIATE_TEST_SUITE_P(
    Bindings, ChannelBindingTest,
    ::testing::Values(
        BindingCase{"Sha256TlsExporterTls13", 0, "SCRAM-SHA-256-PLUS", "tls-exporter"},
        BindingCase{"Sha256TlsServerEndPointTls13", 0, "SCRAM-SHA-256-PLUS",
                    "tls-server-end-point"},
        BindingCase{"Sha256TlsUniqueTls13", 0, "SCRAM-SHA-256-PLUS", "tls-unique"},
        BindingCase{"Sha1TlsExporterTls13", 0, "SCRAM-SHA-1-PLUS", "tls-exporter"},
        BindingCase{"Sha1TlsServerEndPointTls13", 0, "SCRAM-SHA-1-PLUS", "tls-server-end-point"},
        BindingCase{"Sha256TlsExporterTls12", TLS1_2_VERSION, "SCRAM-SHA-256-PLUS", "tls-exporter"},
        BindingCase{"Sha256TlsServerEndPointTls12", TLS1_2_VERSION, "SCRAM-SHA-256-PLUS",
                    "tls-server-end-point"},
        BindingCase{"Sha256TlsUniqueTls12", TLS1_2_VERSION, "SCRAM-SHA-256-PLUS", "tls-unique"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// A man in the middle relaying SCRAM between two TLS connections: the binding data of the other
// connection does not match this one's.
TEST_F(C2sAuthTest, ChannelBindingOfAnotherConnectionGetsNotAuthorized) {
  start();
  auto other = ready_for_sasl();
  const auto other_bindings = core::sasl::channel_bindings(other->ssl());
  ASSERT_FALSE(other_bindings.tls_exporter.empty());
  auto client = ready_for_sasl();
  const SaslOutcome outcome =
      client->authenticate(kUser, kPassword, "SCRAM-SHA-256-PLUS",
                           with_binding("tls-exporter", other_bindings.tls_exporter));
  expect_sasl_failure(outcome, "not-authorized", *client);
}

// RFC 5802 §6: a client that supports channel binding but thinks the server does not ('y')
// while the server did offer -PLUS is being downgraded by someone in between.
TEST_F(C2sAuthTest, ClientClaimingBindingSupportWithoutPlusIsADowngrade) {
  start();
  auto client = ready_for_sasl();
  ASSERT_TRUE(contains(mechanisms_of(features_), "SCRAM-SHA-256-PLUS"));
  const SaslOutcome outcome =
      client->authenticate(kUser, kPassword, "SCRAM-SHA-256", claiming_binding_support());
  expect_sasl_failure(outcome, "not-authorized", *client);
}

TEST_F(C2sAuthTest, DirectTlsNegotiatesAlpnXmppClientThenLogsIn) {
  start();
  Client client(server_->tls_port(), TlsOptions{.server_name = "localhost",
                                                .alpn = {"xmpp-client"},
                                                .max_version = 0,
                                                .certificate_file = {},
                                                .key_file = {},
                                          .ciphersuites = {}});
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(client.ssl(), &alpn, &alpn_length);
  ASSERT_NE(alpn, nullptr) << "the server selected no ALPN protocol";
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(alpn), alpn_length), "xmpp-client");

  const xml::Document features = client.open_stream();
  EXPECT_FALSE(features.root().child("starttls", ns::kTls)) << "STARTTLS inside TLS";
  EXPECT_TRUE(contains(mechanisms_of(features), "PLAIN")) << client.received();
  EXPECT_TRUE(contains(mechanisms_of(features), "SCRAM-SHA-256-PLUS")) << client.received();
  const SaslOutcome outcome = client.authenticate(kUser, kPassword, "SCRAM-SHA-256-PLUS");
  ASSERT_TRUE(outcome.success) << client.received();
  EXPECT_TRUE(outcome.server_verified);
  EXPECT_EQ(client.bind("direct"), "alice@localhost/direct");
}

TEST_F(C2sAuthTest, DirectTlsWithoutAlpnWorksToo) {
  start();
  Client client(server_->tls_port(), TlsOptions{});
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(client.ssl(), &alpn, &alpn_length);
  EXPECT_EQ(alpn_length, 0u);
  EXPECT_EQ(client.login(kUser, kPassword, "SCRAM-SHA-1", "x"), "alice@localhost/x");
}

TEST_F(C2sAuthTest, WrongPasswordGetsNotAuthorizedAndTheClientMayRetry) {
  start();
  auto client = ready_for_sasl();
  expect_sasl_failure(client->authenticate(kUser, "wrong password", "SCRAM-SHA-256"),
                      "not-authorized", *client);
  // RFC 6120 §6.4.5: the stream stays open for another attempt.
  const SaslOutcome retry = client->authenticate(kUser, kPassword, "SCRAM-SHA-256");
  ASSERT_TRUE(retry.success) << client->received();
  EXPECT_EQ(client->bind("again"), "alice@localhost/again");
}

TEST_F(C2sAuthTest, UnknownUserGetsNotAuthorized) {
  start();
  auto client = ready_for_sasl();
  expect_sasl_failure(client->authenticate("mallory", kPassword, "SCRAM-SHA-256"), "not-authorized",
                      *client);
}

TEST_F(C2sAuthTest, UnknownUserWithPlainGetsNotAuthorized) {
  start();
  auto client = ready_for_sasl();
  expect_sasl_failure(client->authenticate("mallory", kPassword, "PLAIN"), "not-authorized",
                      *client);
}

// The server-first-message for an unknown user looks like one for a real account (a salt that
// stays the same, the usual iteration count), so that it does not tell who has an account.
TEST_F(C2sAuthTest, UnknownUserGetsAStableFakeSalt) {
  start();
  std::vector<std::string> salts;
  for (const std::string& user : {std::string("mallory"), std::string("mallory"), kUser}) {
    auto client = ready_for_sasl();
    core::sasl::ScramClientOptions options;
    options.username = user;
    options.password = "whatever";
    core::sasl::ScramClient scram(options);
    client->send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
                 core::sasl::base64_encode(scram.client_first()) + "</auth>");
    const xml::Document challenge = client->expect_element();
    ASSERT_TRUE(challenge.root().is("challenge", ns::kSasl)) << client->received();
    const auto server_first = core::sasl::base64_decode(challenge.root().text());
    ASSERT_TRUE(server_first) << client->received();
    // r=nonce,s=salt,i=iterations
    const auto s_at = server_first->find(",s=");
    const auto i_at = server_first->find(",i=");
    ASSERT_NE(s_at, std::string::npos) << *server_first;
    ASSERT_NE(i_at, std::string::npos) << *server_first;
    salts.push_back(server_first->substr(s_at + 3, i_at - s_at - 3));
    EXPECT_EQ(server_first->substr(i_at + 3), "4096") << *server_first;
  }
  EXPECT_EQ(salts[0], salts[1]);
  EXPECT_NE(salts[0], salts[2]);
}

TEST_F(C2sAuthTest, PlainWithTheUsersOwnJidAsAuthzidSucceeds) {
  start();
  auto client = ready_for_sasl();
  SaslOptions options;
  options.authzid = kJid;
  ASSERT_TRUE(client->authenticate(kUser, kPassword, "PLAIN", options).success)
      << client->received();
  EXPECT_EQ(client->bind("z"), "alice@localhost/z");
}

TEST_F(C2sAuthTest, AuthzidOfAnotherUserGetsInvalidAuthzid) {
  start();
  server_->add_user("bob@localhost", "bobs password");
  SaslOptions options;
  options.authzid = "bob@localhost";
  for (const char* mechanism : {"PLAIN", "SCRAM-SHA-256"}) {
    SCOPED_TRACE(mechanism);
    auto client = ready_for_sasl();
    expect_sasl_failure(client->authenticate(kUser, kPassword, mechanism, options),
                        "invalid-authzid", *client);
  }
}

// RFC 6120 §6.4.4: the client gives up an exchange; that is not a failed attempt.
TEST_F(C2sAuthTest, AbortIsAnsweredWithAbortedAndNotCountedAsAFailure) {
  start();
  auto client = ready_for_sasl();
  for (int i = 0; i < 4; ++i) {
    client->send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'/>");
    const xml::Document challenge = client->expect_element();
    EXPECT_TRUE(challenge.root().is("challenge", ns::kSasl)) << client->received();
    client->send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    const xml::Document failure = client->expect_element();
    ASSERT_TRUE(failure.root().is("failure", ns::kSasl)) << client->received();
    EXPECT_TRUE(failure.root().child("aborted", ns::kSasl)) << client->received();
  }
  ASSERT_TRUE(client->authenticate(kUser, kPassword, "SCRAM-SHA-256").success)
      << client->received();
}

TEST_F(C2sAuthTest, MechanismNotOfferedGetsInvalidMechanism) {
  start();
  auto client = ready_for_sasl();
  client->send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>");
  const xml::Document failure = client->expect_element();
  ASSERT_TRUE(failure.root().is("failure", ns::kSasl)) << client->received();
  EXPECT_TRUE(failure.root().child("invalid-mechanism", ns::kSasl)) << client->received();
}

// RFC 6120 §6.4.5: after max_auth_failures (3 by default) the stream ends with policy-violation.
TEST_F(C2sAuthTest, ThirdFailureEndsTheStreamWithPolicyViolation) {
  start();
  auto client = ready_for_sasl();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    SCOPED_TRACE(attempt);
    expect_sasl_failure(
        client->authenticate(kUser, "guess " + std::to_string(attempt), "SCRAM-SHA-256"),
        "not-authorized", *client);
  }
  expect_stream_error(*client, xml::StreamError::PolicyViolation);
}

TEST_F(C2sAuthTest, AuthenticationBeforeStartTlsGetsEncryptionRequired) {
  start();
  Client client(server_->port());
  const xml::Document features = client.open_stream();
  EXPECT_FALSE(features.root().child("mechanisms", ns::kSasl)) << client.received();
  expect_sasl_failure(client.authenticate(kUser, kPassword, "SCRAM-SHA-256"), "encryption-required",
                      client);
  expect_sasl_failure(client.authenticate(kUser, kPassword, "PLAIN"), "encryption-required",
                      client);
  // The stream is still usable the proper way.
  client.starttls();
  client.open_stream();
  ASSERT_TRUE(client.authenticate(kUser, kPassword, "SCRAM-SHA-256").success) << client.received();
  EXPECT_EQ(client.bind("late"), "alice@localhost/late");
}

TEST_F(C2sAuthTest, SecondStartTlsGetsFailureAndUnsupportedStanzaType) {
  start();
  auto client = ready_for_sasl();
  client->send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  const xml::Document failure = client->expect_element();
  EXPECT_TRUE(failure.root().is("failure", ns::kTls)) << client->received();
  expect_stream_error(*client, xml::StreamError::UnsupportedStanzaType);
}

// With [c2s] require_tls = false (loopback tests only), SCRAM may run in the clear, PLAIN never.
class ClearTextAllowedTest : public C2sAuthTest {
 protected:
  void SetUp() override { start("[c2s]\nrequire_tls = false\n"); }
};

TEST_F(ClearTextAllowedTest, PlainIsNotOfferedBeforeTls) {
  Client client(server_->port());
  const xml::Document features = client.open_stream();
  const xml::Element starttls = features.root().child("starttls", ns::kTls);
  ASSERT_TRUE(starttls) << client.received();
  EXPECT_FALSE(starttls.child("required", ns::kTls)) << client.received();
  const auto mechanisms = mechanisms_of(features);
  EXPECT_EQ(mechanisms, (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-1"}))
      << client.received();
  expect_sasl_failure(client.authenticate(kUser, kPassword, "PLAIN"), "invalid-mechanism", client);
}

TEST_F(ClearTextAllowedTest, ScramInTheClearWorksAndYIsNoDowngradeWithoutPlus) {
  Client client(server_->port());
  client.open_stream();
  // No -PLUS was offered, so 'y' is the truth, not a downgrade.
  const SaslOutcome outcome =
      client.authenticate(kUser, kPassword, "SCRAM-SHA-256", claiming_binding_support());
  ASSERT_TRUE(outcome.success) << client.received();
  EXPECT_TRUE(outcome.server_verified);
  EXPECT_EQ(client.bind("clear"), "alice@localhost/clear");
}

// --- Resource binding --------------------------------------------------------------------------

// RFC 6120 §7.7.2.2: the same full JID again: the older session is replaced.
TEST_F(C2sAuthTest, SecondBindOfTheSameResourceKicksTheFirstWithConflict) {
  start();
  auto first = logged_in("desk");
  auto second = std::make_unique<Client>(server_->port());
  EXPECT_EQ(second->login(kUser, kPassword, "SCRAM-SHA-256", "desk"), "alice@localhost/desk");
  expect_stream_error(*first, xml::StreamError::Conflict);
  // The new session is the one that stays.
  const xml::Document pong =
      second->iq("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(pong.root().attr("type"), "result") << second->received();
  // The first one's departure did not unbind the second: a third replaces the second in turn.
  Client third(server_->port());
  EXPECT_EQ(third.login(kUser, kPassword, "SCRAM-SHA-256", "desk"), "alice@localhost/desk");
  expect_stream_error(*second, xml::StreamError::Conflict);
}

TEST_F(C2sAuthTest, DifferentResourcesCoexist) {
  start();
  auto first = logged_in("one");
  auto second = logged_in("two");
  for (Client* c : {first.get(), second.get()}) {
    const xml::Document pong = c->iq("<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT_EQ(pong.root().attr("type"), "result") << c->received();
  }
}

TEST_F(C2sAuthTest, ServerGeneratesAResourceWhenNoneIsAsked) {
  start();
  Client client(server_->port());
  const std::string jid = client.login(kUser, kPassword, "SCRAM-SHA-256", std::nullopt);
  ASSERT_TRUE(jid.starts_with("alice@localhost/")) << jid;
  EXPECT_GT(jid.size(), std::string("alice@localhost/").size()) << jid;
}

TEST_F(C2sAuthTest, ResourceThatFailsResourceprepGetsJidMalformed) {
  start();
  auto client = ready_for_sasl();
  ASSERT_TRUE(client->authenticate(kUser, kPassword, "SCRAM-SHA-256").success);
  client->open_stream();
  // U+E000 is private use, which Resourceprep prohibits (RFC 3920 Appendix B.4, RFC 3454 C.3).
  const xml::Document reply = client->iq(
      "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>bad\xee\x80\x80</resource></bind></iq>");
  EXPECT_EQ(reply.root().attr("type"), "error") << client->received();
  EXPECT_EQ(reply.root().attr("id"), "b1");
  EXPECT_EQ(stanza_error_condition(reply.root()), "jid-malformed") << client->received();
  EXPECT_EQ(reply.root().child("error", ns::kClient).attr("type"), "modify");
  // The stream goes on: a good resource binds.
  const xml::Document ok = client->iq(
      "<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>good</resource></bind></iq>");
  EXPECT_EQ(ok.root().attr("type"), "result") << client->received();
}

TEST_F(C2sAuthTest, SecondBindOnOneStreamGetsNotAllowed) {
  start();
  auto client = logged_in("first");
  const xml::Document reply = client->iq(
      "<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>second</resource></bind></iq>");
  EXPECT_EQ(reply.root().attr("type"), "error") << client->received();
  EXPECT_EQ(stanza_error_condition(reply.root()), "not-allowed") << client->received();
}

// RFC 6120 §7.1: after SASL, nothing but binding.
TEST_F(C2sAuthTest, StanzaBeforeBindingGetsNotAuthorized) {
  start();
  auto client = ready_for_sasl();
  ASSERT_TRUE(client->authenticate(kUser, kPassword, "SCRAM-SHA-256").success);
  client->open_stream();
  client->send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
  expect_stream_error(*client, xml::StreamError::NotAuthorized);
}

// --- The server's own IQs ----------------------------------------------------------------------

TEST_F(C2sAuthTest, PingToTheServerGetsResult) {  // XEP-0199 §4.2
  start();
  auto client = logged_in();
  for (std::string_view to : {"", " to='localhost'"}) {
    const xml::Document pong = client->iq("<iq type='get' id='ping-1'" + std::string(to) +
                                          "><ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT_EQ(pong.root().attr("type"), "result") << client->received();
    EXPECT_EQ(pong.root().attr("id"), "ping-1");
    EXPECT_EQ(pong.root().child_count(), 0u);
  }
}

TEST_F(C2sAuthTest, DiscoInfoShowsServerIdentityAndFeatures) {  // XEP-0030 §3.1
  start();
  auto client = logged_in();
  const xml::Document reply = client->iq(
      "<iq type='get' id='d1' to='localhost'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_EQ(reply.root().attr("type"), "result") << client->received();
  EXPECT_EQ(reply.root().attr("from"), "localhost");
  const xml::Element query = reply.root().child("query", kDiscoInfo);
  ASSERT_TRUE(query) << client->received();
  const xml::Element identity = query.child("identity", kDiscoInfo);
  ASSERT_TRUE(identity) << client->received();
  EXPECT_EQ(identity.attr("category"), "server");
  EXPECT_EQ(identity.attr("type"), "im");
  std::set<std::string> features;
  for (xml::Element f : query.children()) {
    if (f.name() == "feature") features.insert(std::string(f.attr("var")));
  }
  EXPECT_TRUE(features.contains("urn:xmpp:ping")) << client->received();
  EXPECT_TRUE(features.contains(std::string(kDiscoInfo))) << client->received();
}

TEST_F(C2sAuthTest, UnknownIqToTheServerGetsServiceUnavailable) {  // RFC 6120 §8.4
  start();
  auto client = logged_in();
  const xml::Document reply =
      client->iq("<iq type='get' id='u1'><query xmlns='urn:example:unknown'/></iq>");
  EXPECT_EQ(reply.root().attr("type"), "error") << client->received();
  EXPECT_EQ(reply.root().attr("id"), "u1");
  EXPECT_EQ(stanza_error_condition(reply.root()), "service-unavailable") << client->received();
  EXPECT_EQ(reply.root().child("error", ns::kClient).attr("type"), "cancel");
}

// --- Stream errors after authentication --------------------------------------------------------

TEST_F(C2sAuthTest, UnknownTopLevelElementAfterAuthGetsUnsupportedStanzaType) {
  start();
  auto client = logged_in();
  client->send("<foo xmlns='urn:x'/>");
  expect_stream_error(*client, xml::StreamError::UnsupportedStanzaType);
}

TEST_F(C2sAuthTest, SaslAfterAuthenticationGetsUnsupportedStanzaType) {
  start();
  auto client = logged_in();
  client->send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>=</auth>");
  expect_stream_error(*client, xml::StreamError::UnsupportedStanzaType);
}

TEST_F(C2sAuthTest, OverSizeStanzaGetsPolicyViolation) {
  start("[limits]\nmax_stanza_bytes = 10000\n");
  auto client = logged_in();
  // Just under the limit passes: the message comes back to this resource.
  client->send("<message to='alice@localhost/test'><body>" + std::string(9000, 'a') +
               "</body></message>");
  const xml::Document echo = client->expect_element();
  EXPECT_EQ(echo.root().name(), "message") << client->received();
  EXPECT_EQ(echo.root().child("body").text().size(), 9000u);
  client->send("<message to='bob@localhost'><body>" + std::string(20000, 'a') +
               "</body></message>");
  expect_stream_error(*client, xml::StreamError::PolicyViolation);
}

TEST_F(C2sAuthTest, IdleUnauthenticatedConnectionGetsConnectionTimeout) {
  start("[limits]\nunauthenticated_timeout = 1\n");
  // Logged in before the idle one connects: its own deadline would have passed first.
  auto authenticated = logged_in();
  const auto connected = std::chrono::steady_clock::now();
  Client idle(server_->port());
  idle.open_stream();
  expect_stream_error(idle, xml::StreamError::ConnectionTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - connected, 900ms);
  // Authentication stopped the clock for the other connection.
  const xml::Document pong =
      authenticated->iq("<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(pong.root().attr("type"), "result") << authenticated->received();
}

TEST_F(C2sAuthTest, IdleConnectionWithoutAnyHeaderGetsConnectionTimeoutToo) {
  start("[limits]\nunauthenticated_timeout = 1\n", /*with_account=*/false);
  Client idle(server_->port());
  // RFC 6120 §4.9.1.2: our header first, then the error.
  auto header = idle.next_event();
  ASSERT_TRUE(header) << idle.received();
  EXPECT_EQ(header->type, EventType::StreamOpened) << idle.received();
  expect_stream_error(idle, xml::StreamError::ConnectionTimeout);
}

// A connection to the direct TLS port that never starts the handshake: nothing can be written
// before TLS, so the deadline just closes it.
TEST_F(C2sAuthTest, IdleDirectTlsConnectionWithoutHandshakeIsClosed) {
  start("[limits]\nunauthenticated_timeout = 1\n", /*with_account=*/false);
  Client idle(server_->tls_port());
  EXPECT_TRUE(idle.wait_for_close()) << "still open";
  EXPECT_EQ(idle.received(), "");
}

TEST_F(C2sAuthTest, AuthenticatedTlsSessionGetsSystemShutdownOnSigterm) {
  start();
  {
    auto client = logged_in();
    ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
    expect_stream_error(*client, xml::StreamError::SystemShutdown);
  }
  const auto status = server_->wait(kTimeout);
  ASSERT_TRUE(status) << "the server did not exit";
  ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// --- XEP-0077 ----------------------------------------------------------------------------------

class RegistrationTest : public C2sAuthTest {
 protected:
  void SetUp() override {
    start("[[host]]\ndomain = \"localhost\"\nallow_registration = true\n", false);
  }

  static std::string registration(std::string_view id, std::string_view user,
                                  std::string_view password) {
    return "<iq type='set' id='" + std::string(id) +
           "'><query xmlns='jabber:iq:register'><username>" + std::string(user) +
           "</username><password>" + std::string(password) + "</password></query></iq>";
  }
};

TEST_F(RegistrationTest, RegistrationOverTlsCreatesAnAccountThatCanLogIn) {
  Client client(server_->port());
  const xml::Document clear = client.open_stream();
  EXPECT_FALSE(clear.root().child("register", kRegisterFeature)) << "registration in the clear";
  client.starttls();
  const xml::Document features = client.open_stream();
  EXPECT_TRUE(features.root().child("register", kRegisterFeature)) << client.received();

  const xml::Document form =
      client.iq("<iq type='get' id='f1'><query xmlns='jabber:iq:register'/></iq>");
  ASSERT_EQ(form.root().attr("type"), "result") << client.received();
  const xml::Element query = form.root().child("query", kRegister);
  EXPECT_TRUE(query.child("username", kRegister)) << client.received();
  EXPECT_TRUE(query.child("password", kRegister)) << client.received();

  const xml::Document created = client.iq(registration("r1", "bob", "bobs password"));
  EXPECT_EQ(created.root().attr("type"), "result") << client.received();
  EXPECT_EQ(created.root().attr("id"), "r1");

  const xml::Document taken = client.iq(registration("r2", "bob", "another"));
  EXPECT_EQ(taken.root().attr("type"), "error") << client.received();
  EXPECT_EQ(stanza_error_condition(taken.root()), "conflict") << client.received();

  // The same connection may now log in as the new user.
  ASSERT_TRUE(client.authenticate("bob", "bobs password", "SCRAM-SHA-256").success)
      << client.received();
  EXPECT_EQ(client.bind("new"), "bob@localhost/new");
  // And so may a new one; the losing registration did not change the password.
  Client again(server_->port());
  EXPECT_EQ(again.login("bob", "bobs password", "SCRAM-SHA-1", "two"), "bob@localhost/two");
}

// User names are nodeprepped (RFC 7622 §3.3): "Carol" is the account "carol".
TEST_F(RegistrationTest, UserNamesDifferingInCaseAreTheSameAccount) {
  Client client(server_->port());
  client.open_stream();
  client.starttls();
  client.open_stream();
  EXPECT_EQ(client.iq(registration("r1", "Carol", "pw one")).root().attr("type"), "result")
      << client.received();
  const xml::Document taken = client.iq(registration("r2", "cAROL", "pw two"));
  EXPECT_EQ(stanza_error_condition(taken.root()), "conflict") << client.received();
  Client login(server_->port());
  EXPECT_EQ(login.login("carol", "pw one", "SCRAM-SHA-256", "c"), "carol@localhost/c");
}

TEST_F(RegistrationTest, EmptyPasswordGetsNotAcceptable) {
  Client client(server_->port());
  client.open_stream();
  client.starttls();
  client.open_stream();
  const xml::Document reply = client.iq(registration("r1", "dave", ""));
  EXPECT_EQ(stanza_error_condition(reply.root()), "not-acceptable") << client.received();
}

TEST_F(C2sAuthTest, RegistrationsPerAddressAreLimited) {
  start(
      "[limits]\nregistrations_per_address_per_hour = 1\n\n"
      "[[host]]\ndomain = \"localhost\"\nallow_registration = true\n",
      false);
  Client client(server_->port());
  client.open_stream();
  client.starttls();
  client.open_stream();
  const xml::Document first = client.iq(
      "<iq type='set' id='r1'><query xmlns='jabber:iq:register'><username>u1</username>"
      "<password>pw</password></query></iq>");
  EXPECT_EQ(first.root().attr("type"), "result") << client.received();
  const xml::Document second = client.iq(
      "<iq type='set' id='r2'><query xmlns='jabber:iq:register'><username>u2</username>"
      "<password>pw</password></query></iq>");
  EXPECT_EQ(stanza_error_condition(second.root()), "resource-constraint") << client.received();
}

TEST_F(RegistrationTest, RegistrationBeforeTlsGetsNotAuthorized) {
  Client client(server_->port());
  client.open_stream();
  client.send(registration("r1", "bob", "secret"));
  expect_stream_error(client, xml::StreamError::NotAuthorized);
}

TEST_F(C2sAuthTest, LoggedInUserChangesThePassword) {  // XEP-0077 §3.3
  start();
  auto client = logged_in();
  const xml::Document changed = client->iq(
      "<iq type='set' id='c1' to='localhost'><query xmlns='jabber:iq:register'>"
      "<username>alice</username><password>new secret</password></query></iq>");
  EXPECT_EQ(changed.root().attr("type"), "result") << client->received();

  auto old_password = ready_for_sasl();
  expect_sasl_failure(old_password->authenticate(kUser, kPassword, "SCRAM-SHA-256"),
                      "not-authorized", *old_password);
  Client new_password(server_->port());
  EXPECT_EQ(new_password.login(kUser, "new secret", "SCRAM-SHA-256", "n"), "alice@localhost/n");
  Client plain(server_->port());
  EXPECT_EQ(plain.login(kUser, "new secret", "PLAIN", "p"), "alice@localhost/p");
}

TEST_F(C2sAuthTest, UserCannotChangeAnotherUsersPassword) {
  start();
  server_->add_user("bob@localhost", "bobs password");
  auto client = logged_in();
  const xml::Document reply = client->iq(
      "<iq type='set' id='c1'><query xmlns='jabber:iq:register'>"
      "<username>bob</username><password>mine now</password></query></iq>");
  EXPECT_EQ(reply.root().attr("type"), "error") << client->received();
  EXPECT_EQ(stanza_error_condition(reply.root()), "not-authorized") << client->received();
  Client bob(server_->port());
  EXPECT_EQ(bob.login("bob", "bobs password", "SCRAM-SHA-256", "b"), "bob@localhost/b");
}

TEST_F(C2sAuthTest, LoggedInUserRemovesTheAccount) {  // XEP-0077 §3.2
  start();
  auto other_session = logged_in("other");
  auto client = logged_in("main");
  const xml::Document removed = client->iq(
      "<iq type='set' id='rm' to='localhost'><query xmlns='jabber:iq:register'>"
      "<remove/></query></iq>");
  EXPECT_EQ(removed.root().attr("type"), "result") << client->received();
  EXPECT_EQ(removed.root().attr("id"), "rm");
  expect_stream_error(*client, xml::StreamError::NotAuthorized);
  expect_stream_error(*other_session, xml::StreamError::NotAuthorized);

  auto again = ready_for_sasl();
  expect_sasl_failure(again->authenticate(kUser, kPassword, "SCRAM-SHA-256"), "not-authorized",
                      *again);
}

// --- Closing and account removal

// RFC 8446 §6.1: "Each party MUST send a close_notify alert before closing its write side of the
// connection": the client must see a clean TLS end after </stream:stream>, not a truncation.
TEST_F(C2sAuthTest, ServerEndsTlsWithCloseNotify) {
  start();
  auto client = logged_in();
  client->send("</stream:stream>");
  auto closed = client->next_event();
  ASSERT_TRUE(closed) << client->received();
  EXPECT_EQ(closed->type, EventType::StreamClosed);
  ASSERT_TRUE(client->wait_for_close());
  EXPECT_TRUE(client->tls_close_notify_received());
}

// XEP-0077 §3.2: removing an account ends its sessions, including a stream that completed SASL but
// has not bound yet: it must not be able to bind a resource of the removed account.
TEST_F(C2sAuthTest, AccountRemovalAlsoEndsStreamsThatHaveNotBoundYet) {
  start();
  auto pending = ready_for_sasl();
  ASSERT_TRUE(pending->authenticate(kUser, kPassword, "SCRAM-SHA-256").success);
  auto client = logged_in("main");
  const xml::Document removed =
      client->iq("<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>");
  ASSERT_EQ(removed.root().attr("type"), "result") << client->received();
  expect_stream_error(*client, xml::StreamError::NotAuthorized);
  // Today: the restart is answered and the bind gets a result for alice@localhost/late.
  pending->send(kClientHeader);
  std::optional<xml::StreamParser::Event> event;
  do {
    event = pending->next_event();
  } while (event && event->type != EventType::Element);
  ASSERT_TRUE(event) << pending->received();
  if (event->element.root().is("features", ns::kStream)) {
    pending->send(
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
        "<resource>late</resource></bind></iq>");
    event = pending->next_event();
    ASSERT_TRUE(event) << pending->received();
    ASSERT_EQ(event->type, EventType::Element) << pending->received();
  }
  EXPECT_EQ(stream_error_condition(event->element.root()), "not-authorized") << pending->received();
}

}  // namespace
}  // namespace parley::testing
