// XEP-0280 Message Carbons (version 1.0.1): a resource that enables carbons (§4, §5) gets a copy
// of every instant message its account receives on another resource (§7, <received/>) or sends
// from another resource (§8, <sent/>), each wrapped in a XEP-0297 <forwarded/>. Which messages
// are copied follows §6.1; <private/> and the XEP-0334 <no-copy/> hint keep a message from being
// copied (§9).
#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/c2s_session.hpp"
#include "core/modules/modules.hpp"
#include "core/server_state.hpp"
#include "xml/namespaces.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kCarbons = "urn:xmpp:carbons:2";
constexpr std::string_view kForward = "urn:xmpp:forward:0";
constexpr std::string_view kHints = "urn:xmpp:hints";
constexpr std::string_view kReceipts = "urn:xmpp:receipts";                        // XEP-0184
constexpr std::string_view kChatStates = "http://jabber.org/protocol/chatstates";  // XEP-0085
constexpr std::string_view kChatMarkers = "urn:xmpp:chat-markers:0";               // XEP-0333
constexpr std::string_view kConference = "jabber:x:conference";                    // XEP-0249
constexpr std::string_view kMucUser = "http://jabber.org/protocol/muc#user";       // XEP-0045

enum class Direction : std::uint8_t { Sent, Received };

bool has_child_in(xml::Element root, std::string_view ns) {
  for (const xml::Element child : root.children()) {
    if (child.ns() == ns) return true;
  }
  return false;
}

// §6.1 "Recommended Rules", and §9: whether a message is copied.
bool eligible(const Stanza& message, Direction direction) {
  const xml::Element root = message.root();
  // §9 (and XEP-0334 §4.3: <no-copy/> alone asks the same). The elements stay in the message:
  // §9 no longer asks a server to remove <private/>.
  if (root.child("private", kCarbons) || root.child("no-copy", kHints)) return false;
  // A carbon is never copied again.
  if (root.child("sent", kCarbons) || root.child("received", kCarbons)) return false;
  std::string_view type = message.type();
  if (type.empty()) type = "normal";      // RFC 6121 §5.2.2
  if (type == "groupchat") return false;  // §6.1: MUC messages are the room's to replicate
  const xml::Element muc = root.child("x", kMucUser);
  if (muc && muc.child("invite", kMucUser)) return true;  // §6.1: mediated invitation
  // §6.1: a private message from a room occupant (from a full JID) is replicated by the room.
  if (muc && direction == Direction::Received && !message.from().is_bare()) return false;
  if (type == "error") {
    // §6.1: an error "sent in response to a message that was eligible". The server cannot know
    // what an error answers; the bounce of a message to a contact's bare JID (how chats are
    // addressed) comes from that bare JID, so those are copied.
    return direction == Direction::Received && message.from().is_bare();
  }
  if (type == "chat") return true;
  if (type == "normal" && root.child("body", xml::ns::kClient)) return true;
  if (root.child("x", kConference)) return true;  // §6.1: XEP-0249 direct invitation
  // §6.1: payloads of instant messaging.
  return has_child_in(root, kReceipts) || has_child_in(root, kChatStates) ||
         has_child_in(root, kChatMarkers);
}

// §7, §8: <message from=user's bare JID to=resource type=original's><sent|received>
// <forwarded xmlns='urn:xmpp:forward:0'>original</forwarded></sent|received></message>.
StanzaPtr carbon(const Stanza& original, Direction direction, const Jid& user, const Jid& to) {
  xml::Document doc = xml::Document::create("message", xml::ns::kClient);
  if (auto type = original.root().find_attr("type")) doc.root().set_attr("type", *type);
  xml::Element wrapper =
      doc.root().append_child(direction == Direction::Sent ? "sent" : "received", kCarbons);
  wrapper.append_child("forwarded", kForward).append_copy(original.root());
  return Stanza::make(std::move(doc), user, to);
}

