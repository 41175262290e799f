#include "federation/outgoing_link.hpp"

#include <openssl/ssl.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/config.hpp"
#include "core/endpoint.hpp"
#include "core/sasl/base64.hpp"
#include "core/server_state.hpp"
#include "federation/dialback_key.hpp"
#include "federation/dns/resolver.hpp"
#include "federation/manager.hpp"
#include "federation/pki/peer_verifier.hpp"
#include "federation/pki/s2s_tls.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::federation {
namespace {

namespace asio = boost::asio;
using boost::asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// One connection attempt (TCP and, for direct TLS, the handshake) gets at most this long, so that
// a black-holed first candidate leaves time for the next.
constexpr std::chrono::seconds kAttemptTimeout{10};
// Stanzas queued per link while it connects; beyond, the sender gets resource-constraint.
constexpr std::size_t kDefaultQueueLimit = 1000;

}  // namespace

OutgoingLink::OutgoingLink(Manager& manager, std::string local, std::string remote,
                           std::uint64_t number)
    : S2sStream(manager.server(), tcp::socket(manager.server().executor), "s2s-out", number),
      manager_(manager),
      local_(std::move(local)),
      remote_(std::move(remote)),
      deadline_(manager.server().executor),
      idle_(manager.server().executor) {}

OutgoingLink::~OutgoingLink() = default;

bool OutgoingLink::usable() const { return state() != State::Closing && state() != State::Closed; }

void OutgoingLink::start() {
  log().info("{}: connecting {} -> {}", name(), local_, remote_);
  // RFC 6120 §3.2 leaves the time to the server; [s2s] connect_timeout bounds resolution,
  // connection and authentication together, so queued stanzas get their error in time.
  deadline_.expires_after(server().config->s2s.connect_timeout);
  deadline_.async_wait([weak = weak_from_this(), this](const boost::system::error_code& ec) {
    if (ec || weak.expired()) return;
    if (phase_ == Phase::Ready) return;
    fail(core::StanzaError::RemoteServerTimeout,
         remote_ + " did not answer within " +
             std::to_string(server().config->s2s.connect_timeout.count()) + " s");
    abort();
  });
  start_io();
}

void OutgoingLink::enqueue(core::StanzaPtr stanza) {
  if (phase_ == Phase::Ready && state() == State::Open) {
    send_stanza(*stanza);
    return;
  }
  const std::size_t limit = server().config->s2s.max_queued_stanzas > 0
                                ? server().config->s2s.max_queued_stanzas
                                : kDefaultQueueLimit;
  if (queue_.size() >= limit) {
    manager_.bounce(std::move(stanza), core::StanzaError::ResourceConstraint,
                    "too many stanzas waiting for the connection to " + remote_);
    return;
  }
  queue_.push_back(std::move(stanza));
}

asio::awaitable<std::optional<bool>> OutgoingLink::verify(std::string stream_id, std::string key) {
  if (!usable()) co_return std::nullopt;
  auto& pending = verifies_[stream_id];
  if (!pending.wake) {
    pending.wake = std::make_shared<asio::steady_timer>(server().executor,
                                                        asio::steady_timer::time_point::max());
  }
  auto wake = pending.wake;
  verifies_to_send_.emplace_back(stream_id, std::move(key));
  if (can_verify_) send_pending_verifies();
  co_await wake->async_wait(kUseTuple);
  auto it = verifies_.find(stream_id);
  if (it == verifies_.end()) co_return std::nullopt;
  std::optional<bool> answer = it->second.answer;
  if (it->second.done) verifies_.erase(it);
  co_return answer;
}

void OutgoingLink::send_pending_verifies() {
  for (auto& [id, key] : verifies_to_send_) {
    send(dialback_element("verify", local_, remote_, id, {}, key));
  }
  verifies_to_send_.clear();
}

void OutgoingLink::finish_verifies() {
  for (auto& [id, pending] : verifies_) {
    pending.done = true;
    if (pending.wake) pending.wake->cancel();
  }
  verifies_to_send_.clear();
}

// --- connecting --------------------------------------------------------------------------------

asio::awaitable<bool> OutgoingLink::prelude() {
  // GCC 12 miscompiles a co_await inside an if-condition of some coroutines: named results.
  const bool connected = co_await connect();
  if (!connected) co_return false;
  send_header(local_, remote_, {});
  co_return true;
}

