// The `parley` command line: help, version, what happens when `serve` cannot start, the
// configuration file, `parley check`, and the account commands (adduser, passwd, deluser, users)
// with the password on a pipe, also while a server runs on the same data directory.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>

extern char** environ;

#include "core/tls/self_signed.hpp"
#include "tests/federation/dns/dnsmasq.hpp"
#include "tests/integration/server_process.hpp"

namespace parley::testing {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs `parley ARGS...` with `input` on a pipe as its standard input (not a terminal, so the
// account commands read the password from it), and captures what it printed.
RunResult run_parley_with_input(const std::vector<std::string>& args, std::string_view input) {
  TempDir dir;
  const auto output = dir.path() / "output";
  std::vector<std::string> argv_strings{PARLEY_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[0]);
  if (rc != 0) {
    ::close(pipe_fds[1]);
    throw std::system_error(rc, std::generic_category(), "posix_spawn");
  }
  // Small inputs fit in the pipe's buffer; a child that exits early just leaves them unread.
  ::signal(SIGPIPE, SIG_IGN);
  for (std::size_t done = 0; done < input.size();) {
    const ssize_t n = ::write(pipe_fds[1], input.data() + done, input.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(pipe_fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.output = read_file(output);
  return result;
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
       {"--config", "--domain", "--data-dir", "--bind", "--c2s-port", "--c2s-tls-port",
        "--s2s-port", "--s2s-tls-port", "--ca-file", "--resolv-conf", "--no-federation", "--cert",
        "--key", "--log", "--port-file"}) {
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
  const RunResult result =
      run_parley({"serve", "--domain", "../etc", "--data-dir", dir.path() / "data", "--c2s-port",
                  "0", "--s2s-port", "0", "--s2s-tls-port", "0"});
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
  const RunResult result =
      run_parley({"serve", "--data-dir", dir.path() / "data", "--bind", "127.0.0.1", "--c2s-port",
                  port, "--s2s-port", "0", "--s2s-tls-port", "0"});
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

// --- the configuration file ---------------------------------------------------------------

TEST(CliConfigTest, ServeReportsAConfigErrorWithFileAndLine) {
  TempDir dir;
  const auto config = dir.path() / "parley.toml";
  write_file(config, "data_dir = \"data\"\n[c2s]\nprot = 5222\n");
  const RunResult result = run_parley({"serve", "--config", config});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "parley serve: " + config.string() +
                                          ":3: unknown key 'prot' in [c2s]; did you mean 'port'?"))
      << result.output;
}

TEST(CliConfigTest, MissingConfigFileIsNamed) {
  TempDir dir;
  const auto config = dir.path() / "missing.toml";
  const RunResult result = run_parley({"check", "--config", config});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(
      contains(result.output, "error: " + config.string() + ": cannot read the configuration file"))
      << result.output;
}

TEST(CliConfigTest, UnknownModuleIsNamedByCheckAndStopsServe) {
  TempDir dir;
  const auto config = dir.path() / "parley.toml";
  write_file(config, "data_dir = \"data\"\n[[host]]\ndomain = \"localhost\"\n"
                     "disabled_modules = [\"carbon\"]\n");
  const RunResult check = run_parley({"check", "--config", config, "--skip-ports"});
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_TRUE(contains(check.output, "error: the [[host]] localhost names the module 'carbon', "
                                     "which does not exist; the modules are: disco, ping"))
      << check.output;
  const RunResult serve =
      run_parley({"serve", "--config", config, "--c2s-port", "0", "--c2s-tls-port", "0",
                  "--s2s-port", "0", "--s2s-tls-port", "0", "--bind", "127.0.0.1"});
  EXPECT_EQ(serve.exit_code, 1) << serve.output;
  EXPECT_TRUE(contains(serve.output, "names the module 'carbon'")) << serve.output;
}

TEST(CliCheckTest, ListsTheModulesOfEachHost) {
  TempDir dir;
  const RunResult result = run_parley({"check", "--data-dir", dir.path() / "data", "--skip-ports"});
  EXPECT_TRUE(contains(result.output, "ok: localhost enables the modules disco, ping, roster, "
                                      "presence, offline"))
      << result.output;
}

TEST(CliConfigTest, ServeUsesTheFileWithFlagsOverIt) {
  // The file names a log file relative to itself; the test's flags (--domain, --bind, ports)
  // override the rest.
  TempDir dir;
  const auto config = dir.path() / "parley.toml";
  write_file(config, "log_file = \"from-config.log\"\n[c2s]\nport = 1\n");
  ServerProcess server({"--config", config.string(), "--c2s-tls-port", "0"});
  EXPECT_NE(server.port(), 1);  // --c2s-port 0 won over the file
  const std::string logged = read_file(dir.path() / "from-config.log");
  EXPECT_TRUE(
      contains(logged, "listening for clients on 127.0.0.1:" + std::to_string(server.port())))
      << logged << "\n---\n"
      << server.output();
}

TEST(CliConfigTest, PortFlagAcceptsOff) {
  TempDir dir;
  const RunResult result = run_parley({"check", "--data-dir", dir.path() / "data", "--c2s-port",
                                       "off", "--c2s-tls-port", "off", "--skip-ports"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "both client listeners are disabled")) << result.output;
}

TEST(CliConfigTest, FederationFlagsAcceptOffAndNoFederation) {
  TempDir dir;
  const std::vector<std::string> base{"check",          "--data-dir", dir.path() / "data",
                                      "--skip-ports",   "--s2s-port", "off",
                                      "--s2s-tls-port", "off"};
  const RunResult off = run_parley(base);
  EXPECT_EQ(off.exit_code, 1) << off.output;
  EXPECT_TRUE(contains(
      off.output,
      "both federation listeners ([s2s] port and tls_port) are disabled while federation is on"))
      << off.output;
  std::vector<std::string> no_federation = base;
  no_federation.push_back("--no-federation");
  const RunResult fine = run_parley(no_federation);
  EXPECT_EQ(fine.exit_code, 0) << fine.output;
}

TEST(CliConfigTest, FederationPortFlagOutOfRangeFails) {
  const RunResult result = run_parley({"serve", "--s2s-tls-port", "65536"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "'65536' is not a port")) << result.output;
}

TEST(CliConfigTest, MissingCaFileIsNamed) {
  TempDir dir;
  const auto missing = dir.path() / "missing-ca.pem";
  const RunResult result = run_parley(
      {"check", "--data-dir", dir.path() / "data", "--skip-ports", "--ca-file", missing});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "the CA file ([s2s] ca_file, --ca-file) " + missing.string() +
                                          " does not exist"))
      << result.output;
}

// --- parley check ---------------------------------------------------------------------------

TEST(CliCheckTest, HealthySetupExitsZeroWithPlainSentences) {
  TempDir dir;
  const RunResult result =
      run_parley({"check", "--data-dir", dir.path() / "data", "--bind", "127.0.0.1", "--c2s-port",
                  "0", "--c2s-tls-port", "0", "--s2s-port", "0", "--s2s-tls-port", "0"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "ok: no configuration file given")) << result.output;
  EXPECT_TRUE(contains(result.output,
                       "ok: Parley can listen for clients (STARTTLS) on "
                       "127.0.0.1:0"))
      << result.output;
  EXPECT_TRUE(contains(result.output, "warning: localhost has no certificate configured"))
      << result.output;
  // check creates nothing.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data"));
}

TEST(CliCheckTest, PortInUseAndBadCertificateAreErrors) {
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
  write_file(dir.path() / "cert.pem", "not a certificate\n");
  write_file(dir.path() / "key.pem", "not a key\n");
  const RunResult result =
      run_parley({"check", "--data-dir", dir.path() / "data", "--bind", "127.0.0.1", "--c2s-port",
                  port, "--c2s-tls-port", "off", "--s2s-port", "0", "--s2s-tls-port", "0", "--cert",
                  dir.path() / "cert.pem", "--key", dir.path() / "key.pem"});
  ::close(fd);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output,
                       "error: Parley cannot listen for clients (STARTTLS) on "
                       "127.0.0.1:" +
                           port + ": port " + port + " is in use"))
      << result.output;
  EXPECT_TRUE(contains(result.output, "holds no PEM certificate")) << result.output;
  EXPECT_TRUE(contains(result.output, "fix the errors before starting Parley")) << result.output;
}

