// RFC 6121 §3 and §4: presence subscriptions (every transition of Appendix A, pre-approval, requests
// kept while the user is offline), and presence itself: initial presence broadcast to subscribers
// and the user's own resources, probes answered from live sessions, unavailable presence on logout
// and on an abrupt disconnect, directed presence tracked and ended (§4.6).
#include <spdlog/logger.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <charconv>

#include "core/c2s_session.hpp"
#include "core/modules/modules.hpp"
#include "core/modules/rosters.hpp"
#include "core/router.hpp"
#include "core/server_state.hpp"
#include "xml/namespaces.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
using storage::Subscription;

StanzaPtr presence_of_type(std::string_view type, const Jid& from, const Jid& to) {
  xml::Document p = xml::Document::create("presence", xml::ns::kClient);
  if (!type.empty()) p.root().set_attr("type", type);
  return Stanza::make(std::move(p), from, to);
}

// §4.7.2.3: an integer from -128 to 127; absent means 0. nullopt when malformed.
std::optional<int> priority_of(const Stanza& presence) {
  const xml::Element e = presence.root().child("priority", xml::ns::kClient);
  if (!e) return 0;
  const std::string text = e.text();
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < -128 || value > 127) {
    return std::nullopt;
  }
  return value;
}

class Presence final : public Module {
 public:
  void attach(Host& host) override {
    host_ = &host;
    host.hook(Hook::Outbound, 100, [this](StanzaEvent& e) { return outbound(e); });
    host.hook(Hook::Inbound, 100, [this](StanzaEvent& e) { return inbound(e); });
    host.on_session(SessionEvent::Closed, [this](const std::shared_ptr<C2sSession>& session) {
      if (!session->presence().available || !session->jid()) return;
      // An abrupt disconnect or a logout without unavailable presence (§4.5.2).
      auto unavailable = presence_of_type("unavailable", *session->jid(), session->jid()->bare());
      unavailable = Stanza::readdressed(*unavailable, std::nullopt);
      spawn(go_unavailable(session, unavailable));
    });
  }

 private:
  Router& router() { return host_->router(); }
  Rosters& rosters() { return host_->service<Rosters>(); }

