#include "core/tls/tls_socket.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include "core/tls/tls13_records.hpp"

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

// The error OpenSSL would report for its reason code `reason` (SSL_R_*), in Asio's SSL category.
error_code ssl_error(int reason) {
  return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), asio::error::get_ssl_category()};
}

// What the socket gave for OpenSSL: one buffer for every connection of the thread, since each
// hands it to OpenSSL before it awaits anything (and keeps what OpenSSL left, keep_unread()).
constexpr std::size_t kReadBytes = 16 * 1024;
char* read_buffer() {
  thread_local std::array<char, kReadBytes> buffer;
  return buffer.data();
}

}  // namespace

// What compact() needs from the handshake: the application traffic secrets, and how many bytes
// OpenSSL had sent when it switched to ours (anything sent after it, e.g. a session ticket, would
// have used up sequence numbers that compact() cannot know).
struct TlsSocket::HandshakeSecrets {
  Tls13Records::Secret client;
  Tls13Records::Secret server;
  std::size_t sent = 0;
  std::size_t sent_at_server_secret = 0;
};

BIO_METHOD* TlsSocket::bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "parley socket");
    if (m == nullptr || BIO_meth_set_read(m, &TlsSocket::bio_read) != 1 ||
        BIO_meth_set_write(m, &TlsSocket::bio_write) != 1 ||
        BIO_meth_set_ctrl(m, &TlsSocket::bio_ctrl) != 1) {
      throw std::runtime_error("cannot create OpenSSL's BIO type for sockets");
    }
    return m;
  }();
  return method;
}

int TlsSocket::bio_read(BIO* bio, char* out, int size) {
  auto* self = static_cast<TlsSocket*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->input_size_ == 0) {
    if (self->eof_) return 0;
    BIO_set_retry_read(bio);  // wait(): the socket's next bytes
    return -1;
  }
  const std::size_t n = std::min(static_cast<std::size_t>(std::max(size, 0)), self->input_size_);
  std::memcpy(out, self->input_, n);
  self->input_ += n;
  self->input_size_ -= n;
  return static_cast<int>(n);
}

