// XEP-0191 Blocking Command (version 1.3): the blocklist IQs (§3.2 get, §3.3 block, §3.4 unblock,
// §3.5 unblock all) with pushes to the resources that asked for the list, and the block itself:
// stanzas from a blocked JID never reach the user (§3.3), stanzas from the user never reach a
// blocked JID (§3.3: messages and IQs get <not-acceptable/><blocked/>), with the presence the XEP
// asks for when a JID is blocked or unblocked. JIDs match as §6 "JID Matching" says.
//
// Each online account's blocklist is cached here (loaded on first need, dropped with the
// account's last session); an offline account's list is read from storage when a stanza needs it.
#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/c2s_session.hpp"
#include "core/modules/account_marks.hpp"
#include "core/modules/modules.hpp"
#include "core/modules/rosters.hpp"
#include "core/router.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "storage/worker.hpp"
#include "xml/namespaces.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kBlocking = "urn:xmpp:blocking";
constexpr std::string_view kBlockingErrors = "urn:xmpp:blocking:errors";

// Blocked JIDs as prepared strings (Jid::full()), as BlockStore keeps them.
using Blocklist = std::set<std::string, std::less<>>;

// §6: an item user@domain/resource matches only that resource, user@domain any resource of it,
// domain/resource only that JID, and domain the domain itself and every JID at it. So a JID is
// blocked when its full form, its bare form or its domain is on the list.
bool matches(const Blocklist& list, const Jid& jid) {
  return list.contains(jid.full()) || list.contains(jid.bare_view()) || list.contains(jid.domain());
}

enum class Command : std::uint8_t { Block, Unblock };

class Blocking final : public Module {
 public:
  void attach(Host& host) override {
    host_ = &host;
    // §3.1: the server advertises the feature (disco#info to the domain); like Prosody and
    // ejabberd, the account's bare JID does too.
    host.add_feature(IqTarget::Host, kBlocking);
    host.add_feature(IqTarget::Account, kBlocking);
    host.handle_iq(IqTarget::Account, kBlocking, "blocklist",
                   [this](IqRequest& request) { return get(request); });
    host.handle_iq(IqTarget::Account, kBlocking, "block",
                   [this](IqRequest& request) { return change(request, Command::Block); });
    host.handle_iq(IqTarget::Account, kBlocking, "unblock",
                   [this](IqRequest& request) { return change(request, Command::Unblock); });
    // Before the presence module (100) and anything else that acts on a stanza: a blocked
    // stanza is neither processed nor routed.
    host.hook(Hook::Outbound, kPriority, [this](StanzaEvent& e) { return outbound(e); });
    host.hook(Hook::Inbound, kPriority, [this](StanzaEvent& e) { return inbound(e); });
    host.on_session(SessionEvent::Closed, [this](const std::shared_ptr<C2sSession>& session) {
      requested_.erase(session->number());
      if (!session->jid()) return;
      // Later, not now: the unavailable broadcast that starts at once passes the Outbound hook,
      // which reads the list. By then the session has left the registry.
      asio::post(host_->state().executor, [this, user = session->jid()->bare()] {
        if (!host_->state().sessions.has_sessions(user)) {
          cache_.erase(std::string(user.bare_view()));
        }
      });
    });
  }

 private:
  static constexpr int kPriority = 10;

  Router& router() { return host_->router(); }

  // The blocklist of `user` (a bare JID): from the cache, or read from storage (and cached while
  // the account has a session); for an account never marked as having one, the empty list,
  // neither read nor cached (most online accounts cost no cache entry).
  asio::awaitable<std::shared_ptr<const Blocklist>> blocklist(const Jid& user) {
    static const auto kNone = std::make_shared<const Blocklist>();
    const std::string key(user.bare_view());
    if (auto it = cache_.find(key); it != cache_.end()) co_return it->second;
    const bool marked = co_await marks_.marked(*host_->state().storage, std::string(user.local()));
    if (!marked) co_return kNone;
    auto job = [domain = std::string(user.domain()), local = std::string(user.local())](
                   storage::Stores& s) { return s.blocks.blocked(domain, local); };
    std::vector<std::string> jids = co_await run_storage(*host_->state().storage, std::move(job));
    // Loaded meanwhile by another coroutine, perhaps changed since: that one stays.
    if (auto it = cache_.find(key); it != cache_.end()) co_return it->second;
    auto list = std::make_shared<const Blocklist>(jids.begin(), jids.end());
    if (host_->state().sessions.has_sessions(user)) cache_.emplace(key, list);
    co_return list;
  }

