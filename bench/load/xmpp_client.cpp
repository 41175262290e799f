// See xmpp_client.hpp.
#include "bench/load/xmpp_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include "core/sasl/base64.hpp"
#include "core/sasl/scram_client.hpp"
#include "core/sasl/scram_hash.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::load {

namespace {

namespace sasl = parley::core::sasl;
namespace ns = parley::xml::ns;
using asio::use_awaitable;

constexpr std::string_view kRoster = "jabber:iq:roster";  // RFC 6121 §2
constexpr std::string_view kPing = "urn:xmpp:ping";       // XEP-0199

xml::ParserOptions client_parser_options() {
  xml::ParserOptions options;
  // A server may send a large roster in one stanza; the client's limits are not under test.
  options.limits.max_element_bytes = 16 * 1024 * 1024;
  options.content_namespaces = {std::string(ns::kClient)};
  return options;
}

// The defined condition of a <stream:error/> or a SASL <failure/>: its first child element.
std::string condition_of(const xml::Element& e) {
  for (xml::Element c : e.children()) {
    if (c.name() != "text") return std::string(c.name());
  }
  return "no condition given";
}

std::string attr_escaped(std::string_view value) {
  std::string out;
  xml::escape_attribute(out, value);
  return out;
}

}  // namespace

std::string_view mechanism_name(Mechanism m) {
  switch (m) {
    case Mechanism::Plain:
      return "PLAIN";
    case Mechanism::ScramSha1:
      return "SCRAM-SHA-1";
    case Mechanism::ScramSha256:
      return "SCRAM-SHA-256";
  }
  return "?";
}

XmppClient::XmppClient(asio::any_io_executor executor, asio::ssl::context& tls, Account account)
    : account_(std::move(account)),
      stream_(StampedSocket(asio::ip::tcp::socket(executor)), tls),
      parser_(client_parser_options()) {}

std::string XmppClient::header() const {
  return "<?xml version='1.0'?><stream:stream to='" + attr_escaped(account_.domain) +
         "' version='1.0' xml:lang='en' xmlns='jabber:client' "
         "xmlns:stream='http://etherx.jabber.org/streams'>";
}

asio::awaitable<void> XmppClient::write_now(std::string_view bytes) {
  if (tls_) {
    co_await asio::async_write(stream_, asio::buffer(bytes), use_awaitable);
  } else {
    co_await asio::async_write(stream_.next_layer(), asio::buffer(bytes), use_awaitable);
  }
}

asio::awaitable<xml::Document> XmppClient::next_element(std::string_view waiting_for) {
  char buf[16 * 1024];
  for (;;) {
    auto ev = parser_.next();
    switch (ev.type) {
      case xml::StreamParser::EventType::StreamOpened:
        continue;
      case xml::StreamParser::EventType::Element:
        if (ev.element.root().is("error", ns::kStream)) {
          throw ClientError("stream error <" + condition_of(ev.element.root()) +
                            "/> while waiting for " + std::string(waiting_for));
        }
        co_return std::move(ev.element);
      case xml::StreamParser::EventType::StreamClosed:
        throw ClientError("the server closed the stream while we waited for " +
                          std::string(waiting_for));
      case xml::StreamParser::EventType::Error:
        throw ClientError("the server sent bad XML (" + ev.error_text + ") while we waited for " +
                          std::string(waiting_for));
      case xml::StreamParser::EventType::NeedMore:
        break;
    }
    const std::size_t n =
        tls_ ? co_await stream_.async_read_some(asio::buffer(buf), use_awaitable)
             : co_await stream_.next_layer().async_read_some(asio::buffer(buf), use_awaitable);
    parser_.feed(std::string_view(buf, n));
  }
}

