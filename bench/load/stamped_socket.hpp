// A TCP socket for parley-load that can tell when the data it read arrived: with stamping on
// (SO_TIMESTAMPNS, socket(7)), every read is a recvmsg() that also returns the kernel's receive
// time of the newest data read, so a latency can end where the server's bytes reached the
// client's socket rather than where parley-load got round to reading them. At an open-loop rate
// the second includes the load tool's own lateness (its one thread busy or descheduled), which
// is noise common to every server measured, not the server's latency.
//
// It is the next layer of an asio::ssl::stream: async_read_some/async_write_some, the executor
// and the lowest layer are the socket's. With stamping off, reads are the socket's own calls.
//
// The stamp is CLOCK_REALTIME, as the kernel gives it. When one read returns several segments,
// it is the newest one's arrival, so a message read together with a later one is charged the
// later arrival: the figure can be high, never low.
//
// Thread-safety: as asio::ip::tcp::socket.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>

namespace parley::load {

// A timespec as nanoseconds since its clock's epoch.
inline std::int64_t timespec_ns(const timespec& ts) {
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// CLOCK_REALTIME now, in the unit of StampedSocket::last_arrival_ns().
inline std::int64_t realtime_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return timespec_ns(ts);
}

class StampedSocket {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using lowest_layer_type = socket_type::lowest_layer_type;

  explicit StampedSocket(socket_type socket) : socket_(std::move(socket)) {}

  executor_type get_executor() { return socket_.get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }
  socket_type& socket() { return socket_; }

  // Turns on receive timestamps. REQUIRES: the socket is open (connected).
  void enable_stamps(boost::system::error_code& ec) {
    const int on = 1;
    if (::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
      ec.assign(errno, boost::system::system_category());
      return;
    }
    socket_.non_blocking(true, ec);
    if (!ec) stamping_ = true;
  }
  // CLOCK_REALTIME nanoseconds at which the newest data read so far reached the socket; 0 before
  // any stamped read.
  std::int64_t last_arrival_ns() const { return last_arrival_ns_; }

  template <typename ConstBufferSequence, typename Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

  template <typename MutableBufferSequence, typename Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    // Both return what async_result gives this token for void(error_code, size_t).
    if (!stamping_) return socket_.async_read_some(buffers, std::forward<Token>(token));
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        ReadOp<MutableBufferSequence>{this, buffers, {}, {}, 0}, token, socket_);
  }

 private:
  template <typename Buffers>
  struct ReadOp {
    StampedSocket* s;
    Buffers buffers;
    enum class Step { Start, Read, Waited };
    Step step = Step::Start;
    boost::system::error_code result;
    std::size_t bytes = 0;

    // Entered first with nothing: reads at once if data is there (as the socket's own reads do)
    // and completes through a post, since an Asio operation must not complete from its first
    // entry; else waits for readability and reads then.
    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
      switch (step) {
        case Step::Start:
          bytes = s->receive(buffers, result);
          if (result == boost::asio::error::would_block) {
            step = Step::Waited;
            s->socket_.async_wait(socket_type::wait_read, std::move(self));
          } else {
            step = Step::Read;
            boost::asio::post(s->socket_.get_executor(), std::move(self));
          }
          return;
        case Step::Read:
          self.complete(result, bytes);
          return;
        case Step::Waited:
          if (!ec) n = s->receive(buffers, ec);
          if (ec == boost::asio::error::would_block) {
            s->socket_.async_wait(socket_type::wait_read, std::move(self));
            return;
          }
          self.complete(ec, n);
          return;
      }
    }
  };

  // One recvmsg() into `buffers`; keeps the arrival stamp. 0 bytes of a non-empty buffer is the
  // end of the stream (asio::error::eof, as the socket's own reads report it).
  template <typename Buffers>
  std::size_t receive(const Buffers& buffers, boost::system::error_code& ec) {
    std::array<iovec, 16> iov{};
    std::size_t count = 0;
    std::size_t total = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && count < iov.size(); ++it) {
      const boost::asio::mutable_buffer b(*it);
      if (b.size() == 0) continue;
      iov[count++] = iovec{b.data(), b.size()};
      total += b.size();
    }
    if (total == 0) return 0;
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = count;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t got = 0;
    do {
      got = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      ec = (errno == EAGAIN || errno == EWOULDBLOCK)
               ? make_error_code(boost::asio::error::would_block)
               : boost::system::error_code(errno, boost::system::system_category());
      return 0;
    }
    if (got == 0) {
      ec = boost::asio::error::eof;
      return 0;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts{};
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        last_arrival_ns_ = timespec_ns(ts);
      }
    }
    ec = {};
    return static_cast<std::size_t>(got);
  }

  socket_type socket_;
  bool stamping_ = false;
  std::int64_t last_arrival_ns_ = 0;
};

}  // namespace parley::load
