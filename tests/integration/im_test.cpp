// Instant messaging beyond RFC 6121's tables: shared roster groups (organisation-wide presence,
// from the config file and from `parley group` while the server runs), the session and stanza
// rate limits, and the features a bound stream advertises (XEP-0115 caps, roster versioning,
// pre-approval) against what disco#info answers.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "tests/integration/server_process.hpp"
#include "xml/namespaces.hpp"

namespace parley::testing {
namespace {

constexpr std::string_view kRoster = "jabber:iq:roster";

// Reads elements until one satisfies `match`; those before it are returned through `skipped`.
template <class Match>
xml::Document expect_matching(Client& client, Match match, std::vector<std::string>* skipped = nullptr) {
  for (int i = 0; i < 200; ++i) {
    xml::Document d = client.expect_element();
    if (match(d.root())) return d;
    if (skipped) skipped->emplace_back(d.root().name());
  }
  throw std::runtime_error("no matching element; received: " + client.received());
}

std::map<std::string, std::string> roster_of(Client& client) {
  xml::Document r = client.iq("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
  std::map<std::string, std::string> items;
  for (xml::Element i = r.root().child("query", kRoster).first_child(); i; i = i.next_sibling()) {
    std::string groups;
    for (xml::Element g = i.first_child(); g; g = g.next_sibling()) groups += g.text() + ";";
    items[std::string(i.attr("jid"))] = std::string(i.attr("subscription")) + "|" + groups;
  }
  return items;
}

class ImTest : public ::testing::Test {
 protected:
  void start(const std::string& config) {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{}, std::nullopt, config);
    for (const char* user : {"alice", "bob", "carol", "dave"}) {
      server_->add_user(std::string(user) + "@localhost", "secret");
    }
  }
  std::unique_ptr<Client> login(const std::string& user, const std::string& resource = "r") {
    auto c = std::make_unique<Client>(server_->port());
    c->login(user, "secret", "SCRAM-SHA-256", resource);
    return c;
  }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- server output ---\n" << server_->output();
  }
  std::unique_ptr<ServerProcess> server_;
};

constexpr std::string_view kGroupConfig =
    "[[group]]\nname = \"Staff\"\nmembers = [\"alice@localhost\", \"bob@localhost\", "
    "\"carol@localhost\"]\n";

TEST_F(ImTest, SharedGroupMembersSeeEachOtherWithoutSubscribing) {
  start(std::string(kGroupConfig));
  std::map<std::string, std::unique_ptr<Client>> clients;
  for (const char* user : {"alice", "bob", "carol"}) {
    auto c = login(user);
    const auto roster = roster_of(*c);
    std::set<std::string> others;
    for (const auto& [jid, state] : roster) {
      EXPECT_EQ(state, "both|Staff;") << user << " has " << jid;
      others.insert(jid);
    }
    std::set<std::string> expected{"alice@localhost", "bob@localhost", "carol@localhost"};
    expected.erase(std::string(user) + "@localhost");
    EXPECT_EQ(others, expected) << user;
    c->send("<presence><show>chat</show></presence>");
    clients[user] = std::move(c);
  }
  // Each one has the presence of the two others: alice and bob hear of those after them as they
  // arrive; carol gets answers to her probes.
  for (const auto& [user, client] : clients) {
    std::set<std::string> seen;
    while (seen.size() < 2) {
      xml::Document p = expect_matching(*client, [](xml::Element e) {
        return e.name() == "presence" && e.attr("type").empty();
      });
      const std::string from(p.root().attr("from"));
      if (from.rfind(user + "@", 0) == 0) continue;  // its own presence, reflected
      seen.insert(from);
    }
    std::set<std::string> expected{"alice@localhost/r", "bob@localhost/r", "carol@localhost/r"};
    expected.erase(user + "@localhost/r");
    EXPECT_EQ(seen, expected) << user;
  }
  // Not a member: dave sees none of them.
  auto dave = login("dave");
  EXPECT_TRUE(roster_of(*dave).empty());
}

TEST_F(ImTest, GroupCommandPushesTheChangeToOnlineMembersAtOnce) {
  start(std::string(kGroupConfig));
  auto alice = login("alice");
  (void)roster_of(*alice);  // interested: gets pushes
  alice->send("<presence/>");
  auto dave = login("dave");
  (void)roster_of(*dave);
  dave->send("<presence/>");

  // The config file path is what the server was started with; the command finds the data
  // directory through --data-dir and signals the server through its pid file.
  const auto added = run_parley({"group", "add", "Staff", "dave@localhost", "--data-dir",
                                 server_->data_dir().string()});
  ASSERT_EQ(added.exit_code, 0) << added.output;
  EXPECT_NE(added.output.find("told to reload"), std::string::npos) << added.output;

  xml::Document push = expect_matching(*alice, [](xml::Element e) {
    return e.name() == "iq" && e.attr("type") == "set" &&
           e.child("query", kRoster).child("item").attr("jid") == "dave@localhost";
  });
  const xml::Element item = push.root().child("query", kRoster).child("item");
  EXPECT_EQ(item.attr("subscription"), "both");
  EXPECT_EQ(item.child("group").text(), "Staff");
  EXPECT_FALSE(push.root().child("query", kRoster).attr("ver").empty());
  // dave now has alice (from the database group, merged with the config's) and her presence.
  expect_matching(*dave, [](xml::Element e) {
    return e.name() == "iq" && e.child("query", kRoster).child("item").attr("jid") ==
                                   "alice@localhost";
  });
  expect_matching(*dave, [](xml::Element e) {
    return e.name() == "presence" && e.attr("from") == "alice@localhost/r";
  });

  const auto removed = run_parley({"group", "remove", "Staff", "dave@localhost", "--data-dir",
                                   server_->data_dir().string()});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  xml::Document gone = expect_matching(*alice, [](xml::Element e) {
    return e.name() == "iq" && e.child("query", kRoster).child("item").attr("jid") ==
                                   "dave@localhost";
  });
  EXPECT_EQ(gone.root().child("query", kRoster).child("item").attr("subscription"), "remove");
  expect_matching(*alice, [](xml::Element e) {
    return e.name() == "presence" && e.attr("from") == "dave@localhost/r" &&
           e.attr("type") == "unavailable";
  });
}

TEST_F(ImTest, GroupCommandErrors) {
  start({});
  const auto dir = server_->data_dir().string();
  const auto bad = run_parley({"group", "add", "Staff", "not a jid", "--data-dir", dir});
  EXPECT_EQ(bad.exit_code, 1);
  const auto foreign = run_parley({"group", "add", "Staff", "x@example.net", "--data-dir", dir});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.output.find("example.net"), std::string::npos) << foreign.output;
  const auto absent = run_parley({"group", "remove", "Staff", "alice@localhost", "--data-dir", dir});
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_NE(absent.output.find("not in the group"), std::string::npos) << absent.output;
  ASSERT_EQ(run_parley({"group", "add", "Staff", "alice@localhost", "--data-dir", dir}).exit_code, 0);
  const auto twice = run_parley({"group", "add", "Staff", "alice@localhost", "--data-dir", dir});
  EXPECT_EQ(twice.exit_code, 1);
  const auto list = run_parley({"group", "list", "--data-dir", dir});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("Staff: alice@localhost"), std::string::npos) << list.output;
}

