// One client-to-server XML stream (RFC 6120 §4) over one TCP connection.
//
// For now a session opens the stream (§4.7), offers no features yet, answers stream errors
// (§4.9) and closes cleanly (§4.4); stanzas are read and dropped. TLS, SASL and binding come later.
//
// Two coroutines: one reads into a fixed 4 KiB buffer and feeds the stream parser, one drains the
// write queue. Memory per connection is bounded by the read buffer, the parser's limits
// (xml::ParserLimits) and kMaxQueuedBytes of unsent output.
//
// Thread-safety: none; every call happens on the session's executor (one io_context thread).
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/stream_id.hpp"
#include "xml/stream_error.hpp"
#include "xml/stream_parser.hpp"

namespace spdlog {
class logger;
}

namespace parley::core {

// What every c2s session shares. Owned by the listener, outlives its sessions.
struct C2sContext {
  std::string domain;
  std::shared_ptr<spdlog::logger> log;
  StreamIdSource make_stream_id;
  // Called once when the session has closed its socket (on the session's executor).
  std::function<void(std::uint64_t session_number)> on_closed;
};

class C2sSession : public std::enable_shared_from_this<C2sSession> {
 public:
  static constexpr std::size_t kReadBufferBytes = 4 * 1024;
  // Unsent output beyond this means the peer does not read: the connection is dropped.
  static constexpr std::size_t kMaxQueuedBytes = 512 * 1024;
  // Once closing, how long the peer gets to take our last bytes and close its side (RFC 6120
  // §4.4) before the socket is closed anyway.
  static constexpr std::chrono::seconds kCloseTimeout{5};
  // Bytes read and thrown away while waiting for the peer to close.
  static constexpr std::size_t kMaxDiscardBytes = 64 * 1024;

  C2sSession(boost::asio::ip::tcp::socket socket, const C2sContext& context, std::uint64_t number);
  C2sSession(const C2sSession&) = delete;
  C2sSession& operator=(const C2sSession&) = delete;

  // Starts reading and writing. REQUIRES: called once.
  void start();
  // Ends the stream with a stream error (e.g. system-shutdown) and closes the connection.
  void shutdown(xml::StreamError condition, std::string_view reason);
  // Closes the socket now, without a goodbye.
  void abort();

  std::uint64_t number() const { return number_; }
  const std::string& peer() const { return peer_; }

 private:
  enum class State : std::uint8_t {
    AwaitingHeader,  // connected, no stream header from the peer yet
    Open,            // headers exchanged
    Closing,         // our last bytes are queued; reading only to notice the peer's close
    Closed,          // socket closed
  };

  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  void process_events();
  void on_stream_opened();
  void send_stream_header(std::string_view to);
  void stream_error(xml::StreamError condition, std::string_view reason);
  void begin_close();
  void send(std::string bytes);
  void close_socket();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer wake_writer_;  // expires never; cancelled to wake write_loop
  boost::asio::steady_timer close_deadline_;
  const C2sContext& context_;
  const std::uint64_t number_;
  std::string peer_;
  xml::StreamParser parser_;
  State state_ = State::AwaitingHeader;
  bool header_sent_ = false;
  bool read_done_ = false;
  bool write_done_ = false;
  std::string queued_;   // bytes waiting for write_loop
  std::string writing_;  // bytes of the write in flight
  std::size_t discarded_ = 0;
  std::array<char, kReadBufferBytes> read_buffer_{};
};

}  // namespace parley::core
