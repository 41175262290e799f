// Scenario `subscribe`: a set-up step, not a measurement. It gives account PREFIX<first> (the
// user) --contacts contacts PREFIX<first+1>…PREFIX<first+K> that are subscribed to the user's
// presence, the standard way (RFC 6121 §3.1): each contact sends
// <presence type='subscribe' to='USER'/>, the user approves each request with
// <presence type='subscribed' to='CONTACT'/>, and a contact is done once its server pushes a
// roster item for the user with subscription 'to' or 'both' (§3.1.6) or delivers the
// 'subscribed' presence. Afterwards the user's presence reaches every contact, so the `presence`
// scenario runs on servers without shared roster groups (Prosody, ejabberd).
//
// A contact whose roster already holds the user with subscription 'to' or 'both' sends nothing:
// running it twice is harmless. Contacts still not subscribed after --subscribe-timeout seconds
// fail the run.
#include <algorithm>
#include <cctype>
#include <functional>
#include <stdexcept>

#include "bench/load/fleet.hpp"
#include "bench/load/server_meter.hpp"
#include "xml/writer.hpp"

namespace parley::load {

namespace {

constexpr std::string_view kRoster = "jabber:iq:roster";  // RFC 6121 §2

// The bare JID of `jid`, lower-cased: localparts and domains compare case-insensitively
// (RFC 7622 §3.2, §3.3), and the accounts' names are ASCII.
std::string bare_lower(std::string_view jid) {
  std::string bare(jid.substr(0, jid.find('/')));
  std::transform(bare.begin(), bare.end(), bare.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return bare;
}

// Whether a roster subscription state means the contact receives the user's presence.
bool subscribed_to(std::string_view subscription) {
  return subscription == "to" || subscription == "both";
}

enum class State : std::uint8_t { Already, Pending, Done };

class SubscribeRun {
 public:
  explicit SubscribeRun(Context& context)
      : options_(context.options), fleet_(context), wakeup_(context.executor) {}

  asio::awaitable<Outcome> run() {
    const std::size_t k = options_.contacts;
    if (k < 1) throw std::invalid_argument("the subscribe scenario needs --contacts 1 or more");
    if (!options_.fetch_roster) {
      throw std::invalid_argument("the subscribe scenario reads the rosters: drop --no-roster");
    }
    fleet_.keep_rosters();
    state_.assign(k + 1, State::Pending);
    const Fleet::StanzaHandler on_stanza = [this](std::size_t i, const xml::Element& e) {
      this->on_stanza(i, e);
    };
    const Fleet::FailureHandler on_failure = [this](std::size_t i, const std::string& what) {
      ++stream_failures_;
      note("client " + std::to_string(i) + " (" + fleet_.bare_jid(i) + "): " + what);
      wakeup_.notify();
    };
    co_await fleet_.connect(k + 1, on_stanza, on_failure);
    user_ = bare_lower(fleet_[0].jid());

    std::size_t already = 0;
    for (std::size_t i = 1; i <= k; ++i) {
      const auto& roster = fleet_.roster(i);
      const bool has = std::any_of(roster.begin(), roster.end(), [this](const RosterItem& item) {
        return bare_lower(item.jid) == user_ && subscribed_to(item.subscription);
      });
      if (has) {
        state_[i] = State::Already;
        ++already;
      }
    }
    pending_ = k - already;
    progress(std::to_string(already) + " of " + std::to_string(k) + " contacts are subscribed to " +
             user_ + " already; " + std::to_string(pending_) + " ask now");

    const Snapshot before = snapshot(options_.server_pid);
    for (std::size_t i = 1; i <= k; ++i) {
      if (state_[i] == State::Pending) {
        fleet_[i].send("<presence type='subscribe' to='" + user_ + "'/>");
      }
    }
    const std::function<bool()> done = [this] { return confirmed_ == pending_; };
    co_await wakeup_.wait_for(done, Clock::now() + seconds(options_.subscribe_timeout_seconds));
    const Snapshot after = snapshot(options_.server_pid);
    const std::size_t missing = pending_ - confirmed_;
    progress(std::to_string(confirmed_) + " subscriptions made, " + std::to_string(missing) +
             " missing");
    co_await fleet_.close_all(std::chrono::seconds(10));

    Outcome out{Report("subscribe"), {}};
    Report& r = out.report;
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    const Interval in = interval(before, after);
    r.section("settings");
    r.add("server", "server", options_.host + ":" + std::to_string(options_.port));
    r.add("domain", "domain", options_.domain);
    r.add("user", "user", user_);
    r.add("contacts", "contacts", i64(k));
    r.add("login_s", "time to log in every client", fleet_.login_seconds(), 2, "s");
    r.add("user_roster_items", "roster items of the user at login", i64(fleet_.roster_items(0)));
    r.section("results");
    r.add("already", "contacts subscribed to the user already", i64(already));
    r.add("subscriptions", "subscriptions made now", i64(confirmed_));
    r.add("missing", "contacts still not subscribed", i64(missing));
    r.add("approved", "subscription requests the user approved", i64(approved_));
    r.add("subscribe_s", "time for the subscriptions", in.wall_seconds, 2, "s");
    add_cpu_per_unit(r, "server_cpu_ms_per_subscription", "server CPU per subscription", in,
                     static_cast<double>(confirmed_));
    r.add("errors", "errors", i64(errors_ + stream_failures_));
    r.add("stream_failures", "  of which streams failed", i64(stream_failures_));
    add_machine_rows(r, before, after);

    if (missing > 0) {
      out.problems.push_back(std::to_string(missing) + " of " + std::to_string(pending_) +
                             " contacts that asked were not subscribed to " + user_ +
                             " within --subscribe-timeout " +
                             seconds_text(options_.subscribe_timeout_seconds) + " s");
    }
    if (errors_ + stream_failures_ > 0) {
      out.problems.push_back(std::to_string(errors_ + stream_failures_) + " errors");
    }
    if (!out.problems.empty()) {
      for (const auto& n : notes_) out.problems.push_back("e.g. " + n);
    }
    co_return out;
  }

 private:
  void on_stanza(std::size_t i, const xml::Element& e) {
    const std::string_view type = e.attr("type");
    if (type == "error") {
      ++errors_;
      note("client " + std::to_string(i) + " got a <" + std::string(e.name()) +
           " type='error'/> from " + std::string(e.attr("from")));
      wakeup_.notify();
      return;
    }
    if (i == 0) {
      // The user approves every request (RFC 6121 §3.1.4), also ones left from an earlier run.
      if (e.name() == "presence" && type == "subscribe") {
        std::string reply = "<presence type='subscribed' to='";
        xml::escape_attribute(reply, bare_lower(e.attr("from")));
        fleet_[0].send(reply + "'/>");
        ++approved_;
      }
      return;
    }
    if (state_[i] != State::Pending) return;
    if (e.name() == "presence" && type == "subscribed" && bare_lower(e.attr("from")) == user_) {
      confirm(i);
      return;
    }
    if (e.name() == "iq" && type == "set") {
      for (xml::Element item : e.child("query", kRoster).children()) {
        if (item.name() == "item" && bare_lower(item.attr("jid")) == user_ &&
            subscribed_to(item.attr("subscription"))) {
          confirm(i);
          return;
        }
      }
    }
  }

  void confirm(std::size_t i) {
    state_[i] = State::Done;
    ++confirmed_;
    if (confirmed_ == pending_) wakeup_.notify();
  }

  void note(const std::string& what) {
    if (notes_.size() < 5 && std::find(notes_.begin(), notes_.end(), what) == notes_.end()) {
      notes_.push_back(what);
    }
  }

  const Options& options_;
  Fleet fleet_;
  Wakeup wakeup_;
  std::string user_;
  std::vector<State> state_;  // by client; the user's (0) is unused
  std::size_t pending_ = 0;
  std::size_t confirmed_ = 0;
  std::uint64_t approved_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t stream_failures_ = 0;
  std::vector<std::string> notes_;
};

}  // namespace

asio::awaitable<Outcome> run_subscribe(Context& context) {
  SubscribeRun run(context);
  co_return co_await run.run();
}

}  // namespace parley::load
