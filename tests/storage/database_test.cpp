#include "storage/database.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "storage/error.hpp"
#include "storage/schema.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {
namespace {

using namespace std::chrono_literals;

constexpr std::array<Migration, 1> kOneStep = {
    Migration{"t1", "CREATE TABLE t1 (id INTEGER PRIMARY KEY, v TEXT)"},
};
constexpr std::array<Migration, 2> kTwoSteps = {
    kOneStep[0],
    Migration{"t2", "CREATE TABLE t2 (x INTEGER); INSERT INTO t2 VALUES (42)"},
};

std::int64_t scalar(Database& db, std::string_view sql) {
  Statement s = db.prepare(sql);
  EXPECT_TRUE(s.step()) << sql;
  return s.column_int64(0);
}

std::string text_scalar(Database& db, std::string_view sql) {
  Statement s = db.prepare(sql);
  EXPECT_TRUE(s.step()) << sql;
  return s.column_text(0);
}

bool has_table(Database& db, std::string_view name) {
  Statement s = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  s.bind_text(1, name);
  return s.step();
}

class DatabaseTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "data" / "nested" / "parley.sqlite";
};

TEST_F(DatabaseTest, OpenCreatesTheFileAndItsParentDirectories) {
  Database db = open_database(path_);
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_EQ(db.path(), path_);
}

TEST_F(DatabaseTest, FirstColumnTextsCollectsColumnZeroOfEveryRowInOrder) {
  Database db = open_database(path_);
  db.exec("CREATE TABLE names (n TEXT, other INTEGER)");
  db.exec("INSERT INTO names VALUES ('b', 1), ('a', 2), (NULL, 3), ('c', 4)");
  EXPECT_EQ(db.prepare("SELECT n, other FROM names ORDER BY other").first_column_texts(),
            (std::vector<std::string>{"b", "a", "", "c"}));
  EXPECT_TRUE(db.prepare("SELECT n FROM names WHERE other > 9").first_column_texts().empty());
}

TEST_F(DatabaseTest, FreshDatabaseGetsTheLatestSchemaVersion) {
  Database db = open_database(path_);
  EXPECT_EQ(db.user_version(), schema_version());
  EXPECT_EQ(schema_version(), static_cast<std::int64_t>(schema_migrations().size()));
  EXPECT_TRUE(has_table(db, "accounts"));
  EXPECT_TRUE(has_table(db, "scram_credentials"));
}

