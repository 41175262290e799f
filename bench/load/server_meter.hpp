// Before/after snapshots around a measured interval: wall time, the server's CPU time and memory
// (when its pid is known), parley-load's own CPU time and the machine's load average, and the
// rows every scenario reports from them.
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
  std::optional<ProcessSample> own;  // parley-load itself
  double own_cpu_seconds = 0;
  std::string load_average;
};

// pid 0: no server figures.
Snapshot snapshot(pid_t server_pid);

struct Interval {
  double wall_seconds = 0;
  // NaN when the server's pid was not given or it vanished.
  double server_cpu_seconds = 0;     // /proc/PID/stat utime+stime
  double server_cpu_ns_seconds = 0;  // schedstat, finer grained
  double own_cpu_seconds = 0;
  // Time runnable but waiting for a CPU, in seconds; NaN when unknown.
  double server_wait_seconds = 0;
  double own_wait_seconds = 0;
};

Interval interval(const Snapshot& before, const Snapshot& after);

// The "server" and "machine" rows: CPU seconds, utilisation of one core, CPU per `unit_name`
// (`units` of them happened in the interval, e.g. 1000 messages), RSS before and after, load
// averages, the tool's own CPU use.
void add_machine_rows(Report& report, const Snapshot& before, const Snapshot& after);
// Server CPU milliseconds per unit, from both sources; `key` like "server_cpu_ms_per_change".
void add_cpu_per_unit(Report& report, const std::string& key, const std::string& label,
                      const Interval& in, double units);

}  // namespace parley::load
