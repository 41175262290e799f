// Scenario `messages`: one-to-one chat throughput and end-to-end latency.
//
// --clients accounts log in and become available. Client i sends <message type='chat'/> to the
// bare JID of client (i+1) mod M (or, with --random-partner, of a random other client for each
// message), keeping --window messages in flight: a message leaves the sender's window only when
// its RECIPIENT has received it (or the sender got it back as an error), and the next one is sent
// at once. Each body carries sender, recipient, sequence number and send time (body_codec.hpp).
//
// Timeline: --warmup seconds of traffic, then --seconds measured (deliveries, latencies and the
// server's CPU time count only here), then no new messages while the ones in flight arrive, for
// at most --drain seconds. Every message sent must by then have been delivered exactly once, to
// the right client, in order per sender and recipient (RFC 6120 §10.1); anything else is a
// problem that fails the run.
//
// With --rate R the load is open-loop instead: R messages per second in all, on a fixed schedule
// spread evenly over the senders (rate_schedule.hpp), whether or not earlier ones have arrived;
// --window is then unused. A message due while parley-load is late goes out at once. The body
// carries the time the message was handed to the client's writer (not its scheduled time), so
// latency does not include parley-load's own lateness, which is reported on its own
// (send_lag_*). This compares servers' latency at the same offered load. Open-loop clients also
// stamp their reads (stamped_socket.hpp), so a second latency (arrival_latency_*) ends where the
// server's bytes reached the recipient's socket rather than where parley-load read them.
//
// Across two federated servers (--port2 …, layout.hpp): half the clients log in to server A,
// half to server B; client k of A writes to client k of B (and, with --both-directions, B's to
// A's), so each message goes sender → A → s2s → B → recipient, and counts only once the
// recipient on the other server has it. Both servers' CPU time is measured.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "bench/load/body_codec.hpp"
#include "bench/load/fleet.hpp"
#include "bench/load/latency.hpp"
#include "bench/load/layout.hpp"
#include "bench/load/rate_schedule.hpp"
#include "bench/load/server_meter.hpp"
#include "bench/load/stall_probe.hpp"
#include "xml/namespaces.hpp"

namespace parley::load {

namespace {

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

namespace ns = parley::xml::ns;

enum class Phase { Connecting, Warmup, Measure, Drain };

constexpr std::uint8_t kInFlight = 0;
constexpr std::uint8_t kDelivered = 1;
constexpr std::uint8_t kBounced = 2;

class MessagesRun {
 public:
  explicit MessagesRun(Context& context)
      : options_(context.options),
        layout_(context.options.two_servers()
                    ? Layout::two_servers(context.options.clients, context.options.both_directions
                                                                       ? Direction::Both
                                                                       : Direction::OneWay)
                    : Layout::single(context.options.clients)),
        fleet_(context),
        wakeup_(context.executor),
        rate_timer_(context.executor),
        rng_(context.options.seed) {}