asio::awaitable<bool> OutgoingLink::connect() {
  const core::S2sConfig& s2s = server().config->s2s;
  dns::Result resolved;
  const auto route = std::find_if(s2s.routes.begin(), s2s.routes.end(),
                                  [&](const core::S2sRoute& r) { return r.domain == remote_; });
  if (route != s2s.routes.end()) {
    resolved =
        co_await manager_.resolver().resolve_host(route->host, route->port, route->direct_tls);
  } else {
    resolved = co_await manager_.resolver().resolve_s2s(remote_);
  }
  if (state() == State::Closed) co_return false;
  if (!resolved.error.empty() || resolved.endpoints.empty()) {
    const std::string why = resolved.error.empty() ? "no address" : resolved.error;
    log().info("{}: cannot resolve {}: {}", name(), remote_, why);
    fail(resolved.timed_out ? core::StanzaError::RemoteServerTimeout
                            : core::StanzaError::RemoteServerNotFound,
         "cannot resolve " + remote_ + ": " + why);
    co_return false;
  }
  // Outgoing links leave from the address the s2s listener is bound to, when it names one.
  const std::string& bind_text =
      s2s.listener.address.empty() ? server().config->bind_address : s2s.listener.address;
  boost::system::error_code bind_ec;
  const auto bind_address = asio::ip::make_address(bind_text, bind_ec);
  const bool bind_source = !bind_text.empty() && !bind_ec && !bind_address.is_unspecified();

  std::string last_error = "no candidate";
  for (const dns::Endpoint& candidate : resolved.endpoints) {
    if (state() == State::Closed) co_return false;
    boost::system::error_code ec;
    socket().close(ec);
    socket().open(candidate.endpoint.protocol(), ec);
    if (ec) {
      last_error = ec.message();
      continue;
    }
    if (bind_source && bind_address.is_v4() == candidate.endpoint.address().is_v4()) {
      socket().bind(tcp::endpoint(bind_address, 0), ec);
      if (ec) log().warn("{}: cannot send from {}: {}", name(), bind_text, ec.message());
    }
    asio::steady_timer attempt(server().executor, kAttemptTimeout);
    attempt.async_wait([this, weak = weak_from_this()](const boost::system::error_code& e) {
      if (e || weak.expired()) return;
      boost::system::error_code ignored;
      socket().cancel(ignored);
    });
    auto [connect_ec] = co_await socket().async_connect(candidate.endpoint, kUseTuple);
    if (state() == State::Closed) co_return false;
    if (connect_ec) {
      attempt.cancel();
      last_error = core::format_endpoint(candidate.endpoint) + ": " +
                   (connect_ec == asio::error::operation_aborted ? std::string("timed out")
                                                                 : connect_ec.message());
      log().info("{}: connecting to {} ({}) failed: {}", name(), remote_, candidate.host,
                 last_error);
      continue;
    }
    set_peer(core::format_endpoint(candidate.endpoint));
    socket().set_option(tcp::no_delay(true), ec);
    log().info("{}: connected to {} at {}{}", name(), remote_, peer(),
               candidate.direct_tls ? " (direct TLS)" : "");
    if (candidate.direct_tls) {
      auto tls = manager_.tls();
      const std::function<void(ssl_st*)> prepare = [this](ssl_st* ssl) {
        pki::S2sTls::prepare_client(ssl, remote_, /*direct_tls=*/true);
      };
      const bool ok = co_await start_tls(tls->client_context(local_), /*as_server=*/false, prepare,
                                         /*close_on_failure=*/false);
      if (state() == State::Closed) co_return false;
      if (!ok) {
        attempt.cancel();
        last_error = peer() + ": TLS handshake failed";
        continue;
      }
      const auto certificate = pki::verify_peer(ssl(), remote_, manager_.anchors());
      certificate_valid_ = certificate.valid();
      log().info("{}: certificate of {}: {}", name(), remote_, certificate.describe());
    }
    attempt.cancel();
    co_return true;
  }
  fail(core::StanzaError::RemoteServerNotFound, "cannot connect to " + remote_ + ": " + last_error);
  co_return false;
}

// --- the stream --------------------------------------------------------------------------------

void OutgoingLink::on_header(const xml::StreamHeader& header) {
  stream_id_ = std::string(header.attr("id"));
  peer_has_version_ = !header.attr("version").empty();
  // XEP-0220 §2.1: a peer that declares the dialback namespace speaks dialback.
  if (header.namespace_of("db") == xml::ns::kDialback) peer_offers_dialback_ = true;
  if (phase_ == Phase::Connecting) phase_ = Phase::Negotiating;
  if (!peer_has_version_) {
    // A pre-RFC 6120 peer sends no features: dialback at once (XEP-0220 §2.1.1).
    if (server().config->s2s.require_tls && !tls_active()) {
      fail(core::StanzaError::RemoteServerNotFound, remote_ + " does not offer TLS");
      close_stream();
      return;
    }
    can_verify_ = true;
    send_pending_verifies();
    send_dialback();
  }
}