TEST_F(ImTest, SessionsPerAccountAreLimited) {
  start("[limits]\nmax_sessions_per_account = 2\n");
  auto one = login("alice", "one");
  auto two = login("alice", "two");
  Client three(server_->port());
  three.open_stream();
  three.starttls();
  three.open_stream();
  ASSERT_TRUE(three.authenticate("alice", "secret", "SCRAM-SHA-256").success);
  three.reset_stream();
  three.open_stream();
  xml::Document bind = three.iq(
      "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>three</resource></bind></iq>");
  EXPECT_EQ(bind.root().attr("type"), "error");
  EXPECT_EQ(stanza_error_condition(bind.root()), "resource-constraint") << three.received();
  // Replacing a resource that exists is not one more.
  auto two_again = login("alice", "two");
  EXPECT_TRUE(two->wait_for_close());
}

TEST_F(ImTest, StanzaRateLimitAnswersPolicyViolationWait) {
  start("[limits]\nstanzas_per_second = 1\nstanza_burst = 3\n");
  auto alice = login("alice");
  std::string burst;
  for (int i = 0; i < 6; ++i) {
    burst += "<iq type='get' id='p" + std::to_string(i) + "'><ping xmlns='urn:xmpp:ping'/></iq>";
  }
  alice->send(burst);
  int results = 0, limited = 0;
  for (int i = 0; i < 6; ++i) {
    xml::Document reply = alice->expect_element();
    if (reply.root().attr("type") == "result") ++results;
    if (stanza_error_condition(reply.root()) == "policy-violation") {
      ++limited;
      EXPECT_EQ(reply.root().child("error").attr("type"), "wait");
    }
  }
  EXPECT_EQ(results, 3);
  EXPECT_EQ(limited, 3);
}

TEST_F(ImTest, BoundStreamFeaturesMatchDisco) {
  start({});
  Client c(server_->port());
  c.open_stream();
  c.starttls();
  c.open_stream();
  ASSERT_TRUE(c.authenticate("alice", "secret", "SCRAM-SHA-256").success);
  c.reset_stream();
  xml::Document features = c.open_stream();
  EXPECT_TRUE(features.root().child("ver", "urn:xmpp:features:rosterver"));
  EXPECT_TRUE(features.root().child("sub", "urn:xmpp:features:pre-approval"));
  const xml::Element caps = features.root().child("c", "http://jabber.org/protocol/caps");
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps.attr("hash"), "sha-1");
  xml::Document bound = c.iq(
      "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
  ASSERT_EQ(bound.root().attr("type"), "result") << c.received();
  // XEP-0115 §6.2: the node#ver names the server's disco#info, which lists the features.
  const std::string node = std::string(caps.attr("node")) + "#" + std::string(caps.attr("ver"));
  xml::Document info = c.iq("<iq type='get' id='d' to='localhost'><query "
                            "xmlns='http://jabber.org/protocol/disco#info' node='" + node +
                            "'/></iq>");
  ASSERT_EQ(info.root().attr("type"), "result") << c.received();
  std::set<std::string> vars;
  for (xml::Element f = info.root().first_child().first_child(); f; f = f.next_sibling()) {
    if (f.name() == "feature") vars.insert(std::string(f.attr("var")));
  }
  EXPECT_TRUE(vars.contains("urn:xmpp:ping"));
  EXPECT_TRUE(vars.contains("msgoffline"));
  EXPECT_FALSE(vars.contains("jabber:iq:roster"));  // an account feature, not the server's
}

}  // namespace
}  // namespace parley::testing
