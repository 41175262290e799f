// storage::SqliteAccountStore: AccountStore on SQLite, tables `accounts` and `scram_credentials`
// of schema step 1 (schema.cpp).
//
// Thread-safety: as its Database (one thread at a time).
#pragma once

#include <chrono>
#include <functional>

#include "storage/account_store.hpp"
#include "storage/database.hpp"

namespace parley::storage {

class SqliteAccountStore final : public AccountStore {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // REQUIRES: `db` was opened with schema_migrations() (open_database()) and outlives this
  // store. `clock` stamps created_at (tests pass a fixed one).
  explicit SqliteAccountStore(Database& db, Clock clock = std::chrono::system_clock::now);

  Result create(std::string_view domain, std::string_view username,
                std::span<const ScramCredential> credentials) override;
  std::optional<std::vector<ScramCredential>> credentials(std::string_view domain,
                                                          std::string_view username) override;
  Result set_credentials(std::string_view domain, std::string_view username,
                         std::span<const ScramCredential> credentials) override;
  Result remove(std::string_view domain, std::string_view username) override;
  bool exists(std::string_view domain, std::string_view username) override;
  std::vector<std::string> list(std::string_view domain) override;
  std::vector<std::string> list_domains() override;
  std::size_t count(std::string_view domain) override;
  std::size_t count() override;

 private:
  void insert_credentials(std::string_view domain, std::string_view username,
                          std::span<const ScramCredential> credentials);

  Database& db_;
  Clock clock_;
};

// Whether the account exists, on `db`'s accounts table: for the other SQLite stores, whose
// writes need an account (offline messages, account data) and report NotFound without one.
bool account_exists(Database& db, std::string_view domain, std::string_view username);

}  // namespace parley::storage
