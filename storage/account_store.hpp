// storage::AccountStore: the accounts of the local virtual hosts and their SCRAM credentials
// (RFC 5802 §3, RFC 7677). No password is ever stored: PLAIN is verified against the same keys.
//
// A narrow interface, meant to be implemented on SQLite (sqlite_account_store.hpp) and later on
// PostgreSQL: no row ids, no database error codes, nothing that only one engine does.
//
// Names: `domain` and `username` are compared byte for byte. REQUIRES of every caller: they are
// already prepared (RFC 7622 §3.2 domainpart, §3.3 localpart, as core::Jid prepares them), so
// "Juliet" and "juliet" never reach the store as two different spellings of one account.
//
// Errors: the outcomes a caller must expect are Result values; a database that fails throws
// storage::Error (error.hpp).
//
// Thread-safety: none; an AccountStore is used by the thread that owns its connection (in the
// server: the storage worker, worker.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/result.hpp"

namespace parley::storage {

// What the server keeps per account and hash to run SCRAM (RFC 5802 §3) and verify PLAIN.
// Byte strings (salt, stored_key, server_key) are raw bytes, not base64. Same shape as
// core::sasl::ScramCredential, so that one can become an alias of this one.
struct ScramCredential {
  std::string hash_name;  // SASL hash name: "SHA-1", "SHA-256"
  std::string salt;
  std::uint32_t iterations = 0;
  std::string stored_key;  // H(ClientKey)
  std::string server_key;  // HMAC(SaltedPassword, "Server Key")

  friend bool operator==(const ScramCredential&, const ScramCredential&) = default;
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Creates the account with these credentials (may be empty: an account nobody can log in to
  // until set_credentials()). AlreadyExists, changing nothing, if (domain, username) exists.
  // REQUIRES: the hash names in `credentials` are distinct, iterations > 0 (else throws
  // std::invalid_argument).
  virtual Result create(std::string_view domain, std::string_view username,
                        std::span<const ScramCredential> credentials) = 0;

  // The account's credentials, sorted by hash_name; std::nullopt if the account does not exist
  // (an existing account without credentials gives an empty vector).
  virtual std::optional<std::vector<ScramCredential>> credentials(std::string_view domain,
                                                                  std::string_view username) = 0;

  // Replaces all the account's credentials by these, atomically (a password change).
  // NotFound, changing nothing, if the account does not exist.
  // REQUIRES: as for create().
  virtual Result set_credentials(std::string_view domain, std::string_view username,
                                 std::span<const ScramCredential> credentials) = 0;

  // Removes the account and everything stored for it, atomically: its credentials, roster (items,
  // version, pending subscription requests), offline messages, account data (vCard, private XML,
  // last activity) and blocklist — and whatever later stores keep per account. Implementations
  // make every per-account record go with the account (the SQLite schema does it with ON DELETE
  // CASCADE); this is the one place account data removal hangs off. Shared group memberships are
  // JIDs, not account data, and stay (group_store.hpp). NotFound if it does not exist.
  virtual Result remove(std::string_view domain, std::string_view username) = 0;

  virtual bool exists(std::string_view domain, std::string_view username) = 0;

  // The usernames of `domain`, sorted by byte value.
  virtual std::vector<std::string> list(std::string_view domain) = 0;

  // The domains that have at least one account, sorted by byte value.
  virtual std::vector<std::string> list_domains() = 0;

  // Accounts in `domain`; count() without a domain counts them all.
  virtual std::size_t count(std::string_view domain) = 0;
  virtual std::size_t count() = 0;
};

}  // namespace parley::storage
