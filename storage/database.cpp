#include "storage/database.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

namespace parley::storage {

namespace {

// SQLITE_TRANSIENT is an old-style cast in a macro: SQLite copies the bytes before returning.
const sqlite3_destructor_type kTransient =
    reinterpret_cast<sqlite3_destructor_type>(static_cast<std::intptr_t>(-1));

Error::Kind kind_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Kind::Busy;
    case SQLITE_FULL:
      return Error::Kind::Full;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error::Kind::Corrupt;
    default:
      return Error::Kind::Failed;
  }
}

[[noreturn]] void throw_error(sqlite3* db, int rc, std::string_view sql) {
  std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw Error(kind_of(rc), std::move(message), std::string(sql));
}

std::string schema_too_new_message(std::int64_t found, std::size_t known) {
  return "data directory was written by a newer Parley (schema " + std::to_string(found) +
         ", this build knows " + std::to_string(known) + ")";
}

}  // namespace

struct Database::CachedStatement {
  sqlite3_stmt* stmt = nullptr;
  bool in_use = false;

  explicit CachedStatement(sqlite3_stmt* s) : stmt(s) {}
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  ~CachedStatement() { sqlite3_finalize(stmt); }
};

// ---- Database -----------------------------------------------------------------------------

Database::Database(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      cache_(std::move(other.cache_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    cache_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

Database::~Database() {
  cache_.clear();  // finalizes the cached statements
  // close_v2: if a Statement were still alive (a broken REQUIRES), the handle becomes a zombie
  // freed with that statement, instead of leaking or failing.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Database Database::open(const std::filesystem::path& path, std::span<const Migration> migrations,
                        const DatabaseOptions& options) {
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      throw Error(Error::Kind::Failed,
                  "cannot create directory " + path.parent_path().string() + ": " + ec.message());
    }
  }

  sqlite3* handle = nullptr;
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  // Owned from here on, even on failure (sqlite3_open_v2 may allocate a handle then too).
  Database db(handle, path);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open " + path.string() + ": " +
                          (handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
    throw Error(kind_of(rc), std::move(message));
  }
  sqlite3_busy_timeout(db.db_, static_cast<int>(options.busy_timeout.count()));
  db.exec("PRAGMA foreign_keys = ON");

  // Refuse a newer schema before writing anything, not even the WAL switch in the file header.
  if (const std::int64_t version = db.user_version();
      version > static_cast<std::int64_t>(migrations.size())) {
    throw Error(Error::Kind::SchemaTooNew, schema_too_new_message(version, migrations.size()));
  }

  {
    Statement wal = db.prepare("PRAGMA journal_mode = WAL");
    if (!wal.step() || wal.column_text(0) != "wal") {
      throw Error(Error::Kind::Failed,
                  "cannot switch " + path.string() + " to write-ahead logging (journal_mode=WAL)",
                  std::string(wal.sql()));
    }
  }
  // NORMAL is durable against application crashes in WAL mode; a power loss may lose the last
  // commits but never corrupts the file (https://sqlite.org/pragma.html#pragma_synchronous).
  db.exec("PRAGMA synchronous = NORMAL");
  db.migrate(migrations);
  return db;
}

void Database::migrate(std::span<const Migration> migrations) {
  const auto latest = static_cast<std::int64_t>(migrations.size());
  if (user_version() == latest) return;  // the common case takes no write lock
  for (;;) {
    // user_version is read again under the write lock: another process may have migrated
    // between our read and BEGIN IMMEDIATE.
    Transaction tx(*this);
    const std::int64_t version = user_version();
    if (version > latest) {
      throw Error(Error::Kind::SchemaTooNew, schema_too_new_message(version, migrations.size()));
    }
    if (version < 0) {
      throw Error(Error::Kind::Corrupt, "negative schema version " + std::to_string(version));
    }
    if (version == latest) return;  // rolls back the empty transaction
    const Migration& step = migrations[static_cast<std::size_t>(version)];
    try {
      exec(step.sql);
    } catch (const Error& e) {
      throw Error(e.kind(),
                  "schema step " + std::to_string(version + 1) + " (" +
                      std::string(step.description) + "): " + e.what(),
                  e.sql());
    }
    exec("PRAGMA user_version = " + std::to_string(version + 1));
    tx.commit();
  }
}

void Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw Error(kind_of(rc), std::move(what), text);
  }
}

