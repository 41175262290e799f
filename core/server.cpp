#include "core/server.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <spdlog/logger.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "core/c2s_listener.hpp"
#include "core/endpoint.hpp"
#include "core/pid_file.hpp"
#include "core/sasl/credentials.hpp"
#include "core/sasl/random.hpp"
#include "core/secret_file.hpp"
#include "core/server_state.hpp"
#include "core/tls/self_signed.hpp"
#include "core/tls/server_contexts.hpp"
#include "storage/worker.hpp"

namespace parley::core {

namespace asio = boost::asio;

namespace {


// Self-signed certificates for the domains that name none (first start, or a new domain).
void ensure_certificates(const Config& config, spdlog::logger& log) {
  for (const VirtualHost& host : config.hosts) {
    if (!host.certificate.empty()) continue;
    const auto cert = config.certificate_file(host);
    const auto key = config.private_key_file(host);
    if (tls::ensure_self_signed(cert, key, host.domain)) {
      log.info(
          "generated a self-signed certificate for {}: {} (key {}); clients will ask their users "
          "to accept it: replace it with a certificate from a CA for production use",
          host.domain, cert.string(), key.string());
    }
  }
}

unsigned io_threads(const Config& config) {
  if (config.threads != 0) return config.threads;
  return std::clamp(std::thread::hardware_concurrency(), 1u, kMaxThreads);
}

// 16 characters a person can type: lowercase letters and digits without look-alikes.
std::string demo_password() {
  static constexpr std::string_view kAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  std::string out;
  for (unsigned char b : sasl::random_bytes(16)) out += kAlphabet[b % kAlphabet.size()];
  return out;
}

}  // namespace

struct Server::Impl {
  Impl(Config c, std::shared_ptr<spdlog::logger> l, StreamIdSource ids) {
    state.config = std::make_shared<const Config>(std::move(c));
    state.log = std::move(l);
    state.make_stream_id = std::move(ids);
  }

  void stop_now() {
    if (stopping) return;
    stopping = true;
    std::size_t open = 0;
    for (auto* l : {c2s.get(), c2s_tls.get()}) open += l ? l->session_count() : 0;
    state.log->info("shutting down: closing {} client stream(s)", open);
    auto drained = [this] {
      if (--draining > 0) return;
      // Nothing left to wait for: let io.run() return.
      boost::system::error_code ignored;
      if (signals) signals->cancel(ignored);
      if (hup) hup->cancel(ignored);
      core_work.reset();
    };
    ++draining;  // held until every listener has been told, so none finishes the drain early
    for (auto* l : {c2s.get(), c2s_tls.get()}) {
      if (!l) continue;
      ++draining;
      l->stop(xml::StreamError::SystemShutdown, "the server is shutting down", drained);
    }
    if (federation) {
      state.log->info("closing {} server-to-server connection(s)", federation->link_count());
      ++draining;
      federation->stop(drained);
    }
    drained();
  }

  std::size_t session_count() const {
    std::size_t n = 0;
    for (auto* l : {c2s.get(), c2s_tls.get()}) n += l ? l->session_count() : 0;
    if (federation) n += federation->link_count();
    return n;
  }

