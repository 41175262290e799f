// Which process limited a measured rate: the "saturated" row of every scenario. A process busy
// (CPU time over wall time) at least kSaturatedShare of the measured interval was at capacity
// for this traffic; so were processes pinned to the same CPU (taskset -c N) whose shares add up
// to that. When only parley-load was, the servers could have done more and their rate is a lower
// bound; when none was, latency (a window too small, say) limited the rate.
#pragma once

#include <span>
#include <string>

namespace parley::load {

inline constexpr double kSaturatedShare = 0.95;

struct Busy {
  std::string name;  // "server", or "server A" and "server B", or "parley-load"
  double share = 0;  // CPU seconds / wall seconds; NaN when unknown (no pid given)
  int cpu = -1;      // the one CPU it is pinned to; -1 when not pinned to one, or unknown
};

// The saturated processes joined with " and ", parley-load last: "server", "server A and
// parley-load"; processes that share a CPU and are saturated together only as "server A +
// server B (sharing CPU 0)"; "parley-load (the server's rate is then a lower bound)" when only
// the tool was ("the servers' rate" with two); "neither process was saturated" (one server) or
// "no process was saturated" (two); "unknown (no --server-pid)" when nothing was saturated and a
// server's share is unknown.
std::string saturated_processes(std::span<const Busy> servers, const Busy& tool);

}  // namespace parley::load
