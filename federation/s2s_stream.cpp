#include "federation/s2s_stream.hpp"

#include <openssl/ssl.h>
#include <spdlog/logger.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <utility>

#include "core/config.hpp"
#include "core/endpoint.hpp"
#include "core/jid.hpp"
#include "core/router.hpp"
#include "core/server_state.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::federation {
namespace {

namespace asio = boost::asio;
using boost::asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kStreamPrefix = "stream";
// Stanzas keep their meaning when they cross from a c2s stream: remap jabber:client.
const xml::WriteContext kWriteContext{xml::ns::kServer, kStreamPrefix, true};

xml::ParserOptions s2s_parser_options(const core::Config& config) {
  xml::ParserOptions options;
  // RFC 6120 §4.8.2: an s2s stream's content namespace is jabber:server.
  options.content_namespaces = {std::string(xml::ns::kServer)};
  options.limits.max_element_bytes = config.limits.max_stanza_bytes;
  return options;
}

}  // namespace

std::string loggable(std::string_view text) {
  constexpr std::size_t kMaxBytes = 200;
  std::string out;
  for (char c : text.substr(0, kMaxBytes)) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7f) ? '?' : c;
  }
  if (text.size() > kMaxBytes) out += "...";
  return out;
}

S2sStream::S2sStream(core::ServerState& server, tcp::socket socket, std::string kind,
                     std::uint64_t number)
    : server_(server),
      socket_(std::move(socket)),
      wake_writer_(socket_.get_executor(), asio::steady_timer::time_point::max()),
      flushed_(socket_.get_executor(), asio::steady_timer::time_point::max()),
      close_deadline_(socket_.get_executor()),
      number_(number),
      name_(kind + "#" + std::to_string(number)),
      parser_(s2s_parser_options(*server.config)),
      last_activity_(std::chrono::steady_clock::now()) {
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  if (!ec) peer_ = core::format_endpoint(remote);
}

S2sStream::~S2sStream() = default;

spdlog::logger& S2sStream::log() const { return *server_.log; }

ssl_st* S2sStream::ssl() const { return tls_ ? tls_->native_handle() : nullptr; }

void S2sStream::start_io() {
  auto self = shared_from_this();
  // A link's failure must never reach io_context::run(): log it and drop this connection only.
  auto on_done = [self](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      self->log().error("{} {}: internal error: {}", self->name_, self->peer_, e.what());
    }
    self->close_socket();
  };
  asio::co_spawn(
      socket_.get_executor(), [self] { return self->read_loop(); }, on_done);
  asio::co_spawn(
      socket_.get_executor(), [self] { return self->write_loop(); }, on_done);
}

asio::awaitable<void> S2sStream::read_loop() {
  const bool ready = co_await prelude();
  if (!ready) {
    close_socket();
    co_return;
  }
  for (;;) {
    if (tls_closing_ || state_ == State::Closed) co_return;
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_) {
      std::tie(ec, n) = co_await tls_->async_read_some(asio::buffer(read_buffer_), kUseTuple);
    } else {
      std::tie(ec, n) = co_await socket_.async_read_some(asio::buffer(read_buffer_), kUseTuple);
    }
    if (ec) {
      if (tls_closing_) co_return;
      if (state_ == State::AwaitingHeader || state_ == State::Open) {
        log().info("{} {}: connection lost: {}", name_, peer_,
                   ec == asio::error::eof ? std::string("closed without closing the stream")
                                          : ec.message());
      }
      break;
    }
    last_activity_ = std::chrono::steady_clock::now();
    if (state_ == State::Closing) {
      discarded_ += n;
      if (discarded_ > kMaxDiscardBytes) break;
      continue;
    }
    if (state_ == State::Closed) break;
    parser_.feed(std::string_view(read_buffer_.data(), n));
    co_await process_events();
  }
  read_done_ = true;
  if (state_ == State::Closed) co_return;
  if (write_done_) {
    close_socket();
  } else {
    begin_close();
  }
}

