// Scenario `presence`: the cost of one presence change of a user with many online contacts.
//
// Account PREFIX<first> (the user) and --contacts accounts after it log in and become available;
// the caller has made them subscribed to each other (with Parley, a shared roster group). Once
// the login traffic has died down (--settle seconds without a stanza), the user changes presence
// --changes times (RFC 6121 §4.4: <presence><show>away</show><status>seq N</status></presence>),
// one at a time: the next goes out --change-gap seconds after every contact has received the
// previous one (RFC 6121 §4.4.2: the server broadcasts it to every subscribed contact).
//
// Figures: the time from sending a change until the LAST contact has it (p50/p99/max over the
// changes), the delay to each contact (p50/p99 over all contact × change pairs), and the
// server's CPU time over all the changes divided by their number. A change that does not reach
// every contact within --change-timeout fails the run.
#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "bench/load/fleet.hpp"
#include "bench/load/latency.hpp"
#include "bench/load/server_meter.hpp"
#include "xml/namespaces.hpp"

namespace parley::load {

namespace {

namespace ns = parley::xml::ns;

class PresenceRun {
 public:
  explicit PresenceRun(Context& context)
      : options_(context.options), fleet_(context), wakeup_(context.executor) {}

  asio::awaitable<Outcome> run() {
    const std::size_t k = options_.contacts;
    if (k < 1) throw std::invalid_argument("the presence scenario needs --contacts 1 or more");
    got_.assign(k + 1, 0);
    const Snapshot start = snapshot(options_.server_pid);
    co_await fleet_.connect(
        k + 1, [this](std::size_t i, const xml::Element& e) { on_stanza(i, e); },
        [this](std::size_t i, const std::string& what) { on_failure(i, what); });
    user_jid_ = fleet_[0].jid();
    Outcome out{Report("presence"), {}};
    if (options_.fetch_roster && fleet_.roster_items(0) < k) {
      out.problems.push_back(
          fleet_.bare_jid(0) + " has " + std::to_string(fleet_.roster_items(0)) +
          " roster items, fewer than --contacts " + std::to_string(k) +
          ": the accounts are not all subscribed to each other (with Parley: a [[group]] with "
          "every account in the config file)");
    }
    co_await settle();
    const std::int64_t login_stanzas = stanzas_;

    progress("measuring");
    const Snapshot before = snapshot(options_.server_pid);
    const Interval login = interval(start, before);
    std::size_t done = 0;
    for (std::size_t n = 1; n <= options_.changes; ++n) {
      current_ = n;
      received_ = 0;
      std::fill(got_.begin(), got_.end(), 0);
      sent_ns_ = now_ns();
      fleet_[0].send("<presence><show>away</show><status>seq " + std::to_string(n) +
                     "</status></presence>");
      const bool all =
          co_await wakeup_.wait_for([this, k] { return received_ == k || fleet_[0].closed(); },
                                    Clock::now() + seconds(options_.change_timeout_seconds));
      if (!all || received_ < k) {
        out.problems.push_back("presence change " + std::to_string(n) + " reached " +
                               std::to_string(received_) + " of " + std::to_string(k) +
                               " contacts within --change-timeout " +
                               seconds_text(options_.change_timeout_seconds) + " s");
        break;
      }
      to_all_.add(last_arrival_ns_ - sent_ns_);
      ++done;
      co_await sleep_until(Clock::now() + seconds(options_.change_gap_seconds));
    }
    const Snapshot after = snapshot(options_.server_pid);
    progress("measured");
    co_await fleet_.close_all(std::chrono::seconds(5));

    const Interval in = interval(before, after);
    const LatencySummary all = to_all_.summary();
    const LatencySummary each = per_contact_.summary();
    const auto ms = [](std::int64_t ns) { return static_cast<double>(ns) / 1e6; };
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    Report& r = out.report;
    r.section("settings");
    r.add("server", "server", options_.host + ":" + std::to_string(options_.port));
    r.add("domain", "domain", options_.domain);
    r.add("mechanism", "SASL mechanism", std::string(mechanism_name(options_.mechanism)));
    r.add("contacts", "online contacts", i64(k));
    r.add("batch_writes", "client writes batched (--batch-writes)", options_.batch_writes);
    r.add("changes", "presence changes", i64(done));
    r.add("change_gap_s", "pause after each change", options_.change_gap_seconds, 2, "s");
    r.add("login_s", "time to log in every client", fleet_.login_seconds(), 2, "s");
    r.add("login_stanzas", "stanzas received during login and settling", login_stanzas);
    r.add("login_server_cpu_s", "server CPU for the logins (schedstat)",
          login.server_cpu_ns_seconds, 3, "s");
    r.add("roster_items", "roster items of the user", i64(fleet_.roster_items(0)));
    r.section("results");
    r.add("to_all_p50_ms", "time until all contacts have it, p50", ms(all.p50), 2, "ms");
    r.add("to_all_p99_ms", "time until all contacts have it, p99", ms(all.p99), 2, "ms");
    r.add("to_all_max_ms", "time until all contacts have it, max", ms(all.max), 2, "ms");
    r.add("to_all_min_ms", "time until all contacts have it, min", ms(all.min), 2, "ms");
    r.add("per_contact_p50_ms", "delay to one contact, p50", ms(each.p50), 2, "ms");
    r.add("per_contact_p99_ms", "delay to one contact, p99", ms(each.p99), 2, "ms");
    add_cpu_per_unit(r, "server_cpu_ms_per_change", "server CPU per change", in,
                     static_cast<double>(done));
    r.add("presences_per_server_cpu_s", "presence stanzas delivered per server CPU-second",
          static_cast<double>(done * k) / in.server_cpu_seconds, 0);
    r.section("correctness");
    r.add("errors", "errors", i64(errors_ + stream_failures_));
    r.add("stream_failures", "  of which streams failed", i64(stream_failures_));
    r.add("late_or_duplicate", "presences of an earlier change or twice", i64(stale_));
    add_machine_rows(r, before, after);

    if (errors_ + stream_failures_ > 0) {
      out.problems.push_back(std::to_string(errors_ + stream_failures_) + " errors");
    }
    if (stale_ > 0) {
      out.problems.push_back(std::to_string(stale_) +
                             " presences arrived twice or after their change had timed out");
    }
    if (!out.problems.empty()) {
      for (const auto& n : notes_) out.problems.push_back("e.g. " + n);
    }
    co_return out;
  }

