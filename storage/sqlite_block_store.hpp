// storage::SqliteBlockStore: BlockStore on SQLite, table `blocked_jids` of schema step 2
// (schema.cpp).
//
// Thread-safety: as its Database (one thread at a time).
#pragma once

#include "storage/block_store.hpp"
#include "storage/database.hpp"

namespace parley::storage {

class SqliteBlockStore final : public BlockStore {
 public:
  // REQUIRES: `db` was opened with schema_migrations() (open_database()) and outlives this store.
  explicit SqliteBlockStore(Database& db);

  std::vector<std::string> blocked(std::string_view domain, std::string_view user) override;
  void add(std::string_view domain, std::string_view user,
           std::span<const std::string> jids) override;
  void remove(std::string_view domain, std::string_view user,
              std::span<const std::string> jids) override;
  void clear(std::string_view domain, std::string_view user) override;
  std::vector<std::string> users_with_blocklist(std::string_view domain) override;

 private:
  Database& db_;
};

}  // namespace parley::storage
