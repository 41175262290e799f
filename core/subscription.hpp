// Presence subscription states and what the user's server does with a subscription stanza
// (RFC 6121 §3 and Appendix A, with the pre-approvals of §3.4): a pure function of the state of
// one roster relation and the stanza; the caller does the storing, routing and roster pushes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "storage/roster_store.hpp"  // storage::Subscription

namespace parley::core {

// One roster relation from the user's side (RFC 6121 Appendix A.1): the subscription plus the
// "Pending Out" sub-state (the item's ask='subscribe'), "Pending In" (a subscription request from
// the contact that the user has not answered yet) and a pre-approval (approved='true', §3.4).
// A.1 defines nine states; pending_out goes with None/From only and pending_in with None/To only.
// outbound() and inbound() accept the impossible combinations (an edited roster can hold them)
// and drop the flag that contradicts the subscription, so their result is always one of the nine.
// "None" also stands for a contact that is not in the roster at all (A.1, implementation note).
struct SubscriptionState {
  storage::Subscription subscription = storage::Subscription::None;
  bool pending_out = false;  // "ask"
  bool pending_in = false;
  bool approved = false;  // pre-approved (§3.4); kept until the user sends 'unsubscribed'
  friend bool operator==(const SubscriptionState&, const SubscriptionState&) = default;
};

enum class SubscriptionStanza : std::uint8_t { Subscribe, Subscribed, Unsubscribe, Unsubscribed };

// What the user's server does. Everything it has to send is a flag here; the order in which the
// RFC wants those things sent is given with each flag.
struct SubscriptionOutcome {
  SubscriptionState state;  // the new state (== the old one when nothing changed)
  bool changed = false;     // state != the old state: store it
  // 'subscription', 'ask' or 'approved' changed (a change of pending_in alone shows nowhere in
  // the roster): push the item (§2.1.6) to the user's interested resources, after any delivery
  // below (§3.1.6, §3.2.3, §3.3.3). See requires_roster_item() for when the item must exist.
  bool roster_push = false;
  // Outbound: route the stanza (stamped with the user's bare JID) to the contact. Inbound: deliver
  // it to the user — a 'subscribe' to the available resources (kept while there are none and
  // delivered again at each new available resource until answered, §3.1.3), the others to the
  // interested resources (§3.1.6, §3.2.3, §3.3.3). false where Appendix A says MUST NOT or
  // SHOULD NOT; the stanza is then dropped silently (no error reply).
  bool forward = false;
  // Inbound 'subscribe' the server answers itself with 'subscribed' from the user's bare JID,
  // without delivering it: the contact already has a subscription (§3.1.3 rule 2, A.3.1 [2]) or
  // the user pre-approved it (§3.4.2, A.3.1 [1]). `state` already includes the approval: do not
  // run outbound() for the auto-reply.
  bool auto_reply_subscribed = false;
  // Inbound 'unsubscribe' that changed the state: the server answers 'unsubscribed' on the user's
  // behalf (A.3.2 [1], a SHOULD). `state` already includes it: do not run outbound() for it.
  bool auto_reply_unsubscribed = false;
  // The contact now has (or, for an auto-reply, already had) a subscription to the user's
  // presence: after routing the 'subscribed', send the current presence of each of the user's
  // available resources to the contact (§3.1.5).
  bool send_current_presence = false;
  // The contact has lost its subscription to the user's presence: send presence of type
  // 'unavailable' from each of the user's available resources to the contact. Outbound
  // 'unsubscribed': before routing the stanza, while the contact is still subscribed (§3.2.2).
  // Inbound 'unsubscribe': after delivering it and the roster push (§3.3.3 step 3).
  bool send_unavailable = false;
};

// The user sends `stanza` to the contact (RFC 6121 Appendix A.2, §3.1.2, §3.1.5, §3.2.2, §3.3.2,
// and §3.4.2 for 'subscribed' without a pending request, since Parley supports pre-approvals).
SubscriptionOutcome outbound(SubscriptionState current, SubscriptionStanza stanza);

// The contact's `stanza` arrives for the user (RFC 6121 Appendix A.3, §3.1.3, §3.1.6, §3.2.3,
// §3.3.3, and §3.4.2 for a 'subscribe' the user pre-approved).
SubscriptionOutcome inbound(SubscriptionState current, SubscriptionStanza stanza);

// Whether `state` has to be shown by an item in the user's roster: every state but "None" and
// "None + Pending In" (A.1), and a pre-approval (§3.4.2 step 4 creates an item for it). For those
// two the item exists only if the user created it (roster set, or an earlier state), and then it
// stays: the server MUST NOT create an item for a request the user has not approved (A.1 item 3,
// §3.1.3), and no subscription stanza removes an item. So: when an outcome has roster_push and
// there is no item yet, create it; never delete one because the state went back to "None".
bool requires_roster_item(const SubscriptionState& state);

// "subscribe" -> Subscribe, "subscribed", "unsubscribe", "unsubscribed"; nullopt for any other
// presence type (including none, "unavailable", "probe", "error").
std::optional<SubscriptionStanza> subscription_stanza(std::string_view presence_type);
std::string_view to_string(SubscriptionStanza stanza);

}  // namespace parley::core
