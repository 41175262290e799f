// The modules Parley ships (core/modules/), by name, for core::Server::set_modules(). Each is one
// file implementing one protocol feature through the Host API (core/host.hpp); docs/MODULES.md
// lists them with their XEPs.
#pragma once

#include <vector>

#include "core/host.hpp"

namespace parley::core::modules {

std::vector<ModuleInfo> builtin();

// One factory per module file.
std::unique_ptr<Module> make_disco();
std::unique_ptr<Module> make_ping();
std::unique_ptr<Module> make_roster();
std::unique_ptr<Module> make_presence();
std::unique_ptr<Module> make_offline();
std::unique_ptr<Module> make_shared_groups();
std::unique_ptr<Module> make_blocking();
std::unique_ptr<Module> make_carbons();
std::unique_ptr<Module> make_version();
std::unique_ptr<Module> make_time();
std::unique_ptr<Module> make_last();
std::unique_ptr<Module> make_vcard();
std::unique_ptr<Module> make_private_storage();

}  // namespace parley::core::modules
