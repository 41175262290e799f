#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "storage/error.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"
#include "storage/sqlite_roster_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {

// Readable failure messages (found by argument-dependent lookup).
void PrintTo(const RosterItem& item, std::ostream* out) {
  *out << "{" << item.jid << " name='" << item.name << "' " << to_string(item.subscription)
       << (item.ask ? " ask" : "") << (item.approved ? " approved" : "") << " groups:";
  for (const std::string& group : item.groups) *out << " '" << group << "'";
  *out << "}";
}

void PrintTo(const Roster& roster, std::ostream* out) {
  *out << "version " << roster.version << ":";
  for (const RosterItem& item : roster.items) {
    *out << " ";
    PrintTo(item, out);
  }
}

void PrintTo(const PendingRequest& request, std::ostream* out) {
  *out << "{" << request.jid << " " << request.stanza << "}";
}

namespace {

using Groups = std::vector<std::string>;

RosterItem contact(std::string jid, std::string name = {},
                   Subscription subscription = Subscription::None, Groups groups = {}) {
  return RosterItem{
      .jid = std::move(jid),
      .name = std::move(name),
      .subscription = subscription,
      .ask = false,
      .approved = false,
      .groups = std::move(groups),
  };
}

std::int64_t count_rows(Database& db, std::string_view sql) {
  Statement s = db.prepare(sql);
  EXPECT_TRUE(s.step());
  return s.column_int64(0);
}

class RosterStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(accounts_.create("example.org", "juliet", {}), Result::Ok);
    ASSERT_EQ(accounts_.create("example.org", "romeo", {}), Result::Ok);
  }

  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "parley.sqlite";
  Database db_ = open_database(path_);
  SqliteAccountStore accounts_{db_};
  SqliteRosterStore store_{db_};
};

TEST(SubscriptionNamesTest, RoundTripAndNothingElseParses) {
  for (const Subscription s :
       {Subscription::None, Subscription::To, Subscription::From, Subscription::Both}) {
    EXPECT_EQ(subscription_from_string(to_string(s)), s);
  }
  EXPECT_EQ(to_string(Subscription::None), "none");
  EXPECT_EQ(to_string(Subscription::To), "to");
  EXPECT_EQ(to_string(Subscription::From), "from");
  EXPECT_EQ(to_string(Subscription::Both), "both");
  EXPECT_EQ(subscription_from_string("remove"), std::nullopt);  // a request, not a state
  EXPECT_EQ(subscription_from_string("Both"), std::nullopt);
  EXPECT_EQ(subscription_from_string(""), std::nullopt);
  EXPECT_EQ(subscription_from_string("both "), std::nullopt);
}

TEST_F(RosterStoreTest, ANewUserHasAnEmptyRosterAtVersionZero) {
  EXPECT_EQ(store_.roster("example.org", "juliet"), Roster{});
  EXPECT_EQ(store_.count("example.org", "juliet"), 0u);
  EXPECT_EQ(store_.item("example.org", "juliet", "romeo@example.org"), std::nullopt);
  // An account that does not exist reads the same: reads never fail for lack of an account.
  EXPECT_EQ(store_.roster("example.org", "nobody"), Roster{});
}

TEST_F(RosterStoreTest, PutItemReadsBackWithEveryField) {
  const RosterItem item{.jid = "romeo@example.net",
                        .name = "Romeo",
                        .subscription = Subscription::Both,
                        .ask = true,
                        .approved = true,
                        .groups = {"Friends", "Lovers"}};
  const std::uint64_t version = store_.put("example.org", "juliet", item);
  EXPECT_GT(version, 0u);
  EXPECT_EQ(store_.item("example.org", "juliet", "romeo@example.net"), item);
  EXPECT_EQ(store_.roster("example.org", "juliet"), (Roster{.version = version, .items = {item}}));
  EXPECT_EQ(store_.count("example.org", "juliet"), 1u);
}

TEST_F(RosterStoreTest, EverySubscriptionStateRoundTrips) {
  for (const Subscription s :
       {Subscription::None, Subscription::To, Subscription::From, Subscription::Both}) {
    store_.put("example.org", "juliet", contact("nurse@example.org", "", s));
    EXPECT_EQ(store_.item("example.org", "juliet", "nurse@example.org")->subscription, s);
  }
}