asio::awaitable<void> S2sStream::write_loop() {
  for (;;) {
    if (state_ == State::Closed) co_return;
    if (queued_.empty() || handshaking_) {
      flushed_.cancel();
      if (state_ == State::Closing && queued_.empty()) break;
      co_await wake_writer_.async_wait(kUseTuple);
      continue;
    }
    writing_.clear();
    std::swap(writing_, queued_);
    write_in_flight_ = true;
    boost::system::error_code ec;
    if (tls_) {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(*tls_, asio::buffer(writing_), kUseTuple);
    } else {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(socket_, asio::buffer(writing_), kUseTuple);
    }
    write_in_flight_ = false;
    writing_.clear();
    if (ec) {
      if (state_ != State::Closed) {
        log().info("{} {}: write failed: {}", name_, peer_, ec.message());
        close_socket();
      }
      co_return;
    }
    last_activity_ = std::chrono::steady_clock::now();
  }
  write_done_ = true;
  if (tls_ && !handshaking_ && state_ == State::Closing) {
    // RFC 8446 §6.1: close_notify, and wait (bounded by close_deadline_) for the peer's.
    tls_closing_ = true;
    boost::system::error_code cancelled;
    socket_.cancel(cancelled);
    auto [shutdown_ec] = co_await tls_->async_shutdown(kUseTuple);
    (void)shutdown_ec;
    close_socket();
    co_return;
  }
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  if (read_done_) close_socket();
}

asio::awaitable<void> S2sStream::flush() {
  while ((!queued_.empty() || write_in_flight_) && state_ != State::Closed) {
    flushed_.expires_at(asio::steady_timer::time_point::max());
    wake_writer_.cancel();
    co_await flushed_.async_wait(kUseTuple);
  }
}

asio::awaitable<bool> S2sStream::start_tls(asio::ssl::context& context, bool as_server,
                                           const std::function<void(ssl_st*)>& prepare,
                                           bool close_on_failure) {
  tls_ = std::make_unique<TlsStream>(socket_, context);
  if (prepare) prepare(tls_->native_handle());
  handshaking_ = true;
  auto [ec] = co_await tls_->async_handshake(
      as_server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client, kUseTuple);
  handshaking_ = false;
  if (ec) {
    log().info("{} {}: TLS handshake failed: {}", name_, peer_, ec.message());
    if (close_on_failure) {
      close_socket();
    } else {
      tls_.reset();
    }
    co_return false;
  }
  if (state_ == State::Closed) co_return false;
  log().info("{} {}: TLS established ({}, {})", name_, peer_,
             SSL_get_version(tls_->native_handle()), SSL_get_cipher_name(tls_->native_handle()));
  wake_writer_.cancel();
  co_return true;
}

asio::awaitable<void> S2sStream::process_events() {
  while (state_ == State::AwaitingHeader || state_ == State::Open) {
    xml::StreamParser::Event event = parser_.next();
    switch (event.type) {
      case xml::StreamParser::EventType::NeedMore:
        co_return;
      case xml::StreamParser::EventType::StreamOpened:
        state_ = State::Open;
        on_header(parser_.header());
        break;
      case xml::StreamParser::EventType::Element:
        co_await on_element(std::move(event.element));
        break;
      case xml::StreamParser::EventType::StreamClosed:
        log().info("{} {} closed the stream", name_, peer_);
        close_stream();
        co_return;
      case xml::StreamParser::EventType::Error:
        stream_error(event.error, event.error_text);
        co_return;
    }
  }
}

asio::awaitable<void> S2sStream::accept_stanza(
    xml::Document document,
    const std::function<bool(const std::string& from, const std::string& to)>& authorized) {
  xml::Element root = document.root();
  const auto from = core::Jid::parse(root.attr("from"));
  const auto to = core::Jid::parse(root.attr("to"));
  // RFC 6120 §4.9.3.7: both addresses are required between servers.
  if (!from || !to) {
    stream_error(xml::StreamError::ImproperAddressing, "a stanza without valid 'from' and 'to'");
    co_return;
  }
  const std::string from_domain(from->domain());
  const std::string to_domain(to->domain());
  if (server_.router->host(to_domain) == nullptr) {
    stream_error(xml::StreamError::HostUnknown, to_domain + " is not served here");
    co_return;
  }
  // RFC 6120 §4.9.3.9 / XEP-0220 §4.3: only domains this stream authenticated, for this target.
  if (!authorized(from_domain, to_domain)) {
    stream_error(xml::StreamError::InvalidFrom,
                 from_domain + " is not authenticated on this stream for " + to_domain);
    co_return;
  }
  // Stanzas are kept in jabber:client form inside the server (core/stanza.hpp).
  root.set_attr("xmlns", xml::ns::kClient);
  auto stanza = core::Stanza::make(std::move(document), *from, *to);
  co_await server_.router->route(std::move(stanza));
}

