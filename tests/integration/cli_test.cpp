// The `parley` command line: help, version, and what happens when `serve` cannot start.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/integration/server_process.hpp"

namespace parley::testing {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliTest, HelpExitsZeroAndDescribesServe) {
  const RunResult result = run_parley({"--help"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "serve")) << result.output;
  EXPECT_TRUE(contains(result.output, "--version")) << result.output;
}

TEST(CliTest, VersionPrintsTheVersion) {
  const RunResult result = run_parley({"--version"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "parley " PARLEY_VERSION "\n");
}

TEST(CliTest, ServeHelpListsItsOptions) {
  const RunResult result = run_parley({"serve", "--help"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  for (const char* option :
       {"--domain", "--data-dir", "--bind", "--c2s-port", "--log", "--port-file"}) {
    EXPECT_TRUE(contains(result.output, option)) << option << " missing:\n" << result.output;
  }
}

TEST(CliTest, NoSubcommandPrintsHelpAndFails) {
  const RunResult result = run_parley({});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "parley serve")) << result.output;
}

TEST(CliTest, UnknownOptionFails) {
  const RunResult result = run_parley({"serve", "--no-such-option"});
  EXPECT_NE(result.exit_code, 0) << result.output;
}

TEST(CliTest, PortOutOfRangeFails) {
  const RunResult result = run_parley({"serve", "--c2s-port", "70000"});
  EXPECT_NE(result.exit_code, 0) << result.output;
}

TEST(CliTest, InvalidDomainFailsWithAMessage) {
  TempDir dir;
  const RunResult result = run_parley(
      {"serve", "--domain", "../etc", "--data-dir", dir.path() / "data", "--c2s-port", "0"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "invalid domain")) << result.output;
}

TEST(CliTest, PortInUseFailsWithAMessage) {
  // Hold a listening socket on an ephemeral port, then ask parley for the same one.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string port = std::to_string(ntohs(address.sin_port));

  TempDir dir;
  const RunResult result = run_parley(
      {"serve", "--data-dir", dir.path() / "data", "--bind", "127.0.0.1", "--c2s-port", port});
  ::close(fd);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "cannot listen for clients on 127.0.0.1:" + port))
      << result.output;
}

TEST(CliTest, ServeLogsWhereItListensAndWritesTheLogFile) {
  TempDir dir;
  const auto log_file = dir.path() / "parley.log";
  ServerProcess server({"--log", log_file});
  const std::string expected =
      "listening for clients on 127.0.0.1:" + std::to_string(server.port());
  EXPECT_TRUE(contains(server.output(), expected)) << server.output();
  std::ifstream in(log_file);
  const std::string logged((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(contains(logged, expected)) << logged;
}

}  // namespace
}  // namespace parley::testing
