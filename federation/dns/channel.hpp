// A c-ares channel driven by an Asio executor: the sockets c-ares opens are watched with
// posix::stream_descriptor waits (ARES_OPT_SOCK_STATE_CB) and its retransmission timeouts with a
// steady_timer, so DNS queries run on the event loop with no thread and no blocking call. The
// building block of Resolver (resolver.hpp), which adds the XMPP rules (RFC 6120 §3.2).
//
// Thread-safety: everything runs on the executor given to create(); call only from there.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "federation/dns/srv_order.hpp"

struct ares_channeldata;

namespace parley::federation::dns {

// A DNS server to ask; port 0 means 53.
struct ServerAddress {
  boost::asio::ip::address address;
  std::uint16_t port = 0;
};

// Parses "ip", "ip:port", "[v6]:port" or a bare IPv6 address. Throws std::runtime_error naming the
// string and what is wrong with it.
ServerAddress parse_server_address(const std::string& text);

struct ChannelOptions {
  std::filesystem::path resolv_conf;   // empty: /etc/resolv.conf
  std::vector<ServerAddress> servers;  // non-empty: these instead of resolv.conf's nameservers
  std::chrono::milliseconds try_timeout{1000};  // the first try; c-ares doubles it per round
  int tries = 2;                                // rounds over all servers
};

// What a query returned. `status` is a c-ares status (ARES_SUCCESS, ARES_ENOTFOUND = NXDOMAIN,
// ARES_ENODATA = no records of that type, ARES_ETIMEOUT, ARES_EDESTRUCTION at shutdown, ...).
struct SrvAnswer {
  int status = 0;
  std::vector<SrvRecord> records;  // in the order received; service and direct_tls left empty
};
struct AddressAnswer {
  int status = 0;
  std::vector<boost::asio::ip::address> addresses;  // RFC 6724 order, as c-ares sorts them
};

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  // Throws std::runtime_error when c-ares cannot be set up or an explicit resolv.conf cannot be
  // read (c-ares itself would silently fall back to 127.0.0.1).
  static std::shared_ptr<Channel> create(boost::asio::any_io_executor executor,
                                         const ChannelOptions& options);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // The SRV records of `name`. `done` runs exactly once: from the event loop, or before
  // query_srv() returns (bad names), or during shutdown() with ARES_EDESTRUCTION.
  void query_srv(const std::string& name, std::function<void(SrvAnswer)> done);

  // A and AAAA of `host`, the hosts file first (c-ares lookups "fb"; the file named by the
  // environment variable CARES_HOSTS when set, else /etc/hosts). `done` as for query_srv(); a
  // hosts-file answer or an IP literal arrives before this returns.
  void query_addresses(const std::string& host, std::function<void(AddressAnswer)> done);

  // Ends every query (their callbacks run now, with ARES_EDESTRUCTION), gives c-ares's sockets
  // back to c-ares before it closes them, stops the timer. Idempotent; later queries fail with
  // ARES_EDESTRUCTION at once.
  void shutdown();
  bool is_shut_down() const { return channel_ == nullptr; }

  // The servers in use, "ip:port" or "[v6]:port", for logs and `parley check`.
  std::vector<std::string> servers() const;

  const boost::asio::any_io_executor& executor() const { return executor_; }

 private:
  struct Socket;
  enum class Direction { Read, Write };

  explicit Channel(boost::asio::any_io_executor executor);
  void init(const ChannelOptions& options);
  static void on_socket_state(void* data, int fd, int readable, int writable);
  void socket_state(int fd, bool readable, bool writable);
  void arm(int fd, Socket& socket, Direction direction);
  void on_ready(int fd, std::uint64_t generation, Direction direction);
  void update_timer();
  void on_timer(std::uint64_t generation);

  boost::asio::any_io_executor executor_;
  ares_channeldata* channel_ = nullptr;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::uint64_t timer_generation_ = 0;
  std::unordered_map<int, std::unique_ptr<Socket>> sockets_;
  std::uint64_t next_socket_generation_ = 0;
};

}  // namespace parley::federation::dns