TEST_F(DatabaseTest, ConnectionSettingsAreWalNormalForeignKeysAndBusyTimeout) {
  Database db = open_database(path_, DatabaseOptions{.busy_timeout = 1234ms});
  EXPECT_EQ(text_scalar(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(scalar(db, "PRAGMA synchronous"), 1);  // NORMAL
  EXPECT_EQ(scalar(db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(scalar(db, "PRAGMA busy_timeout"), 1234);
  EXPECT_TRUE(std::filesystem::exists(path_.string() + "-wal"));
}

TEST_F(DatabaseTest, DefaultBusyTimeoutIsFiveSeconds) {
  Database db = open_database(path_);
  EXPECT_EQ(scalar(db, "PRAGMA busy_timeout"), 5000);
}

TEST_F(DatabaseTest, ReopeningAtTheLatestVersionKeepsData) {
  {
    Database db = Database::open(path_, kOneStep);
    db.exec("INSERT INTO t1 (v) VALUES ('kept')");
  }
  Database db = Database::open(path_, kOneStep);
  EXPECT_EQ(db.user_version(), 1);
  EXPECT_EQ(text_scalar(db, "SELECT v FROM t1"), "kept");
}

TEST_F(DatabaseTest, OlderFileIsMigratedToTheLatestStepKeepingItsData) {
  {
    Database db = Database::open(path_, kOneStep);
    EXPECT_EQ(db.user_version(), 1);
    db.exec("INSERT INTO t1 (v) VALUES ('old')");
    EXPECT_FALSE(has_table(db, "t2"));
  }
  Database db = Database::open(path_, kTwoSteps);
  EXPECT_EQ(db.user_version(), 2);
  EXPECT_EQ(scalar(db, "SELECT x FROM t2"), 42);
  EXPECT_EQ(text_scalar(db, "SELECT v FROM t1"), "old");
}

TEST_F(DatabaseTest, NewerSchemaIsRefusedWithAClearMessageAndLeftUntouched) {
  { Database db = Database::open(path_, kTwoSteps); }
  try {
    Database db = Database::open(path_, kOneStep);
    FAIL() << "opened a file of schema 2 with a build that knows 1";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::SchemaTooNew);
    EXPECT_STREQ(e.what(),
                 "data directory was written by a newer Parley (schema 2, this build knows 1)");
  }
  Database db = Database::open(path_, kTwoSteps);
  EXPECT_EQ(db.user_version(), 2);
}

TEST_F(DatabaseTest, ParleySchemaRefusesAFileFromTheFuture) {
  {
    Database db = open_database(path_);
    db.exec("PRAGMA user_version = " + std::to_string(schema_version() + 7));
  }
  try {
    Database db = open_database(path_);
    FAIL() << "opened a file from the future";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::SchemaTooNew);
    EXPECT_NE(
        std::string(e.what()).find("newer Parley (schema " + std::to_string(schema_version() + 7) +
                                   ", this build knows " + std::to_string(schema_version()) + ")"),
        std::string::npos)
        << e.what();
  }
}

TEST_F(DatabaseTest, FailingMigrationStepIsRolledBackAndNamed) {
  constexpr std::array<Migration, 2> kBroken = {
      kOneStep[0],
      Migration{"broken", "CREATE TABLE t2 (x INTEGER); INSERT INTO missing VALUES (1)"},
  };
  { Database db = Database::open(path_, kOneStep); }
  try {
    Database db = Database::open(path_, kBroken);
    FAIL() << "a broken step was applied";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema step 2 (broken)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no such table: missing"), std::string::npos) << e.what();
  }
  Database db = Database::open(path_, kOneStep);
  EXPECT_EQ(db.user_version(), 1);
  EXPECT_FALSE(has_table(db, "t2"));
}

TEST_F(DatabaseTest, AFileThatIsNotADatabaseIsCorrupt) {
  std::filesystem::create_directories(path_.parent_path());
  std::ofstream(path_) << std::string(4096, 'x');
  try {
    Database db = open_database(path_);
    FAIL() << "opened garbage";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Corrupt) << e.what();
  }
}

TEST_F(DatabaseTest, BindAndColumnsRoundTripEveryType) {
  Database db = Database::open(path_, {});
  db.exec("CREATE TABLE v (i INTEGER, t TEXT, b BLOB, n TEXT)");
  const std::string text("a\0b\xc3\xa9", 5);
  std::string blob;
  for (int c = 0; c < 256; ++c) blob.push_back(static_cast<char>(c));
  db.prepare("INSERT INTO v VALUES (?1, ?2, ?3, ?4)")
      .bind_int64(1, -(std::int64_t{1} << 62))
      .bind_text(2, text)
      .bind_blob(3, blob)
      .bind_null(4)
      .run();
  Statement select = db.prepare("SELECT i, t, b, n, typeof(t), typeof(b) FROM v");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.column_count(), 6);
  EXPECT_EQ(select.column_int64(0), -(std::int64_t{1} << 62));
  EXPECT_EQ(select.column_text(1), text);
  EXPECT_EQ(select.column_blob(2), blob);
  EXPECT_TRUE(select.column_is_null(3));
  EXPECT_FALSE(select.column_is_null(1));
  EXPECT_EQ(select.column_text(4), "text");
  EXPECT_EQ(select.column_text(5), "blob");
  EXPECT_FALSE(select.step());
}

TEST_F(DatabaseTest, EmptyTextAndBlobAreNotNull) {
  Database db = Database::open(path_, {});
  db.exec("CREATE TABLE v (t TEXT NOT NULL, b BLOB NOT NULL)");
  db.prepare("INSERT INTO v VALUES (?1, ?2)")
      .bind_text(1, std::string_view())
      .bind_blob(2, std::string_view())
      .run();
  Statement select = db.prepare("SELECT t, b FROM v");
  ASSERT_TRUE(select.step());
  EXPECT_FALSE(select.column_is_null(0));
  EXPECT_FALSE(select.column_is_null(1));
  EXPECT_EQ(select.column_text(0), "");
  EXPECT_EQ(select.column_blob(1), "");
}

