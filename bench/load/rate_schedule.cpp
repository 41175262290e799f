// See rate_schedule.hpp.
#include "bench/load/rate_schedule.hpp"

#include <cmath>
#include <stdexcept>

namespace parley::load {

RateSchedule::RateSchedule(double per_second, std::size_t senders)
    : per_second_(per_second), senders_(senders) {
  if (!(per_second > 0) || per_second > 1e9) {
    throw std::invalid_argument("--rate must be above 0 and at most 1e9 messages per second");
  }
  if (senders < 1) throw std::invalid_argument("a rate needs at least one sender");
}

std::int64_t RateSchedule::due_at(std::uint64_t g) const {
  // long double keeps g * 1e9 exact well beyond any run's length (64-bit mantissa on x86).
  const long double ns = static_cast<long double>(g) * 1e9L / static_cast<long double>(per_second_);
  return static_cast<std::int64_t>(std::ceil(ns));
}

std::uint64_t RateSchedule::due_by(std::int64_t elapsed_ns) const {
  if (elapsed_ns < 0) return 0;
  // A first guess from the rate, then corrected against due_at() so that the two always agree
  // exactly (rounding could otherwise count a message as due a nanosecond early or late).
  auto g = static_cast<std::uint64_t>(static_cast<long double>(elapsed_ns) *
                                      static_cast<long double>(per_second_) / 1e9L);
  while (due_at(g + 1) <= elapsed_ns) ++g;
  while (g > 0 && due_at(g) > elapsed_ns) --g;
  return g + 1;  // messages 0 … g
}

}  // namespace parley::load
