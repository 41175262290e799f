// One simulated XMPP client of parley-load: a c2s connection that logs in as any RFC 6120 client
// would (TCP, stream header, STARTTLS accepting any certificate, SASL PLAIN or SCRAM-SHA-1/256,
// stream restart, resource binding, the RFC 3921 session when a server still requires it), asks
// for its roster (RFC 6121 §2.1.3) and sends initial presence (§4.2). After that it hands every
// stanza it receives to the scenario and sends what the scenario gives it. Nothing here knows
// Parley: the same client logs in to Prosody or ejabberd.
//
// Thread-safety: none; every call on the executor given (parley-load runs one io thread).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/stamped_socket.hpp"
#include "xml/element.hpp"
#include "xml/stream_parser.hpp"

namespace parley::load {

namespace asio = boost::asio;

enum class Mechanism { Plain, ScramSha1, ScramSha256 };

std::string_view mechanism_name(Mechanism m);

struct Account {
  std::string host;  // address to connect to
  std::uint16_t port = 5222;
  std::string domain;    // the stream's 'to', SNI, and the domain of the account
  std::string username;  // localpart
  std::string password;
  Mechanism mechanism = Mechanism::ScramSha1;
  std::string resource;
  // false: each send() is written at once (bytes queued behind a write in progress go out
  // together after it), as an interactive client does. true: written when the current handler
  // has returned, so that everything sent to this client while handling one read shares a TLS
  // record and a write, as a bot sending in bulk does.
  bool batch_writes = false;
  // Receive timestamps on the socket (stamped_socket.hpp): last_arrival_ns() says when the data
  // behind the latest stanza reached the client's socket.
  bool arrival_stamps = false;
};

// One <item/> of a roster (RFC 6121 §2.1.2): the contact's JID, the subscription state
// ("none", "to", "from", "both") and whether a subscription request is pending (ask='subscribe').
struct RosterItem {
  std::string jid;
  std::string subscription;
  bool ask = false;
};

// Anything that stops a client from logging in or from staying connected.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class XmppClient : public std::enable_shared_from_this<XmppClient> {
 public:
  // A stanza received after start(): <message/>, <presence/> or <iq/>. IQ gets and sets are
  // answered here; of those only roster pushes (RFC 6121 §2.1.6) are passed on, after the answer.
  using StanzaHandler = std::function<void(const xml::Element&)>;
  // Called at most once, when the stream fails after start(): a stream error from the server,
  // the server closing the stream or the connection, unparsable XML. Not called after finish().
  using FailureHandler = std::function<void(const std::string& what)>;

  XmppClient(asio::any_io_executor executor, asio::ssl::context& tls, Account account);

  // The TLS version and suite negotiated, as OpenSSL names them ("TLSv1.3 TLS_AES_128_GCM_SHA256");
  // empty before the handshake.
  std::string tls_suite();

  // Connects and logs in: stream, STARTTLS, SASL, restart, bind (and session if required).
  // Throws ClientError saying which step failed and how.
  asio::awaitable<void> login();
  // Roster get; returns the number of items and, when `items` is given, stores them there.
  // Throws ClientError. REQUIRES: login() succeeded, start() not yet called.
  asio::awaitable<std::size_t> fetch_roster(std::vector<RosterItem>* items = nullptr);

  // From now on every stanza received goes to `on_stanza`. Sends nothing by itself.
  void start(StanzaHandler on_stanza, FailureHandler on_failure);

  // Queues bytes for the server, written as Account::batch_writes says (one write at a time).
  void send(std::string_view xml);

  // Ends the stream (</stream:stream>); failures are not reported after this.
  void finish();
  // Whether the stream has ended (the server closed it, or the connection is gone).
  bool closed() const { return closed_; }
  // Closes the socket now.
  void abort();

  // The full JID the server bound (after login()).
  const std::string& jid() const { return jid_; }
  const Account& account() const { return account_; }
  // With Account::arrival_stamps: CLOCK_REALTIME ns at which the newest data read reached the
  // socket (0 before any); a stanza handler called now reads it for the stanza being handled.
  std::int64_t last_arrival_ns() const { return stream_.next_layer().last_arrival_ns(); }

 private:
  asio::awaitable<xml::Document> next_element(std::string_view waiting_for);
  asio::awaitable<void> write_now(std::string_view bytes);
  asio::awaitable<void> read_loop(std::shared_ptr<XmppClient> self);
  asio::awaitable<void> authenticate(const xml::Element& features);
  void flush();
  void fail(const std::string& what);
  void answer_iq(const xml::Element& iq);
  std::string header() const;

  Account account_;
  asio::ssl::stream<StampedSocket> stream_;
  bool tls_ = false;
  xml::StreamParser parser_;
  std::string jid_;
  std::string out_;      // queued, not yet being written
  std::string sending_;  // being written
  bool writing_ = false;
  bool flush_posted_ = false;
  bool finishing_ = false;
  bool closed_ = false;
  bool failed_ = false;
  StanzaHandler on_stanza_;
  FailureHandler on_failure_;
};

}  // namespace parley::load
