// Accepts client connections on the c2s port (RFC 6120 §14.7: 5222) and starts a C2sSession for
// each. Keeps a weak registry of its sessions so that shutdown can end every stream properly.
//
// Thread-safety: none; all calls on the listener's executor (the core thread). Sessions run on the
// io thread ServerState::session_executors gives them, in turn.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/c2s_session.hpp"

namespace parley::core {

class C2sListener {
 public:
  C2sListener(boost::asio::any_io_executor executor, C2sContext context);
  C2sListener(const C2sListener&) = delete;
  C2sListener& operator=(const C2sListener&) = delete;

  // Binds and listens. `address` "" means all interfaces: "::" (accepting IPv4 as well) or, where
  // the host has no IPv6, "0.0.0.0". Port 0 picks a free port. Returns the bound endpoint.
  // Throws std::system_error with an operator-readable message.
  boost::asio::ip::tcp::endpoint bind(const std::string& address, std::uint16_t port);
  // Starts accepting. REQUIRES: bind() succeeded.
  void start();
  // Stops accepting and ends every open stream with `condition` (RFC 6120 §4.9.3.20:
  // system-shutdown). `on_drained` runs once no session is left (at once when there is none).
  void stop(xml::StreamError condition, std::string_view reason, std::function<void()> on_drained);
  // Closes every connection at once (a second Ctrl-C).
  void abort_all();

  std::size_t session_count() const { return sessions_.size(); }

 private:
  boost::asio::awaitable<void> accept_loop();
  void session_closed(std::uint64_t number);

  boost::asio::ip::tcp::acceptor acceptor_;
  C2sContext context_;
  std::map<std::uint64_t, std::weak_ptr<C2sSession>> sessions_;
  bool stopping_ = false;
  std::function<void()> on_drained_;
};

}  // namespace parley::core
