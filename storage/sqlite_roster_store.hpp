// storage::SqliteRosterStore: RosterStore on SQLite, tables `roster_items`, `roster_groups`,
// `roster_versions`, `roster_version_sequence` and `roster_pending_in` of schema step 2
// (schema.cpp).
//
// Thread-safety: as its Database (one thread at a time).
#pragma once

#include "storage/database.hpp"
#include "storage/roster_store.hpp"

namespace parley::storage {

class SqliteRosterStore final : public RosterStore {
 public:
  // REQUIRES: `db` was opened with schema_migrations() (open_database()) and outlives this store.
  explicit SqliteRosterStore(Database& db);

  Roster roster(std::string_view domain, std::string_view user) override;
  std::optional<RosterItem> item(std::string_view domain, std::string_view user,
                                 std::string_view jid) override;
  std::uint64_t put(std::string_view domain, std::string_view user,
                    const RosterItem& item) override;
  std::optional<std::uint64_t> remove(std::string_view domain, std::string_view user,
                                      std::string_view jid) override;
  std::size_t count(std::string_view domain, std::string_view user) override;

  void add_pending_in(std::string_view domain, std::string_view user, std::string_view jid,
                      std::string_view stanza) override;
  bool remove_pending_in(std::string_view domain, std::string_view user,
                         std::string_view jid) override;
  bool has_pending_in(std::string_view domain, std::string_view user,
                      std::string_view jid) override;
  std::vector<PendingRequest> pending_in(std::string_view domain, std::string_view user) override;
  std::vector<std::string> users_with_pending_in(std::string_view domain) override;

 private:
  // The roster's current version, 0 if it never had one.
  std::uint64_t version(std::string_view domain, std::string_view user);
  // Gives the roster the next version of the sequence and returns it. REQUIRES: in a write
  // transaction.
  std::uint64_t bump_version(std::string_view domain, std::string_view user);

  Database& db_;
};

}  // namespace parley::storage