  void wait_for_signal() {
    signals->async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;  // cancelled: shutdown finished
      if (!stopping) {
        state.log->info("received {}; stopping (send it again to close connections at once)",
                        signal == SIGINT ? "SIGINT" : "SIGTERM");
        stop_now();
        if (session_count() > 0) wait_for_signal();
      } else {
        state.log->warn("received a second signal; closing every connection now");
        for (auto* l : {c2s.get(), c2s_tls.get()}) {
          if (l) l->abort_all();
        }
        if (federation) federation->abort_all();
      }
    });
  }

  void add_host(const VirtualHost& config) {
    auto host = std::make_unique<Host>(state, config.domain);
    std::string names;
    for (const ModuleInfo* m : enabled_modules(config, modules)) {
      host->attach(*m);
      names += (names.empty() ? "" : " ") + m->name;
    }
    state.log->info("{}: modules {}", config.domain, names.empty() ? "(none)" : names);
    (void)host->caps_hash();  // computed now: sessions on other threads read it
    std::unique_lock lock(state.hosts_mutex);
    state.hosts.emplace(config.domain, std::move(host));
  }

  void wait_for_hup() {
    hup->async_wait([this](const boost::system::error_code& ec, int) {
      if (ec || stopping) return;
      reload();
      wait_for_hup();
    });
  }

  // SIGHUP: new configuration and certificates for new streams; open streams keep theirs.
  void reload() {
    state.log->info("received SIGHUP; reloading the configuration and certificates");
    try {
      Config next = reloader ? reloader() : Config(*state.config);
      if (auto problem = validate(next)) throw std::invalid_argument(*problem);
      const Config& current = *state.config;
      if (next.data_dir != current.data_dir || next.c2s.port != current.c2s.port ||
          next.c2s_tls.port != current.c2s_tls.port || next.bind_address != current.bind_address) {
        state.log->warn(
            "the data directory and listeners change only with a restart; "
            "keeping the current ones");
        next.data_dir = current.data_dir;
        next.c2s = current.c2s;
        next.c2s_tls = current.c2s_tls;
        next.bind_address = current.bind_address;
      }
      auto same = [](const ListenerConfig& a, const ListenerConfig& b) {
        return a.port == b.port && a.address == b.address;
      };
      if (next.threads != current.threads) {
        state.log->warn("the number of threads changes only with a restart; keeping {}",
                        current.threads);
        next.threads = current.threads;
      }
      if (!same(next.s2s.listener, current.s2s.listener) ||
          !same(next.s2s.tls_listener, current.s2s.tls_listener) ||
          next.s2s.enabled != current.s2s.enabled) {
        state.log->warn("federation's listeners change only with a restart; keeping them");
        next.s2s.listener = current.s2s.listener;
        next.s2s.tls_listener = current.s2s.tls_listener;
        next.s2s.enabled = current.s2s.enabled;
      }
      ensure_certificates(next, *state.log);
      auto contexts = tls::ServerContexts::load(next, "xmpp-client");
      state.config = std::make_shared<const Config>(std::move(next));
      state.c2s_tls = std::move(contexts);
      for (const auto& host : state.config->hosts) {
        if (!state.hosts.contains(host.domain)) add_host(host);
      }
      for (auto& [domain, host] : state.hosts) host->fire_reload();
      if (federation) federation->reload();
      state.log->info("reloaded: serving {} domain(s); open streams keep their settings",
                      state.config->hosts.size());
    } catch (const std::exception& e) {
      state.log->error("reload failed, the previous configuration stays in force: {}", e.what());
    }
  }

  std::unique_ptr<C2sListener> start_listener(const ListenerConfig& listener, bool direct_tls,
                                              std::string& address, std::uint16_t& port) {
    if (!listener.port) return nullptr;
    auto l = std::make_unique<C2sListener>(io.get_executor(), C2sContext{&state, direct_tls, {}});
    const std::string& bind =
        listener.address.empty() ? state.config->bind_address : listener.address;
    const auto endpoint = l->bind(bind, *listener.port);
    address = format_endpoint(endpoint);
    port = endpoint.port();
    return l;
  }

  // Threads past the first: an event loop each, running the client sessions given to it
  // (ServerState::session_executors). Declared before `io`: handlers left in the core's loop may
  // own sessions whose sockets belong to these.
  std::vector<std::unique_ptr<asio::io_context>> workers;
  std::vector<std::thread> worker_threads;
  // The core thread's loop: listeners, router, modules, federation, signals, and its share of
  // sessions. Kept running until every connection has drained, whatever the other threads hold.
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> core_work;
  ServerState state;
  std::unique_ptr<storage::Worker> storage;
  std::unique_ptr<C2sListener> c2s;
  std::unique_ptr<C2sListener> c2s_tls;
  std::optional<asio::signal_set> signals;
  std::optional<asio::signal_set> hup;
  std::function<Config()> reloader;
  std::vector<ModuleInfo> modules;
  RemoteDomainsFactory make_federation;
  std::unique_ptr<RemoteDomains> federation;
  std::string c2s_address;
  std::string c2s_tls_address;
  std::uint16_t c2s_port = 0;
  std::uint16_t c2s_tls_port = 0;
  int draining = 0;
  bool stopping = false;
};

Server::Server(Config config, std::shared_ptr<spdlog::logger> log, StreamIdSource stream_ids)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(log), std::move(stream_ids))) {}

Server::~Server() {
  // Sessions and listeners go before the hosts and the storage thread they use.
  impl_->c2s.reset();
  impl_->c2s_tls.reset();
  impl_->state.remote = nullptr;
  impl_->federation.reset();
  impl_->state.hosts.clear();
  if (impl_->state.config) remove_pid_file(impl_->state.config->data_dir);
  if (impl_->storage) impl_->storage->stop();
}

