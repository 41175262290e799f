// The schema as a whole (schema.cpp): migrating files written by older builds, and the foreign
// keys that make AccountStore::remove take every per-account record along.
#include "storage/schema.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "storage/error.hpp"
#include "storage/sqlite_account_data_store.hpp"
#include "storage/sqlite_account_store.hpp"
#include "storage/sqlite_block_store.hpp"
#include "storage/sqlite_group_store.hpp"
#include "storage/sqlite_offline_store.hpp"
#include "storage/sqlite_roster_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {
namespace {

// Tables that hold no per-account data, so they reference no account.
const std::set<std::string> kNotPerAccount = {
    "accounts",
    "roster_version_sequence",  // one sequence for all rosters, outlives every account
    "shared_group_members",     // members need not be accounts
};

RosterItem montague(std::string jid) {
  return RosterItem{.jid = std::move(jid),
                    .name = "",
                    .subscription = Subscription::Both,
                    .ask = false,
                    .approved = false,
                    .groups = {"Montague"}};
}

std::int64_t count_rows(Database& db, std::string_view sql) {
  Statement s = db.prepare(sql);
  EXPECT_TRUE(s.step()) << sql;
  return s.column_int64(0);
}

std::vector<std::string> tables(Database& db) {
  Statement s = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
      " ORDER BY name");
  std::vector<std::string> names;
  while (s.step()) names.push_back(s.column_text(0));
  return names;
}

class SchemaTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "parley.sqlite";
};

TEST_F(SchemaTest, AFreshDatabaseHasTheTablesOfEveryStore) {
  Database db = open_database(path_);
  EXPECT_EQ(db.user_version(), schema_version());
  EXPECT_GE(schema_version(), 2);
  const std::vector<std::string> present = tables(db);
  for (const char* table :
       {"accounts", "scram_credentials", "roster_items", "roster_groups", "roster_versions",
        "roster_version_sequence", "roster_pending_in", "offline_messages", "account_data",
        "blocked_jids", "shared_group_members"}) {
    EXPECT_NE(std::find(present.begin(), present.end(), table), present.end()) << table;
  }
}

// A data directory written by the build before the IM tables: its accounts keep their
// credentials, and the new tables work for them, cascade included.
TEST_F(SchemaTest, AStepOneDatabaseMigratesKeepingItsAccounts) {
  const ScramCredential credential{.hash_name = "SHA-256",
                                   .salt = "salt",
                                   .iterations = 4096,
                                   .stored_key = "stored",
                                   .server_key = "server"};
  {
    Database old = Database::open(path_, schema_migrations().first(1));
    ASSERT_EQ(old.user_version(), 1);
    SqliteAccountStore accounts(old);
    ASSERT_EQ(accounts.create("example.org", "juliet", std::vector{credential}), Result::Ok);
    ASSERT_EQ(accounts.create("example.org", "romeo", {}), Result::Ok);
  }
  Database db = open_database(path_);
  EXPECT_EQ(db.user_version(), schema_version());
  SqliteAccountStore accounts(db);
  EXPECT_EQ(accounts.list("example.org"), (std::vector<std::string>{"juliet", "romeo"}));
  EXPECT_EQ(accounts.credentials("example.org", "juliet"), std::vector{credential});

  SqliteRosterStore rosters(db);
  EXPECT_GT(rosters.put("example.org", "juliet", montague("romeo@example.org")), 0u);
  ASSERT_EQ(accounts.remove("example.org", "juliet"), Result::Ok);
  EXPECT_EQ(count_rows(db, "SELECT count(*) FROM roster_items"), 0);
  EXPECT_EQ(count_rows(db, "SELECT count(*) FROM roster_groups"), 0);
}

TEST_F(SchemaTest, EveryPerAccountTableReferencesItsAccountWithCascade) {
  Database db = open_database(path_);
  for (const std::string& table : tables(db)) {
    if (kNotPerAccount.contains(table)) continue;
    // One row per column pair of each foreign key: collect the pairs of those on accounts.
    Statement fk = db.prepare(
        "SELECT \"table\", \"from\", \"to\", on_update, on_delete, id"
        " FROM pragma_foreign_key_list(?1)");
    fk.bind_text(1, table);
    std::set<std::pair<std::string, std::string>> columns;
    while (fk.step()) {
      if (fk.column_text(0) != "accounts") continue;
      EXPECT_EQ(fk.column_text(3), "CASCADE") << table << " ON UPDATE";
      EXPECT_EQ(fk.column_text(4), "CASCADE") << table << " ON DELETE";
      columns.emplace(fk.column_text(1), fk.column_text(2));
    }
    EXPECT_EQ(columns, (std::set<std::pair<std::string, std::string>>{{"domain", "domain"},
                                                                      {"username", "username"}}))
        << table << " does not reference accounts (domain, username)";
  }
}

