#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/error.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"
#include "storage/sqlite_block_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {
namespace {

using Jids = std::vector<std::string>;

class BlockStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(accounts_.create("example.org", "juliet", {}), Result::Ok);
    ASSERT_EQ(accounts_.create("example.org", "romeo", {}), Result::Ok);
  }

  testing::TempDir dir_;
  Database db_ = open_database(dir_.path() / "parley.sqlite");
  SqliteAccountStore accounts_{db_};
  SqliteBlockStore store_{db_};
};

TEST_F(BlockStoreTest, ANewAccountBlocksNobody) {
  EXPECT_TRUE(store_.blocked("example.org", "juliet").empty());
  EXPECT_TRUE(store_.blocked("example.org", "nobody").empty());
}

TEST_F(BlockStoreTest, AddedJidsAreListedSortedByByteValue) {
  store_.add("example.org", "juliet",
             Jids{"tybalt@example.org", "capulet.example", "Paris@example.org",
                  "tybalt@example.org/sword", "ανδρέας@example.org"});
  EXPECT_EQ(store_.blocked("example.org", "juliet"),
            (Jids{"Paris@example.org", "capulet.example", "tybalt@example.org",
                  "tybalt@example.org/sword", "ανδρέας@example.org"}));
}

TEST_F(BlockStoreTest, AddingIsIdempotent) {
  store_.add("example.org", "juliet", Jids{"tybalt@example.org", "tybalt@example.org"});
  store_.add("example.org", "juliet", Jids{"tybalt@example.org", "paris@example.org"});
  store_.add("example.org", "juliet", Jids{});
  EXPECT_EQ(store_.blocked("example.org", "juliet"),
            (Jids{"paris@example.org", "tybalt@example.org"}));
}

TEST_F(BlockStoreTest, RemoveUnblocksOnlyTheJidsNamedAndIgnoresOthers) {
  store_.add("example.org", "juliet", Jids{"a@example.org", "b@example.org", "c@example.org"});
  store_.remove("example.org", "juliet", Jids{"c@example.org", "a@example.org", "x@example.org"});
  EXPECT_EQ(store_.blocked("example.org", "juliet"), Jids{"b@example.org"});
  store_.remove("example.org", "juliet", Jids{});
  EXPECT_EQ(store_.blocked("example.org", "juliet"), Jids{"b@example.org"});
}

TEST_F(BlockStoreTest, JidsAreComparedByteForByte) {
  store_.add("example.org", "juliet", Jids{"tybalt@example.org"});
  store_.remove("example.org", "juliet", Jids{"Tybalt@example.org", "tybalt@example.org/x"});
  EXPECT_EQ(store_.blocked("example.org", "juliet"), Jids{"tybalt@example.org"});
}

TEST_F(BlockStoreTest, ClearUnblocksEverybodyOfThatAccountOnly) {
  store_.add("example.org", "juliet", Jids{"a@example.org", "b@example.org"});
  store_.add("example.org", "romeo", Jids{"a@example.org"});
  store_.clear("example.org", "juliet");
  EXPECT_TRUE(store_.blocked("example.org", "juliet").empty());
  EXPECT_EQ(store_.blocked("example.org", "romeo"), Jids{"a@example.org"});
  store_.clear("example.org", "juliet");  // nothing left: no error
}

TEST_F(BlockStoreTest, BlocklistsOfAccountsAreIndependent) {
  ASSERT_EQ(accounts_.create("example.net", "juliet", {}), Result::Ok);
  store_.add("example.org", "juliet", Jids{"a@example.org"});
  store_.add("example.net", "juliet", Jids{"b@example.org"});
  store_.remove("example.net", "juliet", Jids{"a@example.org"});
  EXPECT_EQ(store_.blocked("example.org", "juliet"), Jids{"a@example.org"});
  EXPECT_EQ(store_.blocked("example.net", "juliet"), Jids{"b@example.org"});
  EXPECT_TRUE(store_.blocked("example.org", "romeo").empty());
}

