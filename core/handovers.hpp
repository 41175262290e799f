// What the core thread hands to the io threads' sessions (deliveries, stream ends, bind results),
// gathered per thread and posted as one job per thread: a stanza fanned out to many sessions, or
// a batch of stanzas routed together, costs one cross-thread wake-up per thread instead of one
// per session. Jobs for one thread run in the order they were added, so what the core sends a
// session arrives in order.
//
// Thread-safety: add() and flush() on the core thread only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <vector>

namespace parley::core {

class Handovers {
 public:
  // `core` runs flush() when a job was added outside an explicit flush; `threads[i]` runs the
  // jobs added for thread i.
  void set_executors(boost::asio::any_io_executor core,
                     std::vector<boost::asio::any_io_executor> threads);
  // Queues `job` for thread `thread`; it runs there after the next flush(), which is posted to the
  // core thread if nobody calls it first.
  void add(std::size_t thread, std::function<void()> job);
  // Posts what was queued, one job per thread.
  void flush();

 private:
  boost::asio::any_io_executor core_;
  std::vector<boost::asio::any_io_executor> threads_;
  std::vector<std::vector<std::function<void()>>> queued_;
  bool flush_posted_ = false;
};

}  // namespace parley::core
