// StampedSocket (stamped_socket.hpp) over a real loopback connection: the arrival stamp of the
// data read lies between the peer's write and the read's completion, the end of the stream is
// asio::error::eof, and without stamping reads work and leave no stamp.
#include "bench/load/stamped_socket.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace parley::load {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class StampedSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.socket().connect(acceptor.local_endpoint());
    acceptor.accept(peer_);
  }

  // Runs one async_read_some on the client to completion.
  struct ReadResult {
    boost::system::error_code ec;
    std::string data;
  };
  ReadResult read_once(std::size_t size = sizeof buf_) {
    std::optional<ReadResult> result;
    client_.async_read_some(asio::buffer(buf_, size),
                            [&](boost::system::error_code ec, std::size_t n) {
                              result = ReadResult{ec, std::string(buf_, n)};
                            });
    io_.restart();
    io_.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(result.has_value()) << "the read did not complete";
    return result.value_or(ReadResult{});
  }

  asio::io_context io_;
  StampedSocket client_{tcp::socket(io_)};
  tcp::socket peer_{io_};
  char buf_[256] = {};
};

TEST_F(StampedSocketTest, ReadsCarryTheKernelArrivalTime) {
  boost::system::error_code ec;
  client_.enable_stamps(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(client_.last_arrival_ns(), 0);
  // The kernel turns receive timestamps on for the whole network stack through deferred work
  // when the first socket asks (net_enable_timestamp()), and TCP passes no stamp for data that
  // arrived before: while no other socket on the machine has timestamps on, the first bytes may
  // come unstamped (one run in five here). Prime until a read carries a stamp.
  for (int i = 0; i < 500 && client_.last_arrival_ns() == 0; ++i) {
    asio::write(peer_, asio::buffer(std::string("p")));
    ASSERT_EQ(read_once(1).data, "p");
    if (client_.last_arrival_ns() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_NE(client_.last_arrival_ns(), 0) << "no read was ever stamped";

  const std::int64_t before_write = realtime_now_ns();
  asio::write(peer_, asio::buffer(std::string("first")));
  const ReadResult first = read_once();
  const std::int64_t after_read = realtime_now_ns();
  ASSERT_FALSE(first.ec) << first.ec.message();
  EXPECT_EQ(first.data, "first");
  EXPECT_GE(client_.last_arrival_ns(), before_write);
  EXPECT_LE(client_.last_arrival_ns(), after_read);

  // A later write: a later stamp, still no later than its read.
  const std::int64_t first_stamp = client_.last_arrival_ns();
  const std::int64_t before_second = realtime_now_ns();
  asio::write(peer_, asio::buffer(std::string("second")));
  const ReadResult second = read_once();
  ASSERT_FALSE(second.ec);
  EXPECT_EQ(second.data, "second");
  EXPECT_GT(client_.last_arrival_ns(), first_stamp);
  EXPECT_GE(client_.last_arrival_ns(), before_second);
  EXPECT_LE(client_.last_arrival_ns(), realtime_now_ns());
}

// asio::ssl::stream reads zero bytes to complete a handler that is ready: such a read must not
// wait for data (a login against ejabberd stalled until the server timed out when it did).
TEST_F(StampedSocketTest, AZeroLengthReadCompletesWithoutWaitingForData) {
  boost::system::error_code ec;
  client_.enable_stamps(ec);
  ASSERT_FALSE(ec);
  const ReadResult r = read_once(0);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(r.data.empty());
}

TEST_F(StampedSocketTest, TheEndOfTheStreamIsEof) {
  boost::system::error_code ec;
  client_.enable_stamps(ec);
  ASSERT_FALSE(ec);
  peer_.close();
  const ReadResult r = read_once();
  EXPECT_EQ(r.ec, asio::error::eof);
  EXPECT_TRUE(r.data.empty());
}

TEST_F(StampedSocketTest, WithoutStampingReadsAreThePlainSocketsAndLeaveNoStamp) {
  asio::write(peer_, asio::buffer(std::string("plain")));
  const ReadResult r = read_once();
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.data, "plain");
  EXPECT_EQ(client_.last_arrival_ns(), 0);
  peer_.close();
  EXPECT_EQ(read_once().ec, asio::error::eof);
}

}  // namespace
}  // namespace parley::load
