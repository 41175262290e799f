// RFC 6121 Appendix A on the wire: every transition of A.2 (outbound subscription stanzas) and A.3
// (inbound ones), between two local accounts, against the real server. Each row sets up the
// state between the user and the contact through the real protocol (subscribe, subscribed, …),
// has one of them send one stanza, and checks what both clients get — the stanza delivered or
// not, roster pushes (subscription, ask, approved) to the interested resource, auto-replies,
// presence — and both rosters afterwards (roster get).
//
// The tables below are Appendix A transcribed from the RFC; a small model of the two servers
// (Wire::send) turns a row into what must appear on each client's stream, following §3 for what
// the tables leave to the text: roster pushes after the delivery of an inbound stanza (§3.1.6,
// §3.2.3, §3.3.3), current presence after an approval (§3.1.5), unavailable presence when a
// subscription to the user's presence ends (§3.2.2, §3.3.3), pre-approvals (§3.4).
//
// Both accounts are on this server, so the contact's server is this server too: an inbound
// stanza (A.3) is the contact's outbound stanza (A.2), and reaches the user only when A.2 routes
// it. Six A.3 rows are reached through an auto-reply of the contact's server instead (A.3.1 [2],
// A.3.2 [1]); three (A.3.3 "None", "None + Pending In", "From") cannot be reached between two
// consistent local rosters at all — there the contact's server does not route the 'subscribed'
// (A.2.3, M.N.), and the row checks that the user sees nothing and keeps the state, as the A.3.3
// row says.
//
// The rows run in groups, one test per table (A2_1 … A3_4, and S3_4 for pre-approvals), so that
// ctest starts one server per table rather than per row; a failure names its row and state.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/server_process.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::testing {
namespace {

namespace ns = xml::ns;

constexpr char kPassword[] = "secret";
constexpr char kDomain[] = "localhost";
constexpr std::string_view kRoster = "jabber:iq:roster";

// --- Appendix A ----------------------------------------------------------------------------------

// The nine states of A.1, from the user's side, in the order of the tables.
enum State : int { None, NonePO, NonePI, NonePOI, To, ToPI, From, FromPO, Both };
constexpr std::array<const char*, 9> kStateNames{
    "None", "NonePendingOut", "NonePendingIn", "NonePendingOutIn", "To", "ToPendingIn",
    "From", "FromPendingOut", "Both"};

bool has_to(State s) { return s == To || s == ToPI || s == Both; }
bool has_from(State s) { return s == From || s == FromPO || s == Both; }
bool pending_out(State s) { return s == NonePO || s == NonePOI || s == FromPO; }
const char* subscription_of(State s) {
  return has_to(s) ? (has_from(s) ? "both" : "to") : (has_from(s) ? "from" : "none");
}

enum class Stanza { Subscribe, Subscribed, Unsubscribe, Unsubscribed };
constexpr std::array<const char*, 4> kStanzaNames{"subscribe", "subscribed", "unsubscribe",
                                                  "unsubscribed"};
const char* type_of(Stanza x) { return kStanzaNames[static_cast<int>(x)]; }

// ROUTE? (A.2) / DELIVER? (A.3). S.N. is taken as "not", as Parley does.
enum class Pass { Must, ShouldNot, MustNot };
enum class Note {
  None,
  PreApproval,        // A.2.3 [1]: §3.4
  CancelPreApproval,  // A.2.4 [1]
  AutoApproval,       // A.3.1 [1]: with a pre-approval, auto-reply 'subscribed', state "From"
  ReplySubscribed,    // A.3.1 [2]
  ReplyUnsubscribed,  // A.3.2 [1]
};
struct Cell {
  Pass pass;
  State next;
  Note note = Note::None;
};
using Table = std::array<Cell, 9>;

constexpr Pass MUST = Pass::Must;
constexpr Pass SN = Pass::ShouldNot;
constexpr Pass MN = Pass::MustNot;

// clang-format off
// A.2.1, Table 2: outbound "subscribe".
constexpr Table kOutSubscribe{{
    {MUST, NonePO}, {MUST, NonePO}, {MUST, NonePOI}, {MUST, NonePOI}, {MUST, To},
    {MUST, ToPI}, {MUST, FromPO}, {MUST, FromPO}, {MUST, Both}}};
// A.2.2, Table 3: outbound "unsubscribe".
constexpr Table kOutUnsubscribe{{
    {MUST, None}, {MUST, None}, {MUST, NonePI}, {MUST, NonePI}, {MUST, None},
    {MUST, NonePI}, {MUST, From}, {MUST, From}, {MUST, From}}};
// A.2.3, Table 4: outbound "subscribed".
constexpr Table kOutSubscribed{{
    {MN, None, Note::PreApproval}, {MN, NonePO, Note::PreApproval}, {MUST, From},
    {MUST, FromPO}, {MN, To, Note::PreApproval}, {MUST, Both}, {MN, From}, {MN, FromPO},
    {MN, Both}}};
// A.2.4, Table 5: outbound "unsubscribed".
constexpr Table kOutUnsubscribed{{
    {SN, None, Note::CancelPreApproval}, {SN, NonePO, Note::CancelPreApproval}, {MUST, None},
    {MUST, NonePO}, {SN, To, Note::CancelPreApproval}, {MUST, To}, {MUST, None}, {MUST, NonePO},
    {MUST, To}}};
// A.3.1, Table 6: inbound "subscribe".
constexpr Table kInSubscribe{{
    {MUST, NonePI, Note::AutoApproval}, {MUST, NonePOI}, {SN, NonePI}, {SN, NonePOI},
    {MUST, ToPI}, {SN, ToPI}, {SN, From, Note::ReplySubscribed},
    {SN, FromPO, Note::ReplySubscribed}, {SN, Both, Note::ReplySubscribed}}};
// A.3.2, Table 7: inbound "unsubscribe".
constexpr Table kInUnsubscribe{{
    {SN, None}, {SN, NonePO}, {MUST, None, Note::ReplyUnsubscribed},
    {MUST, NonePO, Note::ReplyUnsubscribed}, {SN, To}, {MUST, To, Note::ReplyUnsubscribed},
    {MUST, None, Note::ReplyUnsubscribed}, {MUST, NonePO, Note::ReplyUnsubscribed},
    {MUST, To, Note::ReplyUnsubscribed}}};
// A.3.3, Table 8: inbound "subscribed".
constexpr Table kInSubscribed{{
    {SN, None}, {MUST, To}, {SN, NonePI}, {MUST, ToPI}, {SN, To}, {SN, ToPI}, {SN, From},
    {MUST, Both}, {SN, Both}}};
// A.3.4, Table 9: inbound "unsubscribed".
constexpr Table kInUnsubscribed{{
    {SN, None}, {MUST, None}, {SN, NonePI}, {MUST, NonePI}, {MUST, None}, {MUST, NonePI},
    {SN, From}, {MUST, From}, {MUST, From}}};
// clang-format on

const Table& table(bool outbound, Stanza x) {
  switch (x) {
    case Stanza::Subscribe:
      return outbound ? kOutSubscribe : kInSubscribe;
    case Stanza::Subscribed:
      return outbound ? kOutSubscribed : kInSubscribed;
    case Stanza::Unsubscribe:
      return outbound ? kOutUnsubscribe : kInUnsubscribe;
    case Stanza::Unsubscribed:
      break;
  }
  return outbound ? kOutUnsubscribed : kInUnsubscribed;
}

const char* section_of(bool outbound, Stanza x) {
  static constexpr std::array<const char*, 4> kOut{"A.2.1", "A.2.3", "A.2.2", "A.2.4"};
  static constexpr std::array<const char*, 4> kIn{"A.3.1", "A.3.3", "A.3.2", "A.3.4"};
  return (outbound ? kOut : kIn)[static_cast<int>(x)];
}

// --- The model of what appears on the wire
// --------------------------------------------------------

// §3.4, implementation note: whether the 'approved' flag stays once the pre-approval has been
// used is the server's choice, so then either is right.
enum class Approved { No, Yes, Either };

struct Party {
  std::string bare;
  std::string full;  // its one session: available and interested (it did a roster get)
  State state = None;
  bool item = false;  // the roster has an item for the other party
  Approved approved = Approved::No;
};

// One element a client must get: its description (see describe()), and the index of another
// expected element of the same client that the RFC wants before it (-1: none), with why.
struct Event {
  std::string text;
  int after = -1;
  std::string why;
};
using Events = std::vector<Event>;

// The roster item of `p` for `other` as a roster get or push shows it (RFC 6121 §2.1.2).
std::string item_text(const Party& p, const Party& other) {
  if (!p.item) return "no item";
  std::string out = "item jid='" + other.bare + "' subscription='" + subscription_of(p.state) + "'";
  if (pending_out(p.state)) out += " ask='subscribe'";
  if (p.approved == Approved::Yes) out += " approved='true'";
  if (p.approved == Approved::Either) out += " approved=?";
  return out;
}

// Whether an expected description matches an actual one (" approved=?" matches with and without).
bool matches(const std::string& expected, const std::string& actual) {
  constexpr std::string_view kEither = " approved=?";
  const auto at = expected.find(kEither);
  if (at == std::string::npos) return expected == actual;
  std::string e = expected;
  e.erase(at, kEither.size());
  std::string a = actual;
  if (const auto t = a.find(" approved='true'"); t != std::string::npos) a.erase(t, 16);
  return e == a;
}

// The two servers' processing (here: one server, two accounts) of a subscription stanza one
// party's client sends to the other's bare JID, and what each party's client gets.
class Wire {
 public:
  Wire(Party& user, Party& contact) : user_(user), contact_(contact) {}

