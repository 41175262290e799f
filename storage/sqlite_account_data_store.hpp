// storage::SqliteAccountDataStore: AccountDataStore on SQLite, table `account_data` of schema
// step 2 (schema.cpp).
//
// Thread-safety: as its Database (one thread at a time).
#pragma once

#include "storage/account_data_store.hpp"
#include "storage/database.hpp"

namespace parley::storage {

class SqliteAccountDataStore final : public AccountDataStore {
 public:
  // REQUIRES: `db` was opened with schema_migrations() (open_database()) and outlives this store.
  explicit SqliteAccountDataStore(Database& db);

  std::optional<std::string> get(std::string_view domain, std::string_view user,
                                 std::string_view key) override;
  Result set(std::string_view domain, std::string_view user, std::string_view key,
             std::string_view value) override;
  bool remove(std::string_view domain, std::string_view user, std::string_view key) override;

 private:
  Database& db_;
};

}  // namespace parley::storage
