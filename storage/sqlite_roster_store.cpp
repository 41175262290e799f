#include "storage/sqlite_roster_store.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include "storage/error.hpp"

namespace parley::storage {

namespace {

// Columns 0-5 of the item queries below: jid, name, subscription, ask, approved, group_name (NULL
// for an item without groups). Rows come ordered by jid, then group, so an item's rows are
// consecutive and its groups sorted.
std::vector<RosterItem> read_items(Statement& select) {
  std::vector<RosterItem> items;
  while (select.step()) {
    std::string jid = select.column_text(0);
    if (items.empty() || items.back().jid != jid) {
      const std::string subscription = select.column_text(2);
      const std::optional<Subscription> parsed = subscription_from_string(subscription);
      if (!parsed) {
        // The schema's CHECK keeps this out; a file edited by hand may not.
        throw Error(Error::Kind::Corrupt, "roster item with subscription '" + subscription + "'",
                    std::string(select.sql()));
      }
      items.push_back(RosterItem{
          .jid = std::move(jid),
          .name = select.column_text(1),
          .subscription = *parsed,
          .ask = select.column_int64(3) != 0,
          .approved = select.column_int64(4) != 0,
          .groups = {},
      });
    }
    if (!select.column_is_null(5)) items.back().groups.push_back(select.column_text(5));
  }
  return items;
}

}  // namespace

SqliteRosterStore::SqliteRosterStore(Database& db) : db_(db) {}

std::uint64_t SqliteRosterStore::version(std::string_view domain, std::string_view user) {
  Statement select =
      db_.prepare("SELECT version FROM roster_versions WHERE domain = ?1 AND username = ?2");
  select.bind_text(1, domain).bind_text(2, user);
  return select.step() ? static_cast<std::uint64_t>(select.column_int64(0)) : 0;
}

std::uint64_t SqliteRosterStore::bump_version(std::string_view domain, std::string_view user) {
  std::int64_t next = 0;
  {
    // One sequence for every roster (schema.cpp): a version is never handed out twice, not even
    // after the account it went to was removed.
    Statement bump = db_.prepare(
        "UPDATE roster_version_sequence SET last_version = last_version + 1 WHERE id = 1"
        " RETURNING last_version");
    if (!bump.step()) {
      throw Error(Error::Kind::Corrupt, "the roster version sequence has no row",
                  std::string(bump.sql()));
    }
    next = bump.column_int64(0);
  }
  db_.prepare(
         "INSERT INTO roster_versions (domain, username, version) VALUES (?1, ?2, ?3)"
         " ON CONFLICT (domain, username) DO UPDATE SET version = excluded.version")
      .bind_text(1, domain)
      .bind_text(2, user)
      .bind_int64(3, next)
      .run();
  return static_cast<std::uint64_t>(next);
}

Roster SqliteRosterStore::roster(std::string_view domain, std::string_view user) {
  // One read transaction: the version and the items are one snapshot, even while another
  // connection writes.
  Transaction tx(db_, Transaction::Mode::Read);
  Roster result;
  result.version = version(domain, user);
  Statement select = db_.prepare(
      "SELECT i.jid, i.name, i.subscription, i.ask, i.approved, g.group_name"
      " FROM roster_items AS i LEFT JOIN roster_groups AS g"
      " ON g.domain = i.domain AND g.username = i.username AND g.jid = i.jid"
      " WHERE i.domain = ?1 AND i.username = ?2"
      " ORDER BY i.jid, g.group_name");
  select.bind_text(1, domain).bind_text(2, user);
  result.items = read_items(select);
  tx.commit();
  return result;
}

std::optional<RosterItem> SqliteRosterStore::item(std::string_view domain, std::string_view user,
                                                  std::string_view jid) {
  Statement select = db_.prepare(
      "SELECT i.jid, i.name, i.subscription, i.ask, i.approved, g.group_name"
      " FROM roster_items AS i LEFT JOIN roster_groups AS g"
      " ON g.domain = i.domain AND g.username = i.username AND g.jid = i.jid"
      " WHERE i.domain = ?1 AND i.username = ?2 AND i.jid = ?3"
      " ORDER BY g.group_name");
  select.bind_text(1, domain).bind_text(2, user).bind_text(3, jid);
  std::vector<RosterItem> items = read_items(select);
  if (items.empty()) return std::nullopt;
  return std::move(items.front());
}

std::uint64_t SqliteRosterStore::put(std::string_view domain, std::string_view user,
                                     const RosterItem& item) {
  Transaction tx(db_);
  db_.prepare(
         "INSERT INTO roster_items"
         " (domain, username, jid, name, subscription, ask, approved)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
         " ON CONFLICT (domain, username, jid) DO UPDATE SET"
         " name = excluded.name, subscription = excluded.subscription, ask = excluded.ask,"
         " approved = excluded.approved")
      .bind_text(1, domain)
      .bind_text(2, user)
      .bind_text(3, item.jid)
      .bind_text(4, item.name)
      .bind_text(5, to_string(item.subscription))
      .bind_int64(6, item.ask ? 1 : 0)
      .bind_int64(7, item.approved ? 1 : 0)
      .run();
  db_.prepare("DELETE FROM roster_groups WHERE domain = ?1 AND username = ?2 AND jid = ?3")
      .bind_text(1, domain)
      .bind_text(2, user)
      .bind_text(3, item.jid)
      .run();
  for (const std::string& group : item.groups) {
    // DO NOTHING: a group named twice is kept once.
    db_.prepare(
           "INSERT INTO roster_groups (domain, username, jid, group_name)"
           " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")
        .bind_text(1, domain)
        .bind_text(2, user)
        .bind_text(3, item.jid)
        .bind_text(4, group)
        .run();
  }
  const std::uint64_t version = bump_version(domain, user);
  tx.commit();
  return version;
}

std::optional<std::uint64_t> SqliteRosterStore::remove(std::string_view domain,
                                                       std::string_view user,
                                                       std::string_view jid) {
  Transaction tx(db_);
  // The item's groups go by ON DELETE CASCADE; changes() counts only the item.
  const std::int64_t removed =
      db_.prepare("DELETE FROM roster_items WHERE domain = ?1 AND username = ?2 AND jid = ?3")
          .bind_text(1, domain)
          .bind_text(2, user)
          .bind_text(3, jid)
          .run();
  if (removed == 0) return std::nullopt;  // tx rolls back (nothing to undo)
  const std::uint64_t version = bump_version(domain, user);
  tx.commit();
  return version;
}

std::size_t SqliteRosterStore::count(std::string_view domain, std::string_view user) {
  Statement select =
      db_.prepare("SELECT count(*) FROM roster_items WHERE domain = ?1 AND username = ?2");
  select.bind_text(1, domain).bind_text(2, user);
  select.step();
  return static_cast<std::size_t>(select.column_int64(0));
}

void SqliteRosterStore::add_pending_in(std::string_view domain, std::string_view user,
                                       std::string_view jid, std::string_view stanza) {
  // Delete and insert rather than update in place: the replacement takes a new arrival number,
  // which puts it last.
  Transaction tx(db_);
  remove_pending_in(domain, user, jid);
  db_.prepare(
         "INSERT INTO roster_pending_in (domain, username, jid, stanza) VALUES (?1, ?2, ?3, ?4)")
      .bind_text(1, domain)
      .bind_text(2, user)
      .bind_text(3, jid)
      .bind_text(4, stanza)
      .run();
  tx.commit();
}

bool SqliteRosterStore::remove_pending_in(std::string_view domain, std::string_view user,
                                          std::string_view jid) {
  return db_.prepare(
                "DELETE FROM roster_pending_in WHERE domain = ?1 AND username = ?2 AND jid = ?3")
             .bind_text(1, domain)
             .bind_text(2, user)
             .bind_text(3, jid)
             .run() != 0;
}

bool SqliteRosterStore::has_pending_in(std::string_view domain, std::string_view user,
                                       std::string_view jid) {
  Statement select = db_.prepare(
      "SELECT 1 FROM roster_pending_in WHERE domain = ?1 AND username = ?2 AND jid = ?3");
  select.bind_text(1, domain).bind_text(2, user).bind_text(3, jid);
  return select.step();
}

std::vector<PendingRequest> SqliteRosterStore::pending_in(std::string_view domain,
                                                          std::string_view user) {
  Statement select = db_.prepare(
      "SELECT jid, stanza FROM roster_pending_in WHERE domain = ?1 AND username = ?2"
      " ORDER BY arrival");
  select.bind_text(1, domain).bind_text(2, user);
  std::vector<PendingRequest> result;
  while (select.step()) {
    result.push_back(PendingRequest{.jid = select.column_text(0), .stanza = select.column_text(1)});
  }
  return result;
}

std::vector<std::string> SqliteRosterStore::users_with_pending_in(std::string_view domain) {
  // The UNIQUE (domain, username, jid) index answers this without reading a row.
  Statement select = db_.prepare(
      "SELECT DISTINCT username FROM roster_pending_in WHERE domain = ?1 ORDER BY username");
  select.bind_text(1, domain);
  return select.first_column_texts();
}

}  // namespace parley::storage