  // --- Enforcement (§3.3) ---

  // A stanza from the user. Messages and IQs the user's client sends to a blocked JID get
  // <not-acceptable/> with <blocked/>; presence to a blocked JID (the client's, and the
  // broadcasts and probes the presence module routes on the user's behalf) is dropped, so that a
  // blocked contact sees the user offline; errors and IQ results are dropped too (RFC 6120
  // §8.3.1, §8.2.3: never answered with an error).
  asio::awaitable<bool> outbound(StanzaEvent& event) {
    const Stanza& stanza = *event.stanza;
    if (!stanza.to()) co_return false;  // a broadcast: the presence module routes the copies
    // Server-generated messages and IQs (error replies to a blocked JID's stanzas, above all)
    // are the server's answers, not the user's communication.
    if (!event.origin && stanza.kind() != StanzaKind::Presence) co_return false;
    const Jid& to = *stanza.to();
    // §5 (note): never between the user's own resources, whatever the list says.
    if (to.same_bare(stanza.from())) co_return false;
    const Jid user = stanza.from().bare();
    const auto list = co_await blocklist(user);
    if (!matches(*list, to)) co_return false;
    const std::string_view type = stanza.type();
    if (stanza.kind() == StanzaKind::Presence || type == "error" || type == "result") {
      co_return true;
    }
    // The error goes straight to the sending session: routed, it would come from the blocked
    // JID and be dropped by the Inbound hook below.
    xml::Document reply = make_error(stanza.root(), StanzaError::NotAcceptable, to.full(),
                                     "you have blocked this address");
    // The XEP's example error is of type 'cancel' (RFC 6120 §8.3.3.9 would say 'modify': the
    // sender cannot fix this by changing the stanza).
    xml::Element error = reply.root().child("error");
    error.set_attr("type", "cancel");
    error.append_child("blocked", kBlockingErrors);
    event.origin->deliver(Stanza::make(std::move(reply), to, stanza.from()));
    co_return true;
  }

  // A stanza to the user from a blocked JID is never delivered (§3.3): presence (subscriptions
  // and probes included) without a word, messages and IQ requests with service-unavailable, as if
  // the user were offline; IQ results and errors (and message errors) silently.
  asio::awaitable<bool> inbound(StanzaEvent& event) {
    const Stanza& stanza = *event.stanza;
    const Jid user = stanza.to()->bare();
    if (stanza.from().same_bare(user)) co_return false;  // §5 (note)
    const auto list = co_await blocklist(user);
    if (!matches(*list, stanza.from())) co_return false;
    const std::string_view type = stanza.type();
    const bool answered = (stanza.kind() == StanzaKind::Message && type != "error") ||
                          (stanza.kind() == StanzaKind::Iq && (type == "get" || type == "set"));
    if (answered) co_await router().bounce(stanza, StanzaError::ServiceUnavailable);
    co_return true;
  }

  // --- The blocklist IQs ---

  // The list belongs to its user: only the user's own client reads or changes it.
  asio::awaitable<bool> refuse_others(IqRequest& request) {
    if (request.origin && request.from().same_bare(request.to())) co_return false;
    co_await host_->reply_error(request, StanzaError::Forbidden);
    co_return true;
  }

