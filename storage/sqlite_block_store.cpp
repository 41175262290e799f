#include "storage/sqlite_block_store.hpp"

namespace parley::storage {

SqliteBlockStore::SqliteBlockStore(Database& db) : db_(db) {}

std::vector<std::string> SqliteBlockStore::blocked(std::string_view domain, std::string_view user) {
  Statement select =
      db_.prepare("SELECT jid FROM blocked_jids WHERE domain = ?1 AND username = ?2 ORDER BY jid");
  select.bind_text(1, domain).bind_text(2, user);
  return select.first_column_texts();
}

void SqliteBlockStore::add(std::string_view domain, std::string_view user,
                           std::span<const std::string> jids) {
  Transaction tx(db_);
  for (const std::string& jid : jids) {
    db_.prepare(
           "INSERT INTO blocked_jids (domain, username, jid) VALUES (?1, ?2, ?3)"
           " ON CONFLICT DO NOTHING")
        .bind_text(1, domain)
        .bind_text(2, user)
        .bind_text(3, jid)
        .run();
  }
  tx.commit();
}

void SqliteBlockStore::remove(std::string_view domain, std::string_view user,
                              std::span<const std::string> jids) {
  Transaction tx(db_);
  for (const std::string& jid : jids) {
    db_.prepare("DELETE FROM blocked_jids WHERE domain = ?1 AND username = ?2 AND jid = ?3")
        .bind_text(1, domain)
        .bind_text(2, user)
        .bind_text(3, jid)
        .run();
  }
  tx.commit();
}

void SqliteBlockStore::clear(std::string_view domain, std::string_view user) {
  db_.prepare("DELETE FROM blocked_jids WHERE domain = ?1 AND username = ?2")
      .bind_text(1, domain)
      .bind_text(2, user)
      .run();
}

std::vector<std::string> SqliteBlockStore::users_with_blocklist(std::string_view domain) {
  // The primary key's index answers this without reading a row.
  Statement select =
      db_.prepare("SELECT DISTINCT username FROM blocked_jids WHERE domain = ?1 ORDER BY username");
  select.bind_text(1, domain);
  return select.first_column_texts();
}

}  // namespace parley::storage
