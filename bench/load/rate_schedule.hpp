// The fixed send schedule of `messages --rate R` (open-loop offered load): R messages per second
// in total, spread evenly over the senders. Message g (g = 0, 1, …) of the whole run is due
// g/R seconds after the start and is sent by sender g mod S, so each sender sends every S/R
// seconds, its first message j/R seconds after the start (sender j). The schedule never looks at
// replies: a message due while the tool is late is still due, and is sent as soon as it can be.
//
// Pure arithmetic in integer nanoseconds, unit-tested (load_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::load {

class RateSchedule {
 public:
  // Throws std::invalid_argument unless 0 < per_second <= 1e9 and senders >= 1.
  RateSchedule(double per_second, std::size_t senders);

  double per_second() const { return per_second_; }
  std::size_t senders() const { return senders_; }

  // Nanoseconds after the start at which message g is due: ceil(g * 1e9 / R).
  std::int64_t due_at(std::uint64_t g) const;
  // How many messages are due by `elapsed_ns` after the start (message 0 is due at 0): the
  // number of g with due_at(g) <= elapsed_ns; 0 when elapsed_ns is negative.
  std::uint64_t due_by(std::int64_t elapsed_ns) const;
  // The sender of message g, and g's number among that sender's messages.
  std::size_t sender(std::uint64_t g) const { return static_cast<std::size_t>(g % senders_); }
  std::uint64_t nth_of_sender(std::uint64_t g) const { return g / senders_; }
  // Seconds between two messages of one sender: S / R.
  double sender_interval_seconds() const { return static_cast<double>(senders_) / per_second_; }

 private:
  double per_second_;
  std::size_t senders_;
};

}  // namespace parley::load
