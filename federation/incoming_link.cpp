#include "federation/incoming_link.hpp"

#include <openssl/ssl.h>
#include <spdlog/logger.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/config.hpp"
#include "core/jid.hpp"
#include "core/router.hpp"
#include "core/sasl/base64.hpp"
#include "core/server_state.hpp"
#include "federation/dialback_key.hpp"
#include "federation/manager.hpp"
#include "federation/pki/peer_verifier.hpp"
#include "federation/pki/s2s_tls.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::federation {
namespace {

namespace asio = boost::asio;
using boost::asio::ip::tcp;

// Dialback verifications one incoming stream may have in flight, and domain pairs it may
// authenticate (a stream multiplexes a few virtual hosts of one provider, not hundreds).
constexpr std::size_t kMaxPendingDialbacks = 8;
constexpr std::size_t kMaxAuthorizedPairs = 64;

bool is_stanza_name(std::string_view name) {
  return name == "message" || name == "presence" || name == "iq";
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

IncomingLink::IncomingLink(Manager& manager, tcp::socket socket, bool direct_tls,
                           std::uint64_t number)
    : S2sStream(manager.server(), std::move(socket), "s2s-in", number),
      manager_(manager),
      direct_tls_(direct_tls),
      idle_(manager.server().executor) {}

IncomingLink::~IncomingLink() = default;

asio::awaitable<bool> IncomingLink::prelude() {
  arm_idle_timer();
  if (!direct_tls_) co_return true;
  // XEP-0368: TLS from the first byte; SNI picks the certificate.
  auto tls = manager_.tls();
  const std::function<void(ssl_st*)> no_preparation;
  const bool secured =
      co_await start_tls(tls->server_context(), /*as_server=*/true, no_preparation);
  co_return secured;
}

void IncomingLink::arm_idle_timer() {
  // Unauthenticated links get the c2s limit; authenticated ones [s2s] idle_timeout.
  const auto limit = authorized_.empty() ? server().config->limits.unauthenticated_timeout
                                         : server().config->s2s.idle_timeout;
  idle_.expires_at(last_activity() + limit);
  idle_.async_wait([weak = weak_from_this(), this](const boost::system::error_code& ec) {
    if (ec || weak.expired() || is_closed()) return;
    const auto limit_now = authorized_.empty() ? server().config->limits.unauthenticated_timeout
                                               : server().config->s2s.idle_timeout;
    if (std::chrono::steady_clock::now() - last_activity() >= limit_now) {
      if (authorized_.empty()) {
        stream_error(xml::StreamError::ConnectionTimeout, "no authentication in time");
      } else {
        log().info("{} {}: idle; closing", name(), peer());
        close_stream();
      }
      return;
    }
    arm_idle_timer();
  });
}

void IncomingLink::on_header(const xml::StreamHeader& header) {
  const std::string to = lower(header.attr("to"));
  const std::string from = lower(header.attr("from"));
  if (to.empty() || manager_.server().router->host(to) == nullptr) {
    local_ = manager_.server().config->default_host().domain;
    stream_error(xml::StreamError::HostUnknown,
                 to.empty() ? "the stream header has no 'to'" : to + " is not served here");
    return;
  }
  if (!local_.empty() && local_ != to) {
    stream_error(xml::StreamError::HostUnknown, "the restarted stream names another domain");
    return;
  }
  local_ = to;
  if (!from.empty()) claimed_ = from;
  stream_id_ = server().make_stream_id();
  log().debug("{} {}: stream from '{}' to {}", name(), peer(), loggable(claimed_), local_);
  send_header(local_, claimed_, stream_id_);
  // RFC 6120 §4.7.5: a peer without version='1.0' gets no features (pre-RFC dialback only).
  if (!header.attr("version").empty()) send_features();
}

bool IncomingLink::certificate_valid_for(const std::string& domain) {
  if (!tls_active() || domain.empty()) return false;
  auto it = certificate_cache_.find(domain);
  if (it != certificate_cache_.end()) return it->second;
  const auto certificate = pki::verify_peer(ssl(), domain, manager_.anchors());
  log().info("{} {}: certificate for {}: {}", name(), peer(), domain, certificate.describe());
  return certificate_cache_[domain] = certificate.valid();
}

void IncomingLink::send_features() {
  const core::S2sConfig& s2s = server().config->s2s;
  xml::Document features = xml::Document::create("features", xml::ns::kStream);
  xml::Element root = features.root();
  if (!tls_active()) {
    auto starttls = root.append_child("starttls", xml::ns::kTls);
    if (s2s.require_tls) starttls.append_child("required");
  }
  if (!sasl_done_ && (tls_active() || !s2s.require_tls)) {
    // XEP-0178 §3: EXTERNAL only when the certificate already validated for the claimed domain.
    if (certificate_valid_for(claimed_)) {
      auto mechanisms = root.append_child("mechanisms", xml::ns::kSasl);
      mechanisms.append_child("mechanism").append_text("EXTERNAL");
    }
    // XEP-0220 §2.1: dialback, with dialback errors.
    root.append_child("dialback", xml::ns::kDialbackFeature).append_child("errors");
    // XEP-0288: we can answer over the peer's stream.
    root.append_child("bidi", xml::ns::kBidiFeature);
  }
  send(root);
}

asio::awaitable<void> IncomingLink::on_element(xml::Document document) {
  const xml::Element e = document.root();
  const std::string_view ns = e.ns();
  const std::string_view name = e.name();
  const core::S2sConfig& s2s = server().config->s2s;

  if (ns == xml::ns::kTls && name == "starttls") {
    co_await on_starttls();
    co_return;
  }
  // RFC 6120 §5.3.1: with TLS required, nothing but STARTTLS before it.
  if (!tls_active() && s2s.require_tls) {
    stream_error(xml::StreamError::PolicyViolation, "TLS is required before anything else");
    co_return;
  }
  if (ns == xml::ns::kSasl && name == "auth") {
    on_sasl_auth(e);
    co_return;
  }
  if (ns == xml::ns::kDialback && name == "result" && e.attr("type").empty()) {
    on_dialback_result(e);
    co_return;
  }
  if (ns == xml::ns::kDialback && name == "verify" && e.attr("type").empty()) {
    on_dialback_verify(e);
    co_return;
  }
  if (ns == xml::ns::kBidi && name == "bidi") {
    // XEP-0288 §2: the peer will take stanzas for its domains over this stream.
    bidi_ = true;
    log().info("{} {}: bidirectional stream requested (XEP-0288)", this->name(), peer());
    for (const auto& [remote, local] : authorized_) manager_.register_bidi(local, remote, self());
    co_return;
  }
  if (ns == xml::ns::kServer && is_stanza_name(name)) {
    co_await on_stanza(std::move(document));
    co_return;
  }
  stream_error(xml::StreamError::UnsupportedStanzaType,
               "unexpected element <" + loggable(name) + "/> in " + loggable(ns));
}

asio::awaitable<void> IncomingLink::on_starttls() {
  if (tls_active() || sasl_done_ || !authorized_.empty()) {
    send(xml::Document::create("failure", xml::ns::kTls).root());
    stream_error(xml::StreamError::UnsupportedStanzaType, "STARTTLS is not available now");
    co_return;
  }
  send(xml::Document::create("proceed", xml::ns::kTls).root());
  co_await flush();
  if (state() != State::Open) co_return;
  auto tls = manager_.tls();
  const std::string local = local_;
  const std::function<void(ssl_st*)> prepare = [tls, local](ssl_st* ssl) {
    tls->prepare_server(ssl, local);
  };
  const bool secured = co_await start_tls(tls->server_context(), /*as_server=*/true, prepare);
  if (!secured) co_return;
  // RFC 6120 §5.4.3.3: a new stream over TLS.
  restart();
}

void IncomingLink::on_sasl_auth(xml::Element auth) {
  auto failure = [&](std::string_view condition, std::string_view why) {
    xml::Document f = xml::Document::create("failure", xml::ns::kSasl);
    f.root().append_child(condition);
    send(f.root());
    log().info("{} {}: SASL EXTERNAL refused: {}", name(), peer(), why);
  };
  if (sasl_done_ || auth.attr("mechanism") != "EXTERNAL") {
    failure("invalid-mechanism", "not EXTERNAL");
    return;
  }
  // XEP-0178 §3: the authorization identity, "=" or absent meaning the stream's 'from'.
  std::string authzid;
  const std::string text = auth.text();
  if (!text.empty() && text != "=") {
    auto decoded = core::sasl::base64_decode(text);
    if (!decoded) {
      failure("incorrect-encoding", "bad base64");
      return;
    }
    authzid = lower(*decoded);
  }
  if (authzid.empty()) authzid = claimed_;
  if (authzid.empty() || (!claimed_.empty() && authzid != claimed_)) {
    failure("invalid-authzid", "the authorization identity is not the stream's 'from'");
    return;
  }
  if (!certificate_valid_for(authzid)) {
    failure("not-authorized", "the certificate does not validate for " + authzid);
    return;
  }
  send(xml::Document::create("success", xml::ns::kSasl).root());
  sasl_done_ = true;
  claimed_ = authzid;
  authorize(authzid, local_);
  log().info("{} {}: {} authenticated with SASL EXTERNAL for {}", name(), peer(), authzid, local_);
  restart();
}

void IncomingLink::dialback_answer(const std::string& local, const std::string& remote,
                                   std::string_view type, std::string_view error_condition) {
  send(dialback_element("result", local, remote, {}, type, {}, error_condition));
}

void IncomingLink::on_dialback_result(xml::Element result) {
  const std::string remote = lower(result.attr("from"));
  const std::string local = lower(result.attr("to"));
  const std::string key = result.text();
  // XEP-0220 §2.4: dialback errors for a domain we do not serve or a malformed request.
  if (local.empty() || manager_.server().router->host(local) == nullptr) {
    dialback_answer(local, remote, "error", "item-not-found");
    return;
  }
  if (!core::is_valid_domain(remote) || key.empty()) {
    dialback_answer(local, remote, "error", "improper-addressing");
    return;
  }
  if (authorized_.contains({remote, local})) {
    dialback_answer(local, remote, "valid");
    return;
  }
  // XEP-0344 §2.4: a certificate that validates for the domain proves it without calling back.
  if (certificate_valid_for(remote)) {
    authorize(remote, local);
    log().info("{} {}: {} authenticated by dialback for {} (certificate)", name(), peer(), remote,
               local);
    dialback_answer(local, remote, "valid");
    return;
  }
  if (server().config->s2s.require_valid_certificates) {
    log().info("{} {}: dialback from {} refused: its certificate does not validate", name(), peer(),
               remote);
    dialback_answer(local, remote, "error", "not-authorized");
    return;
  }
  // A peer could make us call many domains back; a real server needs a handful per stream.
  if (dialback_pending_.size() >= kMaxPendingDialbacks ||
      authorized_.size() >= kMaxAuthorizedPairs) {
    dialback_answer(local, remote, "error", "policy-violation");
    return;
  }
  if (!dialback_pending_.emplace(remote, local).second) return;  // already being checked
  // XEP-0220 §2.2: ask the authoritative server, without holding up this stream.
  auto check = [self = self(), local, remote, key]() -> asio::awaitable<void> {
    const auto answer =
        co_await self->manager_.verify_dialback(local, remote, self->stream_id_, key);
    self->dialback_pending_.erase({remote, local});
    if (self->state() != State::Open) co_return;
    if (!answer) {
      self->log().info("{} {}: could not verify dialback from {}: its server is unreachable",
                       self->name(), self->peer(), remote);
      self->dialback_answer(local, remote, "error", "remote-connection-failed");
      co_return;
    }
    if (*answer) {
      self->authorize(remote, local);
      self->arm_idle_timer();
    }
    self->log().info("{} {}: {} {} by dialback for {}", self->name(), self->peer(), remote,
                     *answer ? "authenticated" : "NOT authenticated", local);
    self->dialback_answer(local, remote, *answer ? "valid" : "invalid");
  };
  asio::co_spawn(server().executor, std::move(check), asio::detached);
}

void IncomingLink::on_dialback_verify(xml::Element verify) {
  // We are the authoritative server (XEP-0220 §2.3.2): is this a key we issued?
  const std::string receiving = lower(verify.attr("from"));
  const std::string originating = lower(verify.attr("to"));
  const std::string id(verify.attr("id"));
  if (originating.empty() || manager_.server().router->host(originating) == nullptr) {
    send(dialback_element("verify", originating, receiving, id, "error", {}, "item-not-found"));
    return;
  }
  const std::string expected = dialback_key(manager_.dialback_secret(), receiving, originating, id);
  const bool valid = keys_equal(expected, verify.text());
  log().info("{} {}: dialback key check for {} -> {}: {}", name(), peer(), originating, receiving,
             valid ? "valid" : "invalid");
  send(dialback_element("verify", originating, receiving, id, valid ? "valid" : "invalid", {}));
}

asio::awaitable<void> IncomingLink::on_stanza(xml::Document document) {
  if (authorized_.empty()) {
    stream_error(xml::StreamError::NotAuthorized, "a stanza before authentication");
    co_return;
  }
  const std::function<bool(const std::string&, const std::string&)> authorized =
      [this](const std::string& from, const std::string& to) {
        return authorized_.contains({from, to});
      };
  co_await accept_stanza(std::move(document), authorized);
}

void IncomingLink::authorize(const std::string& remote, const std::string& local) {
  authorized_.emplace(remote, local);
  if (bidi_) manager_.register_bidi(local, remote, self());
}

std::shared_ptr<IncomingLink> IncomingLink::self() {
  return std::static_pointer_cast<IncomingLink>(shared_from_this());
}

void IncomingLink::on_closed() {
  idle_.cancel();
  manager_.link_closed(*this);
}

}  // namespace parley::federation
