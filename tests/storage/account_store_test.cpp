#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "storage/error.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {
namespace {

using Credentials = std::vector<ScramCredential>;

ScramCredential credential(std::string hash, std::string tag, std::uint32_t iterations = 4096) {
  return ScramCredential{
      .hash_name = std::move(hash),
      .salt = "salt-" + tag,
      .iterations = iterations,
      .stored_key = "stored-" + tag,
      .server_key = "server-" + tag,
  };
}

const Credentials kBoth = {credential("SHA-256", "a"), credential("SHA-1", "b")};

std::int64_t count_rows(Database& db, std::string_view sql) {
  Statement s = db.prepare(sql);
  EXPECT_TRUE(s.step());
  return s.column_int64(0);
}

class AccountStoreTest : public ::testing::Test {
 protected:
  static std::chrono::system_clock::time_point fixed_now() {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  }

  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "parley.sqlite";
  Database db_ = open_database(path_);
  SqliteAccountStore store_{db_, fixed_now};
};

TEST_F(AccountStoreTest, CreatedAccountExistsWithItsCredentialsSortedByHash) {
  EXPECT_FALSE(store_.exists("example.org", "juliet"));
  EXPECT_EQ(store_.create("example.org", "juliet", kBoth), Result::Ok);
  EXPECT_TRUE(store_.exists("example.org", "juliet"));
  const auto stored = store_.credentials("example.org", "juliet");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*stored, (Credentials{kBoth[1], kBoth[0]}));  // "SHA-1" < "SHA-256"
}

TEST_F(AccountStoreTest, CreatingAnExistingAccountIsAlreadyExistsAndChangesNothing) {
  ASSERT_EQ(store_.create("example.org", "juliet", kBoth), Result::Ok);
  const Credentials other = {credential("SHA-256", "other")};
  EXPECT_EQ(store_.create("example.org", "juliet", other), Result::AlreadyExists);
  EXPECT_EQ(store_.credentials("example.org", "juliet")->size(), 2u);
  EXPECT_EQ(store_.count(), 1u);
  EXPECT_FALSE(db_.in_transaction());
}

TEST_F(AccountStoreTest, TheSameUsernameInTwoDomainsIsTwoAccounts) {
  ASSERT_EQ(store_.create("example.org", "juliet", kBoth), Result::Ok);
  EXPECT_FALSE(store_.exists("example.net", "juliet"));
  EXPECT_EQ(store_.create("example.net", "juliet", {}), Result::Ok);
  EXPECT_EQ(store_.remove("example.net", "juliet"), Result::Ok);
  EXPECT_TRUE(store_.exists("example.org", "juliet"));
}

TEST_F(AccountStoreTest, NamesAreComparedByteForByte) {
  ASSERT_EQ(store_.create("example.org", "juliet", {}), Result::Ok);
  EXPECT_FALSE(store_.exists("example.org", "Juliet"));
  EXPECT_FALSE(store_.exists("example.org", "juliet "));
}

TEST_F(AccountStoreTest, CredentialsOfAMissingAccountAreNullopt) {
  EXPECT_FALSE(store_.credentials("example.org", "nobody").has_value());
}

TEST_F(AccountStoreTest, AnAccountWithoutCredentialsHasAnEmptyList) {
  ASSERT_EQ(store_.create("example.org", "locked", {}), Result::Ok);
  const auto stored = store_.credentials("example.org", "locked");
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->empty());
}

TEST_F(AccountStoreTest, CredentialBytesRoundTripExactly) {
  std::string bytes;
  for (int c = 255; c >= 0; --c) bytes.push_back(static_cast<char>(c));
  const Credentials binary = {ScramCredential{.hash_name = "SHA-256",
                                              .salt = bytes,
                                              .iterations = 4'294'967'295u,
                                              .stored_key = bytes.substr(0, 32),
                                              .server_key = std::string(32, '\0')}};
  ASSERT_EQ(store_.create("example.org", "bytes", binary), Result::Ok);
  EXPECT_EQ(store_.credentials("example.org", "bytes"), binary);
}

TEST_F(AccountStoreTest, SetCredentialsReplacesThemAll) {
  ASSERT_EQ(store_.create("example.org", "juliet", kBoth), Result::Ok);
  const Credentials only_new = {credential("SHA-256", "new", 10000)};
  EXPECT_EQ(store_.set_credentials("example.org", "juliet", only_new), Result::Ok);
  EXPECT_EQ(store_.credentials("example.org", "juliet"), only_new);
  EXPECT_EQ(store_.set_credentials("example.org", "juliet", {}), Result::Ok);
  EXPECT_EQ(store_.credentials("example.org", "juliet"), Credentials{});
}

TEST_F(AccountStoreTest, SetCredentialsOfAMissingAccountIsNotFoundAndWritesNothing) {
  EXPECT_EQ(store_.set_credentials("example.org", "nobody", kBoth), Result::NotFound);
  EXPECT_EQ(count_rows(db_, "SELECT count(*) FROM scram_credentials"), 0);
  EXPECT_FALSE(store_.exists("example.org", "nobody"));
}

TEST_F(AccountStoreTest, RemoveDeletesTheAccountAndCascadesToItsCredentials) {
  ASSERT_EQ(store_.create("example.org", "juliet", kBoth), Result::Ok);
  ASSERT_EQ(store_.create("example.org", "romeo", kBoth), Result::Ok);
  ASSERT_EQ(count_rows(db_, "SELECT count(*) FROM scram_credentials"), 4);
  EXPECT_EQ(store_.remove("example.org", "juliet"), Result::Ok);
  EXPECT_FALSE(store_.exists("example.org", "juliet"));
  EXPECT_FALSE(store_.credentials("example.org", "juliet").has_value());
  EXPECT_EQ(count_rows(db_, "SELECT count(*) FROM scram_credentials WHERE username = 'juliet'"), 0);
  EXPECT_EQ(count_rows(db_, "SELECT count(*) FROM scram_credentials WHERE username = 'romeo'"), 2);
}

