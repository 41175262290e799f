// The running server: data directory, TLS material, storage, the c2s listeners (STARTTLS on 5222,
// direct TLS on 5223), the router and each host's modules, and the event loop; SIGHUP reloads configuration and certificates without
// dropping sessions; shutdown ends every stream with RFC 6120 §4.9.3.20 system-shutdown.
//
// Asio stays out of this header so that app/ and tests need not compile it.
// Thread-safety: stop() may be called from any thread; everything else from the thread that owns
// the Server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/remote_domains.hpp"
#include "core/stream_id.hpp"

#include <vector>

namespace spdlog {
class logger;
}

namespace parley::core {

struct ModuleInfo;

class Server {
 public:
  // REQUIRES: log is not null.
  Server(Config config, std::shared_ptr<spdlog::logger> log,
         StreamIdSource stream_ids = random_stream_id);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The modules hosts may enable (core/modules/modules.hpp has Parley's own). Call before start().
  void set_modules(std::vector<ModuleInfo> modules);
  // How to build the federation (federation::Manager); without one, or with [s2s] enabled = false,
  // stanzas to other domains get remote-server-not-found. Call before start().
  void set_federation(RemoteDomainsFactory factory);

  // Creates the data directory, generates a self-signed certificate for each domain that has
  // none, opens the database, loads TLS contexts, binds the listeners and starts accepting.
  // Throws std::exception with an operator-readable what() when any of that fails.
  void start();
  // Bound endpoints and ports; 0 / "" for a disabled listener. REQUIRES: start() succeeded.
  const std::string& c2s_address() const;
  std::uint16_t c2s_port() const;
  std::uint16_t c2s_tls_port() const;
  // The s2s listeners' ports; 0 when off or when federation is off.
  std::uint16_t s2s_port() const;
  std::uint16_t s2s_tls_port() const;

  // Makes sure the account `user`@default domain exists; when it does not, creates it with a
  // random password and returns that password. REQUIRES: start() succeeded; run() not running.
  std::optional<std::string> ensure_demo_account(const std::string& user);

  // Where SIGHUP gets the new configuration from (e.g. reading the config file again); without
  // one, SIGHUP reloads the certificates of the configuration in force.
  void set_reloader(std::function<Config()> reloader);
  // SIGINT and SIGTERM stop the server (a second one closes every connection at once); SIGHUP
  // reloads.
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
