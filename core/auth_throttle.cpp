#include "core/auth_throttle.hpp"

#include <algorithm>

namespace parley::core {

std::chrono::milliseconds AuthThrottle::on_failure(const std::string& address,
                                                   Clock::time_point now) {
  std::lock_guard lock(mutex_);
  prune(now);
  Record& r = records_[address];
  if (r.failures > 0 && now - r.last > kWindow) r.failures = 0;
  ++r.failures;
  r.last = now;
  if (r.failures <= 1) return std::chrono::milliseconds(0);
  const unsigned shift = std::min(r.failures - 2, 8u);
  return std::min(kMaxDelay, kFirstDelay * (1u << shift));
}

void AuthThrottle::on_success(const std::string& address) {
  std::lock_guard lock(mutex_);
  records_.erase(address);
}

void AuthThrottle::prune(Clock::time_point now) {
  if (records_.size() < kMaxAddresses) return;
  for (auto it = records_.begin(); it != records_.end();) {
    it = now - it->second.last > kWindow ? records_.erase(it) : std::next(it);
  }
  // Still full (a flood from many addresses): forget the oldest.
  while (records_.size() >= kMaxAddresses) {
    auto oldest = std::min_element(
        records_.begin(), records_.end(),
        [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
    records_.erase(oldest);
  }
}

}  // namespace parley::core