Statement Database::prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end() && !it->second->in_use) {
    it->second->in_use = true;
    return Statement(it->second->stmt, it->second.get());
  }

  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const bool cache = it == cache_.end();
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, &tail);
  if (rc != SQLITE_OK) throw_error(db_, rc, sql);
  if (stmt == nullptr) {
    throw Error(Error::Kind::Failed, "prepare() of an empty statement", std::string(sql));
  }
  for (const char* p = tail; p != sql.data() + sql.size(); ++p) {
    if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != ';') {
      sqlite3_finalize(stmt);
      throw Error(Error::Kind::Failed, "prepare() takes one statement; use exec() for several",
                  std::string(sql));
    }
  }
  if (!cache) return Statement(stmt, nullptr);  // the cached one is busy: an owned duplicate
  auto entry = std::make_unique<CachedStatement>(stmt);
  entry->in_use = true;
  CachedStatement* raw = entry.get();
  cache_.emplace(std::string(sql), std::move(entry));
  return Statement(stmt, raw);
}

std::int64_t Database::user_version() {
  Statement statement = prepare("PRAGMA user_version");
  statement.step();
  return statement.column_int64(0);
}

bool Database::in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

// ---- Statement ----------------------------------------------------------------------------

Statement::Statement(sqlite3_stmt* stmt, Database::CachedStatement* cached) noexcept
    : stmt_(stmt), cached_(cached) {}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), cached_(std::exchange(other.cached_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    release();
    stmt_ = std::exchange(other.stmt_, nullptr);
    cached_ = std::exchange(other.cached_, nullptr);
  }
  return *this;
}

Statement::~Statement() { release(); }

void Statement::release() noexcept {
  if (stmt_ == nullptr) return;
  if (cached_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cached_->in_use = false;
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
  cached_ = nullptr;
}

void Statement::fail(int rc) const { throw_error(sqlite3_db_handle(stmt_), rc, sql()); }

Statement& Statement::bind_int64(int index, std::int64_t value) {
  if (const int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) fail(rc);
  return *this;
}

Statement& Statement::bind_text(int index, std::string_view value) {
  // A null data pointer would bind NULL, not the empty string.
  const char* data = value.data() != nullptr ? value.data() : "";
  if (const int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), kTransient, SQLITE_UTF8);
      rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  if (const int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), kTransient);
      rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (const int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) fail(rc);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(rc);
}

std::int64_t Statement::run() {
  while (step()) {
  }
  return changes();
}

std::vector<std::string> Statement::first_column_texts() {
  std::vector<std::string> texts;
  while (step()) texts.push_back(column_text(0));
  return texts;
}

std::int64_t Statement::changes() const noexcept {
  return sqlite3_changes64(sqlite3_db_handle(stmt_));
}

int Statement::column_count() const noexcept { return sqlite3_column_count(stmt_); }

bool Statement::column_is_null(int column) const noexcept {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int column) const noexcept {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::column_text(int column) const {
  // Order matters: _text converts the value, then _bytes measures the converted form.
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::string Statement::column_blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (blob == nullptr) return {};
  return std::string(static_cast<const char*>(blob), static_cast<std::size_t>(size));
}

void Statement::reset() noexcept { sqlite3_reset(stmt_); }

void Statement::clear() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view Statement::sql() const noexcept {
  const char* text = sqlite3_sql(stmt_);
  return text != nullptr ? std::string_view(text) : std::string_view();
}

// ---- Transaction --------------------------------------------------------------------------

// BEGIN, COMMIT and the savepoint statements go through the statement cache like any other:
// every storage job that writes (and a few that read) runs them, and sqlite3_exec would compile
// them again each time.
Transaction::Transaction(Database& db, Mode mode) : db_(db), nested_(db.in_transaction()) {
  if (nested_) {
    db_.prepare("SAVEPOINT parley_tx").run();
  } else {
    db_.prepare(mode == Mode::Write ? "BEGIN IMMEDIATE" : "BEGIN").run();
  }
}

void Transaction::commit() {
  db_.prepare(nested_ ? "RELEASE parley_tx" : "COMMIT").run();
  done_ = true;
}

Transaction::~Transaction() {
  if (done_) return;
  // After some errors (disk full, I/O) SQLite has already rolled the whole transaction back;
  // then there is nothing left to undo and the statements below fail harmlessly.
  if (!db_.in_transaction()) return;
  try {
    if (nested_) {
      db_.prepare("ROLLBACK TO parley_tx").run();
      db_.prepare("RELEASE parley_tx").run();
    } else {
      db_.prepare("ROLLBACK").run();
    }
  } catch (const Error&) {
    // A destructor must not throw; the connection stays usable and the next BEGIN reports any
    // lasting problem.
  }
}

}  // namespace parley::storage
