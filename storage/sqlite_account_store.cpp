#include "storage/sqlite_account_store.hpp"

#include <set>
#include <stdexcept>
#include <utility>

namespace parley::storage {

namespace {

void check_credentials(std::span<const ScramCredential> credentials) {
  std::set<std::string_view> hashes;
  for (const ScramCredential& credential : credentials) {
    if (credential.hash_name.empty()) {
      throw std::invalid_argument("SCRAM credential without a hash name");
    }
    if (credential.iterations == 0) {
      throw std::invalid_argument("SCRAM credential with zero iterations");
    }
    if (!hashes.insert(credential.hash_name).second) {
      throw std::invalid_argument("two SCRAM credentials for " + credential.hash_name);
    }
  }
}

}  // namespace

SqliteAccountStore::SqliteAccountStore(Database& db, Clock clock)
    : db_(db), clock_(std::move(clock)) {}

void SqliteAccountStore::insert_credentials(std::string_view domain, std::string_view username,
                                            std::span<const ScramCredential> credentials) {
  for (const ScramCredential& credential : credentials) {
    db_.prepare(
           "INSERT INTO scram_credentials"
           " (domain, username, hash, salt, iterations, stored_key, server_key)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind_text(1, domain)
        .bind_text(2, username)
        .bind_text(3, credential.hash_name)
        .bind_blob(4, credential.salt)
        .bind_int64(5, credential.iterations)
        .bind_blob(6, credential.stored_key)
        .bind_blob(7, credential.server_key)
        .run();
  }
}

Result SqliteAccountStore::create(std::string_view domain, std::string_view username,
                                  std::span<const ScramCredential> credentials) {
  check_credentials(credentials);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch());
  Transaction tx(db_);
  const std::int64_t inserted =
      db_.prepare(
             "INSERT INTO accounts (domain, username, created_at) VALUES (?1, ?2, ?3)"
             " ON CONFLICT DO NOTHING")
          .bind_text(1, domain)
          .bind_text(2, username)
          .bind_int64(3, now.count())
          .run();
  if (inserted == 0) return Result::AlreadyExists;  // tx rolls back (nothing to undo)
  insert_credentials(domain, username, credentials);
  tx.commit();
  return Result::Ok;
}

std::optional<std::vector<ScramCredential>> SqliteAccountStore::credentials(
    std::string_view domain, std::string_view username) {
  // One statement, so the account's existence and its credentials are one consistent snapshot
  // even while another connection (the CLI) changes the password, without a transaction of its
  // own (every login asks this; BEGIN and COMMIT would be two more statements). An account
  // without credentials is one row of NULLs; no account, no row.
  Statement select = db_.prepare(
      "SELECT c.hash, c.salt, c.iterations, c.stored_key, c.server_key FROM accounts AS a"
      " LEFT JOIN scram_credentials AS c ON c.domain = a.domain AND c.username = a.username"
      " WHERE a.domain = ?1 AND a.username = ?2 ORDER BY c.hash");
  select.bind_text(1, domain).bind_text(2, username);
  if (!select.step()) return std::nullopt;
  std::vector<ScramCredential> result;
  if (select.column_is_null(0)) return result;
  do {
    result.push_back(ScramCredential{
        .hash_name = select.column_text(0),
        .salt = select.column_blob(1),
        .iterations = static_cast<std::uint32_t>(select.column_int64(2)),
        .stored_key = select.column_blob(3),
        .server_key = select.column_blob(4),
    });
  } while (select.step());
  return result;
}

Result SqliteAccountStore::set_credentials(std::string_view domain, std::string_view username,
                                           std::span<const ScramCredential> credentials) {
  check_credentials(credentials);
  Transaction tx(db_);
  if (!exists(domain, username)) return Result::NotFound;
  db_.prepare("DELETE FROM scram_credentials WHERE domain = ?1 AND username = ?2")
      .bind_text(1, domain)
      .bind_text(2, username)
      .run();
  insert_credentials(domain, username, credentials);
  tx.commit();
  return Result::Ok;
}

Result SqliteAccountStore::remove(std::string_view domain, std::string_view username) {
  // Credentials (and every later per-account table) go by ON DELETE CASCADE; changes() counts
  // only the accounts row.
  const std::int64_t removed =
      db_.prepare("DELETE FROM accounts WHERE domain = ?1 AND username = ?2")
          .bind_text(1, domain)
          .bind_text(2, username)
          .run();
  return removed == 0 ? Result::NotFound : Result::Ok;
}

bool SqliteAccountStore::exists(std::string_view domain, std::string_view username) {
  return account_exists(db_, domain, username);
}

bool account_exists(Database& db, std::string_view domain, std::string_view username) {
  Statement select = db.prepare("SELECT 1 FROM accounts WHERE domain = ?1 AND username = ?2");
  select.bind_text(1, domain).bind_text(2, username);
  return select.step();
}

std::vector<std::string> SqliteAccountStore::list(std::string_view domain) {
  Statement select =
      db_.prepare("SELECT username FROM accounts WHERE domain = ?1 ORDER BY username");
  select.bind_text(1, domain);
  return select.first_column_texts();
}

std::vector<std::string> SqliteAccountStore::list_domains() {
  Statement select = db_.prepare("SELECT DISTINCT domain FROM accounts ORDER BY domain");
  return select.first_column_texts();
}

std::size_t SqliteAccountStore::count(std::string_view domain) {
  Statement select = db_.prepare("SELECT count(*) FROM accounts WHERE domain = ?1");
  select.bind_text(1, domain);
  select.step();
  return static_cast<std::size_t>(select.column_int64(0));
}

std::size_t SqliteAccountStore::count() {
  Statement select = db_.prepare("SELECT count(*) FROM accounts");
  select.step();
  return static_cast<std::size_t>(select.column_int64(0));
}

}  // namespace parley::storage
