// Logins per second against the real server: TCP connect, stream header, STARTTLS, TLS handshake,
// stream restart, SCRAM, restart, resource binding, </stream:stream>. The server runs pinned to
// one core (taskset -c 1), the clients on the other; the primary figure is the server's CPU time
// per login (from /proc/PID/stat), which the load of other processes does not change.
//
//   login_bench PARLEY_BINARY [logins] [concurrency] [mechanism]
//
// A plain program rather than a Google Benchmark: what is measured is another process, over many
// concurrent connections, not a function in a loop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/sasl/base64.hpp"
#include "core/sasl/scram_client.hpp"
#include "xml/stream_parser.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
namespace sasl = parley::core::sasl;
namespace xml = parley::xml;

constexpr std::string_view kHeader =
    "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams'>";

// Server CPU seconds so far (utime + stime).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  long ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14 || i == 15) ticks += std::stol(f);
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

pid_t spawn(const std::vector<std::string>& args, const std::string& stdin_text = {}) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int in[2];
  if (pipe(in) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_addclose(&actions, in[1]);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("cannot start " + args[0]);
  }
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  if (!stdin_text.empty() && write(in[1], stdin_text.data(), stdin_text.size()) < 0) {
    throw std::runtime_error("write");
  }
  close(in[1]);
  return pid;
}

// One client connection, blocking, with a stream parser on what arrives.
class Conn {
 public:
  explicit Conn(std::uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect");
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Conn() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    close(fd_);
  }
  void send(std::string_view s) {
    if (ssl_ != nullptr) {
      if (SSL_write(ssl_, s.data(), static_cast<int>(s.size())) <= 0)
        throw std::runtime_error("SSL_write");
    } else if (::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(s.size())) {
      throw std::runtime_error("send");
    }
  }
  xml::StreamParser::Event next() {
    for (;;) {
      auto ev = parser_.next();
      if (ev.type != xml::StreamParser::EventType::NeedMore) return ev;
      char buf[4096];
      const int n = ssl_ != nullptr ? SSL_read(ssl_, buf, sizeof buf)
                                    : static_cast<int>(recv(fd_, buf, sizeof buf, 0));
      if (n <= 0) throw std::runtime_error("connection closed");
      parser_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }
  xml::Document element() {
    for (;;) {
      auto ev = next();
      if (ev.type == xml::StreamParser::EventType::Element) return std::move(ev.element);
      if (ev.type != xml::StreamParser::EventType::StreamOpened) throw std::runtime_error("stream");
    }
  }
  void start_tls(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    // SSL_set_tlsext_host_name, without the macro's C cast.
    static char kServerName[] = "localhost";
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, kServerName);
    if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake");
    parser_.reset();
  }
  void restart() { parser_.reset(); }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  xml::StreamParser parser_;
};

void login(std::uint16_t port, SSL_CTX* ctx, const std::string& mechanism, int n) {
  Conn c(port);
  c.send(kHeader);
  c.element();  // features: starttls
  c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  c.element();  // proceed
  c.start_tls(ctx);
  c.send(kHeader);
  c.element();  // features: mechanisms
  sasl::ScramClientOptions options;
  options.hash_name = mechanism == "SCRAM-SHA-1" ? "SHA-1" : "SHA-256";
  options.username = "bench" + std::to_string(n % 8);
  options.password = "benchmark-password";
  sasl::ScramClient scram(options);
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + scram.mechanism() + "'>" +
         sasl::base64_encode(scram.client_first()) + "</auth>");
  auto challenge = c.element();
  auto first = sasl::base64_decode(challenge.root().text());
  auto final_message = first ? scram.client_final(*first) : std::nullopt;
  if (!final_message) throw std::runtime_error("SCRAM: bad challenge");
  c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
         sasl::base64_encode(*final_message) + "</response>");
  auto success = c.element();
  if (success.root().name() != "success") throw std::runtime_error("SCRAM failed");
  c.restart();
  c.send(kHeader);
  c.element();  // features: bind
  c.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
  auto bound = c.element();
  if (bound.root().attr("type") != "result") throw std::runtime_error("bind failed");
  c.send("</stream:stream>");
}

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: login_bench PARLEY_BINARY [logins] [concurrency] [mechanism]\n";
    return 2;
  }
  const std::string binary = argv[1];
  const int logins = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int concurrency = argc > 3 ? std::atoi(argv[3]) : 8;
  const std::string mechanism = argc > 4 ? argv[4] : "SCRAM-SHA-1";
  const auto dir =
      std::filesystem::temp_directory_path() / ("parley-login-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto data = dir / "data";
  for (int i = 0; i < 8; ++i) {
    pid_t p = spawn({binary, "adduser", "bench" + std::to_string(i) + "@localhost", "--data-dir",
                     data.string()},
                    "benchmark-password\n");
    int status = 0;
    waitpid(p, &status, 0);
  }
  const auto port_file = dir / "ports";
  pid_t server = spawn({"taskset", "-c", "1", binary, "serve", "--data-dir", data.string(),
                        "--bind", "127.0.0.1", "--c2s-port", "0", "--c2s-tls-port", "0", "--no-federation",
                        "--port-file", port_file.string(), "--log", (dir / "log").string()});
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!std::filesystem::exists(port_file) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream pf(port_file);
  int port = 0;
  pf >> port;
  if (port <= 0) {
    std::cerr << "the server did not start\n";
    kill(server, SIGKILL);
    return 1;
  }
  pin_to(0);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);

  // Warm-up, then the measured run.
  for (int i = 0; i < 20; ++i) login(static_cast<std::uint16_t>(port), ctx, mechanism, i);
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  const double cpu_before = cpu_seconds(server);
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < logins; i = next++) {
        try {
          login(static_cast<std::uint16_t>(port), ctx, mechanism, i);
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the server finish closing
  const double cpu = cpu_seconds(server) - cpu_before;
  kill(server, SIGTERM);
  int status = 0;
  waitpid(server, &status, 0);
  SSL_CTX_free(ctx);
  std::filesystem::remove_all(dir);

  std::printf("mechanism %s, %d logins, %d concurrent, %d failed\n", mechanism.c_str(), logins,
              concurrency, failures.load());
  std::printf("logins/s (wall): %.0f\n", logins / seconds);
  std::printf("server CPU per login: %.3f ms\n", cpu * 1000.0 / logins);
  std::printf("logins per server CPU-second: %.0f\n", logins / cpu);
  return failures.load() == 0 ? 0 : 1;
}
