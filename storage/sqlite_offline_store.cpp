#include "storage/sqlite_offline_store.hpp"

#include "storage/sqlite_account_store.hpp"

namespace parley::storage {

SqliteOfflineStore::SqliteOfflineStore(Database& db) : db_(db) {}

Result SqliteOfflineStore::store(std::string_view domain, std::string_view user,
                                 std::string_view stanza, std::int64_t stamp_ms,
                                 std::size_t max_messages) {
  // A write transaction from the start: the count and the insert see the same rows, so two
  // connections storing at once cannot both pass the quota check.
  Transaction tx(db_);
  if (!account_exists(db_, domain, user)) return Result::NotFound;
  if (count(domain, user) >= max_messages) return Result::QuotaExceeded;
  db_.prepare(
         "INSERT INTO offline_messages (domain, username, stanza, stamp_ms)"
         " VALUES (?1, ?2, ?3, ?4)")
      .bind_text(1, domain)
      .bind_text(2, user)
      .bind_text(3, stanza)
      .bind_int64(4, stamp_ms)
      .run();
  tx.commit();
  return Result::Ok;
}

std::vector<OfflineMessage> SqliteOfflineStore::messages(std::string_view domain,
                                                         std::string_view user) {
  Statement select = db_.prepare(
      "SELECT id, stanza, stamp_ms FROM offline_messages WHERE domain = ?1 AND username = ?2"
      " ORDER BY id");
  select.bind_text(1, domain).bind_text(2, user);
  std::vector<OfflineMessage> result;
  while (select.step()) {
    result.push_back(OfflineMessage{.id = select.column_int64(0),
                                    .stanza = select.column_text(1),
                                    .stamp_ms = select.column_int64(2)});
  }
  return result;
}

std::size_t SqliteOfflineStore::remove_up_to(std::string_view domain, std::string_view user,
                                             std::int64_t up_to) {
  return static_cast<std::size_t>(
      db_.prepare("DELETE FROM offline_messages WHERE domain = ?1 AND username = ?2 AND id <= ?3")
          .bind_text(1, domain)
          .bind_text(2, user)
          .bind_int64(3, up_to)
          .run());
}

std::size_t SqliteOfflineStore::count(std::string_view domain, std::string_view user) {
  Statement select =
      db_.prepare("SELECT count(*) FROM offline_messages WHERE domain = ?1 AND username = ?2");
  select.bind_text(1, domain).bind_text(2, user);
  select.step();
  return static_cast<std::size_t>(select.column_int64(0));
}

}  // namespace parley::storage
