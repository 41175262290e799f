// storage::GroupStore: shared roster groups, managed by the administrator with `parley group
// add|remove|list`: every member sees the other members of a group in their roster, as Prosody's
// mod_groups and ejabberd's shared rosters do. Not an RFC; rosters themselves are RFC 6121 §2.
//
// A narrow interface, meant to be implemented on SQLite (sqlite_group_store.hpp) and later on
// PostgreSQL: no row ids, no database error codes, nothing that only one engine does.
//
// Members are bare JID strings and need not be accounts (yet, or ever: a remote contact may be a
// member), so removing an account does not remove it from groups; the core decides what a member
// without an account means. A group exists while it has members: there is no empty group.
//
// Names: group names and JIDs are compared byte for byte. REQUIRES of every caller: JIDs are
// already prepared (RFC 7622, as core::Jid prepares them).
//
// Errors: the outcomes a caller must expect are Result values; a database that fails throws
// storage::Error (error.hpp).
//
// Thread-safety: none; used by the thread that owns its connection (the storage worker).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "storage/result.hpp"

namespace parley::storage {

struct SharedGroup {
  std::string name;
  std::vector<std::string> members;  // sorted by byte value, never empty

  friend bool operator==(const SharedGroup&, const SharedGroup&) = default;
};

class GroupStore {
 public:
  virtual ~GroupStore() = default;

  // Every group, sorted by name (byte value), one consistent snapshot.
  virtual std::vector<SharedGroup> groups() = 0;

  // Adds `jid` to `group`, creating the group with its first member. AlreadyExists, changing
  // nothing, if it is a member already.
  virtual Result add_member(std::string_view group, std::string_view jid) = 0;

  // Removes `jid` from `group`; the group goes with its last member. NotFound if `jid` is not a
  // member (or there is no such group).
  virtual Result remove_member(std::string_view group, std::string_view jid) = 0;
};

}  // namespace parley::storage