// --- accounts -------------------------------------------------------------------------------

class CliAccountsTest : public ::testing::Test {
 protected:
  RunResult run(std::vector<std::string> args, std::string_view input = {}) {
    args.insert(args.end(), {"--data-dir", data_dir_.string()});
    return run_parley_with_input(args, input);
  }

  TempDir dir_;
  std::filesystem::path data_dir_ = dir_.path() / "data";
};

TEST_F(CliAccountsTest, AddUserThenUsersListsIt) {
  const RunResult added = run({"adduser", "Alice@LocalHost"}, "correct horse\n");
  EXPECT_EQ(added.exit_code, 0) << added.output;
  EXPECT_TRUE(contains(added.output, "Created the account alice@localhost.")) << added.output;
  ASSERT_EQ(run({"adduser", "bob@localhost"}, "battery staple\n").exit_code, 0);
  const RunResult listed = run({"users"});
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_EQ(listed.output, "alice@localhost\nbob@localhost\n");
  EXPECT_EQ(run({"users", "localhost"}).output, "alice@localhost\nbob@localhost\n");
}

TEST_F(CliAccountsTest, AddUserTwiceFailsClearly) {
  ASSERT_EQ(run({"adduser", "bob@localhost"}, "one\n").exit_code, 0);
  const RunResult again = run({"adduser", "bob@localhost"}, "two\n");
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_EQ(again.output, "parley adduser bob@localhost: the account already exists\n");
}