  asio::awaitable<Outcome> run() {
    const std::size_t m = layout_.clients();
    if (options_.window < 1) throw std::invalid_argument("--window must be at least 1");
    senders_.resize(m);
    if (open_loop()) {
      for (std::size_t i = 0; i < m; ++i) {
        if (layout_.sends(i)) sending_.push_back(i);
      }
      schedule_.emplace(options_.rate, sending_.size());
    }
    fleet_.place(layout_);
    for (std::size_t i = 0; i < m; ++i) to_.push_back(fleet_.bare_jid(i));
    const Snapshot start = take_snapshot();
    co_await fleet_.connect(
        m, [this](std::size_t i, const xml::Element& e) { on_stanza(i, e); },
        [this](std::size_t i, const std::string& what) { on_failure(i, what); });
    co_await settle();
    login_ = interval(start, take_snapshot());

    phase_ = Phase::Warmup;
    if (open_loop()) {
      asio::co_spawn(rate_timer_.get_executor(), rate_loop(), [this](std::exception_ptr e) {
        if (e && !rate_error_) rate_error_ = e;
        rate_loop_done_ = true;
        wakeup_.notify();
      });
    } else {
      for (std::size_t i = 0; i < m; ++i) pump(i);
    }
    co_await sleep_until(Clock::now() + seconds(options_.warmup_seconds));

    progress("measuring");
    realtime_minus_steady_ns_ = realtime_minus_steady_ns();
    const Snapshot before = take_snapshot();
    measure_start_ns_ =
        std::chrono::duration_cast<std::chrono::nanoseconds>(before.at.time_since_epoch()).count();
    if (!options_.stall_probe_cpus.empty()) {
      probe_.start(options_.stall_probe_cpus, options_.stall_period_ms,
                   options_.stall_threshold_ms);
    }
    phase_ = Phase::Measure;
    co_await sleep_until(before.at + seconds(options_.seconds));
    const Snapshot after = take_snapshot();
    phase_ = Phase::Drain;
    clock_step_ns_ = realtime_minus_steady_ns() - realtime_minus_steady_ns_;
    progress("measured; draining");
    if (open_loop()) {
      rate_timer_.cancel();
      const std::function<bool()> stopped = [this] { return rate_loop_done_; };
      co_await wakeup_.wait_for(stopped, Clock::time_point::max());
      if (rate_error_) std::rethrow_exception(rate_error_);
    }

    const auto drain_start = Clock::now();
    co_await wakeup_.wait_for([this] { return in_flight_ == 0; },
                              drain_start + seconds(options_.drain_seconds));
    const double drain_seconds = std::chrono::duration<double>(Clock::now() - drain_start).count();
    // Still in flight now: lost, even if some arrive while the streams close.
    lost_ = in_flight_;
    probe_.stop();
    co_await fleet_.close_all(std::chrono::seconds(5));
    write_latency_log();
    co_return outcome(before, after, drain_seconds);
  }

 private:
  Snapshot take_snapshot() const {
    return snapshot(options_.server_pid, layout_.federated(), options_.server2_pid);
  }

  // Until `deadline`, whatever notifies the wakeup meanwhile.
  asio::awaitable<void> sleep_until(Clock::time_point deadline) {
    while (Clock::now() < deadline) co_await wakeup_.wait_until(deadline);
  }

  // Initial presence echoes and whatever else a server sends at login have arrived once nothing
  // came for a while.
  asio::awaitable<void> settle() {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline &&
           Clock::now() - last_stanza_ < seconds(options_.settle_seconds)) {
      co_await wakeup_.wait_until(last_stanza_ + seconds(options_.settle_seconds));
    }
  }

  std::size_t pick_recipient(std::size_t sender) {
    if (!options_.random_partner) return layout_.partner(sender);
    std::uniform_int_distribution<std::size_t> r(0, layout_.choices() - 1);
    return layout_.choice(sender, r(rng_));
  }

  bool open_loop() const { return options_.rate > 0; }

  // Sends one message from client i, stamped with the time it is handed to the client.
  void send_message(std::size_t i) {
    Sender& s = senders_[i];
    MessageStamp stamp;
    stamp.sender = static_cast<std::uint32_t>(i);
    stamp.recipient = static_cast<std::uint32_t>(pick_recipient(i));
    stamp.seq = s.state.size();
    s.state.push_back(kInFlight);
    ++s.in_flight;
    ++in_flight_;
    ++sent_;
    if (phase_ == Phase::Measure) ++sent_measured_;
    std::string xml = "<message type='chat' id='m" + std::to_string(stamp.seq) + "' to='" +
                      to_[stamp.recipient] + "'><body>";
    stamp.sent_ns = now_ns();
    xml += encode_body(stamp);
    xml += "</body></message>";
    fleet_[i].send(xml);
  }

  // Closed loop: fills client i's window.
  void pump(std::size_t i) {
    if (open_loop()) return;
    if (phase_ != Phase::Warmup && phase_ != Phase::Measure) return;
    if (!layout_.sends(i)) return;
    while (senders_[i].in_flight < options_.window && !fleet_[i].closed()) send_message(i);
  }