  std::pair<Events, Events> send(Party& from, Stanza x) {
    events_user_.clear();
    events_contact_.clear();
    outbound(from, other(from), x);
    return {events_user_, events_contact_};
  }

 private:
  Party& other(Party& p) { return &p == &user_ ? contact_ : user_; }
  Events& events(Party& p) { return &p == &user_ ? events_user_ : events_contact_; }
  static int add(Events& e, std::string text, int after = -1, std::string why = {}) {
    e.push_back({std::move(text), after, std::move(why)});
    return static_cast<int>(e.size()) - 1;
  }
  static bool requires_item(const Party& p) {
    return p.state != None && p.state != NonePI ? true : p.approved != Approved::No;
  }

  // A.2: `a`'s server processes the stanza a's client sent to `b`.
  void outbound(Party& a, Party& b, Stanza x) {
    const Cell& cell = table(true, x)[a.state];
    const std::string before = item_text(a, b);
    int unavailable = -1;
    if (x == Stanza::Unsubscribed && has_from(a.state) && !has_from(cell.next)) {
      // §3.2.2: while b is still subscribed, unavailable presence from a's resources first.
      unavailable = add(events(b), "presence type='unavailable' from='" + a.full + "'");
    }
    a.state = cell.next;
    if (cell.note == Note::PreApproval) a.approved = Approved::Yes;  // §3.4.2 steps 3, 4
    // §3.2.2 rule 2, A.2.4 [1], §3.4: 'unsubscribed' cancels a pre-approval.
    if (x == Stanza::Unsubscribed) a.approved = Approved::No;
    a.item = a.item || requires_item(a);
    // §3.1.2, §3.1.5, §3.2.2, §3.3.2, §3.4.2: a roster push when the item changed.
    if (item_text(a, b) != before) add(events(a), "push " + item_text(a, b));
    if (cell.pass == Pass::Must) inbound(b, a, x, unavailable);
    // §3.1.5: after routing an approval, a's current presence to b.
    if (x == Stanza::Subscribed && cell.pass == Pass::Must) {
      add(events(b), "presence from='" + a.full + "'");
    }
  }