TEST_F(AccountStoreTest, RemovingAMissingAccountIsNotFound) {
  EXPECT_EQ(store_.remove("example.org", "nobody"), Result::NotFound);
  ASSERT_EQ(store_.create("example.org", "juliet", {}), Result::Ok);
  ASSERT_EQ(store_.remove("example.org", "juliet"), Result::Ok);
  EXPECT_EQ(store_.remove("example.org", "juliet"), Result::NotFound);
}

TEST_F(AccountStoreTest, RemovedAccountCanBeCreatedAgainWithoutOldCredentials) {
  ASSERT_EQ(store_.create("example.org", "juliet", kBoth), Result::Ok);
  ASSERT_EQ(store_.remove("example.org", "juliet"), Result::Ok);
  ASSERT_EQ(store_.create("example.org", "juliet", {}), Result::Ok);
  EXPECT_EQ(store_.credentials("example.org", "juliet"), Credentials{});
}

TEST_F(AccountStoreTest, ListsAndCountsAreSortedAndPerDomain) {
  for (const char* user : {"romeo", "juliet", "benvolio", "Zed"}) {
    ASSERT_EQ(store_.create("verona.example", user, {}), Result::Ok);
  }
  ASSERT_EQ(store_.create("capulet.example", "nurse", {}), Result::Ok);
  EXPECT_EQ(store_.list("verona.example"),
            (std::vector<std::string>{"Zed", "benvolio", "juliet", "romeo"}));  // byte order
  EXPECT_EQ(store_.list("capulet.example"), std::vector<std::string>{"nurse"});
  EXPECT_TRUE(store_.list("nowhere.example").empty());
  EXPECT_EQ(store_.list_domains(), (std::vector<std::string>{"capulet.example", "verona.example"}));
  EXPECT_EQ(store_.count("verona.example"), 4u);
  EXPECT_EQ(store_.count("capulet.example"), 1u);
  EXPECT_EQ(store_.count("nowhere.example"), 0u);
  EXPECT_EQ(store_.count(), 5u);
  ASSERT_EQ(store_.remove("capulet.example", "nurse"), Result::Ok);
  EXPECT_EQ(store_.list_domains(), std::vector<std::string>{"verona.example"});
}

TEST_F(AccountStoreTest, TwoCredentialsForOneHashAreRejectedBeforeWriting) {
  const Credentials twice = {credential("SHA-1", "a"), credential("SHA-1", "b")};
  EXPECT_THROW(store_.create("example.org", "juliet", twice), std::invalid_argument);
  EXPECT_FALSE(store_.exists("example.org", "juliet"));
  ASSERT_EQ(store_.create("example.org", "juliet", kBoth), Result::Ok);
  EXPECT_THROW(store_.set_credentials("example.org", "juliet", twice), std::invalid_argument);
  EXPECT_EQ(store_.credentials("example.org", "juliet")->size(), 2u);
}

TEST_F(AccountStoreTest, ZeroIterationsOrNoHashNameAreRejected) {
  EXPECT_THROW(store_.create("example.org", "a", Credentials{credential("SHA-1", "x", 0)}),
               std::invalid_argument);
  EXPECT_THROW(store_.create("example.org", "a", Credentials{credential("", "x")}),
               std::invalid_argument);
  EXPECT_EQ(store_.count(), 0u);
}

TEST_F(AccountStoreTest, CreatedAtComesFromTheInjectedClock) {
  ASSERT_EQ(store_.create("example.org", "juliet", {}), Result::Ok);
  EXPECT_EQ(count_rows(db_, "SELECT created_at FROM accounts"), 1'700'000'000);
}

TEST_F(AccountStoreTest, CredentialsWithoutAnAccountAreRefusedByTheForeignKey) {
  EXPECT_THROW(db_.exec("INSERT INTO scram_credentials VALUES"
                        " ('example.org', 'ghost', 'SHA-1', x'00', 1, x'00', x'00')"),
               Error);
}

TEST_F(AccountStoreTest, OperationsComposeInACallersTransaction) {
  {
    Transaction tx(db_);
    ASSERT_EQ(store_.create("example.org", "a", kBoth), Result::Ok);
    ASSERT_EQ(store_.create("example.org", "b", kBoth), Result::Ok);
    // no commit: both go
  }
  EXPECT_EQ(store_.count(), 0u);
}

// `parley adduser` writes through its own connection while the server holds another one.
TEST_F(AccountStoreTest, AnAccountAddedThroughAnotherConnectionIsSeen) {
  Database cli_db = open_database(path_);
  SqliteAccountStore cli(cli_db);
  ASSERT_EQ(cli.create("example.org", "juliet", kBoth), Result::Ok);
  EXPECT_TRUE(store_.exists("example.org", "juliet"));
  EXPECT_EQ(store_.credentials("example.org", "juliet")->size(), 2u);
  ASSERT_EQ(store_.set_credentials("example.org", "juliet", {}), Result::Ok);
  EXPECT_EQ(cli.credentials("example.org", "juliet"), Credentials{});
  ASSERT_EQ(cli.remove("example.org", "juliet"), Result::Ok);
  EXPECT_FALSE(store_.exists("example.org", "juliet"));
}

}  // namespace
}  // namespace parley::storage
