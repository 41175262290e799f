// Scenario `logins`: the login storm. --clients accounts connect and log in as fast as the server
// lets them, --login-concurrency at a time, each the full way a client does (TCP, STARTTLS, SASL
// --mechanism, resource binding, roster get, initial presence; fleet.hpp), and each login is
// timed until the server has sent the client's initial presence back (login_timing.hpp).
//
// Figures: logins/s over the storm, login time p50/p99/max, and the server's CPU time from just
// before the first connection until --settle seconds without a stanza after the last login,
// divided by the logins. Afterwards every stream is closed. A client that cannot log in, or
// whose stream fails, makes the run fail.
#include <functional>
#include <stdexcept>

#include "bench/load/fleet.hpp"
#include "bench/load/login_timing.hpp"
#include "bench/load/server_meter.hpp"
#include "bench/load/stall_probe.hpp"

namespace parley::load {

namespace {

class LoginsRun {
 public:
  explicit LoginsRun(Context& context)
      : options_(context.options), fleet_(context), timing_(fleet_, context.executor) {}

  asio::awaitable<Outcome> run() {
    const std::size_t n = options_.clients;
    if (n < 1) throw std::invalid_argument("the logins scenario needs --clients 1 or more");
    progress("logging in " + std::to_string(n) + " clients, " +
             std::to_string(options_.login_concurrency) + " at a time");
    const Snapshot before = snapshot(options_.server_pid);
    // The guest counts a stopped vCPU's time as the running task's: stalls while the server ran
    // are in its CPU time, so the report says how much stall time there was.
    if (!options_.stall_probe_cpus.empty()) {
      probe_.start(options_.stall_probe_cpus, options_.stall_period_ms,
                   options_.stall_threshold_ms);
    }
    const Fleet::FailureHandler on_failure = [this](std::size_t i, const std::string& what) {
      ++stream_failures_;
      if (notes_.size() < 5) notes_.push_back("client " + std::to_string(i) + ": " + what);
    };
    co_await timing_.log_in(n, on_failure);
    co_await timing_.settle(options_.settle_seconds, std::chrono::seconds(30));
    const Snapshot after = snapshot(options_.server_pid);
    probe_.stop();
    const std::string suite = fleet_.size() > 0 ? fleet_[0].tls_suite() : std::string();
    progress("measured; closing the streams");
    co_await fleet_.close_all(std::chrono::seconds(10));

    Outcome out{Report("logins"), {}};
    Report& r = out.report;
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    r.section("settings");
    r.add("server", "server", options_.host + ":" + std::to_string(options_.port));
    r.add("domain", "domain", options_.domain);
    r.add("mechanism", "SASL mechanism", std::string(mechanism_name(options_.mechanism)));
    r.add("clients", "clients", i64(n));
    r.add("login_concurrency", "logins in progress at once", i64(options_.login_concurrency));
    r.add("roster", "roster fetched at login", options_.fetch_roster);
    r.section("results");
    timing_.add_rows(r);
    const Interval in = interval(before, after);
    timing_.add_cpu_rows(r, in);
    const auto rss = [](const Snapshot& s) {
      return s.server && s.server->rss_kib >= 0 ? s.server->rss_kib : std::int64_t{-1};
    };
    r.add("server_rss_before_kib", "server RSS before the first login", rss(before), "KiB");
    r.add("server_rss_after_kib", "server RSS after the logins", rss(after), "KiB");
    r.add("stream_failures", "streams that failed after login", i64(stream_failures_));
    r.add("tls_suite", "TLS negotiated (the first client)", suite);
    add_machine_rows(r, before, after);
    if (!options_.stall_probe_cpus.empty())
      add_stall_rows(r, probe_, options_.stall_probe_cpus.size());

    timing_.add_problems(out.problems);
    if (stream_failures_ > 0) {
      out.problems.push_back(std::to_string(stream_failures_) + " streams failed after login");
      for (const auto& note : notes_) out.problems.push_back("e.g. " + note);
    }
    if (timing_.logins() == 0) out.problems.push_back("no client logged in");
    co_return out;
  }

 private:
  const Options& options_;
  Fleet fleet_;
  LoginTiming timing_;
  StallProbe probe_;
  std::uint64_t stream_failures_ = 0;
  std::vector<std::string> notes_;
};

}  // namespace

asio::awaitable<Outcome> run_logins(Context& context) {
  LoginsRun run(context);
  co_return co_await run.run();
}

}  // namespace parley::load
