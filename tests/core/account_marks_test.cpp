// core/modules/account_marks.hpp: the marks are read from storage once, even when the first
// questions come together; marks set before or during that read stay; a failed read is the
// asker's error and the next question reads again.
#include "core/modules/account_marks.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/worker.hpp"
#include "tests/storage/temp_dir.hpp"

namespace parley::core::modules {
namespace {

namespace asio = boost::asio;

// What one question ended with.
struct Answer {
  std::optional<bool> marked;
  std::exception_ptr error;
};

class AccountMarksTest : public ::testing::Test {
 protected:
  // Starts a question; io_.run() answers it.
  void ask(std::string local, Answer& answer) {
    asio::co_spawn(io_, marks_.marked(worker_, std::move(local)),
                   [&answer](std::exception_ptr error, bool marked) {
                     answer.error = error;
                     if (!error) answer.marked = marked;
                   });
  }
  // Runs io_ until every answer is in (the storage thread's results arrive as posted handlers,
  // which io_ does not know to wait for: it runs in slices). Bounded: a bug fails, never hangs.
  void run_until_answered(const std::vector<Answer*>& answers) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto answered = [&] {
      for (const Answer* a : answers) {
        if (!a->error && !a->marked) return false;
      }
      return true;
    };
    while (!answered() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(answered()) << "no answer within 10 s";
  }
  bool ask_and_wait(std::string local) {
    Answer answer;
    ask(std::move(local), answer);
    run_until_answered({&answer});
    if (answer.error) std::rethrow_exception(answer.error);
    return answer.marked.value_or(false);
  }

  storage::testing::TempDir dir_;
  storage::Worker worker_{storage::Worker::Options{
      .database = dir_.path() / "parley.sqlite", .database_options = {}, .on_error = {}}};
  asio::io_context io_;
  std::atomic<int> reads_{0};
  std::atomic<bool> fail_next_read_{false};
  AccountMarks marks_{[this](storage::Stores&) {
    ++reads_;
    if (fail_next_read_.exchange(false)) throw std::runtime_error("the disk is gone");
    return std::vector<std::string>{"juliet", "nurse"};
  }};
};

TEST_F(AccountMarksTest, ReadsTheMarksOnceAndAnswersFromThem) {
  EXPECT_TRUE(ask_and_wait("juliet"));
  EXPECT_FALSE(ask_and_wait("romeo"));
  EXPECT_TRUE(ask_and_wait("nurse"));
  EXPECT_EQ(reads_, 1);
}

TEST_F(AccountMarksTest, AMarkSetBeforeTheReadStaysAndAddsToIt) {
  marks_.mark("romeo");
  EXPECT_TRUE(ask_and_wait("romeo"));
  EXPECT_TRUE(ask_and_wait("juliet"));
  marks_.mark("tybalt");
  EXPECT_TRUE(ask_and_wait("tybalt"));
  EXPECT_FALSE(ask_and_wait("mercutio"));
  EXPECT_EQ(reads_, 1);
}

TEST_F(AccountMarksTest, FirstQuestionsAskedTogetherShareOneRead) {
  std::vector<Answer> answers(5);
  const std::vector<std::string> names = {"juliet", "romeo", "nurse", "juliet", "paris"};
  std::vector<Answer*> pending;
  for (std::size_t i = 0; i < names.size(); ++i) {
    ask(names[i], answers[i]);
    pending.push_back(&answers[i]);
  }
  marks_.mark("paris");  // before the read starts: nothing runs until io_ does
  run_until_answered(pending);
  const std::vector<bool> expected = {true, false, true, true, true};
  for (std::size_t i = 0; i < answers.size(); ++i) {
    ASSERT_FALSE(answers[i].error) << names[i];
    ASSERT_TRUE(answers[i].marked.has_value()) << names[i];
    EXPECT_EQ(*answers[i].marked, expected[i]) << names[i];
  }
  EXPECT_EQ(reads_, 1);
}

TEST_F(AccountMarksTest, AFailedReadIsTheAskersErrorAndTheNextQuestionReadsAgain) {
  fail_next_read_ = true;
  Answer first;
  Answer second;
  ask("juliet", first);
  ask("juliet", second);  // waits for the first one's read
  run_until_answered({&first, &second});
  EXPECT_TRUE(first.error);
  ASSERT_FALSE(second.error);
  EXPECT_EQ(second.marked, std::optional<bool>(true));
  EXPECT_EQ(reads_, 2);
  EXPECT_FALSE(ask_and_wait("romeo"));
  EXPECT_EQ(reads_, 2);
}

}  // namespace
}  // namespace parley::core::modules