  // Open loop: sends every message as the schedule makes it due, through warm-up and the
  // measured interval, whatever has arrived.
  asio::awaitable<void> rate_loop() {
    const Clock::time_point start = Clock::now();
    const std::int64_t start_ns = now_ns();
    std::uint64_t next = 0;
    while (phase_ == Phase::Warmup || phase_ == Phase::Measure) {
      const std::uint64_t due = schedule_->due_by(now_ns() - start_ns);
      for (; next < due; ++next) {
        const std::size_t i = sending_[schedule_->sender(next)];
        if (fleet_[i].closed()) {
          ++unsent_;  // its stream failed, which is an error already
          continue;
        }
        send_message(i);
        if (phase_ == Phase::Measure) {
          send_lag_.add(now_ns() - (start_ns + schedule_->due_at(next)));
        }
      }
      rate_timer_.expires_at(start + std::chrono::nanoseconds(schedule_->due_at(next)));
      co_await rate_timer_.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled: drain
    }
  }

  void settle_one(std::size_t sender) {
    --senders_[sender].in_flight;
    --in_flight_;
    if (phase_ == Phase::Drain) {
      if (in_flight_ == 0) wakeup_.notify();
    } else {
      pump(sender);
    }
  }

  void on_stanza(std::size_t i, const xml::Element& e) {
    const std::int64_t received_ns = now_ns();
    last_stanza_ = Clock::now();
    if (e.name() != "message") return;
    const std::string body = e.child("body", ns::kClient).text();
    const auto stamp = decode_body(body);
    if (e.attr("type") == "error") {
      // Our own message came back (RFC 6120 §8.3): it will not be delivered.
      ++bounced_;
      note("a message came back as an error: " + condition(e));
      if (stamp && stamp->sender == i && stamp->seq < senders_[i].state.size() &&
          senders_[i].state[stamp->seq] == kInFlight) {
        senders_[i].state[stamp->seq] = kBounced;
        settle_one(i);
      } else if (senders_[i].in_flight > 0) {
        // The server did not return the body: free the oldest slot so the sender goes on.
        settle_one(i);
      }
      return;
    }
    if (!stamp) {
      ++malformed_;
      note("a message whose body parley-load did not write: '" + body.substr(0, 80) + "'");
      return;
    }
    if (stamp->sender >= senders_.size() || stamp->seq >= senders_[stamp->sender].state.size()) {
      ++malformed_;
      note("a message stamped with a sender or sequence number never used");
      return;
    }
    if (stamp->recipient != i) {
      ++misdelivered_;
      note("a message for client " + std::to_string(stamp->recipient) + " reached client " +
           std::to_string(i));
    }
    Sender& s = senders_[stamp->sender];
    if (s.state[stamp->seq] != kInFlight) {
      ++duplicates_;
      note("a message was delivered twice");
      return;
    }
    s.state[stamp->seq] = kDelivered;
    ++delivered_;
    // RFC 6120 §10.1: in order per sender and recipient.
    const std::uint64_t pair = (std::uint64_t{stamp->sender} << 32) | stamp->recipient;
    auto [it, inserted] = next_seq_.try_emplace(pair, 0);
    if (!inserted && stamp->seq < it->second) {
      ++reordered_;
      note("messages between two clients arrived out of order");
    }
    it->second = std::max(it->second, stamp->seq + 1);
    if (phase_ == Phase::Measure) {
      ++measured_;
      latencies_.add(received_ns - stamp->sent_ns);
      std::int64_t to_socket = -1;
      if (const std::int64_t arrival = fleet_[i].last_arrival_ns(); arrival != 0) {
        to_socket = arrival - realtime_minus_steady_ns_ - stamp->sent_ns;
        arrivals_.add(to_socket);
      }
      if (keep_log()) {
        log_.push_back({stamp->sent_ns, received_ns - stamp->sent_ns, to_socket,
                        static_cast<std::uint32_t>(stamp->sender), static_cast<std::uint32_t>(i)});
      }
    }
    settle_one(stamp->sender);
  }

  void on_failure(std::size_t i, const std::string& what) {
    ++stream_failures_;
    note("client " + std::to_string(i) + " (" + fleet_.bare_jid(i) + "): " + what);
    wakeup_.notify();
  }

  static std::string condition(const xml::Element& e) {
    const xml::Element error = e.child("error", ns::kClient);
    for (xml::Element c : error.children()) {
      if (c.ns() == ns::kStanzaErrors && c.name() != "text") return std::string(c.name());
    }
    return "?";
  }