  // A.3: `b`'s server processes the stanza from `a`.
  void inbound(Party& b, Party& a, Stanza x, int after_unavailable) {
    const Cell& cell = table(false, x)[b.state];
    if (x == Stanza::Subscribe && b.approved != Approved::No && !has_from(b.state)) {
      // §3.4.2 and A.3.1 [1]: not delivered; approved on b's behalf ('subscribed' from b's bare
      // JID), as if b had sent it: the state A.2.3 gives for the pending-in state.
      b.state = kOutSubscribed[cell.next].next;
      b.approved = Approved::Either;
      b.item = true;
      add(events(b), "push " + item_text(b, a));
      inbound(a, b, Stanza::Subscribed, -1);
      add(events(a), "presence from='" + b.full + "'");  // §3.1.5
      return;
    }
    const std::string before = item_text(b, a);
    const bool had_from = has_from(b.state);
    int delivered = -1;
    if (cell.pass == Pass::Must) {
      delivered =
          add(events(b), "presence type='" + std::string(type_of(x)) + "' from='" + a.bare + "'",
              after_unavailable,
              "RFC 6121 §3.2.2: the unavailable presence comes before the 'unsubscribed'");
    }
    // §3.1.6 (an approval), §3.2.3 (a cancellation of the user's subscription: 'to' or 'both'),
    // §3.3.3 (an unsubscribe from a contact with 'from' or 'both'), each step 1: "This MUST occur
    // before sending the roster push". (A denied or withdrawn request is in the tables only.)
    const bool ordered = x == Stanza::Subscribed ||
                         (x == Stanza::Unsubscribed && has_to(b.state)) ||
                         (x == Stanza::Unsubscribe && had_from);
    b.state = cell.next;
    b.item = b.item || requires_item(b);
    if (item_text(b, a) != before) {
      add(events(b), "push " + item_text(b, a), ordered ? delivered : -1,
          "RFC 6121 §3.1.6, §3.2.3, §3.3.3 step 1: the inbound stanza is delivered to the "
          "interested resources before the roster push (\"This MUST occur before sending the "
          "roster push\")");
    }
    if (cell.note == Note::ReplySubscribed) {
      // A.3.1 [2], §3.1.3 rule 2; the current presence follows as after any approval (§3.1.5).
      inbound(a, b, Stanza::Subscribed, -1);
      add(events(a), "presence from='" + b.full + "'");
    }
    if (cell.note == Note::ReplyUnsubscribed) inbound(a, b, Stanza::Unsubscribed, -1);  // A.3.2 [1]
    if (x == Stanza::Unsubscribe && had_from && !has_from(b.state)) {
      // §3.3.3 step 3: unavailable presence from each of b's available resources to a.
      add(events(a), "presence type='unavailable' from='" + b.full + "'");
    }
  }

