// XEP-0191 Blocking Command and XEP-0280 Message Carbons as clients see them on the wire, against
// the real `parley serve` with three accounts: alice, bob (alice's contact through a shared roster
// group, so presence flows both ways) and carol (in another group with alice only).
//
// "Nothing arrived" is proved with a barrier, never a sleep: a client's stanzas are handled in
// order, so once the sender's ping to its own account is answered, whatever the server did with
// the stanzas it sent before has been queued for the recipient; the recipient's own ping answer
// then comes after all of it.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/integration/server_process.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::testing {
namespace {

namespace ns = xml::ns;
using EventType = xml::StreamParser::EventType;

constexpr std::string_view kBlocking = "urn:xmpp:blocking";
constexpr std::string_view kBlockingErrors = "urn:xmpp:blocking:errors";
constexpr std::string_view kCarbons = "urn:xmpp:carbons:2";
constexpr std::string_view kForward = "urn:xmpp:forward:0";
constexpr std::string_view kDiscoInfo = "http://jabber.org/protocol/disco#info";
constexpr std::string_view kPassword = "a password for tests";

constexpr std::string_view kConfig =
    "[[host]]\n"
    "domain = \"localhost\"\n"
    "\n"
    "[[group]]\n"
    "name = \"Friends\"\n"
    "members = [\"alice@localhost\", \"bob@localhost\"]\n"
    "\n"
    "[[group]]\n"
    "name = \"Team\"\n"
    "members = [\"alice@localhost\", \"carol@localhost\"]\n";

using Match = std::function<bool(xml::Element)>;

std::string text_of(xml::Element e) { return e ? xml::serialize(e) : std::string("(none)"); }

// --- What to look for ---

Match message_with_body(std::string body) {
  return [body = std::move(body)](xml::Element e) {
    if (!e.is("message", ns::kClient)) return false;
    const xml::Element b = e.child("body", ns::kClient);
    return b && b.text() == body;
  };
}

Match iq_with_id(std::string id) {
  return [id = std::move(id)](xml::Element e) {
    return e.is("iq", ns::kClient) && e.attr("id") == id &&
           (e.attr("type") == "result" || e.attr("type") == "error");
  };
}

// The error a message or IQ with this id came back as.
Match error_for(std::string id) {
  return [id = std::move(id)](xml::Element e) {
    return e.attr("id") == id && e.attr("type") == "error";
  };
}

Match presence_from(std::string from, std::string type = {}) {
  return [from = std::move(from), type = std::move(type)](xml::Element e) {
    return e.is("presence", ns::kClient) && e.attr("from") == from && e.attr("type") == type;
  };
}

Match presence_with_show(std::string from, std::string show) {
  return [from = std::move(from), show = std::move(show)](xml::Element e) {
    if (!e.is("presence", ns::kClient) || e.attr("from") != from) return false;
    const xml::Element s = e.child("show", ns::kClient);
    return s && s.text() == show;
  };
}

// A blocklist push (XEP-0191 §3.3, §3.4): an IQ set with <block/> or <unblock/>.
Match push_of(std::string element) {
  return [element = std::move(element)](xml::Element e) {
    return e.is("iq", ns::kClient) && e.attr("type") == "set" && e.child(element, kBlocking);
  };
}

// The carbon (<sent/> or <received/>) wrapping a message with this body.
Match carbon_of(std::string kind, std::string body) {
  return [kind = std::move(kind), body = std::move(body)](xml::Element e) {
    if (!e.is("message", ns::kClient)) return false;
    const xml::Element forwarded = e.child(kind, kCarbons).child("forwarded", kForward);
    const xml::Element inner = forwarded.child("message", ns::kClient);
    return inner && inner.child("body", ns::kClient).text() == body;
  };
}

// Any element that mentions this body, as an original or inside a carbon.
Match mentions(std::string body) {
  return [body = std::move(body)](xml::Element e) {
    return xml::serialize(e).find(">" + body + "<") != std::string::npos;
  };
}

std::vector<std::string> items_of(xml::Element list) {
  std::vector<std::string> out;
  for (const xml::Element item : list.children()) {
    if (item.is("item", kBlocking)) out.emplace_back(item.attr("jid"));
  }
  return out;
}

bool has_feature(xml::Element iq, std::string_view var) {
  for (const xml::Element f : iq.child("query", kDiscoInfo).children()) {
    if (f.name() == "feature" && f.attr("var") == var) return true;
  }
  return false;
}

// One logged-in resource, and every element the server has sent it since.
class Resource {
 public:
  Resource(std::uint16_t port, const std::string& user, const std::string& resource)
      : client_(port) {
    jid_ = client_.login(user, std::string(kPassword), "SCRAM-SHA-256", resource);
    bare_ = jid_.substr(0, jid_.find('/'));
  }

  const std::string& jid() const { return jid_; }
  const std::string& bare() const { return bare_; }
  void send(std::string_view xml) { client_.send(xml); }

  // The first element not yet taken that `match` accepts, reading more as needed. Throws when
  // none comes in time.
  xml::Element wait_for(const Match& match, std::string_view what) {
    for (;;) {
      for (std::size_t i = 0; i < seen_.size(); ++i) {
        if (!taken_[i] && match(seen_[i].root())) {
          taken_[i] = true;
          return seen_[i].root();
        }
      }
      read_one(what);
    }
  }

