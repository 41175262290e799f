// The IQ modules on the wire, against the real `parley serve`: XEP-0092 software version, XEP-0202
// entity time, XEP-0012 last activity, XEP-0054 vcard-temp and XEP-0049 private XML storage, with
// their error cases, across accounts and across a restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_process.hpp"
#include "xml/namespaces.hpp"

namespace parley::testing {
namespace {

namespace ns = xml::ns;
using namespace std::chrono_literals;

constexpr std::string_view kVersion = "jabber:iq:version";
constexpr std::string_view kTime = "urn:xmpp:time";
constexpr std::string_view kLast = "jabber:iq:last";
constexpr std::string_view kVcard = "vcard-temp";
constexpr std::string_view kPrivate = "jabber:iq:private";
constexpr std::string_view kDiscoInfo = "http://jabber.org/protocol/disco#info";

const std::string kPassword = "a password for the tests";

std::string str(std::string_view s) { return std::string(s); }

// The next element `client` receives that `match` accepts; what comes first (presence
// broadcasts, subscription requests) is skipped. Throws when none comes in time.
xml::Document expect(Client& client, const std::function<bool(xml::Element)>& match) {
  for (;;) {
    xml::Document element = client.expect_element();
    if (match(element.root())) return element;
  }
}

// Sends an IQ and returns the reply with the same id.
xml::Document iq(Client& client, const std::string& iq_xml, std::string_view id) {
  client.send(iq_xml);
  return expect(client,
                [id](xml::Element e) { return e.is("iq", ns::kClient) && e.attr("id") == id; });
}

xml::Document presence_from(Client& client, std::string_view from, std::string_view type) {
  return expect(client, [from, type](xml::Element e) {
    return e.is("presence", ns::kClient) && e.attr("from") == from && e.attr("type") == type;
  });
}

// The `seconds` of a jabber:iq:last result.
long seconds_of(const xml::Document& reply) {
  const xml::Element query = reply.root().child("query", kLast);
  if (!query) return -1;
  return std::stol(std::string(query.attr("seconds")));
}

std::string last_text(const xml::Document& reply) {
  const xml::Element query = reply.root().child("query", kLast);
  return query ? query.text() : std::string("(no query)");
}

// One element parsed from XML text (in its own namespace), to compare with what a server sends.
xml::Document element(const std::string& text) {
  xml::StreamParser parser;
  parser.feed(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
      "version='1.0'>");
  parser.feed(text);
  for (;;) {
    auto event = parser.next();
    if (event.type == xml::StreamParser::EventType::StreamOpened) continue;
    if (event.type != xml::StreamParser::EventType::Element) {
      throw std::runtime_error("test XML does not parse: " + text);
    }
    return std::move(event.element);
  }
}

// CCYY-MM-DDThh:mm:ssZ (XEP-0082 §3.2, UTC, no fraction). (No std::regex: g++ 12 warns
// falsely inside it under the sanitizers.)
bool is_utc_datetime(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool ok = kShape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == kShape[i];
    if (!ok) return false;
  }
  return true;
}

class IqModulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>();
    for (const char* user : {"alice", "bob", "carol"}) {
      server_->add_user(std::string(user) + "@localhost", kPassword);
    }
  }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- server output ---\n" << server_->output();
  }

  std::unique_ptr<Client> login(const std::string& user, const std::string& resource = "test") {
    auto client = std::make_unique<Client>(server_->port());
    EXPECT_EQ(client->login(user, kPassword, "SCRAM-SHA-256", resource),
              user + "@localhost/" + resource);
    return client;
  }

  // Initial presence (RFC 6121 §4.2), optionally with children; returns once the server has
  // processed it (it echoes the presence to the sender, §4.2.2).
  static void available(Client& client, const std::string& full_jid,
                        const std::string& children = {}) {
    client.send("<presence>" + children + "</presence>");
    presence_from(client, full_jid, "");
  }

  // Unavailable presence; returns once the server has processed it (a ping sent after it is
  // answered after it, the session's stanzas being handled in order).
  static void unavailable(Client& client, const std::string& children = {}) {
    client.send("<presence type='unavailable'>" + children + "</presence>");
    const xml::Document pong =
        iq(client, "<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>", "sync");
    ASSERT_EQ(pong.root().attr("type"), "result");
  }

  // `watcher` subscribes to the presence of `contact`, who approves (RFC 6121 §3.1): the
  // contact's roster then has the watcher with subscription 'from'. Both must be available.
  static void subscribe(Client& watcher, const std::string& watcher_bare, Client& contact,
                        const std::string& contact_bare) {
    // The approval goes to "interested" resources, those that asked for the roster (RFC 6121
    // §3.1.6).
    iq(watcher, "<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>", "roster");
    watcher.send("<presence type='subscribe' to='" + contact_bare + "'/>");
    presence_from(contact, watcher_bare, "subscribe");
    contact.send("<presence type='subscribed' to='" + watcher_bare + "'/>");
    presence_from(watcher, contact_bare, "subscribed");
  }

  static void expect_error(const xml::Document& reply, std::string_view condition,
                           std::string_view type = {}) {
    EXPECT_EQ(reply.root().attr("type"), "error");
    EXPECT_EQ(stanza_error_condition(reply.root()), condition);
    if (!type.empty()) {
      EXPECT_EQ(reply.root().child("error", ns::kClient).attr("type"), type);
    }
  }

  static std::set<std::string> features_of(const xml::Document& reply) {
    std::set<std::string> out;
    const xml::Element query = reply.root().child("query", kDiscoInfo);
    if (!query) return out;
    for (xml::Element f : query.children()) {
      if (f.name() == "feature") out.insert(std::string(f.attr("var")));
    }
    return out;
  }

  std::unique_ptr<ServerProcess> server_;
};

