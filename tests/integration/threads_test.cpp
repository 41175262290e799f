// The server's io threads ([server] threads, --threads): sessions are spread over the threads in
// the order they connect, the first thread routes, and stanzas cross between threads. These tests
// run the same traffic with one, two and three threads and check what every client receives:
// every message, each sender's in the order sent; a session replaced by one on another thread
// gets <conflict/>; shutdown ends the streams on every thread.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_process.hpp"

namespace parley::testing {
namespace {

constexpr char kPassword[] = "secret";
constexpr char kNoRateLimit[] =
    "[limits]\nstanzas_per_second = 0\n[[host]]\ndomain = \"localhost\"\n";

// The io threads past the first of a running server: its threads named parley-io<N>.
std::size_t io_threads(pid_t pid) {
  std::size_t n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind("parley-io", 0) == 0) ++n;
  }
  return n;
}

class ThreadsTest : public ::testing::TestWithParam<int> {};

TEST_P(ThreadsTest, MessagesBetweenSessionsOnEveryThreadArriveInOrder) {
  const int threads = GetParam();
  ServerProcess server({"--threads", std::to_string(threads)}, std::nullopt, kNoRateLimit);
  constexpr int kUsers = 6;
  constexpr int kPerPair = 25;
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::string> jids;
  for (int u = 0; u < kUsers; ++u) {
    const std::string user = "u" + std::to_string(u);
    server.add_user(user + "@localhost", kPassword);
    clients.push_back(std::make_unique<Client>(server.port()));
    jids.push_back(clients.back()->login(user, kPassword, "SCRAM-SHA-256", "r"));
  }
  EXPECT_NE(server.output().find("serving with " + std::to_string(threads) + " thread(s)"),
            std::string::npos)
      << server.output();
  // Every client sends to every other, interleaved, so that each thread's sessions send to each
  // thread's at the same time.
  for (int i = 0; i < kPerPair; ++i) {
    for (int from = 0; from < kUsers; ++from) {
      std::string batch;
      for (int to = 0; to < kUsers; ++to) {
        if (to == from) continue;
        batch += "<message type='chat' to='" + jids[to] + "'><body>" + std::to_string(from) + ":" +
                 std::to_string(i) + "</body></message>";
      }
      clients[from]->send(batch);
    }
  }
  for (int to = 0; to < kUsers; ++to) {
    std::map<std::string, int> next;  // sender's full JID → the number expected next
    for (int k = 0; k < kPerPair * (kUsers - 1); ++k) {
      const xml::Document message =
          read_until(*clients[to], [](xml::Element e) { return e.name() == "message"; });
      const xml::Element root = message.root();
      const std::string from(root.attr("from"));
      const std::string body = root.child("body").text();
      const auto colon = body.find(':');
      ASSERT_NE(colon, std::string::npos) << body;
      EXPECT_EQ(jids[std::stoi(body.substr(0, colon))], from) << body;
      EXPECT_EQ(std::stoi(body.substr(colon + 1)), next[from]++)
          << "from " << from << " to " << jids[to] << ": out of order";
      EXPECT_EQ(root.attr("to"), jids[to]);
    }
    EXPECT_EQ(next.size(), static_cast<std::size_t>(kUsers - 1));
    // Nothing more came for this client.
    EXPECT_TRUE(drain(*clients[to]).empty());
  }
}

TEST_P(ThreadsTest, ASessionReplacedFromAnotherThreadGetsConflict) {
  const int threads = GetParam();
  ServerProcess server({"--threads", std::to_string(threads)});
  server.add_user("alice@localhost", kPassword);
  server.add_user("bob@localhost", kPassword);
  // Connections go to the threads in turn: the first and the second are on different threads
  // whenever there are two or more.
  Client first(server.port());
  const std::string jid = first.login("alice", kPassword, "SCRAM-SHA-256", "phone");
  Client second(server.port());
  EXPECT_EQ(second.login("alice", kPassword, "SCRAM-SHA-256", "phone"), jid);
  const xml::Document error =
      read_until(first, [](xml::Element e) { return !stream_error_condition(e).empty(); });
  EXPECT_EQ(stream_error_condition(error.root()), "conflict");
  EXPECT_TRUE(first.wait_for_close());
  // The new session has the JID now: a message to it arrives there.
  Client bob(server.port());
  bob.login("bob", kPassword, "SCRAM-SHA-256", "desk");
  bob.send("<message type='chat' to='" + jid + "'><body>still there?</body></message>");
  const xml::Document got =
      read_until(second, [](xml::Element e) { return e.name() == "message"; });
  EXPECT_EQ(got.root().child("body").text(), "still there?");
  EXPECT_EQ(got.root().attr("from"), "bob@localhost/desk");
}

TEST_P(ThreadsTest, ShutdownEndsTheStreamsOnEveryThread) {
  const int threads = GetParam();
  ServerProcess server({"--threads", std::to_string(threads)});
  std::vector<std::unique_ptr<Client>> clients;
  for (int u = 0; u < 5; ++u) {
    const std::string user = "s" + std::to_string(u);
    server.add_user(user + "@localhost", kPassword);
    clients.push_back(std::make_unique<Client>(server.port()));
    clients.back()->login(user, kPassword);
  }
  const auto status = server.signal_and_wait(SIGTERM, kTimeout);
  ASSERT_TRUE(status.has_value()) << server.output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << server.output();
  for (auto& client : clients) {
    const xml::Document error =
        read_until(*client, [](xml::Element e) { return !stream_error_condition(e).empty(); });
    EXPECT_EQ(stream_error_condition(error.root()), "system-shutdown");
    EXPECT_TRUE(client->wait_for_close());
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadsTest, ::testing::Values(1, 2, 3),
                         [](const auto& param_info) {
                           return std::to_string(param_info.param) + "Threads";
                         });

TEST(ThreadsCountTest, EachIoThreadIsAThreadOfTheProcess) {
  for (const int threads : {1, 3}) {
    ServerProcess server({"--threads", std::to_string(threads)});
    // The threads start right after the port file is written: give them a moment.
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (io_threads(server.pid()) < static_cast<std::size_t>(threads - 1) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(io_threads(server.pid()), static_cast<std::size_t>(threads - 1)) << server.output();
  }
}

}  // namespace
}  // namespace parley::testing