  // Whether any element received so far matches.
  bool saw(const Match& match) const {
    for (const auto& doc : seen_) {
      if (match(doc.root())) return true;
    }
    return false;
  }
  std::string dump() const {
    std::string out;
    for (const auto& doc : seen_) out += "\n  " + xml::serialize(doc.root());
    return out;
  }

  // Pings the own account and waits for the answer: everything the server queued for this
  // resource before has then been read.
  void sync() {
    const std::string id = "sync-" + std::to_string(++ids_);
    send("<iq type='get' id='" + id + "'><ping xmlns='urn:xmpp:ping'/></iq>");
    wait_for(iq_with_id(id), "the answer to " + id);
  }

  // Sends an IQ (its id taken from `id`) and returns the answer.
  xml::Element request(const std::string& id, std::string_view xml) {
    send(xml);
    return wait_for(iq_with_id(id), "the answer to " + id);
  }

  // Initial (or subsequent) presence, and the server's echo of it (RFC 6121 §4.2.2).
  void available(int priority = 0, std::string_view show = {}) {
    std::string p = "<presence>";
    if (!show.empty()) p += "<show>" + std::string(show) + "</show>";
    p += "<priority>" + std::to_string(priority) + "</priority></presence>";
    send(p);
    wait_for(
        [this, wanted = std::string(show)](xml::Element e) {
          if (!presence_from(jid_)(e)) return false;
          return e.child("show", ns::kClient).text() == wanted;
        },
        "the echo of our presence");
  }

  // XEP-0030 disco#info of `to`.
  xml::Element disco_info(const std::string& to) {
    const std::string id = "info-" + std::to_string(++ids_);
    return request(id, "<iq type='get' id='" + id + "' to='" + to + "'><query xmlns='" +
                           std::string(kDiscoInfo) + "'/></iq>");
  }

  // XEP-0191 §3.2: the blocklist (this resource then gets the pushes).
  std::vector<std::string> blocklist() {
    const std::string id = "list-" + std::to_string(++ids_);
    xml::Element reply =
        request(id, "<iq type='get' id='" + id + "'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
    if (reply.attr("type") != "result") throw std::runtime_error("blocklist: " + text_of(reply));
    const xml::Element list = reply.child("blocklist", kBlocking);
    if (!list) throw std::runtime_error("no <blocklist/> in " + text_of(reply));
    return items_of(list);
  }

  // <block/> or <unblock/> with these items; returns the answer.
  xml::Element change(std::string_view element, std::initializer_list<std::string_view> jids) {
    const std::string id = std::string(element) + "-" + std::to_string(++ids_);
    std::string iq =
        "<iq type='set' id='" + id + "'><" + std::string(element) + " xmlns='urn:xmpp:blocking'>";
    for (auto jid : jids) iq += "<item jid='" + std::string(jid) + "'/>";
    iq += "</" + std::string(element) + "></iq>";
    return request(id, iq);
  }
  void block(std::initializer_list<std::string_view> jids) { expect_result(change("block", jids)); }
  void unblock(std::initializer_list<std::string_view> jids) {
    expect_result(change("unblock", jids));
  }

  // XEP-0280 §4, §5.
  xml::Element carbons(std::string_view element) {
    const std::string id = std::string(element) + "-" + std::to_string(++ids_);
    return request(id, "<iq type='set' id='" + id + "'><" + std::string(element) +
                           " xmlns='urn:xmpp:carbons:2'/></iq>");
  }
  void enable_carbons() { expect_result(carbons("enable")); }

  void chat(const std::string& to, const std::string& body, std::string_view extra = {},
            std::string_view type = "chat") {
    std::string m = "<message to='" + to + "' id='" + body + "'";
    if (!type.empty()) m += " type='" + std::string(type) + "'";
    m += "><body>" + body + "</body>" + std::string(extra) + "</message>";
    send(m);
  }

 private:
  void expect_result(xml::Element reply) {
    if (reply.attr("type") != "result") throw std::runtime_error("not a result: " + text_of(reply));
  }

  void read_one(std::string_view what) {
    auto event = client_.next_event(kTimeout);
    if (!event) {
      throw std::runtime_error(jid_ + ": waited in vain for " + std::string(what) +
                               "; received:" + dump());
    }
    if (event->type != EventType::Element) {
      throw std::runtime_error(jid_ + ": stream event " +
                               std::to_string(static_cast<int>(event->type)) +
                               " while waiting for " + std::string(what) + "; received:" + dump());
    }
    seen_.push_back(std::move(event->element));
    taken_.push_back(false);
  }

  Client client_;
  std::string jid_;
  std::string bare_;
  std::vector<xml::Document> seen_;
  std::vector<bool> taken_;
  unsigned ids_ = 0;
};

// Both barriers of the file comment: the sender's, then the recipient's.
void flush(Resource& sender, Resource& recipient) {
  sender.sync();
  recipient.sync();
}

class BlockingCarbonsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{}, std::nullopt,
                                              std::string(kConfig));
    for (const char* user : {"alice", "bob", "carol"}) {
      server_->add_user(std::string(user) + "@localhost", std::string(kPassword));
    }
  }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- server output ---\n" << server_->output();
  }

  std::unique_ptr<Resource> login(const std::string& user, const std::string& resource) {
    return std::make_unique<Resource>(server_->port(), user, resource);
  }

  // Stops the server (SIGTERM) and starts it again on the same data directory.
  void restart() {
    ASSERT_TRUE(server_->signal_and_wait(SIGTERM, kTimeout)) << "the server did not stop";
    stopped_ = std::move(server_);  // owns the data directory
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{}, stopped_->data_dir(),
                                              std::string(kConfig));
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<ServerProcess> stopped_;
};

