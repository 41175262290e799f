// Test helpers for integration tests: the real `parley` binary as a child process in a temporary
// directory, and a plain TCP client that reads the server's XML stream with xml::StreamParser.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xml/stream_parser.hpp"

namespace parley::testing {

inline constexpr std::chrono::seconds kTimeout{20};  // generous: sanitizer builds are slow

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs `parley ARGS...` to completion and captures what it printed.
RunResult run_parley(const std::vector<std::string>& args);

// `parley serve --bind 127.0.0.1 --c2s-port 0 --port-file ...` with its data directory, log and
// port file in a TempDir. The constructor returns once the server has bound its port.
class ServerProcess {
 public:
  // `data_dir`: reuse this data directory instead of a fresh one (restart tests).
  explicit ServerProcess(std::vector<std::string> extra_args = {},
                         std::optional<std::filesystem::path> data_dir = std::nullopt);
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // The direct TLS (XEP-0368) port.
  std::uint16_t tls_port() const { return tls_port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // Everything the server printed so far.
  std::string output() const;

  // Sends `signal` and waits up to `timeout` for the process to exit. Returns the wait status,
  // or nullopt when it is still running.
  std::optional<int> signal_and_wait(int signal, std::chrono::milliseconds timeout);
  // Waits up to `timeout` for the process to exit by itself.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  TempDir dir_;
  std::filesystem::path data_dir_;
  std::filesystem::path output_file_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
};

// A client's TCP connection to 127.0.0.1:port. What arrives is fed to a StreamParser configured
// for jabber:client, so tests assert on parsed headers and elements, not on byte patterns.
class Client {
 public:
  explicit Client(std::uint16_t port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(std::string_view bytes);
  // The next event from the server's stream; nullopt when the connection closed (or the timeout
  // passed) before one was complete. Never returns NeedMore.
  std::optional<xml::StreamParser::Event> next_event(std::chrono::milliseconds timeout = kTimeout);
  // Reads until the server closes the connection; true when it did within `timeout`. Bytes that
  // arrive meanwhile are still fed to the parser (see next_event()) and kept in received().
  bool wait_for_close(std::chrono::milliseconds timeout = kTimeout);
  // Half-closes our side (TCP FIN).
  void shutdown_send();

  const xml::StreamHeader& header() const { return parser_.header(); }
  // Every byte received so far, for failure messages.
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

 private:
  // One recv() with a deadline; false on timeout. Sets closed_ on EOF or a reset.
  bool receive(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  xml::StreamParser parser_;
  std::string received_;
  bool closed_ = false;
};

// The opening a well-behaved client sends.
inline constexpr std::string_view kClientHeader =
    "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xml:lang='en' "
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

}  // namespace parley::testing
