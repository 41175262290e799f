#include "federation/dns/channel.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace parley::federation::dns {

namespace {

// c-ares 1.18 needs ares_library_init() only on Windows, but ares_set_servers_ports() asks
// ares_library_initialized() everywhere; the count it keeps is not thread-safe, hence once.
void init_library_once() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  if (status != ARES_SUCCESS) {
    throw std::runtime_error(std::string("cannot initialise c-ares: ") + ares_strerror(status));
  }
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

[[noreturn]] void bad_server(const std::string& text, const std::string& why) {
  throw std::runtime_error("DNS server '" + text + "': " + why +
                           " (expected ip, ip:port or [ipv6]:port)");
}

std::uint16_t parse_port(const std::string& text, const std::string& port) {
  if (!all_digits(port) || port.size() > 5) bad_server(text, "'" + port + "' is not a port");
  const unsigned long value = std::stoul(port);
  if (value == 0 || value > 65535) bad_server(text, "port " + port + " is out of range 1-65535");
  return static_cast<std::uint16_t>(value);
}

boost::asio::ip::address parse_ip(const std::string& text, const std::string& ip) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(ip, ec);
  if (ec) bad_server(text, "'" + ip + "' is not an IP address");
  return address;
}

std::string to_string(const ServerAddress& server) {
  const std::uint16_t port = server.port == 0 ? 53 : server.port;
  if (server.address.is_v6()) return "[" + server.address.to_string() + "]:" + std::to_string(port);
  return server.address.to_string() + ":" + std::to_string(port);
}

// c-ares callbacks are C functions: nothing may be thrown through them. What runs inside only
// allocates, and a failed allocation there has no better answer than terminate.
void on_srv_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                   int alen) noexcept {
  std::unique_ptr<std::function<void(SrvAnswer)>> done(
      static_cast<std::function<void(SrvAnswer)>*>(arg));
  SrvAnswer answer;
  answer.status = status;
  if (status == ARES_SUCCESS) {
    ares_srv_reply* reply = nullptr;
    answer.status = ares_parse_srv_reply(abuf, alen, &reply);
    for (auto* r = reply; r != nullptr; r = r->next) {
      SrvRecord record;
      // c-ares expands the root name to "": RFC 2782's "." target.
      record.target = r->host == nullptr || r->host[0] == '\0' ? "." : r->host;
      if (record.target.size() > 1 && record.target.back() == '.') record.target.pop_back();
      record.port = r->port;
      record.priority = r->priority;
      record.weight = r->weight;
      answer.records.push_back(std::move(record));
    }
    if (reply != nullptr) ares_free_data(reply);
  }
  (*done)(std::move(answer));
}

void on_address_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) noexcept {
  std::unique_ptr<std::function<void(AddressAnswer)>> done(
      static_cast<std::function<void(AddressAnswer)>*>(arg));
  AddressAnswer answer;
  answer.status = status;
  if (result != nullptr) {
    for (auto* node = result->nodes; node != nullptr; node = node->ai_next) {
      boost::asio::ip::address address;
      if (node->ai_family == AF_INET && node->ai_addr != nullptr) {
        sockaddr_in sin{};
        std::memcpy(&sin, node->ai_addr, sizeof sin);
        boost::asio::ip::address_v4::bytes_type bytes;
        std::memcpy(bytes.data(), &sin.sin_addr, bytes.size());
        address = boost::asio::ip::address_v4(bytes);
      } else if (node->ai_family == AF_INET6 && node->ai_addr != nullptr) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, node->ai_addr, sizeof sin6);
        boost::asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), &sin6.sin6_addr, bytes.size());
        address = boost::asio::ip::address_v6(bytes, sin6.sin6_scope_id);
      } else {
        continue;
      }
      // /etc/hosts may list an address twice (a name on two lines).
      if (std::find(answer.addresses.begin(), answer.addresses.end(), address) ==
          answer.addresses.end()) {
        answer.addresses.push_back(address);
      }
    }
    ares_freeaddrinfo(result);
  }
  if (answer.status == ARES_SUCCESS && answer.addresses.empty()) answer.status = ARES_ENODATA;
  (*done)(std::move(answer));
}

}  // namespace

