// RFC 6121 §2 roster management: get (with XEP-0237 / §2.6 versioning), set, remove, pushes to
// interested resources; the roster size limit; the stream features for roster versioning and
// subscription pre-approval (§3.4, which the presence module implements).
#include <boost/asio/awaitable.hpp>
#include <set>

#include "core/c2s_session.hpp"
#include "core/modules/modules.hpp"
#include "core/modules/roster_xml.hpp"
#include "core/modules/rosters.hpp"
#include "core/router.hpp"
#include "xml/namespaces.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;

class Roster final : public Module {
 public:
  void attach(Host& host) override {
    host.add_feature(IqTarget::Account, kRosterNs);
    host.add_stream_feature("ver", "urn:xmpp:features:rosterver");     // §2.6.1
    host.add_stream_feature("sub", "urn:xmpp:features:pre-approval");  // §3.4.1
    host.handle_iq(IqTarget::Account, kRosterNs, "query",
                   [&host](IqRequest& request) { return handle(host, request); });
    host.on_session(SessionEvent::Closed, [&host](const std::shared_ptr<C2sSession>& session) {
      if (session->jid()) host.service<Rosters>().session_closed(*session->jid());
    });
  }

 private:
  static asio::awaitable<void> handle(Host& host, IqRequest& request) {
    // §2.1.5 (and §2.1.3): a roster belongs to its user; nobody else reads or writes it.
    if (!request.from().same_bare(request.to()) || !request.origin) {
      co_await host.reply_error(request, StanzaError::Forbidden);
      co_return;
    }
    if (request.is_get()) {
      co_await get(host, request);
    } else {
      co_await set(host, request);
    }
  }

  static asio::awaitable<void> get(Host& host, IqRequest& request) {
    auto& rosters = host.service<Rosters>();
    request.origin->presence().interested = true;  // §2.1.6: it gets pushes from now on
    const Rosters::View view = co_await rosters.view(request.from().bare());
    // §2.6.3: a client holding the current version gets an empty result (changes would come as
    // pushes; there are none to send when the version is current).
    if (auto ver = request.payload.find_attr("ver"); ver && *ver == view.version) {
      co_await host.reply(request);
      co_return;
    }
    xml::Document query = xml::Document::create("query", kRosterNs);
    query.root().set_attr("ver", view.version);
    for (const auto& item : view.items) append_roster_item(query.root(), item, false);
    co_await host.reply(request, std::move(query));
  }

  static asio::awaitable<void> set(Host& host, IqRequest& request) {
    // §2.3.3: exactly one item, with a valid jid.
    const xml::Element item = request.payload.first_child();
    if (!item || !item.is("item", kRosterNs) || item.next_sibling()) {
      co_await host.reply_error(request, StanzaError::BadRequest,
                                "a roster set carries exactly one <item/>");
      co_return;
    }
    auto contact = Jid::parse(item.attr("jid"));
    if (!contact || !contact->is_bare()) {
      co_await host.reply_error(request, StanzaError::BadRequest,
                                "the item's jid is not a valid bare JID");
      co_return;
    }
    const Jid user = request.from().bare();
    auto& rosters = host.service<Rosters>();
    const std::string_view subscription = item.attr("subscription");
    if (subscription == "remove") {
      co_await remove(host, request, user, *contact);
      co_return;
    }
    // §2.1.2.5, §2.3.3: a client cannot set the subscription state (only 'remove').
    if (!subscription.empty() && subscription != "none") {
      co_await host.reply_error(request, StanzaError::BadRequest,
                                "the subscription is the server's to set; only 'remove' is allowed");
      co_return;
    }
    storage::RosterItem wanted;
    wanted.jid = contact->full();
    wanted.name = item.attr("name");
    std::set<std::string> groups;
    for (xml::Element g = item.first_child(); g; g = g.next_sibling()) {
      if (!g.is("group", kRosterNs)) continue;
      std::string name = g.text();
      // §2.3.3: empty group names are not-acceptable, duplicates bad-request.
      if (name.empty()) {
        co_await host.reply_error(request, StanzaError::NotAcceptable, "a group name is empty");
        co_return;
      }
      if (!groups.insert(std::move(name)).second) {
        co_await host.reply_error(request, StanzaError::BadRequest, "a group is named twice");
        co_return;
      }
    }
    wanted.groups.assign(groups.begin(), groups.end());
    if (auto failure = co_await rosters.set(user, std::move(wanted))) {
      co_await host.reply_error(request, failure->condition, failure->text);
      co_return;
    }
    co_await host.reply(request);
  }

  // §2.5: the item goes, and with it the subscriptions both ways.
  static asio::awaitable<void> remove(Host& host, IqRequest& request, const Jid& user,
                                      const Jid& contact) {
    auto& rosters = host.service<Rosters>();
    if (rosters.is_shared(user, contact)) {
      co_await host.reply_error(request, StanzaError::NotAllowed,
                                "this contact is in a shared group: the administrator manages it");
      co_return;
    }
    auto state = co_await rosters.remove(user, contact);
    if (!state) {
      co_await host.reply_error(request, StanzaError::ItemNotFound);  // §2.5.3
      co_return;
    }
    co_await host.reply(request);
    // §2.5.2: the contact is told: 'unsubscribe' when the user was subscribed (or asked to be),
    // 'unsubscribed' when the contact was (or had asked).
    auto send = [&](std::string_view type) -> asio::awaitable<void> {
      xml::Document p = xml::Document::create("presence", xml::ns::kClient);
      p.root().set_attr("type", type);
      co_await host.router().route(Stanza::make(std::move(p), user, contact));
    };
    using storage::Subscription;
    if (state->subscription == Subscription::To || state->subscription == Subscription::Both ||
        state->pending_out) {
      co_await send("unsubscribe");
    }
    if (state->subscription == Subscription::From || state->subscription == Subscription::Both ||
        state->pending_in) {
      // As for an outbound 'unsubscribed' (§3.2.2): the contact sees the user go unavailable.
      if (state->subscription == Subscription::From || state->subscription == Subscription::Both) {
        for (const auto& session : host.router().available_sessions(user)) {
          xml::Document p = xml::Document::create("presence", xml::ns::kClient);
          p.root().set_attr("type", "unavailable");
          co_await host.router().route(Stanza::make(std::move(p), *session->jid(), contact));
        }
      }
      co_await send("unsubscribed");
    }
  }
};

}  // namespace

std::unique_ptr<Module> make_roster() { return std::make_unique<Roster>(); }

}  // namespace parley::core::modules
