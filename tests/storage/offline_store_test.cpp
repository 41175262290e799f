#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"
#include "storage/sqlite_offline_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {

void PrintTo(const OfflineMessage& message, std::ostream* out) {
  *out << "{id " << message.id << " at " << message.stamp_ms << ": " << message.stanza << "}";
}

namespace {

constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

std::vector<std::string> stanzas(const std::vector<OfflineMessage>& messages) {
  std::vector<std::string> result;
  for (const OfflineMessage& message : messages) result.push_back(message.stanza);
  return result;
}

class OfflineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(accounts_.create("example.org", "juliet", {}), Result::Ok);
    ASSERT_EQ(accounts_.create("example.org", "romeo", {}), Result::Ok);
  }

  // Stores `stanza` for juliet with no quota to speak of.
  void store(std::string_view stanza, std::int64_t stamp_ms = 1'700'000'000'000) {
    ASSERT_EQ(store_.store("example.org", "juliet", stanza, stamp_ms, kNoLimit), Result::Ok);
  }

  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "parley.sqlite";
  Database db_ = open_database(path_);
  SqliteAccountStore accounts_{db_};
  SqliteOfflineStore store_{db_};
};

TEST_F(OfflineStoreTest, AnAccountWithoutMessagesHasNone) {
  EXPECT_TRUE(store_.messages("example.org", "juliet").empty());
  EXPECT_EQ(store_.count("example.org", "juliet"), 0u);
  EXPECT_EQ(store_.count("example.org", "nobody"), 0u);
  EXPECT_EQ(store_.remove_up_to("example.org", "juliet", std::numeric_limits<std::int64_t>::max()),
            0u);
}

TEST_F(OfflineStoreTest, MessagesComeBackOldestFirstWithTheirStamps) {
  store("<message id='1'/>", 3000);
  store("<message id='2'/>", 1000);  // an earlier stamp does not reorder: storing order counts
  store("<message id='3'/>", 2000);
  const auto messages = store_.messages("example.org", "juliet");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(stanzas(messages), (std::vector<std::string>{"<message id='1'/>", "<message id='2'/>",
                                                         "<message id='3'/>"}));
  EXPECT_EQ(messages[0].stamp_ms, 3000);
  EXPECT_EQ(messages[1].stamp_ms, 1000);
  EXPECT_EQ(messages[2].stamp_ms, 2000);
  EXPECT_LT(messages[0].id, messages[1].id);
  EXPECT_LT(messages[1].id, messages[2].id);
  EXPECT_EQ(store_.count("example.org", "juliet"), 3u);
}

TEST_F(OfflineStoreTest, IdsKeepIncreasingAfterEveryMessageWasRemoved) {
  store("<a/>");
  store("<b/>");
  const std::int64_t last = store_.messages("example.org", "juliet").back().id;
  ASSERT_EQ(store_.remove_up_to("example.org", "juliet", last), 2u);
  store("<c/>");
  const auto messages = store_.messages("example.org", "juliet");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_GT(messages[0].id, last);
  // A late removal up to the old id (a session that read before) leaves the new message alone.
  EXPECT_EQ(store_.remove_up_to("example.org", "juliet", last), 0u);
  EXPECT_EQ(store_.count("example.org", "juliet"), 1u);
}

TEST_F(OfflineStoreTest, RemoveUpToRemovesOnlyWhatWasDelivered) {
  store("<a/>");
  store("<b/>");
  const auto delivered = store_.messages("example.org", "juliet");
  store("<c/>");  // arrives while the first two are being delivered
  EXPECT_EQ(store_.remove_up_to("example.org", "juliet", delivered.back().id), 2u);
  EXPECT_EQ(stanzas(store_.messages("example.org", "juliet")), std::vector<std::string>{"<c/>"});
}

TEST_F(OfflineStoreTest, RemoveUpToCountsExactlyThoseAtOrBelow) {
  for (const char* s : {"<a/>", "<b/>", "<c/>", "<d/>"}) store(s);
  const auto messages = store_.messages("example.org", "juliet");
  EXPECT_EQ(store_.remove_up_to("example.org", "juliet", messages[0].id - 1), 0u);
  EXPECT_EQ(store_.remove_up_to("example.org", "juliet", messages[1].id), 2u);
  EXPECT_EQ(store_.messages("example.org", "juliet"),
            (std::vector<OfflineMessage>{messages[2], messages[3]}));
}

TEST_F(OfflineStoreTest, AccountsHaveTheirOwnMessages) {
  ASSERT_EQ(store_.store("example.org", "romeo", "<for-romeo/>", 1, kNoLimit), Result::Ok);
  store("<for-juliet/>");
  ASSERT_EQ(accounts_.create("example.net", "juliet", {}), Result::Ok);
  ASSERT_EQ(store_.store("example.net", "juliet", "<other-domain/>", 1, kNoLimit), Result::Ok);
  EXPECT_EQ(stanzas(store_.messages("example.org", "juliet")),
            std::vector<std::string>{"<for-juliet/>"});
  // Removing juliet's up to her newest id leaves romeo's older message and the other domain's.
  const std::int64_t newest = store_.messages("example.net", "juliet").back().id;
  EXPECT_EQ(store_.remove_up_to("example.org", "juliet", newest), 1u);
  EXPECT_EQ(store_.count("example.org", "romeo"), 1u);
  EXPECT_EQ(store_.count("example.net", "juliet"), 1u);
}