  Party& user_;
  Party& contact_;
  Events events_user_;
  Events events_contact_;
};

// --- Rows
// ------------------------------------------------------------------------------------------

enum class Who { User, Contact };
struct Step {
  Who who;
  Stanza x;
};

// How the user reaches each state with the contact, by the protocol (A.1).
std::vector<Step> setup_of(State s, bool approved) {
  using enum Stanza;
  std::vector<Step> steps;
  switch (s) {
    case None:
      break;
    case NonePO:
      steps = {{Who::User, Subscribe}};
      break;
    case NonePI:
      steps = {{Who::Contact, Subscribe}};
      break;
    case NonePOI:
      steps = {{Who::User, Subscribe}, {Who::Contact, Subscribe}};
      break;
    case To:
      steps = {{Who::User, Subscribe}, {Who::Contact, Subscribed}};
      break;
    case ToPI:
      steps = {{Who::User, Subscribe}, {Who::Contact, Subscribed}, {Who::Contact, Subscribe}};
      break;
    case From:
      steps = {{Who::Contact, Subscribe}, {Who::User, Subscribed}};
      break;
    case FromPO:
      steps = {{Who::Contact, Subscribe}, {Who::User, Subscribed}, {Who::User, Subscribe}};
      break;
    case Both:
      steps = {{Who::User, Subscribe},
               {Who::Contact, Subscribed},
               {Who::Contact, Subscribe},
               {Who::User, Subscribed}};
      break;
  }
  if (approved) steps.push_back({Who::User, Subscribed});  // §3.4.1: pre-approval
  return steps;
}

struct Row {
  std::string name;
  bool outbound;  // A.2: the user sends `x`; A.3: the user's server receives `x`
  Stanza x;
  State state;            // the user's state when `x` is processed
  bool approved = false;  // the user has pre-approved the contact (§3.4)
  // The state set up and the stanza the user (not the contact) sends, when the row's inbound
  // stanza comes as an auto-reply of the contact's server.
  std::optional<std::pair<State, Stanza>> via_user;
  bool unreachable = false;  // the contact's server does not route `x` (see the top)
};

std::vector<Row> make_rows() {
  std::vector<Row> rows;
  constexpr std::array kOrder{Stanza::Subscribe, Stanza::Unsubscribe, Stanza::Subscribed,
                              Stanza::Unsubscribed};
  for (bool outbound : {true, false}) {
    for (Stanza x : kOrder) {
      for (int i = 0; i < 9; ++i) {
        const State s = static_cast<State>(i);
        Row row{std::string(section_of(outbound, x)).replace(1, 1, "").replace(2, 1, "_") + "_" +
                    type_of(x) + "_" + kStateNames[s],
                outbound,
                x,
                s,
                false,
                std::nullopt,
                false};
        if (!outbound && x == Stanza::Subscribed) {
          // A.2.3 routes 'subscribed' only from the contact's NonePI, NonePOI, ToPI.
          if (s == To || s == ToPI || s == Both) {
            row.via_user = {{s, Stanza::Subscribe}};  // A.3.1 [2]: auto-reply 'subscribed'
          } else if (s != NonePO && s != NonePOI && s != FromPO) {
            row.unreachable = true;
          }
        }
        if (!outbound && x == Stanza::Unsubscribed) {
          // A.2.4 routes 'unsubscribed' except from the contact's None, NonePO, To: reach the
          // user's None, NonePI, From through A.3.2 [1] after the user's 'unsubscribe'.
          if (s == None) row.via_user = {{To, Stanza::Unsubscribe}};
          if (s == NonePI) row.via_user = {{ToPI, Stanza::Unsubscribe}};
          if (s == From) row.via_user = {{Both, Stanza::Unsubscribe}};
        }
        rows.push_back(std::move(row));
      }
    }
  }
  // §3.4: pre-approvals used (A.3.1 [1]) and cancelled (A.2.4 [1]).
  for (State s : {None, NonePO, To}) {
    rows.push_back({std::string("S3_4_PreApproved_A31_subscribe_") + kStateNames[s], false,
                    Stanza::Subscribe, s, true, std::nullopt, false});
    rows.push_back({std::string("S3_4_PreApproved_A24_unsubscribed_") + kStateNames[s], true,
                    Stanza::Unsubscribed, s, true, std::nullopt, false});
  }
  return rows;
}

// --- The wire
// -------------------------------------------------------------------------------------

// One line per element: presence (type, from), roster push (the item), anything else serialized.
std::string describe(xml::Element e, const std::string& own_bare) {
  if (e.is("presence", ns::kClient)) {
    std::string out = "presence";
    if (auto type = e.find_attr("type")) out += " type='" + std::string(*type) + "'";
    return out + " from='" + std::string(e.attr("from")) + "'";
  }
  const xml::Element query = e.child("query", kRoster);
  if (e.is("iq", ns::kClient) && e.attr("type") == "set" && query) {
    std::string out = "push";
    // RFC 6121 §2.1.6: a push comes from the account (no 'from', or the bare JID).
    if (!e.attr("from").empty() && e.attr("from") != own_bare)
      out += " from='" + std::string(e.attr("from")) + "'";
    for (xml::Element item = query.first_child(); item; item = item.next_sibling()) {
      out += " item jid='" + std::string(item.attr("jid")) + "' subscription='" +
             std::string(item.attr("subscription")) + "'";
      if (auto ask = item.find_attr("ask")) out += " ask='" + std::string(*ask) + "'";
      if (auto approved = item.find_attr("approved"))
        out += " approved='" + std::string(*approved) + "'";
    }
    return out;
  }
  return xml::serialize(e);
}

struct Account {
  Party party;
  std::unique_ptr<Client> client;
};

class SubscriptionWireTest : public ::testing::Test {
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

