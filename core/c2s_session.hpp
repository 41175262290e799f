// One client-to-server XML stream (RFC 6120) over one TCP connection: stream negotiation (§4),
// STARTTLS (§5) or direct TLS (XEP-0368), SASL (§6: SCRAM-SHA-1/256 with -PLUS channel binding,
// PLAIN over TLS), resource binding (§7), the RFC 3921 session feature, and the server's own IQs
// (XEP-0199 ping, XEP-0030 disco, XEP-0077 registration and password change).
//
// Two coroutines: one waits until the socket is readable, reads into the thread's scratch buffer,
// feeds the stream parser and handles each event in turn (awaiting storage where needed, so a
// client's stanzas are handled in order), one drains the write queue. Memory per connection is
// bounded by the parser's limits (xml::ParserLimits) and kMaxQueuedBytes of unsent output; an
// idle connection holds no buffers (parser input, output and TLS records are released).
//
// Threads: a session runs on the io thread it was given (ServerState::session_executors), which
// may not be the core thread that owns the router, the modules and the session registry. Its
// coroutines, socket, TLS, parser and write queue belong to its own thread. What touches core
// state (routing a stanza, binding, closing the session for the modules) is handed to the core
// thread and awaited, so a client's stanzas are still handled in order; the stanzas of one read go
// over together. The core thread calls deliver(), shutdown() and abort(), which reach the
// session's thread through ServerState::handovers (in order), and reads jid(), host(), number(),
// is_open() and presence(); presence() is the core thread's alone.
// A session on the core thread does all of this inline, as a one-thread server does.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/jid.hpp"
#include "core/sasl/channel_binding.hpp"
#include "core/sasl/sasl_error.hpp"
#include "core/stanza.hpp"
#include "core/stanza_error.hpp"
#include "xml/stream_error.hpp"
#include "xml/stream_parser.hpp"

namespace parley::core {

struct Config;
struct ServerState;
namespace sasl {
class ScramServer;
}
namespace tls {
class ServerContexts;
class TlsSocket;
}  // namespace tls

// What every c2s session of one listener shares. Owned by the listener, outlives its sessions.
struct C2sContext {
  ServerState* state = nullptr;
  // XEP-0368 listener: TLS starts at once, before the stream.
  bool direct_tls = false;
  // Called once when the session has closed its socket (on the session's executor).
  std::function<void(std::uint64_t session_number)> on_closed;
};

class Host;

// What the presence, roster and carbons modules keep per session (RFC 6121 §1.3, XEP-0280).
struct SessionPresence {
  // Initial presence sent and no unavailable presence since ("available resource").
  bool available = false;
  int priority = 0;
  // The latest available presence broadcast by the session (from stamped), for probes.
  KeptStanza last;
  // JIDs that received directed presence from this session (RFC 6121 §4.6), to get its
  // unavailable presence.
  std::set<std::string, std::less<>> directed;
  // Asked for the roster: an "interested resource" that gets roster pushes (RFC 6121 §2.1.6).
  bool interested = false;
  // XEP-0280 carbons enabled.
  bool carbons = false;
};

class C2sSession : public std::enable_shared_from_this<C2sSession> {
 public:
  // The most read from the socket at once (into a buffer shared by the thread's sessions).
  static constexpr std::size_t kReadBufferBytes = 16 * 1024;
  // Unsent output beyond this means the peer does not read: the connection is dropped.
  static constexpr std::size_t kMaxQueuedBytes = 512 * 1024;
  // Once closing, how long the peer gets to take our last bytes and close its side (RFC 6120
  // §4.4) before the socket is closed anyway.
  static constexpr std::chrono::seconds kCloseTimeout{5};
  // Bytes read and thrown away while waiting for the peer to close.
  static constexpr std::size_t kMaxDiscardBytes = 64 * 1024;

  C2sSession(boost::asio::ip::tcp::socket socket, const C2sContext& context, std::uint64_t number);
  ~C2sSession();
  C2sSession(const C2sSession&) = delete;
  C2sSession& operator=(const C2sSession&) = delete;

  // Starts reading and writing. REQUIRES: called once, on the session's executor.
  void start();
  // Ends the stream with a stream error (e.g. system-shutdown, conflict) and closes the connection.
  // Core thread.
  void shutdown(xml::StreamError condition, std::string_view reason);
  // Closes the socket now, without a goodbye. Core thread.
  void abort();