// =============================== XEP-0191 Blocking Command ===============================

class BlockingTest : public BlockingCarbonsFixture {};

// §3.1: the server advertises urn:xmpp:blocking; so does the account.
TEST_F(BlockingTest, FeatureIsAdvertisedByTheServerAndTheAccount) {
  auto alice = login("alice", "desk");
  xml::Element server = alice->disco_info("localhost");
  EXPECT_TRUE(has_feature(server, kBlocking)) << text_of(server);
  xml::Element account = alice->disco_info("alice@localhost");
  EXPECT_TRUE(has_feature(account, kBlocking)) << text_of(account);
}

// §3.2 (empty and non-empty lists), §3.3, §3.4, §3.5; JIDs come back prepared.
TEST_F(BlockingTest, BlocklistShowsWhatWasBlockedAndUnblocked) {
  auto alice = login("alice", "desk");
  EXPECT_TRUE(alice->blocklist().empty());
  alice->block({"Bob@LOCALHOST", "example.net"});
  EXPECT_EQ(alice->blocklist(), (std::vector<std::string>{"bob@localhost", "example.net"}));
  alice->block({"bob@localhost", "carol@localhost/phone"});  // already blocked: no error
  EXPECT_EQ(alice->blocklist(),
            (std::vector<std::string>{"bob@localhost", "carol@localhost/phone", "example.net"}));
  alice->unblock({"bob@localhost"});
  EXPECT_EQ(alice->blocklist(), (std::vector<std::string>{"carol@localhost/phone", "example.net"}));
  alice->unblock({});  // §3.5: all
  EXPECT_TRUE(alice->blocklist().empty());
}

// §3.3: "If the <block/> element does not contain at least one <item/> child element, the server
// MUST return a <bad-request/> error."
TEST_F(BlockingTest, BlockWithoutItemsIsBadRequest) {
  auto alice = login("alice", "desk");
  xml::Element reply = alice->change("block", {});
  EXPECT_EQ(reply.attr("type"), "error") << text_of(reply);
  EXPECT_EQ(stanza_error_condition(reply), "bad-request") << text_of(reply);
  EXPECT_TRUE(alice->blocklist().empty());
}

// §3.3 "Other standard XMPP stanza errors also apply": an item that is not a JID, and nothing of
// the command is applied.
TEST_F(BlockingTest, MalformedJidIsJidMalformedAndChangesNothing) {
  auto alice = login("alice", "desk");
  for (auto bad : {"@localhost", "localhost/", "a@"}) {
    xml::Element reply = alice->change("block", {"bob@localhost", bad});
    EXPECT_EQ(stanza_error_condition(reply), "jid-malformed") << bad << ": " << text_of(reply);
  }
  xml::Element no_jid = alice->request(
      "nj", "<iq type='set' id='nj'><block xmlns='urn:xmpp:blocking'><item/></block></iq>");
  EXPECT_EQ(stanza_error_condition(no_jid), "jid-malformed") << text_of(no_jid);
  EXPECT_TRUE(alice->blocklist().empty());
  alice->block({"bob@localhost"});
  xml::Element unblock = alice->change("unblock", {"@localhost"});
  EXPECT_EQ(stanza_error_condition(unblock), "jid-malformed") << text_of(unblock);
  EXPECT_EQ(alice->blocklist(), std::vector<std::string>{"bob@localhost"});
}

// The list is its user's: another account can neither read nor change it.
TEST_F(BlockingTest, AnotherAccountCannotReadOrChangeTheList) {
  auto alice = login("alice", "desk");
  auto bob = login("bob", "laptop");
  alice->block({"carol@localhost"});
  xml::Element get = bob->request("g",
                                  "<iq type='get' id='g' to='alice@localhost'>"
                                  "<blocklist xmlns='urn:xmpp:blocking'/></iq>");
  EXPECT_EQ(stanza_error_condition(get), "forbidden") << text_of(get);
  EXPECT_EQ(text_of(get).find("carol"), std::string::npos) << text_of(get);
  xml::Element set = bob->request("s",
                                  "<iq type='set' id='s' to='alice@localhost'>"
                                  "<unblock xmlns='urn:xmpp:blocking'/></iq>");
  EXPECT_EQ(stanza_error_condition(set), "forbidden") << text_of(set);
  EXPECT_EQ(alice->blocklist(), std::vector<std::string>{"carol@localhost"});
}