  static std::string fresh(const char* prefix) { return prefix + std::to_string(++next_); }

  // A session of `user` (resource "r") that fetched the roster (interested, §2.1.6) and sent
  // initial presence (available): it gets both subscription requests and answers.
  // `create`: the account is registered first, on the same stream.
  static std::unique_ptr<Client> connect(const std::string& user, bool create) {
    auto client = std::make_unique<Client>(server_->port());
    if (create) {
      register_account(*client, user, kPassword);
      EXPECT_TRUE(client->authenticate(user, kPassword, "SCRAM-SHA-1").success);
      client->bind("r");
    } else {
      client->login(user, kPassword, "SCRAM-SHA-1", "r");
    }
    roster(*client);
    client->send("<presence/>");
    drain(*client);
    return client;
  }

  static Account account(const char* prefix) {
    const std::string user = fresh(prefix);
    const std::string bare = user + "@" + kDomain;
    Account a{{bare, bare + "/r"}, connect(user, true)};
    return a;
  }

  // Roster get (RFC 6121 §2.1.3): the items, by jid, as item_text() shows them.
  static std::vector<std::string> roster(Client& client) {
    static int ids = 0;
    const std::string id = "roster-" + std::to_string(++ids);
    client.send("<iq type='get' id='" + id + "'><query xmlns='jabber:iq:roster'/></iq>");
    const xml::Document result = read_until(
        client, [&id](xml::Element e) { return e.is("iq", ns::kClient) && e.attr("id") == id; });
    std::vector<std::string> items;
    const xml::Element query = result.root().child("query", kRoster);
    for (xml::Element item = query ? query.first_child() : xml::Element(); item;
         item = item.next_sibling()) {
      std::string out = "item jid='" + std::string(item.attr("jid")) + "' subscription='" +
                        std::string(item.attr("subscription")) + "'";
      if (auto ask = item.find_attr("ask")) out += " ask='" + std::string(*ask) + "'";
      if (auto approved = item.find_attr("approved"))
        out += " approved='" + std::string(*approved) + "'";
      items.push_back(out);
    }
    return items;
  }