  std::uint64_t number() const { return number_; }
  const std::string& peer() const { return peer_; }
  // The bound full JID; nullopt before resource binding.
  const std::optional<Jid>& jid() const { return jid_; }
  // The host this stream is for; null before the stream header named one.
  Host* host() const { return host_; }
  SessionPresence& presence() { return presence_; }
  const SessionPresence& presence() const { return presence_; }
  // Queues a routed stanza for this client (dropped once the stream is closing). Core thread.
  void deliver(const StanzaPtr& stanza);
  bool is_open() const { return state_.load(std::memory_order_relaxed) == State::Open; }

 private:
  enum class State : std::uint8_t {
    AwaitingHeader,  // connected (or restarted), no stream header from the peer yet
    Open,            // headers exchanged
    Closing,         // our last bytes are queued; reading only to notice the peer's close
    Closed,          // socket closed
  };

  // Runs `work` on the core thread and resumes on this session's (inline when they are one).
  template <class T>
  boost::asio::awaitable<T> at_core(boost::asio::awaitable<T> work);
  // Runs `f` on the core thread: inline when this session is on it, else posted.
  template <class F>
  void post_to_core(F f);
  // From the core thread: runs `f` on this session's thread (inline when that is the core's),
  // after everything the core handed to this session before.
  template <class F>
  void from_core(F f);
  // The parts of handling that run on the core thread. route_at_core() routes `stanzas` in order.
  boost::asio::awaitable<void> route_at_core(std::vector<StanzaPtr> stanzas);
  enum class BindOutcome : std::uint8_t { Bound, TooManySessions };
  boost::asio::awaitable<BindOutcome> bind_at_core(Jid full, std::string result);
  boost::asio::awaitable<void> end_other_sessions_at_core();
  void deliver_here(const StanzaPtr& stanza);

  // The thread's read buffer (kReadBufferBytes), valid until the session next awaits.
  static char* scratch();
  // Waits for and reads the next bytes into scratch(), through TLS once it is on.
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some();
  boost::asio::awaitable<void> read_loop();
  // Sends what is queued (and what tls_ kept) until nothing is, and then ends, so that an idle
  // session has no writer waiting; when the stream is closing, it then closes the connection.
  // One writer at a time (writer_running_).
  boost::asio::awaitable<void> write_loop();
  // Starts the writer unless it is running or the connection is done writing: write_queued(),
  // posted.
  void start_writer();
  // Sends what is queued at once if the socket takes it (compacted TLS: no coroutine, nothing to
  // wait for); otherwise, and to close, starts write_loop.
  void write_queued();
  // Bytes wait to go out: queued, or kept by tls_ from a write the socket took only part of.
  bool has_output() const;
  static void on_loop_done(const std::shared_ptr<C2sSession>& self, std::exception_ptr error);
  boost::asio::awaitable<void> process_events();
  boost::asio::awaitable<void> handle_element(xml::Document document);
  boost::asio::awaitable<bool> start_tls();
  boost::asio::awaitable<void> flush();
  void on_stream_opened();
  void send_features();
  void send_stream_header(std::string_view to);
  void stream_error(xml::StreamError condition, std::string_view reason);
  void begin_close();
  void send(std::string_view bytes);
  void send(xml::Element element);
  void close_socket();
  void arm_auth_timeout();

  // SASL (RFC 6120 §6).
  boost::asio::awaitable<void> handle_auth(xml::Element auth);
  boost::asio::awaitable<void> handle_response(xml::Element response);
  boost::asio::awaitable<void> scram_first(std::string message);
  boost::asio::awaitable<void> plain(std::string message);
  // Sends <failure/>; a failure that `counts` is slowed down (AuthThrottle) and counted towards
  // Limits::max_auth_failures.
  boost::asio::awaitable<void> sasl_failure(sasl::SaslError condition, std::string_view why,
                                            bool counts = true);
  void sasl_success(std::string_view username, std::string_view additional_data);
  std::vector<std::string> offered_mechanisms() const;
  bool tls_active() const { return tls_ != nullptr; }