TEST_F(RosterStoreTest, AnItemWithoutNameOrGroupsHasEmptyOnes) {
  store_.put("example.org", "juliet", contact("romeo@example.net"));
  const auto stored = store_.item("example.org", "juliet", "romeo@example.net");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->name, "");
  EXPECT_TRUE(stored->groups.empty());
  EXPECT_FALSE(stored->ask);
  EXPECT_FALSE(stored->approved);
}

TEST_F(RosterStoreTest, PutReplacesTheItemAndAllItsGroups) {
  store_.put("example.org", "juliet",
             RosterItem{.jid = "romeo@example.net",
                        .name = "Romeo",
                        .subscription = Subscription::To,
                        .ask = true,
                        .approved = true,
                        .groups = {"Friends", "Montague"}});
  const RosterItem replacement = contact("romeo@example.net", "R.", Subscription::From, {"Verona"});
  store_.put("example.org", "juliet", replacement);
  EXPECT_EQ(store_.item("example.org", "juliet", "romeo@example.net"), replacement);
  EXPECT_EQ(store_.count("example.org", "juliet"), 1u);
  store_.put("example.org", "juliet", contact("romeo@example.net"));
  EXPECT_TRUE(store_.item("example.org", "juliet", "romeo@example.net")->groups.empty());
  EXPECT_EQ(count_rows(db_, "SELECT count(*) FROM roster_groups"), 0);
}

TEST_F(RosterStoreTest, GroupsAreKeptSortedAndUnique) {
  store_.put("example.org", "juliet",
             contact("romeo@example.net", "", Subscription::None,
                     {"b", "Zeta", "a", "b", "", "Ärzte", "a"}));
  // Byte order: uppercase before lowercase, UTF-8 multibyte after ASCII.
  EXPECT_EQ(store_.item("example.org", "juliet", "romeo@example.net")->groups,
            (Groups{"", "Zeta", "a", "b", "Ärzte"}));
}

TEST_F(RosterStoreTest, ItemsAreSortedByJidAndEachKeepsItsOwnGroups) {
  store_.put("example.org", "juliet", contact("tybalt@example.org", "", Subscription::None, {"x"}));
  store_.put("example.org", "juliet", contact("benvolio@example.org"));
  store_.put("example.org", "juliet",
             contact("Mercutio@example.org", "", Subscription::None, {"y", "x"}));
  const Roster roster = store_.roster("example.org", "juliet");
  ASSERT_EQ(roster.items.size(), 3u);
  EXPECT_EQ(roster.items[0].jid, "Mercutio@example.org");
  EXPECT_EQ(roster.items[0].groups, (Groups{"x", "y"}));
  EXPECT_EQ(roster.items[1].jid, "benvolio@example.org");
  EXPECT_TRUE(roster.items[1].groups.empty());
  EXPECT_EQ(roster.items[2].jid, "tybalt@example.org");
  EXPECT_EQ(roster.items[2].groups, Groups{"x"});
}

TEST_F(RosterStoreTest, UnicodeNamesJidsAndGroupsRoundTrip) {
  const RosterItem item =
      contact("джульетта@пример.рф", "Джульетта 🌹", Subscription::Both, {"семья", "友達"});
  store_.put("example.org", "romeo", item);
  EXPECT_EQ(store_.item("example.org", "romeo", "джульетта@пример.рф"), item);
  EXPECT_EQ(store_.roster("example.org", "romeo").items, std::vector<RosterItem>{item});
}

TEST_F(RosterStoreTest, JidsAreComparedByteForByte) {
  store_.put("example.org", "juliet", contact("romeo@example.net"));
  EXPECT_EQ(store_.item("example.org", "juliet", "Romeo@example.net"), std::nullopt);
  EXPECT_EQ(store_.remove("example.org", "juliet", "romeo@example.net "), std::nullopt);
  EXPECT_EQ(store_.count("example.org", "juliet"), 1u);
}

TEST_F(RosterStoreTest, EveryPutAndRemoveGivesAGreaterVersion) {
  std::uint64_t last = store_.roster("example.org", "juliet").version;
  auto expect_bumped = [&](std::uint64_t version) {
    EXPECT_GT(version, last);
    EXPECT_EQ(store_.roster("example.org", "juliet").version, version);
    last = version;
  };
  expect_bumped(store_.put("example.org", "juliet", contact("a@example.org")));
  expect_bumped(store_.put("example.org", "juliet", contact("b@example.org")));
  // Putting an identical item is still a change a client is told about (a roster push).
  expect_bumped(store_.put("example.org", "juliet", contact("b@example.org")));
  const auto removed = store_.remove("example.org", "juliet", "a@example.org");
  ASSERT_TRUE(removed.has_value());
  expect_bumped(*removed);
}