TEST_F(OfflineStoreTest, AFullStoreRefusesWithQuotaExceededAndStoresNothing) {
  EXPECT_EQ(store_.store("example.org", "juliet", "<1/>", 1, 2), Result::Ok);
  EXPECT_EQ(store_.store("example.org", "juliet", "<2/>", 2, 2), Result::Ok);
  EXPECT_EQ(store_.store("example.org", "juliet", "<3/>", 3, 2), Result::QuotaExceeded);
  EXPECT_FALSE(db_.in_transaction());
  EXPECT_EQ(stanzas(store_.messages("example.org", "juliet")),
            (std::vector<std::string>{"<1/>", "<2/>"}));
  // A lower limit than what is stored refuses too; it never removes anything.
  EXPECT_EQ(store_.store("example.org", "juliet", "<4/>", 4, 1), Result::QuotaExceeded);
  EXPECT_EQ(store_.count("example.org", "juliet"), 2u);
  // Delivering frees room.
  ASSERT_EQ(store_.remove_up_to("example.org", "juliet",
                                store_.messages("example.org", "juliet").front().id),
            1u);
  EXPECT_EQ(store_.store("example.org", "juliet", "<5/>", 5, 2), Result::Ok);
  EXPECT_EQ(stanzas(store_.messages("example.org", "juliet")),
            (std::vector<std::string>{"<2/>", "<5/>"}));
}

TEST_F(OfflineStoreTest, AZeroQuotaStoresNothing) {
  EXPECT_EQ(store_.store("example.org", "juliet", "<m/>", 1, 0), Result::QuotaExceeded);
  EXPECT_EQ(store_.count("example.org", "juliet"), 0u);
}

TEST_F(OfflineStoreTest, TheQuotaIsPerAccount) {
  EXPECT_EQ(store_.store("example.org", "romeo", "<r/>", 1, 1), Result::Ok);
  EXPECT_EQ(store_.store("example.org", "juliet", "<j/>", 1, 1), Result::Ok);
  EXPECT_EQ(store_.store("example.org", "juliet", "<j2/>", 1, 1), Result::QuotaExceeded);
  EXPECT_EQ(store_.store("example.org", "romeo", "<r2/>", 1, 1), Result::QuotaExceeded);
}

TEST_F(OfflineStoreTest, StoringForAMissingAccountIsNotFound) {
  EXPECT_EQ(store_.store("example.org", "nobody", "<m/>", 1, kNoLimit), Result::NotFound);
  EXPECT_EQ(store_.store("example.org", "nobody", "<m/>", 1, 0), Result::NotFound);
  EXPECT_EQ(store_.store("example.org", "Juliet", "<m/>", 1, kNoLimit), Result::NotFound);
  EXPECT_FALSE(db_.in_transaction());
  EXPECT_TRUE(store_.messages("example.org", "nobody").empty());
}

TEST_F(OfflineStoreTest, StanzasAndStampsRoundTripExactly) {
  const std::string unicode =
      "<message><body>Wherefore art thou, Ρωμαῖος? 🌹 ロミオ\n\t&lt;</body></message>";
  store(unicode, 0);
  store("", -1);  // empty: the store does not judge what it keeps
  store(std::string(200'000, 'x'), std::numeric_limits<std::int64_t>::max());
  const auto messages = store_.messages("example.org", "juliet");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].stanza, unicode);
  EXPECT_EQ(messages[0].stamp_ms, 0);
  EXPECT_EQ(messages[1].stanza, "");
  EXPECT_EQ(messages[1].stamp_ms, -1);
  EXPECT_EQ(messages[2].stanza.size(), 200'000u);
  EXPECT_EQ(messages[2].stamp_ms, std::numeric_limits<std::int64_t>::max());
}

TEST_F(OfflineStoreTest, RemovingTheAccountRemovesItsMessages) {
  store("<a/>");
  store("<b/>");
  ASSERT_EQ(store_.store("example.org", "romeo", "<r/>", 1, kNoLimit), Result::Ok);
  ASSERT_EQ(accounts_.remove("example.org", "juliet"), Result::Ok);
  EXPECT_EQ(store_.count("example.org", "juliet"), 0u);
  EXPECT_EQ(store_.count("example.org", "romeo"), 1u);
  // A new account of the same name starts empty.
  ASSERT_EQ(accounts_.create("example.org", "juliet", {}), Result::Ok);
  EXPECT_TRUE(store_.messages("example.org", "juliet").empty());
}

TEST_F(OfflineStoreTest, OperationsComposeInACallersTransaction) {
  store("<kept/>");
  {
    Transaction tx(db_);
    store("<rolled-back/>");
    ASSERT_EQ(
        store_.remove_up_to("example.org", "juliet", std::numeric_limits<std::int64_t>::max()), 2u);
  }
  EXPECT_EQ(stanzas(store_.messages("example.org", "juliet")), std::vector<std::string>{"<kept/>"});
}

// The quota counts what every connection stored.
TEST_F(OfflineStoreTest, TheQuotaSeesMessagesStoredThroughAnotherConnection) {
  Database other_db = open_database(path_);
  SqliteOfflineStore other(other_db);
  ASSERT_EQ(other.store("example.org", "juliet", "<other/>", 1, 2), Result::Ok);
  EXPECT_EQ(store_.store("example.org", "juliet", "<this/>", 2, 2), Result::Ok);
  EXPECT_EQ(other.store("example.org", "juliet", "<third/>", 3, 2), Result::QuotaExceeded);
  EXPECT_EQ(stanzas(store_.messages("example.org", "juliet")),
            (std::vector<std::string>{"<other/>", "<this/>"}));
}

}  // namespace
}  // namespace parley::storage
