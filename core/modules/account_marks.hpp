// The accounts of one host that may have data of one kind in storage (a blocklist; inbound
// subscription requests waiting for an answer). Most accounts have none, and the server asks
// about every account a stanza is addressed to, online or not: an account not marked here is
// known to have none, with no storage round trip (at login these lookups were about three of the
// six storage jobs; docs/PERFORMANCE.md).
//
// The marks are read from storage once, on the first question (questions asked while that read
// runs wait for it), and every write that may add such data marks its account *before* the write
// is posted: storage runs jobs in order, so a question answered "none" was asked before the write
// began, and what the write then delivers takes the path it takes for an account that had
// nothing. A mark is never taken back: a stale mark costs one read, a missing one would hide data.
//
// With a cluster, a node's marks must also be set by the writes of other nodes (with the same
// message that invalidates the caches of online accounts).
//
// Thread-safety: none; one executor's thread (the core's; storage work goes through
// storage_bridge).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/storage_bridge.hpp"

namespace parley::core::modules {

class AccountMarks {
 public:
  // `load` runs on the storage thread and lists the local parts of the accounts that have data.
  using Load = std::function<std::vector<std::string>(storage::Stores&)>;
  explicit AccountMarks(Load load) : load_(std::move(load)) {}

  // Whether the account (its local part) may have data. The first call reads the marks; if that
  // read fails, its error is rethrown to that caller and the next question reads again.
  boost::asio::awaitable<bool> marked(storage::Worker& worker, std::string local) {
    while (!loaded_) {
      if (reading_) {
        // Woken by cancel() when the read ends, whichever way.
        co_await reading_->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        continue;
      }
      co_await read(worker);
    }
    co_return marks_.contains(local);
  }

  // Before a write that may give the account data.
  void mark(std::string_view local) { marks_.emplace(local); }

 private:
  boost::asio::awaitable<void> read(storage::Worker& worker) {
    reading_.emplace(co_await boost::asio::this_coro::executor,
                     boost::asio::steady_timer::time_point::max());
    std::exception_ptr error;
    try {
      auto job = [load = load_](storage::Stores& s) { return load(s); };
      std::vector<std::string> stored = co_await run_storage(worker, std::move(job));
      // Marks set while the read ran stay: this adds to them.
      marks_.insert(stored.begin(), stored.end());
      loaded_ = true;
    } catch (...) {
      error = std::current_exception();
    }
    reading_->cancel();  // the waiters' handlers are queued now; the timer may go
    reading_.reset();
    if (error) std::rethrow_exception(error);
  }

  Load load_;
  bool loaded_ = false;
  std::optional<boost::asio::steady_timer> reading_;  // while the first read runs
  std::unordered_set<std::string> marks_;
};

}  // namespace parley::core::modules
