// One server-to-server XML stream (RFC 6120, namespace jabber:server) over one TCP connection:
// the part both directions share. It owns the socket and its TLS layer, reads into a fixed buffer
// and feeds the stream parser, hands each stream header and top-level element to the derived
// class (IncomingLink, OutgoingLink), and drains a bounded write queue. Closing follows RFC 6120
// §4.4: our closing tag, TLS close_notify, then the socket, with a deadline.
//
// Thread-safety: none; every call on the io thread of the server.
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

#include "core/stanza.hpp"
#include "xml/element.hpp"
#include "xml/stream_error.hpp"
#include "xml/stream_header.hpp"
#include "xml/stream_parser.hpp"

namespace boost::asio::ssl {
class context;
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl
namespace spdlog {
class logger;
}
struct ssl_st;

namespace parley::core {
struct ServerState;
}

namespace parley::federation {

class S2sStream : public std::enable_shared_from_this<S2sStream> {
 public:
  static constexpr std::size_t kReadBufferBytes = 4 * 1024;
  // Unsent output beyond this means the peer does not read: the connection is dropped.
  static constexpr std::size_t kMaxQueuedBytes = 1024 * 1024;
  static constexpr std::chrono::seconds kCloseTimeout{5};
  static constexpr std::size_t kMaxDiscardBytes = 64 * 1024;

  virtual ~S2sStream();
  S2sStream(const S2sStream&) = delete;
  S2sStream& operator=(const S2sStream&) = delete;

  // Ends the stream with a stream error and closes the connection (RFC 6120 §4.9).
  void stream_error(xml::StreamError condition, std::string_view reason);
  // Ends the stream cleanly: </stream:stream>, then close (RFC 6120 §4.4).
  void close_stream();
  // Closes the socket now, without a goodbye.
  void abort();

  std::uint64_t number() const { return number_; }
  const std::string& peer() const { return peer_; }
  // "s2s-in#12" / "s2s-out#13", for logs.
  const std::string& name() const { return name_; }
  bool is_closed() const { return state_ == State::Closed; }
  bool tls_active() const { return tls_ != nullptr; }
  // Our stream header has gone out (the connection is up).
  bool header_sent() const { return header_sent_; }

 protected:
  enum class State : std::uint8_t { AwaitingHeader, Open, Closing, Closed };
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

  S2sStream(core::ServerState& server, boost::asio::ip::tcp::socket socket, std::string kind,
            std::uint64_t number);

  // --- for the derived classes ---
  // Spawns the read loop (running `prelude` first, e.g. connecting or a direct-TLS handshake;
  // false from it closes) and the write loop. REQUIRES: called once.
  void start_io();
  virtual boost::asio::awaitable<bool> prelude() = 0;
  // The peer's stream header arrived (state is Open).
  virtual void on_header(const xml::StreamHeader& header) = 0;
  // A top-level element arrived on an open stream.
  virtual boost::asio::awaitable<void> on_element(xml::Document element) = 0;
  // The socket is closed; called once.
  virtual void on_closed() = 0;

  // A TLS handshake as client or server on the connection; `prepare` sets SNI, ALPN or the
  // certificate on the new SSL object first. Logs on failure, and closes unless
  // `close_on_failure` is false (then the plain socket is left for the caller to close or reuse).
  boost::asio::awaitable<bool> start_tls(boost::asio::ssl::context& context, bool as_server,
                                         const std::function<void(ssl_st*)>& prepare,
                                         bool close_on_failure = true);
  ssl_st* ssl() const;
  // After STARTTLS or SASL success: expect a new stream header (RFC 6120 §5.4.3.3, §6.4.6).
  void restart();
  // Our stream header: jabber:server with the dialback prefix declared (XEP-0220 §2.1).
  void send_header(std::string_view from, std::string_view to, std::string_view id);
  void send(std::string_view bytes);
  void send(xml::Element element);
  void send_stanza(const core::Stanza& stanza);
  // A stanza from the peer (RFC 6120 §8.1.1.1, §13.7.1): both addresses present and valid, the
  // 'to' a domain we serve, and (from domain, to domain) authenticated on this stream per
  // `authorized`; then routed. Violations end the stream with the RFC 6120 §4.9.3 condition.
  boost::asio::awaitable<void> accept_stanza(
      xml::Document document,
      const std::function<bool(const std::string& from, const std::string& to)>& authorized);
  // Waits until everything queued has been written.
  boost::asio::awaitable<void> flush();

  spdlog::logger& log() const;
  core::ServerState& server() const { return server_; }
  const xml::StreamParser& parser() const { return parser_; }
  State state() const { return state_; }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  void set_peer(std::string peer) { peer_ = std::move(peer); }
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<void> process_events();
  void begin_close();
  void close_socket();

  core::ServerState& server_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;
  boost::asio::steady_timer wake_writer_;
  boost::asio::steady_timer flushed_;
  boost::asio::steady_timer close_deadline_;
  const std::uint64_t number_;
  std::string name_;
  std::string peer_;
  xml::StreamParser parser_;
  State state_ = State::AwaitingHeader;
  bool header_sent_ = false;
  bool read_done_ = false;
  bool write_done_ = false;
  bool write_in_flight_ = false;
  bool handshaking_ = false;
  bool tls_closing_ = false;
  bool closed_notified_ = false;
  std::string queued_;
  std::string writing_;
  std::size_t discarded_ = 0;
  std::chrono::steady_clock::time_point last_activity_;
  std::array<char, kReadBufferBytes> read_buffer_{};
};

// Peer-supplied text for a log line: no control characters, at most 200 bytes.
std::string loggable(std::string_view text);

}  // namespace parley::federation
