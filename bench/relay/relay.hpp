// parley-relay's core: a bare TLS relay with no XML, the ceiling the servers' c2s message
// throughput is compared against (docs/PERFORMANCE.md). A Connection logs a client in with canned
// bytes (RFC 6120 §5 STARTTLS, §6 SASL PLAIN of RFC 4616 accepting any password, §7 bind) and then
// forwards each <message/> verbatim to the connection logged in as the localpart of its 'to'.
// Everything the scan cannot do is listed in byte_scan.hpp; beyond that: no stanza errors, no
// presence or roster, no 'from' stamping (parley-load's receivers do not need one).
//
// Thread-safety: none; everything runs on one io_context thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/relay/byte_scan.hpp"
#include "core/tls/tls_socket.hpp"

namespace parley::relay {

namespace asio = boost::asio;

class Connection;

struct Counters {
  std::uint64_t connections = 0;  // accepted
  std::uint64_t logins = 0;       // bound a resource
  std::uint64_t relayed = 0;      // messages appended to a recipient's queue
  std::uint64_t dropped = 0;      // messages with no recipient online (or a dead/overfull one)
};

// Who is online, and which connections have bytes queued since the last flush_deferred(). Holds
// no Asio object, so it can outlive the io_context whose handlers own the connections.
class Relay {
 public:
  // The connection logged in as `user` (the SASL authcid), or nullptr.
  Connection* find(std::string_view user) const;
  // The latest login of a user wins; remove() only forgets `c` if it is still the one listed.
  void add(const std::string& user, Connection* c);
  void remove(const std::string& user, const Connection* c);

  // Writes of `c` start at the next flush_deferred(), so that everything queued for it while one
  // read is handled goes out in one write.
  void defer_flush(std::shared_ptr<Connection> c);
  void flush_deferred();
  // flush_deferred() once the handlers already queued on `executor` have run (e.g. the other
  // reads that one epoll_wait reported), so that what several reads queue for one recipient goes
  // out in one write, as Parley's write loops gather; at most one is pending.
  void post_flush(const asio::any_io_executor& executor);

  Counters counters;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Connection*, Hash, std::equal_to<>> online_;
  std::vector<std::shared_ptr<Connection>> deferred_;
  bool flush_posted_ = false;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Relay& relay, asio::ip::tcp::socket socket, asio::ssl::context& tls);
  ~Connection();

  // Logs the client in, then relays until the stream ends. The returned awaitable owns `self`.
  static asio::awaitable<void> run(std::shared_ptr<Connection> self);

  // Queues a stanza for this client (written at the next Relay::flush_deferred()); false when
  // it is dropped (connection dead, or its queue over the bound).
  bool enqueue(std::string_view bytes);
  // Starts a write of everything queued unless one is in progress.
  void flush();

 private:
  // Bytes read and not yet consumed; no zero-filling on growth.
  class InputBuffer {
   public:
    std::string_view view() const { return {data_.get() + begin_, end_ - begin_}; }
    void consume(std::size_t n);
    asio::mutable_buffer prepare(std::size_t n);
    void commit(std::size_t n) { end_ += n; }

   private:
    std::unique_ptr<char[]> data_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
  };

  asio::awaitable<void> login();
  asio::awaitable<void> relay_loop();
  // The next stream header / top-level element, reading as needed; throws on a closed stream.
  asio::awaitable<TopLevel> next_header();
  asio::awaitable<TopLevel> next_element();
  asio::awaitable<void> read_more();
  asio::awaitable<void> write_plain(std::string bytes);

  // After login: one top-level element (not </stream:stream>).
  void on_element(const TopLevel& e);
  void on_iq(const TopLevel& e);
  void on_message(const TopLevel& e);
  void send(std::string_view bytes);  // enqueue + defer_flush
  std::string stream_header();
  void close();
  asio::awaitable<void> write_queued(std::shared_ptr<Connection> self);

  Relay& relay_;
  asio::ip::tcp::socket socket_;
  asio::ssl::context& tls_context_;
  // TLS the way Parley's c2s sessions do it (core/tls/tls_socket.hpp), so that the ceiling and
  // Parley pay the same for TLS and system calls.
  std::unique_ptr<core::tls::TlsSocket> tls_socket_;
  InputBuffer in_;
  bool tls_ = false;
  std::string domain_;  // the stream's 'to', raw
  char domain_quote_ = '\'';
  std::string user_;           // the SASL authcid
  bool bound_ = false;         // listed in relay_ under user_
  std::uint64_t ids_ = 0;      // this connection's number: stream ids, generated resources
  std::uint64_t headers_ = 0;  // stream headers sent
  std::string out_;            // queued, not yet being written
  std::string sending_;        // being written
  bool writing_ = false;
  bool deferred_ = false;  // listed in Relay::deferred_
  bool closing_ = false;   // </stream:stream> queued: close once written
  bool closed_ = false;

  friend class Relay;  // clears deferred_
};

}  // namespace parley::relay
