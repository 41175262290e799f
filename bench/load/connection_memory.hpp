// Memory per connection, for the `idle` scenario: how much a process's resident set grew per
// client between two samples, and how many file descriptors a run with N clients needs.
// Pure arithmetic, unit-tested (load_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::load {

// (after - before) / connections in KiB; NaN when either sample is unknown (negative, as
// ProcessSample::rss_kib says) or there are no connections. May be negative: a process can
// give memory back (freed pages, a shrinking cache) while the clients log in.
double kib_per_connection(std::int64_t before_kib, std::int64_t after_kib, std::size_t connections);

// Descriptors parley-load reserves beyond one socket per client: standard streams, the
// io_context's epoll and eventfd, timers, /proc files read while measuring, the resolver.
inline constexpr std::size_t kSpareDescriptors = 64;

// Whether `clients` sockets plus kSpareDescriptors fit under an RLIMIT_NOFILE soft limit of
// `limit` (RLIM_INFINITY: any number fits).
bool descriptors_suffice(std::size_t clients, std::uint64_t limit);

}  // namespace parley::load
