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
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "storage/worker.hpp"

namespace parley::core {

// REQUIRES: `worker` outlives every job posted through it. Result types must be
// default-constructible and movable.
template <class F>
auto run_storage(storage::Worker& worker, F job)
    -> boost::asio::awaitable<std::invoke_result_t<F&, storage::Stores&>> {
  using R = std::invoke_result_t<F&, storage::Stores&>;
  using Signature = void(std::exception_ptr, R);
  co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), Signature>(
      [&worker, job = std::move(job)](auto handler) mutable {
        auto ex = boost::asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        const bool queued =
            worker.post([job = std::move(job), shared, ex](storage::Stores& s) mutable {
              std::exception_ptr error;
              R result{};
              try {
                result = job(s);
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
      },
      boost::asio::use_awaitable);
}

}  // namespace parley::core
