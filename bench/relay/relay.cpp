// See relay.hpp.
#include "bench/relay/relay.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>
#include <cstring>
#include <stdexcept>

#include "core/sasl/base64.hpp"
#include "xml/writer.hpp"

namespace parley::relay {

namespace {

using asio::use_awaitable;

constexpr std::size_t kReadChunk = 16 * 1024;         // a TLS record's worth
constexpr std::size_t kMaxElement = 1024 * 1024;      // an element longer than this: close
constexpr std::size_t kMaxQueued = 16 * 1024 * 1024;  // a recipient this far behind: drop

// Canned replies (RFC 6120 §5.4.2, §6.4, §7.4, RFC 6121 §2.1.4).
constexpr std::string_view kTlsFeatures =
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    "</stream:features>";
constexpr std::string_view kProceed = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
constexpr std::string_view kSaslFeatures =
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "<mechanism>PLAIN</mechanism></mechanisms></stream:features>";
constexpr std::string_view kSuccess = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
constexpr std::string_view kBindFeatures =
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
constexpr std::string_view kStreamEnd = "</stream:stream>";

// Thrown to end a connection that does not follow the script; caught at the session boundary.
class ScriptError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// RFC 4616: [authzid] NUL authcid NUL passwd; the authcid, or "" if the message is malformed.
std::string plain_authcid(std::string_view message) {
  const std::size_t first = message.find('\0');
  if (first == std::string_view::npos) return {};
  const std::size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return {};
  return std::string(message.substr(first + 1, second - first - 1));
}

}  // namespace

// --- Relay -------------------------------------------------------------------------------

Connection* Relay::find(std::string_view user) const {
  const auto it = online_.find(user);
  return it == online_.end() ? nullptr : it->second;
}

void Relay::add(const std::string& user, Connection* c) { online_[user] = c; }

void Relay::remove(const std::string& user, const Connection* c) {
  const auto it = online_.find(user);
  if (it != online_.end() && it->second == c) online_.erase(it);
}

void Relay::defer_flush(std::shared_ptr<Connection> c) { deferred_.push_back(std::move(c)); }

void Relay::post_flush(const asio::any_io_executor& executor) {
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(executor, [this] {
    flush_posted_ = false;
    flush_deferred();
  });
}

void Relay::flush_deferred() {
  // flush() never defers anything, so the list does not grow while it is walked.
  for (auto& c : deferred_) {
    c->deferred_ = false;
    c->flush();
  }
  deferred_.clear();
}

// --- Connection::InputBuffer ----------------------------------------------------------------

void Connection::InputBuffer::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

asio::mutable_buffer Connection::InputBuffer::prepare(std::size_t n) {
  if (begin_ > 0) {  // keep the partial element at the front: a few hundred bytes at most
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < n) {
    const std::size_t capacity = std::max(2 * capacity_, end_ + n);
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (end_ > 0) std::memcpy(data.get(), data_.get(), end_);
    data_ = std::move(data);
    capacity_ = capacity;
  }
  return asio::buffer(data_.get() + end_, n);
}

// --- Connection -----------------------------------------------------------------------------

Connection::Connection(Relay& relay, asio::ip::tcp::socket socket, asio::ssl::context& tls)
    : relay_(relay),
      socket_(std::move(socket)),
      tls_context_(tls),
      ids_(relay.counters.connections) {}

Connection::~Connection() {
  if (bound_) relay_.remove(user_, this);
}

asio::awaitable<void> Connection::run(std::shared_ptr<Connection> self) {
  try {
    co_await self->login();
    co_await self->relay_loop();
  } catch (const boost::system::system_error&) {
    // The client went away (EOF, reset, TLS alert): nobody to tell.
  } catch (const ScriptError&) {
    // Not the conversation this relay knows: give the connection up.
  }
  if (self->bound_) self->relay_.remove(self->user_, self.get());
  self->bound_ = false;
  self->relay_.flush_deferred();  // what the last read queued for others
  // A write in progress (</stream:stream>, a SASL failure) closes the socket when it is done.
  self->closing_ = true;
  if (!self->writing_) self->close();
}

asio::awaitable<void> Connection::login() {
  // RFC 6120 §5.4.2: STARTTLS, required.
  TopLevel header = co_await next_header();
  if (const auto to = find_attr(header.start_tag, "to")) {
    domain_ = std::string(to->value);
    domain_quote_ = to->quote;
  } else {
    domain_ = "localhost";
  }
  in_.consume(header.consumed);
  co_await write_plain(stream_header() + std::string(kTlsFeatures));
  TopLevel starttls = co_await next_element();
  if (starttls.name != "starttls") throw ScriptError("expected <starttls/>");
  in_.consume(starttls.consumed);
  co_await write_plain(std::string(kProceed));
  // Bytes that came after <starttls/> already belong to the handshake.
  // (A client waits for <proceed/> before its ClientHello, so nothing should be there.)
  if (!in_.view().empty()) throw ScriptError("bytes after <starttls/> before <proceed/>");
  tls_socket_ = std::make_unique<core::tls::TlsSocket>(socket_, tls_context_.native_handle(),
                                                       core::tls::TlsSocket::Role::Server,
                                                       /*compactable=*/true);
  const boost::system::error_code handshake = co_await tls_socket_->handshake();
  if (handshake) throw boost::system::system_error(handshake);
  tls_socket_->compact();  // the same record layer as Parley's client connections
  tls_ = true;

  // RFC 6120 §6: SASL PLAIN (RFC 4616), any password; the authcid is the routing key.
  header = co_await next_header();
  in_.consume(header.consumed);
  send(stream_header() + std::string(kSaslFeatures));
  flush();
  TopLevel auth = co_await next_element();
  const auto mechanism = find_attr(auth.start_tag, "mechanism");
  std::string user;
  if (auth.name == "auth" && mechanism && mechanism->value == "PLAIN") {
    const auto message = core::sasl::base64_decode(inner_of(auth));
    if (message) user = plain_authcid(*message);
  }
  in_.consume(auth.consumed);
  if (user.empty()) {
    send(
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
        "</stream:stream>");
    closing_ = true;
    flush();
    throw ScriptError("SASL PLAIN expected");
  }
  user_ = std::move(user);
  send(kSuccess);
  flush();

  // RFC 6120 §7: the restarted stream offers resource binding, answered in on_iq().
  header = co_await next_header();
  in_.consume(header.consumed);
  send(stream_header() + std::string(kBindFeatures));
  flush();
}

asio::awaitable<void> Connection::relay_loop() {
  for (;;) {
    for (;;) {
      const TopLevel e = scan_top_level(in_.view());
      if (e.result == ScanResult::NeedMore) {
        in_.consume(e.consumed);
        break;
      }
      if (e.result == ScanResult::Malformed) throw ScriptError("unexpected bytes");
      if (e.result == ScanResult::StreamEnd) {
        // RFC 6120 §4.4: close our side too, then the connection.
        send(kStreamEnd);
        closing_ = true;
        co_return;
      }
      on_element(e);
      in_.consume(e.consumed);
    }
    // Everything the reads handled in this turn queued for other clients: one write each.
    relay_.post_flush(socket_.get_executor());
    if (in_.view().size() > kMaxElement) throw ScriptError("element too long");
    co_await read_more();
  }
}

asio::awaitable<TopLevel> Connection::next_header() {
  for (;;) {
    const TopLevel t = scan_stream_header(in_.view());
    if (t.result == ScanResult::Element) co_return t;
    if (t.result != ScanResult::NeedMore || in_.view().size() > kMaxElement) {
      throw ScriptError("expected a stream header");
    }
    co_await read_more();
  }
}

asio::awaitable<TopLevel> Connection::next_element() {
  for (;;) {
    const TopLevel t = scan_top_level(in_.view());
    if (t.result == ScanResult::Element) co_return t;
    if (t.result != ScanResult::NeedMore || in_.view().size() > kMaxElement) {
      throw ScriptError("expected an element");
    }
    co_await read_more();
  }
}

asio::awaitable<void> Connection::read_more() {
  const asio::mutable_buffer buffer = in_.prepare(kReadChunk);
  std::size_t n = 0;
  if (tls_) {
    const auto [ec, read] =
        co_await tls_socket_->read_some(static_cast<char*>(buffer.data()), buffer.size());
    if (ec) throw boost::system::system_error(ec);
    n = read;
  } else {
    n = co_await socket_.async_read_some(buffer, use_awaitable);
  }
  in_.commit(n);
}

asio::awaitable<void> Connection::write_plain(std::string bytes) {
  co_await asio::async_write(socket_, asio::buffer(bytes), use_awaitable);
}

void Connection::on_element(const TopLevel& e) {
  if (e.name == "message") {
    on_message(e);
  } else if (e.name == "iq") {
    on_iq(e);
  }
  // <presence/> and anything else: swallowed.
}

void Connection::on_message(const TopLevel& e) {
  // The localpart of 'to' (RFC 7622 §3.3), raw: no unescaping, no nodeprep.
  Connection* to = nullptr;
  if (const auto jid = find_attr(e.start_tag, "to")) {
    const std::size_t at = jid->value.find('@');
    if (at != std::string_view::npos) to = relay_.find(jid->value.substr(0, at));
  }
  if (to != nullptr && to->enqueue(e.bytes)) {
    ++relay_.counters.relayed;
  } else {
    ++relay_.counters.dropped;
  }
}

void Connection::on_iq(const TopLevel& e) {
  const auto type = find_attr(e.start_tag, "type");
  if (!type || (type->value != "get" && type->value != "set")) return;  // results, errors
  std::string reply = "<iq type='result'";
  if (const auto id = find_attr(e.start_tag, "id")) {
    reply += " id=";
    reply += id->quote;
    reply += id->value;
    reply += id->quote;
  }
  const std::string_view content = inner_of(e);
  if (type->value == "set" && content.find("urn:ietf:params:xml:ns:xmpp-bind") != content.npos) {
    // RFC 6120 §7.6.1: the full JID; the client's resource, or one made up (§7.6.2.1).
    const auto resource = child_text(content, "resource");
    reply += "><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>";
    xml::escape_text(reply, user_);
    reply += '@';
    reply += domain_;  // raw attribute value: valid as text as it stands
    reply += '/';
    if (resource && !resource->empty()) {
      reply += *resource;
    } else {
      reply += "relay-" + std::to_string(ids_);
    }
    reply += "</jid></bind></iq>";
    if (!bound_) {
      relay_.add(user_, this);
      bound_ = true;
      ++relay_.counters.logins;
    }
  } else if (type->value == "get" && content.find("jabber:iq:roster") != content.npos) {
    reply += "><query xmlns='jabber:iq:roster'/></iq>";  // RFC 6121 §2.1.4: an empty roster
  } else {
    reply += "/>";  // session (RFC 3921 §3) and anything else: an empty result
  }
  send(reply);
}

bool Connection::enqueue(std::string_view bytes) {
  if (closing_ || closed_ || out_.size() > kMaxQueued) return false;
  out_.append(bytes);
  if (!writing_ && !deferred_) {
    deferred_ = true;
    relay_.defer_flush(shared_from_this());
  }
  return true;
}

void Connection::send(std::string_view bytes) { enqueue(bytes); }

void Connection::flush() {
  if (writing_ || out_.empty() || closed_) return;
  writing_ = true;
  sending_.swap(out_);  // both keep their capacity: no allocation in the steady state
  out_.clear();
  asio::co_spawn(socket_.get_executor(), write_queued(shared_from_this()), asio::detached);
}

// The write loop of one burst: what was queued, then what was queued meanwhile, until nothing is.
// `self` keeps the connection alive while a write is under way.
asio::awaitable<void> Connection::write_queued([[maybe_unused]] std::shared_ptr<Connection> self) {
  if (!tls_socket_) {
    writing_ = false;
    close();
    co_return;
  }
  for (;;) {
    const boost::system::error_code ec = co_await tls_socket_->write(sending_);
    sending_.clear();
    if (ec) {
      writing_ = false;
      close();
      co_return;
    }
    if (out_.empty()) break;
    sending_.swap(out_);  // everything queued meanwhile, in one write
    out_.clear();
  }
  writing_ = false;
  if (closing_) close();
}

std::string Connection::stream_header() {
  std::string h =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en' id='r";
  h += std::to_string(ids_) + '-' + std::to_string(++headers_);
  h += "' from=";
  h += domain_quote_;
  h += domain_;
  h += domain_quote_;
  h += '>';
  return h;
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace parley::relay