// --- Service discovery ---------------------------------------------------------------------------

TEST_F(IqModulesTest, DiscoListsEachModulesFeatureWhereItIsServed) {
  auto alice = login("alice");
  const auto server = features_of(iq(
      *alice, "<iq type='get' id='d1' to='localhost'><query xmlns='" + str(kDiscoInfo) + "'/></iq>",
      "d1"));
  for (std::string_view f : {kVersion, kTime, kLast, kVcard}) {
    EXPECT_TRUE(server.contains(str(f))) << f;
  }
  EXPECT_FALSE(server.contains(str(kPrivate)));  // private data is the accounts'
  const auto account = features_of(iq(
      *alice,
      "<iq type='get' id='d2' to='alice@localhost'><query xmlns='" + str(kDiscoInfo) + "'/></iq>",
      "d2"));
  for (std::string_view f : {kLast, kVcard, kPrivate}) {
    EXPECT_TRUE(account.contains(str(f))) << f;
  }
  EXPECT_FALSE(account.contains(str(kVersion)));
  EXPECT_FALSE(account.contains(str(kTime)));
}

// --- XEP-0092 Software Version -------------------------------------------------------------------

TEST_F(IqModulesTest, ServerVersionHasNameAndVersionAndNoOs) {
  auto alice = login("alice");
  const auto reply =
      iq(*alice, "<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>",
         "v1");
  ASSERT_EQ(reply.root().attr("type"), "result") << alice->received();
  EXPECT_EQ(reply.root().attr("from"), "localhost");
  EXPECT_EQ(reply.root().attr("to"), "alice@localhost/test");
  const xml::Element query = reply.root().child("query", kVersion);
  ASSERT_TRUE(query) << alice->received();
  EXPECT_EQ(query.child("name", kVersion).text(), "Parley");
  EXPECT_EQ(query.child("version", kVersion).text(), PARLEY_VERSION);
  EXPECT_FALSE(query.child("os", kVersion)) << "the operating system is not revealed";
}

TEST_F(IqModulesTest, ServerVersionCannotBeSet) {
  auto alice = login("alice");
  expect_error(iq(*alice,
                  "<iq type='set' id='v2' to='localhost'><query xmlns='jabber:iq:version'>"
                  "<name>x</name><version>1</version></query></iq>",
                  "v2"),
               "not-allowed", "cancel");
}

// The server answers for its own software, not for an account's clients.
TEST_F(IqModulesTest, VersionToABareJidIsNotAnsweredByTheServer) {
  auto alice = login("alice");
  expect_error(
      iq(*alice,
         "<iq type='get' id='v3' to='bob@localhost'><query xmlns='jabber:iq:version'/></iq>", "v3"),
      "service-unavailable");
}

// --- XEP-0202 Entity Time ------------------------------------------------------------------------

