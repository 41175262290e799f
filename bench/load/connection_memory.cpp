// See connection_memory.hpp.
#include "bench/load/connection_memory.hpp"

#include <sys/resource.h>

#include <limits>

namespace parley::load {

double kib_per_connection(std::int64_t before_kib, std::int64_t after_kib,
                          std::size_t connections) {
  if (before_kib < 0 || after_kib < 0 || connections == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return static_cast<double>(after_kib - before_kib) / static_cast<double>(connections);
}

bool descriptors_suffice(std::size_t clients, std::uint64_t limit) {
  if (limit == RLIM_INFINITY) return true;
  return clients <= limit && limit - clients >= kSpareDescriptors;
}

}  // namespace parley::load
