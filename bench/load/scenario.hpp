// parley-load's scenarios and what they share: the options, the context a scenario runs in and
// the table of scenarios. A scenario is one coroutine that connects its clients, measures, and
// returns a Report plus the problems that make the run invalid (lost messages, errors). The
// scenarios: `messages` (chat throughput and latency, closed or open loop), `presence` (one
// presence change to many contacts), `logins` (the login storm), `idle` (memory per idle
// connection) and `subscribe` (a set-up step: contacts subscribed to a user, RFC 6121 §3.1).
// Adding one is a new file with a run_*() function and a line in scenarios().
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/report.hpp"
#include "bench/load/xmpp_client.hpp"

namespace parley::load {

struct Options {
  // The server and the accounts: PREFIX<first>, PREFIX<first+1>, … on `domain`, all with
  // `password`, created beforehand by the caller.
  std::string host = "127.0.0.1";
  std::uint16_t port = 5222;
  std::string domain = "localhost";
  std::string users = "load";
  std::string password;
  std::size_t first = 1;
  Mechanism mechanism = Mechanism::ScramSha1;
  std::string resource = "load";
  bool batch_writes = false;  // Account::batch_writes
  std::size_t login_concurrency = 20;
  // Seconds one client may take to log in and get its roster. Generous: with hundreds of
  // mutually subscribed contacts, each login sets off a presence broadcast to all the others.
  double login_timeout_seconds = 300;
  bool fetch_roster = true;
  // The server's process, for its CPU time and memory; 0 when not given.
  pid_t server_pid = 0;
  // A second server (server B), for the messages scenario across two federated servers: port2
  // 0 means none. Half the clients log in to it, as PREFIX2<first>… on domain2 (layout.hpp).
  std::string host2 = "127.0.0.1";
  std::uint16_t port2 = 0;
  std::string domain2;
  std::string users2;  // empty: the same prefix as on server A
  pid_t server2_pid = 0;
  bool two_servers() const { return port2 != 0; }

  std::string scenario;
  // messages
  std::size_t clients = 200;
  std::size_t window = 4;
  // Open loop: messages per second in all, on a fixed schedule (rate_schedule.hpp); 0 means
  // closed loop (`window` in flight per sender).
  double rate = 0;
  bool random_partner = false;
  bool both_directions = false;  // two servers: B's clients send to A's too
  double warmup_seconds = 2;
  double seconds = 10;  // messages: measured; idle: the connections held
  double drain_seconds = 10;
  std::uint64_t seed = 1;
  // messages: when not empty, one line per measured delivery is written here
  // (messages_scenario.cpp)
  std::string latency_log;
  // messages: CPUs to watch for stalls (stall_probe.hpp) from the measurement's start until the
  // drain's end; empty: none. A stall is a probe wake-up later than stall_threshold_ms.
  std::vector<int> stall_probe_cpus;
  double stall_threshold_ms = 1.0;
  double stall_period_ms = 2;  // how long each probe sleeps (shorter disturbs what it watches)
  // presence, subscribe
  std::size_t contacts = 500;
  std::size_t changes = 20;
  double change_timeout_seconds = 10;
  double change_gap_seconds = 0.2;
  double settle_seconds = 1;
  // subscribe
  double subscribe_timeout_seconds = 60;
};

struct Context {
  const Options& options;
  asio::any_io_executor executor;
  asio::ssl::context& tls;
};

struct Outcome {
  Report report;
  // Why the figures cannot be trusted: lost or duplicated messages, errors, failed clients.
  // parley-load prints them and exits with status 1 when there are any.
  std::vector<std::string> problems;
};

struct ScenarioInfo {
  std::string_view name;
  std::string_view summary;
  asio::awaitable<Outcome> (*run)(Context&);
};

std::span<const ScenarioInfo> scenarios();

asio::awaitable<Outcome> run_messages(Context& context);
asio::awaitable<Outcome> run_presence(Context& context);
asio::awaitable<Outcome> run_logins(Context& context);
asio::awaitable<Outcome> run_idle(Context& context);
asio::awaitable<Outcome> run_subscribe(Context& context);

}  // namespace parley::load
