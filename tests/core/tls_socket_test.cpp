// TlsSocket as a server over a real loopback connection, with OpenSSL's client (blocking, on its
// own thread) at the other end: after compact() the records are Tls13Records', and everything a
// client can do (KeyUpdate, long writes, a slow reader, close_notify, a bare TCP close, a forged
// record) still works or fails as it should. A TLS 1.2 client keeps OpenSSL.
#include "core/tls/tls_socket.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/core/tls_test_peer.hpp"

namespace parley::testing {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using core::tls::TlsSocket;
using namespace std::chrono_literals;

std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>('A' + (i * 7) % 53);
  return out;
}

class TlsSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ctx_ = make_server_context();
    TlsSocket::prepare_context(server_ctx_.get());
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    client_socket_.connect(acceptor_.local_endpoint());
    acceptor_.accept(server_socket_);
  }

  // The server's TLS: a compactable socket, the handshake, compact(). False when the handshake
  // failed (handshake_error_).
  asio::awaitable<bool> accept_tls() {
    tls_ = std::make_unique<TlsSocket>(server_socket_, server_ctx_.get(), TlsSocket::Role::Server,
                                       true);
    handshake_error_ = co_await tls_->handshake();
    if (handshake_error_) co_return false;
    compacted_ = tls_->compact();
    co_return true;
  }

  // The server's side: handshake, compact, then echo what it reads (`read_size` at a time) until
  // an error, which it keeps.
  asio::awaitable<void> echo(std::size_t read_size) {
    const bool established = co_await accept_tls();
    if (!established) co_return;
    std::vector<char> buffer(read_size);
    for (;;) {
      const std::pair<error_code, std::size_t> read =
          co_await tls_->read_some(buffer.data(), buffer.size());
      if (read.first) {
        read_error_ = read.first;
        co_return;
      }
      const std::string copy(buffer.data(), read.second);
      const error_code written = co_await tls_->write(copy);
      if (written) {
        write_error_ = written;
        co_return;
      }
    }
  }

  // The server writes `size` bytes in one write(), then shuts down.
  asio::awaitable<void> write_then_shutdown(std::size_t size) {
    const bool established = co_await accept_tls();
    if (!established) co_return;
    const std::string bytes = pattern(size);
    write_error_ = co_await tls_->write(bytes);
    shutdown_error_ = co_await tls_->shutdown();
  }

  // The server tries a write without waiting, of `size` bytes (try_result_), then finishes with
  // write() of `then` (which must send what the try kept first) and shuts down.
  asio::awaitable<void> try_write_then(std::size_t size, std::string then) {
    const bool established = co_await accept_tls();
    if (!established) co_return;
    const std::string bytes = pattern(size);
    error_code tried;
    try_result_ = tls_->try_write(bytes, tried);
    try_error_ = tried;
    kept_after_try_ = tls_->has_unsent();
    if (!then.empty() || kept_after_try_) write_error_ = co_await tls_->write(then);
    shutdown_error_ = co_await tls_->shutdown();
  }

  // try_write() of `size` bytes, then shutdown() at once: the close_notify must follow the rest.
  asio::awaitable<void> try_write_then_shutdown(std::size_t size) {
    const bool established = co_await accept_tls();
    if (!established) co_return;
    const std::string bytes = pattern(size);
    error_code tried;
    try_result_ = tls_->try_write(bytes, tried);
    kept_after_try_ = tls_->has_unsent();
    shutdown_error_ = co_await tls_->shutdown();
  }

  // A session's write loop shuts TLS down (which reads) after cancelling its reader; a read that
  // had completed before the cancel still resumes inside TlsSocket. The second reader must give
  // way instead of sharing the buffers (under ASan this would be a use after free).
  asio::awaitable<void> first_reader(std::vector<char>& buffer, bool& done) {
    const std::pair<error_code, std::size_t> read =
        co_await tls_->read_some(buffer.data(), buffer.size());
    read_error_ = read.first;
    done = true;
  }
  asio::awaitable<void> read_while_shutting_down() {
    const bool established = co_await accept_tls();
    if (!established) co_return;
    std::vector<char> buffer(16384);
    bool first_done = false;
    asio::co_spawn(io_, first_reader(buffer, first_done), asio::detached);
    co_await asio::post(io_, asio::use_awaitable);  // the reader is waiting for the socket now
    shutdown_error_ = co_await tls_->shutdown();    // sends close_notify, then may not read
    server_socket_.close();
    while (!first_done) co_await asio::post(io_, asio::use_awaitable);
  }

  // Runs `server` on the test's thread and `client` on another, until both have finished.
  template <typename Client>
  void run(asio::awaitable<void> server, Client client) {
    bool done = false;
    std::exception_ptr failure;
    asio::co_spawn(io_, std::move(server), [&](std::exception_ptr e) {
      done = true;
      failure = e;
    });
    std::thread thread(client);
    io_.run_for(30s);
    thread.join();
    ASSERT_TRUE(done) << "the server did not finish";
    if (failure) std::rethrow_exception(failure);
  }

  // The client's connection (blocking), with `suites` / `max_version` as make_client_context.
  SslPtr connect(const std::string& suites = "", int max_version = 0) {
    client_ctx_ = make_client_context(suites, max_version);
    SslPtr ssl(SSL_new(client_ctx_.get()));
    SSL_set_fd(ssl.get(), client_socket_.native_handle());
    EXPECT_EQ(SSL_connect(ssl.get()), 1);
    return ssl;
  }

  // A client read that gets nothing for 10 s fails instead of waiting for ever (a server that
  // broke the stream may never send what the client waits for).
  void limit_client_reads() {
    const timeval limit{10, 0};
    ASSERT_EQ(
        setsockopt(client_socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit),
        0);
  }

  static void write_all(SSL* ssl, const std::string& bytes) {
    EXPECT_EQ(SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  static std::string read_exactly(SSL* ssl, std::size_t size) {
    std::string out;
    std::vector<char> buffer(16384);
    while (out.size() < size) {
      const int n = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()));
      if (n <= 0) break;
      out.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return out;
  }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  tcp::socket server_socket_{io_};
  asio::io_context client_io_;
  tcp::socket client_socket_{client_io_};
  SslCtxPtr server_ctx_;
  SslCtxPtr client_ctx_;
  std::unique_ptr<TlsSocket> tls_;
  error_code handshake_error_;
  error_code read_error_;
  error_code write_error_;
  error_code shutdown_error_;
  bool compacted_ = false;
  TlsSocket::TryWrite try_result_ = TlsSocket::TryWrite::Failed;
  error_code try_error_;
  bool kept_after_try_ = false;
};