// AccountStore::remove's promise, over every store at once: nothing of the account is left, and
// nothing of anybody else goes.
TEST_F(SchemaTest, RemovingAnAccountRemovesEverythingStoredForIt) {
  Database db = open_database(path_);
  SqliteAccountStore accounts(db);
  SqliteRosterStore rosters(db);
  SqliteOfflineStore offline(db);
  SqliteAccountDataStore data(db);
  SqliteBlockStore blocks(db);
  SqliteGroupStore groups(db);
  const ScramCredential credential{.hash_name = "SHA-256",
                                   .salt = "s",
                                   .iterations = 4096,
                                   .stored_key = "k",
                                   .server_key = "v"};
  for (const char* user : {"juliet", "romeo"}) {
    ASSERT_EQ(accounts.create("example.org", user, std::vector{credential}), Result::Ok);
    rosters.put("example.org", user, montague("friar@example.org"));
    rosters.add_pending_in("example.org", user, "nurse@example.org", "<presence/>");
    ASSERT_EQ(offline.store("example.org", user, "<message/>", 1, 10), Result::Ok);
    ASSERT_EQ(data.set("example.org", user, "vcard", "<vCard/>"), Result::Ok);
    blocks.add("example.org", user, std::vector<std::string>{"tybalt@example.org"});
  }
  ASSERT_EQ(groups.add_member("Verona", "juliet@example.org"), Result::Ok);

  auto rows_of = [&](const std::string& table, std::string_view user) {
    return count_rows(db, "SELECT count(*) FROM " + table + " WHERE domain = 'example.org'" +
                              " AND username = '" + std::string(user) + "'");
  };
  std::vector<std::string> per_account;
  for (const std::string& table : tables(db)) {
    if (kNotPerAccount.contains(table)) continue;
    per_account.push_back(table);
    // Else this test would not show the table is emptied: give it a row above.
    ASSERT_GT(rows_of(table, "juliet"), 0) << table << " is not covered by this test";
  }

  ASSERT_EQ(accounts.remove("example.org", "juliet"), Result::Ok);
  for (const std::string& table : per_account) {
    EXPECT_EQ(rows_of(table, "juliet"), 0) << table;
    EXPECT_GT(rows_of(table, "romeo"), 0) << table;
  }
  // Shared groups name JIDs, not accounts: they stay.
  EXPECT_EQ(groups.groups().size(), 1u);
}

TEST_F(SchemaTest, NoPerAccountRowWithoutItsAccount) {
  Database db = open_database(path_);
  for (const std::string_view insert : {
           "INSERT INTO roster_items VALUES ('example.org', 'ghost', 'a@b', '', 'none', 0, 0)",
           "INSERT INTO roster_versions VALUES ('example.org', 'ghost', 1)",
           "INSERT INTO roster_pending_in (domain, username, jid, stanza)"
           " VALUES ('example.org', 'ghost', 'a@b', '')",
           "INSERT INTO offline_messages (domain, username, stanza, stamp_ms)"
           " VALUES ('example.org', 'ghost', '', 0)",
           "INSERT INTO account_data VALUES ('example.org', 'ghost', 'vcard', x'')",
           "INSERT INTO blocked_jids VALUES ('example.org', 'ghost', 'a@b')",
       }) {
    EXPECT_THROW(db.exec(insert), Error) << insert;
  }
}

TEST_F(SchemaTest, RenamingAnAccountCarriesItsDataAlong) {
  Database db = open_database(path_);
  SqliteAccountStore accounts(db);
  SqliteRosterStore rosters(db);
  ASSERT_EQ(accounts.create("example.org", "juliet", {}), Result::Ok);
  const std::uint64_t version = rosters.put("example.org", "juliet", montague("romeo@example.org"));
  rosters.add_pending_in("example.org", "juliet", "nurse@example.org", "<presence/>");
  // No store renames accounts yet; ON UPDATE CASCADE keeps the door open without orphaning rows.
  db.exec("UPDATE accounts SET username = 'juliet.capulet' WHERE username = 'juliet'");
  const Roster roster = rosters.roster("example.org", "juliet.capulet");
  EXPECT_EQ(roster.version, version);
  ASSERT_EQ(roster.items.size(), 1u);
  EXPECT_EQ(roster.items[0].groups, std::vector<std::string>{"Montague"});
  EXPECT_TRUE(rosters.has_pending_in("example.org", "juliet.capulet", "nurse@example.org"));
  EXPECT_EQ(rosters.roster("example.org", "juliet"), Roster{});
}

}  // namespace
}  // namespace parley::storage