// §3.3, §3.4, §3.5: pushes go to "all of the user's resources that have requested the
// blocklist" (the one that made the change included), and only to those.
TEST_F(BlockingTest, ChangesArePushedToTheResourcesThatRequestedTheList) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  auto tablet = login("alice", "tablet");  // never asks for the list
  desk->blocklist();
  phone->blocklist();

  desk->block({"bob@localhost", "example.net"});
  for (Resource* r : {desk.get(), phone.get()}) {
    xml::Element push = r->wait_for(push_of("block"), "the block push");
    EXPECT_EQ(push.attr("to"), r->jid()) << text_of(push);
    EXPECT_EQ(push.attr("from"), "alice@localhost") << text_of(push);
    EXPECT_FALSE(push.attr("id").empty()) << text_of(push);
    EXPECT_EQ(items_of(push.child("block", kBlocking)),
              (std::vector<std::string>{"bob@localhost", "example.net"}))
        << text_of(push);
  }

  phone->unblock({"example.net"});
  for (Resource* r : {desk.get(), phone.get()}) {
    xml::Element push = r->wait_for(push_of("unblock"), "the unblock push");
    EXPECT_EQ(items_of(push.child("unblock", kBlocking)), std::vector<std::string>{"example.net"})
        << text_of(push);
  }

  desk->unblock({});
  for (Resource* r : {desk.get(), phone.get()}) {
    xml::Element push = r->wait_for(push_of("unblock"), "the unblock-all push");
    const xml::Element unblock = push.child("unblock", kBlocking);
    EXPECT_EQ(unblock.child_count(), 0u) << text_of(push);  // §3.5: an empty <unblock/>
  }

  flush(*desk, *tablet);
  EXPECT_FALSE(tablet->saw(push_of("block"))) << tablet->dump();
  EXPECT_FALSE(tablet->saw(push_of("unblock"))) << tablet->dump();
}

// §3.3: an outbound message to a blocked JID is not routed and comes back as <not-acceptable/>
// with <blocked xmlns='urn:xmpp:blocking:errors'/>.
TEST_F(BlockingTest, MessageToBlockedJidGetsNotAcceptableWithBlocked) {
  auto alice = login("alice", "desk");
  auto bob = login("bob", "laptop");
  alice->block({"bob@localhost"});

  alice->chat(bob->jid(), "one");
  xml::Element error = alice->wait_for(error_for("one"), "the error for the blocked message");
  EXPECT_EQ(error.attr("from"), bob->jid()) << text_of(error);
  EXPECT_EQ(error.attr("to"), alice->jid()) << text_of(error);
  EXPECT_EQ(stanza_error_condition(error), "not-acceptable") << text_of(error);
  const xml::Element e = error.child("error", ns::kClient);
  EXPECT_EQ(e.attr("type"), "cancel") << text_of(error);
  EXPECT_TRUE(e.child("blocked", kBlockingErrors)) << text_of(error);

  alice->unblock({"bob@localhost"});
  alice->chat(bob->jid(), "two");
  bob->wait_for(message_with_body("two"), "the message sent after the unblock");
  EXPECT_FALSE(bob->saw(message_with_body("one"))) << bob->dump();
}

