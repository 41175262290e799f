// See saturation.hpp.
#include "bench/load/saturation.hpp"

#include <cmath>
#include <vector>

namespace parley::load {

std::string saturated_processes(std::span<const Busy> servers, const Busy& tool) {
  std::vector<Busy> all(servers.begin(), servers.end());
  all.push_back(tool);
  auto saturated = [](const Busy& b) {
    return std::isfinite(b.share) && b.share >= kSaturatedShare;
  };
  std::vector<std::string> items;
  std::vector<bool> named(all.size(), false);
  bool server_named = false;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (named[i]) continue;
    if (saturated(all[i])) {
      items.push_back(all[i].name);
      named[i] = true;
      server_named = server_named || i < servers.size();
      continue;
    }
    if (all[i].cpu < 0 || !std::isfinite(all[i].share)) continue;
    // Not saturated alone: together with the others pinned to its CPU, none saturated alone?
    std::vector<std::size_t> group{i};
    double sum = all[i].share;
    bool any_alone = false;
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (all[j].cpu != all[i].cpu || !std::isfinite(all[j].share)) continue;
      group.push_back(j);
      sum += all[j].share;
      any_alone = any_alone || saturated(all[j]);
    }
    if (group.size() < 2 || any_alone || sum < kSaturatedShare) continue;
    std::string text;
    for (std::size_t j : group) {
      text += (text.empty() ? "" : " + ") + all[j].name;
      named[j] = true;
      server_named = server_named || j < servers.size();
    }
    items.push_back(text + " (sharing CPU " + std::to_string(all[i].cpu) + ")");
  }
  if (items.size() == 1 && named.back() && !server_named) {
    return servers.size() > 1 ? tool.name + " (the servers' rate is then a lower bound)"
                              : tool.name + " (the server's rate is then a lower bound)";
  }
  if (items.empty()) {
    for (const Busy& s : servers) {
      if (!std::isfinite(s.share)) return "unknown (no --server-pid)";
    }
    return servers.size() > 1 ? "no process was saturated" : "neither process was saturated";
  }
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : " and ") + item;
  return out;
}

}  // namespace parley::load
