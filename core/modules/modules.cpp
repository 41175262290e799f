#include "core/modules/modules.hpp"

namespace parley::core::modules {

std::vector<ModuleInfo> builtin() {
  return {
      {"disco", "XEP-0030 service discovery of the server and of accounts", true, make_disco},
      {"ping", "XEP-0199 ping", true, make_ping},
      {"roster", "RFC 6121 §2 rosters, with versioning (XEP-0237) and pre-approval", true,
       make_roster},
      {"presence", "RFC 6121 §3-4 presence subscriptions, broadcasts, probes, directed presence",
       true, make_presence},
      {"offline", "XEP-0160 offline messages with XEP-0203 delay stamps", true, make_offline},
      {"shared_groups", "shared roster groups from the config file and `parley group`", true,
       make_shared_groups},
  };
}

}  // namespace parley::core::modules
