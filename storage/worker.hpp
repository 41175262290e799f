// storage::Worker: the storage thread. One background thread owns a Database and the stores on
// it, and runs posted jobs one at a time, in the order they were posted. The core wraps post()
// into an awaitable (a job that completes a promise on the caller's executor), so no socket thread
// ever blocks on disk; there is no Asio here.
//
// Why one thread: an SQLite connection must be used by one thread at a time, and SQLite
// serializes writers on a file anyway, so more writer threads would only queue on the lock. Reads
// can get a second worker with its own connection later (WAL lets it read during a write) if
// measurements ask for it.
//
// Thread-safety: post() and stop() may be called from any thread. The Stores reference a job
// receives is valid only during that job, on the worker thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <string_view>
#include <thread>

#include "storage/account_data_store.hpp"
#include "storage/account_store.hpp"
#include "storage/block_store.hpp"
#include "storage/database.hpp"
#include "storage/group_store.hpp"
#include "storage/offline_store.hpp"
#include "storage/roster_store.hpp"

namespace parley::storage {

// The stores a worker owns, all on its one connection, handed to each job. Grows as stores are
// added; `accounts` stays first.
struct Stores {
  AccountStore& accounts;
  RosterStore& rosters;
  OfflineStore& offline;
  AccountDataStore& data;
  BlockStore& blocks;
  GroupStore& groups;
};

class Worker {
 public:
  using Job = std::function<void(Stores&)>;
  // Called on the worker thread with what() of an exception a job let escape (or "unknown
  // exception"). Must not throw. The job's failure affects no other job.
  using ErrorHandler = std::function<void(std::string_view what)>;

  struct Options {
    std::filesystem::path database;  // opened with open_database() (schema.hpp)
    DatabaseOptions database_options;
    ErrorHandler on_error;  // may be empty: errors are then only counted
  };

  // Starts the thread, which opens the database (creating and migrating it). Returns once it is
  // open; if opening fails, joins the thread and rethrows that storage::Error here (e.g.
  // Error::SchemaTooNew), so a server refuses to start instead of failing every job.
  explicit Worker(Options options);

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  // stop().
  ~Worker();

  // Queues `job` to run after every job posted before it. Returns false, dropping the job, if
  // stop() was called: a caller awaiting the job must then fail its wait rather than wait
  // forever. Thread-safe.
  [[nodiscard]] bool post(Job job);

  // Refuses new jobs, lets the thread finish every job already queued, then joins it. Idempotent;
  // thread-safe. Called from a job (on the worker thread) it only refuses new jobs, and the
  // thread ends after the queue drains; the destructor joins it.
  // REQUIRES: the destructor does not run on the worker thread.
  void stop();

  // Jobs that threw so far (also reported to on_error).
  std::size_t failed_jobs() const;

 private:
  void run(Options options, std::promise<void> opened);
  void report(std::string_view what, const ErrorHandler& on_error);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;   // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::size_t failed_ = 0;  // guarded by mutex_
  std::mutex join_mutex_;   // serializes joins of thread_
  std::thread thread_;
  std::thread::id thread_id_;  // thread_'s id, kept: thread_ changes when joined
};

}  // namespace parley::storage
