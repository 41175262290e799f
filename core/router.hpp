// The router: where every stanza goes (RFC 6120 §10, RFC 6121 §8).
//
// A stanza from a local client arrives here with its 'from' stamped by the session. The router
// fires the sender's Outbound hook, then looks at the destination domain: one of our hosts (a
// local account or the domain itself), or a remote domain (state.remote, the federation, when
// on; else the sender gets remote-server-not-found). For a local account it fires the Inbound hook and then applies the
// delivery rules of RFC 6121 §8.5 to the account's sessions: deliver to the right resources,
// hand a message to offline storage (Hook::Offline), return an error, or drop silently.
//
// Sessions are found through SessionRegistry, the one class that knows where a JID is connected;
// a cluster replaces that class and the delivery below posts across nodes instead.
//
// Thread-safety: none; the server's io thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string_view>
#include <vector>

#include "core/host.hpp"
#include "core/stanza.hpp"
#include "core/stanza_error.hpp"

namespace parley::core {

class C2sSession;
struct ServerState;

class Router {
 public:
  explicit Router(ServerState& state) : state_(state) {}

  // Routes a stanza whose 'from' is set. `origin` is the local client session that sent it, if
  // any (hooks tell client stanzas from server-generated ones by it).
  boost::asio::awaitable<void> route(StanzaPtr stanza,
                                     std::shared_ptr<C2sSession> origin = nullptr);
  // Sends the error reply to `stanza` to its sender (RFC 6120 §8.3), unless `stanza` is itself an
  // error (never answer an error with an error).
  boost::asio::awaitable<void> bounce(const Stanza& stanza, StanzaError condition,
                                      std::string_view text = {});
  // The host serving `domain`, or nullptr.
  Host* host(std::string_view domain) const;

  // The sessions of `bare` that have sent initial presence (RFC 6121 §1.3 "available").
  std::vector<std::shared_ptr<C2sSession>> available_sessions(const Jid& bare) const;
  // Whether the account exists (the storage thread is asked unless a session shows it does).
  boost::asio::awaitable<bool> account_exists(const Jid& bare);

 private:
  boost::asio::awaitable<void> to_domain(Host& host, StanzaPtr stanza,
                                         std::shared_ptr<C2sSession> origin);
  boost::asio::awaitable<void> to_bare(Host& host, StanzaPtr stanza,
                                       std::shared_ptr<C2sSession> origin);
  boost::asio::awaitable<void> to_full(Host& host, StanzaPtr stanza,
                                       std::shared_ptr<C2sSession> origin);
  // Messages for the account `to` (a bare JID; the stanza's own 'to' may be a full JID).
  boost::asio::awaitable<void> message_to_bare(Host& host, StanzaPtr stanza, Jid to);
  boost::asio::awaitable<void> dispatch_iq(Host& host, IqTarget target, StanzaPtr stanza,
                                           std::shared_ptr<C2sSession> origin);
  void deliver(Host& host, const StanzaPtr& stanza,
               const std::vector<std::shared_ptr<C2sSession>>& sessions);

  ServerState& state_;
};

}  // namespace parley::core
