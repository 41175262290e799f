// See latency.hpp.
#include "bench/load/latency.hpp"

#include <algorithm>
#include <cassert>

namespace parley::load {

std::int64_t percentile(std::span<const std::int64_t> sorted, unsigned per_mille) {
  assert(!sorted.empty() && per_mille >= 1 && per_mille <= 1000);
  const std::size_t n = sorted.size();
  std::size_t rank = (static_cast<std::size_t>(per_mille) * n + 999) / 1000;  // ceil, 1-based
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

LatencySummary LatencySamples::summary() {
  LatencySummary s;
  s.count = samples_.size();
  if (samples_.empty()) return s;
  std::sort(samples_.begin(), samples_.end());
  s.min = samples_.front();
  s.p50 = percentile(samples_, 500);
  s.p90 = percentile(samples_, 900);
  s.p99 = percentile(samples_, 990);
  s.max = samples_.back();
  long double sum = 0;
  for (std::int64_t v : samples_) sum += static_cast<long double>(v);
  s.mean = static_cast<double>(sum / static_cast<long double>(samples_.size()));
  return s;
}

}  // namespace parley::load
