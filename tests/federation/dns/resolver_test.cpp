// federation/dns/resolver.hpp against a real DNS server: dnsmasq on loopback serving a test zone
// under .test (NXDOMAIN for every other name there), and a UDP socket that never answers.
#include "federation/dns/resolver.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <variant>

#include "tests/federation/dns/dnsmasq.hpp"

namespace parley::federation::dns {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<std::string> zone() {
  std::vector<std::string> records = {
      // prio.test: both services, three priorities, weights (see OrdersByPriorityAndWeight).
      "--srv-host=_xmpp-server._tcp.prio.test,a.prio.test,5269,20,0",
      "--srv-host=_xmpp-server._tcp.prio.test,b.prio.test,5270,10,10",
      "--srv-host=_xmpp-server._tcp.prio.test,c.prio.test,5271,10,30",
      "--srv-host=_xmpps-server._tcp.prio.test,d.prio.test,5223,10,60",
      "--srv-host=_xmpps-server._tcp.prio.test,e.prio.test,5224,5,0",
      "--host-record=a.prio.test,192.0.2.1",
      "--host-record=b.prio.test,192.0.2.2",
      "--host-record=c.prio.test,192.0.2.3",
      "--host-record=d.prio.test,192.0.2.4",
      "--host-record=e.prio.test,192.0.2.5,2001:db8::5",
      // multi.test: one target with three A records and one AAAA.
      "--srv-host=_xmpp-server._tcp.multi.test,host.multi.test,5269,0,0",
      "--host-record=host.multi.test,192.0.2.11",
      "--host-record=host.multi.test,192.0.2.12",
      "--host-record=host.multi.test,192.0.2.13,2001:db8::11",
      // fallback.test: no SRV at all, A and AAAA.
      "--host-record=fallback.test,192.0.2.21,2001:db8::21",
      // dot.test: "_xmpp-server is decidedly not available", though the domain has an address.
      "--srv-host=_xmpp-server._tcp.dot.test",
      "--host-record=dot.test,192.0.2.31",
      // tlsdot.test: no direct TLS ("."), STARTTLS on one target.
      "--srv-host=_xmpps-server._tcp.tlsdot.test",
      "--srv-host=_xmpp-server._tcp.tlsdot.test,starttls.tlsdot.test,5269,0,0",
      "--host-record=starttls.tlsdot.test,192.0.2.41",
      // tlsdotonly.test: no direct TLS and no _xmpp-server records: still no A/AAAA fallback.
      "--srv-host=_xmpps-server._tcp.tlsdotonly.test",
      "--host-record=tlsdotonly.test,192.0.2.51",
      // halfdead.test: the preferred target does not exist, the other does.
      "--srv-host=_xmpp-server._tcp.halfdead.test,missing.halfdead.test,5269,0,0",
      "--srv-host=_xmpp-server._tcp.halfdead.test,ok.halfdead.test,5270,10,0",
      "--host-record=ok.halfdead.test,192.0.2.61",
      // alldead.test: SRV says where, and nothing there resolves: no fallback to its own A.
      "--srv-host=_xmpp-server._tcp.alldead.test,missing.alldead.test,5269,0,0",
      "--host-record=alldead.test,192.0.2.71",
      // nodata.test exists (a TXT record) but has no address.
      "--txt-record=nodata.test,exists",
      // bücher.test, as DNS knows it (IDNA A-label).
      "--host-record=xn--bcher-kva.test,192.0.2.81",
  };
  // big.test: more SRV records than fit a 512-byte UDP answer, so c-ares retries over TCP.
  for (int i = 0; i < 40; ++i) {
    records.push_back("--srv-host=_xmpp-server._tcp.big.test,a-rather-long-target-name-" +
                      std::to_string(i) + ".big.test,5269,0,0");
  }
  return records;
}

// Answers with the values given, in turn, and notes each `max`; 0 when the script runs out.
struct ScriptedRandom {
  std::deque<std::uint32_t> values;
  std::vector<std::uint32_t> maxima;