class TlsSocketSuiteTest : public TlsSocketTest,
                           public ::testing::WithParamInterface<const char*> {};

TEST_P(TlsSocketSuiteTest, EchoesThroughKeyUpdatesAndLongWritesAfterCompacting) {
  run(echo(16384), [&] {
    SslPtr ssl = connect(GetParam());
    write_all(ssl.get(), "<stream:stream>");
    EXPECT_EQ(read_exactly(ssl.get(), 15), "<stream:stream>");
    // RFC 8446 §4.6.3: the server must answer with its own KeyUpdate before its next data.
    ASSERT_EQ(SSL_key_update(ssl.get(), SSL_KEY_UPDATE_REQUESTED), 1);
    write_all(ssl.get(), "<presence/>");
    EXPECT_EQ(read_exactly(ssl.get(), 11), "<presence/>");
    ASSERT_EQ(SSL_key_update(ssl.get(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    const std::string long_text = pattern(100000);
    write_all(ssl.get(), long_text);
    EXPECT_EQ(read_exactly(ssl.get(), long_text.size()), long_text);
    EXPECT_EQ(SSL_shutdown(ssl.get()), 0);  // our close_notify
  });
  EXPECT_FALSE(handshake_error_) << handshake_error_.message();
  EXPECT_TRUE(compacted_);
  EXPECT_EQ(tls_->native_handle(), nullptr);
  EXPECT_EQ(read_error_, asio::error::eof) << read_error_.message();
  EXPECT_FALSE(write_error_) << write_error_.message();
}

INSTANTIATE_TEST_SUITE_P(Suites, TlsSocketSuiteTest,
                         ::testing::Values("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"));

TEST_F(TlsSocketTest, AWriteLargerThanTheSocketTakesWaitsForTheSlowReader) {
  constexpr std::size_t kSize = 8 * 1024 * 1024;
  run(write_then_shutdown(kSize), [&] {
    SslPtr ssl = connect();
    std::this_thread::sleep_for(200ms);  // the server's send(2) fills the socket meanwhile
    EXPECT_EQ(read_exactly(ssl.get(), kSize), pattern(kSize));
    char byte = 0;
    EXPECT_EQ(SSL_read(ssl.get(), &byte, 1), 0);  // the server's close_notify
    EXPECT_EQ(SSL_get_error(ssl.get(), 0), SSL_ERROR_ZERO_RETURN);
    EXPECT_EQ(SSL_shutdown(ssl.get()), 1);  // ours, which the server's shutdown() waits for
  });
  EXPECT_TRUE(compacted_);
  EXPECT_FALSE(write_error_) << write_error_.message();
  EXPECT_FALSE(shutdown_error_) << shutdown_error_.message();
}

TEST_F(TlsSocketTest, TryWriteSendsWhatTheSocketTakesAtOnce) {
  run(try_write_then(200, ""), [&] {
    SslPtr ssl = connect();
    EXPECT_EQ(read_exactly(ssl.get(), 200), pattern(200));
    char byte = 0;
    EXPECT_EQ(SSL_read(ssl.get(), &byte, 1), 0);  // the close_notify, right after
    EXPECT_EQ(SSL_shutdown(ssl.get()), 1);
  });
  EXPECT_TRUE(compacted_);
  EXPECT_EQ(try_result_, TlsSocket::TryWrite::Sent);
  EXPECT_FALSE(try_error_) << try_error_.message();
  EXPECT_FALSE(kept_after_try_);
  EXPECT_FALSE(shutdown_error_) << shutdown_error_.message();
}

TEST_F(TlsSocketTest, WhatTryWriteKeepsGoesOutBeforeTheNextWrite) {
  constexpr std::size_t kSize = 8 * 1024 * 1024;  // more than the socket takes at once
  run(try_write_then(kSize, "<after/>"), [&] {
    SslPtr ssl = connect();
    limit_client_reads();
    std::this_thread::sleep_for(200ms);  // the server's try fills the socket meanwhile
    const std::string received = read_exactly(ssl.get(), kSize + 8);
    // Not EXPECT_EQ: a failure would print 8 MiB.
    EXPECT_TRUE(received == pattern(kSize) + "<after/>")
        << received.size() << " bytes, ending "
        << received.substr(received.size() > 16 ? received.size() - 16 : 0);
    char byte = 0;
    EXPECT_EQ(SSL_read(ssl.get(), &byte, 1), 0);
    EXPECT_EQ(SSL_shutdown(ssl.get()), 1);
  });
  EXPECT_TRUE(compacted_);
  EXPECT_EQ(try_result_, TlsSocket::TryWrite::Kept);
  EXPECT_TRUE(kept_after_try_);
  EXPECT_FALSE(write_error_) << write_error_.message();
  EXPECT_FALSE(shutdown_error_) << shutdown_error_.message();
  EXPECT_FALSE(tls_->has_unsent());
}

TEST_F(TlsSocketTest, WhatTryWriteKeepsGoesOutBeforeTheCloseNotify) {
  constexpr std::size_t kSize = 8 * 1024 * 1024;
  run(try_write_then_shutdown(kSize), [&] {
    SslPtr ssl = connect();
    limit_client_reads();
    std::this_thread::sleep_for(200ms);
    const std::string received = read_exactly(ssl.get(), kSize);
    EXPECT_TRUE(received == pattern(kSize)) << received.size() << " bytes";
    char byte = 0;
    EXPECT_EQ(SSL_read(ssl.get(), &byte, 1), 0);  // then the close_notify
    EXPECT_EQ(SSL_get_error(ssl.get(), 0), SSL_ERROR_ZERO_RETURN);
    EXPECT_EQ(SSL_shutdown(ssl.get()), 1);
  });
  EXPECT_EQ(try_result_, TlsSocket::TryWrite::Kept);
  EXPECT_TRUE(kept_after_try_);
  EXPECT_FALSE(shutdown_error_) << shutdown_error_.message();
}

TEST_F(TlsSocketTest, TryWriteLeavesOpenSslConnectionsToWrite) {
  run(try_write_then(15, "<stream:stream>"), [&] {
    SslPtr ssl = connect("", TLS1_2_VERSION);
    EXPECT_EQ(read_exactly(ssl.get(), 15), "<stream:stream>");  // write()'s, not the try's
    SSL_shutdown(ssl.get());
  });
  EXPECT_FALSE(compacted_);
  EXPECT_EQ(try_result_, TlsSocket::TryWrite::Unable);
  EXPECT_FALSE(kept_after_try_);
  EXPECT_FALSE(write_error_) << write_error_.message();
}

TEST_F(TlsSocketTest, ReadsSmallerThanARecordGetTheRestNextTime) {
  run(echo(3), [&] {
    SslPtr ssl = connect();
    write_all(ssl.get(), "<message>0123456789</message>");
    EXPECT_EQ(read_exactly(ssl.get(), 29), "<message>0123456789</message>");
    SSL_shutdown(ssl.get());
  });
  EXPECT_TRUE(compacted_);
  EXPECT_EQ(read_error_, asio::error::eof) << read_error_.message();
}

TEST_F(TlsSocketTest, AConnectionEndingWithoutCloseNotifyIsTruncated) {
  run(echo(16384), [&] {
    SslPtr ssl = connect();
    write_all(ssl.get(), "x");
    EXPECT_EQ(read_exactly(ssl.get(), 1), "x");
    client_socket_.close();
  });
  EXPECT_TRUE(compacted_);
  EXPECT_EQ(read_error_, asio::ssl::error::stream_truncated) << read_error_.message();
}

TEST_F(TlsSocketTest, AForgedRecordEndsTheConnectionWithBadRecordMac) {
  run(echo(16384), [&] {
    SslPtr ssl = connect();
    write_all(ssl.get(), "x");
    EXPECT_EQ(read_exactly(ssl.get(), 1), "x");
    // An application_data record of 32 bytes that nobody sealed.
    std::string forged("\x17\x03\x03\x00\x20", 5);
    forged += std::string(32, '\x5a');
    ASSERT_EQ(::send(client_socket_.native_handle(), forged.data(), forged.size(), 0),
              static_cast<ssize_t>(forged.size()));
    char byte = 0;
    EXPECT_LE(SSL_read(ssl.get(), &byte, 1), 0);
    // RFC 8446 §5.2: the server sent bad_record_mac (20) before closing.
    EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_AD_REASON_OFFSET + 20);
    ERR_clear_error();
  });
  EXPECT_TRUE(compacted_);
  EXPECT_NE(read_error_.message().find("bad record mac"), std::string::npos)
      << read_error_.message();
}

TEST_F(TlsSocketTest, ASecondReaderGivesWayToTheFirst) {
  run(read_while_shutting_down(), [&] {
    SslPtr ssl = connect();
    char byte = 0;
    EXPECT_EQ(SSL_read(ssl.get(), &byte, 1), 0);  // our close_notify arrived
    EXPECT_EQ(SSL_get_error(ssl.get(), 0), SSL_ERROR_ZERO_RETURN);
  });
  EXPECT_TRUE(compacted_);
  EXPECT_EQ(shutdown_error_, asio::error::operation_aborted) << shutdown_error_.message();
  EXPECT_EQ(read_error_, asio::error::operation_aborted) << read_error_.message();
}

TEST_F(TlsSocketTest, ATls12ClientKeepsOpenSsl) {
  run(echo(16384), [&] {
    SslPtr ssl = connect("", TLS1_2_VERSION);
    write_all(ssl.get(), "<stream:stream>");
    EXPECT_EQ(read_exactly(ssl.get(), 15), "<stream:stream>");
    SSL_shutdown(ssl.get());
  });
  EXPECT_FALSE(compacted_);
  EXPECT_NE(tls_->native_handle(), nullptr);
  EXPECT_EQ(read_error_, asio::error::eof) << read_error_.message();
}

}  // namespace
}  // namespace parley::testing