 private:
  asio::awaitable<void> sleep_until(Clock::time_point deadline) {
    while (Clock::now() < deadline) co_await wakeup_.wait_until(deadline);
  }

  // The login broadcasts (every contact's presence to every other) take a while with many
  // contacts: wait until none has come for --settle seconds (at most two minutes).
  asio::awaitable<void> settle() {
    const auto deadline = Clock::now() + std::chrono::minutes(2);
    while (Clock::now() < deadline &&
           Clock::now() - last_stanza_ < seconds(options_.settle_seconds)) {
      co_await wakeup_.wait_until(last_stanza_ + seconds(options_.settle_seconds));
    }
  }

  // "seq N" → N; 0 when it is something else.
  static std::size_t seq_of(std::string_view status) {
    if (!status.starts_with("seq ")) return 0;
    status.remove_prefix(4);
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(status.data(), status.data() + status.size(), n);
    return ec == std::errc() && p == status.data() + status.size() ? n : 0;
  }

  void on_stanza(std::size_t i, const xml::Element& e) {
    const std::int64_t received_ns = now_ns();
    last_stanza_ = Clock::now();
    ++stanzas_;
    const std::string_view type = e.attr("type");
    if (type == "error") {
      ++errors_;
      note("client " + std::to_string(i) + " got a <" + std::string(e.name()) +
           " type='error'/> from " + std::string(e.attr("from")));
      return;
    }
    if (i == 0 || e.name() != "presence" || !type.empty() || e.attr("from") != user_jid_) return;
    const std::size_t n = seq_of(e.child("status", ns::kClient).text());
    if (n == 0) return;  // the initial presence
    if (n != current_ || got_[i] != 0) {
      ++stale_;
      return;
    }
    got_[i] = 1;
    ++received_;
    per_contact_.add(received_ns - sent_ns_);
    last_arrival_ns_ = received_ns;
    if (received_ == options_.contacts) wakeup_.notify();
  }

  void on_failure(std::size_t i, const std::string& what) {
    ++stream_failures_;
    note("client " + std::to_string(i) + " (" + fleet_.bare_jid(i) + "): " + what);
    wakeup_.notify();
  }

  void note(const std::string& what) {
    if (notes_.size() < 5 && std::find(notes_.begin(), notes_.end(), what) == notes_.end()) {
      notes_.push_back(what);
    }
  }

  const Options& options_;
  Fleet fleet_;
  Wakeup wakeup_;
  std::string user_jid_;
  std::vector<std::uint8_t> got_;  // by client: has the current change
  std::size_t current_ = 0;
  std::size_t received_ = 0;
  std::int64_t sent_ns_ = 0;
  std::int64_t last_arrival_ns_ = 0;
  Clock::time_point last_stanza_ = Clock::now();
  std::int64_t stanzas_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t stream_failures_ = 0;
  std::uint64_t stale_ = 0;
  LatencySamples to_all_;
  LatencySamples per_contact_;
  std::vector<std::string> notes_;
};

}  // namespace

asio::awaitable<Outcome> run_presence(Context& context) {
  PresenceRun run(context);
  co_return co_await run.run();
}

}  // namespace parley::load
