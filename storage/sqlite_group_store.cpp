#include "storage/sqlite_group_store.hpp"

#include <cstdint>
#include <utility>

namespace parley::storage {

SqliteGroupStore::SqliteGroupStore(Database& db) : db_(db) {}

std::vector<SharedGroup> SqliteGroupStore::groups() {
  // A group is its member rows: one ordered pass, a new group at each change of name.
  Statement select =
      db_.prepare("SELECT group_name, jid FROM shared_group_members ORDER BY group_name, jid");
  std::vector<SharedGroup> result;
  while (select.step()) {
    std::string name = select.column_text(0);
    if (result.empty() || result.back().name != name) {
      result.push_back(SharedGroup{.name = std::move(name), .members = {}});
    }
    result.back().members.push_back(select.column_text(1));
  }
  return result;
}

Result SqliteGroupStore::add_member(std::string_view group, std::string_view jid) {
  const std::int64_t inserted =
      db_.prepare(
             "INSERT INTO shared_group_members (group_name, jid) VALUES (?1, ?2)"
             " ON CONFLICT DO NOTHING")
          .bind_text(1, group)
          .bind_text(2, jid)
          .run();
  return inserted == 0 ? Result::AlreadyExists : Result::Ok;
}

Result SqliteGroupStore::remove_member(std::string_view group, std::string_view jid) {
  const std::int64_t removed =
      db_.prepare("DELETE FROM shared_group_members WHERE group_name = ?1 AND jid = ?2")
          .bind_text(1, group)
          .bind_text(2, jid)
          .run();
  return removed == 0 ? Result::NotFound : Result::Ok;
}

}  // namespace parley::storage