  RandomSource source() {
    return [this](std::uint32_t max) -> std::uint32_t {
      maxima.push_back(max);
      if (values.empty()) return 0;
      const auto v = values.front();
      values.pop_front();
      return v;
    };
  }
};

class ResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dnsmasq_ = new test::Dnsmasq(zone()); }
  static void TearDownTestSuite() {
    delete dnsmasq_;
    dnsmasq_ = nullptr;
  }

  ResolverOptions options(std::chrono::milliseconds timeout = 5000ms) {
    ResolverOptions o;
    o.servers = {dnsmasq_->server()};
    o.timeout = timeout;
    o.random = random_.source();
    return o;
  }

  Resolver& resolver() {
    if (!resolver_) resolver_ = std::make_unique<Resolver>(io_.get_executor(), options());
    return *resolver_;
  }

  // Runs the awaitable on io_ until it completes (at most 20 s).
  template <class T>
  T run(asio::awaitable<T> awaitable) {
    std::optional<T> result;
    std::exception_ptr error;
    asio::co_spawn(io_, std::move(awaitable), [&](std::exception_ptr e, T value) {
      error = e;
      result = std::move(value);
    });
    io_.restart();
    const auto deadline = Clock::now() + 20s;
    while (!result && Clock::now() < deadline) io_.run_one_for(100ms);
    if (error) std::rethrow_exception(error);
    if (!result) throw std::runtime_error("the lookup did not complete within 20 s");
    return std::move(*result);
  }

  static inline test::Dnsmasq* dnsmasq_ = nullptr;
  asio::io_context io_;
  ScriptedRandom random_;
  std::unique_ptr<Resolver> resolver_;
};

// A DNS server in the test's own event loop, for what dnsmasq does not do on demand: over UDP it
// answers every query truncated (TC), over TCP with `records` SRV records, each answer (length
// prefix and message) in one write, so the client finds all of it in its socket at once.
class TruncatingServer {
 public:
  TruncatingServer(asio::io_context& io, int records) : udp_(io), acceptor_(io), records_(records) {
    const auto loopback = asio::ip::make_address_v4("127.0.0.1");
    for (int attempt = 0;; ++attempt) {
      udp_.open(asio::ip::udp::v4());
      udp_.bind({loopback, 0});
      port_ = udp_.local_endpoint().port();
      boost::system::error_code ec;
      acceptor_.open(asio::ip::tcp::v4());
      acceptor_.bind({loopback, port_}, ec);
      if (!ec) break;
      if (attempt == 20) throw std::runtime_error("no port free for both UDP and TCP");
      udp_.close();
      acceptor_.close();
    }
    acceptor_.listen();
    asio::co_spawn(io, serve_udp(), asio::detached);
    asio::co_spawn(io, serve_tcp(), asio::detached);
  }

  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  int tcp_queries() const { return tcp_queries_; }

 private:
  using Bytes = std::vector<std::uint8_t>;

