#include "federation/manager.hpp"

#include <spdlog/logger.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "core/config.hpp"
#include "core/endpoint.hpp"
#include "core/router.hpp"
#include "core/secret_file.hpp"
#include "core/server_state.hpp"
#include "federation/dns/resolver.hpp"
#include "federation/incoming_link.hpp"
#include "federation/outgoing_link.hpp"
#include "federation/pki/s2s_tls.hpp"
#include "federation/pki/trust_anchors.hpp"

namespace parley::federation {
namespace {

namespace asio = boost::asio;
using boost::asio::ip::tcp;
constexpr std::chrono::milliseconds kAcceptBackoff{100};

std::string link_key(std::string_view local, std::string_view remote) {
  std::string key(local);
  key += ' ';
  key += remote;
  return key;
}

dns::ResolverOptions resolver_options(const core::Config& config) {
  dns::ResolverOptions options;
  options.resolv_conf = config.s2s.resolv_conf;
  options.servers = config.s2s.dns_servers;
  // DNS gets at most a third of the connect bound, leaving time to connect and authenticate.
  options.timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.s2s.connect_timeout / 3);
  return options;
}

}  // namespace

Manager::Manager(core::ServerState& server) : server_(server) {}

Manager::~Manager() {
  // Links refer to the manager: close them before it goes.
  abort_all();
}

void Manager::start() {
  const core::Config& config = *server_.config;
  auto& log = *server_.log;
  // XEP-0185: dialback keys from a secret that survives restarts (keys in flight stay valid).
  secret_ = core::load_or_create_secret(config.data_dir / "dialback-secret");
  anchors_ = pki::TrustAnchors::load(
      config.s2s.ca_file.empty() ? std::nullopt
                                 : std::optional<std::filesystem::path>(config.s2s.ca_file));
  tls_ = pki::S2sTls::load(config, anchors_);
  resolver_ = std::make_unique<dns::Resolver>(server_.executor, resolver_options(config));

  auto open = [&](const core::ListenerConfig& listener, bool direct_tls,
                  std::unique_ptr<tcp::acceptor>& acceptor, std::uint16_t& port) {
    if (!listener.port) return;
    acceptor = std::make_unique<tcp::acceptor>(server_.executor);
    const std::string& bind = listener.address.empty() ? config.bind_address : listener.address;
    const auto endpoint = core::bind_listener(*acceptor, bind, *listener.port,
                                              direct_tls ? "servers (direct TLS)" : "servers", log);
    port = endpoint.port();
    log.info("listening for servers on {} ({})", core::format_endpoint(endpoint),
             direct_tls ? "direct TLS, XEP-0368"
                        : (config.s2s.require_tls ? "STARTTLS required" : "STARTTLS optional"));
  };
  open(config.s2s.listener, false, acceptor_, port_);
  open(config.s2s.tls_listener, true, tls_acceptor_, tls_port_);
  for (auto* a : {acceptor_.get(), tls_acceptor_.get()}) {
    if (a == nullptr) continue;
    const bool direct = a == tls_acceptor_.get();
    asio::co_spawn(server_.executor, accept_loop(*a, direct), [this](std::exception_ptr error) {
      if (!error) return;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        server_.log->error("an s2s listener stopped: {}", e.what());
      }
    });
  }
  log.info("federation on: {} valid certificates{}, trust anchors {}",
           config.s2s.require_valid_certificates ? "requiring" : "preferring",
           config.s2s.require_valid_certificates ? "" : " (dialback otherwise)",
           config.s2s.ca_file.empty() ? std::string("from the system store")
                                      : config.s2s.ca_file.string());
}

asio::awaitable<void> Manager::accept_loop(tcp::acceptor& acceptor, bool direct_tls) {
  while (acceptor.is_open()) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
      server_.log->warn("accepting a server connection failed: {}", ec.message());
      asio::steady_timer backoff(acceptor.get_executor(), kAcceptBackoff);
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (stopping_) break;
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const std::uint64_t number = server_.next_session_number++;
    auto link = std::make_shared<IncomingLink>(*this, std::move(socket), direct_tls, number);
    server_.log->info("{} connection from {}{}", link->name(), link->peer(),
                      direct_tls ? " (direct TLS)" : "");
    incoming_.emplace(number, link);
    link->start();
  }
}

std::shared_ptr<OutgoingLink> Manager::outgoing(const std::string& local,
                                                const std::string& remote) {
  const std::string key = link_key(local, remote);
  auto it = outgoing_.find(key);
  if (it != outgoing_.end() && it->second->usable()) return it->second;
  auto link = std::make_shared<OutgoingLink>(*this, local, remote, server_.next_session_number++);
  outgoing_[key] = link;
  link->start();
  return link;
}

