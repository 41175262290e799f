// storage::SqliteGroupStore: GroupStore on SQLite, table `shared_group_members` of schema step 2
// (schema.cpp).
//
// Thread-safety: as its Database (one thread at a time).
#pragma once

#include "storage/database.hpp"
#include "storage/group_store.hpp"

namespace parley::storage {

class SqliteGroupStore final : public GroupStore {
 public:
  // REQUIRES: `db` was opened with schema_migrations() (open_database()) and outlives this store.
  explicit SqliteGroupStore(Database& db);

  std::vector<SharedGroup> groups() override;
  Result add_member(std::string_view group, std::string_view jid) override;
  Result remove_member(std::string_view group, std::string_view jid) override;

 private:
  Database& db_;
};

}  // namespace parley::storage