// §3.3: IQs too; the blocked JID never sees the request.
TEST_F(BlockingTest, IqToBlockedJidGetsNotAcceptableWithBlocked) {
  auto alice = login("alice", "desk");
  auto bob = login("bob", "laptop");
  alice->block({"bob@localhost"});
  xml::Element error = alice->request(
      "q1", "<iq type='get' id='q1' to='" + bob->jid() + "'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(error.attr("type"), "error") << text_of(error);
  EXPECT_EQ(stanza_error_condition(error), "not-acceptable") << text_of(error);
  EXPECT_TRUE(error.child("error", ns::kClient).child("blocked", kBlockingErrors))
      << text_of(error);
  flush(*alice, *bob);
  EXPECT_FALSE(bob->saw([](xml::Element e) { return e.attr("id") == "q1"; })) << bob->dump();
}

// §3.3: a message from a blocked JID is not delivered; its sender gets service-unavailable, as if
// the user were offline. A message after the unblock is delivered, the blocked one never is.
TEST_F(BlockingTest, MessageFromBlockedJidIsNotDeliveredAndGetsServiceUnavailable) {
  auto alice = login("alice", "desk");
  auto bob = login("bob", "laptop");
  alice->block({"bob@localhost"});

  bob->chat(alice->jid(), "one");
  xml::Element error = bob->wait_for(error_for("one"), "the error for the blocked message");
  EXPECT_EQ(error.attr("from"), alice->jid()) << text_of(error);
  EXPECT_EQ(stanza_error_condition(error), "service-unavailable") << text_of(error);
  EXPECT_FALSE(error.child("error", ns::kClient).child("blocked", kBlockingErrors))
      << "the blocked contact is not told about the block: " << text_of(error);

  alice->unblock({"bob@localhost"});
  bob->chat(alice->jid(), "two");
  alice->wait_for(message_with_body("two"), "the message sent after the unblock");
  EXPECT_FALSE(alice->saw(message_with_body("one"))) << alice->dump();
}

// §3.3: "For IQ stanzas of type get or set, the server MUST return an error, which SHOULD be
// <service-unavailable/>."
TEST_F(BlockingTest, IqFromBlockedJidGetsServiceUnavailable) {
  auto alice = login("alice", "desk");
  auto bob = login("bob", "laptop");
  alice->block({"bob@localhost"});
  for (const std::string& to : {alice->jid(), alice->bare()}) {
    xml::Element error =
        bob->request("q-" + to, "<iq type='get' id='q-" + to + "' to='" + to + "'><query xmlns='" +
                                    std::string(kDiscoInfo) + "'/></iq>");
    EXPECT_EQ(error.attr("type"), "error") << text_of(error);
    EXPECT_EQ(stanza_error_condition(error), "service-unavailable") << text_of(error);
  }
  flush(*bob, *alice);
  EXPECT_FALSE(alice->saw([](xml::Element e) {
    return e.is("iq", ns::kClient) && e.attr("id").starts_with("q-");
  })) << alice->dump();
}

// §3.3: "For presence stanzas (including notifications, subscriptions, and probes), the server
// MUST NOT respond and MUST NOT return an error."
TEST_F(BlockingTest, SubscriptionRequestFromBlockedJidIsDroppedSilently) {
  auto carol = login("carol", "home");
  carol->available();
  carol->block({"bob@localhost"});
  auto bob = login("bob", "laptop");
  bob->send("<presence to='carol@localhost' type='subscribe' id='sub1'/>");
  flush(*bob, *carol);
  EXPECT_FALSE(carol->saw(presence_from("bob@localhost", "subscribe"))) << carol->dump();
  EXPECT_FALSE(bob->saw([](xml::Element e) { return e.attr("type") == "error"; })) << bob->dump();
}

// §3.3: on a block, the contact (subscribed to the user's presence) gets unavailable presence;
// from then on neither side's presence reaches the other. §3.4: on the unblock, the contact gets
// the user's current presence, and the contact's presence flows again.
TEST_F(BlockingTest, BlockedContactSeesTheUserOfflineUntilTheUnblock) {
  auto alice = login("alice", "desk");
  alice->available();
  auto bob = login("bob", "laptop");
  bob->available();
  bob->wait_for(presence_from(alice->jid()), "alice's presence (probe answer)");
  alice->wait_for(presence_from(bob->jid()), "bob's initial presence");

  alice->block({"bob@localhost"});
  bob->wait_for(presence_from(alice->jid(), "unavailable"), "alice's unavailable presence");

  alice->available(0, "away");  // the broadcast to bob is dropped
  bob->available(0, "dnd");     // bob's broadcast to alice is dropped on her side
  flush(*alice, *bob);
  flush(*bob, *alice);
  EXPECT_FALSE(bob->saw(presence_with_show(alice->jid(), "away"))) << bob->dump();
  EXPECT_FALSE(alice->saw(presence_with_show(bob->jid(), "dnd"))) << alice->dump();

  alice->unblock({"bob@localhost"});
  bob->wait_for(presence_with_show(alice->jid(), "away"), "alice's current presence");
  bob->available(0, "xa");
  alice->wait_for(presence_with_show(bob->jid(), "xa"), "bob's presence after the unblock");
}

// §3.3: probes from a blocked contact go unanswered: logging in, bob does not learn that alice is
// online, and alice does not hear of bob.
TEST_F(BlockingTest, BlockedContactLoggingInDoesNotSeeTheUser) {
  auto alice = login("alice", "desk");
  alice->available();
  alice->block({"bob@localhost"});
  auto bob = login("bob", "laptop");
  bob->available();
  flush(*bob, *alice);
  flush(*alice, *bob);
  EXPECT_FALSE(bob->saw(presence_from(alice->jid()))) << bob->dump();
  EXPECT_FALSE(alice->saw(presence_from(bob->jid()))) << alice->dump();
}

// §3.3: "the duration of the block is potentially unlimited and applies across sessions": with
// the user offline, a blocked contact's message is refused rather than stored (the list is read
// from storage), and the next session still has the list.
TEST_F(BlockingTest, BlockOutlastsTheSessionAndAppliesWhileTheUserIsOffline) {
  auto carol = login("carol", "home");
  carol->available();
  {
    auto alice = login("alice", "desk");
    alice->available();
    carol->wait_for(presence_from(alice->jid()), "alice's presence");
    alice->block({"bob@localhost"});
  }  // disconnected
  carol->wait_for(presence_from("alice@localhost/desk", "unavailable"), "alice going offline");

  auto bob = login("bob", "laptop");
  bob->chat("alice@localhost", "stored?");
  xml::Element error = bob->wait_for(error_for("stored?"), "the error for the blocked message");
  EXPECT_EQ(stanza_error_condition(error), "service-unavailable") << text_of(error);
  carol->chat("alice@localhost", "offline from carol");  // stored: carol is not blocked
  carol->sync();

  auto alice = login("alice", "phone");
  EXPECT_EQ(alice->blocklist(), std::vector<std::string>{"bob@localhost"});
  alice->available();
  alice->wait_for(message_with_body("offline from carol"), "carol's offline message");
  alice->sync();
  EXPECT_FALSE(alice->saw(message_with_body("stored?"))) << alice->dump();
}

// The server knows which accounts have a blocklist without reading every one; what it knows at
// start comes from storage, so a block made before a restart applies after it to the offline user.
TEST_F(BlockingTest, BlockMadeBeforeARestartAppliesAfterIt) {
  {
    auto alice = login("alice", "desk");
    alice->block({"bob@localhost"});
  }
  restart();
  auto bob = login("bob", "laptop");
  bob->chat("alice@localhost", "after the restart");
  xml::Element error =
      bob->wait_for(error_for("after the restart"), "the error for the blocked message");
  EXPECT_EQ(stanza_error_condition(error), "service-unavailable") << text_of(error);
  auto alice = login("alice", "phone");
  EXPECT_EQ(alice->blocklist(), std::vector<std::string>{"bob@localhost"});
  alice->available();
  bob->chat("alice@localhost", "while she is online");
  error = bob->wait_for(error_for("while she is online"), "the error for the second message");
  EXPECT_EQ(stanza_error_condition(error), "service-unavailable") << text_of(error);
  alice->sync();
  EXPECT_FALSE(alice->saw(mentions("after the restart"))) << alice->dump();
  EXPECT_FALSE(alice->saw(mentions("while she is online"))) << alice->dump();
}

// RFC 6121 §3.1.3: a subscription request to an offline user waits in storage; the server knows
// which accounts have requests waiting, and after a restart it learns that from storage too.
TEST_F(BlockingTest, SubscriptionRequestMadeBeforeARestartIsDeliveredAfterIt) {
  server_->add_user("dave@localhost", std::string(kPassword));
  {
    auto dave = login("dave", "home");
    dave->send("<presence type='subscribe' to='alice@localhost' id='ask'/>");
    dave->sync();
  }
  restart();
  auto alice = login("alice", "desk");
  alice->send("<presence/>");
  alice->wait_for(presence_from("dave@localhost", "subscribe"), "dave's subscription request");
}

// §6: a domain item matches the domain and every JID at it; a full JID only that resource. §5
// (note): the user's own resources are never blocked from one another.
TEST_F(BlockingTest, ItemsMatchAsJidMatchingSays) {
  auto alice = login("alice", "desk");
  auto alice_phone = login("alice", "phone");
  auto bob_laptop = login("bob", "laptop");
  auto bob_phone = login("bob", "phone");
  auto carol = login("carol", "home");

  alice->block({"bob@localhost/phone"});
  bob_phone->chat(alice->jid(), "from the phone");
  bob_phone->wait_for(error_for("from the phone"), "the error for the blocked resource");
  bob_laptop->chat(alice->jid(), "from the laptop");
  alice->wait_for(message_with_body("from the laptop"), "the other resource's message");
  EXPECT_FALSE(alice->saw(message_with_body("from the phone"))) << alice->dump();

  alice->unblock({});
  alice->block({"localhost"});
  carol->chat(alice->jid(), "from carol");
  xml::Element refused = carol->wait_for(error_for("from carol"), "the error for carol");
  EXPECT_EQ(stanza_error_condition(refused), "service-unavailable") << text_of(refused);
  alice->chat(bob_laptop->jid(), "to bob");
  xml::Element blocked = alice->wait_for(error_for("to bob"), "the error for the message to bob");
  EXPECT_EQ(stanza_error_condition(blocked), "not-acceptable") << text_of(blocked);
  alice->chat(alice_phone->jid(), "to myself");
  alice_phone->wait_for(message_with_body("to myself"), "the message between own resources");
  flush(*carol, *alice);
  EXPECT_FALSE(alice->saw(message_with_body("from carol"))) << alice->dump();
}

// ============================== XEP-0280 Message Carbons ==============================

class CarbonsTest : public BlockingCarbonsFixture {};

// §3: the user's server advertises urn:xmpp:carbons:2.
TEST_F(CarbonsTest, FeatureIsAdvertisedByTheServer) {
  auto alice = login("alice", "desk");
  xml::Element server = alice->disco_info("localhost");
  EXPECT_TRUE(has_feature(server, kCarbons)) << text_of(server);
}

// §4, §5, §10.1: enable and disable, each twice without error; §4.1, §5.1: not for another
// account; an IQ get is no way to enable.
TEST_F(CarbonsTest, EnableAndDisableAnswerAndOnlyForTheOwnAccount) {
  auto alice = login("alice", "desk");
  for (auto element : {"enable", "enable", "disable", "disable"}) {
    xml::Element reply = alice->carbons(element);
    EXPECT_EQ(reply.attr("type"), "result") << element << ": " << text_of(reply);
  }
  xml::Element other = alice->request(
      "o1", "<iq type='set' id='o1' to='bob@localhost'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
  EXPECT_EQ(stanza_error_condition(other), "not-allowed") << text_of(other);
  xml::Element get =
      alice->request("g1", "<iq type='get' id='g1'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
  EXPECT_EQ(stanza_error_condition(get), "bad-request") << text_of(get);
}

// §7: a message to one resource goes, wrapped in <received/><forwarded/>, to the other
// carbons-enabled resources (from the bare JID, to the resource, same type, the original inside
// unchanged); not to the addressed resource, nor to a resource without carbons.
TEST_F(CarbonsTest, ReceivedMessageIsCopiedToOtherEnabledResources) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  auto tablet = login("alice", "tablet");
  desk->enable_carbons();
  phone->enable_carbons();
  auto bob = login("bob", "laptop");

  bob->chat(desk->jid(), "hello", "<thread>t1</thread>");
  desk->wait_for(message_with_body("hello"), "the original");
  xml::Element copy = phone->wait_for(carbon_of("received", "hello"), "the received carbon");
  EXPECT_EQ(copy.attr("from"), "alice@localhost") << text_of(copy);
  EXPECT_EQ(copy.attr("to"), phone->jid()) << text_of(copy);
  EXPECT_EQ(copy.attr("type"), "chat") << text_of(copy);
  const xml::Element inner =
      copy.child("received", kCarbons).child("forwarded", kForward).child("message", ns::kClient);
  EXPECT_EQ(inner.attr("from"), bob->jid()) << text_of(copy);
  EXPECT_EQ(inner.attr("to"), desk->jid()) << text_of(copy);
  EXPECT_EQ(inner.attr("type"), "chat") << text_of(copy);
  EXPECT_EQ(inner.child("thread", ns::kClient).text(), "t1") << text_of(copy);

  flush(*bob, *desk);
  tablet->sync();
  EXPECT_FALSE(desk->saw(carbon_of("received", "hello"))) << desk->dump();
  EXPECT_FALSE(tablet->saw(mentions("hello"))) << tablet->dump();
}

// §8: a message a resource sends goes, wrapped in <sent/>, to the other carbons-enabled
// resources, "irrespective of whether the sending client has carbons enabled"; the sender gets
// none.
TEST_F(CarbonsTest, SentMessageIsCopiedToOtherEnabledResources) {
  auto desk = login("alice", "desk");  // carbons not enabled
  auto phone = login("alice", "phone");
  phone->enable_carbons();
  auto bob = login("bob", "laptop");

  desk->chat(bob->jid(), "outgoing");
  bob->wait_for(message_with_body("outgoing"), "the original");
  xml::Element copy = phone->wait_for(carbon_of("sent", "outgoing"), "the sent carbon");
  EXPECT_EQ(copy.attr("from"), "alice@localhost") << text_of(copy);
  EXPECT_EQ(copy.attr("to"), phone->jid()) << text_of(copy);
  EXPECT_EQ(copy.attr("type"), "chat") << text_of(copy);
  const xml::Element inner =
      copy.child("sent", kCarbons).child("forwarded", kForward).child("message", ns::kClient);
  EXPECT_EQ(inner.attr("from"), desk->jid()) << text_of(copy);
  EXPECT_EQ(inner.attr("to"), bob->jid()) << text_of(copy);

  // An enabled sender gets no copy of its own message either (§8 "excluding the sending client").
  phone->chat(bob->jid(), "from the phone");
  bob->wait_for(message_with_body("from the phone"), "the phone's message");
  flush(*phone, *desk);
  desk->sync();
  EXPECT_FALSE(phone->saw(carbon_of("sent", "from the phone"))) << phone->dump();
  EXPECT_FALSE(desk->saw(mentions("from the phone"))) << "desk has carbons off: " << desk->dump();
}

// §7: "to each Carbons-enabled resource ... that did not receive it under the RFC 6121 delivery
// rules": a message to the bare JID reaching both resources of priority 0 copies to neither of
// them, but to the enabled resource of negative priority that RFC 6121 §8.5.2.1.1 left out.
TEST_F(CarbonsTest, MessageToBareJidCopiesOnlyToResourcesThatDidNotGetIt) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  auto hidden = login("alice", "hidden");
  for (Resource* r : {desk.get(), phone.get(), hidden.get()}) r->enable_carbons();
  desk->available(0);
  phone->available(0);
  hidden->available(-1);
  auto bob = login("bob", "laptop");

  bob->chat("alice@localhost", "to all");
  desk->wait_for(message_with_body("to all"), "the original on desk");
  phone->wait_for(message_with_body("to all"), "the original on phone");
  hidden->wait_for(carbon_of("received", "to all"), "the carbon for the negative resource");
  EXPECT_FALSE(hidden->saw(message_with_body("to all"))) << hidden->dump();
  flush(*bob, *desk);
  phone->sync();
  EXPECT_FALSE(desk->saw(carbon_of("received", "to all"))) << desk->dump();
  EXPECT_FALSE(phone->saw(carbon_of("received", "to all"))) << phone->dump();
}

// §9 and §6.1: <private/> (with the <no-copy/> hint, as §9 asks clients to send it) stops the
// copies on both sides, and stays in the delivered message; the hint alone stops them too.
TEST_F(CarbonsTest, PrivateAndNoCopyMessagesAreNotCopied) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  phone->enable_carbons();
  auto bob = login("bob", "laptop");
  constexpr std::string_view kPrivate =
      "<private xmlns='urn:xmpp:carbons:2'/><no-copy xmlns='urn:xmpp:hints'/>";

  bob->chat(desk->jid(), "private in", kPrivate);
  bob->chat(desk->jid(), "hint in", "<no-copy xmlns='urn:xmpp:hints'/>");
  bob->chat(desk->jid(), "plain in");
  desk->chat(bob->jid(), "private out", kPrivate);
  desk->chat(bob->jid(), "hint out", "<no-copy xmlns='urn:xmpp:hints'/>");
  desk->chat(bob->jid(), "plain out");

  xml::Element original = desk->wait_for(message_with_body("private in"), "the private message");
  EXPECT_TRUE(original.child("private", kCarbons)) << text_of(original);
  // The plain messages, sent last, are copied: everything before them has been dealt with.
  phone->wait_for(carbon_of("received", "plain in"), "the carbon of the plain message");
  phone->wait_for(carbon_of("sent", "plain out"), "the sent carbon of the plain message");
  for (auto body : {"private in", "hint in", "private out", "hint out"}) {
    EXPECT_FALSE(phone->saw(mentions(body))) << body << ":" << phone->dump();
  }
}

