#include "core/server.hpp"

#include <spdlog/logger.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <utility>

#include "core/c2s_listener.hpp"
#include "core/endpoint.hpp"
#include "core/tls/self_signed.hpp"

namespace parley::core {

namespace asio = boost::asio;

struct Server::Impl {
  Impl(Config c, std::shared_ptr<spdlog::logger> l, StreamIdSource ids)
      : config(std::move(c)),
        log(std::move(l)),
        c2s(io.get_executor(), C2sContext{config.default_host().domain, log, std::move(ids), nullptr}) {}

  void stop_now() {
    if (stopping) return;
    stopping = true;
    log->info("shutting down: closing {} client stream(s)", c2s.session_count());
    c2s.stop(xml::StreamError::SystemShutdown, "the server is shutting down", [this] {
      // Nothing left to wait for: let io.run() return.
      if (signals) {
        boost::system::error_code ignored;
        signals->cancel(ignored);
      }
    });
  }

  void wait_for_signal() {
    signals->async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;  // cancelled: shutdown finished
      if (!stopping) {
        log->info("received {}; stopping (send it again to close connections at once)",
                  signal == SIGINT ? "SIGINT" : "SIGTERM");
        stop_now();
        if (c2s.session_count() > 0) wait_for_signal();
      } else {
        log->warn("received a second signal; closing every connection now");
        c2s.abort_all();
      }
    });
  }

  asio::io_context io{1};  // one thread for now; one io_context per shard later (DESIGN.md)
  Config config;
  std::shared_ptr<spdlog::logger> log;
  C2sListener c2s;
  std::optional<asio::signal_set> signals;
  std::string c2s_address;
  std::uint16_t c2s_port = 0;
  bool stopping = false;
};

Server::Server(Config config, std::shared_ptr<spdlog::logger> log, StreamIdSource stream_ids)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(log), std::move(stream_ids))) {}

Server::~Server() = default;

void Server::start() {
  const Config& config = impl_->config;
  auto& log = *impl_->log;
  if (auto problem = validate(config)) throw std::invalid_argument(*problem);

  std::filesystem::create_directories(config.data_dir);
  const VirtualHost& host = config.default_host();
  const auto cert = config.certificate_file(host);
  const auto key = config.private_key_file(host);
  if (tls::ensure_self_signed(cert, key, host.domain)) {
    log.info(
        "generated a self-signed certificate for {}: {} (key {}); replace them with a "
        "certificate from a CA for production use",
        host.domain, cert.string(), key.string());
  } else {
    log.info("using the certificate {} (key {})", cert.string(), key.string());
  }

  const auto endpoint = impl_->c2s.bind(config.bind_address, config.c2s.port.value_or(kDefaultC2sPort));
  impl_->c2s_address = format_endpoint(endpoint);
  impl_->c2s_port = endpoint.port();
  log.info("listening for clients on {} (serving {})", impl_->c2s_address, host.domain);
  impl_->c2s.start();
}

const std::string& Server::c2s_address() const { return impl_->c2s_address; }

std::uint16_t Server::c2s_port() const { return impl_->c2s_port; }

void Server::stop_on_signals() {
  impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
  impl_->wait_for_signal();
}

void Server::run() {
  impl_->io.run();
  impl_->log->info("stopped");
}

void Server::stop() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->stop_now(); });
}

}  // namespace parley::core
