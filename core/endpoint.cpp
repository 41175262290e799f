#include "core/endpoint.hpp"

namespace parley::core {

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

}  // namespace parley::core
