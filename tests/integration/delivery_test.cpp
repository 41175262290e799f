// RFC 6121 §8 (server rules for processing XML stanzas) on the wire, against the real server: one
// row per rule of §8.5 (local user: no such user, bare JID with and without available resources,
// full JID with and without a matching resource, presence priorities) and §8.1/§8.2's pointer to
// RFC 6120 §10.3 (no 'to'). Each row sets up the recipient account (missing, offline, or with
// resources of the given priorities), sends one stanza and checks the outcome the row names:
// delivered unchanged to which resources (with 'from' stamped by the server), answered with which
// error or result, stored offline (a later login gets it with a XEP-0203 <delay/>), or silently
// dropped (ping round-trips prove that nothing arrived in between, and a later login that nothing
// was stored).
//
// Where the RFC lets the server choose (S/E, O/E, M/A in Table 1 of §8.5.4), the row states
// Parley's choice and says so. The rows run in groups (NoUser, Bare, Priority, …): one test per
// group, so that ctest starts one server per group rather than per row; a failure names its row.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/server_process.hpp"
#include "xml/namespaces.hpp"

namespace parley::testing {
namespace {

namespace ns = xml::ns;

constexpr char kPassword[] = "secret";
constexpr char kDomain[] = "localhost";
// A resource that has bound but sent no presence: "connected", not "available" (RFC 6121 §1.3).
constexpr int kConnected = 1000;

struct Resource {
  std::string name;
  int priority = 0;  // or kConnected
};

enum class Account { Missing, Exists };
// The 'to' of the stanza: the recipient's bare JID, the full JID of its first resource, a full
// JID with a resource that is not connected ("gone"), or none at all (the sender is then one of
// the recipient account's own resources, "self", priority 0: RFC 6120 §10.3).
enum class To { Bare, Full, FullGone, None };
// What the recipient shares with the sender before the stanza (RFC 6121 §8.5.3.1, first bullet):
// nothing, a presence subscription (the recipient approved the sender's request: 'from'), or
// directed presence from the recipient's first resource to the sender.
enum class Share { Nothing, Subscription, Directed };

struct Outcome {
  // The recipient resources (or "self") that get the stanza itself.
  std::vector<std::string> delivered;
  // The sender gets an error reply with this condition, 'from' the address it used.
  std::string error;
  // The sender gets an IQ result from the address it used (the account answers).
  bool result = false;
  // Stored offline: the next resource to become available with a non-negative priority gets it,
  // with a <delay xmlns='urn:xmpp:delay' stamp='…'/>.
  bool offline = false;
  // One more element the sender gets, described as describe() does ({R}: the recipient's bare
  // JID, {S}: the sender's full JID).
  std::string sender_also;
  // The 'to' of the delivered stanza is the server's to choose (a chat message to a full JID that
  // matches no resource, RFC 6121 §8.5.3.2.1): not checked.
  bool any_to = false;
};

struct Row {
  const char* name;
  const char* rule;
  Account account;
  std::vector<Resource> resources;
  To to;
  // The stanza the sender sends: {to} becomes " to='…'" (nothing for To::None), {id} its id.
  const char* stanza;
  Outcome expect;
  Share share = Share::Nothing;
};

Outcome delivered(std::vector<std::string> resources) {
  Outcome o;
  o.delivered = std::move(resources);
  return o;
}
Outcome error(std::string condition) {
  Outcome o;
  o.error = std::move(condition);
  return o;
}
Outcome dropped() { return Outcome(); }
Outcome stored() {
  Outcome o;
  o.offline = true;
  return o;
}
Outcome result() {
  Outcome o;
  o.result = true;
  return o;
}
Outcome sender_gets(std::string description) {
  Outcome o;
  o.sender_also = std::move(description);
  return o;
}
// The same, without checking the 'to' of what is delivered or stored.
Outcome any_to(Outcome o) {
  o.any_to = true;
  return o;
}

constexpr char kChat[] = "<message type='chat'{to} id='{id}'><body>hi</body></message>";
constexpr char kNormal[] = "<message type='normal'{to} id='{id}'><body>hi</body></message>";
constexpr char kNoType[] = "<message{to} id='{id}'><body>hi</body></message>";
constexpr char kGroupchat[] = "<message type='groupchat'{to} id='{id}'><body>hi</body></message>";
constexpr char kHeadline[] = "<message type='headline'{to} id='{id}'><body>news</body></message>";
constexpr char kMessageError[] =
    "<message type='error'{to} id='{id}'><error type='cancel'>"
    "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>";
constexpr char kAvailable[] = "<presence{to} id='{id}'/>";
constexpr char kUnavailable[] = "<presence type='unavailable'{to} id='{id}'/>";
constexpr char kSubscribe[] = "<presence type='subscribe'{to} id='{id}'/>";
constexpr char kUnsubscribe[] = "<presence type='unsubscribe'{to} id='{id}'/>";
constexpr char kProbe[] = "<presence type='probe'{to} id='{id}'/>";
constexpr char kPresenceError[] =
    "<presence type='error'{to} id='{id}'><error type='cancel'>"
    "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>";
constexpr char kPing[] = "<iq type='get'{to} id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>";
constexpr char kUnknownIq[] = "<iq type='get'{to} id='{id}'><query xmlns='urn:example:none'/></iq>";
constexpr char kRosterGet[] = "<iq type='get'{to} id='{id}'><query xmlns='jabber:iq:roster'/></iq>";
constexpr char kIqResult[] = "<iq type='result'{to} id='{id}'/>";
constexpr char kIqError[] =
    "<iq type='error'{to} id='{id}'><error type='cancel'>"
    "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>";
constexpr char kSpoofed[] =
    "<message type='chat' from='eve@localhost/evil'{to} id='{id}'><body>hi</body></message>";

const std::vector<Resource> kDesk{{"desk", 0}};

// clang-format off
const std::vector<Row> kRows{
  // --- §8.5.1 No such user ---------------------------------------------------------------------
  // Message: S/E; Parley returns the error (router.cpp), which §8.1 prefers for known senders.
  {"NoUser_Chat_Bare_Error", "RFC 6121 §8.5.1 (message: S/E; Parley E)",
   Account::Missing, {}, To::Bare, kChat, error("service-unavailable")},
  {"NoUser_Normal_Bare_Error", "RFC 6121 §8.5.1 (message: S/E; Parley E)",
   Account::Missing, {}, To::Bare, kNormal, error("service-unavailable")},
  {"NoUser_Groupchat_Bare_Error", "RFC 6121 §8.5.1, §8.5.4 Table 1 (groupchat, bare: E)",
   Account::Missing, {}, To::Bare, kGroupchat, error("service-unavailable")},
  // Table 1 has only S here; an error would also tell a harvester which accounts exist, since a
  // headline to an existing but offline account is dropped (§8.5.2.2.1).
  {"NoUser_Headline_Bare_Dropped", "RFC 6121 §8.5.1, §8.5.4 Table 1 (headline, bare: S)",
   Account::Missing, {}, To::Bare, kHeadline, dropped()},
  {"NoUser_MessageError_Bare_Dropped", "RFC 6120 §8.3.1 rule 8 (no error for an error)",
   Account::Missing, {}, To::Bare, kMessageError, dropped()},
  {"NoUser_Chat_Full_Error", "RFC 6121 §8.5.1, Table 1 (chat, full: S/E; Parley E)",
   Account::Missing, {}, To::FullGone, kChat, error("service-unavailable")},
  {"NoUser_Headline_Full_Error", "RFC 6121 §8.5.1, Table 1 (headline, full: S/E; Parley E)",
   Account::Missing, {}, To::FullGone, kHeadline, error("service-unavailable")},
  {"NoUser_PresenceAvailable_Dropped", "RFC 6121 §8.5.1 (presence, no type: MUST ignore)",
   Account::Missing, {}, To::Bare, kAvailable, dropped()},
  {"NoUser_PresenceUnavailable_Dropped", "RFC 6121 §8.5.1 (unavailable: MUST ignore)",
   Account::Missing, {}, To::Bare, kUnavailable, dropped()},
  {"NoUser_PresenceSubscribe_Dropped", "RFC 6121 §8.5.1 (subscribe: MUST ignore)",
   Account::Missing, {}, To::Bare, kSubscribe, dropped()},
  {"NoUser_PresenceUnsubscribe_Dropped", "RFC 6121 §8.5.1 (unsubscribe: MUST ignore)",
   Account::Missing, {}, To::Bare, kUnsubscribe, dropped()},
  // S or 'unsubscribed' — which the sender's own server would not deliver to it (A.3.4, "None").
  {"NoUser_PresenceProbe_Dropped", "RFC 6121 §8.5.1 (probe: S or unsubscribed)",
   Account::Missing, {}, To::Bare, kProbe, dropped()},
  {"NoUser_PresenceError_Dropped", "RFC 6120 §8.3.1 rule 8 (no error for an error)",
   Account::Missing, {}, To::Bare, kPresenceError, dropped()},
  {"NoUser_IqGet_Bare_Error", "RFC 6121 §8.5.1 (IQ: MUST service-unavailable)",
   Account::Missing, {}, To::Bare, kPing, error("service-unavailable")},
  {"NoUser_IqGet_Full_Error", "RFC 6121 §8.5.1 (IQ: MUST service-unavailable)",
   Account::Missing, {}, To::FullGone, kPing, error("service-unavailable")},
  {"NoUser_IqResult_Dropped", "RFC 6120 §8.2.3 rule 4 (no response to a result)",
   Account::Missing, {}, To::Bare, kIqResult, dropped()},
  {"NoUser_IqError_Dropped", "RFC 6120 §8.3.1 rule 8, §8.2.3 rule 4 (no response to an error)",
   Account::Missing, {}, To::FullGone, kIqError, dropped()},

  // --- §8.5.2.1 Bare JID, available resources ----------------------------------------------------
  // Delivered with 'to' left as the bare JID (§8.5.2.1.1 "MUST NOT rewrite the 'to'").
  {"Bare_Normal_Delivered", "RFC 6121 §8.5.2.1.1 (normal, one non-negative resource: MUST deliver)",
   Account::Exists, kDesk, To::Bare, kNormal, delivered({"desk"})},
  {"Bare_NoType_DeliveredAsNormal", "RFC 6121 §8.5.2.1.1, RFC 6120 §8.2.1 (no type = normal)",
   Account::Exists, kDesk, To::Bare, kNoType, delivered({"desk"})},
  {"Bare_Chat_Delivered", "RFC 6121 §8.5.2.1.1 (chat, one non-negative resource: MUST deliver)",
   Account::Exists, kDesk, To::Bare, kChat, delivered({"desk"})},
  {"Bare_Groupchat_Error", "RFC 6121 §8.5.2.1.1 (groupchat: MUST NOT deliver, error)",
   Account::Exists, kDesk, To::Bare, kGroupchat, error("service-unavailable")},
  {"Bare_Headline_Delivered", "RFC 6121 §8.5.2.1.1 (headline, one non-negative: MUST deliver)",
   Account::Exists, kDesk, To::Bare, kHeadline, delivered({"desk"})},
  {"Bare_MessageError_Dropped", "RFC 6121 §8.5.2.1.1 (error: MUST silently ignore)",
   Account::Exists, kDesk, To::Bare, kMessageError, dropped()},
  // "All available resources": negative priorities included, merely connected ones not.
  {"Bare_PresenceAvailable_AllAvailableResources",
   "RFC 6121 §8.5.2.1.2 (MUST deliver to all available)",
   Account::Exists, {{"desk", 0}, {"pager", -1}, {"idle", kConnected}}, To::Bare, kAvailable,
   delivered({"desk", "pager"})},
  {"Bare_PresenceUnavailable_AllAvailableResources",
   "RFC 6121 §8.5.2.1.2 (MUST deliver to all available)",
   Account::Exists, {{"desk", 0}, {"pager", -1}, {"idle", kConnected}}, To::Bare, kUnavailable,
   delivered({"desk", "pager"})},
  // §4.3.2 rule 1 answers 'unsubscribed', which the sender's server does not deliver (A.3.4).
  {"Bare_Probe_NotSubscribed_NotDelivered",
   "RFC 6121 §8.5.2.1.2 (probe: handled by the server, §4.3)",
   Account::Exists, kDesk, To::Bare, kProbe, dropped()},
  // §4.3: a client's probe SHOULD be processed; §4.3.2 rule 4: the prober, who is subscribed, gets
  // the last presence of each available resource.
  {"Bare_Probe_Subscribed_AnsweredWithPresence", "RFC 6121 §8.5.2.1.2, §4.3, §4.3.2 rule 4",
   Account::Exists, kDesk, To::Bare, kProbe, sender_gets("presence from='{R}/desk' to='{S}'"),
   Share::Subscription},
  {"Bare_IqPing_AnsweredByServer",
   "RFC 6121 §8.5.2.1.3 (server replies for the user, MUST NOT deliver)",
   Account::Exists, kDesk, To::Bare, kPing, result()},
  {"Bare_IqUnknown_ServiceUnavailable",
   "RFC 6121 §8.5.2.1.3 (no reply on the user's behalf: service-unavailable)",
   Account::Exists, kDesk, To::Bare, kUnknownIq, error("service-unavailable")},
  {"Bare_IqResult_Dropped", "RFC 6120 §8.2.3 rule 4, §10.3.3 rule 3 (a result nobody asked for)",
   Account::Exists, kDesk, To::Bare, kIqResult, dropped()},

  // --- §8.5.2.1.1 Priorities ---------------------------------------------------------------------
  // chat/normal: M/A; Parley M, the highest priority ("most available").
  {"Priority_Chat_HighestOnly", "RFC 6121 §8.5.2.1.1 (chat, 2 non-negative: M/A; Parley M)",
   Account::Exists, {{"desk", 5}, {"phone", 1}}, To::Bare, kChat, delivered({"desk"})},
  {"Priority_Normal_HighestOnly", "RFC 6121 §8.5.2.1.1 (normal, 2 non-negative: M/A; Parley M)",
   Account::Exists, {{"desk", 5}, {"phone", 1}}, To::Bare, kNormal, delivered({"desk"})},
  {"Priority_Chat_EqualPrioritiesBoth",
   "RFC 6121 §8.5.2.1.1 (\"most available resource or resources\")",
   Account::Exists, {{"desk", 3}, {"phone", 3}}, To::Bare, kChat, delivered({"desk", "phone"})},
  {"Priority_Headline_AllNonNegative",
   "RFC 6121 §8.5.2.1.1 (headline: MUST deliver to all non-negative)",
   Account::Exists, {{"desk", 5}, {"phone", 1}, {"pager", -1}}, To::Bare, kHeadline,
   delivered({"desk", "phone"})},
  {"Priority_Chat_NegativeNeverGetsIt",
   "RFC 6121 §8.5.2.1.1 (MUST NOT deliver to negative priority)",
   Account::Exists, {{"desk", 0}, {"pager", -1}}, To::Bare, kChat, delivered({"desk"})},
  {"Priority_NegativeOnly_ChatStoredOffline", "RFC 6121 §8.5.2.1.1 (only negative: O/E; Parley O)",
   Account::Exists, {{"pager", -1}}, To::Bare, kChat, stored()},
  {"Priority_NegativeOnly_NormalStoredOffline",
   "RFC 6121 §8.5.2.1.1 (only negative: O/E; Parley O)",
   Account::Exists, {{"pager", -1}}, To::Bare, kNormal, stored()},
  {"Priority_NegativeOnly_HeadlineDropped",
   "RFC 6121 §8.5.2.1.1 (headline, only negative: MUST ignore)",
   Account::Exists, {{"pager", -1}}, To::Bare, kHeadline, dropped()},
  {"Priority_NegativeOnly_GroupchatError", "RFC 6121 §8.5.2.1.1 (groupchat: error)",
   Account::Exists, {{"pager", -1}}, To::Bare, kGroupchat, error("service-unavailable")},
  {"Priority_NegativeOnly_PresenceDelivered", "RFC 6121 §8.5.2.1.2 (all available resources)",
   Account::Exists, {{"pager", -1}}, To::Bare, kAvailable, delivered({"pager"})},

  // --- §8.5.2.2 Bare JID, no available or connected resources ------------------------------------
  {"Offline_Chat_Stored", "RFC 6121 §8.5.2.2.1 (chat: O/E; Parley O)",
   Account::Exists, {}, To::Bare, kChat, stored()},
  {"Offline_Normal_Stored", "RFC 6121 §8.5.2.2.1 (normal: O/E; Parley O)",
   Account::Exists, {}, To::Bare, kNormal, stored()},
  {"Offline_NoType_Stored", "RFC 6121 §8.5.2.2.1, RFC 6120 §8.2.1 (no type = normal)",
   Account::Exists, {}, To::Bare, kNoType, stored()},
  {"Offline_Groupchat_Error", "RFC 6121 §8.5.2.2.1 (groupchat: MUST error)",
   Account::Exists, {}, To::Bare, kGroupchat, error("service-unavailable")},
  {"Offline_Headline_Dropped", "RFC 6121 §8.5.2.2.1 (headline: MUST silently ignore)",
   Account::Exists, {}, To::Bare, kHeadline, dropped()},
  {"Offline_MessageError_Dropped", "RFC 6121 §8.5.2.2.1 (error: MUST silently ignore)",
   Account::Exists, {}, To::Bare, kMessageError, dropped()},
  {"Offline_PresenceAvailable_Dropped", "RFC 6121 §8.5.2.2.2 (SHOULD ignore: not stored, no reply)",
   Account::Exists, {}, To::Bare, kAvailable, dropped()},
  {"Offline_PresenceUnavailable_Dropped",
   "RFC 6121 §8.5.2.2.2 (SHOULD ignore: not stored, no reply)",
   Account::Exists, {}, To::Bare, kUnavailable, dropped()},
  {"Offline_IqPing_AnsweredByServer", "RFC 6121 §8.5.2.2.3 (server replies for the user)",
   Account::Exists, {}, To::Bare, kPing, result()},
  {"Offline_IqUnknown_ServiceUnavailable", "RFC 6121 §8.5.2.2.3 (otherwise service-unavailable)",
   Account::Exists, {}, To::Bare, kUnknownIq, error("service-unavailable")},

  // --- §8.5.3.1 Full JID, resource matches -------------------------------------------------------
  {"Full_Chat_Delivered", "RFC 6121 §8.5.3.1 (message: MUST deliver)",
   Account::Exists, kDesk, To::Full, kChat, delivered({"desk"})},
  {"Full_Normal_Delivered", "RFC 6121 §8.5.3.1 (message: MUST deliver)",
   Account::Exists, kDesk, To::Full, kNormal, delivered({"desk"})},
  {"Full_Groupchat_Delivered", "RFC 6121 §8.5.3.1, Table 1 (groupchat, full match: D)",
   Account::Exists, kDesk, To::Full, kGroupchat, delivered({"desk"})},
  {"Full_Headline_Delivered", "RFC 6121 §8.5.3.1 (message: MUST deliver)",
   Account::Exists, kDesk, To::Full, kHeadline, delivered({"desk"})},
  {"Full_MessageError_Delivered", "RFC 6121 §8.5.3.1 (\"for a message stanza\": MUST deliver)",
   Account::Exists, kDesk, To::Full, kMessageError, delivered({"desk"})},
  {"Full_NegativePriority_ChatDelivered",
   "RFC 6121 §8.5.3.1, Table 1 (negative resource, full match: D)",
   Account::Exists, {{"pager", -1}}, To::Full, kChat, delivered({"pager"})},
  {"Full_ConnectedNotAvailable_ChatDelivered",
   "RFC 6121 §8.5.3.1 (\"available or connected resource\")",
   Account::Exists, {{"idle", kConnected}}, To::Full, kChat, delivered({"idle"})},
  {"Full_PresenceAvailable_Delivered", "RFC 6121 §8.5.3.1 (presence: MUST deliver)",
   Account::Exists, kDesk, To::Full, kAvailable, delivered({"desk"})},
  {"Full_PresenceUnavailable_Delivered", "RFC 6121 §8.5.3.1 (unavailable: MUST deliver)",
   Account::Exists, kDesk, To::Full, kUnavailable, delivered({"desk"})},
  {"Full_IqResult_Delivered", "RFC 6121 §8.5.3.1 (IQ result: MUST deliver)",
   Account::Exists, kDesk, To::Full, kIqResult, delivered({"desk"})},
  {"Full_IqError_Delivered", "RFC 6121 §8.5.3.1 (IQ error: MUST deliver)",
   Account::Exists, kDesk, To::Full, kIqError, delivered({"desk"})},
  {"Full_IqGet_PresenceNotShared_ServiceUnavailable",
   "RFC 6121 §8.5.3.1 (IQ get/set, no subscription, no directed presence: SHOULD NOT deliver, "
   "SHOULD service-unavailable; §11 presence leak)",
   Account::Exists, kDesk, To::Full, kPing, error("service-unavailable")},
  {"Full_IqGet_Subscription_Delivered", "RFC 6121 §8.5.3.1 (subscription 'from': deliver)",
   Account::Exists, kDesk, To::Full, kPing, delivered({"desk"}), Share::Subscription},
  {"Full_IqGet_DirectedPresence_Delivered", "RFC 6121 §8.5.3.1 (directed presence: deliver)",
   Account::Exists, kDesk, To::Full, kPing, delivered({"desk"}), Share::Directed},

  // --- §8.5.3.2 Full JID, no resource matches ----------------------------------------------------
  {"FullNoMatch_Normal_Error", "RFC 6121 §8.5.3.2.1 (normal: S/E; Parley E)",
   Account::Exists, kDesk, To::FullGone, kNormal, error("service-unavailable")},
  {"FullNoMatch_Groupchat_Error", "RFC 6121 §8.5.3.2.1 (groupchat: S/E; Parley E)",
   Account::Exists, kDesk, To::FullGone, kGroupchat, error("service-unavailable")},
  {"FullNoMatch_Headline_Error", "RFC 6121 §8.5.3.2.1 (headline: S/E; Parley E)",
   Account::Exists, kDesk, To::FullGone, kHeadline, error("service-unavailable")},
  {"FullNoMatch_Chat_OneResource_Delivered",
   "RFC 6121 §8.5.3.2.1 (chat, one non-negative: MUST deliver)",
   Account::Exists, kDesk, To::FullGone, kChat, any_to(delivered({"desk"}))},
  {"FullNoMatch_Chat_TwoResources_HighestOnly", "RFC 6121 §8.5.3.2.1 (chat: M/A; Parley M)",
   Account::Exists, {{"desk", 5}, {"phone", 1}}, To::FullGone, kChat,
   any_to(delivered({"desk"}))},
  {"FullNoMatch_Chat_NoResources_Stored", "RFC 6121 §8.5.3.2.1 (chat, no resource: O/E; Parley O)",
   Account::Exists, {}, To::FullGone, kChat, any_to(stored())},
  {"FullNoMatch_Chat_NegativeOnly_Stored",
   "RFC 6121 §8.5.3.2.1 (chat, only negative: O/E; Parley O)",
   Account::Exists, {{"pager", -1}}, To::FullGone, kChat, any_to(stored())},
  {"FullNoMatch_MessageError_Dropped", "RFC 6121 §8.5.3.2.1 (error: MUST silently ignore)",
   Account::Exists, kDesk, To::FullGone, kMessageError, dropped()},
  {"FullNoMatch_PresenceAvailable_Dropped", "RFC 6121 §8.5.3.2.2 (MUST silently ignore)",
   Account::Exists, kDesk, To::FullGone, kAvailable, dropped()},
  {"FullNoMatch_PresenceUnavailable_Dropped", "RFC 6121 §8.5.3.2.2 (MUST silently ignore)",
   Account::Exists, kDesk, To::FullGone, kUnavailable, dropped()},
  {"FullNoMatch_IqGet_ServiceUnavailable", "RFC 6121 §8.5.3.2.3 (MUST service-unavailable)",
   Account::Exists, kDesk, To::FullGone, kPing, error("service-unavailable")},
  {"FullNoMatch_IqResult_Dropped", "RFC 6120 §8.2.3 rule 4 (no response to a result)",
   Account::Exists, kDesk, To::FullGone, kIqResult, dropped()},

  // --- §8.2 / RFC 6120 §10.3 No 'to' (the sender is the account's resource "self", priority 0) --
  {"NoTo_Chat_GoesToOwnBareJid_HighestPriority",
   "RFC 6120 §10.3.1 (as if to the sender's bare JID)",
   Account::Exists, {{"desk", 1}}, To::None, kChat, delivered({"desk"})},
  {"NoTo_Chat_SingleResource_BackToSender", "RFC 6120 §10.3.1 (as if to the sender's bare JID)",
   Account::Exists, {}, To::None, kChat, delivered({"self"})},
  {"NoTo_IqPing_HandledForAccount", "RFC 6120 §10.3.3 rule 1 (handled on the account's behalf)",
   Account::Exists, {{"desk", 1}}, To::None, kPing, result()},
  {"NoTo_IqRosterGet_HandledForAccount", "RFC 6120 §10.3.3 rule 1 (e.g. the roster)",
   Account::Exists, {{"desk", 1}}, To::None, kRosterGet, result()},
  {"NoTo_IqUnknown_ServiceUnavailable", "RFC 6120 §10.3.3 rule 2 (MUST service-unavailable)",
   Account::Exists, {{"desk", 1}}, To::None, kUnknownIq, error("service-unavailable")},

  // --- Stamping and loops ------------------------------------------------------------------------
  {"SpoofedFrom_IsStampedWithSendersFullJid",
   "RFC 6120 §8.1.2.1 rule 1 (server MUST override 'from')",
   Account::Exists, kDesk, To::Bare, kSpoofed, delivered({"desk"})},
};
// clang-format on

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// The value of attribute `name` in the first tag of `xml` (the row's stanza), or "".
std::string first_tag_attr(std::string_view xml, std::string_view name) {
  const std::string_view tag = xml.substr(0, xml.find('>'));
  const std::string key = " " + std::string(name) + "='";
  const auto pos = tag.find(key);
  if (pos == std::string_view::npos) return {};
  const auto start = pos + key.size();
  return std::string(tag.substr(start, tag.find('\'', start) - start));
}

std::string first_tag_name(std::string_view xml) {
  return std::string(xml.substr(1, xml.find_first_of(" />") - 1));
}

// One line per element: name, type, from (an absent 'from' is the receiver's account, RFC 6120
// §8.1.2.1 rule 4), to, id, the error condition and whether it carries a XEP-0203 delay.
std::string describe(xml::Element e, const std::string& own_bare, bool with_to = true) {
  std::string out(e.name());
  if (auto type = e.find_attr("type")) out += " type='" + std::string(*type) + "'";
  const std::string_view from = e.attr("from");
  out += " from='" + (from.empty() ? own_bare : std::string(from)) + "'";
  if (with_to) {
    if (auto to = e.find_attr("to")) out += " to='" + std::string(*to) + "'";
  }
  if (auto id = e.find_attr("id")) out += " id='" + std::string(*id) + "'";
  if (const std::string condition = stanza_error_condition(e); !condition.empty())
    out += " error='" + condition + "'";
  if (xml::Element delay = e.child("delay", "urn:xmpp:delay")) {
    out += delay.attr("stamp").empty() ? " delay(no stamp)" : " delay";
  }
  return out;
}

std::vector<std::string> describe_all(const std::vector<xml::Document>& elements,
                                      const std::string& own_bare, bool with_to = true) {
  std::vector<std::string> out;
  for (const auto& e : elements) out.push_back(describe(e.root(), own_bare, with_to));
  return out;
}

struct Session {
  std::string full;
  std::unique_ptr<Client> client;
};

class DeliveryTest : public ::testing::TestWithParam<std::string> {
 protected:
  // In-band registration makes the many accounts cheap (see register_account()).
  static void SetUpTestSuite() {
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{}, std::nullopt,
        "[limits]\nregistrations_per_address_per_hour = 1000000\n\n"
        "[[host]]\ndomain = \"localhost\"\nallow_registration = true\n");
  }
  static void TearDownTestSuite() { server_.reset(); }
  void TearDown() override {
    if (HasFailure() && server_) {
      const std::string out = server_->output();
      std::cerr << "--- server output (tail) ---\n"
                << (out.size() > 6000 ? out.substr(out.size() - 6000) : out);
    }
  }

