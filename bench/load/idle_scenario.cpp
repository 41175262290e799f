// Scenario `idle`: what an idle connection costs the server. --clients clients log in as in
// `logins` (login_timing.hpp), wait until no stanza has come for --settle seconds, then stay
// connected and silent for --seconds (answering the server's pings, XEP-0199, as any client
// does). The server's resident memory (VmRSS) is read before the first login and at the end;
// the difference over the connections is the memory one idle connection costs. parley-load's
// own memory per connection is reported as well (OpenSSL's buffers are released while idle).
//
// A client that cannot log in, or whose stream fails during the hold, makes the run fail: every
// connection must still be open when the memory is read.
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <functional>
#include <stdexcept>

#include "bench/load/connection_memory.hpp"
#include "bench/load/fleet.hpp"
#include "bench/load/login_timing.hpp"
#include "bench/load/server_meter.hpp"

namespace parley::load {

namespace {

std::int64_t rss_of(const std::optional<ProcessSample>& s) {
  return s && s->rss_kib >= 0 ? s->rss_kib : -1;
}

class IdleRun {
 public:
  explicit IdleRun(Context& context)
      : context_(context),
        options_(context.options),
        fleet_(context),
        timing_(fleet_, context.executor),
        wakeup_(context.executor) {}

  asio::awaitable<Outcome> run() {
    const std::size_t n = options_.clients;
    if (n < 1) throw std::invalid_argument("the idle scenario needs --clients 1 or more");
    rlimit nofile{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    if (!descriptors_suffice(n, nofile.rlim_cur)) {
      throw std::invalid_argument(
          "--clients " + std::to_string(n) + " needs about " +
          std::to_string(n + kSpareDescriptors) + " file descriptors, but parley-load may open " +
          std::to_string(nofile.rlim_cur) + " (RLIMIT_NOFILE, raised at start to the hard limit " +
          std::to_string(nofile.rlim_max) +
          "); raise the hard limit (ulimit -Hn as root, "
          "LimitNOFILE= under systemd) or use fewer clients");
    }
    // Idle clients need no TLS record buffers: OpenSSL frees them between records.
    SSL_CTX_set_mode(context_.tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);

    progress("logging in " + std::to_string(n) + " clients, " +
             std::to_string(options_.login_concurrency) + " at a time");
    const Snapshot before = snapshot(options_.server_pid);
    const Fleet::FailureHandler on_failure = [this](std::size_t i, const std::string& what) {
      ++stream_failures_;
      if (notes_.size() < 5) {
        notes_.push_back("client " + std::to_string(i) + " (" + fleet_.bare_jid(i) + "): " + what);
      }
    };
    co_await timing_.log_in(n, on_failure);
    co_await timing_.settle(options_.settle_seconds, std::chrono::seconds(60));
    const Snapshot logged_in = snapshot(options_.server_pid);
    progress("all logged in; holding " + std::to_string(timing_.logins()) +
             " idle connections for " + seconds_text(options_.seconds) + " s");
    const auto hold_end = Clock::now() + seconds(options_.seconds);
    while (Clock::now() < hold_end) co_await wakeup_.wait_until(hold_end);
    const Snapshot after = snapshot(options_.server_pid);
    std::size_t open = 0;
    for (std::size_t i = 0; i < fleet_.size(); ++i) {
      if (!fleet_.login_failed(i) && !fleet_[i].closed()) ++open;
    }
    progress("measured; closing the streams");
    co_await fleet_.close_all(std::chrono::seconds(30));

    Outcome out{Report("idle"), {}};
    Report& r = out.report;
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    r.section("settings");
    r.add("server", "server", options_.host + ":" + std::to_string(options_.port));
    r.add("domain", "domain", options_.domain);
    r.add("mechanism", "SASL mechanism", std::string(mechanism_name(options_.mechanism)));
    r.add("clients", "clients", i64(n));
    r.add("login_concurrency", "logins in progress at once", i64(options_.login_concurrency));
    r.add("hold_s", "connections held idle", options_.seconds, 1, "s");
    r.add("nofile_limit", "parley-load's file descriptor limit", i64(nofile.rlim_cur));
    r.section("logins");
    timing_.add_rows(r);
    timing_.add_cpu_rows(r, interval(before, logged_in));
    r.section("idle connections (memory read before the first login and after the hold)");
    r.add("connections", "connections open at the end", i64(open));
    r.add("server_rss_before_kib", "server RSS before", rss_of(before.server), "KiB");
    r.add("server_rss_logged_in_kib", "server RSS once all had logged in", rss_of(logged_in.server),
          "KiB");
    r.add("server_rss_after_kib", "server RSS after the hold", rss_of(after.server), "KiB");
    r.add("rss_kib_per_connection", "server RSS per connection",
          kib_per_connection(rss_of(before.server), rss_of(after.server), open), 2, "KiB");
    const Interval hold = interval(logged_in, after);
    r.add("server_cpu_hold_pct", "server CPU while idle (schedstat)",
          100 * hold.server_cpu_ns_seconds / hold.wall_seconds, 2, "% of one core");
    r.add("tool_rss_kib_per_connection", "parley-load RSS per connection",
          kib_per_connection(rss_of(before.own), rss_of(after.own), open), 2, "KiB");
    r.add("stream_failures", "streams that failed", i64(stream_failures_));
    add_machine_rows(r, before, after);

    timing_.add_problems(out.problems);
    if (stream_failures_ > 0) {
      out.problems.push_back(std::to_string(stream_failures_) +
                             " streams failed after login; the memory figures do not hold "
                             "every connection");
      for (const auto& note : notes_) out.problems.push_back("e.g. " + note);
    }
    if (open == 0) out.problems.push_back("no connection was open at the end");
    co_return out;
  }

 private:
  Context& context_;
  const Options& options_;
  Fleet fleet_;
  LoginTiming timing_;
  Wakeup wakeup_;
  std::uint64_t stream_failures_ = 0;
  std::vector<std::string> notes_;
};

}  // namespace

asio::awaitable<Outcome> run_idle(Context& context) {
  IdleRun run(context);
  co_return co_await run.run();
}

}  // namespace parley::load
