#include "storage/worker.hpp"

#include <exception>
#include <optional>
#include <utility>

#include "storage/schema.hpp"
#include "storage/sqlite_account_data_store.hpp"
#include "storage/sqlite_account_store.hpp"
#include "storage/sqlite_block_store.hpp"
#include "storage/sqlite_group_store.hpp"
#include "storage/sqlite_offline_store.hpp"
#include "storage/sqlite_roster_store.hpp"

namespace parley::storage {

Worker::Worker(Options options) {
  std::promise<void> opened;
  std::future<void> ready = opened.get_future();
  // The thread owns the promise, so nothing it touches dies with this constructor's frame.
  thread_ = std::thread([this, o = std::move(options), p = std::move(opened)]() mutable {
    run(std::move(o), std::move(p));
  });
  thread_id_ = thread_.get_id();
  try {
    ready.get();
  } catch (...) {
    thread_.join();  // it has returned after reporting the failure
    throw;
  }
}

Worker::~Worker() { stop(); }

bool Worker::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void Worker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (std::this_thread::get_id() == thread_id_) return;  // a job cannot join its own thread
  std::lock_guard lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

std::size_t Worker::failed_jobs() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

void Worker::report(std::string_view what, const ErrorHandler& on_error) {
  {
    std::lock_guard lock(mutex_);
    ++failed_;
  }
  if (!on_error) return;
  try {
    on_error(what);
  } catch (...) {
    // A throwing logger must not end the thread either.
  }
}

void Worker::run(Options options, std::promise<void> opened) {
  std::optional<Database> db;
  try {
    db.emplace(open_database(options.database, options.database_options));
  } catch (...) {
    opened.set_exception(std::current_exception());
    return;
  }
  SqliteAccountStore accounts(*db);
  SqliteRosterStore rosters(*db);
  SqliteOfflineStore offline(*db);
  SqliteAccountDataStore data(*db);
  SqliteBlockStore blocks(*db);
  SqliteGroupStore groups(*db);
  Stores stores{
      .accounts = accounts,
      .rosters = rosters,
      .offline = offline,
      .data = data,
      .blocks = blocks,
      .groups = groups,
  };
  opened.set_value();

  for (;;) {
    std::deque<Job> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every queued job has run
      batch.swap(queue_);          // take them all: one lock round per batch, not per job
    }
    for (Job& job : batch) {
      try {
        job(stores);
      } catch (const std::exception& e) {
        report(e.what(), options.on_error);
      } catch (...) {
        report("unknown exception", options.on_error);
      }
      job = nullptr;  // free what the job captured now, not at the end of the batch
    }
  }
}

}  // namespace parley::storage