  // A session of `user` bound to `resource`; with a priority it sends initial presence
  // (available), with kConnected none. Returns once everything its login caused has arrived.
  // `create`: the account is registered first, on the same stream.
  static Session login(const std::string& user, const std::string& resource, int priority,
                       bool create) {
    Session s{user + "@" + kDomain + "/" + resource, std::make_unique<Client>(server_->port())};
    if (create) {
      register_account(*s.client, user, kPassword);
      EXPECT_TRUE(s.client->authenticate(user, kPassword, "SCRAM-SHA-1").success);
      EXPECT_EQ(s.client->bind(resource), s.full);
    } else {
      EXPECT_EQ(s.client->login(user, kPassword, "SCRAM-SHA-1", resource), s.full);
    }
    if (priority != kConnected) {
      s.client->send("<presence><priority>" + std::to_string(priority) + "</priority></presence>");
    }
    drain(*s.client);
    return s;
  }

  // Sets up the row, sends its stanza, checks the outcome.
  static void check(const Row& row);

  static std::unique_ptr<ServerProcess> server_;
  static int next_account_;
};

std::unique_ptr<ServerProcess> DeliveryTest::server_;
int DeliveryTest::next_account_ = 0;

// The group of a row: its name up to the first '_' (NoUser, Bare, Priority, Offline, Full,
// FullNoMatch, NoTo, SpoofedFrom).
std::string group_of(const Row& row) {
  const std::string_view name = row.name;
  return std::string(name.substr(0, name.find('_')));
}

// One process per group under ctest (a server per process): the rows of a group run in a loop.
TEST_P(DeliveryTest, Rows) {
  int count = 0;
  for (const Row& row : kRows) {
    if (group_of(row) != GetParam()) continue;
    ++count;
    SCOPED_TRACE(std::string(row.name) + ": " + row.rule);
    try {
      check(row);
    } catch (const std::exception& e) {  // a helper gave up: this row fails, the next one runs
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_GT(count, 0);
}

void DeliveryTest::check(const Row& row) {
  const int n = ++next_account_;
  const std::string recipient = "rcpt" + std::to_string(n);
  const std::string bare = recipient + "@" + kDomain;
  const bool self = row.to == To::None;
  const std::string sender_user = self ? recipient : "sndr" + std::to_string(n);
  // The recipient's resources, then the sender (available, priority 0); the first session of an
  // account registers it.
  bool recipient_exists = false;
  std::vector<Session> sessions;
  for (const auto& r : row.resources) {
    sessions.push_back(login(recipient, r.name, r.priority, !recipient_exists));
    recipient_exists = true;
  }
  if (row.account == Account::Exists && !recipient_exists && !self) {
    Client registration(server_->port());
    register_account(registration, recipient, kPassword);
    recipient_exists = true;
  }
  Session sender = login(sender_user, self ? "self" : "s", 0, !self || !recipient_exists);
  const std::string sender_bare = sender_user + "@" + kDomain;

  if (row.share == Share::Subscription) {
    // RFC 6121 §3.1: the sender asks, the recipient's first resource approves ('from').
    sender.client->send("<presence type='subscribe' to='" + bare + "'/>");
    drain(*sender.client);
    sessions.at(0).client->send("<presence type='subscribed' to='" + sender_bare + "'/>");
    drain(*sessions.at(0).client);
  } else if (row.share == Share::Directed) {
    sessions.at(0).client->send("<presence to='" + sender.full + "'/>");  // RFC 6121 §4.6
    drain(*sessions.at(0).client);
  }
  drain(*sender.client);
  for (auto& s : sessions) drain(*s.client);

  std::string to;
  switch (row.to) {
    case To::Bare:
      to = bare;
      break;
    case To::Full:
      to = bare + "/" + row.resources.at(0).name;
      break;
    case To::FullGone:
      to = bare + "/gone";
      break;
    case To::None:
      break;
  }
  const std::string id = "row" + std::to_string(n);
  std::string stanza = replace_all(row.stanza, "{to}", to.empty() ? "" : " to='" + to + "'");
  stanza = replace_all(stanza, "{id}", id);
  sender.client->send(stanza);

  // What each client got, up to a ping round-trip. The sender's first: its stanza has then been
  // routed to the end, so anything it caused for the others is in their streams before their
  // pings are answered.
  const std::vector<xml::Document> sender_got = drain(*sender.client);
  std::vector<std::vector<xml::Document>> got;
  for (auto& s : sessions) got.push_back(drain(*s.client));

  // What the recipient gets of the stanza: unchanged, 'from' stamped with the sender's full JID
  // (RFC 6120 §8.1.2.1), 'to' as sent (RFC 6121 §8.5.2.1.1: never rewritten to a full JID); a
  // stanza without 'to' is addressed to the sender's bare JID (RFC 6120 §10.3.1).
  const std::string name = first_tag_name(stanza);
  const std::string type = first_tag_attr(stanza, "type");
  const std::string address = to.empty() ? bare : to;
  const bool with_to = !row.expect.any_to;
  std::string as_delivered = name + (type.empty() ? "" : " type='" + type + "'") + " from='" +
                             sender.full + "'" + (with_to ? " to='" + address + "'" : "") +
                             " id='" + id + "'";
  if (type == "error") {
    // The condition the row's error stanza carries.
    as_delivered = name + " type='error' from='" + sender.full + "' to='" + address + "' id='" +
                   id + "' error='" + (name == "iq" ? "service-unavailable" : "item-not-found") +
                   "'";
  }
  const auto wanted = [&](const std::string& resource) {
    const auto& d = row.expect.delivered;
    return std::find(d.begin(), d.end(), resource) != d.end();
  };

  // The sender: the error or result the row names (from the address it used, RFC 6120 §8.3.1
  // rule 2, with its id, rule 3), the stanza itself when it is one of the recipients, and nothing
  // else — in particular never an error for an error (RFC 6120 §8.3.1 rule 8).
  std::vector<std::string> sender_expected;
  if (wanted("self")) sender_expected.push_back(as_delivered);
  if (!row.expect.error.empty()) {
    sender_expected.push_back(name + " type='error' from='" + address + "' to='" + sender.full +
                              "' id='" + id + "' error='" + row.expect.error + "'");
  }
  if (row.expect.result) {
    sender_expected.push_back("iq type='result' from='" + address + "' to='" + sender.full +
                              "' id='" + id + "'");
  }
  if (!row.expect.sender_also.empty()) {
    sender_expected.push_back(
        replace_all(replace_all(row.expect.sender_also, "{R}", bare), "{S}", sender.full));
  }
  EXPECT_EQ(describe_all(sender_got, sender_bare, with_to), sender_expected)
      << "what the sender (" << sender.full << ") got after sending " << stanza;

  for (std::size_t i = 0; i < sessions.size(); ++i) {
    const std::string& resource = row.resources[i].name;
    std::vector<std::string> expected;
    if (wanted(resource)) expected.push_back(as_delivered);
    EXPECT_EQ(describe_all(got[i], bare, with_to), expected)
        << "what " << sessions[i].full << " (priority "
        << (row.resources[i].priority == kConnected ? std::string("none: connected only")
                                                    : std::to_string(row.resources[i].priority))
        << ") got after " << stanza;
  }

  // Stored or not: when the account has no available resource of non-negative priority, a marker
  // message goes to offline storage after the stanza, and the next resource to become available
  // must get exactly the stored stanza (with a delay) before the marker, or nothing.
  bool can_store = row.account == Account::Exists && !self;
  for (const auto& r : row.resources) {
    if (r.priority >= 0 && r.priority != kConnected) can_store = false;
  }
  if (!can_store) {
    EXPECT_FALSE(row.expect.offline) << "the row expects offline storage it cannot observe";
    return;
  }
  const std::string marker = "marker" + std::to_string(n);
  sender.client->send("<message type='chat' to='" + bare + "' id='" + marker +
                      "'><body>marker</body></message>");
  EXPECT_TRUE(drain(*sender.client).empty());
  // The next available resource; offline messages come once its initial presence is handled
  // (asynchronously: no drain() here, they may overtake a ping), the marker last.
  Client later(server_->port());
  EXPECT_EQ(later.login(recipient, kPassword, "SCRAM-SHA-1", "later"), bare + "/later");
  later.send("<presence/>");
  std::vector<xml::Document> before_marker;
  read_until(
      later,
      [&marker](xml::Element e) { return e.is("message", ns::kClient) && e.attr("id") == marker; },
      &before_marker);
  std::vector<std::string> stored_got;
  for (const auto& e : before_marker) {
    // The account's own presence (the echo and its other resources) is not what we look for.
    const std::string_view from = e.root().attr("from");
    if (e.root().name() == "presence" && from.starts_with(bare)) continue;
    stored_got.push_back(describe(e.root(), bare, with_to));
  }
  std::vector<std::string> stored_expected;
  if (row.expect.offline) {
    // Stored as sent, addressed to the bare JID it was stored for.
    stored_expected.push_back(name + (type.empty() ? "" : " type='" + type + "'") + " from='" +
                              sender.full + "'" + (with_to ? " to='" + bare + "'" : "") + " id='" +
                              id + "' delay");
  }
  EXPECT_EQ(stored_got, stored_expected)
      << "what the next available resource got from offline storage before the marker";
}

INSTANTIATE_TEST_SUITE_P(Rfc6121Section8, DeliveryTest, ::testing::ValuesIn([] {
                           std::vector<std::string> groups;
                           for (const Row& row : kRows) {
                             const std::string g = group_of(row);
                             if (std::find(groups.begin(), groups.end(), g) == groups.end())
                               groups.push_back(g);
                           }
                           return groups;
                         }()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

}  // namespace
}  // namespace parley::testing