// §10.1 and §5: after <disable/>, no copies.
TEST_F(CarbonsTest, DisabledResourceGetsNoCopies) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  auto tablet = login("alice", "tablet");
  phone->enable_carbons();
  tablet->enable_carbons();
  EXPECT_EQ(phone->carbons("disable").attr("type"), "result");
  auto bob = login("bob", "laptop");
  bob->chat(desk->jid(), "after disable");
  tablet->wait_for(carbon_of("received", "after disable"), "the tablet's carbon");
  phone->sync();
  EXPECT_FALSE(phone->saw(mentions("after disable"))) << phone->dump();
}

// §6.1: chat, normal with a body, and IM payloads (here a XEP-0085 chat state) are copied;
// headlines and a normal message with nothing of the kind are not.
TEST_F(CarbonsTest, OnlyInstantMessagesAreCopied) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  phone->enable_carbons();
  auto bob = login("bob", "laptop");

  bob->chat(desk->jid(), "headline", {}, "headline");
  bob->send("<message to='" + desk->jid() +
            "' id='bare-normal'><subject>no body</subject></message>");
  bob->chat(desk->jid(), "normal", {}, "");
  bob->send("<message to='" + desk->jid() +
            "' id='state'><active xmlns='http://jabber.org/protocol/chatstates'/></message>");
  phone->wait_for(carbon_of("received", "normal"), "the carbon of the normal message");
  xml::Element state = phone->wait_for(
      [](xml::Element e) {
        return static_cast<bool>(e.child("received", kCarbons)
                                     .child("forwarded", kForward)
                                     .child("message", ns::kClient)
                                     .child("active", "http://jabber.org/protocol/chatstates"));
      },
      "the carbon of the chat state");
  EXPECT_EQ(state.attr("type"), "") << "the wrapper keeps the original's (absent) type";
  EXPECT_FALSE(phone->saw(mentions("headline"))) << phone->dump();
  EXPECT_FALSE(phone->saw(mentions("no body"))) << phone->dump();
}

