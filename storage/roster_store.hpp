// storage::RosterStore: each account's roster (RFC 6121 §2) with its version (§2.6, roster
// versioning), and the inbound subscription requests awaiting the user's answer (§3.1.3).
//
// A narrow interface, meant to be implemented on SQLite (sqlite_roster_store.hpp) and later on
// PostgreSQL: no row ids, no database error codes, nothing that only one engine does. The store
// keeps state; the subscription state machine (RFC 6121 §3, Appendix A) is the core's.
//
// Names: `domain` and `user` name a local account and `jid` a contact's bare JID; all compared
// byte for byte. REQUIRES of every caller: they are already prepared (RFC 7622, as core::Jid
// prepares them).
//
// Errors: a database that fails throws storage::Error (error.hpp). Writes for an account that
// does not exist (removed while its session was still running) throw Error too: rosters belong to
// accounts, and AccountStore::remove takes them along.
//
// Thread-safety: none; used by the thread that owns its connection (the storage worker).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

// The subscription attribute of a roster item (RFC 6121 §2.1.2.5).
enum class Subscription : std::uint8_t { None, To, From, Both };

// "none", "to", "from", "both": the attribute's values.
std::string_view to_string(Subscription subscription) noexcept;
// The inverse of to_string(); nullopt for anything else ("remove" is a request, not a state).
std::optional<Subscription> subscription_from_string(std::string_view text) noexcept;

struct RosterItem {
  std::string jid;   // the contact's bare JID, prepared
  std::string name;  // empty: none
  Subscription subscription = Subscription::None;
  bool ask = false;                 // pending-out: our subscribe request awaits an answer (§3.1.2)
  bool approved = false;            // pre-approved subscription (RFC 6121 §3.4)
  std::vector<std::string> groups;  // sorted, unique

  friend bool operator==(const RosterItem&, const RosterItem&) = default;
};

struct Roster {
  std::uint64_t version = 0;
  std::vector<RosterItem> items;  // sorted by jid

  friend bool operator==(const Roster&, const Roster&) = default;
};

// An inbound subscription request kept until the user answers it.
struct PendingRequest {
  std::string jid;     // the contact's bare JID, prepared
  std::string stanza;  // the subscribe request's XML as received

  friend bool operator==(const PendingRequest&, const PendingRequest&) = default;
};

class RosterStore {
 public:
  virtual ~RosterStore() = default;

  // The whole roster, one consistent snapshot: version 0 and no items for a user who never had
  // one. Groups of each item sorted by byte value, items by jid.
  virtual Roster roster(std::string_view domain, std::string_view user) = 0;

  // One item, nullopt if `jid` is not in the roster.
  virtual std::optional<RosterItem> item(std::string_view domain, std::string_view user,
                                         std::string_view jid) = 0;

  // Inserts the item, or replaces the one with the same jid (its groups too), atomically; bumps
  // and returns the roster's version. `item.groups` may be unsorted or hold duplicates: the
  // store keeps them as a set.
  //
  // Versions: every put() and every remove() that removes something gives the roster a new
  // version greater than any it had before — also after all its items are gone, and also greater
  // than any version an earlier account of the same name had — so a client caching by version
  // (§2.6) never mistakes a new roster for an old one. Versions need not be consecutive.
  virtual std::uint64_t put(std::string_view domain, std::string_view user,
                            const RosterItem& item) = 0;

  // Removes the item (and its groups); returns the new version, or nullopt (and no version bump)
  // if there was none. Pending inbound requests from `jid` are not touched.
  virtual std::optional<std::uint64_t> remove(std::string_view domain, std::string_view user,
                                              std::string_view jid) = 0;

  // Items in the roster.
  virtual std::size_t count(std::string_view domain, std::string_view user) = 0;

  // Inbound subscription requests awaiting the user's answer (RFC 6121 §3.1.3 "pending in"),
  // kept also for contacts not in the roster, independent of the roster's items and version.
  // add_pending_in() replaces an existing request from the same jid; the replacement counts as
  // arriving now (it moves to the end of pending_in()).
  virtual void add_pending_in(std::string_view domain, std::string_view user, std::string_view jid,
                              std::string_view stanza) = 0;
  // false if there was no request from `jid`.
  virtual bool remove_pending_in(std::string_view domain, std::string_view user,
                                 std::string_view jid) = 0;
  virtual bool has_pending_in(std::string_view domain, std::string_view user,
                              std::string_view jid) = 0;
  // Oldest first.
  virtual std::vector<PendingRequest> pending_in(std::string_view domain,
                                                 std::string_view user) = 0;
  // The users of `domain` with at least one pending inbound request, sorted (read once at start:
  // the server need not ask for the requests of anyone else).
  virtual std::vector<std::string> users_with_pending_in(std::string_view domain) = 0;
};

}  // namespace parley::storage
