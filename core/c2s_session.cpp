#include "core/c2s_session.hpp"

#include <spdlog/logger.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <optional>
#include <utility>

#include "core/endpoint.hpp"
#include "xml/element.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::core {
namespace {

namespace asio = boost::asio;
using boost::asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// What we send: the stream namespace under the prefix "stream", jabber:client as default.
constexpr std::string_view kStreamPrefix = "stream";
const xml::WriteContext kWriteContext{xml::ns::kClient, kStreamPrefix, false};

xml::ParserOptions c2s_parser_options() {
  xml::ParserOptions options;
  // RFC 6120 §4.8.2: a c2s stream's content namespace is jabber:client.
  options.content_namespaces = {std::string(xml::ns::kClient)};
  return options;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The major number of a version attribute "MAJOR.MINOR" (RFC 6120 §4.7.5); nullopt when malformed.
std::optional<unsigned> major_version(std::string_view version) {
  const auto dot = version.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == version.size()) return std::nullopt;
  unsigned major = 0;
  for (std::size_t i = 0; i < version.size(); ++i) {
    if (i == dot) continue;
    if (version[i] < '0' || version[i] > '9') return std::nullopt;
    if (i < dot) {
      if (major > 1000) return std::nullopt;
      major = major * 10 + static_cast<unsigned>(version[i] - '0');
    }
  }
  return major;
}

// Peer-supplied text for a log line: control characters would let a peer forge log lines, and a
// megabyte of attribute value has no place in a log.
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

}  // namespace

C2sSession::C2sSession(tcp::socket socket, const C2sContext& context, std::uint64_t number)
    : socket_(std::move(socket)),
      wake_writer_(socket_.get_executor(), asio::steady_timer::time_point::max()),
      close_deadline_(socket_.get_executor()),
      context_(context),
      number_(number),
      parser_(c2s_parser_options()) {
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  peer_ = ec ? std::string("unknown peer") : format_endpoint(remote);
}

void C2sSession::start() {
  auto self = shared_from_this();
  // A session's failure must never reach io_context::run(): log it and drop this connection only.
  auto on_done = [self](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      self->context_.log->error("c2s#{} {}: internal error: {}", self->number_, self->peer_,
                                e.what());
    }
    self->close_socket();
  };
  asio::co_spawn(
      socket_.get_executor(), [self] { return self->read_loop(); }, on_done);
  asio::co_spawn(
      socket_.get_executor(), [self] { return self->write_loop(); }, on_done);
}

asio::awaitable<void> C2sSession::read_loop() {
  for (;;) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(read_buffer_), kUseTuple);
    if (ec) {
      if (state_ == State::AwaitingHeader || state_ == State::Open) {
        if (ec == asio::error::eof) {
          context_.log->info("c2s#{} {} closed the connection without closing the stream", number_,
                             peer_);
        } else {
          context_.log->info("c2s#{} {}: connection lost: {}", number_, peer_, ec.message());
        }
      }
      break;
    }
    if (state_ == State::Closing) {
      // Our stream is closed; we only wait for the peer's FIN. Don't parse, don't hoard.
      discarded_ += n;
      if (discarded_ > kMaxDiscardBytes) break;
      continue;
    }
    if (state_ == State::Closed) break;
    parser_.feed(std::string_view(read_buffer_.data(), n));
    process_events();
  }
  read_done_ = true;
  if (state_ == State::Closed) co_return;
  if (write_done_) {
    close_socket();
  } else {
    begin_close();  // write_loop flushes what is queued, then closes
  }
}

asio::awaitable<void> C2sSession::write_loop() {
  for (;;) {
    if (state_ == State::Closed) co_return;
    if (queued_.empty()) {
      if (state_ == State::Closing) break;
      co_await wake_writer_.async_wait(kUseTuple);  // cancelled by send() and begin_close()
      continue;
    }
    writing_.clear();
    std::swap(writing_, queued_);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing_), kUseTuple);
    writing_.clear();
    if (ec) {
      if (state_ != State::Closed) {
        context_.log->info("c2s#{} {}: write failed: {}", number_, peer_, ec.message());
        close_socket();
      }
      co_return;
    }
  }
  write_done_ = true;
  // RFC 6120 §4.4: we have closed our stream; half-close TCP so the peer sees the end, and keep
  // reading (read_loop) until it closes its side or close_deadline_ expires.
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  if (read_done_) close_socket();
}

void C2sSession::process_events() {
  while (state_ == State::AwaitingHeader || state_ == State::Open) {
    xml::StreamParser::Event event = parser_.next();
    switch (event.type) {
      case xml::StreamParser::EventType::NeedMore:
        return;
      case xml::StreamParser::EventType::StreamOpened:
        on_stream_opened();
        break;
      case xml::StreamParser::EventType::Element:
        // Stanza handling comes with later issues; until then top-level elements are dropped.
        context_.log->debug("c2s#{} {}: ignoring <{}/>", number_, peer_,
                            event.element.root().name());
        break;
      case xml::StreamParser::EventType::StreamClosed: {
        // RFC 6120 §4.4: answer the peer's closing tag with ours, then close.
        context_.log->info("c2s#{} {} closed the stream", number_, peer_);
        if (!header_sent_) send_stream_header({});
        std::string out;
        xml::StreamHeader ours;
        ours.prefix = kStreamPrefix;
        xml::write_stream_close(out, ours);
        send(std::move(out));
        begin_close();
        return;
      }
      case xml::StreamParser::EventType::Error:
        stream_error(event.error, event.error_text);
        return;
    }
  }
}

