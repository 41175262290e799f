// A private DNS server for tests: dnsmasq on 127.0.0.1 at a free unprivileged port, serving only
// the records the test gives (--no-resolv --no-hosts), stopped by the destructor. For the resolver
// tests here and for federation tests that need SRV records.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace parley::federation::dns::test {

class Dnsmasq {
 public:
  // `records` are dnsmasq options such as "--srv-host=_xmpp-server._tcp.a.test,x.a.test,5269,0,0"
  // or "--host-record=x.a.test,192.0.2.1". Throws std::runtime_error (with dnsmasq's output) when
  // it does not start within a few seconds.
  explicit Dnsmasq(const std::vector<std::string>& records);
  ~Dnsmasq();
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  std::uint16_t port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  bool start(const std::vector<std::string>& records, std::string& output);
  void stop();

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// A UDP socket on 127.0.0.1 that receives queries and never answers: a DNS server that is down.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace parley::federation::dns::test
