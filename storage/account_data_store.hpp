// storage::AccountDataStore: small per-account values by key, for the XEPs that keep one document
// per account and kind: XEP-0049 private XML storage ("private:<namespace>"), XEP-0054 vCard
// ("vcard"), XEP-0012 last activity ("last"). The store does not parse what it keeps.
//
// A narrow interface, meant to be implemented on SQLite (sqlite_account_data_store.hpp) and later
// on PostgreSQL: no row ids, no database error codes, nothing that only one engine does.
//
// Names: `domain`, `user` and `key` are compared byte for byte. REQUIRES of every caller: domain
// and user are already prepared (RFC 7622, as core::Jid prepares them). Values are bytes: any
// length, the empty value included (which is not the same as no value).
//
// Errors: the outcomes a caller must expect are Result values; a database that fails throws
// storage::Error (error.hpp).
//
// Thread-safety: none; used by the thread that owns its connection (the storage worker).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "storage/result.hpp"

namespace parley::storage {

class AccountDataStore {
 public:
  virtual ~AccountDataStore() = default;

  // The value stored under `key`; nullopt if there is none (or no such account).
  virtual std::optional<std::string> get(std::string_view domain, std::string_view user,
                                         std::string_view key) = 0;

  // Stores `value` under `key`, replacing any value there. NotFound, writing nothing, if the
  // account does not exist.
  virtual Result set(std::string_view domain, std::string_view user, std::string_view key,
                     std::string_view value) = 0;

  // Removes the value under `key`; false if there was none.
  virtual bool remove(std::string_view domain, std::string_view user, std::string_view key) = 0;
};

}  // namespace parley::storage
