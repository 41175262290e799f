// Before/after snapshots around a measured interval: wall time, the server's CPU time and memory
// (when its pid is known; two servers' when parley-load drives two federated servers),
// parley-load's own CPU time and the machine's load average, and the rows every scenario reports
// from them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "bench/load/fleet.hpp"
#include "bench/load/process_stats.hpp"
#include "bench/load/report.hpp"

namespace parley::load {

struct Snapshot {
  Clock::time_point at;
  std::optional<ProcessSample> server;
  // The second server (server B), when parley-load drives two; otherwise not sampled.
  bool two_servers = false;
  std::optional<ProcessSample> server2;
  std::optional<ProcessSample> own;  // parley-load itself
  double own_cpu_seconds = 0;
  std::string load_average;
};

// pid 0: no server figures. `two_servers`: also sample server B (`server2_pid`, 0 when unknown).
Snapshot snapshot(pid_t server_pid, bool two_servers = false, pid_t server2_pid = 0);

struct Interval {
  double wall_seconds = 0;
  // NaN when the server's pid was not given or it vanished.
  double server_cpu_seconds = 0;     // /proc/PID/stat utime+stime
  double server_cpu_ns_seconds = 0;  // schedstat, finer grained
  double own_cpu_seconds = 0;
  // Time runnable but waiting for a CPU, in seconds; NaN when unknown.
  double server_wait_seconds = 0;
  double own_wait_seconds = 0;
  // The same for server B; two_servers false: one server, and these are NaN.
  bool two_servers = false;
  double server2_cpu_seconds = 0;
  double server2_cpu_ns_seconds = 0;
  double server2_wait_seconds = 0;
};

Interval interval(const Snapshot& before, const Snapshot& after);

// The "server" and "machine" rows: CPU seconds, utilisation of one core, RSS before and after,
// time waiting for a CPU, load averages, the tool's own CPU use, which process was saturated.
// With two servers, server A's rows keep the one-server keys ("server_cpu_s") and server B's
// follow with "server2_" keys.
void add_machine_rows(Report& report, const Snapshot& before, const Snapshot& after);
// Server CPU milliseconds per unit (`units` of them happened in the interval, e.g. 1000
// messages), from both sources; `key` like "server_cpu_ms_per_change", `label` like "server CPU
// per change". With two servers: server A's under `key`, server B's under "server2_…" and the
// two together under "servers_…".
void add_cpu_per_unit(Report& report, const std::string& key, const std::string& label,
                      const Interval& in, double units);

}  // namespace parley::load