TEST_F(CliAccountsTest, PasswdChangesTheStoredCredentials) {
  ASSERT_EQ(run({"adduser", "bob@localhost"}, "old password\n").exit_code, 0);
  const std::string before = read_file(data_dir_ / "parley.sqlite");
  const RunResult changed = run({"passwd", "bob@localhost"}, "new password\n");
  EXPECT_EQ(changed.exit_code, 0) << changed.output;
  EXPECT_TRUE(contains(changed.output, "Changed the password of bob@localhost")) << changed.output;
  // New salts and keys: the file's bytes differ (the unit tests check the keys themselves).
  EXPECT_NE(read_file(data_dir_ / "parley.sqlite"), before);

  const RunResult missing = run({"passwd", "nobody@localhost"}, "x\n");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_EQ(missing.output, "parley passwd nobody@localhost: there is no such account\n");
}

TEST_F(CliAccountsTest, DelUserRemovesTheAccount) {
  ASSERT_EQ(run({"adduser", "bob@localhost"}, "pw\n").exit_code, 0);
  ASSERT_EQ(run({"adduser", "carol@localhost"}, "pw\n").exit_code, 0);
  const RunResult deleted = run({"deluser", "bob@localhost"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_EQ(run({"users"}).output, "carol@localhost\n");
  const RunResult again = run({"deluser", "bob@localhost"});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_EQ(again.output, "parley deluser bob@localhost: there is no such account\n");
}

TEST_F(CliAccountsTest, BadAddressesAndUnservedDomainsAreExplained) {
  const RunResult unserved = run({"adduser", "bob@example.net"}, "pw\n");
  EXPECT_EQ(unserved.exit_code, 1);
  EXPECT_EQ(unserved.output,
            "parley adduser bob@example.net: example.net is not served here; configured "
            "domains: localhost\n");
  const RunResult no_domain = run({"adduser", "bob"}, "pw\n");
  EXPECT_EQ(no_domain.exit_code, 1);
  EXPECT_EQ(no_domain.output,
            "parley adduser bob: give a user name and a domain, e.g. bob@localhost\n");
  const RunResult resource = run({"adduser", "bob@localhost/phone"}, "pw\n");
  EXPECT_EQ(resource.exit_code, 1);
  EXPECT_TRUE(contains(resource.output, "an account address has no resource")) << resource.output;
  const RunResult invalid = run({"adduser", "bo b@localhost"}, "pw\n");
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_TRUE(contains(invalid.output, "parley adduser bo b@localhost: not a valid address"))
      << invalid.output;
  const RunResult missing = run({"adduser"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.output, "JID is required")) << missing.output;
  // Nothing was created by any of them.
  EXPECT_EQ(run({"users"}).output, "parley users: no accounts\n");
}

TEST_F(CliAccountsTest, PasswordComesFromStandardInputAndMustNotBeEmpty) {
  const RunResult empty = run({"adduser", "bob@localhost"}, "\n");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_EQ(empty.output,
            "parley adduser bob@localhost: the password is empty; choose a non-empty one\n");
  const RunResult none = run({"adduser", "bob@localhost"}, "");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(contains(none.output, "no password on standard input")) << none.output;
  EXPECT_EQ(run({"users"}).output, "parley users: no accounts\n");
  // Only the first line is the password; a CR LF line end is not part of it.
  EXPECT_EQ(run({"adduser", "bob@localhost"}, "pw\r\nignored\n").exit_code, 0);
}

TEST_F(CliAccountsTest, DomainsComeFromTheConfigFile) {
  const auto config = dir_.path() / "parley.toml";
  write_file(config, "[[host]]\ndomain = \"example.org\"\n[[host]]\ndomain = \"chat.example\"\n");
  const RunResult added = run({"adduser", "bob@example.org", "--config", config.string()}, "pw\n");
  EXPECT_EQ(added.exit_code, 0) << added.output;
  const RunResult refused = run({"adduser", "bob@localhost", "--config", config.string()}, "pw\n");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.output, "configured domains: example.org, chat.example"))
      << refused.output;
  // --domain replaces the file's hosts.
  const RunResult flag = run(
      {"adduser", "bob@localhost", "--config", config.string(), "--domain", "localhost"}, "pw\n");
  EXPECT_EQ(flag.exit_code, 0) << flag.output;
  EXPECT_EQ(run({"users"}).output, "bob@example.org\nbob@localhost\n");
}