TEST_F(DatabaseTest, ResetRerunsWithTheSameBindingsAndClearForgetsThem) {
  Database db = Database::open(path_, {});
  Statement s = db.prepare("SELECT ?1");
  s.bind_int64(1, 7);
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.column_int64(0), 7);
  s.reset();
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.column_int64(0), 7);
  s.clear();
  ASSERT_TRUE(s.step());
  EXPECT_TRUE(s.column_is_null(0));
}

TEST_F(DatabaseTest, CachedStatementComesBackResetAndUnbound) {
  Database db = Database::open(path_, {});
  {
    Statement s = db.prepare("SELECT ?1");
    s.bind_int64(1, 5);
    ASSERT_TRUE(s.step());  // left mid-result
  }
  Statement again = db.prepare("SELECT ?1");
  ASSERT_TRUE(again.step());
  EXPECT_TRUE(again.column_is_null(0));
}

TEST_F(DatabaseTest, SameSqlPreparedTwiceAtOnceGivesIndependentStatements) {
  Database db = Database::open(path_, {});
  Statement outer = db.prepare("SELECT ?1");
  Statement inner = db.prepare("SELECT ?1");
  outer.bind_int64(1, 1);
  inner.bind_int64(1, 2);
  ASSERT_TRUE(outer.step());
  ASSERT_TRUE(inner.step());
  EXPECT_EQ(outer.column_int64(0), 1);
  EXPECT_EQ(inner.column_int64(0), 2);
}

TEST_F(DatabaseTest, MovedStatementStaysUsable) {
  Database db = Database::open(path_, {});
  Statement a = db.prepare("SELECT 3");
  Statement b = std::move(a);
  ASSERT_TRUE(b.step());
  EXPECT_EQ(b.column_int64(0), 3);
}

TEST_F(DatabaseTest, ErrorsCarryTheMessageAndTheSql) {
  Database db = Database::open(path_, kOneStep);
  try {
    db.prepare("SELEKT 1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.sql(), "SELEKT 1");
    EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
  }
  db.exec("INSERT INTO t1 (id, v) VALUES (1, 'a')");
  try {
    db.prepare("INSERT INTO t1 (id, v) VALUES (?1, 'b')").bind_int64(1, 1).run();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Failed);
    EXPECT_EQ(e.sql(), "INSERT INTO t1 (id, v) VALUES (?1, 'b')");
    EXPECT_NE(std::string(e.what()).find("UNIQUE constraint failed"), std::string::npos)
        << e.what();
  }
  // The failed statement is usable again.
  EXPECT_EQ(db.prepare("INSERT INTO t1 (id, v) VALUES (?1, 'b')").bind_int64(1, 2).run(), 1);
}

TEST_F(DatabaseTest, PrepareTakesExactlyOneStatement) {
  Database db = Database::open(path_, {});
  EXPECT_THROW(db.prepare("SELECT 1; SELECT 2"), Error);
  EXPECT_NO_THROW(db.prepare("SELECT 1;  \n"));
  EXPECT_THROW(db.prepare("  "), Error);
}

TEST_F(DatabaseTest, TransactionCommitsOrRollsBack) {
  Database db = Database::open(path_, kOneStep);
  {
    Transaction tx(db);
    EXPECT_TRUE(db.in_transaction());
    db.exec("INSERT INTO t1 (v) VALUES ('rolled back')");
  }
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM t1"), 0);
  {
    Transaction tx(db);
    db.exec("INSERT INTO t1 (v) VALUES ('committed')");
    tx.commit();
  }
  EXPECT_EQ(text_scalar(db, "SELECT v FROM t1"), "committed");
}

