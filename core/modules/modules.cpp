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
      {"blocking", "XEP-0191 blocking command: blocklists, pushes, blocked stanzas refused", true,
       make_blocking},
      {"carbons", "XEP-0280 message carbons: copies of sent and received chats to every resource",
       true, make_carbons},
      {"version", "XEP-0092 software version of the server (name and version, no OS)", true,
       make_version},
      {"time", "XEP-0202 entity time of the server (UTC)", true, make_time},
      {"last", "XEP-0012 last activity: server uptime, accounts' last logout and status", true,
       make_last},
      {"vcard", "XEP-0054 vcard-temp: accounts' vCards", true, make_vcard},
      {"private", "XEP-0049 private XML storage", true, make_private_storage},
  };
}

}  // namespace parley::core::modules