TEST_F(RosterStoreTest, RemoveDeletesOnlyThatItemAndItsGroups) {
  store_.put("example.org", "juliet", contact("a@example.org", "", Subscription::To, {"g"}));
  store_.put("example.org", "juliet", contact("b@example.org", "", Subscription::To, {"g"}));
  ASSERT_TRUE(store_.remove("example.org", "juliet", "a@example.org").has_value());
  EXPECT_EQ(store_.item("example.org", "juliet", "a@example.org"), std::nullopt);
  EXPECT_EQ(store_.item("example.org", "juliet", "b@example.org")->groups, Groups{"g"});
  EXPECT_EQ(count_rows(db_, "SELECT count(*) FROM roster_groups"), 1);
}

TEST_F(RosterStoreTest, RemovingAMissingItemIsNulloptAndKeepsTheVersion) {
  const std::uint64_t version = store_.put("example.org", "juliet", contact("a@example.org"));
  EXPECT_EQ(store_.remove("example.org", "juliet", "b@example.org"), std::nullopt);
  ASSERT_TRUE(store_.remove("example.org", "juliet", "a@example.org").has_value());
  const std::uint64_t after_remove = store_.roster("example.org", "juliet").version;
  EXPECT_GT(after_remove, version);
  EXPECT_EQ(store_.remove("example.org", "juliet", "a@example.org"), std::nullopt);
  EXPECT_EQ(store_.roster("example.org", "juliet").version, after_remove);
  EXPECT_FALSE(db_.in_transaction());
}

TEST_F(RosterStoreTest, TheVersionSurvivesRemovingEveryItem) {
  store_.put("example.org", "juliet", contact("a@example.org"));
  const auto emptied = store_.remove("example.org", "juliet", "a@example.org");
  ASSERT_TRUE(emptied.has_value());
  EXPECT_EQ(store_.roster("example.org", "juliet"), (Roster{.version = *emptied, .items = {}}));
  EXPECT_GT(store_.put("example.org", "juliet", contact("a@example.org")), *emptied);
}

// A client that cached the roster of a removed account must not take the roster of a new account
// of the same name for it (RFC 6121 §2.6: the server compares versions).
TEST_F(RosterStoreTest, AVersionIsNeverHandedOutAgainAfterTheAccountIsRecreated) {
  std::uint64_t old_version = 0;
  for (int i = 0; i < 5; ++i) {
    old_version = store_.put("example.org", "juliet", contact("a@example.org"));
  }
  ASSERT_EQ(accounts_.remove("example.org", "juliet"), Result::Ok);
  ASSERT_EQ(accounts_.create("example.org", "juliet", {}), Result::Ok);
  EXPECT_EQ(store_.roster("example.org", "juliet"), Roster{});
  EXPECT_GT(store_.put("example.org", "juliet", contact("b@example.org")), old_version);
}

TEST_F(RosterStoreTest, RostersOfDifferentAccountsAreIndependent) {
  ASSERT_EQ(accounts_.create("example.net", "juliet", {}), Result::Ok);
  store_.put("example.org", "juliet", contact("a@example.org", "org"));
  const std::uint64_t net_version =
      store_.put("example.net", "juliet", contact("a@example.org", "net"));
  const std::uint64_t romeo_version = store_.put("example.org", "romeo", contact("x@example.org"));
  EXPECT_EQ(store_.item("example.org", "juliet", "a@example.org")->name, "org");
  EXPECT_EQ(store_.item("example.net", "juliet", "a@example.org")->name, "net");
  ASSERT_TRUE(store_.remove("example.org", "juliet", "a@example.org").has_value());
  EXPECT_EQ(store_.roster("example.net", "juliet").version, net_version);
  EXPECT_EQ(store_.roster("example.org", "romeo").version, romeo_version);
  EXPECT_EQ(store_.count("example.net", "juliet"), 1u);
  EXPECT_EQ(store_.count("example.org", "romeo"), 1u);
  EXPECT_EQ(store_.count("example.org", "juliet"), 0u);
}

