// How long each login of a fleet took, for the `logins` and `idle` scenarios: from the start of
// connecting until the server sent the client's own initial presence back to it (RFC 6121
// §4.2.2: the server MUST deliver it to all of the user's available resources, "including the
// resource that generated the presence notification"), which shows the server has processed the
// whole login. A server that does not send it back within kEchoTimeout gets the time until
// initial presence was sent instead (the roster result had come back by then), and says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/load/fleet.hpp"
#include "bench/load/latency.hpp"
#include "bench/load/report.hpp"
#include "bench/load/server_meter.hpp"

namespace parley::load {

class LoginTiming {
 public:
  static constexpr std::chrono::seconds kEchoTimeout{10};

  // Makes `fleet` count failed logins rather than throw (Fleet::tolerate_login_failures()).
  LoginTiming(Fleet& fleet, asio::any_io_executor executor);

  // Logs in `count` clients, a failure handler for streams that fail afterwards given, then
  // waits up to kEchoTimeout for the echoes of their initial presence.
  asio::awaitable<void> log_in(std::size_t count, Fleet::FailureHandler on_failure);
  // Notes the echo of client i's initial presence; call it from the fleet's stanza handler
  // (log_in() does), for every stanza.
  void on_stanza(std::size_t i, const xml::Element& e);

  std::size_t logins() const { return fleet_.size() - fleet_.failed_logins(); }
  std::size_t failed() const { return fleet_.failed_logins(); }
  // When the last stanza of any client arrived (for a quiet period after the logins).
  Clock::time_point last_stanza() const { return last_stanza_; }
  // Whether every client that logged in had its presence echoed.
  bool echoed_all() const { return echoed_ == logins(); }
  // From the first client's start to the last one's end, in seconds.
  double wall_seconds() const;
  // Waits until no stanza has arrived for `quiet_seconds` (whatever the logins set off, presence
  // to contacts and the echoes, has been handled), or `at_most` has passed.
  asio::awaitable<void> settle(double quiet_seconds, std::chrono::seconds at_most);
  // "login_s", "logins_per_s", "login_p50_ms", … rows, plus what they were measured until.
  void add_rows(Report& report);
  // "server_cpu_ms_per_login" (schedstat) and "server_cpu_ms_per_login_utime_stime": the
  // server's CPU time over `logins_interval` divided by the logins.
  void add_cpu_rows(Report& report, const Interval& logins_interval) const;
  // The failed logins, for the problem list.
  void add_problems(std::vector<std::string>& problems) const;

 private:
  // The end of client i's login as measured: the echo when every client got one.
  std::int64_t end_ns(std::size_t i) const;

  Fleet& fleet_;
  Wakeup wakeup_;
  std::vector<std::int64_t> echo_ns_;  // 0: not yet
  std::size_t echoed_ = 0;
  Clock::time_point last_stanza_ = Clock::now();
};

}  // namespace parley::load
