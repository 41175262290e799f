// Test helpers for integration tests: the real `parley` binary as a child process in a temporary
// directory, and a TCP client (in the clear, after STARTTLS, or direct TLS) that reads the
// server's XML stream with xml::StreamParser and can log in the way a real client does.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.hpp"
#include "xml/stream_parser.hpp"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace parley::testing {

inline constexpr std::chrono::seconds kTimeout{20};  // generous: sanitizer builds are slow

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs `parley ARGS...` to completion and captures what it printed.
RunResult run_parley(const std::vector<std::string>& args);
// The same with `input` on a pipe as its standard input (the account commands read the password
// from it when it is not a terminal).
RunResult run_parley(const std::vector<std::string>& args, std::string_view input);

// `parley serve --bind 127.0.0.1 --c2s-port 0 --s2s-port 0 ... --port-file ...` (every listener on
// an ephemeral port) with its data directory, log and port file in a TempDir. The constructor
// returns once the server has bound its port.
class ServerProcess {
 public:
  // `data_dir`: reuse this data directory instead of a fresh one (restart tests).
  // `config_toml`: when not empty, written to a file in the TempDir and passed with --config
  // instead of --domain localhost (so its [[host]] tables count; without any, the server serves
  // localhost by default). The flags above still override its data_dir, bind and ports.
  explicit ServerProcess(std::vector<std::string> extra_args = {},
                         std::optional<std::filesystem::path> data_dir = std::nullopt,
                         std::string config_toml = {});
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // The direct TLS (XEP-0368) port.
  std::uint16_t tls_port() const { return tls_port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // Everything the server printed so far.
  std::string output() const;

  // `parley adduser JID` on this server's data directory (and config), the password on standard
  // input. Works while the server runs. Throws std::runtime_error when the command fails.
  void add_user(const std::string& jid, const std::string& password) const;

  // Sends `signal` and waits up to `timeout` for the process to exit. Returns the wait status,
  // or nullopt when it is still running.
  std::optional<int> signal_and_wait(int signal, std::chrono::milliseconds timeout);
  // Waits up to `timeout` for the process to exit by itself.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  // The flags that select the configuration: --config FILE, or --domain localhost.
  std::vector<std::string> config_args() const;

  TempDir dir_;
  std::filesystem::path data_dir_;
  std::filesystem::path output_file_;
  std::filesystem::path config_file_;  // empty without a config
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
};

// TLS settings of a test client. The server's certificate is not verified (it is self-signed).
struct TlsOptions {
  std::string server_name = "localhost";  // SNI; empty sends none
  std::vector<std::string> alpn;          // offered ALPN protocols, e.g. {"xmpp-client"}
  int max_version = 0;                    // e.g. TLS1_2_VERSION; 0: the library's newest
  // A client certificate (PEM chain) and its key, as an initiating server presents them.
  std::string certificate_file;
  std::string key_file;
  // TLS 1.3 suites offered, in the client's order (SSL_CTX_set_ciphersuites); empty: OpenSSL's.
  std::string ciphersuites;
};

// SASL settings of Client::authenticate().
struct SaslOptions {
  // For SCRAM-*-PLUS: the channel-binding type, its data computed on the client's SSL.
  std::string cb_name = "tls-exporter";
  // The binding data to send instead of this connection's (a man in the middle would send his).
  std::optional<std::string> cb_data;
  // SCRAM without -PLUS: send the GS2 flag 'y' ("I could bind, but I think you cannot").
  bool claim_channel_binding_support = false;
  // The authorization identity (PLAIN's authzid, SCRAM's a=); empty for none.
  std::string authzid;
  // false: <auth/> without the initial response, which then goes in a <response/> to the
  // server's empty <challenge/> (RFC 6120 §6.4.2).
  bool initial_response = true;
};

// How a SASL exchange ended.
struct SaslOutcome {
  bool success = false;
  // The condition of <failure/> (e.g. "not-authorized"); empty on success.
  std::string condition;
  // SCRAM: <success/> carried v= with the server signature our keys predict. Always false for
  // PLAIN, which has no such proof.
  bool server_verified = false;
  // The <success/> or <failure/> element, or a <stream:error/> that ended the stream instead.
  xml::Document element;
};

// A client's TCP connection to 127.0.0.1:port. What arrives is fed to a StreamParser configured
// for jabber:client, so tests assert on parsed headers and elements, not on byte patterns. After
// start_tls() (or with direct TLS from the start) everything goes through OpenSSL.
//
// The protocol helpers (open_stream() and below) throw std::runtime_error, with what was received
// so far, when the server does not answer as expected; gtest reports that as a failure.
class Client {
 public:
  explicit Client(std::uint16_t port);
  // A connection to `ipv4`:`port` whose stream is parsed as `content_namespace`.
  Client(const std::string& ipv4, std::uint16_t port, std::string_view content_namespace);
  // A server-to-server connection (jabber:server), as a remote server opens it.
  static std::unique_ptr<Client> s2s(const std::string& ipv4, std::uint16_t port);
  // Direct TLS (XEP-0368): the TLS handshake at once, before any XML.
  Client(std::uint16_t port, const TlsOptions& direct_tls);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The domain open_stream()'s default header (and so login()) addresses; "localhost" otherwise.
  void set_domain(std::string domain) { domain_ = std::move(domain); }
  void send(std::string_view bytes);
  // The next event from the server's stream; nullopt when the connection closed (or the timeout
  // passed) before one was complete. Never returns NeedMore.
  std::optional<xml::StreamParser::Event> next_event(std::chrono::milliseconds timeout = kTimeout);
  // Reads until the server closes the connection; true when it did within `timeout`. Bytes that
  // arrive meanwhile are still fed to the parser (see next_event()) and kept in received().
  bool wait_for_close(std::chrono::milliseconds timeout = kTimeout);
  // Half-closes our side (TCP FIN).
  void shutdown_send();
  // Drops the connection with a TCP reset (SO_LINGER 0, close): the server's next write to it
  // fails (EPIPE). The client is closed() afterwards.
  void reset_connection();