  // The first few distinct explanations, for the problem list.
  void note(const std::string& what) {
    if (notes_.size() < 5 && std::find(notes_.begin(), notes_.end(), what) == notes_.end()) {
      notes_.push_back(what);
    }
  }

  // --stall-probe: the stalls seen, and the latencies of the deliveries no stall overlapped
  // (from the send to the arrival on the recipient's socket, or to parley-load's read when not
  // stamped).
  void add_stalls(Report& r) const {
    const std::vector<Stall> stalls = probe_.stalls();
    add_stall_rows(r, probe_, options_.stall_probe_cpus.size());
    LatencySamples end_to_end;
    LatencySamples to_socket;
    for (const Logged& l : log_) {
      // Until the later of the two ends (the read normally follows the arrival).
      const std::int64_t last = l.sent_ns + std::max(l.end_to_end_ns, l.to_socket_ns);
      if (overlaps_stall(stalls, l.sent_ns, last)) continue;
      end_to_end.add(l.end_to_end_ns);
      if (l.to_socket_ns >= 0) to_socket.add(l.to_socket_ns);
    }
    const LatencySummary e2e = end_to_end.summary();
    const LatencySummary arrival = to_socket.summary();
    r.add("unstalled", "deliveries no stall overlapped", static_cast<std::int64_t>(e2e.count));
    r.add("latency_p99_unstalled_ms", "end-to-end latency p99, deliveries no stall overlapped",
          ms(e2e.p99), 2, "ms");
    if (open_loop()) {
      r.add("arrival_latency_p50_unstalled_ms",
            "latency to the recipient's socket p50, deliveries no stall overlapped",
            ms(arrival.p50), 3, "ms");
      r.add("arrival_latency_p99_unstalled_ms",
            "latency to the recipient's socket p99, deliveries no stall overlapped",
            ms(arrival.p99), 3, "ms");
    }
  }

  // --latency-log: "sent_ms end_to_end_ms to_socket_ms sender recipient", one line per measured
  // delivery, sent_ms counted from the start of the measurement.
  void write_latency_log() const {
    if (options_.latency_log.empty()) return;
    std::FILE* f = std::fopen(options_.latency_log.c_str(), "w");
    if (f == nullptr) {
      progress("cannot write --latency-log " + options_.latency_log);
      return;
    }
    std::fprintf(f, "# measurement started at %lld ns of the steady clock (CLOCK_MONOTONIC)\n",
                 static_cast<long long>(measure_start_ns_));
    for (const Stall& st : probe_.stalls()) {
      std::fprintf(f, "# stall on CPU %d from %.3f to %.3f ms\n", st.cpu,
                   ms(st.begin_ns - measure_start_ns_), ms(st.end_ns - measure_start_ns_));
    }
    std::fprintf(f, "# sent_ms end_to_end_ms to_socket_ms sender recipient\n");
    for (const Logged& l : log_) {
      std::fprintf(f, "%.3f %.3f %.3f %u %u\n", ms(l.sent_ns - measure_start_ns_),
                   ms(l.end_to_end_ns), l.to_socket_ns < 0 ? -1.0 : ms(l.to_socket_ns), l.sender,
                   l.recipient);
    }
    std::fclose(f);
  }

