// What parley-load reads about the server process and the machine from /proc (Linux): the
// server's CPU time and resident memory before and after a scenario, and the load average, so
// that each figure says how busy the machine was.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::load {

struct ProcessSample {
  // utime + stime of every thread, from /proc/PID/stat (clock ticks, usually 10 ms each).
  double cpu_seconds = 0;
  // The sum of /proc/PID/task/*/schedstat run times: the same CPU time in nanoseconds, exact
  // rather than tick-sampled (threads that exited are missing). -1 when unavailable.
  std::int64_t cpu_ns = -1;
  // From the same files: nanoseconds the threads were runnable but waiting for a CPU (other
  // processes had it). High values mean the figures measured the machine's load. -1 when
  // unavailable.
  std::int64_t wait_ns = -1;
  // VmRSS from /proc/PID/status, in KiB. -1 when unavailable.
  std::int64_t rss_kib = -1;
  // The one CPU the process may run on (taskset -c N), from Cpus_allowed_list in the same file;
  // -1 when it may run on several, or unknown.
  int only_cpu = -1;
};

// nullopt when the process does not exist (any more).
std::optional<ProcessSample> sample_process(pid_t pid);

// utime + stime in clock ticks from the text of /proc/PID/stat; nullopt when malformed. The
// command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
std::optional<std::uint64_t> stat_cpu_ticks(std::string_view stat);

// The first two fields of a /proc/PID/task/TID/schedstat line: time on the CPU and time waiting
// on a run queue, in nanoseconds; nullopt when malformed.
struct SchedStat {
  std::uint64_t run_ns = 0;
  std::uint64_t wait_ns = 0;
};
std::optional<SchedStat> parse_schedstat(std::string_view text);

// VmRSS in KiB from the text of /proc/PID/status; nullopt when absent.
std::optional<std::int64_t> status_rss_kib(std::string_view status);

// The CPU of "Cpus_allowed_list:\tN" (or "N-N") in the text of /proc/PID/status; nullopt when
// the list allows several CPUs or is absent.
std::optional<int> status_only_cpu(std::string_view status);

// The three load averages of /proc/loadavg, e.g. "0.52 1.10 2.03"; "?" when unreadable.
std::string load_average();

// This process's own CPU time (user + system), in seconds.
double own_cpu_seconds();

}  // namespace parley::load