ServerAddress parse_server_address(const std::string& text) {
  if (text.empty()) bad_server(text, "empty");
  ServerAddress server;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) bad_server(text, "no closing ']'");
    server.address = parse_ip(text, text.substr(1, close - 1));
    if (!server.address.is_v6()) bad_server(text, "brackets are for IPv6 addresses");
    const std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') bad_server(text, "unexpected '" + rest + "' after ']'");
      server.port = parse_port(text, rest.substr(1));
    }
    return server;
  }
  const auto colons = std::count(text.begin(), text.end(), ':');
  if (colons == 1) {
    const auto colon = text.find(':');
    server.address = parse_ip(text, text.substr(0, colon));
    server.port = parse_port(text, text.substr(colon + 1));
    return server;
  }
  server.address = parse_ip(text, text);  // IPv4, or IPv6 without a port
  return server;
}

struct Channel::Socket {
  explicit Socket(const boost::asio::any_io_executor& executor) : descriptor(executor) {}
  ~Socket() {
    // The descriptor belongs to c-ares, which closes it: never let Asio close it too.
    if (descriptor.is_open()) descriptor.release();
  }

  boost::asio::posix::stream_descriptor descriptor;
  std::uint64_t generation = 0;  // tells a reused fd number from the socket it was before
  bool want_read = false;
  bool want_write = false;
  bool read_armed = false;
  bool write_armed = false;
};

std::shared_ptr<Channel> Channel::create(boost::asio::any_io_executor executor,
                                         const ChannelOptions& options) {
  std::shared_ptr<Channel> channel(new Channel(std::move(executor)));
  channel->init(options);
  return channel;
}

Channel::Channel(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), timer_(executor_) {}

Channel::~Channel() { shutdown(); }

void Channel::init(const ChannelOptions& options) {
  init_library_once();

  // c-ares treats a missing resolv.conf as "ask 127.0.0.1"; a file the operator named must exist.
  std::string resolv_conf;
  if (!options.resolv_conf.empty()) {
    resolv_conf = options.resolv_conf.string();
    std::ifstream probe(options.resolv_conf);
    if (!probe) {
      throw std::runtime_error("cannot read the DNS configuration " + resolv_conf + ": " +
                               std::strerror(errno));
    }
  }

  ares_options opts{};
  int mask = 0;
  // HOSTALIASES is for interactive users, not for a server choosing where to send messages.
  opts.flags = ARES_FLAG_NOALIASES;
  mask |= ARES_OPT_FLAGS;
  opts.timeout =
      static_cast<int>(std::max<std::chrono::milliseconds::rep>(options.try_timeout.count(), 1));
  mask |= ARES_OPT_TIMEOUTMS;
  opts.tries = std::max(options.tries, 1);
  mask |= ARES_OPT_TRIES;
  // No search domains: an XMPP domain is always fully qualified (RFC 6120 §3.2.1 asks for the
  // domain itself), and "example" must not become "example.corp.local".
  opts.domains = nullptr;
  opts.ndomains = 0;
  mask |= ARES_OPT_DOMAINS;
  // Host lookups: the hosts file first, then DNS (RFC 6120 §3.2.2 fallback "honours /etc/hosts").
  char lookups[] = "fb";
  opts.lookups = lookups;
  mask |= ARES_OPT_LOOKUPS;
  opts.sock_state_cb = &Channel::on_socket_state;
  opts.sock_state_cb_data = this;
  mask |= ARES_OPT_SOCK_STATE_CB;
  if (!resolv_conf.empty()) {
    opts.resolvconf_path = resolv_conf.data();
    mask |= ARES_OPT_RESOLVCONF;
  }

  ares_channel channel = nullptr;
  const int status = ares_init_options(&channel, &opts, mask);
  if (status != ARES_SUCCESS) {
    if (channel != nullptr) ares_destroy(channel);
    throw std::runtime_error(std::string("cannot set up the DNS resolver: ") +
                             ares_strerror(status));
  }
  channel_ = channel;

  if (!options.servers.empty()) {
    std::vector<ares_addr_port_node> nodes(options.servers.size());
    for (std::size_t i = 0; i < options.servers.size(); ++i) {
      const auto& server = options.servers[i];
      auto& node = nodes[i];
      node.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
      if (server.address.is_v4()) {
        node.family = AF_INET;
        const auto bytes = server.address.to_v4().to_bytes();
        std::memcpy(&node.addr.addr4, bytes.data(), bytes.size());
      } else {
        node.family = AF_INET6;
        const auto bytes = server.address.to_v6().to_bytes();
        std::memcpy(&node.addr.addr6, bytes.data(), bytes.size());
      }
      node.udp_port = server.port;
      node.tcp_port = server.port;
    }
    const int set = ares_set_servers_ports(channel_, nodes.data());
    if (set != ARES_SUCCESS) {
      shutdown();
      throw std::runtime_error(std::string("cannot use the DNS servers given: ") +
                               ares_strerror(set));
    }
  }
}

