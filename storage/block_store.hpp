// storage::BlockStore: each account's blocklist (XEP-0191 Blocking Command): the JIDs whose
// stanzas the server drops or refuses for the account. What a blocked JID matches (a full JID, a
// bare JID, a domain, domain/resource: XEP-0191 "JID Matching") is the core's business; the store
// keeps the strings.
//
// A narrow interface, meant to be implemented on SQLite (sqlite_block_store.hpp) and later on
// PostgreSQL: no row ids, no database error codes, nothing that only one engine does.
//
// Names: compared byte for byte. REQUIRES of every caller: domain, user and the blocked JIDs are
// already prepared (RFC 7622, as core::Jid prepares them).
//
// Errors: a database that fails throws storage::Error (error.hpp). add() for an account that does
// not exist (removed while its session was still running) throws Error too: blocklists belong to
// accounts, and AccountStore::remove takes them along.
//
// Thread-safety: none; used by the thread that owns its connection (the storage worker).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

class BlockStore {
 public:
  virtual ~BlockStore() = default;

  // The blocked JIDs, sorted by byte value; empty for an account without a blocklist.
  virtual std::vector<std::string> blocked(std::string_view domain, std::string_view user) = 0;

  // Blocks every JID of `jids`, all or none (XEP-0191 §3.3: one <block/> is one change). JIDs
  // already blocked, or named twice, are no error.
  virtual void add(std::string_view domain, std::string_view user,
                   std::span<const std::string> jids) = 0;

  // Unblocks every JID of `jids`, all or none (XEP-0191 §3.4); JIDs that were not blocked are
  // ignored. An empty `jids` removes nothing: clear() is the "unblock all" of §3.5.
  virtual void remove(std::string_view domain, std::string_view user,
                      std::span<const std::string> jids) = 0;

  // Unblocks every JID (XEP-0191 §3.5).
  virtual void clear(std::string_view domain, std::string_view user) = 0;

  // The users of `domain` whose blocklist is not empty, sorted (read once at start: the server
  // need not ask for the list of anyone else).
  virtual std::vector<std::string> users_with_blocklist(std::string_view domain) = 0;
};

}  // namespace parley::storage