void S2sStream::restart() {
  parser_.reset();
  state_ = State::AwaitingHeader;
  header_sent_ = false;
}

void S2sStream::send_header(std::string_view from, std::string_view to, std::string_view id) {
  xml::StreamHeader header;
  header.prefix = kStreamPrefix;
  header.content_namespace = xml::ns::kServer;
  header.namespaces = {{"", std::string(xml::ns::kServer)},
                       {std::string(kStreamPrefix), std::string(xml::ns::kStream)},
                       {"db", std::string(xml::ns::kDialback)}};
  if (!from.empty()) header.set("from", from);
  if (!id.empty()) header.set("id", id);
  if (!to.empty()) header.set("to", to);
  header.set("version", "1.0");
  std::string out;
  xml::write_stream_header(out, header, /*xml_declaration=*/true);
  header_sent_ = true;
  send(out);
}

void S2sStream::stream_error(xml::StreamError condition, std::string_view reason) {
  if (state_ == State::Closing || state_ == State::Closed) return;
  if (handshaking_) {
    close_socket();
    return;
  }
  if (!header_sent_) send_header({}, {}, {});
  xml::Document error = xml::Document::create("error", xml::ns::kStream);
  error.root().append_child(xml::to_string(condition), xml::ns::kStreamErrors);
  if (!reason.empty()) {
    auto text = error.root().append_child("text", xml::ns::kStreamErrors);
    text.set_attr("xml:lang", "en");
    text.append_text(reason);
  }
  std::string out;
  xml::write_element(out, error.root(), kWriteContext);
  xml::StreamHeader ours;
  ours.prefix = kStreamPrefix;
  xml::write_stream_close(out, ours);
  log().info("{} stream error {} sent to {}: {}", name_, xml::to_string(condition), peer_,
             loggable(reason));
  send(out);
  begin_close();
}

void S2sStream::close_stream() {
  if (state_ == State::Closing || state_ == State::Closed) return;
  if (handshaking_) {
    close_socket();
    return;
  }
  if (!header_sent_) send_header({}, {}, {});
  std::string out;
  xml::StreamHeader ours;
  ours.prefix = kStreamPrefix;
  xml::write_stream_close(out, ours);
  send(out);
  begin_close();
}

void S2sStream::abort() { close_socket(); }

void S2sStream::send(xml::Element element) {
  std::string out;
  xml::write_element(out, element, kWriteContext);
  send(out);
}

void S2sStream::send_stanza(const core::Stanza& stanza) { send(stanza.root()); }

void S2sStream::send(std::string_view bytes) {
  if (state_ == State::Closed || write_done_) return;
  if (queued_.size() + writing_.size() + bytes.size() > kMaxQueuedBytes) {
    log().warn("{} {} does not read what we send; dropping the connection", name_, peer_);
    close_socket();
    return;
  }
  queued_ += bytes;
  wake_writer_.cancel();
}

void S2sStream::begin_close() {
  if (state_ == State::Closing || state_ == State::Closed) return;
  state_ = State::Closing;
  close_deadline_.expires_after(kCloseTimeout);
  close_deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->close_socket();
  });
  wake_writer_.cancel();
}

void S2sStream::close_socket() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  wake_writer_.cancel();
  flushed_.cancel();
  close_deadline_.cancel();
  queued_.clear();
  log().info("{} connection to {} closed", name_, peer_.empty() ? "(not connected)" : peer_);
  if (!closed_notified_) {
    closed_notified_ = true;
    on_closed();
  }
}

}  // namespace parley::federation
