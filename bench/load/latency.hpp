// Latency samples and their percentiles, as parley-load reports them. Percentiles are exact
// (every sample is kept; a run holds a few million at most) and use the nearest-rank definition:
// the p-th percentile is the smallest sample that at least p% of all samples do not exceed, so it
// is always a latency that was actually measured.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace parley::load {

// The nearest-rank percentile of `sorted` (ascending, not empty) for `per_mille` in 1..1000
// (500 is the median, 990 is p99, 1000 the maximum): sorted[ceil(per_mille * n / 1000) - 1].
// Integer arithmetic, so p99 of 100 samples is exactly the 99th.
std::int64_t percentile(std::span<const std::int64_t> sorted, unsigned per_mille);

struct LatencySummary {
  std::size_t count = 0;
  // All zero when count is 0.
  std::int64_t min = 0;
  std::int64_t p50 = 0;
  std::int64_t p90 = 0;
  std::int64_t p99 = 0;
  std::int64_t max = 0;
  double mean = 0;
};

// Samples in any unit (parley-load uses nanoseconds).
class LatencySamples {
 public:
  void add(std::int64_t sample) { samples_.push_back(sample); }
  void clear() { samples_.clear(); }
  std::size_t size() const { return samples_.size(); }
  // Sorts the samples kept (cheap to call again).
  LatencySummary summary();

 private:
  std::vector<std::int64_t> samples_;
};

}  // namespace parley::load
