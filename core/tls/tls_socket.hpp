// TLS over a non-blocking TCP socket with OpenSSL reading and writing the socket itself, for
// connections that mostly sit idle. asio::ssl::stream keeps two 17 KiB buffers per connection and
// a BIO pair of as much again (about 68 KiB for every idle client); here OpenSSL's own record
// buffers are all there is, and SSL_MODE_RELEASE_BUFFERS (set on the contexts) frees them while
// nothing is in flight. Readiness comes from the socket's reactor (async_wait), the bytes from
// SSL_read/SSL_write on its descriptor, as in nginx.
//
// One reader and one writer may be under way at once (the session's read and write loops): a
// read that needs to write (e.g. a TLS 1.3 KeyUpdate answer) waits for writability, a write that
// needs to read waits for readability; OpenSSL permits interleaving SSL_read and SSL_write on one
// thread. Closing or cancelling the socket ends every wait with operation_aborted.
//
// OpenSSL writes with write(2), not send(MSG_NOSIGNAL): the process must ignore SIGPIPE (Server
// does), or a peer that resets the connection kills it.
//
// Thread-safety: none; every call on the socket's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string_view>
#include <utility>

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace parley::core::tls {

class TlsSocket {
 public:
  enum class Role { Server, Client };

  // Puts `socket` in non-blocking mode and makes a TLS connection over it from `context`.
  // Throws std::runtime_error when OpenSSL cannot allocate one. `socket` must outlive this.
  TlsSocket(boost::asio::ip::tcp::socket& socket, ssl_ctx_st* context, Role role);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  ssl_st* native_handle() const { return ssl_; }

  // The TLS handshake. Errors: asio::error::eof (the peer closed), OpenSSL's (ssl category), the
  // socket's.
  boost::asio::awaitable<boost::system::error_code> handshake();
  // At least one byte of application data into [data, data + size), unless an error: eof after
  // the peer's close_notify, asio::ssl::error::stream_truncated when the connection ended without
  // one, operation_aborted when the socket was closed or cancelled.
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some(
      char* data, std::size_t size);
  // All of `bytes`, which must stay valid and unchanged until this completes.
  boost::asio::awaitable<boost::system::error_code> write(std::string_view bytes);
  // Sends close_notify and waits for the peer's (RFC 8446 §6.1); bound it by closing the socket.
  boost::asio::awaitable<boost::system::error_code> shutdown();

 private:
  enum class Step { Done, WantRead, WantWrite, Failed };
  // What OpenSSL's answer `result` to a call means; sets `error` when Failed.
  Step classify(int result, boost::system::error_code& error);
  boost::asio::awaitable<boost::system::error_code> wait(Step step);

  boost::asio::ip::tcp::socket& socket_;
  ssl_st* ssl_ = nullptr;
};

}  // namespace parley::core::tls
