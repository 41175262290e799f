// Runs storage jobs on the storage thread (storage::Worker) from a coroutine, without blocking the
// socket thread: the coroutine suspends, the job runs on the worker, and the coroutine resumes on
// its own executor with the job's result (or its exception, rethrown).
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <future>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "storage/worker.hpp"

namespace parley::core {

namespace detail {

// Trivially copyable on purpose: Asio's use_awaitable passes the initiation through a coroutine's
// parameters, and g++ 12 copies class-type coroutine parameters bytewise in this path (seen as a
// bad free of a lambda's captured std::string under ASan). The job travels as a raw pointer and
// is owned again as soon as the initiation runs.
template <class F>
struct StorageInitiation {
  storage::Worker* worker;
  F* job;

  template <class Handler>
  void operator()(Handler handler) const {
    using R = std::invoke_result_t<F&, storage::Stores&>;
    std::shared_ptr<F> owned_job(job);
    auto ex = boost::asio::get_associated_executor(handler);
    auto shared = std::make_shared<Handler>(std::move(handler));
    const bool queued = worker->post([owned_job, shared, ex](storage::Stores& s) {
      std::exception_ptr error;
      R result{};
      try {
        result = (*owned_job)(s);
      } catch (...) {
        error = std::current_exception();
      }
      boost::asio::post(ex, [shared, error, result = std::move(result)]() mutable {
        (*shared)(error, std::move(result));
      });
    });
    if (!queued) {
      boost::asio::post(ex, [shared]() mutable {
        (*shared)(std::make_exception_ptr(std::runtime_error("storage is shutting down")), R{});
      });
    }
  }
};

}  // namespace detail

// co_await run_storage(worker, [..](storage::Stores& s) { return ...; }) runs the job on the
// storage thread and resumes with its result on the caller's executor (its exception rethrown).
// REQUIRES: `worker` outlives every job posted through it. Result types must be
// default-constructible and movable.
template <class F>
auto run_storage(storage::Worker& worker, F job) {
  using R = std::invoke_result_t<F&, storage::Stores&>;
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                     void(std::exception_ptr, R)>(
      detail::StorageInitiation<F>{&worker, new F(std::move(job))}, boost::asio::use_awaitable);
}

// Runs the job on the storage thread and blocks the calling thread until it is done: for reads
// at start, before the io loops run (waiting then blocks nobody). Returns the job's result or
// rethrows its exception; throws std::runtime_error if the worker no longer takes jobs.
// REQUIRES: not called from the storage thread, nor from an io thread that is serving sessions.
template <class F>
std::invoke_result_t<F&, storage::Stores&> wait_for_storage(storage::Worker& worker, F job) {
  using R = std::invoke_result_t<F&, storage::Stores&>;
  std::promise<R> done;
  auto future = done.get_future();
  const bool queued = worker.post([&done, &job](storage::Stores& s) {
    try {
      done.set_value(job(s));
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  if (!queued) throw std::runtime_error("storage is not running");
  return future.get();
}

}  // namespace parley::core
