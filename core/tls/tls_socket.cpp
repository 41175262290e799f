#include "core/tls/tls_socket.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <climits>
#include <stdexcept>

namespace parley::core::tls {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// The error OpenSSL left for a failed call: the first queued, in Asio's SSL category (as
// asio::ssl::stream reports them, so messages read the same).
error_code openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  return {static_cast<int>(e), asio::error::get_ssl_category()};
}

}  // namespace

TlsSocket::TlsSocket(asio::ip::tcp::socket& socket, ssl_ctx_st* context, Role role)
    : socket_(socket) {
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr) throw std::runtime_error("cannot create a TLS connection (SSL_new)");
  if (SSL_set_fd(ssl_, socket_.native_handle()) != 1) {
    SSL_free(ssl_);
    throw std::runtime_error("cannot attach TLS to the socket (SSL_set_fd)");
  }
  error_code ignored;
  socket_.non_blocking(true, ignored);
  // Partial writes: write() resumes after each record; moving buffer: a retried write may come
  // from another address (the caller's string may have been swapped); released buffers: no
  // record buffers while idle; read-ahead: one recv() per burst rather than two per record.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl_, 1);
  if (role == Role::Server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

TlsSocket::~TlsSocket() { SSL_free(ssl_); }

TlsSocket::Step TlsSocket::classify(int result, error_code& error) {
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_NONE:
      return Step::Done;
    case SSL_ERROR_WANT_READ:
      return Step::WantRead;
    case SSL_ERROR_WANT_WRITE:
      return Step::WantWrite;
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      error = asio::error::eof;
      return Step::Failed;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() != 0) {
        error = openssl_error();
      } else if (result < 0 && saved_errno != 0) {
        error = error_code(saved_errno, boost::system::system_category());
      } else {
        error = asio::ssl::error::stream_truncated;  // TCP ended without close_notify
      }
      return Step::Failed;
    case SSL_ERROR_SSL:
      if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        error = asio::ssl::error::stream_truncated;
      } else {
        error = openssl_error();
      }
      return Step::Failed;
    default:
      error = openssl_error();
      return Step::Failed;
  }
}

asio::awaitable<error_code> TlsSocket::wait(Step step) {
  const auto what = step == Step::WantRead ? asio::ip::tcp::socket::wait_read
                                           : asio::ip::tcp::socket::wait_write;
  auto [ec] = co_await socket_.async_wait(what, kUseTuple);
  // A socket closed while nobody waited: its descriptor may already belong to another
  // connection, so OpenSSL must not touch it again.
  if (!ec && !socket_.is_open()) ec = asio::error::operation_aborted;
  co_return ec;
}

asio::awaitable<error_code> TlsSocket::handshake() {
  for (;;) {
    if (!socket_.is_open()) co_return asio::error::operation_aborted;
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_);
    if (result == 1) co_return error_code{};
    error_code error;
    const Step step = classify(result, error);
    if (step == Step::Failed) co_return error;
    const error_code waited = co_await wait(step);
    if (waited) co_return waited;
  }
}

asio::awaitable<std::pair<error_code, std::size_t>> TlsSocket::read_some(char* data,
                                                                         std::size_t size) {
  const int want = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
  for (;;) {
    if (!socket_.is_open()) co_return std::pair{error_code(asio::error::operation_aborted), 0};
    ERR_clear_error();
    const int n = SSL_read(ssl_, data, want);
    if (n > 0) co_return std::pair{error_code{}, static_cast<std::size_t>(n)};
    error_code error;
    const Step step = classify(n, error);
    if (step == Step::Failed) co_return std::pair{error, std::size_t{0}};
    const error_code waited = co_await wait(step);
    if (waited) co_return std::pair{waited, std::size_t{0}};
  }
}

asio::awaitable<error_code> TlsSocket::write(std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    if (!socket_.is_open()) co_return asio::error::operation_aborted;
    const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size() - done, INT_MAX));
    ERR_clear_error();
    const int n = SSL_write(ssl_, bytes.data() + done, chunk);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    error_code error;
    const Step step = classify(n, error);
    if (step == Step::Failed) co_return error;
    const error_code waited = co_await wait(step);
    if (waited) co_return waited;
  }
  co_return error_code{};
}

asio::awaitable<error_code> TlsSocket::shutdown() {
  // The first call sends our close_notify (and answers 0), the next ones wait for the peer's.
  for (int sent = 0; sent < 3;) {
    if (!socket_.is_open()) co_return asio::error::operation_aborted;
    ERR_clear_error();
    const int result = SSL_shutdown(ssl_);
    if (result == 1) co_return error_code{};
    if (result == 0) {
      ++sent;
      continue;
    }
    error_code error;
    const Step step = classify(result, error);
    if (step == Step::Failed) co_return error == asio::error::eof ? error_code{} : error;
    const error_code waited = co_await wait(step);
    if (waited) co_return waited;
  }
  co_return error_code{};
}

}  // namespace parley::core::tls
