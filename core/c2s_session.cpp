#include "core/c2s_session.hpp"

#include <openssl/ssl.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <optional>
#include <utility>

#include "core/endpoint.hpp"
#include "core/host.hpp"
#include "core/router.hpp"
#include "core/sasl/authzid.hpp"
#include "core/sasl/base64.hpp"
#include "core/sasl/credentials.hpp"
#include "core/sasl/plain.hpp"
#include "core/sasl/random.hpp"
#include "core/sasl/saslprep.hpp"
#include "core/sasl/scram.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "core/tls/server_contexts.hpp"
#include "core/tls/tls_socket.hpp"
#include "xml/element.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::core {
namespace {

namespace asio = boost::asio;
using boost::asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kStreamPrefix = "stream";
const xml::WriteContext kWriteContext{xml::ns::kClient, kStreamPrefix, false};

// Protocol namespaces the session speaks (RFC 6120 ones are in xml/namespaces.hpp).
constexpr std::string_view kRegister = "jabber:iq:register";  // XEP-0077
constexpr std::string_view kRegisterFeature = "http://jabber.org/features/iq-register";
constexpr std::string_view kSaslChannelBinding = "urn:xmpp:sasl-cb:0";  // XEP-0440
constexpr std::string_view kCaps = "http://jabber.org/protocol/caps";   // XEP-0115
constexpr std::string_view kCapsNode = "https://parley.chat";

xml::ParserOptions c2s_parser_options(const Config& config) {
  xml::ParserOptions options;
  // RFC 6120 §4.8.2: a c2s stream's content namespace is jabber:client.
  options.content_namespaces = {std::string(xml::ns::kClient)};
  options.limits.max_element_bytes = config.limits.max_stanza_bytes;
  return options;
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

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// SASL payloads (RFC 6120 §6.4.2): absent, "=" for an empty one, else base64.
std::optional<std::string> sasl_payload(std::string_view text) {
  if (text == "=") return std::string();
  return sasl::base64_decode(text);
}

xml::Document sasl_element(std::string_view name, std::string_view data) {
  xml::Document d = xml::Document::create(name, xml::ns::kSasl);
  if (!data.empty()) d.root().append_text(sasl::base64_encode(data));
  return d;
}

// An IQ result to `iq` (RFC 6120 §8.2.3), to `to` when the stream has bound a JID.
std::string make_result(xml::Element iq, const Jid* to, std::optional<xml::Document> payload) {
  xml::Document reply = xml::Document::create("iq", xml::ns::kClient);
  xml::Element root = reply.root();
  if (auto id = iq.find_attr("id")) root.set_attr("id", *id);
  root.set_attr("type", "result");
  if (!iq.attr("to").empty()) root.set_attr("from", iq.attr("to"));
  if (to != nullptr) root.set_attr("to", to->full());
  if (payload) root.append_copy(payload->root());
  std::string out;
  xml::write_element(out, root, kWriteContext);
  return out;
}

const sasl::ScramCredential* pick(const std::vector<sasl::ScramCredential>& creds,
                                  std::string_view hash_name) {
  for (const auto& c : creds) {
    if (c.hash_name == hash_name) return &c;
  }
  return nullptr;
}

}  // namespace

C2sSession::C2sSession(tcp::socket socket, const C2sContext& context, std::uint64_t number)
    : socket_(std::move(socket)),
      tls_contexts_(context.state->c2s_tls),
      config_(context.state->config),
      context_(context),
      state_ref_(*context.state),
      number_(number),
      parser_(c2s_parser_options(*config_)),
      on_core_(socket_.get_executor() == context.state->executor) {
  const auto& executors = context.state->session_executors;
  for (std::size_t i = 0; i < executors.size(); ++i) {
    if (executors[i] == socket_.get_executor()) thread_ = i;
  }
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  peer_ = ec ? std::string("unknown peer") : format_endpoint(remote);
  peer_address_ = ec ? std::string() : remote.address().to_string();
}

C2sSession::~C2sSession() = default;

// --- Threads ----------------------------------------------------------------------------------

template <class T>
asio::awaitable<T> C2sSession::at_core(asio::awaitable<T> work) {
  if (on_core_) return work;
  // The coroutine runs on the core thread; its result (or exception) comes back on ours.
  return asio::co_spawn(state_ref_.executor, std::move(work), asio::use_awaitable);
}

template <class F>
void C2sSession::post_to_core(F f) {
  if (on_core_) {
    f();
  } else {
    asio::post(state_ref_.executor, std::move(f));
  }
}

template <class F>
void C2sSession::from_core(F f) {
  if (on_core_) {
    f();
  } else {
    state_ref_.handovers.add(thread_, std::move(f));
  }
}

// A session's failure must never reach io_context::run(): log it and drop this connection only.
void C2sSession::on_loop_done(const std::shared_ptr<C2sSession>& self, std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    self->state_ref_.log->error("c2s#{} {}: internal error: {}", self->number_, self->peer_,
                                e.what());
  }
  self->close_socket();
}

void C2sSession::start() {
  auto self = shared_from_this();
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);  // read_some() reads only what is there
  arm_auth_timeout();
  asio::co_spawn(
      socket_.get_executor(), [self] { return self->read_loop(); },
      [self](std::exception_ptr error) { on_loop_done(self, std::move(error)); });
}

void C2sSession::start_writer() {
  if (writer_running_ || write_done_ || state_ == State::Closed) return;
  writer_running_ = true;
  // Posted, so that the writer runs after the handlers already queued (the other reads of this
  // turn), and one write carries everything they queued for this client.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->write_queued(); });
}

void C2sSession::write_queued() {
  if (state_ == State::Closed) {
    writer_running_ = false;
    return;
  }
  if (!queued_.empty() && tls_ != nullptr) {
    boost::system::error_code ec;
    const auto result = tls_->try_write(queued_, ec);
    if (result == tls::TlsSocket::TryWrite::Failed) {
      state_ref_.log->info("c2s#{} {}: write failed: {}", number_, peer_, ec.message());
      close_socket();
      return;
    }
    if (result != tls::TlsSocket::TryWrite::Unable) {
      std::string().swap(queued_);  // sent, or kept by tls_: an idle connection holds no buffer
      if (result == tls::TlsSocket::TryWrite::Sent && state_ != State::Closing) {
        cancel(flushed_);
        writer_running_ = false;
        return;
      }
    }
  }
  // The rest (a socket that took only part, a connection without compacted TLS, closing) needs
  // to wait: write_loop.
  auto self = shared_from_this();
  asio::co_spawn(
      socket_.get_executor(), [self] { return self->write_loop(); },
      [self](std::exception_ptr error) { on_loop_done(self, std::move(error)); });
}

