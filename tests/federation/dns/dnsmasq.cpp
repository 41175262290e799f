#include "tests/federation/dns/dnsmasq.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace parley::federation::dns::test {

namespace {

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Binds a socket of `type` on 127.0.0.1:`port` (0: any); returns the fd and sets the port.
int bind_loopback(int type, std::uint16_t& port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  auto addr = loopback(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

// A port free for both UDP and TCP now (dnsmasq binds both); another process may still take it
// before dnsmasq does, which start() notices.
std::uint16_t free_port() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::uint16_t port = 0;
    const int udp = bind_loopback(SOCK_DGRAM, port);
    if (udp < 0) continue;
    const int tcp = bind_loopback(SOCK_STREAM, port);
    ::close(udp);
    if (tcp >= 0) {
      ::close(tcp);
      return port;
    }
  }
  throw std::runtime_error("no free port on 127.0.0.1");
}

bool accepts_tcp(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  auto addr = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

Dnsmasq::Dnsmasq(const std::vector<std::string>& records) {
  char pattern[] = "/tmp/parley-dnsmasq-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  dir_ = pattern;
  std::string output;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (start(records, output)) return;
  }
  std::filesystem::remove_all(dir_);
  throw std::runtime_error("dnsmasq did not start: " + output);
}

Dnsmasq::~Dnsmasq() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool Dnsmasq::start(const std::vector<std::string>& records, std::string& output) {
  port_ = free_port();
  const auto log = dir_ / "dnsmasq.log";
  std::vector<std::string> args = {
      kDnsmasq,
      "--no-daemon",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      "--listen-address=127.0.0.1",
      "--port=" + std::to_string(port_),
      "--pid-file=" + (dir_ / "dnsmasq.pid").string(),
      "--log-facility=-",
      "--log-queries",
      // Answer names under these from the records given, NXDOMAIN otherwise; never forward.
      "--local=/test/",
      "--local=/localhost/",
  };
  args.insert(args.end(), records.begin(), records.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const int spawned = ::posix_spawn(&pid_, kDnsmasq, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    pid_ = -1;
    throw std::system_error(spawned, std::generic_category(), "posix_spawn dnsmasq");
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited, e.g. the port was taken meanwhile: try another
      output = read_file(log);
      return false;
    }
    if (accepts_tcp(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  output = "no answer on port " + std::to_string(port_) + " after 5 s; " + read_file(log);
  stop();
  return false;
}

void Dnsmasq::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

SilentServer::SilentServer() {
  fd_ = bind_loopback(SOCK_DGRAM, port_);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "bind UDP on 127.0.0.1");
}

SilentServer::~SilentServer() { ::close(fd_); }

}  // namespace parley::federation::dns::test