  Outcome outcome(const Snapshot& before, const Snapshot& after, double drain_seconds) {
    const Interval in = interval(before, after);
    const LatencySummary lat = latencies_.summary();
    const std::uint64_t lost = lost_;
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    Outcome out{Report("messages"), {}};
    Report& r = out.report;
    r.section("settings");
    const bool two = layout_.federated();
    r.add("server", two ? "server A" : "server",
          options_.host + ":" + std::to_string(options_.port));
    r.add("domain", two ? "domain on server A" : "domain", options_.domain);
    if (two) {
      r.add("server2", "server B", options_.host2 + ":" + std::to_string(options_.port2));
      r.add("domain2", "domain on server B", options_.domain2);
      r.add("direction", "messages cross the s2s link",
            std::string(layout_.direction() == Direction::Both ? "both ways" : "A to B"));
    }
    r.add("mechanism", "SASL mechanism", std::string(mechanism_name(options_.mechanism)));
    r.add("clients", two ? "clients online (half on each server)" : "clients online",
          i64(options_.clients));
    r.add("senders", "clients sending", i64(layout_.senders()));
    r.add("load", "offered load",
          std::string(open_loop() ? "open loop (--rate, fixed schedule)"
                                  : "closed loop (--window in flight per sender)"));
    if (open_loop()) {
      r.add("per_sender_interval_ms", "one sender's interval between messages",
            1000 * schedule_->sender_interval_seconds(), 3, "ms");
    } else {
      r.add("window", "messages in flight per sender", i64(options_.window));
    }
    r.add("pairing", "recipient",
          std::string(options_.random_partner ? "random"
                      : two                   ? "partner on the other server"
                                              : "ring"));
    r.add("batch_writes", "client writes batched (--batch-writes)", options_.batch_writes);
    r.add("warmup_s", "warm-up", options_.warmup_seconds, 1, "s");
    r.add("seconds", "measured interval", in.wall_seconds, 2, "s");
    r.add("login_s", "time to log in every client", fleet_.login_seconds(), 2, "s");
    r.add("login_server_cpu_s",
          two ? "servers' CPU for the logins (schedstat, A+B)"
              : "server CPU for the logins (schedstat)",
          two ? login_.server_cpu_ns_seconds + login_.server2_cpu_ns_seconds
              : login_.server_cpu_ns_seconds,
          3, "s");
    r.section("results (measured interval)");
    r.add("offered_msgs_per_s", "offered messages/s (--rate)",
          open_loop() ? options_.rate : std::numeric_limits<double>::quiet_NaN(), 1);
    r.add("sent_msgs_per_s", "sent messages/s",
          static_cast<double>(sent_measured_) / in.wall_seconds, 0);
    r.add("delivered", "messages delivered", i64(measured_));
    r.add("msgs_per_s", "delivered messages/s", static_cast<double>(measured_) / in.wall_seconds,
          0);
    r.add("latency_p50_ms", "end-to-end latency p50", ms(lat.p50), 2, "ms");
    r.add("latency_p90_ms", "end-to-end latency p90", ms(lat.p90), 2, "ms");
    r.add("latency_p99_ms", "end-to-end latency p99", ms(lat.p99), 2, "ms");
    r.add("latency_max_ms", "end-to-end latency max", ms(lat.max), 2, "ms");
    r.add("latency_mean_ms", "end-to-end latency mean", lat.mean / 1e6, 2, "ms");
    if (open_loop()) {
      // Ends where the recipient's socket had the bytes (stamped_socket.hpp): the server's
      // latency without parley-load's own lateness in reading them.
      const LatencySummary arrival = arrivals_.summary();
      r.add("arrival_latency_p50_ms", "latency to the recipient's socket p50", ms(arrival.p50), 3,
            "ms");
      r.add("arrival_latency_p99_ms", "latency to the recipient's socket p99", ms(arrival.p99), 3,
            "ms");
      r.add("arrival_latency_max_ms", "latency to the recipient's socket max", ms(arrival.max), 2,
            "ms");
      r.add("arrival_stamped", "deliveries with a socket arrival stamp", i64(arrival.count));
      r.add("clock_step_us", "CLOCK_REALTIME moved against the steady clock during the run",
            static_cast<double>(clock_step_ns_) / 1e3, 1, "us");
      const LatencySummary lag = send_lag_.summary();
      r.add("send_lag_p99_ms", "parley-load behind its schedule, p99", ms(lag.p99), 2, "ms");
      r.add("send_lag_max_ms", "parley-load behind its schedule, max", ms(lag.max), 2, "ms");
    }
    if (!options_.stall_probe_cpus.empty()) add_stalls(r);
    add_cpu_per_unit(r, "server_cpu_ms_per_1000_msgs", "server CPU per 1,000 messages", in,
                     static_cast<double>(measured_) / 1000.0);
    r.add("msgs_per_server_cpu_s",
          two ? "messages per server A CPU-second" : "messages per server CPU-second",
          static_cast<double>(measured_) / in.server_cpu_seconds, 0);
    if (two) {
      r.add("msgs_per_server2_cpu_s", "messages per server B CPU-second",
            static_cast<double>(measured_) / in.server2_cpu_seconds, 0);
      r.add("msgs_per_servers_cpu_s", "messages per CPU-second of A and B together",
            static_cast<double>(measured_) / (in.server_cpu_seconds + in.server2_cpu_seconds), 0);
    }
    r.section("correctness (whole run, warm-up and drain included)");
    r.add("sent_total", "messages sent", i64(sent_));
    r.add("delivered_total", "messages delivered", i64(delivered_));
    r.add("lost", "lost (sent, never delivered)", i64(lost));
    r.add("errors", "errors",
          i64(bounced_ + stream_failures_ + malformed_ + misdelivered_ + duplicates_ + reordered_));
    r.add("bounced", "  of which messages returned as errors", i64(bounced_));
    r.add("stream_failures", "  of which streams failed", i64(stream_failures_));
    r.add("malformed", "  of which bodies not ours", i64(malformed_));
    r.add("misdelivered", "  of which to the wrong client", i64(misdelivered_));
    r.add("duplicates", "  of which duplicates", i64(duplicates_));
    r.add("reordered", "  of which out of order", i64(reordered_));
    if (open_loop()) r.add("unsent", "due to a client whose stream had failed", i64(unsent_));
    r.add("drain_s", "drain time", drain_seconds, 2, "s");
    add_machine_rows(r, before, after);

    if (lost > 0) {
      out.problems.push_back(std::to_string(lost) + " of " + std::to_string(sent_) +
                             " messages were never delivered within --drain " +
                             seconds_text(options_.drain_seconds) + " s");
    }
    if (const std::uint64_t errors =
            bounced_ + stream_failures_ + malformed_ + misdelivered_ + duplicates_ + reordered_;
        errors > 0) {
      out.problems.push_back(std::to_string(errors) + " errors");
    }
    if (measured_ == 0) out.problems.push_back("no message was delivered in the measured interval");
    if (!out.problems.empty()) {
      for (const auto& n : notes_) out.problems.push_back("e.g. " + n);
    }
    return out;
  }