  // §3.2.
  asio::awaitable<void> get(IqRequest& request) {
    if (co_await refuse_others(request)) co_return;
    if (!request.is_get()) {
      co_await host_->reply_error(request, StanzaError::BadRequest,
                                  "the blocklist is retrieved with an IQ get");
      co_return;
    }
    // §3.3, §3.4: this resource gets the pushes from now on.
    requested_.insert(request.origin->number());
    const Jid user = request.from().bare();
    const auto list = co_await blocklist(user);
    xml::Document result = xml::Document::create("blocklist", kBlocking);
    for (const auto& jid : *list) result.root().append_child("item").set_attr("jid", jid);
    co_await host_->reply(request, std::move(result));
  }

  // §3.3 (block), §3.4 (unblock) and §3.5 (unblock without items: all).
  asio::awaitable<void> change(IqRequest& request, Command command) {
    if (co_await refuse_others(request)) co_return;
    if (request.is_get()) {
      co_await host_->reply_error(request, StanzaError::BadRequest,
                                  "blocking and unblocking are IQ sets");
      co_return;
    }
    Blocklist items;
    for (const xml::Element item : request.payload.children()) {
      if (!item.is("item", kBlocking)) continue;
      const auto text = item.find_attr("jid");
      auto jid = text ? Jid::parse(*text) : std::nullopt;
      if (!jid) {
        // §3.3: "Other standard XMPP stanza errors also apply" (RFC 6120 §8.3.3.8).
        co_await host_->reply_error(request, StanzaError::JidMalformed,
                                    "an item's jid is not a valid JID");
        co_return;
      }
      items.insert(jid->full());
    }
    if (command == Command::Block && items.empty()) {
      co_await host_->reply_error(request, StanzaError::BadRequest,
                                  "a block carries at least one <item/>");  // §3.3
      co_return;
    }
    const Jid user = request.from().bare();
    // Cached from here on, the empty list of an account without one too: the change below
    // applies to the cache, and a question asked while the write runs must get the list as it
    // was, not read the changed one from storage.
    auto list = co_await blocklist(user);
    if (host_->state().sessions.has_sessions(user)) {
      cache_.try_emplace(std::string(user.bare_view()), std::move(list));
    }
    const std::vector<std::string> jids(items.begin(), items.end());
    if (command == Command::Block) marks_.mark(user.local());  // before the write: AccountMarks
    auto job = [domain = std::string(user.domain()), local = std::string(user.local()), jids,
                command](storage::Stores& s) {
      if (command == Command::Block) {
        s.blocks.add(domain, local, jids);
      } else if (jids.empty()) {
        s.blocks.clear(domain, local);
      } else {
        s.blocks.remove(domain, local, jids);
      }
      return true;
    };
    bool stored = false;
    try {
      stored = co_await run_storage(*host_->state().storage, std::move(job));
    } catch (const std::exception& e) {
      host_->log().error("blocking: {} of {}: {}", command == Command::Block ? "block" : "unblock",
                         user.full(), e.what());
    }
    if (!stored) {
      co_await host_->reply_error(request, StanzaError::InternalServerError);
      co_return;
    }
    const auto before = current(user);
    if (command == Command::Block) {
      // §3.3: unavailable presence first, while the block does not yet stop it.
      co_await send_unavailable(user, *before, items);
    }
    // Applied to the list as it is now, not as it was read: another change may have landed
    // while the storage job ran.
    auto after = std::make_shared<Blocklist>(*before);
    if (command == Command::Block) {
      after->insert(items.begin(), items.end());
    } else if (items.empty()) {
      after->clear();
    } else {
      for (const auto& jid : items) after->erase(jid);
    }
    if (auto it = cache_.find(std::string(user.bare_view())); it != cache_.end()) {
      it->second = after;
    }
    if (command == Command::Unblock) co_await send_current(user, *before, *after);
    co_await host_->reply(request);
    push(user, command, items);
  }

  // The cached list of an online user (loaded by the caller), or an empty one when the account's
  // last session ended meanwhile.
  std::shared_ptr<const Blocklist> current(const Jid& user) const {
    auto it = cache_.find(std::string(user.bare_view()));
    return it != cache_.end() ? it->second : std::make_shared<const Blocklist>();
  }

