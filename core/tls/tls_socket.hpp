// TLS over a non-blocking TCP socket, for connections that mostly sit idle. asio::ssl::stream keeps
// two 17 KiB buffers per connection and a BIO pair of as much again (about 68 KiB for every idle
// client); here OpenSSL's own record buffers are all there is, and SSL_MODE_RELEASE_BUFFERS (set
// on the contexts) frees them while nothing is in flight.
//
// OpenSSL reads and writes through a small BIO of ours. Reads: when OpenSSL wants bytes, the
// socket's async_read_some() reads into a 512-byte buffer of the connection; a burst that fills it
// is read on, at once, into a 16 KiB buffer shared by the thread's connections. OpenSSL then drains
// what was read (with read-ahead, into its own record buffer at once; anything it leaves is kept
// here). Asio's reads are speculative, and a read that found the socket drained queues the next
// one without a system call until the next readiness edge, where waiting for readability
// (async_wait) costs an epoll_ctl every time and then a read that finds nothing. Writes: send(2)
// with MSG_NOSIGNAL, and async_wait for writability when the socket's buffer is full. Once
// compacted, try_write() sends without a coroutine and keeps what the socket did not take for the
// next write().
//
// One reader and one writer may be under way at once (the session's read and write loops): a
// write that needs to read (renegotiation) waits for readability and leaves the reading to the
// reader; OpenSSL permits interleaving SSL_read and SSL_write on one thread. Closing or
// cancelling the socket ends every wait with operation_aborted.
//
// After the handshake a server connection may drop OpenSSL (compact()): with TLS 1.3 and one of
// its three default suites, Tls13Records seals and opens the records from the traffic secrets,
// and the ~13.9 KiB OpenSSL keeps per connection is freed. Reads then decrypt in place in the
// buffers above; a write is sealed whole into one buffer per thread and sent with one send(2).
//
// Thread-safety: none; every call on the socket's executor.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

struct ssl_st;         // OpenSSL's SSL
struct ssl_ctx_st;     // OpenSSL's SSL_CTX
struct bio_st;         // OpenSSL's BIO
struct bio_method_st;  // OpenSSL's BIO_METHOD

namespace parley::core::tls {

class Tls13Records;

class TlsSocket {
 public:
  enum class Role { Server, Client };

  // Puts `socket` in non-blocking mode and makes a TLS connection over it from `context`.
  // Throws std::runtime_error when OpenSSL cannot allocate one. `socket` must outlive this.
  // Bytes read from the socket before TLS starts belong to the TLS stream: none may be pending.
  // `compactable` (servers only): keep what compact() needs from the handshake; `context`, and
  // every context SNI may switch to, must have been through prepare_context().
  TlsSocket(boost::asio::ip::tcp::socket& socket, ssl_ctx_st* context, Role role,
            bool compactable = false);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  // Lets connections made from `context` learn their traffic secrets (OpenSSL's key log
  // callback; it keeps them only for a compactable TlsSocket and writes them nowhere).
  static void prepare_context(ssl_ctx_st* context);

  // OpenSSL's connection; nullptr once compact() has succeeded.
  ssl_st* native_handle() const { return ssl_; }

  // After a successful handshake(): frees OpenSSL's connection and carries on with Tls13Records,
  // when the socket is compactable, the connection is TLS 1.3 with a suite Tls13Records knows,
  // and OpenSSL holds nothing unread or unsent. Whatever OpenSSL's state was needed for (channel
  // bindings, the version and cipher for the log) must have been taken before. Returns whether it
  // did; otherwise OpenSSL stays, and everything works as before.
  bool compact();
  bool compacted() const { return records_ != nullptr; }

  // The TLS handshake. Errors: asio::error::eof (the peer closed), OpenSSL's (ssl category), the
  // socket's.
  boost::asio::awaitable<boost::system::error_code> handshake();
  // At least one byte of application data into [data, data + size), unless an error: eof after
  // the peer's close_notify, asio::ssl::error::stream_truncated when the connection ended without
  // one, operation_aborted when the socket was closed or cancelled.
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some(
      char* data, std::size_t size);
  // All of `bytes`, which must stay valid and unchanged until this completes. First, whatever an
  // earlier try_write() kept (so write({}) just finishes that).
  boost::asio::awaitable<boost::system::error_code> write(std::string_view bytes);
  // Writes `bytes` without waiting, once compacted: seals them and sends what the socket takes
  // now. Sent: all of it went. Kept: the socket took part; the rest is kept here, and a write()
  // (of more bytes, or none) must follow to send it. Unable: not compacted, or bytes kept from an
  // earlier try are still unsent; nothing was done (use write()). Failed: `error` says why.
  // Not while a write() is under way.
  enum class TryWrite { Sent, Kept, Unable, Failed };
  TryWrite try_write(std::string_view bytes, boost::system::error_code& error);
  bool has_unsent() const { return !unsent_.empty(); }
  // Sends close_notify and waits for the peer's (RFC 8446 §6.1); bound it by closing the socket.
  boost::asio::awaitable<boost::system::error_code> shutdown();