asio::awaitable<void> OutgoingLink::on_element(xml::Document document) {
  const xml::Element e = document.root();
  const std::string_view ns = e.ns();
  const std::string_view tag = e.name();
  if (ns == xml::ns::kStream && tag == "features") {
    co_await on_features(e);
    co_return;
  }
  if (ns == xml::ns::kStream && tag == "error") {
    std::string condition = "undefined-condition";
    std::string text;
    for (xml::Element c : e.children()) {
      if (c.ns() != xml::ns::kStreamErrors) continue;
      if (c.name() == "text") {
        text = c.text();
      } else {
        condition = std::string(c.name());
      }
    }
    log().info("{}: {} sent stream error {}{}{}", name(), remote_, condition,
               text.empty() ? "" : ": ", loggable(text));
    fail(core::StanzaError::RemoteServerNotFound,
         remote_ + " closed the connection with " + condition);
    close_stream();
    co_return;
  }
  if (ns == xml::ns::kTls && tag == "proceed" && phase_ == Phase::StartTls) {
    co_await flush();
    if (state() != State::Open) co_return;
    auto tls = manager_.tls();
    const std::function<void(ssl_st*)> prepare = [this](ssl_st* ssl) {
      pki::S2sTls::prepare_client(ssl, remote_, /*direct_tls=*/false);
    };
    const bool secured =
        co_await start_tls(tls->client_context(local_), /*as_server=*/false, prepare);
    if (!secured) {
      fail(core::StanzaError::RemoteServerNotFound,
           "the TLS handshake with " + remote_ + " failed");
      co_return;
    }
    const auto certificate = pki::verify_peer(ssl(), remote_, manager_.anchors());
    certificate_valid_ = certificate.valid();
    log().info("{}: certificate of {}: {}", name(), remote_, certificate.describe());
    restart();
    phase_ = Phase::Negotiating;
    send_header(local_, remote_, {});
    co_return;
  }
  if (ns == xml::ns::kTls && tag == "failure") {
    fail(core::StanzaError::RemoteServerNotFound, remote_ + " refused TLS");
    close_stream();
    co_return;
  }
  if (ns == xml::ns::kSasl && phase_ == Phase::Sasl) {
    if (tag == "success") {
      // RFC 6120 §6.4.6: a new stream; the link is ready at its features.
      sasl_succeeded_ = true;
      method_ = "SASL EXTERNAL";
      restart();
      send_header(local_, remote_, {});
      co_return;
    }
    if (tag == "failure") {
      // Some peers offer EXTERNAL and then refuse it when they could not validate our
      // certificate (ejabberd): dialback on the same stream, as Prosody does.
      std::string condition;
      if (auto c = e.first_child()) condition = std::string(c.name());
      log().info("{}: {} refused SASL EXTERNAL ({}); {}", name(), remote_, condition,
                 peer_offers_dialback_ ? "trying dialback" : "it offers nothing else");
      if (peer_offers_dialback_ && !server().config->s2s.require_valid_certificates) {
        send_dialback();
      } else {
        fail(core::StanzaError::RemoteServerNotFound,
             remote_ + " did not accept our certificate (SASL EXTERNAL " + condition + ")");
        close_stream();
      }
      co_return;
    }
  }
  if (ns == xml::ns::kDialback && tag == "result" && phase_ == Phase::Dialback) {
    const std::string_view type = e.attr("type");
    if (type == "valid" && e.attr("from") == remote_ && e.attr("to") == local_) {
      method_ = "dialback";
      on_ready();
    } else {
      log().info("{}: {} answered our dialback with type '{}'", name(), remote_, loggable(type));
      fail(core::StanzaError::RemoteServerNotFound,
           remote_ + " did not accept our dialback (" + std::string(loggable(type)) + ")");
      close_stream();
    }
    co_return;
  }
  if (ns == xml::ns::kDialback && tag == "verify") {
    auto it = verifies_.find(std::string(e.attr("id")));
    if (it != verifies_.end() && e.attr("from") == remote_) {
      it->second.answer = e.attr("type") == "valid";
      it->second.done = true;
      it->second.wake->cancel();
    }
    co_return;
  }
  if (bidi_ && phase_ == Phase::Ready && ns == xml::ns::kServer &&
      (tag == "message" || tag == "presence" || tag == "iq")) {
    // XEP-0288: the peer answers over our stream, for the pair this stream authenticated.
    const std::function<bool(const std::string&, const std::string&)> authorized =
        [this](const std::string& from, const std::string& to) {
          return from == remote_ && to == local_;
        };
    co_await accept_stanza(std::move(document), authorized);
    co_return;
  }
  // Nothing else belongs on an outgoing stream.
  stream_error(xml::StreamError::UnsupportedStanzaType,
               "unexpected <" + loggable(tag) + "/> on an outgoing stream");
  co_return;
}