  // The answer to `query` (RFC 1035 §4.1): its ID and question, then SRV records or nothing.
  Bytes answer(const Bytes& query, bool truncated) const {
    std::size_t end = 12;
    while (end < query.size() && query[end] != 0) end += query[end] + 1;
    end += 5;  // the root label, QTYPE, QCLASS
    if (end > query.size()) return {};
    Bytes out(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(end));
    out[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x01) | (truncated ? 0x02 : 0));
    out[3] = 0x80;
    const int count = truncated ? 0 : records_;
    out[6] = static_cast<std::uint8_t>(count >> 8);
    out[7] = static_cast<std::uint8_t>(count & 0xff);
    out[8] = out[9] = out[10] = out[11] = 0;
    for (int i = 0; i < count; ++i) {
      Bytes target;
      for (const std::string& label :
           {"t" + std::to_string(i), std::string("fake"), std::string("test")}) {
        target.push_back(static_cast<std::uint8_t>(label.size()));
        target.insert(target.end(), label.begin(), label.end());
      }
      target.push_back(0);
      const std::size_t rdlength = 6 + target.size();
      const Bytes head = {0xc0,
                          0x0c,
                          0,
                          33,
                          0,
                          1,
                          0,
                          0,
                          0,
                          60,
                          static_cast<std::uint8_t>(rdlength >> 8),
                          static_cast<std::uint8_t>(rdlength & 0xff),
                          0,
                          10,
                          0,
                          static_cast<std::uint8_t>(i),
                          0x14,
                          0x95};
      out.insert(out.end(), head.begin(), head.end());
      out.insert(out.end(), target.begin(), target.end());
    }
    return out;
  }

  asio::awaitable<void> serve_udp() {
    Bytes buffer(512);
    asio::ip::udp::endpoint from;
    for (;;) {
      auto [ec, n] = co_await udp_.async_receive_from(asio::buffer(buffer), from,
                                                      asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      const Bytes reply = answer(Bytes(buffer.begin(), buffer.begin() + n), true);
      co_await udp_.async_send_to(asio::buffer(reply), from, asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<void> serve_tcp() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(asio::ip::tcp::socket socket) {
    Bytes pending;
    std::array<std::uint8_t, 4096> chunk;
    for (;;) {
      auto [ec, n] =
          co_await socket.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      pending.insert(pending.end(), chunk.begin(), chunk.begin() + n);
      while (pending.size() >= 2) {
        const std::size_t length = pending[0] << 8 | pending[1];
        if (pending.size() < 2 + length) break;
        const Bytes query(pending.begin() + 2, pending.begin() + 2 + length);
        pending.erase(pending.begin(), pending.begin() + 2 + length);
        ++tcp_queries_;
        const Bytes message = answer(query, false);
        Bytes framed = {static_cast<std::uint8_t>(message.size() >> 8),
                        static_cast<std::uint8_t>(message.size() & 0xff)};
        framed.insert(framed.end(), message.begin(), message.end());
        auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(framed),
                                                              asio::as_tuple(asio::use_awaitable));
        if (write_ec) co_return;
      }
    }
  }

  asio::ip::udp::socket udp_;
  asio::ip::tcp::acceptor acceptor_;
  int records_;
  std::uint16_t port_ = 0;
  int tcp_queries_ = 0;
};

Endpoint at(const std::string& ip, std::uint16_t port, const std::string& host,
            bool direct_tls = false) {
  return Endpoint{asio::ip::tcp::endpoint(asio::ip::make_address(ip), port), host, direct_tls};
}

std::set<std::string> addresses(const std::vector<Endpoint>& endpoints) {
  std::set<std::string> out;
  for (const auto& e : endpoints) out.insert(e.endpoint.address().to_string());
  return out;
}

TEST_F(ResolverTest, OrdersByPriorityThenWeightAcrossBothServices) {
  // Priority 5: e (direct TLS) alone. Priority 10, listed d(60, direct TLS first), b(10), c(30):
  // running sums 60, 70, 100; draw 65 → b; then d=60, c=90: draw 80 → c; then d. Priority 20: a.
  random_.values = {65, 80};
  const Result result = run(resolver().resolve_s2s("prio.test"));
  ASSERT_EQ(result.error, "");
  EXPECT_TRUE(result.from_srv);
  EXPECT_EQ(random_.maxima, (std::vector<std::uint32_t>{100, 90}));
  ASSERT_GE(result.endpoints.size(), 5u);
  // e has an A and an AAAA, in RFC 6724 order (which depends on this host's routes).
  const std::vector<Endpoint> e(result.endpoints.begin(), result.endpoints.end() - 4);
  EXPECT_EQ(addresses(e), (std::set<std::string>{"192.0.2.5", "2001:db8::5"}));
  for (const auto& endpoint : e) {
    EXPECT_EQ(endpoint.endpoint.port(), 5224);
    EXPECT_EQ(endpoint.host, "e.prio.test");
    EXPECT_TRUE(endpoint.direct_tls);
  }
  const std::vector<Endpoint> rest(result.endpoints.end() - 4, result.endpoints.end());
  EXPECT_EQ(rest,
            (std::vector<Endpoint>{
                at("192.0.2.2", 5270, "b.prio.test"), at("192.0.2.3", 5271, "c.prio.test"),
                at("192.0.2.4", 5223, "d.prio.test", true), at("192.0.2.1", 5269, "a.prio.test")}));
}

TEST_F(ResolverTest, OtherDrawsGiveTheOrderTheyChoose) {
  // Draw 0 → d (running sum 60 >= 0); then b=10, c=40: draw 0 → b; then c.
  random_.values = {0, 0};
  const Result result = run(resolver().resolve_s2s("prio.test"));
  ASSERT_EQ(result.error, "");
  std::vector<std::string> hosts;
  for (const auto& endpoint : result.endpoints) {
    if (hosts.empty() || hosts.back() != endpoint.host) hosts.push_back(endpoint.host);
  }
  EXPECT_EQ(hosts, (std::vector<std::string>{"e.prio.test", "d.prio.test", "b.prio.test",
                                             "c.prio.test", "a.prio.test"}));
}

TEST_F(ResolverTest, LookupSrvListsBothServicesInTheSameOrder) {
  random_.values = {65, 80};
  const auto [records, error] = run(resolver().lookup_srv("prio.test"));
  EXPECT_EQ(error, "");
  const std::vector<SrvRecord> expected = {
      {kXmppsServerService, "e.prio.test", 5224, 5, 0, true},
      {kXmppServerService, "b.prio.test", 5270, 10, 10, false},
      {kXmppServerService, "c.prio.test", 5271, 10, 30, false},
      {kXmppsServerService, "d.prio.test", 5223, 10, 60, true},
      {kXmppServerService, "a.prio.test", 5269, 20, 0, false},
  };
  EXPECT_EQ(records, expected);
}

TEST_F(ResolverTest, LookupSrvOfADomainWithoutRecordsIsEmptyWithoutError) {
  const auto [records, error] = run(resolver().lookup_srv("fallback.test"));
  EXPECT_TRUE(records.empty());
  EXPECT_EQ(error, "");
}

TEST_F(ResolverTest, LookupSrvShowsTheDot) {
  const auto [records, error] = run(resolver().lookup_srv("dot.test"));
  EXPECT_EQ(error, "");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].target, ".");
  EXPECT_EQ(records[0].service, kXmppServerService);
}