void Channel::shutdown() {
  if (channel_ == nullptr) return;
  ares_channel channel = channel_;
  // Queries started from the callbacks ares_destroy() runs now must fail at once.
  channel_ = nullptr;
  // Runs every outstanding callback with ARES_EDESTRUCTION, then reports each socket closed
  // (socket_state(fd, false, false), which releases it from Asio) before closing it.
  ares_destroy(channel);
  sockets_.clear();  // none should be left; ~Socket releases, never closes
  timer_.cancel();
  timer_armed_ = false;
}

void Channel::query_srv(const std::string& name, std::function<void(SrvAnswer)> done) {
  if (channel_ == nullptr) {
    done(SrvAnswer{ARES_EDESTRUCTION, {}});
    return;
  }
  auto* arg = new std::function<void(SrvAnswer)>(std::move(done));
  ares_query(channel_, name.c_str(), ns_c_in, ns_t_srv, &on_srv_answer, arg);
  update_timer();
}

void Channel::query_addresses(const std::string& host, std::function<void(AddressAnswer)> done) {
  if (channel_ == nullptr) {
    done(AddressAnswer{ARES_EDESTRUCTION, {}});
    return;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_ENVHOSTS;
  auto* arg = new std::function<void(AddressAnswer)>(std::move(done));
  ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &on_address_answer, arg);
  update_timer();
}

std::vector<std::string> Channel::servers() const {
  std::vector<std::string> out;
  if (channel_ == nullptr) return out;
  ares_addr_port_node* list = nullptr;
  if (ares_get_servers_ports(channel_, &list) != ARES_SUCCESS) return out;
  for (auto* node = list; node != nullptr; node = node->next) {
    ServerAddress server;
    server.port = static_cast<std::uint16_t>(node->udp_port);
    if (node->family == AF_INET) {
      boost::asio::ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), &node->addr.addr4, bytes.size());
      server.address = boost::asio::ip::address_v4(bytes);
    } else {
      boost::asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &node->addr.addr6, bytes.size());
      server.address = boost::asio::ip::address_v6(bytes);
    }
    out.push_back(to_string(server));
  }
  ares_free_data(list);
  return out;
}

void Channel::on_socket_state(void* data, int fd, int readable, int writable) {
  static_cast<Channel*>(data)->socket_state(fd, readable != 0, writable != 0);
}

