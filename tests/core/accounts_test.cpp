// Account management (core/accounts.hpp) on a real SQLite file: addresses, passwords, and the
// four operations behind `parley adduser`, `passwd`, `deluser` and `users`.
#include "core/accounts.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/sasl/credentials.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"

namespace parley::core {
namespace {

namespace fs = std::filesystem;

Config two_hosts() {
  Config config;
  config.hosts = {VirtualHost{"localhost", {}, {}, false, std::nullopt, {}},
                  VirtualHost{"example.org", {}, {}, false, std::nullopt, {}}};
  return config;
}

std::string error_of(const Config& config, std::string_view jid, bool served = true) {
  try {
    parse_account_jid(config, jid, served);
  } catch (const AccountError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(AccountNameTest, ParsesAndPreparesALocalAddress) {
  const AccountName name = parse_account_jid(two_hosts(), "Bob@Example.ORG");
  EXPECT_EQ(name.username, "bob");
  EXPECT_EQ(name.domain, "example.org");
  EXPECT_EQ(name.jid(), "bob@example.org");
}

TEST(AccountNameTest, UnservedDomainNamesTheConfiguredOnes) {
  Config config;  // serves localhost
  EXPECT_EQ(error_of(config, "bob@example.net"),
            "bob@example.net: example.net is not served here; configured domains: localhost");
  EXPECT_EQ(parse_account_jid(config, "bob@example.net", /*must_be_served=*/false).domain,
            "example.net");
}

TEST(AccountNameTest, RefusesWhatIsNotAnAccountAddress) {
  const Config config;
  EXPECT_EQ(error_of(config, "bob"), "bob: give a user name and a domain, e.g. bob@localhost");
  EXPECT_EQ(error_of(config, "bob@localhost/phone"),
            "bob@localhost/phone: an account address has no resource (the part from '/'); use "
            "bob@localhost");
  EXPECT_EQ(error_of(config, "@localhost"),
            "@localhost: not a valid address: the part before '@' (the user name) is empty");
  EXPECT_EQ(error_of(config, "bo b@localhost")
                .rfind("bo b@localhost: not a valid address: the "
                       "user name contains a character",
                       0),
            0u)
      << error_of(config, "bo b@localhost");
  EXPECT_EQ(error_of(config, ""), ": not a valid address: no address given");
}

TEST(PasswordTest, PreparesWithSaslprepAndRefusesEmptyOrProhibited) {
  EXPECT_EQ(prepare_password("correct horse"), "correct horse");
  // RFC 4013 §2.1: non-ASCII spaces map to U+0020; "soft hyphen" maps to nothing.
  EXPECT_EQ(prepare_password("a\xC2\xA0"
                             "b"),
            "a b");
  EXPECT_EQ(prepare_password("a\xC2\xAD"
                             "b"),
            "ab");
  EXPECT_THROW(prepare_password(""), AccountError);
  EXPECT_THROW(prepare_password("\xC2\xAD"), AccountError);   // empty once prepared
  EXPECT_THROW(prepare_password("tab\there"), AccountError);  // control character
  EXPECT_THROW(prepare_password("\xff"), AccountError);       // not UTF-8
}

class AccountsTest : public ::testing::Test {
 protected:
  ~AccountsTest() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static fs::path make_dir() {
    std::string pattern = (fs::temp_directory_path() / "parley-accounts-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }

  fs::path dir_ = make_dir();  // first: the members below use it
  storage::Database db_ = storage::open_database(dir_ / "parley.sqlite");
  storage::SqliteAccountStore store_{db_};
  Accounts accounts_{store_, 4096};
  Config config_ = two_hosts();
};

TEST_F(AccountsTest, AddStoresScramCredentialsForThePreparedPassword) {
  const auto bob = parse_account_jid(config_, "bob@localhost");
  accounts_.add(bob, "s3cret\xC2\xA0pass");
  ASSERT_TRUE(accounts_.exists(bob));
  const auto credentials = store_.credentials("localhost", "bob");
  ASSERT_TRUE(credentials);
  ASSERT_EQ(credentials->size(), 2u);  // SHA-1 and SHA-256
  for (const auto& c : *credentials) {
    EXPECT_EQ(c.iterations, 4096u);
    EXPECT_TRUE(sasl::verify_password(c, "s3cret pass")) << c.hash_name;
    EXPECT_FALSE(sasl::verify_password(c, "s3cret")) << c.hash_name;
  }
}

TEST_F(AccountsTest, AddingAnExistingAccountFails) {
  const auto bob = parse_account_jid(config_, "bob@localhost");
  accounts_.add(bob, "one");
  try {
    accounts_.add(bob, "two");
    FAIL() << "no error";
  } catch (const AccountError& e) {
    EXPECT_STREQ(e.what(), "bob@localhost: the account already exists");
  }
  // The first password still works.
  const auto credentials = store_.credentials("localhost", "bob");
  ASSERT_TRUE(credentials);
  for (const auto& c : *credentials) EXPECT_TRUE(sasl::verify_password(c, "one"));
}

TEST_F(AccountsTest, EmptyPasswordCreatesNothing) {
  const auto bob = parse_account_jid(config_, "bob@localhost");
  EXPECT_THROW(accounts_.add(bob, ""), AccountError);
  EXPECT_FALSE(accounts_.exists(bob));
}

TEST_F(AccountsTest, SetPasswordReplacesTheCredentials) {
  const auto bob = parse_account_jid(config_, "bob@localhost");
  accounts_.add(bob, "old password");
  const auto before = *store_.credentials("localhost", "bob");
  accounts_.set_password(bob, "new password");
  const auto after = *store_.credentials("localhost", "bob");
  ASSERT_EQ(after.size(), 2u);
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_NE(after[i].salt, before[i].salt);  // fresh salts
    EXPECT_NE(after[i].stored_key, before[i].stored_key);
    EXPECT_TRUE(sasl::verify_password(after[i], "new password"));
    EXPECT_FALSE(sasl::verify_password(after[i], "old password"));
  }
}

TEST_F(AccountsTest, SetPasswordOfAMissingAccountFails) {
  const auto ghost = parse_account_jid(config_, "ghost@localhost");
  try {
    accounts_.set_password(ghost, "x");
    FAIL() << "no error";
  } catch (const AccountError& e) {
    EXPECT_STREQ(e.what(), "ghost@localhost: there is no such account");
  }
  EXPECT_FALSE(accounts_.exists(ghost));
}

TEST_F(AccountsTest, RemoveDeletesTheAccountAndOnlyIt) {
  const auto bob = parse_account_jid(config_, "bob@localhost");
  const auto alice = parse_account_jid(config_, "alice@localhost");
  accounts_.add(bob, "b");
  accounts_.add(alice, "a");
  accounts_.remove(bob);
  EXPECT_FALSE(accounts_.exists(bob));
  EXPECT_FALSE(store_.credentials("localhost", "bob"));
  EXPECT_TRUE(accounts_.exists(alice));
  EXPECT_THROW(accounts_.remove(bob), AccountError);
}

TEST_F(AccountsTest, ListGivesSortedJidsOfOneOrEveryDomain) {
  for (const char* jid :
       {"zoe@localhost", "bob@example.org", "alice@localhost", "al@example.org"}) {
    accounts_.add(parse_account_jid(config_, jid), "pw");
  }
  EXPECT_EQ(accounts_.list("localhost"),
            (std::vector<std::string>{"alice@localhost", "zoe@localhost"}));
  EXPECT_EQ(accounts_.list(), (std::vector<std::string>{"al@example.org", "alice@localhost",
                                                        "bob@example.org", "zoe@localhost"}));
  EXPECT_TRUE(accounts_.list("nowhere.example").empty());
}

}  // namespace
}  // namespace parley::core
