#include "core/router.hpp"

#include <spdlog/logger.h>

#include <algorithm>

#include "core/c2s_session.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "storage/worker.hpp"

namespace parley::core {

namespace asio = boost::asio;

namespace {

// RFC 6121 §5.2.2 / RFC 6120 §8.2.1: no type, or one the server does not know, means normal.
std::string_view message_type(const Stanza& stanza) {
  const std::string_view type = stanza.type();
  if (type == "chat" || type == "groupchat" || type == "headline" || type == "error") return type;
  return "normal";
}

bool is_request(const Stanza& iq) { return iq.type() == "get" || iq.type() == "set"; }

}  // namespace

Host* Router::host(std::string_view domain) const {
  auto it = state_.hosts.find(domain);
  return it == state_.hosts.end() ? nullptr : it->second.get();
}

std::vector<std::shared_ptr<C2sSession>> Router::available_sessions(const Jid& bare) const {
  auto sessions = state_.sessions.sessions_of(bare);
  std::erase_if(sessions, [](const auto& s) { return !s->presence().available; });
  return sessions;
}

asio::awaitable<bool> Router::account_exists(const Jid& bare) {
  if (state_.sessions.has_sessions(bare)) co_return true;
  auto job = [domain = std::string(bare.domain()),
              user = std::string(bare.local())](storage::Stores& s) {
    return s.accounts.exists(domain, user);
  };
  co_return co_await run_storage(*state_.storage, std::move(job));
}

asio::awaitable<void> Router::route(StanzaPtr stanza, std::shared_ptr<C2sSession> origin) {
  // The sender's host first (blocking, carbons, presence broadcasts and subscriptions).
  if (stanza->from().has_local()) {
    if (Host* from_host = host(stanza->from().domain())) {
      StanzaEvent event{stanza, origin};
      if (co_await from_host->fire(Hook::Outbound, event)) co_return;
    }
  }
  if (!stanza->to()) {
    // Only a presence broadcast has no 'to' here, and the presence module takes those.
    co_return;
  }
  const Jid& to = *stanza->to();
  Host* target = host(to.domain());
  if (target == nullptr) {
    // RFC 6120 §10.4.3: a remote domain. Only stanzas from our own users and hosts leave: a
    // stanza that came in over s2s for a domain we do not serve is never relayed.
    if (state_.remote != nullptr && host(stanza->from().domain()) != nullptr) {
      state_.remote->send(std::move(stanza));
    } else {
      co_await bounce(*stanza, StanzaError::RemoteServerNotFound,
                      state_.remote != nullptr ? "this server does not relay between other domains"
                                               : "federation with other domains is turned off");
    }
    co_return;
  }
  if (!to.has_local()) {
    co_await to_domain(*target, std::move(stanza), std::move(origin));
    co_return;
  }
  {
    StanzaEvent event{stanza, origin};
    if (co_await target->fire(Hook::Inbound, event)) co_return;
  }
  if (to.is_bare()) {
    co_await to_bare(*target, std::move(stanza), std::move(origin));
  } else {
    co_await to_full(*target, std::move(stanza), std::move(origin));
  }
}

// RFC 6120 §10.4 / RFC 6121 §8.4 (a domain of ours, no localpart).
asio::awaitable<void> Router::to_domain(Host& host, StanzaPtr stanza,
                                        std::shared_ptr<C2sSession> origin) {
  switch (stanza->kind()) {
    case StanzaKind::Iq:
      if (is_request(*stanza)) co_await dispatch_iq(host, IqTarget::Host, stanza, origin);
      // Results and errors to the domain answer nothing the server asked: dropped.
      break;
    case StanzaKind::Message:
      // The server has nothing to say to a message (Prosody and ejabberd drop them too); errors
      // are never answered.
      break;
    case StanzaKind::Presence:
      // Presence to the server itself (a probe of the domain, directed presence) is ignored.
      break;
  }
}

// RFC 6121 §8.5.1 (no such user) and §8.5.2 (localpart@domainpart).
asio::awaitable<void> Router::to_bare(Host& host, StanzaPtr stanza,
                                      std::shared_ptr<C2sSession> origin) {
  const Jid& to = *stanza->to();
  switch (stanza->kind()) {
    case StanzaKind::Message:
      co_await message_to_bare(host, stanza, to);
      break;
    case StanzaKind::Presence: {
      // §8.5.2.1.2: no type or unavailable goes to every available resource; subscriptions and
      // probes were the presence module's (Inbound). Error presence is delivered the same way.
      const std::string_view type = stanza->type();
      if (!type.empty() && type != "unavailable" && type != "error") break;
      auto sessions = available_sessions(to);
      deliver(host, stanza, sessions);
      break;
    }
    case StanzaKind::Iq:
      // §8.5.2.1.3 / §8.5.2.2.3: the server answers for the account. A result or error to a bare
      // JID answers nothing: dropped.
      if (!is_request(*stanza)) break;
      if (!co_await account_exists(to)) {
        co_await bounce(*stanza, StanzaError::ServiceUnavailable);  // §8.5.1
        break;
      }
      co_await dispatch_iq(host, IqTarget::Account, std::move(stanza), std::move(origin));
      break;
  }
}

asio::awaitable<void> Router::message_to_bare(Host& host, StanzaPtr stanza, Jid to) {
  const std::string_view type = message_type(*stanza);
  if (type == "error") co_return;  // §8.5.2.1.1, §8.5.2.2.1: silently ignored
  if (type == "groupchat") {
    co_await bounce(*stanza, StanzaError::ServiceUnavailable);
    co_return;
  }
  auto sessions = available_sessions(to);
  std::erase_if(sessions, [](const auto& s) { return s->presence().priority < 0; });
  if (sessions.empty()) {
    // §8.5.2.2.1: no available resource with non-negative priority (§8.5.2.1: only negative ones
    // count as none).
    // §8.5.2.2.1: a headline nobody can take is silently ignored (for an account that does not
    // exist too: §8.5.1 allows that, and it tells nothing about which accounts exist).
    if (type == "headline") co_return;
    if (!co_await account_exists(to)) {
      co_await bounce(*stanza, StanzaError::ServiceUnavailable);  // §8.5.1
      co_return;
    }
    StanzaEvent event{stanza, nullptr};
    if (co_await host.fire(Hook::Offline, event)) co_return;
    co_await bounce(*stanza, StanzaError::ServiceUnavailable);
    co_return;
  }
  if (type != "headline") {
    // chat and normal: the "most available" resources, those with the highest priority (all of
    // them when several share it, as Prosody and ejabberd do). Headlines go to every
    // non-negative resource.
    int best = sessions.front()->presence().priority;
    for (const auto& s : sessions) best = std::max(best, s->presence().priority);
    std::erase_if(sessions, [best](const auto& s) { return s->presence().priority != best; });
  }
  deliver(host, stanza, sessions);
}

// RFC 6121 §8.5.1 and §8.5.3 (localpart@domainpart/resourcepart).
asio::awaitable<void> Router::to_full(Host& host, StanzaPtr stanza,
                                      std::shared_ptr<C2sSession> origin) {
  const Jid& to = *stanza->to();
  if (auto session = state_.sessions.find(to)) {
    // §8.5.3.1: a connected resource gets message, presence and IQ alike.
    deliver(host, stanza, {session});
    co_return;
  }
  // §8.5.3.2: no such resource.
  switch (stanza->kind()) {
    case StanzaKind::Message: {
      const std::string_view type = message_type(*stanza);
      if (type == "error") co_return;
      if (type == "chat") {
        // §8.5.3.2.1: as if sent to the bare JID (Prosody and ejabberd do the same); the stanza
        // keeps its 'to', so an error reply comes from the address the sender used.
        co_await message_to_bare(host, stanza, to.bare());
        co_return;
      }
      co_await bounce(*stanza, StanzaError::ServiceUnavailable);
      co_return;
    }
    case StanzaKind::Presence:
      // §8.5.3.2.2: presence to a resource that is not there is dropped (subscriptions and
      // probes were handled as to the bare JID by the presence module).
      co_return;
    case StanzaKind::Iq:
      // §8.5.3.2.3 (and §8.5.1 when the account does not exist either).
      if (is_request(*stanza)) co_await bounce(*stanza, StanzaError::ServiceUnavailable);
      co_return;
  }
  (void)origin;
}

asio::awaitable<void> Router::dispatch_iq(Host& host, IqTarget target, StanzaPtr stanza,
                                          std::shared_ptr<C2sSession> origin) {
  const xml::Element payload = stanza->root().first_child();
  // RFC 6120 §8.2.3: a get or set has exactly one child.
  if (!payload || payload.next_sibling()) {
    co_await bounce(*stanza, StanzaError::BadRequest,
                    "a get or set carries exactly one child element");
    co_return;
  }
  const IqHandler* handler = host.iq_handler(target, payload.ns(), payload.name());
  if (handler == nullptr) {
    co_await bounce(*stanza, StanzaError::ServiceUnavailable);  // RFC 6120 §8.4
    co_return;
  }
  IqRequest request{stanza, std::move(origin), payload};
  // Copy: the handler may be replaced while it runs (a config reload in the future).
  const IqHandler call = *handler;
  co_await call(request);
}

void Router::deliver(Host& host, const StanzaPtr& stanza,
                     const std::vector<std::shared_ptr<C2sSession>>& sessions) {
  if (sessions.empty()) return;
  for (const auto& s : sessions) s->deliver(stanza);
  if (stanza->kind() == StanzaKind::Message) host.fire_delivered(stanza, sessions);
}

asio::awaitable<void> Router::bounce(const Stanza& stanza, StanzaError condition,
                                     std::string_view text) {
  if (stanza.type() == "error") co_return;
  const Jid& sender = stanza.from();
  // The error comes from the address the stanza was sent to (RFC 6120 §8.3.1).
  const Jid error_from = stanza.to() ? *stanza.to() : sender.bare();
  xml::Document reply = make_error(stanza.root(), condition, error_from.full(), text);
  auto error = Stanza::make(std::move(reply), error_from, sender);
  co_await route(std::move(error));
}

}  // namespace parley::core