TEST_F(ResolverTest, LargeSrvAnswersComeOverTcp) {
  // 40 records do not fit 512 bytes: dnsmasq truncates, c-ares asks again over TCP, whose
  // socket Parley watches for writing (connect, query) and reading (the answer in pieces).
  const auto [records, error] = run(resolver().lookup_srv("big.test"));
  EXPECT_EQ(error, "");
  EXPECT_EQ(records.size(), 40u);
}

TEST_F(ResolverTest, EveryAddressOfATargetIsAnEndpoint) {
  const Result result = run(resolver().resolve_s2s("multi.test"));
  ASSERT_EQ(result.error, "");
  ASSERT_EQ(result.endpoints.size(), 4u);
  EXPECT_EQ(addresses(result.endpoints),
            (std::set<std::string>{"192.0.2.11", "192.0.2.12", "192.0.2.13", "2001:db8::11"}));
  for (const auto& endpoint : result.endpoints) {
    EXPECT_EQ(endpoint.endpoint.port(), 5269);
    EXPECT_EQ(endpoint.host, "host.multi.test");
    EXPECT_FALSE(endpoint.direct_tls);
  }
}

TEST_F(ResolverTest, WithoutSrvRecordsTheDomainItselfOnPort5269) {
  const Result result = run(resolver().resolve_s2s("fallback.test"));
  ASSERT_EQ(result.error, "");
  EXPECT_FALSE(result.from_srv);
  ASSERT_EQ(result.endpoints.size(), 2u);
  EXPECT_EQ(addresses(result.endpoints), (std::set<std::string>{"192.0.2.21", "2001:db8::21"}));
  for (const auto& endpoint : result.endpoints) {
    EXPECT_EQ(endpoint.endpoint.port(), kXmppServerPort);
    EXPECT_EQ(endpoint.host, "fallback.test");
    EXPECT_FALSE(endpoint.direct_tls);
  }
}

