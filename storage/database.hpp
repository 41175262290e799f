// storage::Database: one SQLite connection (RAII), its prepared statements, transactions and the
// versioned schema migrations (PRAGMA user_version). The SQLite half of storage/; the store
// interfaces (account_store.hpp, …) never expose it.
//
// Errors: every failure throws storage::Error (error.hpp) carrying SQLite's message and the SQL
// text; nothing here returns error codes.
//
// Thread-safety: none. A Database, and every Statement and Transaction made from it, is used by
// one thread at a time — in the server, only by the storage worker's thread (worker.hpp). Other
// threads and processes (the `parley adduser` CLI) open their own Database on the same file; WAL
// lets readers proceed during a write, and the busy timeout makes a writer wait for the other's
// write lock instead of failing at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace parley::storage {

// One schema step. Step i of a list (0-based) brings the file from user_version i to i + 1.
// Steps are append-only: once released, a step is never edited, only followed by another one.
struct Migration {
  std::string_view description;  // for messages and logs
  std::string_view sql;          // one or more statements, run in one transaction
};

struct DatabaseOptions {
  // How long a statement waits for another connection's lock before failing with Error::Busy.
  std::chrono::milliseconds busy_timeout{5000};
};

class Statement;

class Database {
 public:
  // Opens `path`, creating the file and its parent directories if needed, and sets
  // journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON and the busy timeout. Then migrates the
  // file to the last step of `migrations`, each step in its own transaction, so an interrupted
  // migration leaves the file at the previous version. Several processes opening the same file at
  // once are safe: each step re-reads user_version under the write lock.
  // Throws Error; Error::SchemaTooNew when user_version > migrations.size() ("data directory was
  // written by a newer Parley (schema N, this build knows M)"); the file is left untouched then.
  static Database open(const std::filesystem::path& path, std::span<const Migration> migrations,
                       const DatabaseOptions& options = {});

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  // REQUIRES: no Statement of this Database is alive.
  ~Database();

  // Runs one or more SQL statements that take no parameters, discarding any rows.
  void exec(std::string_view sql);

  // A prepared statement for `sql`, from the cache of this connection: the first call compiles
  // it, later calls reuse it. If the cached one is in use (a Statement for the same SQL is still
  // alive, e.g. in a nested call), a fresh uncached one is returned instead.
  // REQUIRES: the Statement is destroyed before this Database.
  Statement prepare(std::string_view sql);

  // The schema version of the file (PRAGMA user_version).
  std::int64_t user_version();

  // Whether a transaction is open on this connection.
  bool in_transaction() const noexcept;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  struct CachedStatement;
  friend class Statement;

  Database(sqlite3* db, std::filesystem::path path);
  void migrate(std::span<const Migration> migrations);

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  std::unordered_map<std::string, std::unique_ptr<CachedStatement>> cache_;
};

// A prepared statement, bound and stepped in place. Move-only; destroying it resets it and clears
// its bindings, so the next prepare() of the same SQL starts clean.
//
// Parameters are numbered from 1 as in SQL (`?1`, `?2`); result columns from 0 as in SQLite.
// Text and blob getters return copies (std::string holds raw bytes for blobs).
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind_int64(int index, std::int64_t value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // Runs the statement to its next row: true if a row is available through the column getters,
  // false when it is done. Throws Error (a constraint violation, Busy after the timeout, …).
  bool step();
  // step() until done, for statements that return no rows. Returns changes(), for convenience.
  std::int64_t run();
  // step() until done, collecting column 0 of every row as text (a list of names).
  std::vector<std::string> first_column_texts();

  // Rows changed by the last completed INSERT/UPDATE/DELETE on this connection.
  std::int64_t changes() const noexcept;

  // REQUIRES: the last step() returned true and 0 <= column < column_count().
  int column_count() const noexcept;
  bool column_is_null(int column) const noexcept;
  std::int64_t column_int64(int column) const noexcept;
  std::string column_text(int column) const;
  std::string column_blob(int column) const;

  // Makes the statement ready to step again from the start; bindings are kept.
  void reset() noexcept;
  // reset() and clear all bindings to NULL.
  void clear() noexcept;

  std::string_view sql() const noexcept;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, Database::CachedStatement* cached) noexcept;
  [[noreturn]] void fail(int rc) const;
  void release() noexcept;

  sqlite3_stmt* stmt_ = nullptr;
  Database::CachedStatement* cached_ = nullptr;  // null when this Statement owns stmt_
};

// RAII transaction: commit() makes it durable, destruction without commit() rolls it back.
// The outermost Transaction on a connection is BEGIN IMMEDIATE for Mode::Write (the write lock is
// taken at the start, so two writers wait for each other in the busy handler instead of failing to
// upgrade a read lock) and BEGIN (deferred) for Mode::Read: one consistent snapshot over several
// SELECTs, without blocking writers (WAL). A Transaction opened while another is open is a
// SAVEPOINT, so a store operation that uses a transaction internally can run inside a caller's
// larger one, and rolls back only its own part.
// REQUIRES: Transactions on one connection end in the reverse order they began; no writes in an
// outermost Mode::Read transaction.
class Transaction {
 public:
  enum class Mode { Write, Read };

  explicit Transaction(Database& db, Mode mode = Mode::Write);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // REQUIRES: not committed yet. If commit() throws, the transaction is still open and the
  // destructor rolls it back.
  void commit();

 private:
  Database& db_;
  bool nested_ = false;
  bool done_ = false;
};

}  // namespace parley::storage