void Server::start() {
  Impl& impl = *impl_;
  const Config& config = *impl.state.config;
  auto& log = *impl.state.log;
  if (auto problem = validate(config)) throw std::invalid_argument(*problem);
  // A write to a connection the peer has reset must cost that connection, not the process:
  // Parley's own writes use MSG_NOSIGNAL (core/tls/TlsSocket), and this covers any library's.
  std::signal(SIGPIPE, SIG_IGN);

  if (std::filesystem::create_directories(config.data_dir)) {
    // It will hold private keys and the database: for Parley's user only.
    std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
  }
  ensure_certificates(config, log);
  // The SCRAM secret (sasl::ScramServerOptions::unknown_user_secret) lives in the data directory so
  // that fake salts of unknown users stay the same across restarts.
  impl.state.scram_secret = load_or_create_secret(config.data_dir / "scram-secret");
  write_pid_file(config.data_dir);

  storage::Worker::Options storage_options;
  storage_options.database = config.database_file();
  storage_options.on_error = [log = impl.state.log](std::string_view what) {
    log->error("storage: {}", what);
  };
  impl.storage = std::make_unique<storage::Worker>(std::move(storage_options));
  impl.state.storage = impl.storage.get();
  log.info("database: {}", config.database_file().string());

  impl.state.c2s_tls = tls::ServerContexts::load(config, "xmpp-client");
  impl.state.router = std::make_unique<Router>(impl.state);
  impl.state.executor = impl.io.get_executor();
  const unsigned threads = io_threads(config);
  impl.state.session_executors = {impl.io.get_executor()};
  for (unsigned i = 1; i < threads; ++i) {
    impl.workers.push_back(std::make_unique<asio::io_context>(1));
    impl.state.session_executors.push_back(impl.workers.back()->get_executor());
  }
  impl.state.handovers.set_executors(impl.io.get_executor(), impl.state.session_executors);
  log.info("serving with {} thread(s){}", threads, config.threads == 0 ? " (one per CPU core)" : "");
  for (const auto& host : config.hosts) impl.add_host(host);

  if (impl.make_federation && config.s2s.enabled) {
    impl.federation = impl.make_federation(impl.state);
    impl.federation->start();
    impl.state.remote = impl.federation.get();
  } else {
    log.info("federation is off: stanzas to other domains get remote-server-not-found");
  }
  impl.c2s = impl.start_listener(config.c2s, false, impl.c2s_address, impl.c2s_port);
  impl.c2s_tls = impl.start_listener(config.c2s_tls, true, impl.c2s_tls_address, impl.c2s_tls_port);
  std::string domains;
  for (const auto& h : config.hosts) domains += (domains.empty() ? "" : ", ") + h.domain;
  if (impl.c2s) {
    log.info("listening for clients on {} (STARTTLS{}); serving {}", impl.c2s_address,
             config.c2s_require_tls ? " required" : " optional", domains);
    impl.c2s->start();
  }
  if (impl.c2s_tls) {
    log.info("listening for clients on {} (direct TLS, XEP-0368)", impl.c2s_tls_address);
    impl.c2s_tls->start();
  }
}

const std::string& Server::c2s_address() const { return impl_->c2s_address; }
std::uint16_t Server::c2s_port() const { return impl_->c2s_port; }
std::uint16_t Server::c2s_tls_port() const { return impl_->c2s_tls_port; }
std::uint16_t Server::s2s_port() const {
  return impl_->federation ? impl_->federation->port() : 0;
}
std::uint16_t Server::s2s_tls_port() const {
  return impl_->federation ? impl_->federation->tls_port() : 0;
}
void Server::set_federation(RemoteDomainsFactory factory) {
  impl_->make_federation = std::move(factory);
}

std::optional<std::string> Server::ensure_demo_account(const std::string& user) {
  const Config& config = *impl_->state.config;
  const std::string domain = config.default_host().domain;
  std::optional<std::string> created;
  std::promise<void> done;
  auto future = done.get_future();
  const bool queued = impl_->storage->post([&](storage::Stores& s) {
    try {
      if (!s.accounts.exists(domain, user)) {
        std::string password = demo_password();
        const auto creds = sasl::make_credentials(password, config.scram_iterations);
        if (s.accounts.create(domain, user, creds) == storage::Result::Ok) created = password;
      }
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  if (!queued) throw std::runtime_error("storage is not running");
  future.get();
  return created;
}

void Server::set_modules(std::vector<ModuleInfo> modules) {
  impl_->modules = std::move(modules);
}

void Server::set_reloader(std::function<Config()> reloader) {
  impl_->reloader = std::move(reloader);
}

void Server::stop_on_signals() {
  impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
  impl_->wait_for_signal();
  impl_->hup.emplace(impl_->io, SIGHUP);
  impl_->wait_for_hup();
}

void Server::run() {
  Impl& impl = *impl_;
  impl.core_work.emplace(impl.io.get_executor());
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> worker_work;
  for (std::size_t i = 0; i < impl.workers.size(); ++i) {
    asio::io_context& worker = *impl.workers[i];
    worker_work.emplace_back(worker.get_executor());
    impl.worker_threads.emplace_back([&worker, i, log = impl.state.log] {
      // Named for top -H and the like: parley-io1, parley-io2, ... (the core thread is the main one).
      const std::string name = "parley-io" + std::to_string(i + 1);
      pthread_setname_np(pthread_self(), name.c_str());
      try {
        worker.run();
      } catch (const std::exception& e) {
        log->critical("an io thread stopped: {}", e.what());
        std::abort();  // a session's failure is caught in the session; this is a bug
      }
    });
  }
  auto stop_workers = [&] {
    worker_work.clear();
    for (auto& worker : impl.workers) worker->stop();
    for (auto& thread : impl.worker_threads) thread.join();
    impl.worker_threads.clear();
  };
  try {
    impl.io.run();
  } catch (...) {
    stop_workers();
    throw;
  }
  // Every connection has closed: what the other loops still hold is only finished operations.
  stop_workers();
  impl.state.log->info("stopped");
}

void Server::stop() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->stop_now(); });
}

}  // namespace parley::core