  // Stanzas.
  boost::asio::awaitable<void> handle_stanza(xml::Document document);
  // What a bound client's stanza needs before it is routed, in the order checked.
  enum class Check : std::uint8_t {
    Route,            // nothing: route it
    RateLimited,      // over the stanza rate limit
    BadIqType,        // an iq whose type is none of get, set, result, error
    BadIqChildren,    // an iq get or set without exactly one child
    SessionIq,        // an iq get or set to the server: maybe bind, session or register
    BadPresenceType,  // RFC 6121 §4.7.1
    BadTo,            // a 'to' that is not a JID
  };
  // Checks `stanza` (counting it against the rate limit) and sets `to` to where it goes:
  // its 'to', or for a message or iq without one the sender's account (RFC 6120 §10.3).
  Check check_stanza(xml::Element stanza, std::optional<Jid>& to);
  // Whether `element` is a stanza of a bound client's open stream (check_stanza() applies).
  bool is_bound_stanza(xml::Element element) const;
  // Answers or routes a stanza check_stanza() has checked.
  boost::asio::awaitable<void> route_stanza(xml::Document document, Check check,
                                            std::optional<Jid> to);
  // Routes and empties `batch` (at the core), in order.
  boost::asio::awaitable<void> route_batch(std::vector<StanzaPtr>& batch);
  // The session-level IQs to the server: bind, session, register. False when `iq` is none.
  boost::asio::awaitable<bool> handle_session_iq(xml::Element iq);
  bool rate_limited();
  void end_session();
  boost::asio::awaitable<void> handle_register(xml::Element iq);
  boost::asio::awaitable<void> handle_bind(xml::Element iq);
  void reply_result(xml::Element iq, std::optional<xml::Document> payload = std::nullopt);
  void reply_error(xml::Element stanza, StanzaError condition, std::string_view text = {});

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<tls::TlsSocket> tls_;
  std::shared_ptr<tls::ServerContexts> tls_contexts_;  // the set this connection started with
  std::shared_ptr<const Config> config_;               // likewise
  // The timers below exist only while they are needed (120 bytes each, and an idle bound session
  // needs none of them): `timer` made on the session's executor if it is not there yet.
  boost::asio::steady_timer& make_timer(std::unique_ptr<boost::asio::steady_timer>& timer);
  static void cancel(const std::unique_ptr<boost::asio::steady_timer>& timer);
  std::unique_ptr<boost::asio::steady_timer> flushed_;  // cancelled by write_loop when drained
  std::unique_ptr<boost::asio::steady_timer> close_deadline_;  // while closing
  // connection-timeout before binding; freed once bound
  std::unique_ptr<boost::asio::steady_timer> auth_deadline_;
  const C2sContext& context_;
  ServerState& state_ref_;
  const std::uint64_t number_;
  std::string peer_;
  std::string peer_address_;  // the IP address alone, for throttling
  xml::StreamParser parser_;
  // Written on the session's thread; the core thread reads it (is_open()).
  std::atomic<State> state_ = State::AwaitingHeader;
  const bool on_core_;      // the session's executor is the core thread's
  std::size_t thread_ = 0;  // its index in ServerState::session_executors
  bool header_sent_ = false;
  bool read_done_ = false;
  bool write_done_ = false;
  bool write_in_flight_ = false;
  bool writer_running_ = false;  // write_loop is under way
  std::string queued_;           // bytes waiting for write_loop
  std::string writing_;          // bytes of the write in flight
  std::size_t discarded_ = 0;

  std::string domain_;  // the served domain this stream is for
  // Of the TLS connection, once established; freed when SASL has succeeded (nothing needs them
  // after that).
  std::unique_ptr<sasl::ChannelBindings> bindings_;
  std::unique_ptr<sasl::ScramServer> scram_;  // SCRAM exchange under way
  std::string scram_hash_;                    // "SHA-1", "SHA-256"
  bool scram_awaiting_first_ = false;         // <auth/> had no initial response
  bool plain_pending_ = false;                // PLAIN <auth/> had no initial response
  std::string mechanism_;                     // of the exchange under way or done
  bool handshaking_ = false;                  // a TLS handshake is under way
  bool tls_closing_ = false;                  // write_loop is sending close_notify
  std::string authenticated_user_;            // nodeprepped localpart, once SASL succeeded
  // ServerState::account_removals when SASL read the account's credentials.
  std::optional<std::uint64_t> removals_at_auth_;
  unsigned auth_failures_ = 0;
  // Once bound. Written on the core thread before the session is in the registry; the session's
  // own thread reads it once bound_ is set (by a job the core posted after writing it).
  std::optional<Jid> jid_;
  bool bound_ = false;  // the session's thread has seen the bind through
  Host* host_ = nullptr;
  SessionPresence presence_;
  bool ended_ = false;      // Closed event fired, unbound
  double rate_tokens_ = 0;  // stanza rate limit (token bucket)
  std::chrono::steady_clock::time_point rate_updated_{};
  bool session_established_ = false;  // RFC 3921 <session/>
};

}  // namespace parley::core