  struct Sender {
    std::vector<std::uint8_t> state;  // by sequence number: kInFlight, kDelivered, kBounced
    std::size_t in_flight = 0;
  };

  const Options& options_;
  Layout layout_;
  Fleet fleet_;
  Wakeup wakeup_;
  asio::steady_timer rate_timer_;
  std::mt19937_64 rng_;
  // Open loop (--rate): the clients that send, the schedule, and how late the tool was.
  std::vector<std::size_t> sending_;
  std::optional<RateSchedule> schedule_;
  bool rate_loop_done_ = false;
  std::exception_ptr rate_error_;
  LatencySamples send_lag_;
  std::uint64_t unsent_ = 0;
  std::uint64_t sent_measured_ = 0;
  std::vector<std::string> to_;
  std::vector<Sender> senders_;
  std::unordered_map<std::uint64_t, std::uint64_t> next_seq_;  // (sender, recipient) → next seq
  Phase phase_ = Phase::Connecting;
  Clock::time_point last_stanza_ = Clock::now();
  // Every message sent is in flight until delivered or returned as an error.
  std::uint64_t in_flight_ = 0;
  std::uint64_t lost_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t measured_ = 0;
  std::uint64_t bounced_ = 0;
  std::uint64_t stream_failures_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t misdelivered_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t reordered_ = 0;
  LatencySamples latencies_;
  // Open loop: send time to the kernel's arrival stamp on the recipient's socket.
  LatencySamples arrivals_;
  StallProbe probe_;
  bool keep_log() const {
    return !options_.latency_log.empty() || !options_.stall_probe_cpus.empty();
  }
  // --latency-log and --stall-probe: every measured delivery, in the order received.
  struct Logged {
    std::int64_t sent_ns;
    std::int64_t end_to_end_ns;
    std::int64_t to_socket_ns;  // -1: not stamped
    std::uint32_t sender;
    std::uint32_t recipient;
  };
  std::vector<Logged> log_;
  std::int64_t measure_start_ns_ = 0;
  std::int64_t realtime_minus_steady_ns_ = 0;
  std::int64_t clock_step_ns_ = 0;
  Interval login_;  // from the first connection until the logins' traffic has settled
  std::vector<std::string> notes_;
};

}  // namespace

asio::awaitable<Outcome> run_messages(Context& context) {
  MessagesRun run(context);
  co_return co_await run.run();
}

}  // namespace parley::load
