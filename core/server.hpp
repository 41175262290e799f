// The running server: data directory, TLS material, the c2s listener and the event loop, and an
// orderly shutdown (every open stream gets RFC 6120 §4.9.3.20 system-shutdown before it closes).
//
// Asio stays out of this header so that app/ and tests need not compile it.
// Thread-safety: stop() may be called from any thread; everything else from the thread that owns
// the Server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/stream_id.hpp"

namespace spdlog {
class logger;
}

namespace parley::core {

class Server {
 public:
  // REQUIRES: log is not null.
  Server(Config config, std::shared_ptr<spdlog::logger> log,
         StreamIdSource stream_ids = random_stream_id);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates the data directory, generates a self-signed certificate there when the domain has
  // none, binds the c2s listener and starts accepting. Throws std::exception with an
  // operator-readable what() when any of that fails.
  void start();
  // The bound c2s endpoint, e.g. "[::]:5222" or "127.0.0.1:40123". REQUIRES: start() succeeded.
  const std::string& c2s_address() const;
  std::uint16_t c2s_port() const;

  // SIGINT and SIGTERM stop the server: the first gracefully, a second one closes every
  // connection at once.
  void stop_on_signals();
  // Serves until stop(); returns once every connection has closed.
  void run();
  // Stops accepting and ends every stream with system-shutdown. Any thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::core