void C2sSession::arm_auth_timeout() {
  // RFC 6120 §4.9.3.4: a connection that does not authenticate and bind a resource in time is
  // closed (an authenticated but unbound stream must not idle for ever either).
  asio::steady_timer& deadline = make_timer(auth_deadline_);
  deadline.expires_after(config_->limits.unauthenticated_timeout);
  deadline.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->bound_) return;
    self->stream_error(xml::StreamError::ConnectionTimeout, self->authenticated_user_.empty()
                                                                ? "no authentication in time"
                                                                : "no resource bound in time");
  });
}

// The bytes just read: one buffer for every session of the thread, since each session copies
// what it read into its parser before it awaits anything.
char* C2sSession::scratch() {
  thread_local std::array<char, kReadBufferBytes> buffer;
  return buffer.data();
}

asio::awaitable<std::pair<boost::system::error_code, std::size_t>> C2sSession::read_some() {
  if (tls_) {
    auto result = co_await tls_->read_some(scratch(), kReadBufferBytes);
    co_return result;
  }
  for (;;) {
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, kUseTuple);
    if (ec) co_return std::pair{ec, std::size_t{0}};
    if (!socket_.is_open()) co_return std::pair{asio::error::operation_aborted, std::size_t{0}};
    const std::size_t n = socket_.read_some(asio::buffer(scratch(), kReadBufferBytes), ec);
    if (ec != asio::error::would_block) co_return std::pair{ec, n};
  }
}