  void spawn(asio::awaitable<void> task) {
    asio::co_spawn(host_->state().executor, std::move(task), [this](std::exception_ptr error) {
                     if (!error) return;
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& e) {
                       host_->log().error("presence: {}", e.what());
                     }
                   });
  }

  asio::awaitable<bool> outbound(StanzaEvent& event) {
    const StanzaPtr& stanza = event.stanza;
    if (stanza->kind() != StanzaKind::Presence || !event.origin) co_return false;
    const auto& session = event.origin;
    const std::string_view type = stanza->type();
    if (auto s = subscription_stanza(type)) {
      if (!stanza->to() || !stanza->to()->has_local()) {
        co_await router().bounce(*stanza, StanzaError::BadRequest,
                                 "a subscription request names an account to subscribe to");
        co_return true;
      }
      co_await outbound_subscription(*stanza, *s);
      co_return true;
    }
    // A probe from a client (§4.3: the server SHOULD process it) goes on to the contact's server,
    // which answers the prober's full JID.
    if (!stanza->to()) {
      if (type.empty()) {
        co_await go_available(session, stanza);
      } else if (type == "unavailable") {
        co_await go_unavailable(session, stanza);
      }
      co_return true;
    }
    // §4.6: directed presence, remembered so that the recipient hears when the session ends.
    if (!stanza->to()->same_bare(stanza->from())) {
      if (type.empty() && session->presence().available) {
        session->presence().directed.insert(stanza->to()->full());
      } else if (type == "unavailable") {
        session->presence().directed.erase(stanza->to()->full());
      }
    }
    co_return false;
  }

  // §3.1.2, §3.2.2, §3.3.2, §3.4.2: the user's server processes the outbound stanza.
  asio::awaitable<void> outbound_subscription(const Stanza& stanza, SubscriptionStanza kind) {
    const Jid user = stanza.from().bare();
    const Jid contact = stanza.to()->bare();
    if (contact == user) co_return;
    if (rosters().is_shared(user, contact)) {
      // Shared-group members are subscribed to each other already; a request gets its answer.
      if (kind == SubscriptionStanza::Subscribe) {
        for (const auto& s : host_->state().sessions.sessions_of(user)) {
          s->deliver(presence_of_type("subscribed", contact, user));
        }
      }
      co_return;
    }
    const SubscriptionOutcome outcome =
        co_await rosters().transition(user, contact, kind, /*outbound=*/true);
    if (outcome.send_unavailable) co_await send_unavailable(user, contact);
    if (outcome.forward) {
      // §3.1.2: stamped with the user's bare JID, addressed to the contact's bare JID.
      co_await router().route(Stanza::make(stanza.copy(), user, contact));
    }
    if (outcome.send_current_presence) co_await send_current(user, contact);
  }

  asio::awaitable<bool> inbound(StanzaEvent& event) {
    const StanzaPtr& stanza = event.stanza;
    if (stanza->kind() == StanzaKind::Iq) co_return co_await iq_to_resource(*stanza);
    if (stanza->kind() != StanzaKind::Presence) co_return false;
    const std::string_view type = stanza->type();
    const Jid user = stanza->to()->bare();
    const Jid contact = stanza->from().bare();
    if (auto kind = subscription_stanza(type)) {
      // §8.5.1: subscription stanzas for an account that does not exist are ignored.
      if (!co_await router().account_exists(user)) co_return true;
      if (rosters().is_shared(user, contact)) co_return true;
      const std::string request = *kind == SubscriptionStanza::Subscribe
                                      ? Stanza::readdressed(*stanza, user)->bytes()
                                      : std::string();
      // Delivered to the user before the roster push (§3.1.6, §3.2.3, §3.3.3 step 1).
      auto deliver = [&](const SubscriptionOutcome& outcome) {
        if (!outcome.forward) return;
        auto delivered = Stanza::make(stanza->copy(), contact, user);
        for (const auto& s : host_->state().sessions.sessions_of(user)) {
          // §3.1.3: a request goes to the available resources (and waits while there are none);
          // the answers go to the interested ones.
          const bool wants = *kind == SubscriptionStanza::Subscribe ? s->presence().available
                                                                     : s->presence().interested;
          if (wants) s->deliver(delivered);
        }
      };
      const SubscriptionOutcome outcome = co_await rosters().transition(
          user, contact, *kind, /*outbound=*/false, request, deliver);
      if (outcome.auto_reply_subscribed) {
        co_await router().route(presence_of_type("subscribed", user, contact));
      }
      if (outcome.send_current_presence) co_await send_current(user, contact);
      if (outcome.auto_reply_unsubscribed) {
        co_await router().route(presence_of_type("unsubscribed", user, contact));
      }
      if (outcome.send_unavailable) co_await send_unavailable(user, contact);
      co_return true;
    }
    if (type == "probe") {
      co_await answer_probe(*stanza, user, contact);
      co_return true;
    }
    co_return false;  // available, unavailable, error: the router delivers them
  }

  // RFC 6121 §8.5.3.1: an IQ get or set reaches a resource only from someone it shares presence
  // with (a 'from' or 'both' subscription, or directed presence); else service-unavailable, so
  // IQs cannot be used to find out which resources are online.
  asio::awaitable<bool> iq_to_resource(const Stanza& iq) {
    const Jid& to = *iq.to();
    if (to.is_bare() || (iq.type() != "get" && iq.type() != "set")) co_return false;
    const Jid& from = iq.from();
    if (!from.has_local() || from.same_bare(to)) co_return false;  // the server, or the account
    auto session = host_->state().sessions.find(to);
    if (!session) co_return false;  // §8.5.3.2: the router answers
    const auto& directed = session->presence().directed;
    if (directed.contains(from.full()) || directed.contains(std::string(from.bare_view()))) {
      co_return false;
    }
    auto item = co_await rosters().item(to.bare(), from.bare());
    if (item && (item->subscription == Subscription::From ||
                 item->subscription == Subscription::Both)) {
      co_return false;
    }
    co_await router().bounce(iq, StanzaError::ServiceUnavailable);
    co_return true;
  }

  // §4.3.2: the contact's server answers a probe from the live sessions.
  asio::awaitable<void> answer_probe(const Stanza& probe, const Jid& user, const Jid& contact) {
    if (!co_await router().account_exists(user)) {
      co_await router().route(presence_of_type("unsubscribed", user, contact));  // §4.3.2 rule 1
      co_return;
    }
    if (contact != user) {
      auto item = co_await rosters().item(user, contact);
      const bool subscribed = item && (item->subscription == Subscription::From ||
                                       item->subscription == Subscription::Both);
      if (!subscribed) {
        // §4.3.2 rule 2: nothing revealed; 'unsubscribed' tells the prober's server.
        co_await router().route(presence_of_type("unsubscribed", user, contact));
        co_return;
      }
    }
    auto sessions = router().available_sessions(user);
    if (sessions.empty()) {
      // §4.3.2 rule 3: unavailable (the last one the user sent, when known, is the Last
      // Activity module's to tell).
      co_await router().route(presence_of_type("unavailable", user, probe.from()));
      co_return;
    }
    for (const auto& s : sessions) {
      // (Not `if (auto last = …)`: g++ 12 miscompiles a condition variable alive across co_await.)
      const StanzaPtr last = s->presence().last.get();
      if (!last) continue;
      co_await router().route(Stanza::readdressed(*last, probe.from()));
    }
  }

  // The current presence of each of the user's available resources, to the contact (§3.1.5).
  asio::awaitable<void> send_current(const Jid& user, const Jid& contact) {
    for (const auto& s : router().available_sessions(user)) {
      const StanzaPtr last = s->presence().last.get();
      if (!last) continue;
      co_await router().route(Stanza::readdressed(*last, contact));
    }
  }

  asio::awaitable<void> send_unavailable(const Jid& user, const Jid& contact) {
    for (const auto& s : router().available_sessions(user)) {
      co_await router().route(presence_of_type("unavailable", *s->jid(), contact));
    }
  }

  // §4.2 (initial presence) and §4.4 (subsequent presence).
  asio::awaitable<void> go_available(std::shared_ptr<C2sSession> session, StanzaPtr stanza) {
    const auto priority = priority_of(*stanza);
    if (!priority) {
      co_await router().bounce(*stanza, StanzaError::BadRequest,
                               "priority is an integer from -128 to 127");
      co_return;
    }
    auto& presence = session->presence();
    const bool initial = !presence.available;
    presence.available = true;
    presence.priority = *priority;
    presence.last = stanza;
    const Jid user = stanza->from().bare();
    for (const Jid& contact : co_await rosters().subscribers(user)) {
      co_await router().route(Stanza::readdressed(*stanza, contact));
    }
    // The user's own available resources, the sender included (§4.2.2, §4.4.2).
    for (const auto& s : router().available_sessions(user)) {
      s->deliver(Stanza::readdressed(*stanza, *s->jid()));
      if (!initial || s == session) continue;
      const StanzaPtr last = s->presence().last.get();
      if (last) session->deliver(Stanza::readdressed(*last, *session->jid()));
    }
    if (!initial) co_return;
    // §4.2.2: probes to the contacts whose presence the user has.
    for (const Jid& contact : co_await rosters().subscriptions(user)) {
      co_await router().route(presence_of_type("probe", user, contact));
    }
    // §3.1.3: subscription requests that arrived while the user was away.
    for (const auto& request : co_await rosters().pending(user)) {
      auto kept = Stanza::parse(request.stanza);
      if (!kept) {
        auto from = Jid::parse(request.jid);
        if (!from) continue;
        kept = presence_of_type("subscribe", *from, user);
      }
      if (session->presence().available) session->deliver(kept);
    }
    host_->fire_session(SessionEvent::Available, session);
  }

  // §4.5: unavailable presence, explicit or at the end of the session.
  asio::awaitable<void> go_unavailable(std::shared_ptr<C2sSession> session, StanzaPtr stanza) {
    auto& presence = session->presence();
    auto directed = std::move(presence.directed);
    presence.directed.clear();
    const bool was_available = presence.available;
    presence.available = false;
    presence.last = stanza;
    const Jid user = stanza->from().bare();
    if (was_available) {
      for (const Jid& contact : co_await rosters().subscribers(user)) {
        directed.erase(contact.full());
        co_await router().route(Stanza::readdressed(*stanza, contact));
      }
      for (const auto& s : router().available_sessions(user)) {
        if (s != session) s->deliver(Stanza::readdressed(*stanza, *s->jid()));
      }
    }
    // §4.6.3: whoever got directed presence hears that it ended.
    for (const auto& to : directed) {
      if (auto jid = Jid::parse(to)) co_await router().route(Stanza::readdressed(*stanza, *jid));
    }
    if (was_available) host_->fire_session(SessionEvent::Unavailable, session);
  }

  Host* host_ = nullptr;
};

}  // namespace

std::unique_ptr<Module> make_presence() { return std::make_unique<Presence>(); }

}  // namespace parley::core::modules
