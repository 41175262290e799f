#include "storage/sqlite_account_data_store.hpp"

#include "storage/sqlite_account_store.hpp"

namespace parley::storage {

SqliteAccountDataStore::SqliteAccountDataStore(Database& db) : db_(db) {}

std::optional<std::string> SqliteAccountDataStore::get(std::string_view domain,
                                                       std::string_view user,
                                                       std::string_view key) {
  Statement select = db_.prepare(
      "SELECT value FROM account_data WHERE domain = ?1 AND username = ?2 AND key = ?3");
  select.bind_text(1, domain).bind_text(2, user).bind_text(3, key);
  if (!select.step()) return std::nullopt;
  return select.column_blob(0);
}

Result SqliteAccountDataStore::set(std::string_view domain, std::string_view user,
                                   std::string_view key, std::string_view value) {
  // Checked first rather than left to the foreign key: a missing account is an outcome to
  // report, not a database failure.
  Transaction tx(db_);
  if (!account_exists(db_, domain, user)) return Result::NotFound;
  db_.prepare(
         "INSERT INTO account_data (domain, username, key, value) VALUES (?1, ?2, ?3, ?4)"
         " ON CONFLICT (domain, username, key) DO UPDATE SET value = excluded.value")
      .bind_text(1, domain)
      .bind_text(2, user)
      .bind_text(3, key)
      .bind_blob(4, value)
      .run();
  tx.commit();
  return Result::Ok;
}

bool SqliteAccountDataStore::remove(std::string_view domain, std::string_view user,
                                    std::string_view key) {
  return db_.prepare("DELETE FROM account_data WHERE domain = ?1 AND username = ?2 AND key = ?3")
             .bind_text(1, domain)
             .bind_text(2, user)
             .bind_text(3, key)
             .run() != 0;
}

}  // namespace parley::storage
