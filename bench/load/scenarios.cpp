// The table of scenarios (scenario.hpp).
#include "bench/load/scenario.hpp"

namespace parley::load {

std::span<const ScenarioInfo> scenarios() {
  static const ScenarioInfo kScenarios[] = {
      {"messages",
       "--clients clients online; each keeps --window one-to-one chat messages in flight to a "
       "partner for --seconds: delivered messages/s, end-to-end latency, server CPU per message",
       run_messages},
      {"presence",
       "account 1 and --contacts subscribed contacts online; account 1 changes presence --changes "
       "times: time until every contact has it, server CPU per change",
       run_presence},
  };
  return kScenarios;
}

}  // namespace parley::load
