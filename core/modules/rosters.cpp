#include "core/modules/rosters.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <functional>

#include "core/c2s_session.hpp"
#include "core/config.hpp"
#include "core/modules/roster_xml.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "storage/worker.hpp"
#include "xml/namespaces.hpp"

namespace parley::core::modules {

namespace asio = boost::asio;
using storage::RosterItem;
using storage::Subscription;

namespace {

std::vector<std::string> merged(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

struct TransitionResult {
  SubscriptionOutcome outcome;
  std::optional<RosterItem> item;  // the stored item after the change, when there is one
  std::uint64_t version = 0;       // the new roster version when the item was written
};

}  // namespace

asio::awaitable<std::shared_ptr<storage::Roster>> Rosters::stored(const Jid& user) {
  const std::string key(user.bare_view());
  if (auto it = cache_.find(key); it != cache_.end()) co_return it->second;
  auto job = [domain = std::string(user.domain()),
              local = std::string(user.local())](storage::Stores& s) {
    return std::make_shared<storage::Roster>(s.rosters.roster(domain, local));
  };
  auto roster = co_await run_storage(*host_.state().storage, std::move(job));
  // Another coroutine may have loaded it meanwhile: the first one stays (it may have changed).
  if (auto it = cache_.find(key); it != cache_.end()) co_return it->second;
  if (host_.state().sessions.has_sessions(user)) cache_.emplace(key, roster);
  co_return roster;
}

std::map<std::string, std::vector<std::string>> Rosters::shared_contacts(
    std::string_view user) const {
  std::map<std::string, std::vector<std::string>> out;
  auto groups = member_of_.find(user);
  if (groups == member_of_.end()) return out;
  for (const auto& group : groups->second) {
    for (const auto& member : shared_.at(group)) {
      if (member != user) out[member].push_back(group);
    }
  }
  return out;
}

bool Rosters::is_shared(const Jid& user, const Jid& contact) const {
  return shared_contacts(user.bare_view()).contains(std::string(contact.bare_view()));
}

std::string Rosters::version_of(const storage::Roster& stored, std::string_view user) const {
  std::string version = std::to_string(stored.version);
  const auto shared = shared_contacts(user);
  if (!shared.empty()) {
    // The shared items are part of what the client caches: their hash goes into the version.
    std::size_t h = 0;
    for (const auto& [jid, groups] : shared) {
      h = h * 1000003u ^ std::hash<std::string>{}(jid);
      for (const auto& g : groups) h = h * 1000003u ^ std::hash<std::string>{}(g);
    }
    version += "-" + std::to_string(h % 1000000007u);
  }
  return version;
}

RosterItem Rosters::effective(std::optional<RosterItem> stored,
                              const std::vector<std::string>* shared_groups,
                              std::string_view jid) const {
  if (shared_groups == nullptr) return std::move(*stored);
  RosterItem item = stored ? std::move(*stored) : RosterItem{};
  item.jid = jid;
  item.subscription = Subscription::Both;  // shared groups: mutual, without asking
  item.ask = false;
  item.groups = merged(std::move(item.groups), *shared_groups);
  return item;
}

asio::awaitable<Rosters::View> Rosters::view(const Jid& user) {
  auto roster = co_await stored(user);
  const auto shared = shared_contacts(user.bare_view());
  View view;
  view.version = version_of(*roster, user.bare_view());
  for (const auto& item : roster->items) {
    auto it = shared.find(item.jid);
    view.items.push_back(effective(item, it == shared.end() ? nullptr : &it->second, item.jid));
  }
  for (const auto& [jid, groups] : shared) {
    const bool stored_too = std::any_of(roster->items.begin(), roster->items.end(),
                                        [&](const RosterItem& i) { return i.jid == jid; });
    if (!stored_too) view.items.push_back(effective(std::nullopt, &groups, jid));
  }
  std::sort(view.items.begin(), view.items.end(),
            [](const RosterItem& a, const RosterItem& b) { return a.jid < b.jid; });
  co_return view;
}

asio::awaitable<std::optional<RosterItem>> Rosters::item(const Jid& user, const Jid& contact) {
  auto roster = co_await stored(user);
  const std::string jid(contact.bare_view());
  std::optional<RosterItem> found;
  for (const auto& i : roster->items) {
    if (i.jid == jid) found = i;
  }
  const auto shared = shared_contacts(user.bare_view());
  auto it = shared.find(jid);
  if (it == shared.end()) co_return found;
  co_return effective(std::move(found), &it->second, jid);
}

asio::awaitable<std::vector<Jid>> Rosters::subscribers(const Jid& user) {
  const View v = co_await view(user);
  std::vector<Jid> out;
  for (const auto& i : v.items) {
    if (i.subscription == Subscription::From || i.subscription == Subscription::Both) {
      if (auto jid = Jid::parse(i.jid)) out.push_back(std::move(*jid));
    }
  }
  co_return out;
}

asio::awaitable<std::vector<Jid>> Rosters::subscriptions(const Jid& user) {
  const View v = co_await view(user);
  std::vector<Jid> out;
  for (const auto& i : v.items) {
    if (i.subscription == Subscription::To || i.subscription == Subscription::Both) {
      if (auto jid = Jid::parse(i.jid)) out.push_back(std::move(*jid));
    }
  }
  co_return out;
}

void Rosters::cache_put(const Jid& user, std::uint64_t version, const RosterItem* item,
                        std::string_view removed_jid) {
  auto it = cache_.find(std::string(user.bare_view()));
  if (it == cache_.end()) return;
  // Copy on write: a coroutine may hold the old snapshot across a suspension.
  auto next = std::make_shared<storage::Roster>(*it->second);
  const std::string_view jid = item ? std::string_view(item->jid) : removed_jid;
  auto pos = std::find_if(next->items.begin(), next->items.end(),
                          [&](const RosterItem& i) { return i.jid == jid; });
  if (item == nullptr) {
    if (pos != next->items.end()) next->items.erase(pos);
  } else if (pos != next->items.end()) {
    *pos = *item;
  } else {
    next->items.insert(std::lower_bound(next->items.begin(), next->items.end(), *item,
                                        [](const RosterItem& a, const RosterItem& b) {
                                          return a.jid < b.jid;
                                        }),
                       *item);
  }
  next->version = std::max(next->version, version);
  it->second = std::move(next);
}

asio::awaitable<std::optional<Rosters::Failure>> Rosters::set(const Jid& user, RosterItem wanted) {
  const unsigned max_items = host_.state().config->limits.max_roster_items;
  struct Result {
    bool full = false;
    RosterItem item;
    std::uint64_t version = 0;
  };
  auto job = [domain = std::string(user.domain()), local = std::string(user.local()),
              item = std::move(wanted), max_items](storage::Stores& s) {
    Result r;
    auto existing = s.rosters.item(domain, local, item.jid);
    if (!existing && s.rosters.count(domain, local) >= max_items) {
      r.full = true;
      return r;
    }
    // §2.3.2, §2.4: the client sets name and groups; the subscription state stays the server's.
    r.item = existing ? *existing : RosterItem{};
    r.item.jid = item.jid;
    r.item.name = item.name;
    r.item.groups = item.groups;
    r.version = s.rosters.put(domain, local, r.item);
    return r;
  };
  Result r = co_await run_storage(*host_.state().storage, std::move(job));
  if (r.full) {
    co_return Failure{StanzaError::NotAllowed,
                      "the roster is full (" + std::to_string(max_items) + " items)"};
  }
  cache_put(user, r.version, &r.item, {});
  auto contact = Jid::parse(r.item.jid);
  auto shown = co_await item(user, *contact);
  auto roster = co_await stored(user);
  push(user, shown ? *shown : r.item, false, version_of(*roster, user.bare_view()));
  co_return std::nullopt;
}

asio::awaitable<std::optional<SubscriptionState>> Rosters::remove(const Jid& user,
                                                                 const Jid& contact) {
  struct Result {
    bool found = false;
    SubscriptionState state;
    std::uint64_t version = 0;
  };
  auto job = [domain = std::string(user.domain()), local = std::string(user.local()),
              jid = std::string(contact.bare_view())](storage::Stores& s) {
    Result r;
    auto existing = s.rosters.item(domain, local, jid);
    if (!existing) return r;
    r.found = true;
    r.state.subscription = existing->subscription;
    r.state.pending_out = existing->ask;
    r.state.approved = existing->approved;
    r.state.pending_in = s.rosters.remove_pending_in(domain, local, jid);
    r.version = s.rosters.remove(domain, local, jid).value_or(0);
    return r;
  };
  Result r = co_await run_storage(*host_.state().storage, std::move(job));
  if (!r.found) co_return std::nullopt;
  const std::string jid(contact.bare_view());
  cache_put(user, r.version, nullptr, jid);
  auto roster = co_await stored(user);
  RosterItem removed;
  removed.jid = jid;
  push(user, removed, true, version_of(*roster, user.bare_view()));
  co_return r.state;
}

asio::awaitable<SubscriptionOutcome> Rosters::transition(
    const Jid& user, const Jid& contact, SubscriptionStanza stanza, bool outbound,
    std::string request, std::function<void(const SubscriptionOutcome&)> before_push) {
  // An inbound stanza may leave a request pending: marked before the job (AccountMarks).
  if (!outbound) pending_marks_.mark(user.local());
  auto job = [domain = std::string(user.domain()), local = std::string(user.local()),
              jid = std::string(contact.bare_view()), stanza, outbound,
              request = std::move(request)](storage::Stores& s) {
    TransitionResult r;
    auto existing = s.rosters.item(domain, local, jid);
    SubscriptionState state;
    if (existing) {
      state.subscription = existing->subscription;
      state.pending_out = existing->ask;
      state.approved = existing->approved;
    }
    state.pending_in = s.rosters.has_pending_in(domain, local, jid);
    r.outcome = outbound ? core::outbound(state, stanza) : core::inbound(state, stanza);
    r.item = existing;
    if (!r.outcome.changed) return r;
    const SubscriptionState& next = r.outcome.state;
    if (next.pending_in != state.pending_in) {
      if (next.pending_in) {
        s.rosters.add_pending_in(domain, local, jid, request);
      } else {
        s.rosters.remove_pending_in(domain, local, jid);
      }
    }
    const bool item_changes = next.subscription != state.subscription ||
                              next.pending_out != state.pending_out ||
                              next.approved != state.approved;
    if (item_changes && (existing || r.outcome.roster_push || requires_roster_item(next))) {
      RosterItem item = existing ? *existing : RosterItem{};
      item.jid = jid;
      item.subscription = next.subscription;
      item.ask = next.pending_out;
      item.approved = next.approved;
      r.version = s.rosters.put(domain, local, item);
      r.item = std::move(item);
    }
    return r;
  };
  TransitionResult r = co_await run_storage(*host_.state().storage, std::move(job));
  if (before_push) before_push(r.outcome);
  if (r.version != 0 && r.item) {
    cache_put(user, r.version, &*r.item, {});
    if (r.outcome.roster_push) {
      auto shown = co_await item(user, contact);
      auto roster = co_await stored(user);
      push(user, shown ? *shown : *r.item, false, version_of(*roster, user.bare_view()));
    }
  }
  co_return r.outcome;
}

asio::awaitable<std::vector<storage::PendingRequest>> Rosters::pending(const Jid& user) {
  const bool marked =
      co_await pending_marks_.marked(*host_.state().storage, std::string(user.local()));
  if (!marked) co_return std::vector<storage::PendingRequest>{};
  auto job = [domain = std::string(user.domain()),
              local = std::string(user.local())](storage::Stores& s) {
    return s.rosters.pending_in(domain, local);
  };
  co_return co_await run_storage(*host_.state().storage, std::move(job));
}

void Rosters::push(const Jid& user, const RosterItem& item, bool removed,
                   const std::string& ver) {
  for (const auto& session : host_.state().sessions.sessions_of(user.bare())) {
    if (!session->presence().interested || !session->jid()) continue;
    xml::Document iq = xml::Document::create("iq", xml::ns::kClient);
    iq.root().set_attr("type", "set");
    iq.root().set_attr("id", "push-" + std::to_string(++push_ids_));
    xml::Element query = iq.root().append_child("query", kRosterNs);
    query.set_attr("ver", ver);
    append_roster_item(query, item, removed);
    session->deliver(Stanza::make(std::move(iq), user.bare(), *session->jid()));
  }
}

void Rosters::session_closed(const Jid& full) {
  // Later, not now: the other Closed handlers' work (the unavailable broadcast to the contacts)
  // starts at once and reads the roster, which would otherwise be read from storage again. By
  // then the session has left the registry.
  asio::post(host_.state().executor, [this, user = full.bare()] {
    if (!host_.state().sessions.has_sessions(user)) {
      cache_.erase(std::string(user.bare_view()));
    }
  });
}

std::vector<Rosters::SharedChange> Rosters::set_shared_groups(
    std::map<std::string, std::set<std::string>> groups) {
  // Everyone in an old or a new group may see a change.
  std::set<std::string> affected;
  for (const auto& [name, members] : shared_) affected.insert(members.begin(), members.end());
  for (const auto& [name, members] : groups) affected.insert(members.begin(), members.end());
  std::map<std::string, std::map<std::string, std::vector<std::string>>> before;
  for (const auto& user : affected) before[user] = shared_contacts(user);

  shared_ = std::move(groups);
  member_of_.clear();
  for (const auto& [name, members] : shared_) {
    for (const auto& m : members) member_of_[m].insert(name);
  }

  std::vector<SharedChange> changes;
  for (const auto& user_text : affected) {
    auto user = Jid::parse(user_text);
    if (!user || !host_.state().sessions.has_sessions(*user)) continue;
    const auto after = shared_contacts(user_text);
    const auto& old = before[user_text];
    if (after == old) continue;
    SharedChange change{*user, {}, {}};
    // Items are pushed from the cache (every online account has its roster cached once its
    // client asked for it; without the cache there is nobody interested to push to).
    auto cached = cache_.find(user_text);
    const storage::Roster empty;
    const storage::Roster& roster = cached == cache_.end() ? empty : *cached->second;
    const std::string ver = version_of(roster, user_text);
    auto stored_item = [&](const std::string& jid) -> std::optional<RosterItem> {
      for (const auto& i : roster.items) {
        if (i.jid == jid) return i;
      }
      return std::nullopt;
    };
    for (const auto& [jid, groups_now] : after) {
      auto was = old.find(jid);
      if (was != old.end() && was->second == groups_now) continue;
      push(*user, effective(stored_item(jid), &groups_now, jid), false, ver);
      if (was == old.end()) {
        if (auto j = Jid::parse(jid)) change.added.push_back(*j);
      }
    }
    for (const auto& [jid, groups_then] : old) {
      if (after.contains(jid)) continue;
      if (auto kept = stored_item(jid)) {
        push(*user, *kept, false, ver);
      } else {
        RosterItem gone;
        gone.jid = jid;
        push(*user, gone, true, ver);
      }
      if (auto j = Jid::parse(jid)) change.removed.push_back(*j);
    }
    changes.push_back(std::move(change));
  }
  return changes;
}

}  // namespace parley::core::modules