TEST_F(ResolverTest, NxdomainIsAnErrorThatSaysSo) {
  const Result result = run(resolver().resolve_s2s("nosuch.test"));
  EXPECT_TRUE(result.endpoints.empty());
  EXPECT_EQ(result.error, "nosuch.test: no such domain (NXDOMAIN)");
  EXPECT_FALSE(result.timed_out);
}

TEST_F(ResolverTest, ADomainWithoutAnyAddressSaysSo) {
  const Result result = run(resolver().resolve_s2s("nodata.test"));
  EXPECT_TRUE(result.endpoints.empty());
  EXPECT_EQ(result.error, "nodata.test has no SRV, A or AAAA records");
}

TEST_F(ResolverTest, ALoneDotTargetMeansNotAvailableAndNoFallback) {
  // dot.test has an A record: a fallback would have found it.
  const Result result = run(resolver().resolve_s2s("dot.test"));
  EXPECT_TRUE(result.endpoints.empty());
  EXPECT_EQ(result.error, "_xmpp-server._tcp.dot.test says the service is not available ('.')");
  EXPECT_FALSE(result.timed_out);
}

TEST_F(ResolverTest, ADotForDirectTlsOnlyLeavesTheStarttlsRecords) {
  const Result result = run(resolver().resolve_s2s("tlsdot.test"));
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(result.endpoints,
            (std::vector<Endpoint>{at("192.0.2.41", 5269, "starttls.tlsdot.test")}));
}

TEST_F(ResolverTest, ADotForDirectTlsWithoutStarttlsRecordsIsNoFallback) {
  // XEP-0368 §5: the domain uses SRV, so its A record (192.0.2.51) is not a way in.
  const Result result = run(resolver().resolve_s2s("tlsdotonly.test"));
  EXPECT_TRUE(result.endpoints.empty());
  EXPECT_NE(result.error.find("_xmpps-server._tcp.tlsdotonly.test says direct TLS is not "
                              "available ('.')"),
            std::string::npos)
      << result.error;
  EXPECT_NE(result.error.find("no A/AAAA fallback"), std::string::npos) << result.error;
}

TEST_F(ResolverTest, TargetsThatDoNotResolveAreLeftOut) {
  const Result result = run(resolver().resolve_s2s("halfdead.test"));
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(result.endpoints, (std::vector<Endpoint>{at("192.0.2.61", 5270, "ok.halfdead.test")}));
}

TEST_F(ResolverTest, WhenNoTargetResolvesTheErrorNamesThemAndThereIsNoFallback) {
  const Result result = run(resolver().resolve_s2s("alldead.test"));
  EXPECT_TRUE(result.endpoints.empty());
  EXPECT_EQ(result.error,
            "none of the SRV targets of alldead.test resolved (missing.alldead.test: no such "
            "domain (NXDOMAIN))");
}

TEST_F(ResolverTest, InternationalisedDomainsAreAskedAsALabels) {
  const Result result = run(resolver().resolve_s2s("bücher.test"));
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(result.endpoints,
            (std::vector<Endpoint>{at("192.0.2.81", 5269, "xn--bcher-kva.test")}));
}

TEST_F(ResolverTest, TheFallbackHonoursTheHostsFile) {
  // dnsmasq runs with --no-hosts and answers NXDOMAIN for localhost: the address comes from
  // /etc/hosts (or c-ares's RFC 6761 rule for "localhost" when the file lacks it).
  const Result result = run(resolver().resolve_s2s("localhost"));
  ASSERT_EQ(result.error, "");
  EXPECT_FALSE(result.from_srv);
  EXPECT_TRUE(addresses(result.endpoints).count("127.0.0.1") == 1 ||
              addresses(result.endpoints).count("::1") == 1);
  for (const auto& endpoint : result.endpoints) {
    EXPECT_EQ(endpoint.endpoint.port(), 5269);
  }
}

