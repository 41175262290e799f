#include "core/endpoint.hpp"

#include <spdlog/logger.h>

#include <boost/asio/ip/v6_only.hpp>
#include <system_error>

namespace parley::core {

namespace asio = boost::asio;
using boost::asio::ip::tcp;

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string out;
  if (address.is_v6()) {
    // An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d; print it as IPv4.
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      out = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    } else {
      out = "[" + v6.to_string() + "]";
    }
  } else {
    out = address.to_string();
  }
  out += ':';
  out += std::to_string(endpoint.port());
  return out;
}

tcp::endpoint bind_listener(tcp::acceptor& acceptor, const std::string& address, std::uint16_t port,
                            std::string_view what, spdlog::logger& log) {
  auto open_and_bind = [&](const tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    acceptor.close(ec);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    if (endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
      acceptor.set_option(asio::ip::v6_only(false));  // "::" serves IPv4 clients too
    }
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  };
  tcp::endpoint endpoint;
  try {
    if (address.empty()) {
      endpoint = tcp::endpoint(asio::ip::address_v6::any(), port);
      try {
        open_and_bind(endpoint);
      } catch (const boost::system::system_error& e) {
        // No IPv6 on this host: fall back to every IPv4 interface (like Prosody does).
        if (e.code() != boost::system::errc::address_family_not_supported &&
            e.code() != boost::system::errc::address_not_available) {
          throw;
        }
        log.info("IPv6 is not available ({}); listening on IPv4 only", e.code().message());
        endpoint = tcp::endpoint(asio::ip::address_v4::any(), port);
        open_and_bind(endpoint);
      }
    } else {
      boost::system::error_code ec;
      const auto ip = asio::ip::make_address(address, ec);
      if (ec) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "cannot listen on '" + address + "': not an IP address");
      }
      endpoint = tcp::endpoint(ip, port);
      open_and_bind(endpoint);
    }
  } catch (const boost::system::system_error& e) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    throw std::system_error(
        e.code().value(), std::system_category(),
        "cannot listen for " + std::string(what) + " on " + format_endpoint(endpoint));
  }
  return acceptor.local_endpoint();
}

}  // namespace parley::core
