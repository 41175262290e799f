// Detects when a CPU stopped running anything at all, as a virtual machine's vCPU does while its
// host runs something else. Such a machine may not report steal time (this one does not), so the
// guest kernel counts a frozen task as running. parley-load's open-loop latency then includes
// freezes that no server can avoid, and a round's p99 can depend more on them than on the server.
//
// One thread per probed CPU, pinned to it, real-time (SCHED_FIFO) when allowed, so that only
// interrupts and a frozen vCPU can keep it from running: it sleeps `period` at a time on
// CLOCK_MONOTONIC and records every wake-up later than `threshold` as a stall. A stall lies
// within [the probe's previous wake-up, the late one], in steady-clock nanoseconds (the clock of
// parley-load's send stamps).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace parley::load {

struct Stall {
  int cpu = 0;
  std::int64_t begin_ns = 0;  // the probe's previous wake-up
  std::int64_t end_ns = 0;    // the late wake-up
};

struct StallSummary {
  std::size_t count = 0;
  std::int64_t total_ns = 0;  // the stalls' lengths added up, over every CPU
  std::int64_t longest_ns = 0;
};

StallSummary summarize(std::span<const Stall> stalls);

// Whether [begin_ns, end_ns] overlaps any of `stalls`, which must be sorted by begin_ns
// (sort_stalls). Closed intervals: touching counts.
bool overlaps_stall(std::span<const Stall> stalls, std::int64_t begin_ns, std::int64_t end_ns);

void sort_stalls(std::vector<Stall>& stalls);

// One probe wake-up: due at `due_ns`, woken at `now_ns`, the previous wake-up at `previous_ns`.
// A stall when it came more than `threshold_ns` late.
std::optional<Stall> late_wakeup(int cpu, std::int64_t previous_ns, std::int64_t due_ns,
                                 std::int64_t now_ns, std::int64_t threshold_ns);

// Parses "0,1" or "0-3" or "0,2-3" into CPU numbers; throws std::invalid_argument.
std::vector<int> parse_cpu_list(const std::string& text);

class StallProbe {
 public:
  StallProbe() = default;
  StallProbe(const StallProbe&) = delete;
  StallProbe& operator=(const StallProbe&) = delete;
  ~StallProbe() { stop(); }

  // Starts one thread per CPU. `realtime` says afterwards whether every thread got SCHED_FIFO;
  // without it a busy task on the same CPU can delay the probe too, and stalls are overcounted.
  // `period_ms` each probe sleeps, `threshold_ms` of lateness that counts as a stall.
  void start(std::span<const int> cpus, double period_ms, double threshold_ms);
  // Stops and joins the threads; idempotent.
  void stop();
  bool realtime() const { return realtime_ok_.load(); }
  bool running() const { return !threads_.empty(); }
  // The stalls of every thread, sorted (after stop()).
  std::vector<Stall> stalls() const;

 private:
  struct PerCpu {
    int cpu = 0;
    std::vector<Stall> stalls;
  };
  void run(PerCpu& slot, std::int64_t period_ns, std::int64_t threshold_ns);

  std::atomic<bool> stop_{false};
  std::atomic<bool> realtime_ok_{true};
  std::vector<PerCpu> slots_;
  std::vector<std::thread> threads_;
};

class Report;
// The report's rows for a probe that has stopped: CPUs probed, whether it ran SCHED_FIFO, the
// stalls' count, total and longest.
void add_stall_rows(Report& report, const StallProbe& probe, std::size_t cpus);

}  // namespace parley::load
