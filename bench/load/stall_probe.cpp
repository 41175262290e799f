#include "bench/load/stall_probe.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <stdexcept>

#include "bench/load/report.hpp"

namespace parley::load {
namespace {

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int to_int(const std::string& text, const std::string& whole) {
  if (text.empty() || text.size() > 4 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw std::invalid_argument("not a CPU list (like 0,1 or 0-3): " + whole);
  }
  return std::stoi(text);
}

}  // namespace

StallSummary summarize(std::span<const Stall> stalls) {
  StallSummary s;
  for (const Stall& st : stalls) {
    const std::int64_t length = st.end_ns - st.begin_ns;
    ++s.count;
    s.total_ns += length;
    s.longest_ns = std::max(s.longest_ns, length);
  }
  return s;
}

void sort_stalls(std::vector<Stall>& stalls) {
  std::sort(stalls.begin(), stalls.end(),
            [](const Stall& a, const Stall& b) { return a.begin_ns < b.begin_ns; });
}

std::optional<Stall> late_wakeup(int cpu, std::int64_t previous_ns, std::int64_t due_ns,
                                 std::int64_t now_ns, std::int64_t threshold_ns) {
  if (now_ns - due_ns <= threshold_ns) return std::nullopt;
  return Stall{cpu, previous_ns, now_ns};
}

bool overlaps_stall(std::span<const Stall> stalls, std::int64_t begin_ns, std::int64_t end_ns) {
  // Stalls of different CPUs may overlap each other, so one that begins earlier can end later:
  // every stall beginning at or before end_ns is a candidate. Stalls are few (a handful per
  // second at most), so a scan from the first is cheap enough.
  const auto last = std::upper_bound(stalls.begin(), stalls.end(), end_ns,
                                     [](std::int64_t t, const Stall& s) { return t < s.begin_ns; });
  for (auto it = stalls.begin(); it != last; ++it) {
    if (it->end_ns >= begin_ns) return true;
  }
  return false;
}

std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> cpus;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    if (const std::size_t dash = part.find('-'); dash != std::string::npos) {
      const int from = to_int(part.substr(0, dash), text);
      const int to = to_int(part.substr(dash + 1), text);
      if (to < from) throw std::invalid_argument("not a CPU list (like 0,1 or 0-3): " + text);
      for (int c = from; c <= to; ++c) cpus.push_back(c);
    } else {
      cpus.push_back(to_int(part, text));
    }
    start = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

void StallProbe::start(std::span<const int> cpus, double period_ms, double threshold_ms) {
  const auto period_ns = static_cast<std::int64_t>(period_ms * 1e6);
  const auto threshold_ns = static_cast<std::int64_t>(threshold_ms * 1e6);
  stop();
  stop_ = false;
  realtime_ok_ = true;
  slots_.assign(cpus.size(), {});
  for (std::size_t i = 0; i < cpus.size(); ++i) slots_[i].cpu = cpus[i];
  threads_.reserve(cpus.size());
  for (PerCpu& slot : slots_) {
    threads_.emplace_back(
        [this, &slot, period_ns, threshold_ns] { run(slot, period_ns, threshold_ns); });
  }
}

void StallProbe::run(PerCpu& slot, std::int64_t period_ns, std::int64_t threshold_ns) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(slot.cpu, &set);
  const bool pinned = pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
  sched_param param{};
  param.sched_priority = 1;
  if (!pinned || pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) != 0) {
    realtime_ok_ = false;
  }
  std::int64_t previous = monotonic_ns();
  std::int64_t due = previous + period_ns;
  while (!stop_.load(std::memory_order_relaxed)) {
    const timespec at{static_cast<time_t>(due / 1'000'000'000),
                      static_cast<long>(due % 1'000'000'000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
    const std::int64_t now = monotonic_ns();
    if (const auto stall = late_wakeup(slot.cpu, previous, due, now, threshold_ns)) {
      slot.stalls.push_back(*stall);
    }
    previous = now;
    due = std::max(due + period_ns, now + period_ns / 2);
  }
}

void StallProbe::stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

std::vector<Stall> StallProbe::stalls() const {
  std::vector<Stall> all;
  for (const PerCpu& slot : slots_) all.insert(all.end(), slot.stalls.begin(), slot.stalls.end());
  sort_stalls(all);
  return all;
}

void add_stall_rows(Report& r, const StallProbe& probe, std::size_t cpus) {
  const StallSummary sum = summarize(probe.stalls());
  const auto ms = [](std::int64_t ns) { return static_cast<double>(ns) / 1e6; };
  r.add("stall_probe_cpus", "CPUs probed for stalls (--stall-probe)",
        static_cast<std::int64_t>(cpus));
  r.add("stall_probe_realtime", "stall probes ran SCHED_FIFO", probe.realtime());
  r.add("stalls", "stalls (a CPU ran nothing for over --stall-threshold)",
        static_cast<std::int64_t>(sum.count));
  r.add("stall_ms", "stalls' total length, all CPUs", ms(sum.total_ns), 1, "ms");
  r.add("stall_longest_ms", "longest stall", ms(sum.longest_ns), 2, "ms");
}

}  // namespace parley::load
