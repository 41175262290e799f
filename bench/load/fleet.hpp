// The clients of one scenario: logs in accounts PREFIX<first>…, a bounded number at a time,
// then each asks for its roster, starts receiving and sends initial presence (RFC 6121 §4.2),
// as a real client does; with two servers, each client on the server its Layout says. It times
// each login and, when asked, keeps the rosters and counts failed logins instead of stopping.
// Also the one way a scenario waits: Wakeup.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/load/layout.hpp"
#include "bench/load/scenario.hpp"
#include "bench/load/xmpp_client.hpp"

namespace parley::load {

using Clock = std::chrono::steady_clock;

// `s` seconds as a Clock duration (options are given in seconds, as doubles).
inline Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// CLOCK_REALTIME minus the steady clock, in ns, read as closely together as the two clocks allow
// (kernel socket timestamps are CLOCK_REALTIME; parley-load's are steady).
std::int64_t realtime_minus_steady_ns();

// One line of progress on standard error ("parley-load: ..."), so that a long login phase is
// visible and a script can start a profiler when the measurement starts.
void progress(const std::string& what);

// "2.5" for 2.5 (at most 6 significant digits, no trailing zeros), for messages.
std::string seconds_text(double seconds);

// Lets a scenario coroutine sleep until a deadline or until a stanza handler says something
// changed. A notify() while nobody waits is not remembered: wait in a loop on the condition
// (there is one thread, so nothing happens between the test and the wait).
class Wakeup {
 public:
  explicit Wakeup(asio::any_io_executor executor) : timer_(executor) {}
  void notify() { timer_.cancel(); }
  asio::awaitable<void> wait_until(Clock::time_point deadline);
  // Until `done()` holds or `deadline` passes; returns done().
  asio::awaitable<bool> wait_for(const std::function<bool()>& done, Clock::time_point deadline);

 private:
  asio::steady_timer timer_;
};

class Fleet {
 public:
  // Called on each stanza client `index` receives, and when its stream fails.
  using StanzaHandler = std::function<void(std::size_t index, const xml::Element&)>;
  using FailureHandler = std::function<void(std::size_t index, const std::string& what)>;

  explicit Fleet(Context& context) : context_(context), wakeup_(context.executor) {}
  // Closes every connection still open (without reporting failures), so that io_context::run()
  // returns even when a scenario ends with an exception.
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Spreads the clients over two servers (Options::port2…) as `layout` says; before connect().
  // Without it every client logs in to the one server, client i as account first+i.
  void place(const Layout& layout) { layout_ = layout; }

  // Before connect(): a client that cannot log in (or times out) is counted and closed, and the
  // others go on (failed_logins(), login_failed(i)), rather than connect() throwing. For the
  // scenarios that measure logins themselves (`logins`, `idle`).
  void tolerate_login_failures() { tolerate_failures_ = true; }
  // Before connect(): keep every client's roster items (roster(i)), not only their number.
  void keep_rosters() { keep_rosters_ = true; }

  // Logs in `count` clients (accounts first … first+count-1) and makes each available.
  // Throws ClientError when one of them cannot log in (unless tolerate_login_failures()).
  // --login-concurrency clients are between connecting and sending initial presence at once.
  asio::awaitable<void> connect(std::size_t count, StanzaHandler on_stanza,
                                FailureHandler on_failure);

  XmppClient& operator[](std::size_t i) { return *clients_[i]; }
  std::size_t size() const { return clients_.size(); }
  // Roster items client i received at login.
  std::size_t roster_items(std::size_t i) const { return roster_items_[i]; }
  // Those items; empty unless keep_rosters() was called.
  const std::vector<RosterItem>& roster(std::size_t i) const { return rosters_[i]; }
  // now_ns() when client i started connecting, and when it had sent initial presence (0 when
  // its login failed).
  std::int64_t login_started_ns(std::size_t i) const { return timing_[i].started_ns; }
  std::int64_t available_ns(std::size_t i) const { return timing_[i].available_ns; }
  // With tolerate_login_failures(): whether client i could not log in, how many could not, and
  // the first few reasons.
  bool login_failed(std::size_t i) const { return timing_[i].available_ns == 0; }
  std::size_t failed_logins() const { return failed_logins_; }
  // The most logins that were in progress at once (at most --login-concurrency).
  std::size_t max_logins_in_progress() const { return max_in_progress_; }
  const std::vector<std::string>& login_errors() const { return login_errors_; }
  // The bare JID of client i (PREFIX<first+i>@domain with one server), for addressing.
  std::string bare_jid(std::size_t i) const;
  double login_seconds() const { return login_seconds_; }

  // Ends every stream and waits up to `timeout` for the server to close them.
  asio::awaitable<void> close_all(std::chrono::milliseconds timeout);

 private:
  asio::awaitable<void> login_worker(std::size_t count);
  // Client i's account, on its server.
  Account account(std::size_t i) const;

  Context& context_;
  Wakeup wakeup_;
  std::optional<Layout> layout_;
  std::vector<std::shared_ptr<XmppClient>> clients_;
  std::vector<std::size_t> roster_items_;
  std::vector<std::vector<RosterItem>> rosters_;
  struct Timing {
    std::int64_t started_ns = 0;
    std::int64_t available_ns = 0;
  };
  std::vector<Timing> timing_;
  bool tolerate_failures_ = false;
  bool keep_rosters_ = false;
  std::size_t failed_logins_ = 0;
  std::size_t in_progress_ = 0;
  std::size_t max_in_progress_ = 0;
  std::vector<std::string> login_errors_;
  StanzaHandler on_stanza_;
  FailureHandler on_failure_;
  std::size_t next_ = 0;
  std::size_t workers_done_ = 0;
  std::exception_ptr error_;
  double login_seconds_ = 0;
};

}  // namespace parley::load
