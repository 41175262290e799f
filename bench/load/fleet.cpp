// See fleet.hpp.
#include "bench/load/fleet.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <iostream>
#include <limits>

#include "bench/load/stamped_socket.hpp"

namespace parley::load {

std::int64_t realtime_minus_steady_ns() {
  // The pair read closest together of a few tries: a read that was preempted shows a long gap.
  std::int64_t best_gap = std::numeric_limits<std::int64_t>::max();
  std::int64_t offset = 0;
  for (int i = 0; i < 5; ++i) {
    const std::int64_t before = now_ns();
    const std::int64_t real = realtime_now_ns();
    const std::int64_t after = now_ns();
    if (after - before < best_gap) {
      best_gap = after - before;
      offset = real - (before + (after - before) / 2);
    }
  }
  return offset;
}

void progress(const std::string& what) { std::cerr << "parley-load: " << what << std::endl; }

std::string seconds_text(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", seconds);
  return buf;
}

asio::awaitable<void> Wakeup::wait_until(Clock::time_point deadline) {
  timer_.expires_at(deadline);
  co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled: notified
}

asio::awaitable<bool> Wakeup::wait_for(const std::function<bool()>& done,
                                       Clock::time_point deadline) {
  while (!done() && Clock::now() < deadline) co_await wait_until(deadline);
  co_return done();
}

Fleet::~Fleet() {
  for (auto& c : clients_) {
    if (c) c->abort();
  }
}

Account Fleet::account(std::size_t i) const {
  const Options& o = context_.options;
  Account a;
  const bool on_b = layout_ && layout_->server(i) == 1;
  const std::size_t number = o.first + (layout_ ? layout_->account(i) : i);
  a.host = on_b ? o.host2 : o.host;
  a.port = on_b ? o.port2 : o.port;
  a.domain = on_b ? o.domain2 : o.domain;
  a.username = (on_b ? o.users2 : o.users) + std::to_string(number);
  a.password = o.password;
  a.mechanism = o.mechanism;
  a.resource = o.resource;
  a.batch_writes = o.batch_writes;
  a.arrival_stamps = o.rate > 0;
  return a;
}

std::string Fleet::bare_jid(std::size_t i) const {
  const Account a = account(i);
  return a.username + "@" + a.domain;
}

asio::awaitable<void> Fleet::connect(std::size_t count, StanzaHandler on_stanza,
                                     FailureHandler on_failure) {
  on_stanza_ = std::move(on_stanza);
  on_failure_ = std::move(on_failure);
  clients_.resize(count);
  roster_items_.assign(count, 0);
  rosters_.assign(keep_rosters_ ? count : 0, {});
  timing_.assign(count, {});
  failed_logins_ = 0;
  max_in_progress_ = 0;
  login_errors_.clear();
  next_ = 0;
  workers_done_ = 0;
  const auto start = Clock::now();
  const std::size_t workers = std::max<std::size_t>(1, context_.options.login_concurrency);
  for (std::size_t w = 0; w < workers; ++w) {
    asio::co_spawn(context_.executor, login_worker(count), [this](std::exception_ptr e) {
      if (e && !error_) error_ = e;
      ++workers_done_;
      wakeup_.notify();
    });
  }
  co_await wakeup_.wait_for([&] { return workers_done_ == workers; }, Clock::time_point::max());
  login_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
  if (error_) std::rethrow_exception(error_);
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", login_seconds_);
  if (failed_logins_ > 0) {
    progress(std::to_string(count - failed_logins_) + " of " + std::to_string(count) +
             " clients logged in and available in " + took + " s; " +
             std::to_string(failed_logins_) + " could not log in");
  } else {
    progress(std::to_string(count) + " clients logged in and available in " + took + " s");
  }
}

asio::awaitable<void> Fleet::login_worker(std::size_t count) {
  const Options& o = context_.options;
  while (next_ < count && !error_) {
    const std::size_t i = next_++;
    auto client = std::make_shared<XmppClient>(context_.executor, context_.tls, account(i));
    clients_[i] = client;
    // A server that stops answering must not hang the run.
    auto timed_out = std::make_shared<bool>(false);
    asio::steady_timer timer(context_.executor);
    timer.expires_after(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o.login_timeout_seconds)));
    timer.async_wait([client, timed_out](const boost::system::error_code& ec) {
      if (ec) return;
      *timed_out = true;
      client->abort();
    });
    timing_[i].started_ns = now_ns();
    max_in_progress_ = std::max(max_in_progress_, ++in_progress_);
    std::string error;
    try {
      co_await client->login();
      if (o.fetch_roster) {
        std::vector<RosterItem>* items = keep_rosters_ ? &rosters_[i] : nullptr;
        roster_items_[i] = co_await client->fetch_roster(items);
      }
    } catch (const ClientError& e) {
      error = e.what();
      if (*timed_out) {
        error +=
            " (no answer within --login-timeout " + seconds_text(o.login_timeout_seconds) + " s)";
      }
    }
    timer.cancel();
    if (!error.empty()) {
      --in_progress_;
      if (!tolerate_failures_) throw ClientError(error);
      client->abort();
      ++failed_logins_;
      if (login_errors_.size() < 5) login_errors_.push_back(error);
      continue;
    }
    client->start([this, i](const xml::Element& e) { on_stanza_(i, e); },
                  [this, i](const std::string& what) { on_failure_(i, what); });
    client->send("<presence/>");
    timing_[i].available_ns = now_ns();
    --in_progress_;
  }
}

asio::awaitable<void> Fleet::close_all(std::chrono::milliseconds timeout) {
  for (auto& c : clients_) {
    if (c) c->finish();
  }
  // Nobody notifies when a stream closes: look every 20 ms.
  const auto deadline = Clock::now() + timeout;
  auto all_closed = [&] {
    for (auto& c : clients_) {
      if (c && !c->closed()) return false;
    }
    return true;
  };
  while (!all_closed() && Clock::now() < deadline) {
    co_await wakeup_.wait_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
  }
  for (auto& c : clients_) {
    if (c) c->abort();
  }
}

}  // namespace parley::load
