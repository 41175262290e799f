#include "core/subscription.hpp"

#include <gtest/gtest.h>

#include <array>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace parley::core {
namespace {

using storage::Subscription;
using Stanza = SubscriptionStanza;

// The nine states of RFC 6121 Appendix A.1, without pre-approval.
constexpr SubscriptionState kNone{};
constexpr SubscriptionState kNonePendingOut{Subscription::None, true, false, false};
constexpr SubscriptionState kNonePendingIn{Subscription::None, false, true, false};
constexpr SubscriptionState kNonePendingOutIn{Subscription::None, true, true, false};
constexpr SubscriptionState kTo{Subscription::To, false, false, false};
constexpr SubscriptionState kToPendingIn{Subscription::To, false, true, false};
constexpr SubscriptionState kFrom{Subscription::From, false, false, false};
constexpr SubscriptionState kFromPendingOut{Subscription::From, true, false, false};
constexpr SubscriptionState kBoth{Subscription::Both, false, false, false};

constexpr std::array kDefinedStates{kNone, kNonePendingOut, kNonePendingIn, kNonePendingOutIn,
                                    kTo,   kToPendingIn,    kFrom,          kFromPendingOut,
                                    kBoth};
constexpr std::array kStanzas{Stanza::Subscribe, Stanza::Subscribed, Stanza::Unsubscribe,
                              Stanza::Unsubscribed};

constexpr SubscriptionState approved(SubscriptionState s) {
  s.approved = true;
  return s;
}

// As Appendix A writes them: "None + Pending Out+In", plus " (approved)" for a pre-approval.
std::string describe(const SubscriptionState& s) {
  std::string out;
  switch (s.subscription) {
    case Subscription::None:
      out = "None";
      break;
    case Subscription::To:
      out = "To";
      break;
    case Subscription::From:
      out = "From";
      break;
    case Subscription::Both:
      out = "Both";
      break;
  }
  if (s.pending_out && s.pending_in) {
    out += " + Pending Out+In";
  } else if (s.pending_out) {
    out += " + Pending Out";
  } else if (s.pending_in) {
    out += " + Pending In";
  }
  if (s.approved) out += " (approved)";
  return out;
}

enum class Direction { Outbound, Inbound };

// What the server has to do besides changing the state; a row lists the ones that apply.
enum Effect : unsigned {
  kForward = 1u << 0,            // ROUTE? / DELIVER? is MUST
  kRosterPush = 1u << 1,         // subscription, ask or approved changed
  kReplySubscribed = 1u << 2,    // auto-reply 'subscribed' (A.3.1, §3.1.3, §3.4.2)
  kReplyUnsubscribed = 1u << 3,  // auto-reply 'unsubscribed' (A.3.2 [1])
  kCurrentPresence = 1u << 4,    // the user's presence goes to the contact (§3.1.5)
  kUnavailable = 1u << 5,        // 'unavailable' goes to the contact (§3.2.2, §3.3.3)
};

struct Row {
  const char* name;  // the test's name: RFC section, stanza, existing state
  Direction direction;
  SubscriptionState before;
  Stanza stanza;
  SubscriptionState after;
  unsigned effects;
};

std::ostream& operator<<(std::ostream& os, const Row& r) { return os << r.name; }

SubscriptionOutcome apply(Direction d, const SubscriptionState& s, Stanza stanza) {
  return d == Direction::Outbound ? outbound(s, stanza) : inbound(s, stanza);
}

class SubscriptionTransitionTest : public testing::TestWithParam<Row> {};

TEST_P(SubscriptionTransitionTest, FollowsRfc6121) {
  const Row& r = GetParam();
  const SubscriptionOutcome o = apply(r.direction, r.before, r.stanza);
  SCOPED_TRACE(describe(r.before) + " + " + std::string(to_string(r.stanza)) +
               (r.direction == Direction::Outbound ? " (outbound)" : " (inbound)"));
  EXPECT_EQ(o.state, r.after) << "got " << describe(o.state) << ", want " << describe(r.after);
  EXPECT_EQ(o.changed, r.after != r.before);
  EXPECT_EQ(o.forward, (r.effects & kForward) != 0);
  EXPECT_EQ(o.roster_push, (r.effects & kRosterPush) != 0);
  EXPECT_EQ(o.auto_reply_subscribed, (r.effects & kReplySubscribed) != 0);
  EXPECT_EQ(o.auto_reply_unsubscribed, (r.effects & kReplyUnsubscribed) != 0);
  EXPECT_EQ(o.send_current_presence, (r.effects & kCurrentPresence) != 0);
  EXPECT_EQ(o.send_unavailable, (r.effects & kUnavailable) != 0);
}

constexpr Direction kOut = Direction::Outbound;
constexpr Direction kIn = Direction::Inbound;

// Appendix A.2, Tables 2-5: one row per table row. "no state change" rows have after == before.
const std::vector<Row> kAppendixA2 = {
    // A.2.1 subscribe: always routed (MUST); "pending out" sets ask (footnote [1]).
    {"A2_1_Subscribe_None", kOut, kNone, Stanza::Subscribe, kNonePendingOut,
     kForward | kRosterPush},
    {"A2_1_Subscribe_NonePendingOut", kOut, kNonePendingOut, Stanza::Subscribe, kNonePendingOut,
     kForward},
    {"A2_1_Subscribe_NonePendingIn", kOut, kNonePendingIn, Stanza::Subscribe, kNonePendingOutIn,
     kForward | kRosterPush},
    {"A2_1_Subscribe_NonePendingOutIn", kOut, kNonePendingOutIn, Stanza::Subscribe,
     kNonePendingOutIn, kForward},
    {"A2_1_Subscribe_To", kOut, kTo, Stanza::Subscribe, kTo, kForward},
    {"A2_1_Subscribe_ToPendingIn", kOut, kToPendingIn, Stanza::Subscribe, kToPendingIn, kForward},
    {"A2_1_Subscribe_From", kOut, kFrom, Stanza::Subscribe, kFromPendingOut,
     kForward | kRosterPush},
    {"A2_1_Subscribe_FromPendingOut", kOut, kFromPendingOut, Stanza::Subscribe, kFromPendingOut,
     kForward},
    {"A2_1_Subscribe_Both", kOut, kBoth, Stanza::Subscribe, kBoth, kForward},
    // A.2.2 unsubscribe: always routed (MUST).
    {"A2_2_Unsubscribe_None", kOut, kNone, Stanza::Unsubscribe, kNone, kForward},
    {"A2_2_Unsubscribe_NonePendingOut", kOut, kNonePendingOut, Stanza::Unsubscribe, kNone,
     kForward | kRosterPush},
    {"A2_2_Unsubscribe_NonePendingIn", kOut, kNonePendingIn, Stanza::Unsubscribe, kNonePendingIn,
     kForward},
    {"A2_2_Unsubscribe_NonePendingOutIn", kOut, kNonePendingOutIn, Stanza::Unsubscribe,
     kNonePendingIn, kForward | kRosterPush},
    {"A2_2_Unsubscribe_To", kOut, kTo, Stanza::Unsubscribe, kNone, kForward | kRosterPush},
    {"A2_2_Unsubscribe_ToPendingIn", kOut, kToPendingIn, Stanza::Unsubscribe, kNonePendingIn,
     kForward | kRosterPush},
    {"A2_2_Unsubscribe_From", kOut, kFrom, Stanza::Unsubscribe, kFrom, kForward},
    {"A2_2_Unsubscribe_FromPendingOut", kOut, kFromPendingOut, Stanza::Unsubscribe, kFrom,
     kForward | kRosterPush},
    {"A2_2_Unsubscribe_Both", kOut, kBoth, Stanza::Unsubscribe, kFrom, kForward | kRosterPush},
    // A.2.3 subscribed: routed (MUST) only as the answer to a pending request, then the user's
    // presence follows (§3.1.5); without one it is a pre-approval (M.N. route, §3.4.2).
    {"A2_3_Subscribed_None_PreApproves", kOut, kNone, Stanza::Subscribed, approved(kNone),
     kRosterPush},
    {"A2_3_Subscribed_NonePendingOut_PreApproves", kOut, kNonePendingOut, Stanza::Subscribed,
     approved(kNonePendingOut), kRosterPush},
    {"A2_3_Subscribed_NonePendingIn", kOut, kNonePendingIn, Stanza::Subscribed, kFrom,
     kForward | kRosterPush | kCurrentPresence},
    {"A2_3_Subscribed_NonePendingOutIn", kOut, kNonePendingOutIn, Stanza::Subscribed,
     kFromPendingOut, kForward | kRosterPush | kCurrentPresence},
    {"A2_3_Subscribed_To_PreApproves", kOut, kTo, Stanza::Subscribed, approved(kTo), kRosterPush},
    {"A2_3_Subscribed_ToPendingIn", kOut, kToPendingIn, Stanza::Subscribed, kBoth,
     kForward | kRosterPush | kCurrentPresence},
    {"A2_3_Subscribed_From", kOut, kFrom, Stanza::Subscribed, kFrom, 0},
    {"A2_3_Subscribed_FromPendingOut", kOut, kFromPendingOut, Stanza::Subscribed, kFromPendingOut,
     0},
    {"A2_3_Subscribed_Both", kOut, kBoth, Stanza::Subscribed, kBoth, 0},
    // A.2.4 unsubscribed: S.N. route without a request to deny or a subscription to cancel. A
    // denial changes only pending-in, which no roster item shows: no push, no 'unavailable'.
    {"A2_4_Unsubscribed_None", kOut, kNone, Stanza::Unsubscribed, kNone, 0},
    {"A2_4_Unsubscribed_NonePendingOut", kOut, kNonePendingOut, Stanza::Unsubscribed,
     kNonePendingOut, 0},
    {"A2_4_Unsubscribed_NonePendingIn", kOut, kNonePendingIn, Stanza::Unsubscribed, kNone,
     kForward},
    {"A2_4_Unsubscribed_NonePendingOutIn", kOut, kNonePendingOutIn, Stanza::Unsubscribed,
     kNonePendingOut, kForward},
    {"A2_4_Unsubscribed_To", kOut, kTo, Stanza::Unsubscribed, kTo, 0},
    {"A2_4_Unsubscribed_ToPendingIn", kOut, kToPendingIn, Stanza::Unsubscribed, kTo, kForward},
    {"A2_4_Unsubscribed_From", kOut, kFrom, Stanza::Unsubscribed, kNone,
     kForward | kRosterPush | kUnavailable},
    {"A2_4_Unsubscribed_FromPendingOut", kOut, kFromPendingOut, Stanza::Unsubscribed,
     kNonePendingOut, kForward | kRosterPush | kUnavailable},
    {"A2_4_Unsubscribed_Both", kOut, kBoth, Stanza::Unsubscribed, kTo,
     kForward | kRosterPush | kUnavailable},
};

// Appendix A.3, Tables 6-9.
const std::vector<Row> kAppendixA3 = {
    // A.3.1 subscribe: delivered (MUST) when it makes the state pending-in; S.N. when it already
    // is; with a subscription from the contact, S.N. and auto-reply 'subscribed' ([2]).
    {"A3_1_Subscribe_None", kIn, kNone, Stanza::Subscribe, kNonePendingIn, kForward},
    {"A3_1_Subscribe_NonePendingOut", kIn, kNonePendingOut, Stanza::Subscribe, kNonePendingOutIn,
     kForward},
    {"A3_1_Subscribe_NonePendingIn", kIn, kNonePendingIn, Stanza::Subscribe, kNonePendingIn, 0},
    {"A3_1_Subscribe_NonePendingOutIn", kIn, kNonePendingOutIn, Stanza::Subscribe,
     kNonePendingOutIn, 0},
    {"A3_1_Subscribe_To", kIn, kTo, Stanza::Subscribe, kToPendingIn, kForward},
    {"A3_1_Subscribe_ToPendingIn", kIn, kToPendingIn, Stanza::Subscribe, kToPendingIn, 0},
    {"A3_1_Subscribe_From", kIn, kFrom, Stanza::Subscribe, kFrom,
     kReplySubscribed | kCurrentPresence},
    {"A3_1_Subscribe_FromPendingOut", kIn, kFromPendingOut, Stanza::Subscribe, kFromPendingOut,
     kReplySubscribed | kCurrentPresence},
    {"A3_1_Subscribe_Both", kIn, kBoth, Stanza::Subscribe, kBoth,
     kReplySubscribed | kCurrentPresence},
    // A.3.2 unsubscribe: delivered (MUST) and auto-reply 'unsubscribed' ([1]) when it changes
    // the state, S.N. otherwise; 'unavailable' when the contact's subscription ends (§3.3.3).
    {"A3_2_Unsubscribe_None", kIn, kNone, Stanza::Unsubscribe, kNone, 0},
    {"A3_2_Unsubscribe_NonePendingOut", kIn, kNonePendingOut, Stanza::Unsubscribe, kNonePendingOut,
     0},
    {"A3_2_Unsubscribe_NonePendingIn", kIn, kNonePendingIn, Stanza::Unsubscribe, kNone,
     kForward | kReplyUnsubscribed},
    {"A3_2_Unsubscribe_NonePendingOutIn", kIn, kNonePendingOutIn, Stanza::Unsubscribe,
     kNonePendingOut, kForward | kReplyUnsubscribed},
    {"A3_2_Unsubscribe_To", kIn, kTo, Stanza::Unsubscribe, kTo, 0},
    {"A3_2_Unsubscribe_ToPendingIn", kIn, kToPendingIn, Stanza::Unsubscribe, kTo,
     kForward | kReplyUnsubscribed},
    {"A3_2_Unsubscribe_From", kIn, kFrom, Stanza::Unsubscribe, kNone,
     kForward | kRosterPush | kReplyUnsubscribed | kUnavailable},
    {"A3_2_Unsubscribe_FromPendingOut", kIn, kFromPendingOut, Stanza::Unsubscribe, kNonePendingOut,
     kForward | kRosterPush | kReplyUnsubscribed | kUnavailable},
    {"A3_2_Unsubscribe_Both", kIn, kBoth, Stanza::Unsubscribe, kTo,
     kForward | kRosterPush | kReplyUnsubscribed | kUnavailable},
    // A.3.3 subscribed: delivered (MUST) only as the answer to a pending-out request.
    {"A3_3_Subscribed_None", kIn, kNone, Stanza::Subscribed, kNone, 0},
    {"A3_3_Subscribed_NonePendingOut", kIn, kNonePendingOut, Stanza::Subscribed, kTo,
     kForward | kRosterPush},
    {"A3_3_Subscribed_NonePendingIn", kIn, kNonePendingIn, Stanza::Subscribed, kNonePendingIn, 0},
    {"A3_3_Subscribed_NonePendingOutIn", kIn, kNonePendingOutIn, Stanza::Subscribed, kToPendingIn,
     kForward | kRosterPush},
    {"A3_3_Subscribed_To", kIn, kTo, Stanza::Subscribed, kTo, 0},
    {"A3_3_Subscribed_ToPendingIn", kIn, kToPendingIn, Stanza::Subscribed, kToPendingIn, 0},
    {"A3_3_Subscribed_From", kIn, kFrom, Stanza::Subscribed, kFrom, 0},
    {"A3_3_Subscribed_FromPendingOut", kIn, kFromPendingOut, Stanza::Subscribed, kBoth,
     kForward | kRosterPush},
    {"A3_3_Subscribed_Both", kIn, kBoth, Stanza::Subscribed, kBoth, 0},
    // A.3.4 unsubscribed: delivered (MUST) when it denies a pending-out request or cancels the
    // user's subscription; S.N. otherwise.
    {"A3_4_Unsubscribed_None", kIn, kNone, Stanza::Unsubscribed, kNone, 0},
    {"A3_4_Unsubscribed_NonePendingOut", kIn, kNonePendingOut, Stanza::Unsubscribed, kNone,
     kForward | kRosterPush},
    {"A3_4_Unsubscribed_NonePendingIn", kIn, kNonePendingIn, Stanza::Unsubscribed, kNonePendingIn,
     0},
    {"A3_4_Unsubscribed_NonePendingOutIn", kIn, kNonePendingOutIn, Stanza::Unsubscribed,
     kNonePendingIn, kForward | kRosterPush},
    {"A3_4_Unsubscribed_To", kIn, kTo, Stanza::Unsubscribed, kNone, kForward | kRosterPush},
    {"A3_4_Unsubscribed_ToPendingIn", kIn, kToPendingIn, Stanza::Unsubscribed, kNonePendingIn,
     kForward | kRosterPush},
    {"A3_4_Unsubscribed_From", kIn, kFrom, Stanza::Unsubscribed, kFrom, 0},
    {"A3_4_Unsubscribed_FromPendingOut", kIn, kFromPendingOut, Stanza::Unsubscribed, kFrom,
     kForward | kRosterPush},
    {"A3_4_Unsubscribed_Both", kIn, kBoth, Stanza::Unsubscribed, kFrom, kForward | kRosterPush},
};

// The pre-approvals of §3.4 and the auto-replies of §3.1.3 / §3.1.5, beyond the tables.
const std::vector<Row> kSection3 = {
    // §3.1.3 rule 2 / §3.1.5: the contact is already subscribed to the user: the server answers
    // 'subscribed' itself, sends the user's presence, delivers nothing, changes nothing.
    {"S3_1_3_AlreadySubscribedFrom_AutoRepliesSubscribed", kIn, kFrom, Stanza::Subscribe, kFrom,
     kReplySubscribed | kCurrentPresence},
    {"S3_1_3_AlreadySubscribedBoth_AutoRepliesSubscribed", kIn, kBoth, Stanza::Subscribe, kBoth,
     kReplySubscribed | kCurrentPresence},
    {"S3_1_3_AlreadySubscribedAndPreApproved_AutoRepliesOnce", kIn, approved(kFrom),
     Stanza::Subscribe, approved(kFrom), kReplySubscribed | kCurrentPresence},
    // §3.1.5: approving a pending request routes it and sends the user's presence after it.
    {"S3_1_5_ApprovalOfPendingIn_RoutesAndSendsPresence", kOut, kNonePendingIn, Stanza::Subscribed,
     kFrom, kForward | kRosterPush | kCurrentPresence},
    // §3.4.2 step 4: an unknown contact ("None") gets an item with approved='true', not routed.
    {"S3_4_2_Step4_UnknownContact_CreatesApprovedItem", kOut, kNone, Stanza::Subscribed,
     approved(kNone), kRosterPush},
    // §3.4.2 step 3.
    {"S3_4_2_Step3_None_SetsApproved", kOut, kNone, Stanza::Subscribed, approved(kNone),
     kRosterPush},
    {"S3_4_2_Step3_NonePendingOut_SetsApproved", kOut, kNonePendingOut, Stanza::Subscribed,
     approved(kNonePendingOut), kRosterPush},
    {"S3_4_2_Step3_To_SetsApproved", kOut, kTo, Stanza::Subscribed, approved(kTo), kRosterPush},
    {"S3_4_2_Step3_AlreadyApproved_NoChange", kOut, approved(kTo), Stanza::Subscribed,
     approved(kTo), 0},
    // §3.4.2 step 2: with a pending request it is a normal approval.
    {"S3_4_2_Step2_ToPendingIn_NormalApproval", kOut, kToPendingIn, Stanza::Subscribed, kBoth,
     kForward | kRosterPush | kCurrentPresence},
    // §3.4.2 step 1: already From/Both: silently ignored.
    {"S3_4_2_Step1_Both_Ignored", kOut, kBoth, Stanza::Subscribed, kBoth, 0},
    // §3.4.2 (and A.3.1 [1]): a pre-approved request is answered by the server and not
    // delivered; the state becomes what the user's 'subscribed' would have made of it.
    {"S3_4_2_PreApprovedSubscribe_None_AutoApprovesToFrom", kIn, approved(kNone), Stanza::Subscribe,
     approved(kFrom), kRosterPush | kReplySubscribed | kCurrentPresence},
    {"S3_4_2_PreApprovedSubscribe_NonePendingOut_AutoApproves", kIn, approved(kNonePendingOut),
     Stanza::Subscribe, approved(kFromPendingOut),
     kRosterPush | kReplySubscribed | kCurrentPresence},
    {"S3_4_2_PreApprovedSubscribe_To_AutoApprovesToBoth", kIn, approved(kTo), Stanza::Subscribe,
     approved(kBoth), kRosterPush | kReplySubscribed | kCurrentPresence},
    // Not reachable through these functions (a pre-approval is never set with pending-in), but
    // a stored one still means the request is approved.
    {"S3_4_2_PreApprovedSubscribe_NonePendingIn_AutoApproves", kIn, approved(kNonePendingIn),
     Stanza::Subscribe, approved(kFrom), kRosterPush | kReplySubscribed | kCurrentPresence},
    // §3.2.2 step 2: 'unsubscribed' cancels a pre-approval and is not routed.
    {"S3_2_2_Step2_None_CancelsPreApproval", kOut, approved(kNone), Stanza::Unsubscribed, kNone,
     kRosterPush},
    {"S3_2_2_Step2_NonePendingOut_CancelsPreApproval", kOut, approved(kNonePendingOut),
     Stanza::Unsubscribed, kNonePendingOut, kRosterPush},
    {"S3_2_2_Step2_To_CancelsPreApproval", kOut, approved(kTo), Stanza::Unsubscribed, kTo,
     kRosterPush},
    // §3.4 implementation note: a kept pre-approval lasts until the user sends 'unsubscribed'.
    {"S3_4_PreApprovalKept_CancelledWithSubscription", kOut, approved(kFrom), Stanza::Unsubscribed,
     kNone, kForward | kRosterPush | kUnavailable},
    {"S3_4_PreApprovalKept_OutlivesContactsUnsubscribe", kIn, approved(kBoth), Stanza::Unsubscribe,
     approved(kTo), kForward | kRosterPush | kReplyUnsubscribed | kUnavailable},
    {"S3_4_PreApprovalKept_ByUnsubscribe", kOut, approved(kBoth), Stanza::Unsubscribe,
     approved(kFrom), kForward | kRosterPush},
    // §3.2.2: denying a request is routed, but 'unavailable' only goes where a subscription ends.
    {"S3_2_2_Denial_NoUnavailable", kOut, kNonePendingIn, Stanza::Unsubscribed, kNone, kForward},
    // §3.2.3: a cancellation of a subscription the user does not have is ignored.
    {"S3_2_3_NotSubscribed_Ignored", kIn, kFrom, Stanza::Unsubscribed, kFrom, 0},
    // §3.3.3: withdrawing a request that has no roster item only removes the pending record.
    {"S3_3_3_WithdrawnRequest_RemovesPendingIn", kIn, kNonePendingIn, Stanza::Unsubscribe, kNone,
     kForward | kReplyUnsubscribed},
};

std::string row_name(const testing::TestParamInfo<Row>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Rfc6121AppendixA2, SubscriptionTransitionTest,
                         testing::ValuesIn(kAppendixA2), row_name);
INSTANTIATE_TEST_SUITE_P(Rfc6121AppendixA3, SubscriptionTransitionTest,
                         testing::ValuesIn(kAppendixA3), row_name);
INSTANTIATE_TEST_SUITE_P(Rfc6121Section3, SubscriptionTransitionTest, testing::ValuesIn(kSection3),
                         row_name);

// Every defined state meets every stanza exactly once in each table set, so the tables above
// are the whole of Appendix A.
void expect_complete(const std::vector<Row>& rows, Direction d) {
  std::set<std::pair<int, int>> seen;
  for (const Row& r : rows) {
    EXPECT_EQ(r.direction, d) << r.name;
    int state = -1;
    for (std::size_t i = 0; i < kDefinedStates.size(); ++i) {
      if (kDefinedStates[i] == r.before) state = static_cast<int>(i);
    }
    EXPECT_NE(state, -1) << r.name << ": not a defined state";
    EXPECT_TRUE(seen.emplace(state, static_cast<int>(r.stanza)).second) << r.name << " twice";
  }
  EXPECT_EQ(seen.size(), kDefinedStates.size() * kStanzas.size());
}

TEST(SubscriptionTablesTest, AppendixA2RowsCoverEveryStateAndStanza) {
  expect_complete(kAppendixA2, kOut);
}
TEST(SubscriptionTablesTest, AppendixA3RowsCoverEveryStateAndStanza) {
  expect_complete(kAppendixA3, kIn);
}

// Every flag combination, defined or not, in both directions.
std::vector<SubscriptionState> all_states() {
  std::vector<SubscriptionState> out;
  for (auto sub : {Subscription::None, Subscription::To, Subscription::From, Subscription::Both}) {
    for (int bits = 0; bits < 8; ++bits) {
      out.push_back({sub, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0});
    }
  }
  return out;
}

bool is_defined(SubscriptionState s) {
  s.approved = false;
  for (const auto& d : kDefinedStates) {
    if (d == s) return true;
  }
  return false;
}

bool has_from(const SubscriptionState& s) {
  return s.subscription == Subscription::From || s.subscription == Subscription::Both;
}

TEST(SubscriptionInvariantsTest, AppendixA1_ResultIsAlwaysADefinedState) {
  for (const auto& s : all_states()) {
    for (auto stanza : kStanzas) {
      for (auto d : {kOut, kIn}) {
        const auto o = apply(d, s, stanza);
        SCOPED_TRACE(describe(s) + " + " + std::string(to_string(stanza)));
        EXPECT_TRUE(is_defined(o.state)) << describe(o.state);
        EXPECT_EQ(o.changed, o.state != s);
        EXPECT_TRUE(!o.roster_push || o.changed);
        EXPECT_FALSE(o.auto_reply_subscribed && o.forward);
        EXPECT_FALSE(o.auto_reply_subscribed && o.auto_reply_unsubscribed);
        EXPECT_EQ(o.send_unavailable, has_from(s) && !has_from(o.state));
      }
    }
  }
}

// A contradicting flag (To with ask, From with a pending request) is dropped, the rest applies.
TEST(SubscriptionInvariantsTest, AppendixA1_ImpossibleFlagsAreDropped) {
  const SubscriptionState to_with_ask{Subscription::To, true, false, false};
  const auto o = inbound(to_with_ask, Stanza::Subscribed);
  EXPECT_EQ(o.state, kTo);
  EXPECT_TRUE(o.changed);
  EXPECT_FALSE(o.forward);  // A.3.3: "To" gets no delivery, though ask was set

  const SubscriptionState from_with_request{Subscription::From, false, true, false};
  const auto p = outbound(from_with_request, Stanza::Subscribed);
  EXPECT_EQ(p.state, kFrom);
  EXPECT_FALSE(p.forward);  // A.2.3: "From" is not routed
}

// In every table, the state a stanza leads to is a "no state change" row for that stanza: the
// same stanza again changes nothing (so retransmissions and resent requests are harmless).
TEST(SubscriptionInvariantsTest, AppendixA_RepeatedStanzaChangesNothing) {
  for (const auto& s : all_states()) {
    for (auto stanza : kStanzas) {
      for (auto d : {kOut, kIn}) {
        const auto first = apply(d, s, stanza);
        const auto second = apply(d, first.state, stanza);
        EXPECT_FALSE(second.changed) << describe(s) << " + " << to_string(stanza) << " twice";
        EXPECT_FALSE(second.roster_push);
      }
    }
  }
}

TEST(SubscriptionRosterItemTest, AppendixA1_OnlyNoneAndNonePendingInNeedNoItem) {
  EXPECT_FALSE(requires_roster_item(kNone));
  EXPECT_FALSE(requires_roster_item(kNonePendingIn));  // A.1 item 3, §3.1.3
  EXPECT_TRUE(requires_roster_item(kNonePendingOut));
  EXPECT_TRUE(requires_roster_item(kNonePendingOutIn));
  EXPECT_TRUE(requires_roster_item(kTo));
  EXPECT_TRUE(requires_roster_item(kToPendingIn));
  EXPECT_TRUE(requires_roster_item(kFrom));
  EXPECT_TRUE(requires_roster_item(kFromPendingOut));
  EXPECT_TRUE(requires_roster_item(kBoth));
  EXPECT_TRUE(requires_roster_item(approved(kNone)));  // §3.4.2 step 4
}

// An inbound request creates no item (§3.1.3, security warning); approving it does (§3.1.5).
TEST(SubscriptionRosterItemTest, S3_1_3_RequestAloneCreatesNoItem) {
  const auto request = inbound(kNone, Stanza::Subscribe);
  EXPECT_FALSE(request.roster_push);
  EXPECT_FALSE(requires_roster_item(request.state));
  const auto approval = outbound(request.state, Stanza::Subscribed);
  EXPECT_TRUE(approval.roster_push);
  EXPECT_TRUE(requires_roster_item(approval.state));
}

TEST(SubscriptionStanzaTest, ParsesTheFourTypesOnly) {
  for (auto stanza : kStanzas) EXPECT_EQ(subscription_stanza(to_string(stanza)), stanza);
  EXPECT_EQ(to_string(Stanza::Subscribe), "subscribe");
  EXPECT_EQ(to_string(Stanza::Subscribed), "subscribed");
  EXPECT_EQ(to_string(Stanza::Unsubscribe), "unsubscribe");
  EXPECT_EQ(to_string(Stanza::Unsubscribed), "unsubscribed");
  for (const char* other : {"", "unavailable", "probe", "error", "Subscribe", "subscribe "}) {
    EXPECT_EQ(subscription_stanza(other), std::nullopt) << other;
  }
}

// Two servers, each running the functions for its own user; what one routes the other
// receives, and auto-replies go back. Checks that the tables fit together (§3's examples).
struct Party {
  SubscriptionState state;  // towards the other party
  std::vector<Stanza> delivered;
};

void send(Party& from, Party& to, Stanza stanza) {
  const auto out = outbound(from.state, stanza);
  from.state = out.state;
  if (!out.forward) return;
  const auto in = inbound(to.state, stanza);
  to.state = in.state;
  if (in.forward) to.delivered.push_back(stanza);
  for (auto [reply, wanted] : {std::pair{Stanza::Subscribed, in.auto_reply_subscribed},
                               std::pair{Stanza::Unsubscribed, in.auto_reply_unsubscribed}}) {
    if (!wanted) continue;
    const auto back = inbound(from.state, reply);
    from.state = back.state;
    if (back.forward) from.delivered.push_back(reply);
  }
}

TEST(SubscriptionFlowTest, S3_1_RequestApproveAndMutualSubscription) {
  Party romeo, juliet;
  send(romeo, juliet, Stanza::Subscribe);  // §3.1.1-3
  EXPECT_EQ(romeo.state, kNonePendingOut);
  EXPECT_EQ(juliet.state, kNonePendingIn);
  send(juliet, romeo, Stanza::Subscribed);  // §3.1.5-6
  EXPECT_EQ(romeo.state, kTo);
  EXPECT_EQ(juliet.state, kFrom);
  send(juliet, romeo, Stanza::Subscribe);
  send(romeo, juliet, Stanza::Subscribed);
  EXPECT_EQ(romeo.state, kBoth);
  EXPECT_EQ(juliet.state, kBoth);
  EXPECT_EQ(juliet.delivered, (std::vector{Stanza::Subscribe, Stanza::Subscribed}));
  EXPECT_EQ(romeo.delivered, (std::vector{Stanza::Subscribed, Stanza::Subscribe}));
}

TEST(SubscriptionFlowTest, S3_4_PreApprovedRequestIsNeverDelivered) {
  Party romeo, juliet;
  send(juliet, romeo, Stanza::Subscribed);  // pre-approval: not routed
  EXPECT_EQ(juliet.state, approved(kNone));
  EXPECT_EQ(romeo.state, kNone);
  send(romeo, juliet, Stanza::Subscribe);
  EXPECT_EQ(romeo.state, kTo);
  EXPECT_EQ(juliet.state, approved(kFrom));
  EXPECT_TRUE(juliet.delivered.empty());
  EXPECT_EQ(romeo.delivered, std::vector{Stanza::Subscribed});
}

TEST(SubscriptionFlowTest, S3_2_And_S3_3_CancelAndUnsubscribeFromBoth) {
  Party romeo{kBoth, {}}, juliet{kBoth, {}};
  send(juliet, romeo, Stanza::Unsubscribed);  // §3.2: juliet cancels romeo's subscription
  EXPECT_EQ(juliet.state, kTo);
  EXPECT_EQ(romeo.state, kFrom);
  send(romeo, juliet, Stanza::Unsubscribe);  // §3.3: romeo had nothing left to unsubscribe from
  EXPECT_EQ(romeo.state, kFrom);
  EXPECT_EQ(juliet.state, kTo);
  send(juliet, romeo, Stanza::Unsubscribe);  // juliet unsubscribes from romeo
  EXPECT_EQ(juliet.state, kNone);
  EXPECT_EQ(romeo.state, kNone);
}

TEST(SubscriptionFlowTest, S3_1_3_ResentRequestResynchronisesALostApproval) {
  // Romeo's server lost the approval (still "None + Pending Out"); Juliet's has "From".
  Party romeo{kNonePendingOut, {}}, juliet{kFrom, {}};
  send(romeo, juliet, Stanza::Subscribe);
  EXPECT_EQ(romeo.state, kTo);
  EXPECT_EQ(juliet.state, kFrom);
  EXPECT_TRUE(juliet.delivered.empty());
}

TEST(SubscriptionFlowTest, S3_2_DenialReachesTheRequester) {
  Party romeo, juliet;
  send(romeo, juliet, Stanza::Subscribe);
  send(juliet, romeo, Stanza::Unsubscribed);
  EXPECT_EQ(romeo.state, kNone);
  EXPECT_EQ(juliet.state, kNone);
  EXPECT_EQ(romeo.delivered, std::vector{Stanza::Unsubscribed});
}

}  // namespace
}  // namespace parley::core
