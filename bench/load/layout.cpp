// See layout.hpp.
#include "bench/load/layout.hpp"

namespace parley::load {

Layout Layout::single(std::size_t clients) {
  if (clients < 2) throw std::invalid_argument("the messages scenario needs --clients 2 or more");
  return Layout(clients, false, Direction::Both);
}

Layout Layout::two_servers(std::size_t clients, Direction direction) {
  if (clients < 2 || clients % 2 != 0) {
    throw std::invalid_argument(
        "with two servers the messages scenario needs an even --clients, 2 or more (half log in "
        "to each server)");
  }
  return Layout(clients, true, direction);
}

std::size_t Layout::partner(std::size_t i) const {
  if (!federated_) return (i + 1) % clients_;
  const std::size_t half = clients_ / 2;
  return i < half ? i + half : i - half;
}

std::size_t Layout::choice(std::size_t i, std::size_t r) const {
  if (!federated_) return (i + 1 + r) % clients_;  // skips i itself
  return (server(i) == 0 ? clients_ / 2 : 0) + r;
}

}  // namespace parley::load