  // The item for `other` in the roster of `client`'s account, or "no item".
  static std::string roster_item(Client& client, const Party& other) {
    std::string found = "no item";
    for (const auto& item : roster(client)) {
      if (item.starts_with("item jid='" + other.bare + "'")) found = item;
    }
    return found;
  }

  // Everything up to a ping round-trip, described; roster pushes are acknowledged (§2.1.6).
  static std::vector<std::string> take(Client& client, const Party& self) {
    std::vector<std::string> out;
    for (const auto& e : drain(client)) {
      out.push_back(describe(e.root(), self.bare));
      if (out.back().starts_with("push")) {
        client.send("<iq type='result' id='" + std::string(e.root().attr("id")) + "'/>");
      }
    }
    return out;
  }

  static void send(Client& client, Stanza x, const Party& to, const std::string& id) {
    client.send("<presence type='" + std::string(type_of(x)) + "' to='" + to.bare + "' id='" + id +
                "'/>");
  }

  static std::unique_ptr<ServerProcess> server_;
  static int next_;
};

std::unique_ptr<ServerProcess> SubscriptionWireTest::server_;
int SubscriptionWireTest::next_ = 0;

std::string dump(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n    " + l;
  return out.empty() ? "\n    (nothing)" : out;
}

// `actual` (in arrival order) holds exactly the `expected` elements, in the order the RFC asks
// for where it asks for one; roster pushes in the order of the changes they show.
void expect_events(const std::vector<std::string>& actual, const Events& expected,
                   const std::string& who) {
  std::vector<std::string> wanted;
  for (const auto& e : expected) wanted.push_back(e.text);
  std::vector<int> at(expected.size(), -1);
  std::vector<bool> used(actual.size(), false);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    for (std::size_t j = 0; j < actual.size(); ++j) {
      if (!used[j] && matches(expected[i].text, actual[j])) {
        at[i] = static_cast<int>(j);
        used[j] = true;
        break;
      }
    }
  }
  const bool all = std::find(at.begin(), at.end(), -1) == at.end() &&
                   std::find(used.begin(), used.end(), false) == used.end();
  EXPECT_TRUE(all) << who << " got:" << dump(actual) << "\n  expected:" << dump(wanted);
  if (!all) return;
  int last_push = -1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Event& e = expected[i];
    if (e.after >= 0) {
      EXPECT_LT(at[e.after], at[i])
          << who << ": '" << expected[e.after].text << "' must come before '" << e.text << "' — "
          << e.why << "; got:" << dump(actual);
    }
    if (e.text.starts_with("push")) {
      if (last_push >= 0) {
        EXPECT_LT(at[last_push], at[i])
            << who << ": roster pushes out of order; got:" << dump(actual);
      }
      last_push = static_cast<int>(i);
    }
  }
}

const std::vector<Row>& rows() {
  static const std::vector<Row> all = make_rows();
  return all;
}

// The group of a row: its table ("A2_1" … "A3_4") or "S3_4".
std::string group_of(const Row& row) { return row.name.substr(0, 4); }

class SubscriptionWireTableTest : public SubscriptionWireTest,
                                  public ::testing::WithParamInterface<std::string> {
 protected:
  // Sets up the row's state, sends its stanza, checks both clients and both rosters.
  static void check(const Row& row);
};

