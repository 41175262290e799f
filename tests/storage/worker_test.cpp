#include "storage/worker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "storage/error.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::storage {
namespace {

using namespace std::chrono_literals;

// Every wait in these tests is bounded: a bug makes a test fail, never hang.
constexpr auto kPatience = 10s;

class WorkerTest : public ::testing::Test {
 protected:
  Worker::Options options() {
    return Worker::Options{
        .database = dir_.path() / "db" / "parley.sqlite",
        .database_options = {},
        .on_error =
            [this](std::string_view what) {
              std::lock_guard lock(errors_mutex_);
              errors_.emplace_back(what);
            },
    };
  }

  std::vector<std::string> errors() {
    std::lock_guard lock(errors_mutex_);
    return errors_;
  }

  // Runs `job` on the worker and waits for it.
  template <typename F>
  auto run_on(Worker& worker, F job) -> decltype(job(std::declval<Stores&>())) {
    using R = decltype(job(std::declval<Stores&>()));
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    EXPECT_TRUE(worker.post([promise, job](Stores& stores) mutable {
      try {
        if constexpr (std::is_void_v<R>) {
          job(stores);
          promise->set_value();
        } else {
          promise->set_value(job(stores));
        }
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    }));
    if (future.wait_for(kPatience) != std::future_status::ready) {
      ADD_FAILURE() << "job did not run";
      throw std::runtime_error("timeout");
    }
    return future.get();
  }

  testing::TempDir dir_;
  std::mutex errors_mutex_;
  std::vector<std::string> errors_;
};

TEST_F(WorkerTest, OpensAndMigratesTheDatabaseAndRunsJobsOnTheStores) {
  Worker worker(options());
  EXPECT_EQ(
      run_on(worker, [](Stores& s) { return s.accounts.create("example.org", "juliet", {}); }),
      Result::Ok);
  EXPECT_TRUE(run_on(worker, [](Stores& s) { return s.accounts.exists("example.org", "juliet"); }));
  Database db = open_database(options().database);
  EXPECT_EQ(db.user_version(), schema_version());
}

TEST_F(WorkerTest, EveryStoreIsReachableFromAJobOnTheSameDatabase) {
  Worker worker(options());
  run_on(worker, [](Stores& s) {
    ASSERT_EQ(s.accounts.create("example.org", "juliet", {}), Result::Ok);
    EXPECT_GT(s.rosters.put("example.org", "juliet",
                            RosterItem{.jid = "romeo@example.org",
                                       .name = "Romeo",
                                       .subscription = Subscription::Both,
                                       .ask = false,
                                       .approved = false,
                                       .groups = {}}),
              0u);
    EXPECT_EQ(s.offline.store("example.org", "juliet", "<message/>", 1, 10), Result::Ok);
    EXPECT_EQ(s.data.set("example.org", "juliet", "vcard", "<vCard/>"), Result::Ok);
    s.blocks.add("example.org", "juliet", std::vector<std::string>{"tybalt@example.org"});
    EXPECT_EQ(s.groups.add_member("Capulets", "juliet@example.org"), Result::Ok);
  });
  // Another connection sees all of it: the stores write to the worker's database file.
  Database db = open_database(options().database);
  Statement count = db.prepare(
      "SELECT (SELECT count(*) FROM roster_items) + (SELECT count(*) FROM offline_messages)"
      " + (SELECT count(*) FROM account_data) + (SELECT count(*) FROM blocked_jids)"
      " + (SELECT count(*) FROM shared_group_members)");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.column_int64(0), 5);
}

TEST_F(WorkerTest, JobsRunOnTheWorkerThreadNotTheCallers) {
  Worker worker(options());
  const auto id = run_on(worker, [](Stores&) { return std::this_thread::get_id(); });
  EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_EQ(id, run_on(worker, [](Stores&) { return std::this_thread::get_id(); }));
}

TEST_F(WorkerTest, JobsFromSeveralThreadsRunInPostingOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::vector<int> ran;  // touched only by the worker thread until stop() joins it
  std::mutex post_mutex;
  int next_ticket = 0;
  {
    Worker worker(options());
    std::vector<std::thread> posters;
    for (int t = 0; t < kThreads; ++t) {
      posters.emplace_back([&] {
        for (int i = 0; i < kPerThread; ++i) {
          // The ticket is taken under the same lock as the post, so tickets are posting order.
          std::lock_guard lock(post_mutex);
          const int ticket = next_ticket++;
          EXPECT_TRUE(worker.post([&ran, ticket](Stores&) { ran.push_back(ticket); }));
        }
      });
    }
    for (std::thread& poster : posters) poster.join();
    worker.stop();
  }
  ASSERT_EQ(ran.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (int i = 0; i < kThreads * kPerThread; ++i) ASSERT_EQ(ran[static_cast<std::size_t>(i)], i);
}

TEST_F(WorkerTest, AThrowingJobIsReportedAndTheNextJobsStillRun) {
  Worker worker(options());
  EXPECT_TRUE(worker.post([](Stores&) { throw std::runtime_error("boom"); }));
  EXPECT_TRUE(worker.post([](Stores&) { throw 42; }));
  EXPECT_TRUE(worker.post(
      [](Stores&) { throw Error(Error::Kind::Busy, "database is locked", "BEGIN IMMEDIATE"); }));
  EXPECT_EQ(run_on(worker, [](Stores& s) { return s.accounts.count(); }), 0u);
  EXPECT_EQ(worker.failed_jobs(), 3u);
  EXPECT_EQ(errors(),
            (std::vector<std::string>{"boom", "unknown exception", "database is locked"}));
}

TEST_F(WorkerTest, AThrowingErrorHandlerDoesNotKillTheThread) {
  Worker::Options o = options();
  o.on_error = [](std::string_view) { throw std::logic_error("logger broke"); };
  Worker worker(std::move(o));
  EXPECT_TRUE(worker.post([](Stores&) { throw std::runtime_error("boom"); }));
  EXPECT_EQ(run_on(worker, [](Stores&) { return 7; }), 7);
  EXPECT_EQ(worker.failed_jobs(), 1u);
}

TEST_F(WorkerTest, StopRunsEveryPendingJobThenJoins) {
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<int> ran = 0;
  Worker worker(options());
  EXPECT_TRUE(worker.post([open](Stores&) { (void)open.wait_for(kPatience); }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(worker.post([&ran](Stores&) { ++ran; }));
  }
  auto stopped = std::async(std::launch::async, [&] { worker.stop(); });
  // stop() waits for the queue: it cannot return while the first job holds the thread.
  EXPECT_EQ(stopped.wait_for(50ms), std::future_status::timeout);
  EXPECT_FALSE(worker.post([](Stores&) {}));  // refused once stopping
  gate.set_value();
  ASSERT_EQ(stopped.wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(ran.load(), 100);
}

TEST_F(WorkerTest, PostAfterStopIsRefusedAndStopIsIdempotent) {
  Worker worker(options());
  worker.stop();
  worker.stop();
  bool ran = false;
  EXPECT_FALSE(worker.post([&ran](Stores&) { ran = true; }));
  EXPECT_FALSE(ran);
}

TEST_F(WorkerTest, DestructorDrainsTheQueue) {
  std::atomic<int> ran = 0;
  {
    Worker worker(options());
    for (int i = 0; i < 50; ++i) {
      EXPECT_TRUE(worker.post([&ran](Stores& s) {
        s.accounts.create("example.org", "user" + std::to_string(ran.load()), {});
        ++ran;
      }));
    }
  }
  EXPECT_EQ(ran.load(), 50);
  Database db = open_database(options().database);
  EXPECT_EQ(SqliteAccountStore(db).count(), 50u);
}

TEST_F(WorkerTest, AJobMayStopItsOwnWorker) {
  Worker worker(options());
  std::atomic<bool> after = false;
  EXPECT_TRUE(worker.post([&worker](Stores&) { worker.stop(); }));
  // Posted before the first job ran or after: either way no deadlock, and once stop() has
  // returned on this thread the worker is joined.
  (void)worker.post([&after](Stores&) { after = true; });
  auto stopped = std::async(std::launch::async, [&] { worker.stop(); });
  ASSERT_EQ(stopped.wait_for(kPatience), std::future_status::ready);
  EXPECT_FALSE(worker.post([](Stores&) {}));
}

TEST_F(WorkerTest, OpeningANewerDatabaseFailsInTheConstructor) {
  {
    Database db = open_database(options().database);
    db.exec("PRAGMA user_version = " + std::to_string(schema_version() + 1));
  }
  auto constructed = std::async(std::launch::async, [&] {
    try {
      Worker worker(options());
      return std::string("opened");
    } catch (const Error& e) {
      return std::string(e.what());
    }
  });
  ASSERT_EQ(constructed.wait_for(kPatience), std::future_status::ready);
  EXPECT_NE(constructed.get().find("data directory was written by a newer Parley"),
            std::string::npos);
}

TEST_F(WorkerTest, AccountsOutliveTheWorkerAndAreSharedWithOtherConnections) {
  const std::vector<ScramCredential> credentials = {{.hash_name = "SHA-256",
                                                     .salt = "s",
                                                     .iterations = 4096,
                                                     .stored_key = "k",
                                                     .server_key = "v"}};
  {
    Worker worker(options());
    EXPECT_EQ(
        run_on(worker,
               [&](Stores& s) { return s.accounts.create("example.org", "juliet", credentials); }),
        Result::Ok);
    // The CLI, meanwhile, on its own connection:
    Database cli_db = open_database(options().database);
    SqliteAccountStore cli(cli_db);
    EXPECT_EQ(cli.credentials("example.org", "juliet"), credentials);
    EXPECT_EQ(cli.create("example.org", "romeo", {}), Result::Ok);
    EXPECT_EQ(run_on(worker, [](Stores& s) { return s.accounts.list("example.org"); }),
              (std::vector<std::string>{"juliet", "romeo"}));
  }
  Worker again(options());
  EXPECT_EQ(run_on(again, [](Stores& s) { return s.accounts.count(); }), 2u);
}

}  // namespace
}  // namespace parley::storage