int TlsSocket::bio_write(BIO* bio, const char* in, int size) {
  auto* self = static_cast<TlsSocket*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  // MSG_NOSIGNAL: a peer that reset the connection is an error here, not a SIGPIPE.
  const ssize_t n =
      ::send(self->socket_.native_handle(), in, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (n >= 0) {
    if (self->secrets_) self->secrets_->sent += static_cast<std::size_t>(n);
    return static_cast<int>(n);
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return -1;  // errno stays for classify()
}

long TlsSocket::bio_ctrl(BIO* bio, int command, long, void*) {
  auto* self = static_cast<TlsSocket*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
      return self->eof_ && self->input_size_ == 0 ? 1 : 0;
    case BIO_CTRL_PENDING:
      return static_cast<long>(self->input_size_);
    default:
      return 0;
  }
}

int TlsSocket::ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void TlsSocket::prepare_context(ssl_ctx_st* context) {
  ex_index();  // allocated before any connection exists
  SSL_CTX_set_keylog_callback(context, &TlsSocket::on_keylog);
}

void TlsSocket::on_keylog(const SSL* ssl, const char* line) {
  auto* self = static_cast<TlsSocket*>(SSL_get_ex_data(ssl, ex_index()));
  if (self == nullptr || !self->secrets_) return;
  // NSS key log format: "<label> <client random, 64 hex digits> <secret in hex>".
  const std::string_view text(line);
  const bool client = text.starts_with("CLIENT_TRAFFIC_SECRET_0 ");
  const bool server = text.starts_with("SERVER_TRAFFIC_SECRET_0 ");
  if (!client && !server) return;
  // The secret is the line's last field, up to its terminating NUL.
  const char* hex = line + text.rfind(' ') + 1;
  Tls13Records::Secret& secret = client ? self->secrets_->client : self->secrets_->server;
  std::size_t size = 0;
  if (OPENSSL_hexstr2buf_ex(secret.bytes.data(), secret.bytes.size(), &size, hex, '\0') != 1) {
    size = 0;  // not a secret compact() can use: make() refuses a size of 0
  }
  secret.size = size;
  if (server) self->secrets_->sent_at_server_secret = self->secrets_->sent;
}

TlsSocket::TlsSocket(asio::ip::tcp::socket& socket, ssl_ctx_st* context, Role role,
                     bool compactable)
    : socket_(socket) {
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr) throw std::runtime_error("cannot create a TLS connection (SSL_new)");
  BIO* bio = BIO_new(bio_method());
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::runtime_error("cannot attach TLS to the socket (BIO_new)");
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns it now
  error_code ignored;
  socket_.non_blocking(true, ignored);
  // A writer never needs to read (which is the reader's), as long as nobody renegotiates.
  SSL_set_options(ssl_, SSL_OP_NO_RENEGOTIATION);
  // Partial writes: write() resumes after each record; moving buffer: a retried write may come
  // from another address (the caller's string may have been swapped); released buffers: no
  // record buffers while idle; read-ahead: one recv() per burst rather than two per record.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl_, 1);
  if (compactable && role == Role::Server) {
    // Without read-ahead OpenSSL reads the client's Finished and not a byte more, so that the
    // records after it are still ours to open when the handshake is done.
    SSL_set_read_ahead(ssl_, 0);
    secrets_ = std::make_unique<HandshakeSecrets>();
    SSL_set_ex_data(ssl_, ex_index(), this);
  }
  if (role == Role::Server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

TlsSocket::~TlsSocket() { SSL_free(ssl_); }

bool TlsSocket::compact() {
  if (!secrets_ || ssl_ == nullptr) return false;
  const std::unique_ptr<HandshakeSecrets> secrets = std::move(secrets_);
  SSL_set_ex_data(ssl_, ex_index(), nullptr);
  SSL_set_read_ahead(ssl_, 1);  // staying with OpenSSL: as for any other connection
  if (SSL_is_init_finished(ssl_) != 1 || SSL_version(ssl_) != TLS1_3_VERSION ||
      SSL_has_pending(ssl_) != 0 || secrets->sent != secrets->sent_at_server_secret) {
    return false;
  }
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  if (cipher == nullptr) return false;
  records_ = Tls13Records::make(SSL_CIPHER_get_id(cipher), secrets->client, secrets->server);
  if (!records_) return false;
  SSL_free(ssl_);  // and our BIO with it; nothing is sent
  ssl_ = nullptr;
  return true;
}

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

void TlsSocket::keep_unread() {
  if (input_size_ == 0) {
    input_ = nullptr;
    if (pending_.capacity() != 0) std::string().swap(pending_);
    return;
  }
  const bool in_pending = input_ >= pending_.data() && input_ < pending_.data() + pending_.size();
  if (!in_pending) {
    pending_.assign(input_, input_size_);
    input_ = pending_.data();
  }
}

asio::awaitable<error_code> TlsSocket::wait(Step step, bool reading) {
  error_code ec;
  if (step == Step::WantRead && reading) {
    // One read of the socket at a time. A session's write loop shuts TLS down (and so reads)
    // after cancelling its read loop's read; but a read that had completed before the cancel
    // resumes later, still inside this function. The second reader gives way.
    if (read_in_flight_) co_return asio::error::operation_aborted;
    // OpenSSL took everything it had (bio_read asks for more only then). The asynchronous read
    // goes into this connection's own small buffer: Asio may read before the completion runs,
    // while other connections of the thread read too, so the thread's buffer will not do.
    std::size_t n = 0;
    read_in_flight_ = true;
    std::tie(ec, n) = co_await socket_.async_read_some(asio::buffer(first_bytes_), kUseTuple);
    read_in_flight_ = false;
    if (!ec && !socket_.is_open()) ec = asio::error::operation_aborted;
    if (ec == asio::error::eof) {
      eof_ = true;  // OpenSSL sees the end at its next read
      co_return error_code{};
    }
    if (ec) co_return ec;
    if (n < first_bytes_.size()) {
      // The socket had no more (and Asio queues the next read without a system call).
      input_ = first_bytes_.data();
      input_size_ = n;
      co_return error_code{};
    }
    // A burst: the rest now, without waiting, behind the first bytes in the thread's buffer.
    char* buffer = read_buffer();
    std::memcpy(buffer, first_bytes_.data(), n);
    error_code more;
    const std::size_t rest = socket_.read_some(asio::buffer(buffer + n, kReadBytes - n), more);
    if (more == asio::error::eof) eof_ = true;
    input_ = buffer;
    input_size_ = n + (more ? 0 : rest);
    co_return error_code{};
  }
  const auto what =
      step == Step::WantRead ? asio::ip::tcp::socket::wait_read : asio::ip::tcp::socket::wait_write;
  std::tie(ec) = co_await socket_.async_wait(what, kUseTuple);
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
    keep_unread();
    if (result == 1) co_return error_code{};
    error_code error;
    const Step step = classify(result, error);
    if (step == Step::Failed) co_return error;
    const error_code waited = co_await wait(step, true);
    if (waited) co_return waited;
  }
}

asio::awaitable<std::pair<error_code, std::size_t>> TlsSocket::read_some(char* data,
                                                                         std::size_t size) {
  if (records_) co_return co_await read_records(data, size);
  const int want = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
  for (;;) {
    if (!socket_.is_open()) co_return std::pair{error_code(asio::error::operation_aborted), 0};
    ERR_clear_error();
    const int n = SSL_read(ssl_, data, want);
    keep_unread();
    if (n > 0) co_return std::pair{error_code{}, static_cast<std::size_t>(n)};
    error_code error;
    const Step step = classify(n, error);
    if (step == Step::Failed) co_return std::pair{error, std::size_t{0}};
    const error_code waited = co_await wait(step, true);
    if (waited) co_return std::pair{waited, std::size_t{0}};
  }
}

asio::awaitable<error_code> TlsSocket::write(std::string_view bytes) {
  if (records_) co_return co_await write_records(bytes);
  std::size_t done = 0;
  while (done < bytes.size()) {
    if (!socket_.is_open() || ssl_ == nullptr) co_return asio::error::operation_aborted;
    const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size() - done, INT_MAX));
    ERR_clear_error();
    const int n = SSL_write(ssl_, bytes.data() + done, chunk);
    keep_unread();
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    error_code error;
    const Step step = classify(n, error);
    if (step == Step::Failed) co_return error;
    // Reading is the reader's: a write that wants to read only waits for readability.
    const error_code waited = co_await wait(step, false);
    if (waited) co_return waited;
  }
  co_return error_code{};
}

