// storage::SqliteOfflineStore: OfflineStore on SQLite, table `offline_messages` of schema step 2
// (schema.cpp).
//
// Thread-safety: as its Database (one thread at a time).
#pragma once

#include "storage/database.hpp"
#include "storage/offline_store.hpp"

namespace parley::storage {

class SqliteOfflineStore final : public OfflineStore {
 public:
  // REQUIRES: `db` was opened with schema_migrations() (open_database()) and outlives this store.
  explicit SqliteOfflineStore(Database& db);

  Result store(std::string_view domain, std::string_view user, std::string_view stanza,
               std::int64_t stamp_ms, std::size_t max_messages) override;
  std::vector<OfflineMessage> messages(std::string_view domain, std::string_view user) override;
  std::size_t remove_up_to(std::string_view domain, std::string_view user,
                           std::int64_t up_to) override;
  std::size_t count(std::string_view domain, std::string_view user) override;

 private:
  Database& db_;
};

}  // namespace parley::storage
