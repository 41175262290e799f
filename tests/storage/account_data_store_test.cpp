#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "storage/schema.hpp"
#include "storage/sqlite_account_data_store.hpp"
#include "storage/sqlite_account_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {
namespace {

class AccountDataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(accounts_.create("example.org", "juliet", {}), Result::Ok);
    ASSERT_EQ(accounts_.create("example.org", "romeo", {}), Result::Ok);
  }

  testing::TempDir dir_;
  Database db_ = open_database(dir_.path() / "parley.sqlite");
  SqliteAccountStore accounts_{db_};
  SqliteAccountDataStore store_{db_};
};

TEST_F(AccountDataStoreTest, AMissingKeyHasNoValue) {
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), std::nullopt);
  EXPECT_EQ(store_.get("example.org", "nobody", "vcard"), std::nullopt);
  EXPECT_FALSE(store_.remove("example.org", "juliet", "vcard"));
}

TEST_F(AccountDataStoreTest, SetStoresAndReplacesTheValue) {
  EXPECT_EQ(store_.set("example.org", "juliet", "vcard", "<vCard xmlns='vcard-temp'/>"),
            Result::Ok);
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), "<vCard xmlns='vcard-temp'/>");
  EXPECT_EQ(store_.set("example.org", "juliet", "vcard", "<vCard><FN>Juliet</FN></vCard>"),
            Result::Ok);
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), "<vCard><FN>Juliet</FN></vCard>");
}

TEST_F(AccountDataStoreTest, RemoveDeletesOnlyThatKey) {
  ASSERT_EQ(store_.set("example.org", "juliet", "vcard", "v"), Result::Ok);
  ASSERT_EQ(store_.set("example.org", "juliet", "last", "1700000000"), Result::Ok);
  EXPECT_TRUE(store_.remove("example.org", "juliet", "vcard"));
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), std::nullopt);
  EXPECT_EQ(store_.get("example.org", "juliet", "last"), "1700000000");
  EXPECT_FALSE(store_.remove("example.org", "juliet", "vcard"));
}

TEST_F(AccountDataStoreTest, KeysAndAccountsAreSeparateAndComparedByteForByte) {
  ASSERT_EQ(store_.set("example.org", "juliet", "private:storage:bookmarks", "<b/>"), Result::Ok);
  ASSERT_EQ(store_.set("example.org", "juliet", "private:storage:rosternotes", "<n/>"), Result::Ok);
  ASSERT_EQ(store_.set("example.org", "romeo", "private:storage:bookmarks", "<r/>"), Result::Ok);
  EXPECT_EQ(store_.get("example.org", "juliet", "private:storage:bookmarks"), "<b/>");
  EXPECT_EQ(store_.get("example.org", "juliet", "private:storage:rosternotes"), "<n/>");
  EXPECT_EQ(store_.get("example.org", "romeo", "private:storage:bookmarks"), "<r/>");
  EXPECT_EQ(store_.get("example.org", "juliet", "Private:storage:bookmarks"), std::nullopt);
  EXPECT_EQ(store_.get("example.org", "juliet", "private:storage:bookmarks "), std::nullopt);
  EXPECT_TRUE(store_.remove("example.org", "romeo", "private:storage:bookmarks"));
  EXPECT_EQ(store_.get("example.org", "juliet", "private:storage:bookmarks"), "<b/>");
}

TEST_F(AccountDataStoreTest, AnEmptyValueIsAValueNotItsAbsence) {
  ASSERT_EQ(store_.set("example.org", "juliet", "vcard", ""), Result::Ok);
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), std::string());
  EXPECT_TRUE(store_.remove("example.org", "juliet", "vcard"));
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), std::nullopt);
}

TEST_F(AccountDataStoreTest, AnEmptyKeyIsAKeyLikeAnyOther) {
  ASSERT_EQ(store_.set("example.org", "juliet", "", "empty key"), Result::Ok);
  EXPECT_EQ(store_.get("example.org", "juliet", ""), "empty key");
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), std::nullopt);
}

TEST_F(AccountDataStoreTest, ValuesRoundTripEveryByte) {
  std::string bytes;
  for (int c = 0; c < 256; ++c) bytes.push_back(static_cast<char>(c));
  const std::string unicode = "<vCard><FN>Джульетта Капулетти 🌹</FN><NOTE>愛</NOTE></vCard>";
  ASSERT_EQ(store_.set("example.org", "juliet", "bytes", bytes), Result::Ok);
  ASSERT_EQ(store_.set("example.org", "juliet", "private:ρωμαῖος:ns", unicode), Result::Ok);
  ASSERT_EQ(store_.set("example.org", "juliet", "large", std::string(1 << 20, 'v')), Result::Ok);
  EXPECT_EQ(store_.get("example.org", "juliet", "bytes"), bytes);
  EXPECT_EQ(store_.get("example.org", "juliet", "private:ρωμαῖος:ns"), unicode);
  EXPECT_EQ(store_.get("example.org", "juliet", "large")->size(), std::size_t{1} << 20);
}

TEST_F(AccountDataStoreTest, SetForAMissingAccountIsNotFoundAndWritesNothing) {
  EXPECT_EQ(store_.set("example.org", "nobody", "vcard", "v"), Result::NotFound);
  EXPECT_EQ(store_.set("example.net", "juliet", "vcard", "v"), Result::NotFound);
  EXPECT_FALSE(db_.in_transaction());
  EXPECT_EQ(store_.get("example.org", "nobody", "vcard"), std::nullopt);
  EXPECT_EQ(store_.get("example.net", "juliet", "vcard"), std::nullopt);
}

TEST_F(AccountDataStoreTest, RemovingTheAccountRemovesItsData) {
  ASSERT_EQ(store_.set("example.org", "juliet", "vcard", "j"), Result::Ok);
  ASSERT_EQ(store_.set("example.org", "juliet", "last", "1"), Result::Ok);
  ASSERT_EQ(store_.set("example.org", "romeo", "vcard", "r"), Result::Ok);
  ASSERT_EQ(accounts_.remove("example.org", "juliet"), Result::Ok);
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), std::nullopt);
  EXPECT_EQ(store_.get("example.org", "juliet", "last"), std::nullopt);
  EXPECT_EQ(store_.get("example.org", "romeo", "vcard"), "r");
  // A new account of the same name does not inherit the old one's vCard.
  ASSERT_EQ(accounts_.create("example.org", "juliet", {}), Result::Ok);
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), std::nullopt);
}

TEST_F(AccountDataStoreTest, OperationsComposeInACallersTransaction) {
  ASSERT_EQ(store_.set("example.org", "juliet", "vcard", "old"), Result::Ok);
  {
    Transaction tx(db_);
    ASSERT_EQ(store_.set("example.org", "juliet", "vcard", "new"), Result::Ok);
    ASSERT_EQ(store_.set("example.org", "juliet", "last", "1"), Result::Ok);
  }
  EXPECT_EQ(store_.get("example.org", "juliet", "vcard"), "old");
  EXPECT_EQ(store_.get("example.org", "juliet", "last"), std::nullopt);
}

}  // namespace
}  // namespace parley::storage