// §6.1: the bounce of a message to a bare JID is copied (as received), like the message itself
// (as sent).
TEST_F(CarbonsTest, BounceOfAMessageToABareJidIsCopied) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  phone->enable_carbons();
  desk->chat("nobody@localhost", "into the void");
  phone->wait_for(carbon_of("sent", "into the void"), "the sent carbon");
  xml::Element bounce = desk->wait_for(error_for("into the void"), "the bounce");
  EXPECT_EQ(stanza_error_condition(bounce), "service-unavailable") << text_of(bounce);
  xml::Element copy = phone->wait_for(
      [](xml::Element e) {
        const xml::Element inner = e.child("received", kCarbons)
                                       .child("forwarded", kForward)
                                       .child("message", ns::kClient);
        return inner && inner.attr("type") == "error";
      },
      "the received carbon of the bounce");
  EXPECT_EQ(copy.attr("type"), "error") << text_of(copy);
}

// A message between two resources of one account is copied once, to the enabled resources that
// are neither its sender nor its recipient.
TEST_F(CarbonsTest, MessageBetweenOwnResourcesIsCopiedToTheOthersOnly) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  auto tablet = login("alice", "tablet");
  for (Resource* r : {desk.get(), phone.get(), tablet.get()}) r->enable_carbons();
  desk->chat(phone->jid(), "note to self");
  phone->wait_for(message_with_body("note to self"), "the original");
  tablet->wait_for(carbon_of("received", "note to self"), "the tablet's carbon");
  flush(*desk, *phone);
  desk->sync();
  tablet->sync();
  EXPECT_FALSE(desk->saw(mentions("note to self"))) << desk->dump();
  EXPECT_FALSE(phone->saw(carbon_of("received", "note to self"))) << phone->dump();
  EXPECT_FALSE(phone->saw(carbon_of("sent", "note to self"))) << phone->dump();
  EXPECT_FALSE(tablet->saw(carbon_of("sent", "note to self"))) << tablet->dump();
}

// Blocking (XEP-0191 §3.3) acts first: a message refused for a blocked JID is not copied.
TEST_F(CarbonsTest, MessageToBlockedJidIsNotCopied) {
  auto desk = login("alice", "desk");
  auto phone = login("alice", "phone");
  phone->enable_carbons();
  auto bob = login("bob", "laptop");
  auto carol = login("carol", "home");
  desk->block({"bob@localhost"});
  desk->chat(bob->jid(), "refused");
  desk->chat(carol->jid(), "accepted");
  phone->wait_for(carbon_of("sent", "accepted"), "the carbon of the later message");
  EXPECT_FALSE(phone->saw(mentions("refused"))) << phone->dump();
}

}  // namespace
}  // namespace parley::testing
