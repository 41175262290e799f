// See login_timing.hpp.
#include "bench/load/login_timing.hpp"

#include <algorithm>
#include <limits>

namespace parley::load {

LoginTiming::LoginTiming(Fleet& fleet, asio::any_io_executor executor)
    : fleet_(fleet), wakeup_(executor) {
  fleet_.tolerate_login_failures();
}

asio::awaitable<void> LoginTiming::log_in(std::size_t count, Fleet::FailureHandler on_failure) {
  echo_ns_.assign(count, 0);
  echoed_ = 0;
  // Named, not temporaries in the co_await expressions (GCC 12 miscompiles those).
  const Fleet::StanzaHandler on_stanza = [this](std::size_t i, const xml::Element& e) {
    this->on_stanza(i, e);
  };
  co_await fleet_.connect(count, on_stanza, on_failure);
  const auto deadline = Clock::now() + kEchoTimeout;
  const std::function<bool()> done = [this] { return echoed_all(); };
  const bool all = co_await wakeup_.wait_for(done, deadline);
  if (!all) {
    progress("the server sent initial presence back to " + std::to_string(echoed_) + " of " +
             std::to_string(logins()) + " clients within " + std::to_string(kEchoTimeout.count()) +
             " s: login times end when initial presence was sent");
  }
}

void LoginTiming::on_stanza(std::size_t i, const xml::Element& e) {
  last_stanza_ = Clock::now();
  if (echo_ns_[i] != 0 || e.name() != "presence" || e.find_attr("type")) return;
  if (e.attr("from") != fleet_[i].jid()) return;
  echo_ns_[i] = now_ns();
  ++echoed_;
  if (echoed_all()) wakeup_.notify();
}

std::int64_t LoginTiming::end_ns(std::size_t i) const {
  return echoed_all() ? echo_ns_[i] : fleet_.available_ns(i);
}

double LoginTiming::wall_seconds() const {
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  std::int64_t last = 0;
  for (std::size_t i = 0; i < fleet_.size(); ++i) {
    first = std::min(first, fleet_.login_started_ns(i));
    if (!fleet_.login_failed(i)) last = std::max(last, end_ns(i));
  }
  if (last == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(last - first) / 1e9;
}

asio::awaitable<void> LoginTiming::settle(double quiet_seconds, std::chrono::seconds at_most) {
  const auto deadline = Clock::now() + at_most;
  const auto quiet = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(quiet_seconds));
  while (Clock::now() < deadline && Clock::now() - last_stanza_ < quiet) {
    co_await wakeup_.wait_until(std::min(deadline, last_stanza_ + quiet));
  }
}

void LoginTiming::add_cpu_rows(Report& r, const Interval& in) const {
  const double n = static_cast<double>(logins());
  r.add("server_cpu_ms_per_login", "server CPU per login (schedstat)",
        1000 * in.server_cpu_ns_seconds / n, 3, "ms");
  r.add("server_cpu_ms_per_login_utime_stime", "server CPU per login (utime+stime)",
        1000 * in.server_cpu_seconds / n, 3, "ms");
}

void LoginTiming::add_rows(Report& r) {
  LatencySamples times;
  for (std::size_t i = 0; i < fleet_.size(); ++i) {
    if (!fleet_.login_failed(i)) times.add(end_ns(i) - fleet_.login_started_ns(i));
  }
  const LatencySummary t = times.summary();
  const auto ms = [](std::int64_t ns) { return static_cast<double>(ns) / 1e6; };
  const double wall = wall_seconds();
  r.add("logins", "clients logged in", static_cast<std::int64_t>(logins()));
  r.add("failed", "clients that could not log in", static_cast<std::int64_t>(failed()));
  r.add("max_in_progress", "most logins in progress at once",
        static_cast<std::int64_t>(fleet_.max_logins_in_progress()));
  r.add("login_until", "a login ends when",
        std::string(echoed_all() ? "the server sent its initial presence back"
                                 : "initial presence was sent (not every one came back)"));
  r.add("login_wall_s", "first login start to last login end", wall, 3, "s");
  r.add("logins_per_s", "logins/s", static_cast<double>(logins()) / wall, 1);
  r.add("login_p50_ms", "login time p50", ms(t.p50), 2, "ms");
  r.add("login_p90_ms", "login time p90", ms(t.p90), 2, "ms");
  r.add("login_p99_ms", "login time p99", ms(t.p99), 2, "ms");
  r.add("login_max_ms", "login time max", ms(t.max), 2, "ms");
  r.add("login_mean_ms", "login time mean", t.mean / 1e6, 2, "ms");
}

void LoginTiming::add_problems(std::vector<std::string>& problems) const {
  if (failed() == 0) return;
  problems.push_back(std::to_string(failed()) + " of " + std::to_string(fleet_.size()) +
                     " clients could not log in");
  for (const auto& e : fleet_.login_errors()) problems.push_back("e.g. " + e);
}

}  // namespace parley::load