TEST_F(ResolverTest, TheFallbackReadsTheHostsFileBeforeDns) {
  // A name only a hosts file knows (c-ares reads the file named by CARES_HOSTS instead of
  // /etc/hosts): without the file it is NXDOMAIN, with it, an address.
  EXPECT_EQ(run(resolver().resolve_s2s("hostsonly.test")).error,
            "hostsonly.test: no such domain (NXDOMAIN)");

  const auto hosts =
      std::filesystem::temp_directory_path() / ("parley-hosts-" + std::to_string(::getpid()));
  std::ofstream(hosts) << "# test\n192.0.2.91   hostsonly.test  alias.test\n";
  ::setenv("CARES_HOSTS", hosts.c_str(), 1);
  const Result result = run(resolver().resolve_s2s("hostsonly.test"));
  const Result host = run(resolver().resolve_host("alias.test", 5270, true));
  ::unsetenv("CARES_HOSTS");
  std::filesystem::remove(hosts);

  ASSERT_EQ(result.error, "");
  EXPECT_EQ(result.endpoints, (std::vector<Endpoint>{at("192.0.2.91", 5269, "hostsonly.test")}));
  ASSERT_EQ(host.error, "");
  EXPECT_EQ(host.endpoints, (std::vector<Endpoint>{at("192.0.2.91", 5270, "alias.test", true)}));
}

TEST_F(ResolverTest, ResolveHostAsksDnsForNames) {
  const Result result = run(resolver().resolve_host("b.prio.test", 5299, false));
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(result.endpoints, (std::vector<Endpoint>{at("192.0.2.2", 5299, "b.prio.test")}));

  const Result missing = run(resolver().resolve_host("nosuch.test", 5269, false));
  EXPECT_TRUE(missing.endpoints.empty());
  EXPECT_EQ(missing.error, "nosuch.test: no such domain (NXDOMAIN)");
}

TEST_F(ResolverTest, ResolveHostTakesLiteralsAsTheyAre) {
  const Result v4 = run(resolver().resolve_host("192.0.2.7", 5270, true));
  EXPECT_EQ(v4.endpoints, (std::vector<Endpoint>{at("192.0.2.7", 5270, "192.0.2.7", true)}));
  const Result v6 = run(resolver().resolve_host("[2001:db8::7]", 5269, false));
  EXPECT_EQ(v6.endpoints, (std::vector<Endpoint>{at("2001:db8::7", 5269, "[2001:db8::7]")}));
}

TEST_F(ResolverTest, AnIdleResolverLeavesTheEventLoopWithoutWork) {
  // No socket wait, no timer, no work guard left behind: io_context::run() can return.
  ASSERT_EQ(run(resolver().resolve_s2s("fallback.test")).error, "");
  io_.restart();
  const auto start = Clock::now();
  io_.run_for(3s);
  EXPECT_LT(Clock::now() - start, 1s);
  // And the next query works as the first did.
  EXPECT_EQ(run(resolver().resolve_s2s("multi.test")).endpoints.size(), 4u);
}

TEST_F(ResolverTest, ManyConcurrentLookupsEachGetTheirAnswer) {
  std::vector<std::optional<Result>> results(30);
  const std::vector<std::string> domains = {"fallback.test", "multi.test", "nosuch.test"};
  for (std::size_t i = 0; i < results.size(); ++i) {
    asio::co_spawn(io_, resolver().resolve_s2s(domains[i % 3]),
                   [&results, i](std::exception_ptr, Result r) { results[i] = std::move(r); });
  }
  io_.restart();
  io_.run_for(20s);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    switch (i % 3) {
      case 0:
        EXPECT_EQ(results[i]->endpoints.size(), 2u);
        break;
      case 1:
        EXPECT_EQ(results[i]->endpoints.size(), 4u);
        break;
      default:
        EXPECT_EQ(results[i]->error, "nosuch.test: no such domain (NXDOMAIN)");
    }
  }
}