TEST_F(CliAccountsTest, WorksWhileTheServerRuns) {
  ServerProcess server({"--c2s-tls-port", "0"}, data_dir_);
  const RunResult added = run({"adduser", "live@localhost"}, "pw\n");
  EXPECT_EQ(added.exit_code, 0) << added.output << "\n--- server:\n" << server.output();
  EXPECT_EQ(run({"passwd", "live@localhost"}, "pw2\n").exit_code, 0);
  EXPECT_TRUE(contains(run({"users"}).output, "live@localhost\n"));
  EXPECT_EQ(run({"deluser", "live@localhost"}).exit_code, 0);
  // The server is still there.
  EXPECT_FALSE(server.wait(std::chrono::milliseconds(0)).has_value()) << server.output();
}

// --- parley check: what other servers find (federation/check.hpp) ------------------------------

TEST(CliCheckTest, ReportsTheSrvRecordsTheConfiguredDnsServerHasAgainstTheS2sPorts) {
  federation::dns::test::Dnsmasq dnsmasq({
      "--srv-host=_xmpps-server._tcp.chat.test,xmpp.chat.test,5270,0,0",
      "--srv-host=_xmpp-server._tcp.chat.test,xmpp.chat.test,5269,10,0",
      "--host-record=xmpp.chat.test,127.0.0.1",
  });
  TempDir dir;
  const auto config = dir.path() / "parley.toml";
  const std::string common =
      "data_dir = \"data\"\n[[host]]\ndomain = \"chat.test\"\n[s2s]\n"
      "dns_servers = [\"" +
      dnsmasq.server() + "\"]\n";
  write_file(config, common);
  const RunResult fine = run_parley({"check", "--config", config, "--skip-ports"});
  EXPECT_EQ(fine.exit_code, 0) << fine.output;
  EXPECT_TRUE(
      contains(fine.output, "ok: DNS questions go to " + dnsmasq.server() + " ([s2s] dns_servers)"))
      << fine.output;
  EXPECT_TRUE(contains(fine.output,
                       "ok: _xmpps-server._tcp.chat.test SRV 0 0 5270 xmpp.chat.test: "
                       "xmpp.chat.test is 127.0.0.1; other servers connect there with direct "
                       "TLS, to [s2s] tls_port\n"
                       "ok: _xmpp-server._tcp.chat.test SRV 10 0 5269 xmpp.chat.test: "
                       "xmpp.chat.test is 127.0.0.1; other servers connect there with STARTTLS, "
                       "to [s2s] port\n"))
      << fine.output;

  // The direct TLS record stays, the listener goes: servers that follow it fail.
  write_file(config, common + "tls_port = false\n");
  const RunResult off = run_parley({"check", "--config", config, "--skip-ports"});
  EXPECT_EQ(off.exit_code, 1) << off.output;
  EXPECT_TRUE(contains(off.output,
                       "error: _xmpps-server._tcp.chat.test SRV 0 0 5270 xmpp.chat.test: other "
                       "servers connect to port 5270 with direct TLS, but Parley's direct TLS "
                       "listener for servers is off ([s2s] tls_port = false): set tls_port = 5270 "
                       "in [s2s], or remove the record\n"))
      << off.output;
  EXPECT_TRUE(contains(off.output, "ok: _xmpp-server._tcp.chat.test SRV 10 0 5269")) << off.output;
}

TEST(CliCheckTest, SelfSignedCertificateWarnsThatOtherServersUseDialback) {
  TempDir dir;
  const auto pair = core::tls::generate_self_signed("chat.test");
  write_file(dir.path() / "chat.crt", pair.certificate);
  write_file(dir.path() / "chat.key", pair.private_key);
  std::filesystem::permissions(dir.path() / "chat.key", std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::owner_write);
  const RunResult result = run_parley({"check", "--data-dir", dir.path() / "data", "--domain",
                                       "chat.test", "--cert", dir.path() / "chat.crt", "--key",
                                       dir.path() / "chat.key", "--skip-ports", "--skip-dns"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output,
                       "warning: other servers cannot authenticate chat.test by its certificate "
                       "(it is self-signed): they will use dialback (XEP-0220) instead, and "
                       "servers that require valid certificates will refuse you"))
      << result.output;
  EXPECT_TRUE(contains(result.output, "ok: DNS was not asked (--skip-dns)")) << result.output;
  EXPECT_FALSE(contains(result.output, "_xmpp-server._tcp")) << result.output;
}

}  // namespace
}  // namespace parley::testing