asio::awaitable<void> XmppClient::login() {
  std::string step = "connecting to " + account_.host + ":" + std::to_string(account_.port);
  try {
    asio::ip::tcp::resolver resolver(stream_.get_executor());
    auto endpoints = co_await resolver.async_resolve(account_.host, std::to_string(account_.port),
                                                     use_awaitable);
    co_await asio::async_connect(stream_.next_layer().socket(), endpoints, use_awaitable);
    stream_.next_layer().socket().set_option(asio::ip::tcp::no_delay(true));
    if (account_.arrival_stamps) {
      boost::system::error_code ec;
      stream_.next_layer().enable_stamps(ec);
      if (ec) throw ClientError("SO_TIMESTAMPNS: " + ec.message());
    }

    // RFC 6120 §5: STARTTLS, required by parley-load whatever the server would allow.
    step = "STARTTLS";
    co_await write_now(header());
    auto features = co_await next_element("the stream features");
    if (!features.root().child("starttls", ns::kTls)) {
      throw ClientError("the server does not offer STARTTLS");
    }
    co_await write_now("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    auto proceed = co_await next_element("<proceed/>");
    if (!proceed.root().is("proceed", ns::kTls)) throw ClientError("STARTTLS refused");
    // SNI names the domain (RFC 6120 §13.7.1.2); SSL_set_tlsext_host_name without its C cast.
    SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             static_cast<void*>(account_.domain.data()));
    co_await stream_.async_handshake(asio::ssl::stream_base::client, use_awaitable);
    tls_ = true;
    parser_.reset();

    step = "SASL " + std::string(mechanism_name(account_.mechanism));
    co_await write_now(header());
    features = co_await next_element("the stream features after TLS");
    co_await authenticate(features.root());

    // RFC 6120 §7: resource binding on the restarted stream.
    step = "resource binding";
    parser_.reset();
    co_await write_now(header());
    features = co_await next_element("the stream features after SASL");
    if (!features.root().child("bind", ns::kBind)) {
      throw ClientError("the server does not offer resource binding");
    }
    std::string bind =
        "<iq type='set' id='bind-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>";
    xml::escape_text(bind, account_.resource);
    bind += "</resource></bind></iq>";
    co_await write_now(bind);
    for (;;) {
      auto reply = co_await next_element("the bind result");
      if (reply.root().name() != "iq" || reply.root().attr("id") != "bind-1") continue;
      if (reply.root().attr("type") != "result") {
        const xml::Element error = reply.root().child("error", ns::kClient);
        throw ClientError("bind refused: " + (error ? condition_of(error) : std::string("?")));
      }
      jid_ = reply.root().child("bind", ns::kBind).child("jid", ns::kBind).text();
      break;
    }
    if (jid_.empty()) throw ClientError("the bind result holds no JID");

    // RFC 3921 §3: only for servers that still require it (RFC 6121 dropped it).
    const xml::Element session = features.root().child("session", ns::kSession);
    if (session && !session.child("optional", ns::kSession)) {
      step = "session establishment";
      co_await write_now(
          "<iq type='set' id='session-1'><session "
          "xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
      for (;;) {
        auto reply = co_await next_element("the session result");
        if (reply.root().name() != "iq" || reply.root().attr("id") != "session-1") continue;
        if (reply.root().attr("type") != "result") throw ClientError("session refused");
        break;
      }
    }
  } catch (const ClientError& e) {
    throw ClientError(account_.username + ": " + step + ": " + e.what());
  } catch (const boost::system::system_error& e) {
    throw ClientError(account_.username + ": " + step + ": " + e.code().message());
  }
}

asio::awaitable<void> XmppClient::authenticate(const xml::Element& features) {
  const std::string_view wanted = mechanism_name(account_.mechanism);
  std::string offered;
  bool found = false;
  for (xml::Element m : features.child("mechanisms", ns::kSasl).children()) {
    const std::string name = m.text();
    if (name == wanted) found = true;
    offered += (offered.empty() ? "" : " ") + name;
  }
  if (!found) {
    throw ClientError("the server does not offer it (it offers: " +
                      (offered.empty() ? std::string("nothing") : offered) + ")");
  }
  auto fail_on = [](const xml::Document& reply) {
    if (reply.root().is("failure", ns::kSasl)) {
      throw ClientError("authentication failed: " + condition_of(reply.root()));
    }
  };

  if (account_.mechanism == Mechanism::Plain) {
    // RFC 4616: authzid NUL authcid NUL password.
    std::string message;
    message += '\0';
    message += account_.username;
    message += '\0';
    message += account_.password;
    co_await write_now("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
                       sasl::base64_encode(message) + "</auth>");
    auto reply = co_await next_element("the SASL outcome");
    fail_on(reply);
    if (!reply.root().is("success", ns::kSasl)) throw ClientError("no <success/>");
    co_return;
  }

  sasl::ScramClientOptions options;
  options.hash_name =
      std::string(account_.mechanism == Mechanism::ScramSha1 ? sasl::kSha1 : sasl::kSha256);
  options.username = account_.username;
  options.password = account_.password;
  sasl::ScramClient scram(options);
  co_await write_now("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" +
                     scram.mechanism() + "'>" + sasl::base64_encode(scram.client_first()) +
                     "</auth>");
  auto challenge = co_await next_element("the SCRAM challenge");
  fail_on(challenge);
  const auto server_first = sasl::base64_decode(challenge.root().text());
  const auto client_final = server_first ? scram.client_final(*server_first) : std::nullopt;
  if (!challenge.root().is("challenge", ns::kSasl) || !client_final) {
    throw ClientError("malformed SCRAM challenge");
  }
  co_await write_now("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
                     sasl::base64_encode(*client_final) + "</response>");
  bool verified = false;
  for (;;) {
    auto reply = co_await next_element("the SCRAM outcome");
    fail_on(reply);
    const std::string text = reply.root().text();
    const auto server_final = sasl::base64_decode(text);
    if (!text.empty() && server_final) verified = scram.verify_server_final(*server_final);
    if (reply.root().is("challenge", ns::kSasl)) {
      // RFC 6120 §6.4.6 allows the server-final message in a challenge, with an empty response.
      co_await write_now("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
      continue;
    }
    if (!reply.root().is("success", ns::kSasl)) throw ClientError("no <success/>");
    break;
  }
  if (!verified) throw ClientError("the server's SCRAM signature is wrong or missing");
}

asio::awaitable<std::size_t> XmppClient::fetch_roster(std::vector<RosterItem>* items) {
  try {
    co_await write_now("<iq type='get' id='roster-1'><query xmlns='jabber:iq:roster'/></iq>");
    for (;;) {
      auto reply = co_await next_element("the roster");
      const xml::Element iq = reply.root();
      if (iq.name() != "iq") continue;
      if (iq.attr("type") == "get" || iq.attr("type") == "set") {
        answer_iq(iq);
        continue;
      }
      if (iq.attr("id") != "roster-1") continue;
      if (iq.attr("type") != "result") throw ClientError("roster get refused");
      const xml::Element query = iq.child("query", kRoster);
      if (items) {
        items->clear();
        for (xml::Element item : query.children()) {
          if (item.name() != "item") continue;
          items->push_back({std::string(item.attr("jid")), std::string(item.attr("subscription")),
                            item.attr("ask") == "subscribe"});
        }
      }
      co_return query.child_count();
    }
  } catch (const ClientError& e) {
    throw ClientError(account_.username + ": roster: " + e.what());
  } catch (const boost::system::system_error& e) {
    throw ClientError(account_.username + ": roster: " + e.code().message());
  }
}

void XmppClient::start(StanzaHandler on_stanza, FailureHandler on_failure) {
  on_stanza_ = std::move(on_stanza);
  on_failure_ = std::move(on_failure);
  asio::co_spawn(stream_.get_executor(), read_loop(shared_from_this()), asio::detached);
  flush();
}

// The shared_ptr keeps the client alive as long as the loop runs.
asio::awaitable<void> XmppClient::read_loop(std::shared_ptr<XmppClient> /*self*/) {
  char buf[16 * 1024];
  try {
    for (;;) {
      auto ev = parser_.next();
      switch (ev.type) {
        case xml::StreamParser::EventType::NeedMore: {
          const std::size_t n = co_await stream_.async_read_some(asio::buffer(buf), use_awaitable);
          parser_.feed(std::string_view(buf, n));
          break;
        }
        case xml::StreamParser::EventType::StreamOpened:
          break;
        case xml::StreamParser::EventType::Element: {
          const xml::Element root = ev.element.root();
          if (root.is("error", ns::kStream)) {
            fail("stream error <" + condition_of(root) + "/>");
            co_return;
          }
          if (root.name() == "iq" && (root.attr("type") == "get" || root.attr("type") == "set")) {
            answer_iq(root);
            const xml::Element payload = root.first_child();
            const bool roster_push =
                root.attr("type") == "set" && payload && payload.is("query", kRoster);
            if (roster_push && on_stanza_) on_stanza_(root);
          } else if (on_stanza_) {
            on_stanza_(root);
          }
          break;
        }
        case xml::StreamParser::EventType::StreamClosed:
          fail("the server closed the stream");
          co_return;
        case xml::StreamParser::EventType::Error:
          fail("the server sent bad XML: " + ev.error_text);
          co_return;
      }
    }
  } catch (const boost::system::system_error& e) {
    fail("connection lost: " + e.code().message());
  }
}

void XmppClient::answer_iq(const xml::Element& iq) {
  const xml::Element payload = iq.first_child();
  std::string reply = "<iq type='";
  const bool ok = (payload && payload.is("ping", kPing)) ||
                  (iq.attr("type") == "set" && payload && payload.is("query", kRoster));
  reply += ok ? "result" : "error";
  reply += "' id='" + attr_escaped(iq.attr("id")) + "'";
  if (auto from = iq.find_attr("from")) reply += " to='" + attr_escaped(*from) + "'";
  if (ok) {
    reply += "/>";
  } else {
    // RFC 6120 §8.4: an IQ this client does not understand.
    reply +=
        "><error type='cancel'><service-unavailable "
        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>";
  }
  send(reply);
}

void XmppClient::send(std::string_view bytes) {
  out_.append(bytes);
  if (!account_.batch_writes) {
    flush();
    return;
  }
  if (writing_ || flush_posted_) return;
  // Written once the handlers running now have finished, with whatever else they queue for this
  // client meanwhile (a window refilled by several deliveries read at once).
  flush_posted_ = true;
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void XmppClient::flush() {
  if (writing_ || out_.empty() || closed_ || !on_failure_) return;  // before start(): held back
  writing_ = true;
  sending_.swap(out_);
  out_.clear();
  auto done = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    self->writing_ = false;
    self->sending_.clear();
    if (ec) {
      self->fail("write failed: " + ec.message());
      return;
    }
    self->flush();
  };
  asio::async_write(stream_, asio::buffer(sending_), done);
}

void XmppClient::finish() {
  if (closed_ || finishing_) return;
  send("</stream:stream>");
  finishing_ = true;
}

void XmppClient::fail(const std::string& what) {
  const bool report = !closed_ && !finishing_ && !failed_;
  failed_ = true;
  abort();
  if (report && on_failure_) on_failure_(what);
}

void XmppClient::abort() {
  closed_ = true;
  boost::system::error_code ignored;
  stream_.next_layer().socket().close(ignored);
}

std::string XmppClient::tls_suite() {
  if (!tls_) return {};
  SSL* ssl = stream_.native_handle();
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  if (cipher == nullptr) return {};
  return std::string(SSL_get_version(ssl)) + " " + SSL_CIPHER_get_name(cipher);
}

}  // namespace parley::load
