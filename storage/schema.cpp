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

// Instant messaging (RFC 6121) and the per-account data of the XEPs that build on it. Every table
// keyed by an account references accounts ON DELETE CASCADE ON UPDATE CASCADE (AccountStore::
// remove takes all of it along); shared groups do not, their members need not be accounts.
//
// Roster (RFC 6121 §2): one row per contact, its groups in their own table. roster_groups also
// references its item, so replacing or removing an item drops its groups with it.
// roster_versions holds each account's current roster version (§2.6); the values come from the
// one-row roster_version_sequence, which no account removal resets, so a version is never handed
// out twice, not even to a new account of a removed one's name whose client still caches the old
// roster. roster_pending_in holds inbound subscription requests awaiting an answer (§3.1.3),
// also from contacts not in the roster, in the order they arrived.
//
// offline_messages (XEP-0160): AUTOINCREMENT, so an id is never reused once delivered messages
// are deleted (a late "delete up to id" must not hit a newer message). stamp_ms: milliseconds
// since the Unix epoch, UTC (XEP-0203 delay).
//
// account_data: opaque values by key — "private:<namespace>" (XEP-0049), "vcard" (XEP-0054),
// "last" (XEP-0012). blocked_jids: XEP-0191. shared_group_members: shared roster groups of
// `parley group`; a group exists while it has members.
constexpr std::string_view kStep2InstantMessaging = R"sql(
CREATE TABLE roster_items (
  domain       TEXT NOT NULL,
  username     TEXT NOT NULL,
  jid          TEXT NOT NULL,     -- the contact's bare JID, prepared
  name         TEXT NOT NULL,     -- '' when the item has none
  subscription TEXT NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
  ask          INTEGER NOT NULL CHECK (ask IN (0, 1)),       -- pending out (§3.1.2)
  approved     INTEGER NOT NULL CHECK (approved IN (0, 1)),  -- pre-approved (§3.4)
  PRIMARY KEY (domain, username, jid),
  FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)
    ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;

CREATE TABLE roster_groups (
  domain     TEXT NOT NULL,
  username   TEXT NOT NULL,
  jid        TEXT NOT NULL,
  group_name TEXT NOT NULL,
  PRIMARY KEY (domain, username, jid, group_name),
  FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)
    ON DELETE CASCADE ON UPDATE CASCADE,
  FOREIGN KEY (domain, username, jid) REFERENCES roster_items (domain, username, jid)
    ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;

CREATE TABLE roster_versions (
  domain   TEXT NOT NULL,
  username TEXT NOT NULL,
  version  INTEGER NOT NULL CHECK (version > 0),
  PRIMARY KEY (domain, username),
  FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)
    ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;

CREATE TABLE roster_version_sequence (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  last_version INTEGER NOT NULL CHECK (last_version >= 0)
);
INSERT INTO roster_version_sequence (id, last_version) VALUES (1, 0);

CREATE TABLE roster_pending_in (
  arrival  INTEGER PRIMARY KEY, -- larger than every row present when inserted: arrival order
  domain   TEXT NOT NULL,
  username TEXT NOT NULL,
  jid      TEXT NOT NULL,
  stanza   TEXT NOT NULL,         -- the <presence type='subscribe'/> as received
  UNIQUE (domain, username, jid),
  FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)
    ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE offline_messages (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  domain   TEXT NOT NULL,
  username TEXT NOT NULL,
  stanza   TEXT NOT NULL,
  stamp_ms INTEGER NOT NULL,
  FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)
    ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX offline_messages_by_account ON offline_messages (domain, username, id);

CREATE TABLE account_data (
  domain   TEXT NOT NULL,
  username TEXT NOT NULL,
  key      TEXT NOT NULL,
  value    BLOB NOT NULL,
  PRIMARY KEY (domain, username, key),
  FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)
    ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;

CREATE TABLE blocked_jids (
  domain   TEXT NOT NULL,
  username TEXT NOT NULL,
  jid      TEXT NOT NULL,
  PRIMARY KEY (domain, username, jid),
  FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)
    ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;

CREATE TABLE shared_group_members (
  group_name TEXT NOT NULL,
  jid        TEXT NOT NULL,     -- a bare JID, prepared; not necessarily a local account
  PRIMARY KEY (group_name, jid)
) WITHOUT ROWID;
)sql";

constexpr std::array kMigrations = {
    Migration{"accounts and SCRAM credentials", kStep1Accounts},
    Migration{"rosters, offline messages, account data, blocklists, shared groups",
              kStep2InstantMessaging},
};

}  // namespace

std::span<const Migration> schema_migrations() noexcept { return kMigrations; }

std::int64_t schema_version() noexcept { return static_cast<std::int64_t>(kMigrations.size()); }

Database open_database(const std::filesystem::path& path, const DatabaseOptions& options) {
  return Database::open(path, schema_migrations(), options);
}

}  // namespace parley::storage
