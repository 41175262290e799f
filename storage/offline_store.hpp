// storage::OfflineStore: messages kept for an account while it has no available resource, and
// delivered when it comes online (RFC 6121 §8.5.2.2.1 lets the server store them; XEP-0160).
//
// A narrow interface, meant to be implemented on SQLite (sqlite_offline_store.hpp) and later on
// PostgreSQL: no row ids, no database error codes, nothing that only one engine does. The id of a
// message is the store's own, opaque: callers only compare ids and pass them back.
//
// Names: `domain` and `user` are compared byte for byte. REQUIRES of every caller: they are
// already prepared (RFC 7622, as core::Jid prepares them).
//
// Errors: the outcomes a caller must expect (no such account, a full store) are Result values; a
// database that fails throws storage::Error (error.hpp).
//
// Thread-safety: none; used by the thread that owns its connection (the storage worker).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/result.hpp"

namespace parley::storage {

struct OfflineMessage {
  // Increasing per store, in the order messages were stored, and never reused (not even after the
  // messages before it were removed). Opaque otherwise.
  std::int64_t id = 0;
  std::string stanza;         // the <message/> as it is to be delivered
  std::int64_t stamp_ms = 0;  // when it was stored: ms since the Unix epoch, UTC (XEP-0203)

  friend bool operator==(const OfflineMessage&, const OfflineMessage&) = default;
};

class OfflineStore {
 public:
  virtual ~OfflineStore() = default;

  // Appends the message unless the account already holds max_messages (then QuotaExceeded,
  // storing nothing: RFC 6121 §8.5.2.2.1 lets the server bounce it instead). max_messages == 0
  // stores nothing. NotFound if the account does not exist. The check and the append are atomic.
  virtual Result store(std::string_view domain, std::string_view user, std::string_view stanza,
                       std::int64_t stamp_ms, std::size_t max_messages) = 0;

  // The account's messages, oldest (smallest id) first.
  virtual std::vector<OfflineMessage> messages(std::string_view domain, std::string_view user) = 0;

  // Removes the account's messages with id <= up_to (those delivered); returns how many. Messages
  // stored after messages() was read have greater ids and stay.
  virtual std::size_t remove_up_to(std::string_view domain, std::string_view user,
                                   std::int64_t up_to) = 0;

  virtual std::size_t count(std::string_view domain, std::string_view user) = 0;
};

}  // namespace parley::storage