void Manager::send(core::StanzaPtr stanza) {
  if (stopping_) {
    bounce(std::move(stanza), core::StanzaError::RemoteServerNotFound,
           "the server is shutting down");
    return;
  }
  const std::string local(stanza->from().domain());
  const std::string remote(stanza->to()->domain());
  const std::string key = link_key(local, remote);
  if (auto it = bidi_.find(key); it != bidi_.end()) {
    if (auto link = it->second.lock(); link && link->usable()) {
      link->send_to_peer(*stanza);
      return;
    }
    bidi_.erase(it);
  }
  outgoing(local, remote)->enqueue(std::move(stanza));
}

asio::awaitable<std::optional<bool>> Manager::verify_dialback(std::string local, std::string remote,
                                                              std::string stream_id,
                                                              std::string key) {
  if (stopping_) co_return std::nullopt;
  auto link = outgoing(local, remote);
  co_return co_await link->verify(std::move(stream_id), std::move(key));
}

void Manager::bounce(core::StanzaPtr stanza, core::StanzaError condition, std::string text) {
  core::Router* router = server_.router.get();
  auto job = [router, stanza = std::move(stanza), condition,
              text = std::move(text)]() -> asio::awaitable<void> {
    co_await router->bounce(*stanza, condition, text);
  };
  asio::co_spawn(server_.executor, std::move(job), asio::detached);
}

void Manager::link_closed(const OutgoingLink& link) {
  auto it = outgoing_.find(link_key(link.local(), link.remote()));
  // Keep the object alive until this call returns: it is the caller.
  std::shared_ptr<OutgoingLink> keep;
  if (it != outgoing_.end() && it->second.get() == &link) {
    keep = std::move(it->second);
    outgoing_.erase(it);
  }
  if (keep) asio::post(server_.executor, [keep] {});
  check_drained();
}

void Manager::register_bidi(const std::string& local, const std::string& remote,
                            std::shared_ptr<IncomingLink> link) {
  server_.log->info("{}: {} -> {} goes over this bidirectional stream (XEP-0288)", link->name(),
                    local, remote);
  bidi_[link_key(local, remote)] = link;
}

void Manager::link_closed(const IncomingLink& link) {
  std::erase_if(bidi_, [&](const auto& entry) {
    auto alive = entry.second.lock();
    return !alive || alive.get() == &link;
  });
  auto it = incoming_.find(link.number());
  std::shared_ptr<IncomingLink> keep;
  if (it != incoming_.end()) {
    keep = std::move(it->second);
    incoming_.erase(it);
  }
  if (keep) asio::post(server_.executor, [keep] {});
  check_drained();
}

void Manager::check_drained() {
  if (stopping_ && outgoing_.empty() && incoming_.empty() && on_drained_) {
    std::exchange(on_drained_, nullptr)();
  }
}

void Manager::reload() {
  try {
    const core::Config& config = *server_.config;
    auto anchors = pki::TrustAnchors::load(
        config.s2s.ca_file.empty() ? std::nullopt
                                   : std::optional<std::filesystem::path>(config.s2s.ca_file));
    auto tls = pki::S2sTls::load(config, anchors);
    anchors_ = std::move(anchors);
    tls_ = std::move(tls);
    server_.log->info("federation: reloaded certificates and trust anchors for new links");
  } catch (const std::exception& e) {
    server_.log->error("federation: reload failed, keeping the previous certificates: {}",
                       e.what());
  }
}

void Manager::stop(std::function<void()> done) {
  stopping_ = true;
  on_drained_ = std::move(done);
  boost::system::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (tls_acceptor_) tls_acceptor_->close(ignored);
  std::vector<std::shared_ptr<S2sStream>> open;
  for (auto& [key, link] : outgoing_) open.push_back(link);
  for (auto& [number, link] : incoming_) open.push_back(link);
  for (auto& link : open) {
    if (link->header_sent()) {
      link->stream_error(xml::StreamError::SystemShutdown, "the server is shutting down");
    } else {
      link->abort();  // still resolving or connecting: nothing to say goodbye to
    }
  }
  check_drained();
}

void Manager::abort_all() {
  std::vector<std::shared_ptr<S2sStream>> open;
  for (auto& [key, link] : outgoing_) open.push_back(link);
  for (auto& [number, link] : incoming_) open.push_back(link);
  for (auto& link : open) link->abort();
}

std::size_t Manager::link_count() const { return outgoing_.size() + incoming_.size(); }

}  // namespace parley::federation
