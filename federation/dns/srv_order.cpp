#include "federation/dns/srv_order.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <random>
#include <tuple>

namespace parley::federation::dns {

RandomSource default_random_source() {
  // Shared by the copies of the returned function, so copying it does not replay the sequence.
  auto engine = std::make_shared<std::mt19937>(std::random_device{}());
  return [engine](std::uint32_t max) {
    return std::uniform_int_distribution<std::uint32_t>(0, max)(*engine);
  };
}

bool says_not_available(const std::vector<SrvRecord>& records) {
  return records.size() == 1 && records.front().target == ".";
}

namespace {

// The fixed part of the order within one priority (see order_srv() in the header).
bool listed_before(const SrvRecord& a, const SrvRecord& b) {
  return std::make_tuple(a.weight != 0, !a.direct_tls, a.target, a.port) <
         std::make_tuple(b.weight != 0, !b.direct_tls, b.target, b.port);
}

}  // namespace

std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, const RandomSource& random) {
  std::sort(records.begin(), records.end(), [](const SrvRecord& a, const SrvRecord& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    return listed_before(a, b);
  });

  std::vector<SrvRecord> ordered;
  ordered.reserve(records.size());
  auto group_begin = records.begin();
  while (group_begin != records.end()) {
    const auto group_end = std::find_if(group_begin, records.end(), [&](const SrvRecord& r) {
      return r.priority != group_begin->priority;
    });
    // The records of this priority not chosen yet, in listing order.
    std::vector<SrvRecord> remaining(std::make_move_iterator(group_begin),
                                     std::make_move_iterator(group_end));
    while (remaining.size() > 1) {
      // A DNS message holds at most 65535 bytes and an SRV record takes at least 17 of them, so
      // the sum of weights (each at most 65535) stays far below 2^32; saturate anyway.
      std::uint64_t sum = 0;
      for (const auto& r : remaining) sum += r.weight;
      const auto max = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(sum, std::numeric_limits<std::uint32_t>::max()));
      const std::uint64_t drawn = std::min(random(max), max);
      std::uint64_t running = 0;
      auto chosen = remaining.begin();
      for (; chosen != remaining.end(); ++chosen) {
        running += chosen->weight;
        if (running >= drawn) break;
      }
      if (chosen == remaining.end()) --chosen;  // unreachable: running reaches sum >= drawn
      ordered.push_back(std::move(*chosen));
      remaining.erase(chosen);
    }
    if (!remaining.empty()) ordered.push_back(std::move(remaining.front()));
    group_begin = group_end;
  }
  return ordered;
}

}  // namespace parley::federation::dns