TEST_F(BlockStoreTest, UsersWithBlocklistAreThoseOfTheDomainWithAnItemLeft) {
  ASSERT_EQ(accounts_.create("example.net", "mercutio", {}), Result::Ok);
  EXPECT_TRUE(store_.users_with_blocklist("example.org").empty());
  store_.add("example.org", "romeo", Jids{"a@example.org", "b@example.org"});
  store_.add("example.org", "juliet", Jids{"a@example.org"});
  store_.add("example.net", "mercutio", Jids{"a@example.org"});
  EXPECT_EQ(store_.users_with_blocklist("example.org"), (Jids{"juliet", "romeo"}));
  EXPECT_EQ(store_.users_with_blocklist("example.net"), Jids{"mercutio"});
  store_.remove("example.org", "romeo", Jids{"a@example.org"});
  EXPECT_EQ(store_.users_with_blocklist("example.org"), (Jids{"juliet", "romeo"}));
  store_.clear("example.org", "juliet");
  EXPECT_EQ(store_.users_with_blocklist("example.org"), Jids{"romeo"});
  ASSERT_EQ(accounts_.remove("example.org", "romeo"), Result::Ok);
  EXPECT_TRUE(store_.users_with_blocklist("example.org").empty());
}

TEST_F(BlockStoreTest, AddForAMissingAccountThrowsAndWritesNothing) {
  EXPECT_THROW(store_.add("example.org", "nobody", Jids{"a@example.org"}), Error);
  EXPECT_FALSE(db_.in_transaction());
  EXPECT_TRUE(store_.blocked("example.org", "nobody").empty());
}

// All or none: a failure in the middle of a list leaves the blocklist as it was.
TEST_F(BlockStoreTest, AddIsAtomic) {
  store_.add("example.org", "juliet", Jids{"kept@example.org"});
  db_.exec(
      "CREATE TRIGGER fail_on_bad AFTER INSERT ON blocked_jids WHEN new.jid = 'bad@example.org'"
      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  EXPECT_THROW(store_.add("example.org", "juliet",
                          Jids{"a@example.org", "bad@example.org", "z@example.org"}),
               Error);
  EXPECT_FALSE(db_.in_transaction());
  EXPECT_EQ(store_.blocked("example.org", "juliet"), Jids{"kept@example.org"});
}

TEST_F(BlockStoreTest, RemoveIsAtomic) {
  store_.add("example.org", "juliet", Jids{"a@example.org", "bad@example.org", "z@example.org"});
  db_.exec(
      "CREATE TRIGGER fail_on_bad AFTER DELETE ON blocked_jids WHEN old.jid = 'bad@example.org'"
      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  EXPECT_THROW(store_.remove("example.org", "juliet",
                             Jids{"a@example.org", "bad@example.org", "z@example.org"}),
               Error);
  EXPECT_FALSE(db_.in_transaction());
  EXPECT_EQ(store_.blocked("example.org", "juliet"),
            (Jids{"a@example.org", "bad@example.org", "z@example.org"}));
}

TEST_F(BlockStoreTest, RemovingTheAccountRemovesItsBlocklist) {
  store_.add("example.org", "juliet", Jids{"a@example.org", "b@example.org"});
  store_.add("example.org", "romeo", Jids{"a@example.org"});
  ASSERT_EQ(accounts_.remove("example.org", "juliet"), Result::Ok);
  EXPECT_TRUE(store_.blocked("example.org", "juliet").empty());
  EXPECT_EQ(store_.blocked("example.org", "romeo"), Jids{"a@example.org"});
  ASSERT_EQ(accounts_.create("example.org", "juliet", {}), Result::Ok);
  EXPECT_TRUE(store_.blocked("example.org", "juliet").empty());
}

}  // namespace
}  // namespace parley::storage