  // §3.3, §3.4: an IQ set to every resource of the user that asked for the blocklist, with the
  // items of the change (none for "unblock all").
  void push(const Jid& user, Command command, const Blocklist& items) {
    for (const auto& session : host_->state().sessions.sessions_of(user)) {
      if (!session->jid() || !requested_.contains(session->number())) continue;
      xml::Document iq = xml::Document::create("iq", xml::ns::kClient);
      iq.root().set_attr("type", "set");
      iq.root().set_attr("id", "block-push-" + std::to_string(++push_ids_));
      xml::Element payload =
          iq.root().append_child(command == Command::Block ? "block" : "unblock", kBlocking);
      for (const auto& jid : items) payload.append_child("item").set_attr("jid", jid);
      session->deliver(Stanza::make(std::move(iq), user, *session->jid()));
    }
  }

  // §3.3: "the user's server MUST send unavailable presence information to the JID (but only if
  // the JID is allowed to receive presence notifications from the user)": the contacts subscribed
  // to the user's presence (RFC 6121 §4.4.2) and those that got directed presence from one of
  // the user's resources (§4.6), each from every available resource that they heard from.
  asio::awaitable<void> send_unavailable(const Jid& user, const Blocklist& before,
                                         const Blocklist& added) {
    auto newly_blocked = [&](const Jid& jid) {
      return matches(added, jid) && !matches(before, jid);
    };
    std::vector<Jid> subscribers;
    for (const Jid& contact : co_await host_->service<Rosters>().subscribers(user)) {
      if (newly_blocked(contact)) subscribers.push_back(contact);
    }
    for (const auto& session : router().available_sessions(user)) {
      std::vector<Jid> told = subscribers;
      for (const auto& text : session->presence().directed) {
        auto jid = Jid::parse(text);
        if (!jid || !newly_blocked(*jid)) continue;
        if (std::find(told.begin(), told.end(), *jid) == told.end()) told.push_back(*jid);
      }
      for (const Jid& to : told) {
        xml::Document presence = xml::Document::create("presence", xml::ns::kClient);
        presence.root().set_attr("type", "unavailable");
        co_await router().route(Stanza::make(std::move(presence), *session->jid(), to));
      }
    }
  }

  // §3.4, §3.5: "the user's server MUST send the user's current presence information to the JID
  // (but only if the JID is allowed to receive presence notifications from the user)": the
  // subscribed contacts the change unblocked get each available resource's latest presence.
  asio::awaitable<void> send_current(const Jid& user, const Blocklist& before,
                                     const Blocklist& after) {
    std::vector<Jid> unblocked;
    for (const Jid& contact : co_await host_->service<Rosters>().subscribers(user)) {
      if (matches(before, contact) && !matches(after, contact)) unblocked.push_back(contact);
    }
    if (unblocked.empty()) co_return;
    for (const auto& session : router().available_sessions(user)) {
      const StanzaPtr last = session->presence().last.get();
      if (!last) continue;
      for (const Jid& contact : unblocked) {
        co_await router().route(Stanza::readdressed(*last, contact));
      }
    }
  }

  Host* host_ = nullptr;
  // Blocklists of accounts with a session, by bare JID. Replaced, never changed in place: a
  // coroutine holding one across a suspension keeps a consistent list.
  std::unordered_map<std::string, std::shared_ptr<const Blocklist>> cache_;
  // The accounts that may have a blocklist in storage (by local part).
  AccountMarks marks_{
      [this](storage::Stores& s) { return s.blocks.users_with_blocklist(host_->domain()); }};
  // Sessions (by number) that retrieved the blocklist and so get the pushes.
  std::set<std::uint64_t> requested_;
  std::uint64_t push_ids_ = 0;
};

}  // namespace

std::unique_ptr<Module> make_blocking() { return std::make_unique<Blocking>(); }

}  // namespace parley::core::modules
