// The DNS server strings of ResolverOptions::servers (federation/dns/channel.hpp).
#include "federation/dns/channel.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace parley::federation::dns {
namespace {

TEST(ServerAddressTest, AcceptsTheFourForms) {
  auto v4 = parse_server_address("192.0.2.1");
  EXPECT_EQ(v4.address.to_string(), "192.0.2.1");
  EXPECT_EQ(v4.port, 0);  // 53

  auto v4_port = parse_server_address("127.0.0.1:5353");
  EXPECT_EQ(v4_port.address.to_string(), "127.0.0.1");
  EXPECT_EQ(v4_port.port, 5353);

  auto v6 = parse_server_address("2001:db8::53");
  EXPECT_EQ(v6.address.to_string(), "2001:db8::53");
  EXPECT_EQ(v6.port, 0);

  auto v6_port = parse_server_address("[::1]:5353");
  EXPECT_EQ(v6_port.address.to_string(), "::1");
  EXPECT_EQ(v6_port.port, 5353);

  auto v6_brackets = parse_server_address("[2001:db8::1]");
  EXPECT_EQ(v6_brackets.address.to_string(), "2001:db8::1");
  EXPECT_EQ(v6_brackets.port, 0);
}

void expect_rejected(const std::string& text, const std::string& reason) {
  try {
    parse_server_address(text);
    ADD_FAILURE() << "accepted '" << text << "'";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'" + text + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message;
  }
}

TEST(ServerAddressTest, RejectsWhatIsNotAnAddressWithAReason) {
  expect_rejected("", "empty");
  expect_rejected("dns.example.org", "not an IP address");
  expect_rejected("192.0.2.300", "not an IP address");
  expect_rejected("192.0.2.1:", "not a port");
  expect_rejected("192.0.2.1:53x", "not a port");
  expect_rejected("192.0.2.1:0", "out of range");
  expect_rejected("192.0.2.1:65536", "out of range");
  expect_rejected("192.0.2.1:-53", "not a port");
  expect_rejected("[::1", "no closing ']'");
  expect_rejected("[::1]53", "after ']'");
  expect_rejected("[192.0.2.1]:53", "IPv6");
  expect_rejected("[::1]:99999", "out of range");
}

}  // namespace
}  // namespace parley::federation::dns
