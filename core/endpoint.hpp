// TCP endpoints: printing them the way operators write them ("192.0.2.1:5222",
// "[2001:db8::1]:5222"), and binding a listening socket the same way for every listener.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace parley::core {

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint);

// Opens, binds and listens. `address` "" means all interfaces: "::" (accepting IPv4 as well) or,
// where the host has no IPv6, "0.0.0.0". Port 0 picks a free port. Returns the bound endpoint.
// Throws std::system_error whose message says "cannot listen for <what> on <endpoint>".
boost::asio::ip::tcp::endpoint bind_listener(boost::asio::ip::tcp::acceptor& acceptor,
                                             const std::string& address, std::uint16_t port,
                                             std::string_view what, spdlog::logger& log);

}  // namespace parley::core