TEST_F(RosterStoreTest, PutForAMissingAccountThrowsAndWritesNothing) {
  EXPECT_THROW(store_.put("example.org", "nobody", contact("a@example.org", "", {}, {"g"})), Error);
  EXPECT_FALSE(db_.in_transaction());
  EXPECT_EQ(count_rows(db_, "SELECT count(*) FROM roster_items"), 0);
  EXPECT_EQ(count_rows(db_, "SELECT count(*) FROM roster_groups"), 0);
  EXPECT_EQ(count_rows(db_, "SELECT count(*) FROM roster_versions"), 0);
  EXPECT_THROW(store_.add_pending_in("example.org", "nobody", "a@example.org", "<presence/>"),
               Error);
  EXPECT_TRUE(store_.pending_in("example.org", "nobody").empty());
}

TEST_F(RosterStoreTest, RemovingTheAccountRemovesItsRosterVersionAndPendingRequests) {
  store_.put("example.org", "juliet", contact("a@example.org", "", Subscription::To, {"g"}));
  store_.add_pending_in("example.org", "juliet", "b@example.org", "<presence type='subscribe'/>");
  store_.put("example.org", "romeo", contact("a@example.org", "", Subscription::To, {"g"}));
  store_.add_pending_in("example.org", "romeo", "b@example.org", "<presence type='subscribe'/>");
  ASSERT_EQ(accounts_.remove("example.org", "juliet"), Result::Ok);
  for (const char* table :
       {"roster_items", "roster_groups", "roster_versions", "roster_pending_in"}) {
    EXPECT_EQ(count_rows(
                  db_, "SELECT count(*) FROM " + std::string(table) + " WHERE username = 'juliet'"),
              0)
        << table;
    EXPECT_EQ(
        count_rows(db_, "SELECT count(*) FROM " + std::string(table) + " WHERE username = 'romeo'"),
        1)
        << table;
  }
}

TEST_F(RosterStoreTest, UsersWithPendingInAreThoseOfTheDomainWithARequestLeft) {
  using Users = std::vector<std::string>;
  EXPECT_TRUE(store_.users_with_pending_in("example.org").empty());
  store_.put("example.org", "juliet", contact("a@example.org", "", Subscription::To, {}));
  EXPECT_TRUE(store_.users_with_pending_in("example.org").empty());  // an item is no request
  store_.add_pending_in("example.org", "romeo", "a@example.org", "<presence type='subscribe'/>");
  store_.add_pending_in("example.org", "romeo", "b@example.org", "<presence type='subscribe'/>");
  store_.add_pending_in("example.org", "juliet", "a@example.org", "<presence type='subscribe'/>");
  EXPECT_EQ(store_.users_with_pending_in("example.org"), (Users{"juliet", "romeo"}));
  EXPECT_TRUE(store_.users_with_pending_in("example.net").empty());
  ASSERT_TRUE(store_.remove_pending_in("example.org", "romeo", "a@example.org"));
  EXPECT_EQ(store_.users_with_pending_in("example.org"), (Users{"juliet", "romeo"}));
  ASSERT_TRUE(store_.remove_pending_in("example.org", "juliet", "a@example.org"));
  EXPECT_EQ(store_.users_with_pending_in("example.org"), Users{"romeo"});
}

TEST_F(RosterStoreTest, PendingRequestsAreAddedFoundAndRemoved) {
  EXPECT_FALSE(store_.has_pending_in("example.org", "juliet", "romeo@example.net"));
  store_.add_pending_in("example.org", "juliet", "romeo@example.net",
                        "<presence from='romeo@example.net/orchard' type='subscribe'/>");
  EXPECT_TRUE(store_.has_pending_in("example.org", "juliet", "romeo@example.net"));
  EXPECT_FALSE(store_.has_pending_in("example.org", "romeo", "romeo@example.net"));
  EXPECT_FALSE(store_.has_pending_in("example.org", "juliet", "Romeo@example.net"));
  EXPECT_EQ(
      store_.pending_in("example.org", "juliet"),
      (std::vector<PendingRequest>{
          {"romeo@example.net", "<presence from='romeo@example.net/orchard' type='subscribe'/>"}}));
  EXPECT_TRUE(store_.remove_pending_in("example.org", "juliet", "romeo@example.net"));
  EXPECT_FALSE(store_.has_pending_in("example.org", "juliet", "romeo@example.net"));
  EXPECT_FALSE(store_.remove_pending_in("example.org", "juliet", "romeo@example.net"));
  EXPECT_TRUE(store_.pending_in("example.org", "juliet").empty());
}

