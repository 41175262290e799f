#include "storage/schema.hpp"

#include <array>

namespace parley::storage {

namespace {

// Domains and usernames are stored as prepared by the core (RFC 7622 domainpart and localpart
// after PRECIS/nameprep), so byte comparison (SQLite's BINARY collation) is the right equality.
// Credentials are only SCRAM data (RFC 5802 §3: salt, iteration count, StoredKey, ServerKey),
// one row per hash; salt and keys are raw bytes.
constexpr std::string_view kStep1Accounts = R"sql(
CREATE TABLE accounts (
  domain     TEXT NOT NULL,
  username   TEXT NOT NULL,
  created_at INTEGER NOT NULL,  -- seconds since the Unix epoch, UTC
  PRIMARY KEY (domain, username)
) WITHOUT ROWID;

CREATE TABLE scram_credentials (
  domain     TEXT NOT NULL,
  username   TEXT NOT NULL,
  hash       TEXT NOT NULL,     -- SASL hash name: 'SHA-1', 'SHA-256', ...
  salt       BLOB NOT NULL,
  iterations INTEGER NOT NULL CHECK (iterations > 0),
  stored_key BLOB NOT NULL,
  server_key BLOB NOT NULL,
  PRIMARY KEY (domain, username, hash),
  FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)
    ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
)sql";

constexpr std::array kMigrations = {
    Migration{"accounts and SCRAM credentials", kStep1Accounts},
};

}  // namespace

std::span<const Migration> schema_migrations() noexcept { return kMigrations; }

std::int64_t schema_version() noexcept { return static_cast<std::int64_t>(kMigrations.size()); }

Database open_database(const std::filesystem::path& path, const DatabaseOptions& options) {
  return Database::open(path, schema_migrations(), options);
}

}  // namespace parley::storage