asio::awaitable<void> C2sSession::read_loop() {
  if (context_.direct_tls) {
    const bool started = co_await start_tls();
    if (!started) co_return;
  }
  for (;;) {
    if (tls_closing_) co_return;  // write_loop's TLS shutdown reads now, and closes the socket
    // Nothing half-read is kept while waiting: an idle connection holds no input buffer.
    parser_.release_idle_buffer();
    auto [ec, n] = co_await read_some();
    if (ec) {
      if (tls_closing_) co_return;
      if (state_ == State::AwaitingHeader || state_ == State::Open) {
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
          state_ref_.log->info("c2s#{} {} closed the connection without closing the stream",
                               number_, peer_);
        } else {
          state_ref_.log->info("c2s#{} {}: connection lost: {}", number_, peer_, ec.message());
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
    parser_.feed(std::string_view(scratch(), n));
    co_await process_events();
  }
  read_done_ = true;
  if (state_ == State::Closed) co_return;
  if (write_done_) {
    close_socket();
  } else {
    begin_close();  // write_loop flushes what is queued, then closes
  }
}

bool C2sSession::has_output() const {
  return !queued_.empty() || (tls_ != nullptr && tls_->has_unsent());
}

asio::awaitable<void> C2sSession::write_loop() {
  for (;;) {
    if (state_ == State::Closed) {
      writer_running_ = false;
      co_return;
    }
    if (!has_output()) {
      cancel(flushed_);
      if (state_ == State::Closing) break;
      // Nothing to send: the loop ends, and the next send() starts another.
      writer_running_ = false;
      co_return;
    }
    writing_.clear();
    std::swap(writing_, queued_);
    write_in_flight_ = true;
    boost::system::error_code ec;
    if (tls_) {
      ec = co_await tls_->write(writing_);
    } else {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(socket_, asio::buffer(writing_), kUseTuple);
    }
    write_in_flight_ = false;
    writing_.clear();
    // Nothing more to send: give the room back, so that idle connections hold no output buffer.
    if (queued_.empty()) {
      std::string().swap(writing_);
      std::string().swap(queued_);
    }
    if (ec) {
      if (state_ != State::Closed) {
        state_ref_.log->info("c2s#{} {}: write failed: {}", number_, peer_, ec.message());
        close_socket();
      }
      co_return;
    }
  }
  write_done_ = true;
  if (tls_ && !handshaking_ && state_ == State::Closing) {
    // RFC 8446 §6.1 / RFC 6120 §4.4: end TLS with close_notify, and wait (bounded by
    // close_deadline_) for the peer's. The shutdown reads, so read_loop must stop reading first.
    tls_closing_ = true;
    boost::system::error_code cancelled;
    socket_.cancel(cancelled);
    const auto shutdown_ec = co_await tls_->shutdown();
    (void)shutdown_ec;  // a peer that just closes TCP is normal
    close_socket();
    co_return;
  }
  // RFC 6120 §4.4: we have closed our stream; half-close TCP so the peer sees the end, and keep
  // reading (read_loop) until it closes its side or close_deadline_ expires.
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  if (read_done_) close_socket();
}

asio::awaitable<void> C2sSession::flush() {
  while ((has_output() || write_in_flight_) && state_ != State::Closed) {
    asio::steady_timer& flushed = make_timer(flushed_);
    flushed.expires_at(asio::steady_timer::time_point::max());
    co_await flushed.async_wait(kUseTuple);
  }
  flushed_.reset();
}

asio::steady_timer& C2sSession::make_timer(std::unique_ptr<asio::steady_timer>& timer) {
  if (!timer) timer = std::make_unique<asio::steady_timer>(socket_.get_executor());
  return *timer;
}

void C2sSession::cancel(const std::unique_ptr<asio::steady_timer>& timer) {
  if (timer) timer->cancel();
}

// RFC 6120 §5.4.3.3 (STARTTLS) and XEP-0368 (direct TLS): the TLS handshake, as the server.
asio::awaitable<bool> C2sSession::start_tls() {
  if (!tls_contexts_) {
    close_socket();
    co_return false;
  }
  tls_ = std::make_unique<tls::TlsSocket>(socket_, tls_contexts_->default_context().native_handle(),
                                          tls::TlsSocket::Role::Server, config_->c2s_compact_tls);
  // STARTTLS: present the certificate of the domain the stream is for (SNI may still switch it).
  if (!domain_.empty()) tls_contexts_->select(tls_->native_handle(), domain_);
  handshaking_ = true;
  const auto ec = co_await tls_->handshake();
  handshaking_ = false;
  if (ec) {
    state_ref_.log->info("c2s#{} {}: TLS handshake failed: {}", number_, peer_, ec.message());
    close_socket();
    co_return false;
  }
  if (state_ == State::Closed) co_return false;
  bindings_ =
      std::make_unique<sasl::ChannelBindings>(sasl::channel_bindings(tls_->native_handle()));
  // Strings OpenSSL keeps for the whole process, so they outlive the connection.
  const char* version = SSL_get_version(tls_->native_handle());
  const char* cipher = SSL_get_cipher_name(tls_->native_handle());
  // Nothing below needs OpenSSL's connection any more: with TLS 1.3 its ~13.9 KiB goes
  // ([c2s] compact_tls).
  const bool compacted = tls_->compact();
  state_ref_.log->info("c2s#{} {}: TLS established ({}, {}{})", number_, peer_, version, cipher,
                       compacted ? ", records by Parley" : "");
  co_return true;
}

asio::awaitable<void> C2sSession::process_events() {
  // Stanzas that only need routing go to the core thread together, up to kMaxBatch at a time;
  // anything else first lets the batch before it through, so that everything stays in order.
  constexpr std::size_t kMaxBatch = 64;
  std::vector<StanzaPtr> batch;
  while (state_ == State::AwaitingHeader || state_ == State::Open) {
    xml::StreamParser::Event event = parser_.next();
    if (event.type == xml::StreamParser::EventType::Element &&
        is_bound_stanza(event.element.root())) {
      std::optional<Jid> to;
      const Check check = check_stanza(event.element.root(), to);
      if (check == Check::Route) {
        batch.push_back(Stanza::make(std::move(event.element), *jid_, std::move(to)));
        if (batch.size() >= kMaxBatch) co_await route_batch(batch);
        continue;
      }
      co_await route_batch(batch);
      if (state_ != State::Open) break;
      co_await route_stanza(std::move(event.element), check, std::move(to));
      continue;
    }
    co_await route_batch(batch);
    if (state_ != State::AwaitingHeader && state_ != State::Open) break;
    switch (event.type) {
      case xml::StreamParser::EventType::NeedMore:
        co_return;
      case xml::StreamParser::EventType::StreamOpened:
        on_stream_opened();
        break;
      case xml::StreamParser::EventType::Element:
        co_await handle_element(std::move(event.element));
        break;
      case xml::StreamParser::EventType::StreamClosed: {
        // RFC 6120 §4.4: answer the peer's closing tag with ours, then close.
        state_ref_.log->info("c2s#{} {} closed the stream", number_, peer_);
        if (!header_sent_) send_stream_header({});
        std::string out;
        xml::StreamHeader ours;
        ours.prefix = kStreamPrefix;
        xml::write_stream_close(out, ours);
        send(out);
        begin_close();
        co_return;
      }
      case xml::StreamParser::EventType::Error:
        stream_error(event.error, event.error_text);
        co_return;
    }
  }
}

void C2sSession::on_stream_opened() {
  const xml::StreamHeader& header = parser_.header();
  state_ = State::Open;
  const std::string_view to = header.attr("to");
  state_ref_.log->debug("c2s#{} {} opened a stream to '{}'", number_, peer_, loggable(to));

  // RFC 6120 §4.7.2: the response's 'to' is the initiating entity's 'from', when it gave one.
  send_stream_header(header.attr("from"));

  // The parser enforces the namespaces already (ParserOptions); checked again here because a
  // session must not rely on its parser's configuration for what it promises on the wire.
  if (header.namespace_of(header.prefix) != xml::ns::kStream) {
    stream_error(xml::StreamError::InvalidNamespace,
                 "the stream element is not in the stream namespace");
    return;
  }
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
  std::string domain = config_->default_host().domain;
  if (!to.empty()) {
    auto prepared = Jid::prepare_domain(to);
    if (!prepared || !config_->host(*prepared)) {
      stream_error(xml::StreamError::HostUnknown, "this server does not serve " + loggable(to));
      return;
    }
    domain = std::move(*prepared);
  }
  // A restarted stream (after TLS or SASL) is for the same domain (RFC 6120 §4.3.3).
  if (!domain_.empty() && domain != domain_) {
    stream_error(xml::StreamError::HostUnknown, "the restarted stream is for another domain");
    return;
  }
  domain_ = std::move(domain);
  host_ = state_ref_.find_host(domain_);
  send_features();
}

std::vector<std::string> C2sSession::offered_mechanisms() const {
  std::vector<std::string> out;
  if (!tls_active() && config_->c2s_require_tls) return out;
  // Strongest first. -PLUS only when this connection has channel-binding data (RFC 5802 §6).
  if (tls_active() && bindings_ && bindings_->any()) {
    out.push_back(sasl::scram_mechanism_name(sasl::kSha256, true));
    out.push_back(sasl::scram_mechanism_name(sasl::kSha1, true));
  }
  out.push_back(sasl::scram_mechanism_name(sasl::kSha256, false));
  out.push_back(sasl::scram_mechanism_name(sasl::kSha1, false));
  if (tls_active()) out.emplace_back("PLAIN");  // never in the clear (RFC 4616 §5)
  return out;
}

void C2sSession::send_features() {
  xml::Document features = xml::Document::create("features", xml::ns::kStream);
  xml::Element root = features.root();
  if (authenticated_user_.empty()) {
    // RFC 6120 §5.3.1, §5.4.1: STARTTLS first; mandatory-to-negotiate unless configured off.
    if (!tls_active() && tls_contexts_) {
      xml::Element starttls = root.append_child("starttls", xml::ns::kTls);
      if (config_->c2s_require_tls) starttls.append_child("required");
    }
    const auto mechanisms = offered_mechanisms();
    if (!mechanisms.empty()) {
      xml::Element list = root.append_child("mechanisms", xml::ns::kSasl);
      for (const auto& m : mechanisms) list.append_child("mechanism").append_text(m);
      // XEP-0440: which channel-binding types -PLUS can use here.
      if (tls_active() && bindings_ && bindings_->any()) {
        xml::Element cb = root.append_child("sasl-channel-binding", kSaslChannelBinding);
        for (auto type : bindings_->types())
          cb.append_child("channel-binding").set_attr("type", type);
      }
    }
    const VirtualHost* host = config_->host(domain_);
    if (host && host->allow_registration && (tls_active() || !config_->c2s_require_tls)) {
      root.append_child("register", kRegisterFeature);
    }
  } else {
    // RFC 6120 §7.1 and RFC 6121 Appendix E (the session feature, optional).
    root.append_child("bind", xml::ns::kBind);
    root.append_child("session", xml::ns::kSession).append_child("optional");
    if (host_ != nullptr) {
      for (const auto& [name, ns] : host_->stream_features()) root.append_child(name, ns);
      // XEP-0115 §6.3: the server's own capabilities, so clients need not ask.
      xml::Element caps = root.append_child("c", kCaps);
      caps.set_attr("hash", "sha-1");
      caps.set_attr("node", kCapsNode);
      caps.set_attr("ver", host_->caps_hash());
    }
  }
  send(root);
}

void C2sSession::send_stream_header(std::string_view to) {
  // RFC 6120 §4.7: from, id, to, version, xml:lang; §4.8: namespace declarations.
  xml::StreamHeader header;
  header.prefix = kStreamPrefix;
  header.content_namespace = xml::ns::kClient;
  header.namespaces = {{"", std::string(xml::ns::kClient)},
                       {std::string(kStreamPrefix), std::string(xml::ns::kStream)}};
  header.set("from", domain_.empty() ? config_->default_host().domain : domain_);
  header.set("id", state_ref_.make_stream_id());
  if (!to.empty()) header.set("to", to);
  header.set("version", "1.0");
  header.set("xml:lang", "en");
  std::string out;
  xml::write_stream_header(out, header, /*xml_declaration=*/true);
  header_sent_ = true;
  send(out);
}

asio::awaitable<void> C2sSession::handle_element(xml::Document document) {
  if (state_ != State::Open) co_return;
  const xml::Element root = document.root();
  const std::string_view ns = root.ns();
  const std::string_view name = root.name();

  if (ns == xml::ns::kTls && name == "starttls") {
    // RFC 6120 §5.4.2: only before authentication and only once.
    if (tls_active() || !authenticated_user_.empty() || !tls_contexts_) {
      send(xml::Document::create("failure", xml::ns::kTls).root());
      stream_error(xml::StreamError::UnsupportedStanzaType, "STARTTLS is not available now");
      co_return;
    }
    send(xml::Document::create("proceed", xml::ns::kTls).root());
    co_await flush();
    if (state_ != State::Open) co_return;
    if (!co_await start_tls()) co_return;
    // §5.4.3.3: a new stream over TLS; anything sent in the clear after <starttls/> is dropped.
    parser_.reset();
    state_ = State::AwaitingHeader;
    header_sent_ = false;
    co_return;
  }
  if (ns == xml::ns::kSasl) {
    if (!authenticated_user_.empty()) {
      stream_error(xml::StreamError::UnsupportedStanzaType, "already authenticated");
      co_return;
    }
    if (name == "auth") {
      co_await handle_auth(root);
    } else if (name == "response") {
      co_await handle_response(root);
    } else if (name == "abort") {
      // RFC 6120 §6.4.4: the client gives up; not a failed attempt.
      co_await sasl_failure(sasl::SaslError::Aborted, "the client aborted", /*counts=*/false);
    } else {
      stream_error(xml::StreamError::UnsupportedStanzaType, "unexpected SASL element");
    }
    co_return;
  }
  if (ns == xml::ns::kClient && (name == "message" || name == "presence" || name == "iq")) {
    co_await handle_stanza(std::move(document));
    co_return;
  }
  // RFC 6120 §4.9.3.24: a first-level element we do not know.
  stream_error(xml::StreamError::UnsupportedStanzaType,
               "unexpected element <" + loggable(name) + "/> in " + loggable(ns));
}

// --- SASL -------------------------------------------------------------------------------------

asio::awaitable<void> C2sSession::handle_auth(xml::Element auth) {
  scram_.reset();
  plain_pending_ = false;
  // RFC 6120 §6.4.1 (encryption-required) and §6.5.4.
  if (!tls_active() && config_->c2s_require_tls) {
    co_await sasl_failure(sasl::SaslError::EncryptionRequired, "authentication before TLS");
    co_return;
  }
  const std::string mechanism(auth.attr("mechanism"));
  const auto offered = offered_mechanisms();
  if (std::find(offered.begin(), offered.end(), mechanism) == offered.end()) {
    co_await sasl_failure(sasl::SaslError::InvalidMechanism,
                          "mechanism '" + loggable(mechanism) + "' is not offered");
    co_return;
  }
  mechanism_ = mechanism;
  const std::string text = auth.text();
  std::optional<std::string> initial;
  if (!text.empty()) {
    initial = sasl_payload(text);
    if (!initial) {
      co_await sasl_failure(sasl::SaslError::IncorrectEncoding, "bad base64");
      co_return;
    }
  }
  if (mechanism == "PLAIN") {
    if (!initial) {
      plain_pending_ = true;  // RFC 6120 §6.4.2: no initial response; ask for it
      send(xml::Document::create("challenge", xml::ns::kSasl).root());
      co_return;
    }
    co_await plain(*initial);
    co_return;
  }
  const auto scram = sasl::parse_scram_mechanism(mechanism);
  sasl::ScramServerOptions options;
  options.hash_name = std::string(scram->hash_name);
  scram_hash_ = options.hash_name;
  options.plus = scram->plus;
  if (tls_active() && bindings_) options.bindings = *bindings_;
  options.unknown_user_secret = state_ref_.scram_secret;
  options.unknown_user_iterations = config_->scram_iterations;
  options.domain = domain_;
  scram_ = std::make_unique<sasl::ScramServer>(std::move(options));
  scram_awaiting_first_ = !initial.has_value();
  if (!initial) {
    send(xml::Document::create("challenge", xml::ns::kSasl).root());
    co_return;
  }
  co_await scram_first(*initial);
}

asio::awaitable<void> C2sSession::scram_first(std::string message) {
  scram_awaiting_first_ = false;
  auto username = scram_->client_first(message);
  if (!username) {
    co_await sasl_failure(username.error(), "bad client-first-message");
    co_return;
  }
  std::optional<sasl::ScramCredential> credential;
  if (auto user = Jid::prepare_localpart(*username)) {
    const std::string hash_name = scram_hash_;
    // The job is a named local: g++ 12 mishandles lambdas with init-captures built inside a
    // co_await expression (their captured strings end up pointing into the coroutine frame).
    auto job = [domain = domain_, user = *user,
                removals = &state_ref_.account_removals](storage::Stores& s) {
      return std::pair(s.accounts.credentials(domain, user), removals->load());
    };
    auto [creds, removals] = co_await run_storage(*state_ref_.storage, std::move(job));
    if (state_ != State::Open || !scram_) co_return;
    if (creds) {
      if (const auto* c = pick(*creds, hash_name)) credential = *c;
      removals_at_auth_ = removals;
    }
  }
  // Unknown users get a fake salt (ScramServer), so server-first does not tell who exists.
  send(sasl_element("challenge", scram_->server_first(credential)).root());
}

asio::awaitable<void> C2sSession::handle_response(xml::Element response) {
  const std::string text = response.text();
  auto data = text.empty() ? std::optional<std::string>(std::string()) : sasl_payload(text);
  if (!data) {
    co_await sasl_failure(sasl::SaslError::IncorrectEncoding, "bad base64");
    co_return;
  }
  if (plain_pending_) {
    plain_pending_ = false;
    co_await plain(*data);
  } else if (scram_ && scram_awaiting_first_) {
    co_await scram_first(*data);
  } else if (scram_) {
    auto final_message = scram_->client_final(*data);
    if (!final_message) {
      co_await sasl_failure(final_message.error(), "SCRAM proof or binding did not verify");
      co_return;
    }
    auto user = Jid::prepare_localpart(scram_->username());
    sasl_success(user.value_or(scram_->username()), *final_message);
  } else {
    co_await sasl_failure(sasl::SaslError::MalformedRequest, "response outside an exchange");
  }
}

asio::awaitable<void> C2sSession::plain(std::string message) {
  auto parsed = sasl::parse_plain(message);
  if (!parsed) {
    co_await sasl_failure(parsed.error(), "bad PLAIN message");
    co_return;
  }
  if (!sasl::authzid_allowed(parsed->authzid, parsed->authcid, domain_)) {
    co_await sasl_failure(sasl::SaslError::InvalidAuthzid, "authzid is not the user's own JID");
    co_return;
  }
  const auto user = Jid::prepare_localpart(parsed->authcid);
  // Verify on the storage thread: PBKDF2 takes milliseconds that socket threads must not spend.
  // Unknown users get the same work against a fake credential, so timing does not tell.
  auto job = [domain = domain_, user = user.value_or(std::string()), password = parsed->password,
              secret = state_ref_.scram_secret, iterations = config_->scram_iterations,
              removals = &state_ref_.account_removals](storage::Stores& s) {
    const std::uint64_t seen = removals->load();
    std::optional<std::vector<sasl::ScramCredential>> creds;
    if (!user.empty()) creds = s.accounts.credentials(domain, user);
    const sasl::ScramCredential* c = creds ? pick(*creds, sasl::kSha256) : nullptr;
    if (c == nullptr && creds && !creds->empty()) c = &creds->front();
    if (c != nullptr) return std::pair(sasl::verify_password(*c, password), seen);
    (void)sasl::derive(sasl::kSha256, password, secret, iterations);
    return std::pair(false, seen);
  };
  const auto [ok, removals] = co_await run_storage(*state_ref_.storage, std::move(job));
  if (state_ != State::Open) co_return;
  removals_at_auth_ = removals;
  if (!ok || !user) {
    co_await sasl_failure(sasl::SaslError::NotAuthorized, "wrong user name or password");
    co_return;
  }
  sasl_success(*user, {});
}

asio::awaitable<void> C2sSession::sasl_failure(sasl::SaslError condition, std::string_view why,
                                               bool counts) {
  scram_.reset();
  plain_pending_ = false;
  if (counts) {
    ++auth_failures_;
    // Slow down password guessing from one address (the first failure is answered at once).
    const auto delay =
        state_ref_.auth_throttle.on_failure(peer_address_, AuthThrottle::Clock::now());
    if (delay.count() > 0) {
      asio::steady_timer timer(socket_.get_executor(), delay);
      co_await timer.async_wait(kUseTuple);
      if (state_ != State::Open) co_return;
    }
  }
  state_ref_.log->info("c2s#{} {}: authentication failed ({}): {}", number_, peer_,
                       sasl::to_string(condition), why);
  xml::Document failure = xml::Document::create("failure", xml::ns::kSasl);
  failure.root().append_child(sasl::to_string(condition));
  send(failure.root());
  // RFC 6120 §6.4.5: a configurable number of retries, then policy-violation.
  if (auth_failures_ >= config_->limits.max_auth_failures) {
    stream_error(xml::StreamError::PolicyViolation, "too many failed authentication attempts");
  }
}

void C2sSession::sasl_success(std::string_view username, std::string_view additional_data) {
  state_ref_.auth_throttle.on_success(peer_address_);
  authenticated_user_ = username;
  scram_.reset();
  bindings_.reset();  // no SASL exchange can follow on this connection
  send(sasl_element("success", additional_data).root());
  state_ref_.log->info("c2s#{} {} authenticated as {}@{} ({})", number_, peer_, authenticated_user_,
                       domain_, mechanism_);
  // RFC 6120 §6.4.6: a new stream over the authenticated connection.
  parser_.reset();
  state_ = State::AwaitingHeader;
  header_sent_ = false;
}

// --- Stanzas ----------------------------------------------------------------------------------

asio::awaitable<void> C2sSession::handle_stanza(xml::Document document) {
  const xml::Element stanza = document.root();
  const std::string_view name = stanza.name();
  if (authenticated_user_.empty()) {
    // XEP-0077 registration is the one thing allowed before authentication, where enabled.
    const VirtualHost* host = config_->host(domain_);
    if (name == "iq" && host && host->allow_registration &&
        (tls_active() || !config_->c2s_require_tls) &&
        stanza.first_child().is("query", kRegister)) {
      co_await handle_register(stanza);
      co_return;
    }
    // RFC 6120 §4.9.3.12.
    stream_error(xml::StreamError::NotAuthorized, "stanza before authentication");
    co_return;
  }
  if (!bound_) {
    // RFC 6120 §7.1: nothing but resource binding (and the old session request) before binding.
    if (name == "iq" && stanza.attr("type") == "set" &&
        stanza.first_child().is("bind", xml::ns::kBind)) {
      co_await handle_bind(stanza);
      co_return;
    }
    stream_error(xml::StreamError::NotAuthorized, "stanza before resource binding");
    co_return;
  }
  std::optional<Jid> to;
  const Check check = check_stanza(stanza, to);
  co_await route_stanza(std::move(document), check, std::move(to));
}

bool C2sSession::is_bound_stanza(xml::Element element) const {
  if (state_ != State::Open || !bound_ || element.ns() != xml::ns::kClient) return false;
  const std::string_view name = element.name();
  return name == "message" || name == "presence" || name == "iq";
}

C2sSession::Check C2sSession::check_stanza(xml::Element stanza, std::optional<Jid>& to) {
  if (rate_limited()) return Check::RateLimited;
  const std::string_view name = stanza.name();
  const std::string_view type = stanza.attr("type");
  const auto to_text = stanza.find_attr("to");
  bool to_server = false;
  if (name == "iq") {
    if (type != "get" && type != "set" && type != "result" && type != "error") {
      return Check::BadIqType;
    }
    if ((type == "get" || type == "set") && stanza.child_count() != 1) {
      return Check::BadIqChildren;
    }
    to_server =
        (type == "get" || type == "set") && (!to_text || to_text->empty() || *to_text == domain_);
  } else if (name == "presence") {
    // RFC 6121 §4.7.1: the types presence may have.
    if (!type.empty() && type != "unavailable" && type != "probe" && type != "error" &&
        !is_subscription_type(type)) {
      return Check::BadPresenceType;
    }
  }
  if (to_text && !to_text->empty()) {
    to = Jid::parse(*to_text);
    if (!to) return Check::BadTo;
  } else if (name != "presence") {
    // RFC 6120 §10.3.1, §10.3.3: a message or IQ without 'to' is for the sender's own account.
    // (Presence without 'to' is a broadcast.)
    to = jid_->bare();
  }
  return to_server ? Check::SessionIq : Check::Route;
}

// RFC 6120 §8.1.2.1: a bound client's stanza gets its full JID as 'from' whatever it said (a
// client cannot send as anyone else), and goes to the router.
asio::awaitable<void> C2sSession::route_stanza(xml::Document document, Check check,
                                               std::optional<Jid> to) {
  const xml::Element stanza = document.root();
  switch (check) {
    case Check::Route:
      break;
    case Check::RateLimited: {
      const std::string_view type = stanza.attr("type");
      if (type == "error" || type == "result") co_return;
      xml::Document reply = make_error(stanza, StanzaError::PolicyViolation, domain_,
                                       "too many stanzas: slow down and send this one again");
      reply.root().child("error").set_attr("type", "wait");
      reply.root().set_attr("to", jid_->full());
      send(reply.root());
      co_return;
    }
    case Check::BadIqType:
      reply_error(stanza, StanzaError::BadRequest, "type must be get, set, result or error");
      co_return;
    case Check::BadIqChildren:
      reply_error(stanza, StanzaError::BadRequest,
                  "a get or set carries exactly one child element");
      co_return;
    case Check::SessionIq: {
      const bool handled = co_await handle_session_iq(stanza);
      if (handled) co_return;
      break;  // an iq for the server's modules
    }
    case Check::BadPresenceType:
      reply_error(stanza, StanzaError::BadRequest, "unknown presence type");
      co_return;
    case Check::BadTo:
      reply_error(stanza, StanzaError::JidMalformed, "the 'to' address is not a valid JID");
      co_return;
  }
  std::vector<StanzaPtr> batch{Stanza::make(std::move(document), *jid_, std::move(to))};
  co_await route_batch(batch);
}

asio::awaitable<void> C2sSession::route_batch(std::vector<StanzaPtr>& batch) {
  if (batch.empty()) co_return;
  std::vector<StanzaPtr> stanzas;
  stanzas.swap(batch);
  co_await at_core(route_at_core(std::move(stanzas)));
}

asio::awaitable<void> C2sSession::route_at_core(std::vector<StanzaPtr> stanzas) {
  auto self = shared_from_this();
  for (StanzaPtr& stanza : stanzas) {
    const StanzaPtr keep = stanza;
    bool failed = false;
    try {
      co_await state_ref_.router->route(std::move(stanza), self);
    } catch (const std::exception& e) {
      // A failure while routing one stanza (the database, say) costs that stanza, not the
      // session.
      state_ref_.log->error("c2s#{} {}: routing <{}/> failed: {}", number_, jid_->full(),
                            keep->root().name(), e.what());
      failed = true;
    }
    if (failed && keep->type() != "error" && keep->type() != "result") {
      xml::Document reply = make_error(keep->root(), StanzaError::InternalServerError, domain_);
      reply.root().set_attr("to", jid_->full());
      std::string bytes;
      xml::write_element(bytes, reply.root(), kWriteContext);
      from_core([self, bytes = std::move(bytes)] { self->send(bytes); });
    }
  }
  // What the stanzas sent to other threads leaves before this session resumes, so that its own
  // later replies cannot overtake them.
  state_ref_.handovers.flush();
}

bool C2sSession::rate_limited() {
  const auto& limits = config_->limits;
  if (limits.stanzas_per_second == 0) return false;
  const auto now = std::chrono::steady_clock::now();
  if (rate_updated_ == std::chrono::steady_clock::time_point{}) {
    rate_tokens_ = limits.stanza_burst;
  } else {
    const std::chrono::duration<double> elapsed = now - rate_updated_;
    rate_tokens_ = std::min<double>(limits.stanza_burst,
                                    rate_tokens_ + elapsed.count() * limits.stanzas_per_second);
  }
  rate_updated_ = now;
  if (rate_tokens_ < 1.0) return true;
  rate_tokens_ -= 1.0;
  return false;
}

asio::awaitable<bool> C2sSession::handle_session_iq(xml::Element iq) {
  const xml::Element payload = iq.first_child();
  if (payload.is("session", xml::ns::kSession) && iq.attr("type") == "set") {
    // RFC 3921 §3, a no-op since RFC 6121 (Appendix E).
    session_established_ = true;
    reply_result(iq);
    co_return true;
  }
  if (payload.is("bind", xml::ns::kBind)) {
    reply_error(iq, StanzaError::NotAllowed, "this stream has a resource bound already");
    co_return true;
  }
  if (payload.is("query", kRegister)) {
    co_await handle_register(iq);
    co_return true;
  }
  co_return false;
}

void C2sSession::deliver(const StanzaPtr& stanza) {
  if (on_core_) {
    deliver_here(stanza);
    return;
  }
  // Serialised here, once, before any other thread reads the stanza (Stanza::bytes()).
  (void)stanza->bytes();
  from_core([self = shared_from_this(), stanza] { self->deliver_here(stanza); });
}

void C2sSession::deliver_here(const StanzaPtr& stanza) {
  if (state_ != State::Open || !bound_) return;
  send(stanza->bytes());
}

asio::awaitable<void> C2sSession::handle_bind(xml::Element iq) {
  // RFC 6120 §7.6: a client-chosen or a server-generated resource.
  const xml::Element resource_element = iq.first_child().child("resource", xml::ns::kBind);
  std::string resource;
  if (resource_element) {
    auto prepared = Jid::prepare_resource(resource_element.text());
    if (!prepared || prepared->empty()) {
      reply_error(iq, StanzaError::JidMalformed, "the resource cannot be prepared (RFC 7622)");
      co_return;
    }
    resource = std::move(*prepared);
  } else {
    resource = "parley-" + hex(sasl::random_bytes(6));
  }
  // The account may have been removed since this stream authenticated (XEP-0077 §3.2 ends the
  // account's bound sessions; this one had none yet). Storage is asked only if this server
  // removed any account since SASL read the credentials. (A removal by `parley deluser` in
  // another process is not seen here, as it is not seen by sessions already bound.)
  bool exists = true;
  if (removals_at_auth_ != state_ref_.account_removals.load()) {
    auto job = [domain = domain_, user = authenticated_user_](storage::Stores& s) {
      return s.accounts.exists(domain, user);
    };
    exists = co_await run_storage(*state_ref_.storage, std::move(job));
    if (state_ != State::Open) co_return;
  }
  if (!exists) {
    stream_error(xml::StreamError::NotAuthorized, "the account no longer exists");
    co_return;
  }
  auto full = Jid::from_parts(authenticated_user_, domain_, resource);
  if (!full) {
    reply_error(iq, StanzaError::JidMalformed, "the resulting JID is too long");
    co_return;
  }
  xml::Document bind = xml::Document::create("bind", xml::ns::kBind);
  bind.root().append_child("jid").append_text(full->full());
  std::string result = make_result(iq, &*full, std::move(bind));
  const BindOutcome outcome = co_await at_core(bind_at_core(*full, std::move(result)));
  if (outcome == BindOutcome::TooManySessions) {
    reply_error(iq, StanzaError::ResourceConstraint,
                "this account has reached its limit of simultaneous sessions");
  }
}

// The core thread's part of resource binding: the registry, the session it replaces, the modules.
asio::awaitable<C2sSession::BindOutcome> C2sSession::bind_at_core(Jid full, std::string result) {
  // RFC 6120 §7.6.2.1: a limit on an account's simultaneous resources (a session replacing one
  // with the same resource does not add one).
  const auto existing = state_ref_.sessions.sessions_of(full.bare());
  if (existing.size() >= config_->limits.max_sessions_per_account &&
      !state_ref_.sessions.find(full)) {
    co_return BindOutcome::TooManySessions;
  }
  auto self = shared_from_this();
  // §7.7.2.2: the same full JID twice: the older session goes (Prosody and ejabberd's default).
  if (auto old = state_ref_.sessions.bind(full, self)) {
    state_ref_.log->info("c2s#{}: {} is replaced by a new session", old->number(), full.full());
    old->shutdown(xml::StreamError::Conflict, "replaced by a new session with the same resource");
  }
  jid_ = std::move(full);
  // The bind result reaches the session's thread before anything routed to the new JID (the
  // modules' Bound handlers below, or any later stanza): both are handed over in order.
  from_core([self, result = std::move(result)]() mutable {
    self->bound_ = true;
    if (self->state_ != State::Open) {
      self->end_session();  // closed while the core bound it: unbind again
      return;
    }
    self->auth_deadline_.reset();  // destroying it cancels the wait
    self->send(std::move(result));
  });
  state_ref_.log->info("c2s#{} {} bound {}", number_, peer_, jid_->full());
  if (host_ != nullptr) host_->fire_session(SessionEvent::Bound, self);
  co_return BindOutcome::Bound;
}

asio::awaitable<void> C2sSession::end_other_sessions_at_core() {
  for (auto& s : state_ref_.sessions.sessions_of(jid_->bare())) {
    if (s.get() != this) s->shutdown(xml::StreamError::NotAuthorized, "the account was removed");
  }
  co_return;
}

// XEP-0077: registration before authentication (when enabled), and for a logged-in user the
// password change (§3.3) and account removal (§3.2).
asio::awaitable<void> C2sSession::handle_register(xml::Element iq) {
  const xml::Element query = iq.first_child();
  const bool logged_in = !authenticated_user_.empty();
  if (iq.attr("type") == "get") {
    xml::Document form = xml::Document::create("query", kRegister);
    if (logged_in) {
      form.root().append_child("registered");
      form.root().append_child("username").append_text(authenticated_user_);
      form.root().append_child("password");
    } else {
      form.root().append_child("instructions").append_text("Choose a user name and password.");
      form.root().append_child("username");
      form.root().append_child("password");
    }
    reply_result(iq, std::move(form));
    co_return;
  }
  if (query.child("remove", kRegister)) {
    if (!logged_in) {
      reply_error(iq, StanzaError::NotAuthorized, "log in to remove an account");
      co_return;
    }
    auto job = [domain = domain_, user = authenticated_user_,
                removals = &state_ref_.account_removals](storage::Stores& s) {
      const storage::Result result = s.accounts.remove(domain, user);
      if (result == storage::Result::Ok) ++*removals;
      return result;
    };
    auto result = co_await run_storage(*state_ref_.storage, std::move(job));
    if (state_ == State::Closed) co_return;
    if (result != storage::Result::Ok) {
      reply_error(iq, StanzaError::ItemNotFound);
      co_return;
    }
    reply_result(iq);
    state_ref_.log->info("c2s#{} {} removed the account {}@{}", number_, peer_, authenticated_user_,
                         domain_);
    // §3.2: every session of the account ends.
    co_await at_core(end_other_sessions_at_core());
    stream_error(xml::StreamError::NotAuthorized, "the account was removed");
    co_return;
  }
  const std::string username = query.child("username", kRegister).text();
  const std::string password_text = query.child("password", kRegister).text();
  const auto password = sasl::saslprep(password_text, sasl::Unassigned::Refuse);
  if (!password || password->empty()) {
    reply_error(iq, StanzaError::NotAcceptable, "the password is empty or not allowed");
    co_return;
  }
  const auto user = Jid::prepare_localpart(username, /*stored=*/true);
  if (!user || user->empty()) {
    reply_error(iq, StanzaError::NotAcceptable, "the user name is not allowed");
    co_return;
  }
  if (logged_in && *user != authenticated_user_) {
    reply_error(iq, StanzaError::NotAuthorized, "a user may change only their own password");
    co_return;
  }
  if (!logged_in && !state_ref_.registrations.allow(
                        peer_address_, config_->limits.registrations_per_address_per_hour,
                        RegistrationLimiter::Clock::now())) {
    reply_error(iq, StanzaError::ResourceConstraint, "too many registrations from your address");
    co_return;
  }
  const auto iterations = config_->scram_iterations;
  auto job = [domain = domain_, user = *user, password = *password, iterations,
              logged_in](storage::Stores& s) {
    const auto creds = sasl::make_credentials(password, iterations);
    return logged_in ? s.accounts.set_credentials(domain, user, creds)
                     : s.accounts.create(domain, user, creds);
  };
  auto result = co_await run_storage(*state_ref_.storage, std::move(job));
  if (state_ == State::Closed) co_return;
  if (result == storage::Result::AlreadyExists) {
    reply_error(iq, StanzaError::Conflict, "the user name is taken");
    co_return;
  }
  if (result != storage::Result::Ok) {
    reply_error(iq, StanzaError::ItemNotFound);
    co_return;
  }
  state_ref_.log->info("c2s#{} {} {} {}@{}", number_, peer_,
                       logged_in ? "changed the password of" : "registered", *user, domain_);
  reply_result(iq);
}

void C2sSession::reply_result(xml::Element iq, std::optional<xml::Document> payload) {
  send(make_result(iq, bound_ ? &*jid_ : nullptr, std::move(payload)));
}

void C2sSession::reply_error(xml::Element stanza, StanzaError condition, std::string_view text) {
  xml::Document reply = make_error(stanza, condition, domain_, text);
  if (bound_) reply.root().set_attr("to", jid_->full());
  send(reply.root());
}

// --- Stream and socket ------------------------------------------------------------------------

void C2sSession::stream_error(xml::StreamError condition, std::string_view reason) {
  if (state_ == State::Closing || state_ == State::Closed) return;
  if (handshaking_) {
    // Nothing can be written in the middle of a TLS handshake.
    close_socket();
    return;
  }
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
  state_ref_.log->info("c2s#{} stream error {} sent to {}: {}", number_, xml::to_string(condition),
                       bound_ ? jid_->full() : peer_, loggable(reason));
  send(out);
  begin_close();
}

void C2sSession::shutdown(xml::StreamError condition, std::string_view reason) {
  from_core([self = shared_from_this(), condition, reason = std::string(reason)] {
    self->stream_error(condition, reason);
  });
}

void C2sSession::abort() {
  from_core([self = shared_from_this()] { self->close_socket(); });
}

void C2sSession::send(xml::Element element) {
  std::string out;
  xml::write_element(out, element, kWriteContext);
  send(out);
}

void C2sSession::send(std::string_view bytes) {
  if (state_ == State::Closed || write_done_) return;
  if (queued_.size() + writing_.size() + bytes.size() > kMaxQueuedBytes) {
    state_ref_.log->warn("c2s#{} {} does not read what we send; dropping the connection", number_,
                         peer_);
    close_socket();
    return;
  }
  queued_ += bytes;
  start_writer();
}

void C2sSession::begin_close() {
  if (state_ == State::Closing || state_ == State::Closed) return;
  state_ = State::Closing;
  end_session();
  asio::steady_timer& deadline = make_timer(close_deadline_);
  deadline.expires_after(kCloseTimeout);
  deadline.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->close_socket();
  });
  start_writer();  // it sends what is queued, then closes
}

void C2sSession::end_session() {
  if (ended_ || !bound_) return;
  ended_ = true;
  // Modules see the session once more (the presence module broadcasts its unavailable
  // presence, RFC 6121 §4.5.2 and §4.6.3), then it is forgotten.
  post_to_core([self = shared_from_this()] {
    if (self->host_ != nullptr) self->host_->fire_session(SessionEvent::Closed, self);
    self->state_ref_.sessions.unbind(*self->jid_, self.get());
  });
}

void C2sSession::close_socket() {
  if (state_ == State::Closed) return;
  end_session();
  state_ = State::Closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  cancel(flushed_);
  cancel(close_deadline_);
  cancel(auth_deadline_);
  queued_.clear();
  state_ref_.log->info("c2s#{} connection to {} closed", number_, peer_);
  if (context_.on_closed) context_.on_closed(number_);
}

}  // namespace parley::core
