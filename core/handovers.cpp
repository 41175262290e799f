#include "core/handovers.hpp"

#include <boost/asio/post.hpp>
#include <utility>

namespace parley::core {

void Handovers::set_executors(boost::asio::any_io_executor core,
                              std::vector<boost::asio::any_io_executor> threads) {
  core_ = std::move(core);
  threads_ = std::move(threads);
  queued_.assign(threads_.size(), {});
}

void Handovers::add(std::size_t thread, std::function<void()> job) {
  queued_.at(thread).push_back(std::move(job));
  if (!flush_posted_) {
    flush_posted_ = true;
    // Runs after the handlers already queued on the core thread, which may add more.
    boost::asio::post(core_, [this] { flush(); });
  }
}

void Handovers::flush() {
  flush_posted_ = false;
  for (std::size_t i = 0; i < queued_.size(); ++i) {
    if (queued_[i].empty()) continue;
    boost::asio::post(threads_[i], [jobs = std::exchange(queued_[i], {})]() mutable {
      for (auto& job : jobs) job();
    });
  }
}

}  // namespace parley::core