TEST_F(ResolverTest, ASilentServerTimesOutWithinTheBound) {
  test::SilentServer silent;
  ResolverOptions o;
  o.servers = {silent.server()};
  o.timeout = 600ms;
  Resolver r(io_.get_executor(), o);
  const auto start = Clock::now();
  const Result result = run(r.resolve_s2s("example.test"));
  const auto took = Clock::now() - start;
  EXPECT_TRUE(result.timed_out);
  EXPECT_TRUE(result.endpoints.empty());
  EXPECT_EQ(result.error.rfind("example.test: DNS timeout after ", 0), 0u) << result.error;
  EXPECT_GE(took, 250ms);  // SRV (half the bound) and then the fallback were tried
  EXPECT_LT(took, 1500ms);

  const Result host = run(r.resolve_host("example.test", 5269, false));
  EXPECT_TRUE(host.timed_out);
  const auto [records, error] = run(r.lookup_srv("example.test"));
  EXPECT_NE(error.find("DNS timeout after"), std::string::npos) << error;
}

TEST_F(ResolverTest, ATcpAnswerAlreadyInTheSocketIsReadToTheEnd) {
  // c-ares reads a TCP answer in several calls (length, then message), and Asio's reactor is
  // edge-triggered: the rest, already received, must be read without waiting for more data.
  TruncatingServer server(io_, 30);
  ResolverOptions o;
  o.servers = {server.server()};
  o.timeout = 3s;
  Resolver r(io_.get_executor(), o);
  const auto start = Clock::now();
  const auto [records, error] = run(r.lookup_srv("fake.test"));
  EXPECT_EQ(error, "");
  EXPECT_EQ(records.size(), 60u);  // 30 for each service
  EXPECT_EQ(server.tcp_queries(), 2);
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(ResolverTest, ASilentFirstServerIsLeftForTheNextAfterItsTry) {
  // The first try goes to the silent server; c-ares's retransmission timer (driven by a
  // steady_timer) moves the queries to dnsmasq after a sixth of the bound.
  test::SilentServer silent;
  ResolverOptions o;
  o.servers = {silent.server(), dnsmasq_->server()};
  o.timeout = 3s;
  Resolver r(io_.get_executor(), o);
  const auto start = Clock::now();
  const Result result = run(r.resolve_s2s("multi.test"));
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.endpoints.size(), 4u);
  EXPECT_GE(Clock::now() - start, 400ms);
  EXPECT_LT(Clock::now() - start, 2500ms);

  // Done, nothing is waited for any more: not even the silent server's socket, whose queries
  // were answered elsewhere.
  io_.restart();
  const auto idle = Clock::now();
  io_.run_for(3s);
  EXPECT_LT(Clock::now() - idle, 1s);
}

TEST_F(ResolverTest, ANameServerPortWithNobodyFailsAtOnceWithoutTimeout) {
  // Nothing listens there: the ICMP port unreachable ends the queries (ECONNREFUSED).
  std::uint16_t port = 0;
  {
    asio::ip::udp::socket s(io_, {asio::ip::make_address("127.0.0.1"), 0});
    port = s.local_endpoint().port();
  }
  ResolverOptions o;
  o.servers = {"127.0.0.1:" + std::to_string(port)};
  o.timeout = 3s;
  Resolver r(io_.get_executor(), o);
  const auto start = Clock::now();
  const Result result = run(r.resolve_s2s("example.test"));
  EXPECT_EQ(result.error, "example.test: the DNS servers cannot be reached (connection refused)");
  EXPECT_FALSE(result.timed_out);
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(ResolverTest, DestroyingTheResolverEndsOutstandingLookups) {
  test::SilentServer silent;
  ResolverOptions o;
  o.servers = {silent.server()};
  o.timeout = 10s;
  auto r = std::make_unique<Resolver>(io_.get_executor(), o);
  std::vector<std::optional<Result>> results(3);
  asio::co_spawn(io_, r->resolve_s2s("example.test"),
                 [&](std::exception_ptr, Result x) { results[0] = std::move(x); });
  asio::co_spawn(io_, r->resolve_host("example.test", 5269, false),
                 [&](std::exception_ptr, Result x) { results[1] = std::move(x); });
  asio::co_spawn(io_, r->resolve_s2s("example.test"),
                 [&](std::exception_ptr, Result x) { results[2] = std::move(x); });
  io_.run_for(100ms);
  ASSERT_FALSE(results[0].has_value());

  const auto start = Clock::now();
  r.reset();
  io_.restart();
  io_.run_for(5s);  // returns as soon as there is no work left
  EXPECT_LT(Clock::now() - start, 1s);
  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->endpoints.empty());
    EXPECT_NE(result->error.find("the resolver was shut down"), std::string::npos) << result->error;
    EXPECT_FALSE(result->timed_out);
  }
}

