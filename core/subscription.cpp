#include "core/subscription.hpp"

#include <array>
#include <cstddef>
#include <utility>

namespace parley::core {
namespace {

using storage::Subscription;

// The nine states of RFC 6121 Appendix A.1, in the order of its tables.
enum class Defined : std::uint8_t {
  None,
  NonePendingOut,
  NonePendingIn,
  NonePendingOutIn,
  To,
  ToPendingIn,
  From,
  FromPendingOut,
  Both,
};
constexpr std::size_t kDefinedCount = 9;

// The ROUTE? / DELIVER? column.
enum class Pass : std::uint8_t { Must, ShouldNot, MustNot };

// The footnotes of the tables that ask for more than a state change. (A.2.4 [1] and A.3.1 [1],
// the pre-approval's cancellation and use, apply whatever the row: see outbound() and inbound().)
enum class Note : std::uint8_t {
  None,
  PreApproval,        // A.2.3 [1]: §3.4.2 steps 3 and 4
  ReplySubscribed,    // A.3.1 [2]
  ReplyUnsubscribed,  // A.3.2 [1]
};

struct Row {
  Pass pass;
  Defined next;
  Note note = Note::None;
};

using Table = std::array<Row, kDefinedCount>;

constexpr Pass Must = Pass::Must;
constexpr Pass SN = Pass::ShouldNot;
constexpr Pass MN = Pass::MustNot;
using enum Defined;

// Appendix A.2: outbound stanzas, one table per type, rows in A.1 order.
constexpr Table kOutSubscribe{{
    // A.2.1 (Table 2)
    {Must, NonePendingOut},    // None
    {Must, NonePendingOut},    // None + Pending Out: no state change
    {Must, NonePendingOutIn},  // None + Pending In
    {Must, NonePendingOutIn},  // None + Pending Out+In: no state change
    {Must, To},                // To: no state change
    {Must, ToPendingIn},       // To + Pending In: no state change
    {Must, FromPendingOut},    // From
    {Must, FromPendingOut},    // From + Pending Out: no state change
    {Must, Both},              // Both: no state change
}};
constexpr Table kOutUnsubscribe{{
    // A.2.2 (Table 3)
    {Must, None},           // None: no state change
    {Must, None},           // None + Pending Out
    {Must, NonePendingIn},  // None + Pending In: no state change
    {Must, NonePendingIn},  // None + Pending Out+In
    {Must, None},           // To
    {Must, NonePendingIn},  // To + Pending In
    {Must, From},           // From: no state change
    {Must, From},           // From + Pending Out
    {Must, From},           // Both
}};
constexpr Table kOutSubscribed{{
    // A.2.3 (Table 4)
    {MN, None, Note::PreApproval},            // None
    {MN, NonePendingOut, Note::PreApproval},  // None + Pending Out
    {Must, From},                             // None + Pending In
    {Must, FromPendingOut},                   // None + Pending Out+In
    {MN, To, Note::PreApproval},              // To
    {Must, Both},                             // To + Pending In
    {MN, From},                               // From: no state change
    {MN, FromPendingOut},                     // From + Pending Out: no state change
    {MN, Both},                               // Both: no state change
}};
constexpr Table kOutUnsubscribed{{
    // A.2.4 (Table 5)
    {SN, None},              // None: no state change [1]
    {SN, NonePendingOut},    // None + Pending Out: no state change [1]
    {Must, None},            // None + Pending In
    {Must, NonePendingOut},  // None + Pending Out+In
    {SN, To},                // To: no state change [1]
    {Must, To},              // To + Pending In
    {Must, None},            // From
    {Must, NonePendingOut},  // From + Pending Out
    {Must, To},              // Both
}};

// Appendix A.3: inbound stanzas.
constexpr Table kInSubscribe{{
    // A.3.1 (Table 6)
    {Must, NonePendingIn},                        // None [1]
    {Must, NonePendingOutIn},                     // None + Pending Out
    {SN, NonePendingIn},                          // None + Pending In: no state change
    {SN, NonePendingOutIn},                       // None + Pending Out+In: no state change
    {Must, ToPendingIn},                          // To
    {SN, ToPendingIn},                            // To + Pending In: no state change
    {SN, From, Note::ReplySubscribed},            // From: no state change
    {SN, FromPendingOut, Note::ReplySubscribed},  // From + Pending Out: no state change
    {SN, Both, Note::ReplySubscribed},            // Both: no state change
}};
constexpr Table kInUnsubscribe{{
    // A.3.2 (Table 7)
    {SN, None},                                       // None: no state change
    {SN, NonePendingOut},                             // None + Pending Out: no state change
    {Must, None, Note::ReplyUnsubscribed},            // None + Pending In
    {Must, NonePendingOut, Note::ReplyUnsubscribed},  // None + Pending Out+In
    {SN, To},                                         // To: no state change
    {Must, To, Note::ReplyUnsubscribed},              // To + Pending In
    {Must, None, Note::ReplyUnsubscribed},            // From
    {Must, NonePendingOut, Note::ReplyUnsubscribed},  // From + Pending Out
    {Must, To, Note::ReplyUnsubscribed},              // Both
}};
constexpr Table kInSubscribed{{
    // A.3.3 (Table 8)
    {SN, None},           // None: no state change
    {Must, To},           // None + Pending Out
    {SN, NonePendingIn},  // None + Pending In: no state change
    {Must, ToPendingIn},  // None + Pending Out+In
    {SN, To},             // To: no state change
    {SN, ToPendingIn},    // To + Pending In: no state change
    {SN, From},           // From: no state change
    {Must, Both},         // From + Pending Out
    {SN, Both},           // Both: no state change
}};
constexpr Table kInUnsubscribed{{
    // A.3.4 (Table 9)
    {SN, None},             // None: no state change
    {Must, None},           // None + Pending Out
    {SN, NonePendingIn},    // None + Pending In: no state change
    {Must, NonePendingIn},  // None + Pending Out+In
    {Must, None},           // To
    {Must, NonePendingIn},  // To + Pending In
    {SN, From},             // From: no state change
    {Must, From},           // From + Pending Out
    {Must, From},           // Both
}};

const Table& table(bool out, SubscriptionStanza stanza) {
  switch (stanza) {
    case SubscriptionStanza::Subscribe:
      return out ? kOutSubscribe : kInSubscribe;
    case SubscriptionStanza::Subscribed:
      return out ? kOutSubscribed : kInSubscribed;
    case SubscriptionStanza::Unsubscribe:
      return out ? kOutUnsubscribe : kInUnsubscribe;
    case SubscriptionStanza::Unsubscribed:
      break;
  }
  return out ? kOutUnsubscribed : kInUnsubscribed;
}

// The presence types (RFC 6121 §4.7.1), in the enum's order.
constexpr std::array<std::pair<SubscriptionStanza, std::string_view>, 4> kNames{{
    {SubscriptionStanza::Subscribe, "subscribe"},
    {SubscriptionStanza::Subscribed, "subscribed"},
    {SubscriptionStanza::Unsubscribe, "unsubscribe"},
    {SubscriptionStanza::Unsubscribed, "unsubscribed"},
}};

const Row& lookup(bool out, SubscriptionStanza stanza, Defined state) {
  return table(out, stanza)[static_cast<std::size_t>(state)];
}

bool has_to(Subscription s) { return s == Subscription::To || s == Subscription::Both; }
bool has_from(Subscription s) { return s == Subscription::From || s == Subscription::Both; }

// A.1: "Pending Out" exists only without a subscription to the contact, "Pending In" only
// without one from the contact; a flag that contradicts the subscription is dropped.
Defined defined(const SubscriptionState& s) {
  const bool out = s.pending_out && !has_to(s.subscription);
  const bool in = s.pending_in && !has_from(s.subscription);
  switch (s.subscription) {
    case Subscription::None:
      return out ? (in ? NonePendingOutIn : NonePendingOut) : (in ? NonePendingIn : None);
    case Subscription::To:
      return in ? ToPendingIn : To;
    case Subscription::From:
      return out ? FromPendingOut : From;
    case Subscription::Both:
      break;
  }
  return Both;
}

SubscriptionState with(Defined d, bool approved) {
  SubscriptionState s;
  s.approved = approved;
  switch (d) {
    case None:
      break;
    case NonePendingOut:
      s.pending_out = true;
      break;
    case NonePendingIn:
      s.pending_in = true;
      break;
    case NonePendingOutIn:
      s.pending_out = s.pending_in = true;
      break;
    case To:
      s.subscription = Subscription::To;
      break;
    case ToPendingIn:
      s.subscription = Subscription::To;
      s.pending_in = true;
      break;
    case From:
      s.subscription = Subscription::From;
      break;
    case FromPendingOut:
      s.subscription = Subscription::From;
      s.pending_out = true;
      break;
    case Both:
      s.subscription = Subscription::Both;
      break;
  }
  return s;
}

// What a roster item shows of the state (§2.1.2): pending_in is not among it.
bool same_item(const SubscriptionState& a, const SubscriptionState& b) {
  return a.subscription == b.subscription && a.pending_out == b.pending_out &&
         a.approved == b.approved;
}

SubscriptionOutcome finish(const SubscriptionState& current, SubscriptionOutcome o) {
  o.changed = o.state != current;
  o.roster_push = !same_item(o.state, current);
  // §3.2.2, §3.3.3: the contact's subscription to the user ends. Not for a denied or withdrawn
  // request, where the contact never had one.
  o.send_unavailable = has_from(current.subscription) && !has_from(o.state.subscription);
  return o;
}

}  // namespace

SubscriptionOutcome outbound(SubscriptionState current, SubscriptionStanza stanza) {
  const Row& row = lookup(true, stanza, defined(current));
  SubscriptionOutcome o;
  o.state = with(row.next, current.approved);
  o.forward = row.pass == Pass::Must;
  // §3.4.2 steps 3, 4: no request to approve, so note a pre-approval (and push the item).
  if (row.note == Note::PreApproval) o.state.approved = true;
  // §3.1.5: an approval routed to the contact is followed by the user's current presence.
  o.send_current_presence = stanza == SubscriptionStanza::Subscribed && o.forward;
  // §3.2.2 step 2 and the §3.4 implementation note: an 'unsubscribed' cancels a pre-approval in
  // every state (A.2.4 [1] marks where it is the only effect); it is then not routed.
  if (stanza == SubscriptionStanza::Unsubscribed) o.state.approved = false;
  return finish(current, o);
}

SubscriptionOutcome inbound(SubscriptionState current, SubscriptionStanza stanza) {
  const Row& row = lookup(false, stanza, defined(current));
  SubscriptionOutcome o;
  o.state = with(row.next, current.approved);
  o.forward = row.pass == Pass::Must;
  if (stanza == SubscriptionStanza::Subscribe && current.approved &&
      !has_from(current.subscription)) {
    // §3.4.2: with a pre-approval the request is not delivered but approved on the user's
    // behalf, as if the user had sent 'subscribed' (A.3.1 [1]: "From" rather than "None + Pending
    // In"). The request first makes the state pending-in (the table), the approval then applies.
    // This holds in the pending-in states too, which a pre-approval never reaches by itself.
    o.state =
        with(lookup(true, SubscriptionStanza::Subscribed, defined(o.state)).next, current.approved);
    o.forward = false;
    o.auto_reply_subscribed = true;
    o.send_current_presence = true;
  } else if (row.note == Note::ReplySubscribed) {
    // §3.1.3 rule 2 (MUST; A.3.1 [2] says SHOULD). The current presence follows as for any
    // approval (§3.1.5): the contact's server may have lost the subscription and be asking again.
    o.auto_reply_subscribed = true;
    o.send_current_presence = true;
  }
  o.auto_reply_unsubscribed = row.note == Note::ReplyUnsubscribed;  // A.3.2 [1]
  return finish(current, o);
}

bool requires_roster_item(const SubscriptionState& state) {
  return state.subscription != Subscription::None || state.pending_out || state.approved;
}

std::optional<SubscriptionStanza> subscription_stanza(std::string_view presence_type) {
  for (const auto& [stanza, name] : kNames) {
    if (name == presence_type) return stanza;
  }
  return std::nullopt;
}

std::string_view to_string(SubscriptionStanza stanza) {
  return kNames[static_cast<std::size_t>(stanza)].second;
}

}  // namespace parley::core
