// Slows down repeated SASL failures from one IP address (password guessing): the first failure is
// answered at once, each further one within the window waits twice as long as the one before, up
// to a cap. Success from the address clears its record. Bounded memory: old records are dropped.
// Thread-safety: safe; sessions on every io thread report their outcomes here.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace parley::core {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFirstDelay{500};
  static constexpr std::chrono::milliseconds kMaxDelay{8000};
  static constexpr std::chrono::minutes kWindow{10};
  static constexpr std::size_t kMaxAddresses = 10000;

  // Records a failure and returns how long to wait before answering it.
  std::chrono::milliseconds on_failure(const std::string& address, Clock::time_point now);
  void on_success(const std::string& address);
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return records_.size();
  }

 private:
  struct Record {
    unsigned failures = 0;
    Clock::time_point last;
  };
  void prune(Clock::time_point now);
  mutable std::mutex mutex_;
  std::map<std::string, Record> records_;  // guarded by mutex_
};

}  // namespace parley::core