TEST_F(ResolverTest, ALookupAwaitedAfterTheResolverIsGoneFailsCleanly) {
  auto r = std::make_unique<Resolver>(io_.get_executor(), options());
  auto pending = r->resolve_s2s("fallback.test");
  r.reset();
  const Result result = run(std::move(pending));
  EXPECT_TRUE(result.endpoints.empty());
  EXPECT_NE(result.error.find("the resolver was shut down"), std::string::npos) << result.error;
}

TEST_F(ResolverTest, CancellationEndsTheLookup) {
  using namespace asio::experimental::awaitable_operators;
  test::SilentServer silent;
  ResolverOptions o;
  o.servers = {silent.server()};
  o.timeout = 10s;
  Resolver r(io_.get_executor(), o);
  const auto start = Clock::now();
  const auto winner = run([&]() -> asio::awaitable<std::size_t> {
    asio::steady_timer timer(io_, 100ms);
    auto either = co_await (r.resolve_s2s("example.test") || timer.async_wait(asio::use_awaitable));
    co_return either.index();
  }());
  EXPECT_EQ(winner, 1u);  // the timer
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(ResolverTest, ServersAreParsedAndReported) {
  ResolverOptions o;
  o.servers = {"127.0.0.1:5353", "[::1]:5354", "192.0.2.53"};
  Resolver r(io_.get_executor(), o);
  EXPECT_EQ(r.servers(),
            (std::vector<std::string>{"127.0.0.1:5353", "[::1]:5354", "192.0.2.53:53"}));
}

TEST_F(ResolverTest, ABadServerStringThrowsWithTheReason) {
  for (const std::string bad : {"dns.example.org", "127.0.0.1:99999", "[::1", "127.0.0.1:"}) {
    ResolverOptions o;
    o.servers = {"127.0.0.1", bad};
    try {
      Resolver r(io_.get_executor(), o);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("'" + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST_F(ResolverTest, AResolvConfGivenIsRead) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("parley-resolv-" + std::to_string(::getpid()) + ".conf");
  std::ofstream(path) << "# test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n";
  ResolverOptions o;
  o.resolv_conf = path;
  Resolver r(io_.get_executor(), o);
  std::filesystem::remove(path);
  EXPECT_EQ(r.servers(), (std::vector<std::string>{"192.0.2.53:53", "[2001:db8::53]:53"}));
}

TEST_F(ResolverTest, AResolvConfThatCannotBeReadThrows) {
  ResolverOptions o;
  o.resolv_conf = "/nonexistent/parley/resolv.conf";
  try {
    Resolver r(io_.get_executor(), o);
    ADD_FAILURE() << "accepted a missing resolv.conf";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/parley/resolv.conf"), std::string::npos)
        << e.what();
  }
}

TEST_F(ResolverTest, TheSystemResolvConfIsTheDefault) {
  // Whatever this host lists; only that constructing needs no option and names some server.
  Resolver r(io_.get_executor(), ResolverOptions{});
  EXPECT_FALSE(r.servers().empty());
}

TEST_F(ResolverTest, NotADomainName) {
  const Result empty = run(resolver().resolve_s2s(""));
  EXPECT_EQ(empty.error, "'' is not a valid domain name");
  const Result long_label = run(resolver().resolve_s2s(std::string(64, 'a') + ".test"));
  EXPECT_TRUE(long_label.endpoints.empty());
  EXPECT_FALSE(long_label.error.empty());
}

}  // namespace
}  // namespace parley::federation::dns
