#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"
#include "storage/sqlite_group_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {

void PrintTo(const SharedGroup& group, std::ostream* out) {
  *out << "{'" << group.name << "':";
  for (const std::string& member : group.members) *out << " " << member;
  *out << "}";
}

namespace {

using Groups = std::vector<SharedGroup>;

class GroupStoreTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "parley.sqlite";
  Database db_ = open_database(path_);
  SqliteGroupStore store_{db_};
};

TEST_F(GroupStoreTest, ThereAreNoGroupsAtFirst) { EXPECT_TRUE(store_.groups().empty()); }

TEST_F(GroupStoreTest, AddingAMemberCreatesTheGroup) {
  EXPECT_EQ(store_.add_member("Capulets", "juliet@example.org"), Result::Ok);
  EXPECT_EQ(store_.groups(), (Groups{{"Capulets", {"juliet@example.org"}}}));
}

TEST_F(GroupStoreTest, GroupsAreSortedByNameAndMembersByJid) {
  for (const auto& [group, jid] : std::vector<std::pair<std::string, std::string>>{
           {"Montagues", "romeo@example.org"},
           {"Capulets", "tybalt@example.org"},
           {"Capulets", "juliet@example.org"},
           {"Montagues", "benvolio@example.org"},
           {"Capulets", "Nurse@example.org"},
           {"capulets", "lowercase@example.org"},
       }) {
    ASSERT_EQ(store_.add_member(group, jid), Result::Ok) << group << " " << jid;
  }
  EXPECT_EQ(store_.groups(),
            (Groups{{"Capulets", {"Nurse@example.org", "juliet@example.org", "tybalt@example.org"}},
                    {"Montagues", {"benvolio@example.org", "romeo@example.org"}},
                    {"capulets", {"lowercase@example.org"}}}));
}

TEST_F(GroupStoreTest, AddingAMemberTwiceIsAlreadyExistsAndChangesNothing) {
  ASSERT_EQ(store_.add_member("Capulets", "juliet@example.org"), Result::Ok);
  EXPECT_EQ(store_.add_member("Capulets", "juliet@example.org"), Result::AlreadyExists);
  EXPECT_EQ(store_.groups(), (Groups{{"Capulets", {"juliet@example.org"}}}));
}

TEST_F(GroupStoreTest, AJidMayBeInSeveralGroups) {
  ASSERT_EQ(store_.add_member("Capulets", "juliet@example.org"), Result::Ok);
  ASSERT_EQ(store_.add_member("Verona", "juliet@example.org"), Result::Ok);
  EXPECT_EQ(store_.groups(),
            (Groups{{"Capulets", {"juliet@example.org"}}, {"Verona", {"juliet@example.org"}}}));
  ASSERT_EQ(store_.remove_member("Capulets", "juliet@example.org"), Result::Ok);
  EXPECT_EQ(store_.groups(), (Groups{{"Verona", {"juliet@example.org"}}}));
}

TEST_F(GroupStoreTest, RemovingAMemberKeepsTheOthersAndTheLastTakesTheGroup) {
  ASSERT_EQ(store_.add_member("Capulets", "juliet@example.org"), Result::Ok);
  ASSERT_EQ(store_.add_member("Capulets", "tybalt@example.org"), Result::Ok);
  EXPECT_EQ(store_.remove_member("Capulets", "tybalt@example.org"), Result::Ok);
  EXPECT_EQ(store_.groups(), (Groups{{"Capulets", {"juliet@example.org"}}}));
  EXPECT_EQ(store_.remove_member("Capulets", "juliet@example.org"), Result::Ok);
  EXPECT_TRUE(store_.groups().empty());
}

TEST_F(GroupStoreTest, RemovingANonMemberIsNotFound) {
  EXPECT_EQ(store_.remove_member("Nowhere", "juliet@example.org"), Result::NotFound);
  ASSERT_EQ(store_.add_member("Capulets", "juliet@example.org"), Result::Ok);
  EXPECT_EQ(store_.remove_member("Capulets", "romeo@example.org"), Result::NotFound);
  EXPECT_EQ(store_.remove_member("Montagues", "juliet@example.org"), Result::NotFound);
  EXPECT_EQ(store_.remove_member("capulets", "juliet@example.org"), Result::NotFound);
  EXPECT_EQ(store_.remove_member("Capulets", "Juliet@example.org"), Result::NotFound);
  EXPECT_EQ(store_.groups(), (Groups{{"Capulets", {"juliet@example.org"}}}));
}

TEST_F(GroupStoreTest, UnicodeNamesAndMembersRoundTrip) {
  ASSERT_EQ(store_.add_member("Семья 👪", "джульетта@пример.рф"), Result::Ok);
  ASSERT_EQ(store_.add_member("Семья 👪", "romeo@example.org"), Result::Ok);
  ASSERT_EQ(store_.add_member("友達", "ロミオ@example.jp"), Result::Ok);
  EXPECT_EQ(store_.groups(), (Groups{{"Семья 👪", {"romeo@example.org", "джульетта@пример.рф"}},
                                     {"友達", {"ロミオ@example.jp"}}}));
}

// Members are JIDs, not accounts: neither creating nor removing an account touches groups.
TEST_F(GroupStoreTest, MembersNeedNotBeAccountsAndOutliveThem) {
  SqliteAccountStore accounts(db_);
  ASSERT_EQ(store_.add_member("Verona", "juliet@example.org"), Result::Ok);
  ASSERT_EQ(store_.add_member("Verona", "friar@elsewhere.example"), Result::Ok);
  ASSERT_EQ(accounts.create("example.org", "juliet", {}), Result::Ok);
  ASSERT_EQ(accounts.remove("example.org", "juliet"), Result::Ok);
  EXPECT_EQ(store_.groups(),
            (Groups{{"Verona", {"friar@elsewhere.example", "juliet@example.org"}}}));
}

// `parley group add` runs in its own process while the server holds its connection.
TEST_F(GroupStoreTest, ChangesThroughAnotherConnectionAreSeen) {
  Database cli_db = open_database(path_);
  SqliteGroupStore cli(cli_db);
  ASSERT_EQ(cli.add_member("Capulets", "juliet@example.org"), Result::Ok);
  EXPECT_EQ(store_.groups(), (Groups{{"Capulets", {"juliet@example.org"}}}));
  EXPECT_EQ(store_.add_member("Capulets", "juliet@example.org"), Result::AlreadyExists);
  ASSERT_EQ(store_.remove_member("Capulets", "juliet@example.org"), Result::Ok);
  EXPECT_TRUE(cli.groups().empty());
}

}  // namespace
}  // namespace parley::storage
