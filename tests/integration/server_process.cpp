#include "tests/integration/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace parley::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPollInterval{10};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Starts PARLEY_BINARY with `args`, stdin from /dev/null, stdout and stderr into `output`.
pid_t spawn_parley(const std::vector<std::string>& args, const std::filesystem::path& output) {
  std::vector<std::string> argv_strings{PARLEY_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    throw_errno(std::string("cannot start ") + PARLEY_BINARY);
  }
  return pid;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/parley-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

RunResult run_parley(const std::vector<std::string>& args) {
  TempDir dir;
  const auto output = dir.path() / "output";
  const pid_t pid = spawn_parley(args, output);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid");
  }
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.output = read_file(output);
  return result;
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args,
                             std::optional<std::filesystem::path> data_dir)
    : data_dir_(data_dir ? *data_dir : dir_.path() / "data"),
      output_file_(dir_.path() / "output.log") {
  const auto port_file = dir_.path() / "c2s.port";
  std::vector<std::string> args{"serve",   "--domain",       "localhost", "--data-dir",
                                data_dir_, "--bind",         "127.0.0.1", "--c2s-port",
                                "0",       "--c2s-tls-port", "0",         "--port-file",
                                port_file};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn_parley(args, output_file_);

  // The port file appears (atomically, by rename) once the server has bound its socket.
  const auto deadline = Clock::now() + kTimeout;
  while (Clock::now() < deadline) {
    if (std::filesystem::exists(port_file)) {
      const int port = std::atoi(read_file(port_file).c_str());
      if (port <= 0 || port > 65535)
        throw std::runtime_error("bad port file: " + read_file(port_file));
      port_ = static_cast<std::uint16_t>(port);
      const std::string text = read_file(port_file);
      const auto newline = text.find('\n');
      if (newline != std::string::npos) {
        tls_port_ = static_cast<std::uint16_t>(std::atoi(text.c_str() + newline + 1));
      }
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      throw std::runtime_error("parley exited before binding its port:\n" + output());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  throw std::runtime_error("parley did not write its port file in time:\n" + output());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string ServerProcess::output() const { return read_file(output_file_); }

std::optional<int> ServerProcess::signal_and_wait(int signal, std::chrono::milliseconds timeout) {
  if (reaped_) throw std::logic_error("the server has already exited");
  if (::kill(pid_, signal) != 0) throw_errno("kill");
  return wait(timeout);
}

std::optional<int> ServerProcess::wait(std::chrono::milliseconds timeout) {
  if (reaped_) throw std::logic_error("the server has already exited");
  const auto deadline = Clock::now() + timeout;
  // A pidfd becomes readable when the process exits: no polling where the kernel has it.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  std::optional<int> result;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      result = status;
      break;
    }
    if (r < 0 && errno != EINTR) break;
    if (Clock::now() >= deadline) break;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, remaining_ms(deadline));
    } else {
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return result;
}

Client::Client(std::uint16_t port)
    : parser_([] {
        xml::ParserOptions options;
        options.content_namespaces = {"jabber:client"};
        return options;
      }()) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int err = errno;
    ::close(fd_);
    errno = err;
    throw_errno("connect to 127.0.0.1:" + std::to_string(port));
  }
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Client::shutdown_send() { ::shutdown(fd_, SHUT_WR); }

bool Client::receive(Clock::time_point deadline) {
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, remaining_ms(deadline));
  if (ready < 0 && errno != EINTR) throw_errno("poll");
  if (ready <= 0) return false;
  std::array<char, 4096> buffer{};
  const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
  if (n > 0) {
    const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
    received_ += bytes;
    parser_.feed(bytes);
  } else if (n == 0 || errno == ECONNRESET) {
    closed_ = true;
  } else if (errno != EINTR && errno != EAGAIN) {
    throw_errno("recv");
  }
  return true;
}

std::optional<xml::StreamParser::Event> Client::next_event(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto event = parser_.next();
    if (event.type != xml::StreamParser::EventType::NeedMore) return event;
    if (closed_ || !receive(deadline)) return std::nullopt;
  }
}

bool Client::wait_for_close(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!closed_) {
    if (!receive(deadline)) return false;
  }
  return true;
}

}  // namespace parley::testing
