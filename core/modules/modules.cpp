#include "core/modules/modules.hpp"

namespace parley::core::modules {

std::vector<ModuleInfo> builtin() {
  return {
      {"disco", "XEP-0030 service discovery of the server and of accounts", true, make_disco},
      {"ping", "XEP-0199 ping", true, make_ping},
  };
}

}  // namespace parley::core::modules
