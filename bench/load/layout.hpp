// Where the clients of the `messages` scenario log in and whom they write to. With one server,
// every client is on it, sends, and writes to its neighbour in a ring (client i to i+1 mod M).
// With two servers (federation), the first half of the clients log in to server A and the second
// half to server B; client k of A and client k of B are partners, each on the other server, so
// every message crosses the server-to-server link: A to B only (one-way), or both ways.
//
//   one server, M = 4:   0→1→2→3→0
//   two servers, M = 4:  A: 0 1   B: 2 3   one-way: 0→2, 1→3   both: also 2→0, 3→1
//
// Pure arithmetic, unit-tested (load_test.cpp): the scenario and the fleet ask it and nothing
// else, so a wrong pairing cannot hide in the Asio code.
#pragma once

#include <cstddef>
#include <stdexcept>

namespace parley::load {

enum class Direction {
  OneWay,  // two servers: only A's clients send, B's receive
  Both,    // two servers: every client sends to its partner on the other server
};

class Layout {
 public:
  // One server, `clients` clients. Throws std::invalid_argument below 2.
  static Layout single(std::size_t clients);
  // Two servers, `clients` clients in all, half on each. Throws std::invalid_argument unless
  // `clients` is even and at least 2.
  static Layout two_servers(std::size_t clients, Direction direction);

  std::size_t clients() const { return clients_; }
  bool federated() const { return federated_; }
  Direction direction() const { return direction_; }
  // Clients on server 0 (A): all of them with one server, half with two.
  std::size_t per_server() const { return federated_ ? clients_ / 2 : clients_; }

  // The server client i logs in to: 0 (A) or 1 (B).
  int server(std::size_t i) const { return federated_ && i >= clients_ / 2 ? 1 : 0; }
  // Client i's account among its server's accounts, from 0: add --first (or --first2) for its
  // number, PREFIX<first + account(i)>.
  std::size_t account(std::size_t i) const { return i % per_server(); }
  // Whether client i sends messages (everyone, except B's clients in one-way mode).
  bool sends(std::size_t i) const {
    return !federated_ || direction_ == Direction::Both || server(i) == 0;
  }
  // Clients that send.
  std::size_t senders() const {
    return !federated_ || direction_ == Direction::Both ? clients_ : clients_ / 2;
  }

  // The fixed partner of sender i: the next client in the ring, or the client with the same
  // account number on the other server.
  std::size_t partner(std::size_t i) const;
  // For --random-partner: how many clients a sender may write to (every other client with one
  // server, every client of the other server with two; the same number for every sender), and
  // the r-th of them for sender i, r < choices().
  std::size_t choices() const { return federated_ ? clients_ / 2 : clients_ - 1; }
  std::size_t choice(std::size_t i, std::size_t r) const;

 private:
  Layout(std::size_t clients, bool federated, Direction direction)
      : clients_(clients), federated_(federated), direction_(direction) {}

  std::size_t clients_;
  bool federated_;
  Direction direction_;
};

}  // namespace parley::load