 private:
  enum class Step { Done, WantRead, WantWrite, Failed };
  // What OpenSSL's answer `result` to a call means; sets `error` when Failed.
  Step classify(int result, boost::system::error_code& error);
  // WantRead: reads from the socket for OpenSSL (`reading`) or waits until the reader has
  // (`!reading`, a writer); WantWrite: waits until the socket takes more.
  boost::asio::awaitable<boost::system::error_code> wait(Step step, bool reading);
  // After each OpenSSL call: what it left of the thread's read buffer is copied to pending_, so
  // that the buffer can serve the thread's other connections.
  void keep_unread();

  // The same three operations once compacted (records_).
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_records(
      char* data, std::size_t size);
  boost::asio::awaitable<boost::system::error_code> write_records(std::string_view bytes);
  boost::asio::awaitable<boost::system::error_code> shutdown_records();
  // Sends `sealed` (and waits for writability as needed): the bytes not sent at once are kept in
  // unsent_ meanwhile, so that `sealed` may be the thread's buffer. unsent_ must be empty.
  boost::asio::awaitable<boost::system::error_code> send_sealed(std::string_view sealed);
  // Sends unsent_, waiting for writability as needed; empties it once all went.
  boost::asio::awaitable<boost::system::error_code> send_unsent();
  // Sends as much of `rest` as the socket takes now, and drops that from `rest`. False (and
  // `error`) on a failure.
  bool send_now(std::string_view& rest, boost::system::error_code& error);
  // `bytes` as application-data records in the thread's sealing buffer, valid until the next
  // await; nullptr (and `error`) when sealing failed, after which nothing more goes out.
  const std::string* seal_application_data(std::string_view bytes,
                                           boost::system::error_code& error);
  // The thread's buffer that writes are sealed into (emptied), and its trim after a large write.
  static std::string& sealing_buffer();
  static void trim_sealing_buffer();
  // A fatal alert, if the stream is at a record boundary and the socket takes it now; then the
  // error for `reason` (OpenSSL's SSL_R_*).
  boost::system::error_code fail_records(std::uint8_t alert, int reason);

  // OpenSSL's key log callback: keeps the application traffic secrets (secrets_).
  static void on_keylog(const ssl_st* ssl, const char* line);
  static int ex_index();

  // The BIO type of every TlsSocket, and its callbacks (the BIO's data is the TlsSocket).
  static bio_method_st* bio_method();
  static int bio_read(bio_st* bio, char* out, int size);
  static int bio_write(bio_st* bio, const char* in, int size);
  static long bio_ctrl(bio_st* bio, int command, long number, void* pointer);

  boost::asio::ip::tcp::socket& socket_;
  ssl_st* ssl_ = nullptr;
  // Read from the socket, not yet taken by OpenSSL: [input_, input_ + input_size_), which is the
  // thread's read buffer during an OpenSSL call and pending_ (usually empty) otherwise.
  char* input_ = nullptr;
  std::size_t input_size_ = 0;
  std::string pending_;
  // Where each read from the socket starts (see wait()); small, as every connection has one.
  std::array<char, 512> first_bytes_{};
  bool eof_ = false;  // the peer closed TCP

  // compactable: the secrets, while the handshake is under way.
  struct HandshakeSecrets;
  std::unique_ptr<HandshakeSecrets> secrets_;
  // compacted: the record layer, what a write could not send yet, decrypted bytes a small read
  // could not take, whether the peer's close_notify came.
  std::unique_ptr<Tls13Records> records_;
  std::string unsent_;
  std::string plain_;
  bool peer_closed_ = false;
  bool failed_ = false;          // a fatal alert was sent, or sealing failed: nothing more goes out
  bool close_sent_ = false;      // our close_notify went out: no alert may follow it (§6.1)
  bool reading_ = false;         // read_records is under way (it may hold a pointer into pending_)
  bool read_in_flight_ = false;  // wait() has a read of the socket outstanding
};

}  // namespace parley::core::tls
