// See server_meter.hpp.
#include "bench/load/server_meter.hpp"

#include <unistd.h>

#include <cmath>
#include <limits>

namespace parley::load {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSaturated = 0.95;
}  // namespace

Snapshot snapshot(pid_t server_pid) {
  Snapshot s;
  if (server_pid > 0) s.server = sample_process(server_pid);
  s.own = sample_process(getpid());
  s.own_cpu_seconds = own_cpu_seconds();
  s.load_average = load_average();
  s.at = Clock::now();
  return s;
}

Interval interval(const Snapshot& before, const Snapshot& after) {
  Interval in;
  in.wall_seconds = std::chrono::duration<double>(after.at - before.at).count();
  in.own_cpu_seconds = after.own_cpu_seconds - before.own_cpu_seconds;
  in.server_cpu_seconds = kNaN;
  in.server_cpu_ns_seconds = kNaN;
  auto waited = [](const std::optional<ProcessSample>& b, const std::optional<ProcessSample>& a) {
    if (!b || !a || b->wait_ns < 0 || a->wait_ns < 0) return kNaN;
    return static_cast<double>(a->wait_ns - b->wait_ns) / 1e9;
  };
  in.server_wait_seconds = waited(before.server, after.server);
  in.own_wait_seconds = waited(before.own, after.own);
  if (before.server && after.server) {
    in.server_cpu_seconds = after.server->cpu_seconds - before.server->cpu_seconds;
    if (before.server->cpu_ns >= 0 && after.server->cpu_ns >= 0) {
      in.server_cpu_ns_seconds =
          static_cast<double>(after.server->cpu_ns - before.server->cpu_ns) / 1e9;
    }
  }
  return in;
}

void add_machine_rows(Report& report, const Snapshot& before, const Snapshot& after) {
  const Interval in = interval(before, after);
  report.section("server process and machine, over the measured interval");
  report.add("server_cpu_s", "server CPU (utime+stime)", in.server_cpu_seconds, 3, "s");
  report.add("server_cpu_sched_s", "server CPU (schedstat)", in.server_cpu_ns_seconds, 3, "s");
  report.add("server_cpu_util_pct", "server CPU / wall time",
             100 * in.server_cpu_seconds / in.wall_seconds, 1, "% of one core");
  auto rss_mib = [](const Snapshot& s) {
    return s.server && s.server->rss_kib >= 0 ? static_cast<double>(s.server->rss_kib) / 1024.0
                                              : kNaN;
  };
  report.add("server_rss_before_mib", "server RSS before", rss_mib(before), 1, "MiB");
  report.add("server_rss_after_mib", "server RSS after", rss_mib(after), 1, "MiB");
  report.add("tool_cpu_util_pct", "parley-load CPU / wall time",
             100 * in.own_cpu_seconds / in.wall_seconds, 1, "% of one core");
  report.add("server_cpu_wait_pct", "server runnable, waiting for a CPU",
             100 * in.server_wait_seconds / in.wall_seconds, 1, "% of wall time");
  report.add("tool_cpu_wait_pct", "parley-load runnable, waiting for a CPU",
             100 * in.own_wait_seconds / in.wall_seconds, 1, "% of wall time");
  // Which side limited the rate: a process busy nearly all the time, or neither (then latency,
  // such as a window too small, did). A saturated server is at capacity for this traffic; when
  // only parley-load is, the server could have done more.
  const double server_busy = in.server_cpu_seconds / in.wall_seconds;
  const double tool_busy = in.own_cpu_seconds / in.wall_seconds;
  std::string bottleneck = "neither process was saturated";
  if (server_busy >= kSaturated && tool_busy >= kSaturated) {
    bottleneck = "server and parley-load";
  } else if (server_busy >= kSaturated) {
    bottleneck = "server";
  } else if (tool_busy >= kSaturated) {
    bottleneck = "parley-load (the server's rate is then a lower bound)";
  } else if (!std::isfinite(server_busy)) {
    bottleneck = tool_busy >= kSaturated ? "parley-load" : "unknown (no --server-pid)";
  }
  report.add("saturated", "saturated (busy >= 95% of the time)", bottleneck);
  report.add("load_before", "load average before (1/5/15 min)", before.load_average);
  report.add("load_after", "load average after (1/5/15 min)", after.load_average);
}

void add_cpu_per_unit(Report& report, const std::string& key, const std::string& label,
                      const Interval& in, double units) {
  report.add(key, label + " (utime+stime)", 1000 * in.server_cpu_seconds / units, 3, "ms");
  report.add(key + "_sched", label + " (schedstat)", 1000 * in.server_cpu_ns_seconds / units, 3,
             "ms");
}

}  // namespace parley::load
