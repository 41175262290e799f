// The rosters of one host (RFC 6121 §2) as the roster, presence and shared-groups modules see
// them: the stored items plus the items shared roster groups add, cached for accounts that have
// a session, with the subscription state transitions of Appendix A applied atomically on the
// storage thread and roster pushes to interested resources.
//
// Thread-safety: none; the server's io thread (storage work goes through storage_bridge).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/host.hpp"
#include "core/modules/account_marks.hpp"
#include "core/subscription.hpp"
#include "storage/roster_store.hpp"

namespace parley::core::modules {

class Rosters {
 public:
  explicit Rosters(Host& host) : host_(host) {}

  // What a user sees: a version string and the items, sorted by jid.
  struct View {
    std::string version;
    std::vector<storage::RosterItem> items;
  };
  boost::asio::awaitable<View> view(const Jid& user);
  // The effective item for `contact` (shared groups included), nullopt when not in the roster.
  boost::asio::awaitable<std::optional<storage::RosterItem>> item(const Jid& user,
                                                                  const Jid& contact);
  // Contacts whose subscription to the user's presence is 'from' or 'both' (they get the user's
  // presence broadcasts), and those the user is subscribed to ('to' or 'both': they get probes).
  boost::asio::awaitable<std::vector<Jid>> subscribers(const Jid& user);
  boost::asio::awaitable<std::vector<Jid>> subscriptions(const Jid& user);

  // Roster set (§2.3, §2.4): adds or updates the item, keeping its subscription state. nullopt
  // on success, else the error to return.
  struct Failure {
    StanzaError condition;
    std::string text;
  };
  boost::asio::awaitable<std::optional<Failure>> set(const Jid& user, storage::RosterItem item);
  // Roster remove (§2.5): removes the item; the caller sends the unsubscribe/unsubscribed the RFC
  // asks for, with the state returned (nullopt: there was no such item).
  boost::asio::awaitable<std::optional<SubscriptionState>> remove(const Jid& user,
                                                                  const Jid& contact);

  // A subscription stanza between user and contact (outbound: the user sent it; inbound: the
  // contact did), applied to the stored state in one storage job; pushes the item when the
  // outcome says so. `request` is the inbound subscribe's XML, kept while pending (§3.1.3).
  // `before_push` runs once the state is stored and before the roster push: an inbound stanza is
  // delivered to the user before the push (§3.1.6, §3.2.3, §3.3.3).
  boost::asio::awaitable<SubscriptionOutcome> transition(
      const Jid& user, const Jid& contact, SubscriptionStanza stanza, bool outbound,
      std::string request = {},
      std::function<void(const SubscriptionOutcome&)> before_push = {});
  // Inbound subscription requests not yet answered (§3.1.3), as the stored stanzas' XML.
  boost::asio::awaitable<std::vector<storage::PendingRequest>> pending(const Jid& user);

  // Shared roster groups: name → members (bare JIDs). Replacing them pushes the items that
  // changed to every online member's interested resources; returns, per online user, the
  // contacts that appeared (subscription both) and disappeared, for presence to follow.
  struct SharedChange {
    Jid user;
    std::vector<Jid> added;
    std::vector<Jid> removed;
  };
  std::vector<SharedChange> set_shared_groups(std::map<std::string, std::set<std::string>> groups);
  bool has_shared_groups() const { return !shared_.empty(); }
  // Whether `contact` is in the user's roster through a shared group.
  bool is_shared(const Jid& user, const Jid& contact) const;

  // Sends a roster push (§2.1.6) of `item` (removed: subscription='remove') to the user's
  // interested resources.
  void push(const Jid& user, const storage::RosterItem& item, bool removed, const std::string& ver);
  // The cache of `user` is dropped once no session of the account is left.
  void session_closed(const Jid& full);

 private:
  boost::asio::awaitable<std::shared_ptr<storage::Roster>> stored(const Jid& user);
  // Shared-group contacts of `user`: contact → group names.
  std::map<std::string, std::vector<std::string>> shared_contacts(std::string_view user) const;
  std::string version_of(const storage::Roster& stored, std::string_view user) const;
  storage::RosterItem effective(std::optional<storage::RosterItem> stored,
                                const std::vector<std::string>* shared_groups,
                                std::string_view jid) const;
  void cache_put(const Jid& user, std::uint64_t version, const storage::RosterItem* item,
                 std::string_view removed_jid);

  Host& host_;
  // The accounts that may have inbound requests pending (by local part).
  AccountMarks pending_marks_{
      [this](storage::Stores& s) { return s.rosters.users_with_pending_in(host_.domain()); }};
  // Rosters of accounts with at least one session, by bare JID.
  std::unordered_map<std::string, std::shared_ptr<storage::Roster>> cache_;
  // Shared groups: name → members, and member → the groups it is in.
  std::map<std::string, std::set<std::string>> shared_;
  std::map<std::string, std::set<std::string>, std::less<>> member_of_;
  std::uint64_t push_ids_ = 0;
};

}  // namespace parley::core::modules