TEST_F(DatabaseTest, NestedTransactionRollsBackOnlyItsOwnPart) {
  Database db = Database::open(path_, kOneStep);
  {
    Transaction outer(db);
    db.exec("INSERT INTO t1 (v) VALUES ('outer')");
    {
      Transaction inner(db);
      db.exec("INSERT INTO t1 (v) VALUES ('inner, rolled back')");
    }
    {
      Transaction inner(db);
      db.exec("INSERT INTO t1 (v) VALUES ('inner, kept')");
      inner.commit();
    }
    EXPECT_TRUE(db.in_transaction());
    outer.commit();
  }
  Statement s = db.prepare("SELECT v FROM t1 ORDER BY id");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.column_text(0), "outer");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.column_text(0), "inner, kept");
  EXPECT_FALSE(s.step());
}

TEST_F(DatabaseTest, RollingBackTheOuterTransactionUndoesCommittedInnerOnes) {
  Database db = Database::open(path_, kOneStep);
  {
    Transaction outer(db);
    Transaction inner(db);
    db.exec("INSERT INTO t1 (v) VALUES ('inner')");
    inner.commit();
  }
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM t1"), 0);
}

// The server and the `parley adduser` CLI each hold a connection to one file.
TEST_F(DatabaseTest, TwoConnectionsSeeEachOthersCommittedWrites) {
  Database server = Database::open(path_, kOneStep);
  Database cli = Database::open(path_, kOneStep);
  cli.exec("INSERT INTO t1 (v) VALUES ('from cli')");
  EXPECT_EQ(text_scalar(server, "SELECT v FROM t1"), "from cli");

  {
    Transaction tx(server);
    server.exec("INSERT INTO t1 (v) VALUES ('from server')");
    // Not committed: the other connection does not see it (and WAL lets it read meanwhile).
    EXPECT_EQ(scalar(cli, "SELECT count(*) FROM t1"), 1);
    tx.commit();
  }
  EXPECT_EQ(scalar(cli, "SELECT count(*) FROM t1"), 2);
}

TEST_F(DatabaseTest, ReadTransactionIsOneSnapshotAndDoesNotBlockWriters) {
  Database reader = Database::open(path_, kOneStep);
  Database writer = Database::open(path_, kOneStep, DatabaseOptions{.busy_timeout = 50ms});
  Transaction snapshot(reader, Transaction::Mode::Read);
  EXPECT_EQ(scalar(reader, "SELECT count(*) FROM t1"), 0);
  writer.exec("INSERT INTO t1 (v) VALUES ('new')");  // would throw Busy if the reader blocked it
  EXPECT_EQ(scalar(reader, "SELECT count(*) FROM t1"), 0);
  snapshot.commit();
  EXPECT_EQ(scalar(reader, "SELECT count(*) FROM t1"), 1);
}

TEST_F(DatabaseTest, SecondWriterFailsBusyAfterItsTimeout) {
  Database first = Database::open(path_, kOneStep);
  Database second = Database::open(path_, kOneStep, DatabaseOptions{.busy_timeout = 50ms});
  Transaction holding(first);
  try {
    Transaction tx(second);
    FAIL() << "two write transactions at once";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Busy) << e.what();
  }
}

TEST_F(DatabaseTest, SecondWriterWaitsForTheFirstToCommit) {
  Database first = Database::open(path_, kOneStep);
  auto holding = std::make_unique<Transaction>(first);
  first.exec("INSERT INTO t1 (v) VALUES ('first')");

  std::promise<void> started;
  std::future<void> started_future = started.get_future();
  auto second_done = std::async(std::launch::async, [&] {
    Database second = Database::open(path_, kOneStep);  // 5 s busy timeout
    started.set_value();
    Transaction tx(second);  // waits for `first`
    second.exec("INSERT INTO t1 (v) VALUES ('second')");
    tx.commit();
    return scalar(second, "SELECT count(*) FROM t1");
  });
  ASSERT_EQ(started_future.wait_for(10s), std::future_status::ready);
  std::this_thread::sleep_for(100ms);
  holding->commit();
  holding.reset();
  ASSERT_EQ(second_done.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(second_done.get(), 2);
}

}  // namespace
}  // namespace parley::storage
