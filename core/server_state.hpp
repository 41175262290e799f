// What the listeners and sessions of one server share: the configuration in force, TLS contexts,
// storage, the session registry, the SASL throttle. Owned by core::Server.
// SIGHUP replaces `config` and `c2s_tls`; a session reads them when it is created and keeps the
// shared_ptrs it read, so a reload never changes a stream under way.
//
// Threads: the core thread (`executor`) owns everything here: the router, the hosts and their
// modules, the session registry, federation. Client sessions run on the io threads
// (`session_executors`, the core's among them) and reach core state only by posting to the core,
// except for what is marked safe for any thread below.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth_throttle.hpp"
#include "core/config.hpp"
#include "core/handovers.hpp"
#include "core/host.hpp"
#include "core/remote_domains.hpp"
#include "core/router.hpp"
#include "core/session_registry.hpp"
#include "core/stream_id.hpp"

namespace spdlog {
class logger;
}
namespace parley::storage {
class Worker;
}

namespace parley::core {

namespace tls {
class ServerContexts;
}

// XEP-0077: how many accounts one IP address created recently. Any thread.
class RegistrationLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // Whether `address` may register one more account now; counts it when it may.
  bool allow(const std::string& address, unsigned per_hour, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto& times = recent_[address];
    while (!times.empty() && now - times.front() > std::chrono::hours(1)) times.pop_front();
    if (times.size() >= per_hour) return false;
    times.push_back(now);
    if (recent_.size() > 10000) recent_.clear();  // a flood from many addresses: start over
    return true;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::deque<Clock::time_point>> recent_;  // guarded by mutex_
};

struct ServerState {
  std::shared_ptr<const Config> config;
  std::shared_ptr<tls::ServerContexts> c2s_tls;
  std::shared_ptr<spdlog::logger> log;
  storage::Worker* storage = nullptr;
  SessionRegistry sessions;
  // The served domains with their modules, and the router between them. Built at start; a config
  // reload does not change which modules run.
  // The core thread reads it freely and changes it only under a unique lock of hosts_mutex;
  // other threads look hosts up with find_host().
  std::map<std::string, std::unique_ptr<Host>, std::less<>> hosts;
  mutable std::shared_mutex hosts_mutex;
  std::unique_ptr<Router> router;
  // Federation (federation::Manager), null when off. Owned by Server.
  RemoteDomains* remote = nullptr;
  // The core thread's executor, for coroutines that modules start on their own.
  boost::asio::any_io_executor executor;
  // Where new client sessions run, in turn: the core's executor first, then one per further io
  // thread ([server] threads). Set at start.
  std::vector<boost::asio::any_io_executor> session_executors;
  // The core thread's jobs for sessions on the other threads (C2sSession::from_core).
  Handovers handovers;
  // Any thread.
  AuthThrottle auth_throttle;
  RegistrationLimiter registrations;
  // Accounts removed by this server since it started; counted on the storage thread, in the
  // removal's own job. A session that read its account's credentials at removal count N and binds
  // at N knows its account still exists without asking storage (C2sSession::handle_bind).
  std::atomic<std::uint64_t> account_removals{0};
  // Secret for SCRAM's fake salts of unknown users (sasl::ScramServerOptions), kept in the data
  // directory so that it survives restarts.
  std::string scram_secret;
  StreamIdSource make_stream_id = random_stream_id;
  // Session numbers for the logs, unique across listeners.
  std::uint64_t next_session_number = 1;
  // Which of session_executors the next session gets (core thread).
  std::size_t next_session_executor = 0;

  // The host serving `domain`, or nullptr. Any thread (Host objects live as long as the server;
  // what a session reads from one, its stream features and caps hash, is fixed once it is here).
  Host* find_host(std::string_view domain) const {
    std::shared_lock lock(hosts_mutex);
    auto it = hosts.find(domain);
    return it == hosts.end() ? nullptr : it->second.get();
  }
};

}  // namespace parley::core