TEST_F(IqModulesTest, ServerTimeIsUtcWithZeroOffset) {
  auto alice = login("alice");
  const auto reply =
      iq(*alice, "<iq type='get' id='t1' to='localhost'><time xmlns='urn:xmpp:time'/></iq>", "t1");
  ASSERT_EQ(reply.root().attr("type"), "result") << alice->received();
  const xml::Element time = reply.root().child("time", kTime);
  ASSERT_TRUE(time) << alice->received();
  EXPECT_EQ(time.child("tzo", kTime).text(), "+00:00");
  const std::string utc = time.child("utc", kTime).text();
  // XEP-0082 dateTime in UTC.
  ASSERT_TRUE(is_utc_datetime(utc)) << utc;
  std::tm tm{};
  ASSERT_NE(strptime(utc.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr);
  const std::time_t server_time = timegm(&tm);
  EXPECT_LE(std::abs(std::difftime(std::time(nullptr), server_time)), 10.0) << utc;
}

TEST_F(IqModulesTest, ServerTimeCannotBeSet) {
  auto alice = login("alice");
  expect_error(iq(*alice,
                  "<iq type='set' id='t2' to='localhost'><time xmlns='urn:xmpp:time'>"
                  "<tzo>+01:00</tzo><utc>2000-01-01T00:00:00Z</utc></time></iq>",
                  "t2"),
               "not-allowed", "cancel");
}

// --- XEP-0012 Last Activity ----------------------------------------------------------------------

const std::string kLastGet = "<query xmlns='jabber:iq:last'/>";

// §5: the server's uptime, counting.
TEST_F(IqModulesTest, LastActivityOfTheServerIsItsUptime) {
  auto alice = login("alice");
  const auto first =
      iq(*alice, "<iq type='get' id='l1' to='localhost'>" + kLastGet + "</iq>", "l1");
  ASSERT_EQ(first.root().attr("type"), "result") << alice->received();
  EXPECT_EQ(first.root().attr("from"), "localhost");
  const long up = seconds_of(first);
  EXPECT_GE(up, 0);
  EXPECT_LT(up, 120);
  EXPECT_EQ(last_text(first), "");  // §5: no character data
  std::this_thread::sleep_for(1100ms);
  const auto second =
      iq(*alice, "<iq type='get' id='l2' to='localhost'>" + kLastGet + "</iq>", "l2");
  EXPECT_GE(seconds_of(second), up + 1);
}

TEST_F(IqModulesTest, LastActivityCannotBeSet) {
  auto alice = login("alice");
  expect_error(iq(*alice,
                  "<iq type='set' id='l1' to='localhost'><query xmlns='jabber:iq:last' "
                  "seconds='5'/></iq>",
                  "l1"),
               "not-allowed");
  expect_error(
      iq(*alice, "<iq type='set' id='l2'><query xmlns='jabber:iq:last' seconds='5'/></iq>", "l2"),
      "not-allowed");
}

// §3: a subscribed contact with an available resource: seconds='0', no text.
TEST_F(IqModulesTest, LastActivityOfAnAvailableContactIsZero) {
  auto alice = login("alice");
  auto bob = login("bob");
  available(*alice, "alice@localhost/test");
  available(*bob, "bob@localhost/test");
  subscribe(*bob, "bob@localhost", *alice, "alice@localhost");
  const auto reply =
      iq(*bob, "<iq type='get' id='l1' to='alice@localhost'>" + kLastGet + "</iq>", "l1");
  ASSERT_EQ(reply.root().attr("type"), "result") << bob->received();
  EXPECT_EQ(reply.root().attr("from"), "alice@localhost");
  EXPECT_EQ(seconds_of(reply), 0);
  EXPECT_EQ(last_text(reply), "");
}

// §3: the seconds since the logout and the status of the last unavailable presence.
TEST_F(IqModulesTest, LastActivityOfAContactWhoLoggedOutIsTheTimeSinceAndTheStatus) {
  auto alice = login("alice");
  auto bob = login("bob");
  available(*alice, "alice@localhost/test");
  available(*bob, "bob@localhost/test");
  subscribe(*bob, "bob@localhost", *alice, "alice@localhost");
  alice->send("<presence type='unavailable'><status>Heading Home</status></presence>");
  presence_from(*bob, "alice@localhost/test", "unavailable");
  alice->send("</stream:stream>");
  EXPECT_TRUE(alice->wait_for_close());
  std::this_thread::sleep_for(1100ms);
  const auto reply =
      iq(*bob, "<iq type='get' id='l1' to='alice@localhost'>" + kLastGet + "</iq>", "l1");
  ASSERT_EQ(reply.root().attr("type"), "result") << bob->received();
  EXPECT_GE(seconds_of(reply), 1);
  EXPECT_LT(seconds_of(reply), 60);
  EXPECT_EQ(last_text(reply), "Heading Home");
}

// A connection dropped without unavailable presence is a logout too (RFC 6121 §4.5.2), with no
// status text.
TEST_F(IqModulesTest, LastActivityCountsADroppedConnectionAsALogout) {
  auto alice = login("alice");
  auto bob = login("bob");
  available(*alice, "alice@localhost/test", "<status>Here</status>");
  available(*bob, "bob@localhost/test");
  subscribe(*bob, "bob@localhost", *alice, "alice@localhost");
  alice.reset();  // the TCP connection closes, no </stream:stream>
  presence_from(*bob, "alice@localhost/test", "unavailable");
  const auto reply =
      iq(*bob, "<iq type='get' id='l1' to='alice@localhost'>" + kLastGet + "</iq>", "l1");
  ASSERT_EQ(reply.root().attr("type"), "result") << bob->received();
  EXPECT_GE(seconds_of(reply), 0);
  EXPECT_LT(seconds_of(reply), 60);
  EXPECT_EQ(last_text(reply), "");
}

// The account is not logged out while another of its resources is available.
TEST_F(IqModulesTest, LastActivityIsZeroWhileAnotherResourceIsAvailable) {
  auto phone = login("alice", "phone");
  auto desk = login("alice", "desk");
  auto bob = login("bob");
  available(*phone, "alice@localhost/phone");
  available(*desk, "alice@localhost/desk");
  available(*bob, "bob@localhost/test");
  subscribe(*bob, "bob@localhost", *phone, "alice@localhost");
  unavailable(*phone, "<status>phone off</status>");
  presence_from(*bob, "alice@localhost/phone", "unavailable");
  const auto reply =
      iq(*bob, "<iq type='get' id='l1' to='alice@localhost'>" + kLastGet + "</iq>", "l1");
  ASSERT_EQ(reply.root().attr("type"), "result") << bob->received();
  EXPECT_EQ(seconds_of(reply), 0);
  EXPECT_EQ(last_text(reply), "");
}

// §3: without a subscription to the user's presence, forbidden, whether the user is online or
// not; a subscription the other way round (the user's to the requester's presence) does not
// count.
TEST_F(IqModulesTest, LastActivityWithoutSubscriptionIsForbidden) {
  auto alice = login("alice");
  auto carol = login("carol");
  available(*alice, "alice@localhost/test");
  available(*carol, "carol@localhost/test");
  expect_error(
      iq(*carol, "<iq type='get' id='l1' to='alice@localhost'>" + kLastGet + "</iq>", "l1"),
      "forbidden", "auth");
  subscribe(*alice, "alice@localhost", *carol, "carol@localhost");  // alice sees carol's
  expect_error(
      iq(*carol, "<iq type='get' id='l2' to='alice@localhost'>" + kLastGet + "</iq>", "l2"),
      "forbidden", "auth");
  unavailable(*alice, "<status>away</status>");
  expect_error(
      iq(*carol, "<iq type='get' id='l3' to='alice@localhost'>" + kLastGet + "</iq>", "l3"),
      "forbidden", "auth");
}

// The account itself may ask (no 'to': its own bare JID, RFC 6120 §10.3.3). A connected
// resource that is not available does not count as online.
TEST_F(IqModulesTest, LastActivityOfOnesOwnAccount) {
  auto phone = login("alice", "phone");
  auto desk = login("alice", "desk");  // connected, never available
  available(*phone, "alice@localhost/phone");
  const auto online = iq(*desk, "<iq type='get' id='l1'>" + kLastGet + "</iq>", "l1");
  ASSERT_EQ(online.root().attr("type"), "result") << desk->received();
  EXPECT_EQ(online.root().attr("from"), "alice@localhost");
  EXPECT_EQ(seconds_of(online), 0);
  unavailable(*phone, "<status>gone fishing</status>");
  const auto offline = iq(*desk, "<iq type='get' id='l2'>" + kLastGet + "</iq>", "l2");
  ASSERT_EQ(offline.root().attr("type"), "result") << desk->received();
  EXPECT_GE(seconds_of(offline), 0);
  EXPECT_LT(seconds_of(offline), 60);
  EXPECT_EQ(last_text(offline), "gone fishing");
}

// Nothing recorded: an account that has never logged out.
TEST_F(IqModulesTest, LastActivityOfAnAccountNeverLoggedOutIsItemNotFound) {
  auto alice = login("alice");
  expect_error(iq(*alice, "<iq type='get' id='l1'>" + kLastGet + "</iq>", "l1"), "item-not-found",
               "cancel");
}

// --- XEP-0054 vcard-temp -------------------------------------------------------------------------

const std::string kAliceVcard =
    "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><N><FAMILY>Liddell</FAMILY>"
    "<GIVEN>Alice</GIVEN><MIDDLE/></N><NICKNAME>alice</NICKNAME>"
    "<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO>"
    "<DESC>Curiouser &amp; curiouser: &lt;rabbit&gt; \xE2\x80\x94 holes</DESC></vCard>";

TEST_F(IqModulesTest, OwnVcardIsEmptyBeforeItIsSet) {
  auto alice = login("alice");
  const auto reply = iq(*alice, "<iq type='get' id='c1'><vCard xmlns='vcard-temp'/></iq>", "c1");
  ASSERT_EQ(reply.root().attr("type"), "result") << alice->received();
  const xml::Element vcard = reply.root().child("vCard", kVcard);
  ASSERT_TRUE(vcard) << alice->received();  // §3.1: an empty <vCard/>
  EXPECT_FALSE(vcard.first_child());
}

TEST_F(IqModulesTest, OwnVcardIsStoredAndReturnedAsSet) {
  auto alice = login("alice");
  const auto set = iq(*alice, "<iq type='set' id='c1'>" + kAliceVcard + "</iq>", "c1");
  ASSERT_EQ(set.root().attr("type"), "result") << alice->received();
  EXPECT_FALSE(set.root().first_child());  // §3.2: an empty result
  const xml::Document expected = element(kAliceVcard);
  const auto get = iq(*alice, "<iq type='get' id='c2'><vCard xmlns='vcard-temp'/></iq>", "c2");
  ASSERT_EQ(get.root().attr("type"), "result") << alice->received();
  EXPECT_TRUE(xml::deep_equal(get.root().child("vCard", kVcard), expected.root()))
      << alice->received();
  // The same, addressed to the own bare JID; and a new vCard replaces the whole old one.
  const auto by_jid = iq(
      *alice, "<iq type='get' id='c3' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>", "c3");
  EXPECT_TRUE(xml::deep_equal(by_jid.root().child("vCard", kVcard), expected.root()));
  const std::string replacement = "<vCard xmlns='vcard-temp'><FN>A. L.</FN></vCard>";
  ASSERT_EQ(iq(*alice, "<iq type='set' id='c4' to='alice@localhost'>" + replacement + "</iq>", "c4")
                .root()
                .attr("type"),
            "result");
  const auto replaced = iq(*alice, "<iq type='get' id='c5'><vCard xmlns='vcard-temp'/></iq>", "c5");
  EXPECT_TRUE(xml::deep_equal(replaced.root().child("vCard", kVcard), element(replacement).root()));
}

// §3.3: vCards are public; the server answers for the account.
TEST_F(IqModulesTest, AnotherUsersVcardIsReadable) {
  auto alice = login("alice");
  auto bob = login("bob");
  available(*alice, "alice@localhost/test");
  ASSERT_EQ(iq(*alice, "<iq type='set' id='c1'>" + kAliceVcard + "</iq>", "c1").root().attr("type"),
            "result");
  const auto reply = iq(
      *bob, "<iq type='get' id='c2' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>", "c2");
  ASSERT_EQ(reply.root().attr("type"), "result") << bob->received();
  EXPECT_EQ(reply.root().attr("from"), "alice@localhost");
  EXPECT_TRUE(xml::deep_equal(reply.root().child("vCard", kVcard), element(kAliceVcard).root()));
}

// §3.3: no vCard and no such user get the same error, service-unavailable.
TEST_F(IqModulesTest, MissingVcardOfAnotherUserIsServiceUnavailable) {
  auto bob = login("bob");
  expect_error(
      iq(*bob, "<iq type='get' id='c1' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>",
         "c1"),
      "service-unavailable", "cancel");
  expect_error(
      iq(*bob, "<iq type='get' id='c2' to='nobody@localhost'><vCard xmlns='vcard-temp'/></iq>",
         "c2"),
      "service-unavailable", "cancel");
}

// §3.2: forbidden, and nothing changes.
TEST_F(IqModulesTest, SettingAnotherUsersVcardIsForbidden) {
  auto alice = login("alice");
  auto bob = login("bob");
  ASSERT_EQ(iq(*alice, "<iq type='set' id='c1'>" + kAliceVcard + "</iq>", "c1").root().attr("type"),
            "result");
  expect_error(iq(*bob,
                  "<iq type='set' id='c2' to='alice@localhost'><vCard xmlns='vcard-temp'>"
                  "<FN>Mallory</FN></vCard></iq>",
                  "c2"),
               "forbidden", "auth");
  const auto get = iq(*alice, "<iq type='get' id='c3'><vCard xmlns='vcard-temp'/></iq>", "c3");
  EXPECT_TRUE(xml::deep_equal(get.root().child("vCard", kVcard), element(kAliceVcard).root()));
}

TEST_F(IqModulesTest, OversizedVcardIsNotAcceptableAndKeepsTheOldOne) {
  auto alice = login("alice");
  ASSERT_EQ(iq(*alice, "<iq type='set' id='c1'>" + kAliceVcard + "</iq>", "c1").root().attr("type"),
            "result");
  const std::string big =
      "<vCard xmlns='vcard-temp'><DESC>" + std::string(70 * 1024, 'x') + "</DESC></vCard>";
  expect_error(iq(*alice, "<iq type='set' id='c2'>" + big + "</iq>", "c2"), "not-acceptable",
               "modify");
  const auto get = iq(*alice, "<iq type='get' id='c3'><vCard xmlns='vcard-temp'/></iq>", "c3");
  EXPECT_TRUE(xml::deep_equal(get.root().child("vCard", kVcard), element(kAliceVcard).root()));
}

// An empty vCard removes the stored one: others then find none.
TEST_F(IqModulesTest, EmptyVcardRemovesTheStoredOne) {
  auto alice = login("alice");
  auto bob = login("bob");
  ASSERT_EQ(iq(*alice, "<iq type='set' id='c1'>" + kAliceVcard + "</iq>", "c1").root().attr("type"),
            "result");
  ASSERT_EQ(iq(*alice, "<iq type='set' id='c2'><vCard xmlns='vcard-temp'/></iq>", "c2")
                .root()
                .attr("type"),
            "result");
  const auto own = iq(*alice, "<iq type='get' id='c3'><vCard xmlns='vcard-temp'/></iq>", "c3");
  ASSERT_TRUE(own.root().child("vCard", kVcard)) << alice->received();
  EXPECT_FALSE(own.root().child("vCard", kVcard).first_child());
  expect_error(
      iq(*bob, "<iq type='get' id='c4' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>",
         "c4"),
      "service-unavailable");
}

// The server has no vCard: none to get (§3.3), none to set (§3.2).
TEST_F(IqModulesTest, ServerHasNoVcard) {
  auto alice = login("alice");
  expect_error(
      iq(*alice, "<iq type='get' id='c1' to='localhost'><vCard xmlns='vcard-temp'/></iq>", "c1"),
      "service-unavailable");
  expect_error(iq(*alice,
                  "<iq type='set' id='c2' to='localhost'><vCard xmlns='vcard-temp'>"
                  "<FN>Server</FN></vCard></iq>",
                  "c2"),
               "forbidden");
}

// --- XEP-0049 Private XML Storage ----------------------------------------------------------------

std::string private_iq(std::string_view type, std::string_view id, const std::string& children,
                       std::string_view to = {}) {
  std::string out = "<iq type='" + str(type) + "' id='" + str(id) + "'";
  if (!to.empty()) out += " to='" + str(to) + "'";
  return out + "><query xmlns='jabber:iq:private'>" + children + "</query></iq>";
}

const std::string kPrefs =
    "<exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus>";
const std::string kBookmarks =
    "<storage xmlns='storage:bookmarks'><conference jid='council@conference.localhost' "
    "autojoin='true' name='Council'><nick>alice</nick></conference></storage>";

xml::Document query_of(const std::string& children) {
  return element("<query xmlns='jabber:iq:private'>" + children + "</query>");
}

// §2.3: nothing stored, the query comes back as sent.
TEST_F(IqModulesTest, PrivateDataNotStoredComesBackEmpty) {
  auto alice = login("alice");
  const auto reply = iq(*alice, private_iq("get", "p1", "<exodus xmlns='exodus:prefs'/>"), "p1");
  ASSERT_EQ(reply.root().attr("type"), "result") << alice->received();
  EXPECT_TRUE(xml::deep_equal(reply.root().child("query", kPrivate),
                              query_of("<exodus xmlns='exodus:prefs'/>").root()))
      << alice->received();
}

TEST_F(IqModulesTest, PrivateDataIsStoredByNamespace) {
  auto alice = login("alice");
  const auto set = iq(*alice, private_iq("set", "p1", kPrefs), "p1");
  ASSERT_EQ(set.root().attr("type"), "result") << alice->received();
  EXPECT_FALSE(set.root().first_child());
  ASSERT_EQ(iq(*alice, private_iq("set", "p2", kBookmarks), "p2").root().attr("type"), "result");
  const auto prefs = iq(*alice, private_iq("get", "p3", "<exodus xmlns='exodus:prefs'/>"), "p3");
  EXPECT_TRUE(xml::deep_equal(prefs.root().child("query", kPrivate), query_of(kPrefs).root()))
      << alice->received();
  const auto bookmarks =
      iq(*alice, private_iq("get", "p4", "<storage xmlns='storage:bookmarks'/>", "alice@localhost"),
         "p4");
  EXPECT_TRUE(
      xml::deep_equal(bookmarks.root().child("query", kPrivate), query_of(kBookmarks).root()))
      << alice->received();
  // A set replaces what its namespace held, and only that.
  const std::string new_prefs =
      "<exodus xmlns='exodus:prefs'><defaultnick>H</defaultnick></exodus>";
  ASSERT_EQ(iq(*alice, private_iq("set", "p5", new_prefs), "p5").root().attr("type"), "result");
  const auto replaced = iq(*alice, private_iq("get", "p6", "<exodus xmlns='exodus:prefs'/>"), "p6");
  EXPECT_TRUE(
      xml::deep_equal(replaced.root().child("query", kPrivate), query_of(new_prefs).root()));
  const auto kept =
      iq(*alice, private_iq("get", "p7", "<storage xmlns='storage:bookmarks'/>"), "p7");
  EXPECT_TRUE(xml::deep_equal(kept.root().child("query", kPrivate), query_of(kBookmarks).root()));
}

// §2.3: a set (and so a result) may hold several elements of one namespace.
TEST_F(IqModulesTest, PrivateDataKeepsSeveralElementsOfOneNamespace) {
  auto alice = login("alice");
  const std::string two = "<a xmlns='urn:example:notes'>one</a><b xmlns='urn:example:notes'/>";
  ASSERT_EQ(iq(*alice, private_iq("set", "p1", two), "p1").root().attr("type"), "result");
  const auto reply = iq(*alice, private_iq("get", "p2", "<a xmlns='urn:example:notes'/>"), "p2");
  EXPECT_TRUE(xml::deep_equal(reply.root().child("query", kPrivate), query_of(two).root()))
      << alice->received();
}

// §2.3, §4: forbidden for another account, get or set; nothing changes.
TEST_F(IqModulesTest, PrivateDataOfAnotherAccountIsForbidden) {
  auto alice = login("alice");
  auto bob = login("bob");
  ASSERT_EQ(iq(*alice, private_iq("set", "p1", kPrefs), "p1").root().attr("type"), "result");
  expect_error(
      iq(*bob, private_iq("get", "p2", "<exodus xmlns='exodus:prefs'/>", "alice@localhost"), "p2"),
      "forbidden");
  expect_error(iq(*bob,
                  private_iq("set", "p3",
                             "<exodus xmlns='exodus:prefs'><defaultnick>Macbeth</defaultnick>"
                             "</exodus>",
                             "alice@localhost"),
                  "p3"),
               "forbidden");
  const auto mine = iq(*alice, private_iq("get", "p4", "<exodus xmlns='exodus:prefs'/>"), "p4");
  EXPECT_TRUE(xml::deep_equal(mine.root().child("query", kPrivate), query_of(kPrefs).root()));
  // And bob's own storage does not see alice's.
  const auto his = iq(*bob, private_iq("get", "p5", "<exodus xmlns='exodus:prefs'/>"), "p5");
  EXPECT_TRUE(xml::deep_equal(his.root().child("query", kPrivate),
                              query_of("<exodus xmlns='exodus:prefs'/>").root()));
}

// §2.3, §3: reserved namespaces, and an element without a namespace of its own.
TEST_F(IqModulesTest, PrivateDataInReservedNamespacesIsNotAcceptable) {
  auto alice = login("alice");
  int n = 0;
  for (const std::string child :
       {"<vCard xmlns='vcard-temp'><FN>Hamlet</FN></vCard>", "<query xmlns='jabber:iq:roster'/>",
        "<x xmlns='jabber:x:data'/>", "<query xmlns='http://jabber.org/protocol/disco#info'/>",
        "<prefs><a/></prefs>", "<prefs xmlns=''/>"}) {
    for (std::string_view type : {"get", "set"}) {
      const std::string id = "r" + std::to_string(++n);
      expect_error(iq(*alice, private_iq(type, id, child), id), "not-acceptable", "modify");
    }
  }
}

// §2.3: at least one child element.
TEST_F(IqModulesTest, PrivateDataQueryWithoutChildIsNotAcceptable) {
  auto alice = login("alice");
  expect_error(iq(*alice, private_iq("get", "p1", ""), "p1"), "not-acceptable");
  expect_error(iq(*alice, private_iq("set", "p2", ""), "p2"), "not-acceptable");
}

// §2.3: one namespace per get.
TEST_F(IqModulesTest, PrivateDataGetOfTwoNamespacesIsBadRequest) {
  auto alice = login("alice");
  expect_error(iq(*alice,
                  private_iq("get", "p1",
                             "<exodus xmlns='exodus:prefs'/><storage xmlns='storage:bookmarks'/>"),
                  "p1"),
               "bad-request", "modify");
}

TEST_F(IqModulesTest, OversizedPrivateDataIsNotAcceptable) {
  auto alice = login("alice");
  const std::string big = "<big xmlns='urn:example:big'>" + std::string(70 * 1024, 'x') + "</big>";
  expect_error(iq(*alice, private_iq("set", "p1", big), "p1"), "not-acceptable", "modify");
  const auto reply = iq(*alice, private_iq("get", "p2", "<big xmlns='urn:example:big'/>"), "p2");
  EXPECT_TRUE(xml::deep_equal(reply.root().child("query", kPrivate),
                              query_of("<big xmlns='urn:example:big'/>").root()));
}

// --- Storage ---------------------------------------------------------------------------------

// vCards, private data and the last logout are in the database, not only in the server's memory.
TEST_F(IqModulesTest, StoredDataSurvivesARestart) {
  {
    auto alice = login("alice");
    ASSERT_EQ(
        iq(*alice, "<iq type='set' id='s1'>" + kAliceVcard + "</iq>", "s1").root().attr("type"),
        "result");
    ASSERT_EQ(iq(*alice, private_iq("set", "s2", kBookmarks), "s2").root().attr("type"), "result");
    available(*alice, "alice@localhost/test");
    unavailable(*alice, "<status>see you later</status>");
  }
  const auto status = server_->signal_and_wait(SIGTERM, kTimeout);
  ASSERT_TRUE(status) << "the server did not stop";
  ServerProcess restarted({}, server_->data_dir());
  Client alice(restarted.port());
  alice.login("alice", kPassword);
  const auto last = iq(alice, "<iq type='get' id='r1'>" + kLastGet + "</iq>", "r1");
  ASSERT_EQ(last.root().attr("type"), "result") << alice.received() << restarted.output();
  EXPECT_EQ(last_text(last), "see you later");
  EXPECT_GE(seconds_of(last), 0);
  const auto vcard = iq(alice, "<iq type='get' id='r2'><vCard xmlns='vcard-temp'/></iq>", "r2");
  EXPECT_TRUE(xml::deep_equal(vcard.root().child("vCard", kVcard), element(kAliceVcard).root()))
      << alice.received();
  const auto bookmarks =
      iq(alice, private_iq("get", "r3", "<storage xmlns='storage:bookmarks'/>"), "r3");
  EXPECT_TRUE(
      xml::deep_equal(bookmarks.root().child("query", kPrivate), query_of(kBookmarks).root()))
      << alice.received();
}

}  // namespace
}  // namespace parley::testing