TEST_F(RosterStoreTest, PendingRequestsComeOldestFirst) {
  for (const char* jid : {"c@example.org", "a@example.org", "b@example.org"}) {
    store_.add_pending_in("example.org", "juliet", jid, std::string("<from ") + jid + "/>");
  }
  // Removing the newest and adding another must not reuse an order slot ahead of older ones.
  ASSERT_TRUE(store_.remove_pending_in("example.org", "juliet", "b@example.org"));
  store_.add_pending_in("example.org", "juliet", "d@example.org", "<d/>");
  const auto pending = store_.pending_in("example.org", "juliet");
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].jid, "c@example.org");
  EXPECT_EQ(pending[1].jid, "a@example.org");
  EXPECT_EQ(pending[2].jid, "d@example.org");
}

TEST_F(RosterStoreTest, AddingARequestAgainReplacesItAndMovesItLast) {
  store_.add_pending_in("example.org", "juliet", "a@example.org", "<first/>");
  store_.add_pending_in("example.org", "juliet", "b@example.org", "<b/>");
  store_.add_pending_in("example.org", "juliet", "a@example.org", "<second/>");
  EXPECT_EQ(
      store_.pending_in("example.org", "juliet"),
      (std::vector<PendingRequest>{{"b@example.org", "<b/>"}, {"a@example.org", "<second/>"}}));
}

TEST_F(RosterStoreTest, PendingRequestsAreIndependentOfTheRosterAndItsVersion) {
  const std::uint64_t version = store_.put("example.org", "juliet", contact("a@example.org"));
  store_.add_pending_in("example.org", "juliet", "a@example.org", "<in-roster/>");
  store_.add_pending_in("example.org", "juliet", "stranger@example.com", "<not-in-roster/>");
  EXPECT_EQ(store_.roster("example.org", "juliet").version, version);
  ASSERT_TRUE(store_.remove("example.org", "juliet", "a@example.org").has_value());
  EXPECT_TRUE(store_.has_pending_in("example.org", "juliet", "a@example.org"));
  const std::uint64_t after = store_.roster("example.org", "juliet").version;
  EXPECT_TRUE(store_.remove_pending_in("example.org", "juliet", "a@example.org"));
  EXPECT_EQ(store_.roster("example.org", "juliet").version, after);
  EXPECT_EQ(store_.count("example.org", "juliet"), 0u);
}

TEST_F(RosterStoreTest, PendingStanzasKeepUnicodeAndMayBeEmpty) {
  const std::string stanza =
      "<presence type='subscribe'><status>Ρωμαῖος ❤ ジュリエット</status></presence>";
  store_.add_pending_in("example.org", "juliet", "ρωμαῖος@example.org", stanza);
  store_.add_pending_in("example.org", "juliet", "empty@example.org", "");
  EXPECT_EQ(
      store_.pending_in("example.org", "juliet"),
      (std::vector<PendingRequest>{{"ρωμαῖος@example.org", stanza}, {"empty@example.org", ""}}));
}

TEST_F(RosterStoreTest, OperationsComposeInACallersTransaction) {
  const std::uint64_t version = store_.put("example.org", "juliet", contact("a@example.org"));
  {
    Transaction tx(db_);
    store_.put("example.org", "juliet", contact("b@example.org"));
    ASSERT_TRUE(store_.remove("example.org", "juliet", "a@example.org").has_value());
    store_.add_pending_in("example.org", "juliet", "c@example.org", "<c/>");
    // no commit: all of it goes, the version too
  }
  EXPECT_EQ(store_.roster("example.org", "juliet"),
            (Roster{.version = version, .items = {contact("a@example.org")}}));
  EXPECT_TRUE(store_.pending_in("example.org", "juliet").empty());
}

// The server and the CLI each write through their own connection: versions stay increasing.
TEST_F(RosterStoreTest, VersionsIncreaseAcrossConnections) {
  Database other_db = open_database(path_);
  SqliteRosterStore other(other_db);
  const std::uint64_t first = store_.put("example.org", "juliet", contact("a@example.org"));
  const std::uint64_t second = other.put("example.org", "juliet", contact("b@example.org"));
  EXPECT_GT(second, first);
  EXPECT_EQ(store_.roster("example.org", "juliet").version, second);
  EXPECT_EQ(store_.count("example.org", "juliet"), 2u);
}

}  // namespace
}  // namespace parley::storage