class Carbons final : public Module {
 public:
  void attach(Host& host) override {
    host_ = &host;
    host.add_feature(IqTarget::Host, kCarbons);  // §3: the user's server advertises it
    host.handle_iq(IqTarget::Account, kCarbons, "enable",
                   [this](IqRequest& request) { return toggle(request, true); });
    host.handle_iq(IqTarget::Account, kCarbons, "disable",
                   [this](IqRequest& request) { return toggle(request, false); });
    // After blocking (10): a message that is refused is not copied either.
    host.hook(Hook::Outbound, kPriority, [this](StanzaEvent& e) { return sent(e); });
    host.on_delivered(
        [this](const StanzaPtr& stanza, const std::vector<std::shared_ptr<C2sSession>>& delivered) {
          received(*stanza, delivered);
        });
    // A message that no resource takes (RFC 6121 §8.5.2.2.1) still reaches the carbons-enabled
    // resources (§7: each one "that did not receive it"), e.g. one that has not sent presence.
    host.hook(Hook::Offline, kPriority, [this](StanzaEvent& e) { return offline(e); });
  }

 private:
  static constexpr int kPriority = 90;

  // §4 (enable) and §5 (disable); §10.1: repeating either is no error.
  asio::awaitable<void> toggle(IqRequest& request, bool enable) {
    if (!request.origin || !request.from().same_bare(request.to())) {
      // §4.1, §5.1: not a client of this server (or another account's).
      co_await host_->reply_error(request, StanzaError::NotAllowed);
      co_return;
    }
    if (request.is_get()) {
      co_await host_->reply_error(request, StanzaError::BadRequest,
                                  "carbons are enabled and disabled with an IQ set");
      co_return;
    }
    request.origin->presence().carbons = enable;
    co_await host_->reply(request);
  }

  // §8: a message a client sends goes, as <sent/>, to the account's other carbons-enabled
  // resources, whether or not the sender enabled carbons.
  asio::awaitable<bool> sent(StanzaEvent& event) {
    const Stanza& message = *event.stanza;
    if (message.kind() != StanzaKind::Message || !event.origin) co_return false;
    // A message between two resources of one account is copied once, as received (below): the
    // recipients and the sender are then the ones left out.
    if (message.to() && message.to()->same_bare(message.from())) co_return false;
    // The cheap test first: most accounts have no carbons-enabled resource besides the sender.
    if (!has_carbons(message.from(), event.origin.get()) || !eligible(message, Direction::Sent)) {
      co_return false;
    }
    const Jid user = message.from().bare();
    for (const auto& session : host_->state().sessions.sessions_of(user)) {
      if (session == event.origin || !session->presence().carbons || !session->jid()) continue;
      session->deliver(carbon(message, Direction::Sent, user, *session->jid()));
    }
    co_return false;
  }

  asio::awaitable<bool> offline(StanzaEvent& event) {
    received(*event.stanza, {});
    co_return false;  // the offline module stores it (or the sender hears it was not)
  }

  // §7: a message delivered to some resources of a local account goes, as <received/>, to the
  // account's other carbons-enabled resources; "the client(s) the original message stanza was
  // addressed to" (every resource the router gave it to) get none.
  void received(const Stanza& message, const std::vector<std::shared_ptr<C2sSession>>& delivered) {
    if (!message.to() || !message.to()->has_local()) return;
    if (!has_carbons(*message.to(), nullptr) || !eligible(message, Direction::Received)) return;
    const Jid user = message.to()->bare();
    const bool own = message.from().same_bare(user);
    for (const auto& session : host_->state().sessions.sessions_of(user)) {
      if (!session->presence().carbons || !session->jid()) continue;
      if (std::find(delivered.begin(), delivered.end(), session) != delivered.end()) continue;
      // A message from one of the account's resources: the sender wrote it.
      if (own && *session->jid() == message.from()) continue;
      session->deliver(carbon(message, Direction::Received, user, *session->jid()));
    }
  }

  // Whether the account of `jid` has a bound, carbons-enabled session other than `except`.
  bool has_carbons(const Jid& jid, const C2sSession* except) const {
    return host_->state().sessions.any_session_of(jid, [except](const C2sSession& s) {
      return &s != except && s.presence().carbons && s.jid();
    });
  }

  Host* host_ = nullptr;
};

}  // namespace

std::unique_ptr<Module> make_carbons() { return std::make_unique<Carbons>(); }

}  // namespace parley::core::modules
