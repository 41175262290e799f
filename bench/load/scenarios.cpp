// The table of scenarios (scenario.hpp).
#include "bench/load/scenario.hpp"

namespace parley::load {

std::span<const ScenarioInfo> scenarios() {
  static const ScenarioInfo kScenarios[] = {
      {"messages",
       "--clients clients online; each keeps --window one-to-one chat messages in flight to a "
       "partner (or, with --rate, all send --rate messages/s in total on a fixed schedule) for "
       "--seconds: delivered messages/s, end-to-end latency, server CPU per message",
       run_messages},
      {"presence",
       "account 1 and --contacts subscribed contacts online; account 1 changes presence --changes "
       "times: time until every contact has it, server CPU per change",
       run_presence},
      {"logins",
       "--clients clients log in, --login-concurrency at a time, as fast as the server allows: "
       "logins/s, login time p50/p99/max, server CPU per login",
       run_logins},
      {"idle",
       "--clients clients log in and stay connected, silent, for --seconds: server memory (RSS) "
       "per idle connection, login time, server CPU per login",
       run_idle},
      {"subscribe",
       "set-up for 'presence' on servers without shared roster groups: --contacts contacts "
       "(accounts after the first) subscribe to account 1's presence, which approves (RFC 6121 "
       "§3.1); contacts subscribed already are skipped",
       run_subscribe},
  };
  return kScenarios;
}

}  // namespace parley::load