void Channel::socket_state(int fd, bool readable, bool writable) {
  auto it = sockets_.find(fd);
  if (!readable && !writable) {
    // c-ares closes the socket right after this: take it out of the reactor first. Waits still
    // queued complete with operation_aborted; the generation check ignores them.
    if (it != sockets_.end()) sockets_.erase(it);
    return;
  }
  if (it == sockets_.end()) {
    auto socket = std::make_unique<Socket>(executor_);
    boost::system::error_code ec;
    socket->descriptor.assign(fd, ec);
    // Not watched (the reactor refused it): c-ares's own timeout ends the queries on it.
    if (ec) return;
    socket->generation = ++next_socket_generation_;
    it = sockets_.emplace(fd, std::move(socket)).first;
  }
  Socket& socket = *it->second;
  socket.want_read = readable;
  socket.want_write = writable;
  if (readable) arm(fd, socket, Direction::Read);
  if (writable) arm(fd, socket, Direction::Write);
}

void Channel::arm(int fd, Socket& socket, Direction direction) {
  const bool write = direction == Direction::Write;
  bool& armed = write ? socket.write_armed : socket.read_armed;
  if (armed) return;
  armed = true;
  // Asio's epoll reactor is edge-triggered, but starting a wait re-arms the descriptor
  // (EPOLL_CTL_MOD), so readiness already there, such as the rest of a TCP answer c-ares reads in
  // several calls, is reported at once.
  socket.descriptor.async_wait(write ? boost::asio::posix::stream_descriptor::wait_write
                                     : boost::asio::posix::stream_descriptor::wait_read,
                               [self = weak_from_this(), fd, generation = socket.generation,
                                direction](const boost::system::error_code& ec) {
                                 if (ec == boost::asio::error::operation_aborted) return;
                                 if (auto channel = self.lock())
                                   channel->on_ready(fd, generation, direction);
                               });
}

void Channel::on_ready(int fd, std::uint64_t generation, Direction direction) {
  auto it = sockets_.find(fd);
  if (channel_ == nullptr || it == sockets_.end() || it->second->generation != generation) return;
  Socket& socket = *it->second;
  const bool write = direction == Direction::Write;
  (write ? socket.write_armed : socket.read_armed) = false;
  if (write ? socket.want_write : socket.want_read) {
    // May call socket_state() for this very fd (and erase it), and run query callbacks.
    ares_process_fd(channel_, write ? ARES_SOCKET_BAD : fd, write ? fd : ARES_SOCKET_BAD);
  }
  if (channel_ == nullptr) return;
  // No wait outlives the queries: without ARES_FLAG_STAYOPEN, c-ares closes its sockets when the
  // last query ends, so an idle resolver leaves the io_context without work.
  it = sockets_.find(fd);
  if (it != sockets_.end() && it->second->generation == generation) {
    Socket& still = *it->second;
    if (write ? still.want_write : still.want_read) arm(fd, still, direction);
  }
  update_timer();
}

void Channel::update_timer() {
  if (channel_ == nullptr) return;
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    // Nothing outstanding: no timer wait either.
    if (timer_armed_) timer_.cancel();
    timer_armed_ = false;
    return;
  }
  // ares_timeout() truncates to whole milliseconds: without the extra one, the timer fires just
  // before the query's deadline, finds nothing due, and fires again until the millisecond ends.
  const auto expiry = std::chrono::steady_clock::now() + std::chrono::seconds(tv.tv_sec) +
                      std::chrono::microseconds(tv.tv_usec) + std::chrono::milliseconds(1);
  // A wait queued for the same time or earlier stays: waking early only recomputes the time.
  if (timer_armed_ && timer_.expiry() <= expiry + std::chrono::milliseconds(1)) return;
  timer_.expires_at(expiry);  // cancels a queued wait
  timer_armed_ = true;
  timer_.async_wait([self = weak_from_this(),
                     generation = ++timer_generation_](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto channel = self.lock()) channel->on_timer(generation);
  });
}

void Channel::on_timer(std::uint64_t generation) {
  if (channel_ == nullptr || generation != timer_generation_) return;
  timer_armed_ = false;
  // No socket: only retransmissions and timeouts are due.
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  update_timer();
}

}  // namespace parley::federation::dns