void C2sSession::on_stream_opened() {
  const xml::StreamHeader& header = parser_.header();
  state_ = State::Open;
  const std::string_view to = header.attr("to");
  context_.log->info("c2s#{} {} opened a stream to '{}'", number_, peer_, loggable(to));

  // RFC 6120 §4.7.2: the response's 'to' is the initiating entity's 'from', when it gave one.
  send_stream_header(header.attr("from"));

  // The parser enforces the namespaces already (ParserOptions); checked again here because a
  // session must not rely on its parser's configuration for what it promises on the wire.
  if (header.namespace_of(header.prefix) != xml::ns::kStream) {
    stream_error(xml::StreamError::InvalidNamespace,
                 "the stream element is not in the stream namespace");
    return;
  }
  // "" is prefix-free canonicalisation (RFC 6120 §4.8.2): every stanza declares its namespace.
  if (!header.content_namespace.empty() && header.content_namespace != xml::ns::kClient) {
    stream_error(xml::StreamError::InvalidNamespace, "the content namespace is not jabber:client");
    return;
  }
  // RFC 6120 §4.7.5: no version means 0.9, which has no stream features (and so no TLS or SASL).
  const auto major = major_version(header.attr("version"));
  if (!major || *major < 1) {
    stream_error(xml::StreamError::UnsupportedVersion, "version 1.0 or later is required");
    return;
  }
  // RFC 6120 §4.9.3.6: a 'to' we do not serve. (An absent 'to' means the default domain.)
  if (!to.empty() && !iequals_ascii(to, context_.domain)) {
    stream_error(xml::StreamError::HostUnknown, "this server serves " + context_.domain);
    return;
  }

  // RFC 6120 §4.3.2: features follow the response header (empty until TLS/SASL exist).
  const xml::Document features = xml::Document::create("features", xml::ns::kStream);
  std::string out;
  xml::write_element(out, features.root(), kWriteContext);
  send(std::move(out));
}

void C2sSession::send_stream_header(std::string_view to) {
  // RFC 6120 §4.7: from, id, to, version, xml:lang; §4.8: namespace declarations.
  xml::StreamHeader header;
  header.prefix = kStreamPrefix;
  header.content_namespace = xml::ns::kClient;
  header.namespaces = {{"", std::string(xml::ns::kClient)},
                       {std::string(kStreamPrefix), std::string(xml::ns::kStream)}};
  header.set("from", context_.domain);
  header.set("id", context_.make_stream_id());
  if (!to.empty()) header.set("to", to);
  header.set("version", "1.0");
  header.set("xml:lang", "en");
  std::string out;
  xml::write_stream_header(out, header, /*xml_declaration=*/true);
  header_sent_ = true;
  send(std::move(out));
}

void C2sSession::stream_error(xml::StreamError condition, std::string_view reason) {
  if (state_ == State::Closing || state_ == State::Closed) return;
  // RFC 6120 §4.9.1.2: even an error before the peer's header goes after a header of ours.
  if (!header_sent_) send_stream_header({});
  // RFC 6120 §4.9.1.1: <stream:error/>, then the closing tag, then close.
  xml::Document error = xml::Document::create("error", xml::ns::kStream);
  error.root().append_child(xml::to_string(condition), xml::ns::kStreamErrors);
  std::string out;
  xml::write_element(out, error.root(), kWriteContext);
  xml::StreamHeader ours;
  ours.prefix = kStreamPrefix;
  xml::write_stream_close(out, ours);
  context_.log->info("c2s#{} stream error {} sent to {}: {}", number_, xml::to_string(condition),
                     peer_, loggable(reason));
  send(std::move(out));
  begin_close();
}

void C2sSession::shutdown(xml::StreamError condition, std::string_view reason) {
  stream_error(condition, reason);
}

void C2sSession::abort() { close_socket(); }

void C2sSession::send(std::string bytes) {
  if (state_ == State::Closed || write_done_) return;
  if (queued_.size() + writing_.size() + bytes.size() > kMaxQueuedBytes) {
    context_.log->warn("c2s#{} {} does not read what we send; dropping the connection", number_,
                       peer_);
    close_socket();
    return;
  }
  queued_ += bytes;
  wake_writer_.cancel();
}

void C2sSession::begin_close() {
  if (state_ == State::Closing || state_ == State::Closed) return;
  state_ = State::Closing;
  close_deadline_.expires_after(kCloseTimeout);
  close_deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->close_socket();
  });
  wake_writer_.cancel();
}

void C2sSession::close_socket() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  wake_writer_.cancel();
  close_deadline_.cancel();
  queued_.clear();
  context_.log->info("c2s#{} connection to {} closed", number_, peer_);
  if (context_.on_closed) context_.on_closed(number_);
}

}  // namespace parley::core