// One process per table under ctest (a server per process): its rows run in a loop.
TEST_P(SubscriptionWireTableTest, Rows) {
  int count = 0;
  for (const Row& row : rows()) {
    if (group_of(row) != GetParam()) continue;
    ++count;
    SCOPED_TRACE(row.name);
    try {
      check(row);
    } catch (const std::exception& e) {  // a helper gave up: this row fails, the next one runs
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_GT(count, 0);
}

void SubscriptionWireTableTest::check(const Row& row) {
  SCOPED_TRACE(
      std::string("RFC 6121 ") + section_of(row.outbound, row.x) + ", state \"" +
      kStateNames[row.state] + "\"" + (row.approved ? " with a pre-approval (§3.4)" : "") +
      (row.unreachable ? " — not routed by the contact's server (A.2.3), see the top" : ""));
  Account user = account("user");
  Account contact = account("contact");
  Wire wire(user.party, contact.party);

  // The state, through the protocol; the model follows.
  const State setup = row.via_user ? row.via_user->first : row.state;
  int n = 0;
  for (const Step& step : setup_of(setup, row.approved)) {
    Account& from = step.who == Who::User ? user : contact;
    Account& to = step.who == Who::User ? contact : user;
    send(*from.client, step.x, to.party, "setup" + std::to_string(++n));
    wire.send(from.party, step.x);
    take(*from.client, from.party);
    take(*to.client, to.party);
  }
  ASSERT_TRUE(
      matches(item_text(user.party, contact.party), roster_item(*user.client, contact.party)))
      << "setup: the user's roster should show \"" << kStateNames[setup] << "\" as "
      << item_text(user.party, contact.party) << ", but has "
      << roster_item(*user.client, contact.party);
  ASSERT_TRUE(
      matches(item_text(contact.party, user.party), roster_item(*contact.client, user.party)))
      << "setup: the contact's roster should show " << item_text(contact.party, user.party)
      << ", but has " << roster_item(*contact.client, user.party);

  // The row's stanza.
  Who who = row.outbound || row.via_user ? Who::User : Who::Contact;
  const Stanza x = row.via_user ? row.via_user->second : row.x;
  Account& actor = who == Who::User ? user : contact;
  Account& peer = who == Who::User ? contact : user;
  send(*actor.client, x, peer.party, "row");
  const auto [user_expected, contact_expected] = wire.send(actor.party, x);
  if (!row.via_user && !row.unreachable && !row.approved) {
    ASSERT_EQ(user.party.state, row.outbound ? table(true, row.x)[row.state].next
                                             : table(false, row.x)[row.state].next)
        << "the model disagrees with its own table";
  }
  const auto actor_got = take(*actor.client, actor.party);
  const auto peer_got = take(*peer.client, peer.party);
  const auto& user_got = who == Who::User ? actor_got : peer_got;
  const auto& contact_got = who == Who::User ? peer_got : actor_got;
  expect_events(user_got, user_expected, "the user (" + user.party.full + ")");
  expect_events(contact_got, contact_expected, "the contact (" + contact.party.full + ")");

  // Both rosters afterwards.
  const std::string user_item = roster_item(*user.client, contact.party);
  EXPECT_TRUE(matches(item_text(user.party, contact.party), user_item))
      << "the user's roster: expected " << item_text(user.party, contact.party) << " (\""
      << kStateNames[user.party.state] << "\"), got " << user_item;
  const std::string contact_item = roster_item(*contact.client, user.party);
  EXPECT_TRUE(matches(item_text(contact.party, user.party), contact_item))
      << "the contact's roster: expected " << item_text(contact.party, user.party) << " (\""
      << kStateNames[contact.party.state] << "\"), got " << contact_item;
}

INSTANTIATE_TEST_SUITE_P(Rfc6121AppendixA, SubscriptionWireTableTest,
                         ::testing::Values("A2_1", "A2_2", "A2_3", "A2_4", "A3_1", "A3_2", "A3_3",
                                           "A3_4", "S3_4"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

// RFC 6121 §3.1.3 rule 4: a request to a user with no available resource is kept and delivered
// when the user next becomes available, and again at each later one until answered; only one per
// contact; and no roster item is made for it (the Security Warning).
TEST_F(SubscriptionWireTest, RequestToOfflineUserIsDeliveredAtEachLoginUntilAnswered) {
  const std::string user = fresh("away");
  const std::string bare = user + "@" + kDomain;
  {
    Client registration(server_->port());
    register_account(registration, user, kPassword);
  }
  Account contact = account("asker");

  contact.client->send("<presence type='subscribe' to='" + bare + "' id='ask1'/>");
  contact.client->send("<presence type='subscribe' to='" + bare + "' id='ask2'/>");
  EXPECT_EQ(take(*contact.client, contact.party),
            (std::vector<std::string>{"push item jid='" + bare +
                                      "' subscription='none' ask='subscribe'"}));

  const std::string subscribe = "presence type='subscribe' from='" + contact.party.bare + "'";
  for (int login = 1; login <= 2; ++login) {
    SCOPED_TRACE("login " + std::to_string(login));
    auto client = std::make_unique<Client>(server_->port());
    client->login(user, kPassword, "SCRAM-SHA-1", "r" + std::to_string(login));
    EXPECT_TRUE(roster(*client).empty()) << "§3.1.3: no roster item before the user approves";
    client->send("<presence/>");
    std::vector<std::string> got;
    for (const auto& e : drain(*client)) {
      if (e.root().attr("from").starts_with(bare)) continue;  // its own presence
      got.push_back(describe(e.root(), bare));
    }
    EXPECT_EQ(got, std::vector<std::string>{subscribe}) << "exactly one request per contact";
  }

  // Approved at the third login: the request is not delivered any more.
  auto client = std::make_unique<Client>(server_->port());
  client->login(user, kPassword, "SCRAM-SHA-1", "r3");
  roster(*client);
  client->send("<presence/>");
  drain(*client);
  client->send("<presence type='subscribed' to='" + contact.party.bare + "'/>");
  drain(*client);
  drain(*contact.client);
  client.reset();
  auto again = std::make_unique<Client>(server_->port());
  again->login(user, kPassword, "SCRAM-SHA-1", "r4");
  again->send("<presence/>");
  std::vector<std::string> got;
  for (const auto& e : drain(*again)) {
    if (e.root().attr("from").starts_with(bare)) continue;
    got.push_back(describe(e.root(), bare));
  }
  EXPECT_EQ(got, std::vector<std::string>{}) << "§3.1.3: delivered only until approved";
  EXPECT_EQ(roster_item(*again, contact.party),
            "item jid='" + contact.party.bare + "' subscription='from'");
}

// RFC 6121 §3.1.5 and §3.1.6 step 3: after the approval the subscriber gets the contact's current
// presence, then its later broadcasts (§4.4.2), and the contact's presence on the subscriber's
// next login through a probe (§4.2.2, §4.3.2 rule 4); the contact, not subscribed to the user,
// gets none of the user's broadcasts.
TEST_F(SubscriptionWireTest, PresenceFlowsAfterApproval) {
  Account user = account("fan");
  Account contact = account("star");
  send(*user.client, Stanza::Subscribe, contact.party, "s1");
  take(*user.client, user.party);
  take(*contact.client, contact.party);
  send(*contact.client, Stanza::Subscribed, user.party, "s2");
  take(*contact.client, contact.party);
  // §3.1.6: the approval, the roster push (their order is SubscriptionWireTableTest's business),
  // then the contact's current presence.
  auto got = take(*user.client, user.party);
  const std::string presence = "presence from='" + contact.party.full + "'";
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), presence) << "the contact's presence comes after the approval:"
                                  << dump(got);
  std::sort(got.begin(), got.end());
  std::vector<std::string> expected{"presence type='subscribed' from='" + contact.party.bare + "'",
                                    "push item jid='" + contact.party.bare + "' subscription='to'",
                                    presence};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);

  contact.client->send("<presence><show>away</show></presence>");
  take(*contact.client, contact.party);
  EXPECT_EQ(take(*user.client, user.party),
            std::vector<std::string>{"presence from='" + contact.party.full + "'"})
      << "§4.4.2: the contact's broadcast reaches its subscriber";

  user.client->send("<presence><show>dnd</show></presence>");
  take(*user.client, user.party);
  EXPECT_EQ(take(*contact.client, contact.party), std::vector<std::string>{})
      << "§4.4.2: the user's broadcast goes only to its subscribers";

  // A second resource of the user: its initial presence probes the contact (§4.2.2).
  const std::string name = user.party.bare.substr(0, user.party.bare.find('@'));
  auto second = std::make_unique<Client>(server_->port());
  second->login(name, kPassword, "SCRAM-SHA-1", "second");
  second->send("<presence/>");
  std::vector<std::string> from_contact;
  for (const auto& e : drain(*second)) {
    if (e.root().attr("from").starts_with(contact.party.bare))
      from_contact.push_back(describe(e.root(), user.party.bare));
  }
  EXPECT_EQ(from_contact, std::vector<std::string>{"presence from='" + contact.party.full + "'"})
      << "§4.3.2 rule 4: the probe is answered with the contact's current presence";
}

}  // namespace
}  // namespace parley::testing
