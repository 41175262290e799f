// Printing TCP endpoints the way operators write them: "192.0.2.1:5222",
// "[2001:db8::1]:5222".
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace parley::core {

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace parley::core