asio::awaitable<error_code> TlsSocket::shutdown() {
  if (records_) co_return co_await shutdown_records();
  // The first call sends our close_notify (and answers 0), the next ones wait for the peer's.
  for (int sent = 0; sent < 3;) {
    if (!socket_.is_open()) co_return asio::error::operation_aborted;
    ERR_clear_error();
    const int result = SSL_shutdown(ssl_);
    keep_unread();
    if (result == 1) co_return error_code{};
    if (result == 0) {
      ++sent;
      continue;
    }
    error_code error;
    const Step step = classify(result, error);
    if (step == Step::Failed) co_return error == asio::error::eof ? error_code{} : error;
    // The reader has stopped (the session's write loop shuts down): this reads for itself.
    const error_code waited = co_await wait(step, true);
    if (waited) co_return waited;
  }
  co_return error_code{};
}

// ---- Once compacted: TLS 1.3 records without OpenSSL's connection (Tls13Records). ----

error_code TlsSocket::fail_records(std::uint8_t alert, int reason) {
  // RFC 8446 §6.2: a fatal alert, then nothing more. It goes out only if no write has left half a
  // record on the socket, and only if the socket takes it now; the connection is ending anyway.
  if (!failed_ && !close_sent_ && unsent_.empty() && socket_.is_open()) {
    std::string record;
    if (records_->seal_alert(alert, record)) {
      [[maybe_unused]] const ssize_t sent = ::send(socket_.native_handle(), record.data(),
                                                   record.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }
  failed_ = true;
  input_size_ = 0;  // nothing after a bad record is read
  return ssl_error(reason);
}

asio::awaitable<std::pair<error_code, std::size_t>> TlsSocket::read_records(char* data,
                                                                            std::size_t size) {
  using R = Tls13Records;
  // One reader at a time (see wait()): a second one would free pending_ under the first.
  if (reading_) co_return std::pair{error_code(asio::error::operation_aborted), std::size_t{0}};
  reading_ = true;
  struct Done {
    bool& reading;
    ~Done() { reading = false; }
  } done{reading_};
  for (;;) {
    if (!socket_.is_open()) co_return std::pair{error_code(asio::error::operation_aborted), 0};
    if (failed_) {
      co_return std::pair{ssl_error(SSL_R_PROTOCOL_IS_SHUTDOWN), std::size_t{0}};
    }
    std::size_t produced = 0;
    if (!plain_.empty()) {
      produced = std::min(size, plain_.size());
      std::memcpy(data, plain_.data(), produced);
      plain_.erase(0, produced);
      if (plain_.empty()) std::string().swap(plain_);
    }
    error_code error;
    while (input_size_ > 0 && produced < size && !peer_closed_) {
      if (produced > 0 && input_size_ >= R::kHeaderBytes) {
        // A record whose content might not fit in what is left of `data` waits for the next call.
        const std::size_t length = R::record_length(input_);
        if (length > size - produced + R::kTagBytes + 1) break;
      }
      const R::Opened record = records_->open(input_, input_size_);
      if (record.status == R::Opened::Status::NeedMore) break;
      if (record.status == R::Opened::Status::Failed) {
        error = fail_records(record.alert, record.reason);
        break;
      }
      input_ += record.consumed;
      input_size_ -= record.consumed;
      if (record.type == R::kApplicationData) {
        const std::size_t n = std::min(record.size, size - produced);
        std::memcpy(data + produced, record.content, n);
        produced += n;
        if (n < record.size) plain_.assign(record.content + n, record.size - n);
      } else if (record.type == R::kAlert) {
        // RFC 8446 §6.1: close_notify ends the peer's data; user_canceled is followed by one.
        const auto description = static_cast<std::uint8_t>(record.content[1]);
        if (description == R::kCloseNotify) {
          peer_closed_ = true;
        } else if (description != R::kUserCanceled) {
          failed_ = true;  // §6.2: any other alert is fatal in TLS 1.3
          error = ssl_error(SSL_AD_REASON_OFFSET + description);
          break;
        }
      }
      // kHandshake: a KeyUpdate, applied by open() already.
    }
    keep_unread();
    if (error) co_return std::pair{error, std::size_t{0}};
    if (produced > 0) co_return std::pair{error_code{}, produced};
    if (peer_closed_) co_return std::pair{error_code(asio::error::eof), std::size_t{0}};
    if (eof_) {
      co_return std::pair{error_code(asio::ssl::error::stream_truncated), std::size_t{0}};
    }
    // More bytes are needed: after the part of a record already here (kept in pending_), if any.
    char* kept = input_;
    const std::size_t kept_size = input_size_;
    input_ = nullptr;
    input_size_ = 0;
    const error_code waited = co_await wait(Step::WantRead, true);
    if (waited || input_size_ == 0) {  // an error, or the peer closed TCP (eof_)
      // The part of a record already here stays for the next read.
      input_ = kept;
      input_size_ = kept_size;
      if (waited) co_return std::pair{waited, std::size_t{0}};
      continue;
    }
    if (kept_size > 0) {
      std::string merged;
      merged.reserve(kept_size + input_size_);
      merged.append(kept, kept_size).append(input_, input_size_);
      pending_.swap(merged);
      input_ = pending_.data();
      input_size_ = pending_.size();
    }
  }
}

bool TlsSocket::send_now(std::string_view& rest, error_code& error) {
  while (!rest.empty()) {
    if (!socket_.is_open()) {
      error = asio::error::operation_aborted;
      return false;
    }
    const ssize_t n = ::send(socket_.native_handle(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      rest.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    error = error_code(errno, boost::system::system_category());
    return false;
  }
  return true;
}

asio::awaitable<error_code> TlsSocket::send_unsent() {
  while (!unsent_.empty()) {
    std::string_view rest = unsent_;
    error_code error;
    // On a failure unsent_ keeps what did not go out: the socket may hold half a record, so no
    // alert may follow (fail_records()).
    if (!send_now(rest, error)) co_return error;
    if (rest.empty()) {
      std::string().swap(unsent_);
      break;
    }
    unsent_.erase(0, unsent_.size() - rest.size());
    error = co_await wait(Step::WantWrite, false);
    if (error) co_return error;
  }
  co_return error_code{};
}

asio::awaitable<error_code> TlsSocket::send_sealed(std::string_view sealed) {
  std::string_view rest = sealed;
  error_code error;
  if (!send_now(rest, error)) co_return error;
  if (rest.empty()) co_return error_code{};
  unsent_.assign(rest);  // `sealed` may be the thread's buffer, which others use meanwhile
  co_return co_await send_unsent();
}

const std::string* TlsSocket::seal_application_data(std::string_view bytes, error_code& error) {
  std::string& sealed = sealing_buffer();
  if (!records_->seal(Tls13Records::kApplicationData, bytes, sealed)) {
    failed_ = true;
    error = asio::error::no_memory;
    return nullptr;
  }
  return &sealed;
}

std::string& TlsSocket::sealing_buffer() {
  thread_local std::string sealed;
  sealed.clear();
  return sealed;
}

void TlsSocket::trim_sealing_buffer() {
  constexpr std::size_t kKeptCapacity = 256 * 1024;
  std::string& sealed = sealing_buffer();
  if (sealed.capacity() > kKeptCapacity) std::string().swap(sealed);
}

TlsSocket::TryWrite TlsSocket::try_write(std::string_view bytes, error_code& error) {
  if (!records_ || !unsent_.empty()) return TryWrite::Unable;
  if (failed_) {
    error = asio::error::broken_pipe;
    return TryWrite::Failed;
  }
  if (bytes.empty()) return TryWrite::Sent;
  const std::string* sealed = seal_application_data(bytes, error);
  if (sealed == nullptr) return TryWrite::Failed;
  std::string_view rest = *sealed;
  const bool sent = send_now(rest, error);
  if (!rest.empty()) unsent_.assign(rest);
  trim_sealing_buffer();
  if (!sent) return TryWrite::Failed;
  return unsent_.empty() ? TryWrite::Sent : TryWrite::Kept;
}

asio::awaitable<error_code> TlsSocket::write_records(std::string_view bytes) {
  if (failed_) co_return asio::error::broken_pipe;
  // What an earlier try_write() left goes first, before the thread's buffer is used for more.
  if (!unsent_.empty()) {
    const error_code sent = co_await send_unsent();
    if (sent) co_return sent;
  }
  if (bytes.empty()) co_return error_code{};
  // The whole write as records in one buffer of the thread, then one send(2) where OpenSSL makes
  // one per record.
  error_code error;
  const std::string* sealed = seal_application_data(bytes, error);
  if (sealed == nullptr) co_return error;
  error = co_await send_sealed(*sealed);
  trim_sealing_buffer();
  co_return error;
}

asio::awaitable<error_code> TlsSocket::shutdown_records() {
  if (failed_) co_return asio::error::broken_pipe;
  if (!unsent_.empty()) {  // what try_write() left goes before the close_notify
    const error_code sent = co_await send_unsent();
    if (sent) co_return sent;
  }
  // RFC 8446 §6.1: our close_notify, then the peer's (the reader has stopped: this reads).
  std::string record;
  if (!records_->seal_alert(Tls13Records::kCloseNotify, record)) {
    failed_ = true;
    co_return asio::error::no_memory;
  }
  close_sent_ = true;
  const error_code sent = co_await send_sealed(record);
  if (sent) co_return sent;
  std::array<char, 256> discarded{};
  for (;;) {
    const std::pair<error_code, std::size_t> read =
        co_await read_records(discarded.data(), discarded.size());
    if (read.first == asio::error::eof) co_return error_code{};
    if (read.first) co_return read.first;
  }
}

}  // namespace parley::core::tls