asio::awaitable<void> OutgoingLink::on_features(xml::Element features) {
  const core::S2sConfig& s2s = server().config->s2s;
  if (sasl_succeeded_) {
    on_ready();
    co_return;
  }
  if (features.child("dialback", xml::ns::kDialbackFeature)) peer_offers_dialback_ = true;
  if (!tls_active()) {
    if (features.child("starttls", xml::ns::kTls)) {
      phase_ = Phase::StartTls;
      send(xml::Document::create("starttls", xml::ns::kTls).root());
      co_return;
    }
    if (s2s.require_tls) {
      fail(core::StanzaError::RemoteServerNotFound,
           remote_ + " does not offer TLS, which [s2s] require_tls asks for");
      close_stream();
      co_return;
    }
  }
  can_verify_ = true;
  send_pending_verifies();
  if (s2s.require_valid_certificates && !certificate_valid_) {
    fail(core::StanzaError::RemoteServerNotFound,
         "the certificate of " + remote_ +
             " does not validate, and [s2s] require_valid_certificates is on");
    close_stream();
    co_return;
  }
  // XEP-0288 §2: ask for a bidirectional stream before authenticating, when offered.
  if (!bidi_ && features.child("bidi", xml::ns::kBidiFeature)) {
    bidi_ = true;
    send(xml::Document::create("bidi", xml::ns::kBidi).root());
  }
  // XEP-0178: SASL EXTERNAL when offered (the peer validated our certificate).
  if (auto mechanisms = features.child("mechanisms", xml::ns::kSasl); mechanisms && tls_active()) {
    for (xml::Element m : mechanisms.children()) {
      if (m.name() == "mechanism" && m.text() == "EXTERNAL" && !tried_external_) {
        tried_external_ = true;
        phase_ = Phase::Sasl;
        xml::Document auth = xml::Document::create("auth", xml::ns::kSasl);
        auth.root().set_attr("mechanism", "EXTERNAL");
        // XEP-0178 §3: the authorization identity is our domain.
        auth.root().append_text(core::sasl::base64_encode(local_));
        send(auth.root());
        co_return;
      }
    }
  }
  if (peer_offers_dialback_ && !s2s.require_valid_certificates) {
    send_dialback();
    co_return;
  }
  fail(core::StanzaError::RemoteServerNotFound,
       remote_ + " offers no authentication we can use (no SASL EXTERNAL for our certificate, " +
           (s2s.require_valid_certificates ? "and dialback is off)" : "no dialback)"));
  close_stream();
}

void OutgoingLink::send_dialback() {
  phase_ = Phase::Dialback;
  // XEP-0220 §2.1.1: the key for (receiving = remote, originating = local, the peer's stream id).
  const std::string key = dialback_key(manager_.dialback_secret(), remote_, local_, stream_id_);
  send(dialback_element("result", local_, remote_, {}, {}, key));
}

void OutgoingLink::on_ready() {
  phase_ = Phase::Ready;
  deadline_.cancel();
  log().info("{}: {} -> {} ready ({}{}), {} stanza(s) queued", name(), local_, remote_, method_,
             tls_active() ? ", TLS" : ", no TLS", queue_.size());
  while (!queue_.empty()) {
    send_stanza(*queue_.front());
    queue_.pop_front();
  }
  arm_idle_timer();
}

void OutgoingLink::arm_idle_timer() {
  const auto idle = server().config->s2s.idle_timeout;
  idle_.expires_at(last_activity() + idle);
  idle_.async_wait([weak = weak_from_this(), this](const boost::system::error_code& ec) {
    if (ec || weak.expired() || state() != State::Open) return;
    if (std::chrono::steady_clock::now() - last_activity() >= server().config->s2s.idle_timeout) {
      log().info("{}: {} -> {} idle; closing", name(), local_, remote_);
      close_stream();
      return;
    }
    arm_idle_timer();
  });
}

void OutgoingLink::fail(core::StanzaError condition, std::string reason) {
  if (phase_ == Phase::Ready) return;
  failure_ = condition;
  failure_text_ = std::move(reason);
  log().info("{}: {} -> {} failed: {}", name(), local_, remote_, failure_text_);
}

void OutgoingLink::on_closed() {
  deadline_.cancel();
  idle_.cancel();
  finish_verifies();
  // RFC 6120 §8.3.3: every stanza that could not go gets its error; nothing is dropped silently.
  auto queue = std::move(queue_);
  queue_.clear();
  for (auto& stanza : queue) manager_.bounce(std::move(stanza), failure_, failure_text_);
  manager_.link_closed(*this);
}

}  // namespace parley::federation
