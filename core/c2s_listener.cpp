#include "core/c2s_listener.hpp"

#include <spdlog/logger.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <system_error>
#include <utility>
#include <vector>

#include "core/endpoint.hpp"
#include "core/server_state.hpp"

namespace parley::core {
namespace {

namespace asio = boost::asio;
using boost::asio::ip::tcp;

// After a failed accept (e.g. EMFILE) wait a little instead of spinning on the same error.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

}  // namespace

C2sListener::C2sListener(asio::any_io_executor executor, C2sContext context)
    : acceptor_(std::move(executor)), context_(std::move(context)) {
  // Sessions close on their own threads; the listener's bookkeeping is the core thread's.
  context_.on_closed = [this, core = acceptor_.get_executor()](std::uint64_t number) {
    asio::dispatch(core, [this, number] { session_closed(number); });
  };
}

tcp::endpoint C2sListener::bind(const std::string& address, std::uint16_t port) {
  return bind_listener(acceptor_, address, port, "clients", *context_.state->log);
}

void C2sListener::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [this](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      context_.state->log->error("the c2s listener stopped: {}", e.what());
    }
  });
}

asio::awaitable<void> C2sListener::accept_loop() {
  while (acceptor_.is_open()) {
    // Each new session runs on the next io thread in turn (ServerState::session_executors).
    auto& state = *context_.state;
    asio::any_io_executor home = acceptor_.get_executor();
    if (!state.session_executors.empty()) {
      home = state.session_executors[state.next_session_executor++ %
                                     state.session_executors.size()];
    }
    auto [ec, socket] =
        co_await acceptor_.async_accept(home, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      context_.state->log->warn("accepting a client connection failed: {}", ec.message());
      asio::steady_timer backoff(acceptor_.get_executor(), kAcceptBackoff);
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (stopping_) break;  // accepted just before stop(): closing the socket is the answer
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // stanzas are small and latency matters
    const std::uint64_t number = context_.state->next_session_number++;
    auto session = std::make_shared<C2sSession>(std::move(socket), context_, number);
    context_.state->log->info("c2s#{} connection from {}{}", number, session->peer(),
                              context_.direct_tls ? " (direct TLS)" : "");
    sessions_.emplace(number, session);
    asio::dispatch(home, [session] { session->start(); });
  }
}

void C2sListener::stop(xml::StreamError condition, std::string_view reason,
                       std::function<void()> on_drained) {
  stopping_ = true;
  on_drained_ = std::move(on_drained);
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  // Sessions remove themselves from sessions_ as they close: iterate over a snapshot.
  std::vector<std::shared_ptr<C2sSession>> open;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (auto session = it->second.lock()) {
      open.push_back(std::move(session));
      ++it;
    } else {
      it = sessions_.erase(it);
    }
  }
  for (const auto& session : open) session->shutdown(condition, reason);
  if (sessions_.empty() && on_drained_) std::exchange(on_drained_, nullptr)();
}

void C2sListener::abort_all() {
  std::vector<std::shared_ptr<C2sSession>> open;
  for (const auto& [number, weak] : sessions_) {
    if (auto session = weak.lock()) open.push_back(std::move(session));
  }
  for (const auto& session : open) session->abort();
}

void C2sListener::session_closed(std::uint64_t number) {
  sessions_.erase(number);
  if (stopping_ && sessions_.empty() && on_drained_) std::exchange(on_drained_, nullptr)();
}

}  // namespace parley::core