  const xml::StreamHeader& header() const { return parser_.header(); }
  // Every byte received so far (decrypted, under TLS), for failure messages.
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

  // --- TLS ---
  // The TLS handshake as a client over this connection (after <proceed/>); then the stream
  // parser starts afresh, for the new stream over TLS. Throws when the handshake fails.
  void start_tls(const TlsOptions& options = {});
  // The client's SSL (nullptr before TLS): for channel bindings, the version, ALPN.
  ssl_st* ssl() const { return ssl_; }
  // Under TLS, once closed(): whether the server ended TLS with a close_notify alert before it
  // closed the TCP connection (RFC 8446 §6.1), rather than just closing it.
  bool tls_close_notify_received() const { return close_notify_; }
  // Forgets the current stream: the next thing expected is a new stream header (after SASL
  // success; start_tls() does it itself).
  void reset_stream();

  // --- XMPP, step by step ---
  // The next event, which must be a complete top-level element.
  xml::Document expect_element(std::chrono::milliseconds timeout = kTimeout);
  // Sends a stream header (kClientHeader by default), expects the server's header and its
  // <stream:features/>, and returns the features.
  xml::Document open_stream(std::string_view header = {});
  // With the pre-TLS features read: <starttls/>, <proceed/>, the handshake.
  void starttls(const TlsOptions& options = {});
  // One SASL exchange: "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS",
  // "SCRAM-SHA-256-PLUS". On success the stream parser is reset for the restart.
  SaslOutcome authenticate(const std::string& user, const std::string& password,
                           const std::string& mechanism, const SaslOptions& options = {});
  // After a successful authenticate(): the restart (header, features with <bind/>) and the bind
  // request; `resource` nullopt asks the server to generate one. Returns the bound full JID.
  std::string bind(const std::optional<std::string>& resource = std::string("test"));
  // Every step: header, features, STARTTLS (unless TLS is already on), header, features,
  // SASL (which must succeed and, for SCRAM, prove the server's knowledge of the keys), restart,
  // bind. Returns the bound full JID.
  std::string login(const std::string& user, const std::string& password,
                    const std::string& mechanism = "SCRAM-SHA-256",
                    const std::optional<std::string>& resource = std::string("test"));
  // Sends `iq` and returns the next element, which must be an <iq/> (tests check its id).
  xml::Document iq(std::string_view iq_xml);

 private:
  // One read with a deadline; false on timeout. Sets closed_ on EOF or a reset.
  bool receive(std::chrono::steady_clock::time_point deadline);
  // Waits for the socket to become readable (or writable); false at the deadline.
  bool wait_io(bool write, std::chrono::steady_clock::time_point deadline);
  std::string context() const;

  int fd_ = -1;
  ssl_ctx_st* ssl_ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  xml::StreamParser parser_;
  std::string received_;
  bool closed_ = false;
  bool close_notify_ = false;
  std::string domain_;
};

// The text of a stream error's condition (<stream:error><CONDITION/>), or "" when `element` is
// not a stream error.
std::string stream_error_condition(xml::Element element);
// The condition of a stanza error (<error><CONDITION xmlns=stanzas/>), or "" without one.
std::string stanza_error_condition(xml::Element stanza);

// The opening a well-behaved client sends.
inline constexpr std::string_view kClientHeader =
    "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xml:lang='en' "
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

// --- Helpers for routing tests (delivery_test.cpp, subscription_wire_test.cpp) -----------------

// Sends an XEP-0199 ping (no 'to': the server answers for the account) and reads up to its
// result; returns every element that arrived before it, in order. The server handles a client's
// stanzas one at a time and writes each stream in order, so the result holds everything that
// this client's earlier stanzas, and the stanzas other clients had handled before (those whose
// own drain() has returned), delivered to this client: an empty result proves that nothing did.
// Throws std::runtime_error when the result does not come.
std::vector<xml::Document> drain(Client& client);

// Reads elements until one satisfies `match` and returns it; the elements read before it are
// appended to `skipped` when given. Throws std::runtime_error when none comes within `timeout`.
xml::Document read_until(Client& client, const std::function<bool(xml::Element)>& match,
                         std::vector<xml::Document>* skipped = nullptr,
                         std::chrono::milliseconds timeout = kTimeout);

// XEP-0077 in-band registration of `user` on a new connection: stream, STARTTLS, stream, the
// registration IQ, which must succeed; the stream is then ready for authenticate() and bind().
// Much cheaper than ServerProcess::add_user() (a process per account) for tests that need many
// accounts; the server must allow it ([[host]] allow_registration = true, and a
// [limits] registrations_per_address_per_hour to match).
void register_account(Client& client, const std::string& user, const std::string& password);

}  // namespace parley::testing
