#include "tests/integration/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "core/sasl/base64.hpp"
#include "core/sasl/channel_binding.hpp"
#include "core/sasl/scram_client.hpp"
#include "xml/namespaces.hpp"
#include "xml/stream_error.hpp"

extern char** environ;

namespace parley::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPollInterval{10};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Starts PARLEY_BINARY with `args`, stdin from `stdin_fd` (-1: /dev/null), stdout and stderr into
// `output`.
pid_t spawn_parley(const std::vector<std::string>& args, const std::filesystem::path& output,
                   int stdin_fd = -1) {
  std::vector<std::string> argv_strings{PARLEY_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    throw_errno(std::string("cannot start ") + PARLEY_BINARY);
  }
  return pid;
}

RunResult wait_for_result(pid_t pid, const std::filesystem::path& output) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid");
  }
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.output = read_file(output);
  return result;
}

// Everything in OpenSSL's error queue, for a message; empties it.
std::string ssl_errors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    out += out.empty() ? "" : "; ";
    out += text.data();
  }
  return out.empty() ? std::string("no OpenSSL error") : out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The base64 text of a SASL element ("=" for an empty payload, RFC 6120 §6.4.2).
std::string sasl_text(std::string_view data) {
  return data.empty() ? std::string("=") : core::sasl::base64_encode(data);
}

std::string decode_sasl_text(const xml::Element& element, std::string_view what) {
  const std::string text = element.text();
  if (text.empty() || text == "=") return {};
  auto decoded = core::sasl::base64_decode(text);
  if (!decoded) throw std::runtime_error(std::string(what) + " is not base64: " + text);
  return *decoded;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/parley-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

RunResult run_parley(const std::vector<std::string>& args) {
  TempDir dir;
  const auto output = dir.path() / "output";
  return wait_for_result(spawn_parley(args, output), output);
}

RunResult run_parley(const std::vector<std::string>& args, std::string_view input) {
  TempDir dir;
  const auto output = dir.path() / "output";
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  pid_t pid = -1;
  try {
    pid = spawn_parley(args, output, pipe_fds[0]);
  } catch (...) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw;
  }
  ::close(pipe_fds[0]);
  // Small inputs fit in the pipe's buffer; a child that exits early just leaves them unread
  // (MSG_NOSIGNAL has no pipe equivalent: ignore SIGPIPE, as cli_test.cpp does).
  ::signal(SIGPIPE, SIG_IGN);
  for (std::size_t done = 0; done < input.size();) {
    const ssize_t n = ::write(pipe_fds[1], input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(pipe_fds[1]);
  return wait_for_result(pid, output);
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args,
                             std::optional<std::filesystem::path> data_dir, std::string config_toml)
    : data_dir_(data_dir ? *data_dir : dir_.path() / "data"),
      output_file_(dir_.path() / "output.log") {
  if (!config_toml.empty()) {
    config_file_ = dir_.path() / "parley.toml";
    std::ofstream(config_file_, std::ios::binary) << config_toml;
  }
  const auto port_file = dir_.path() / "c2s.port";
  std::vector<std::string> args{"serve"};
  const auto selection = config_args();
  args.insert(args.end(), selection.begin(), selection.end());
  // Every port ephemeral, federation's too: tests run in parallel.
  std::vector<std::string> common{"--data-dir",     data_dir_.string(),
                                  "--c2s-port",     "0",
                                  "--c2s-tls-port", "0",
                                  "--port-file",    port_file.string()};
  // Federation tests bind each server to an address of its own.
  if (std::find(extra_args.begin(), extra_args.end(), "--bind") == extra_args.end()) {
    for (const char* flag : {"--bind", "127.0.0.1"}) common.emplace_back(flag);
  }
  // Two io threads unless a test says otherwise, whatever the machine's cores: sessions then live
  // on both the core thread and another, and every test crosses between them.
  if (std::find(extra_args.begin(), extra_args.end(), "--threads") == extra_args.end()) {
    for (const char* flag : {"--threads", "2"}) common.emplace_back(flag);
  }
  // Federation tests choose their s2s ports themselves.
  if (std::find(extra_args.begin(), extra_args.end(), "--s2s-port") == extra_args.end()) {
    for (const char* flag : {"--s2s-port", "0", "--s2s-tls-port", "0"}) common.emplace_back(flag);
  }
  args.insert(args.end(), common.begin(), common.end());
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn_parley(args, output_file_);

  // The port file appears (atomically, by rename) once the server has bound its socket.
  const auto deadline = Clock::now() + kTimeout;
  while (Clock::now() < deadline) {
    if (std::filesystem::exists(port_file)) {
      const int port = std::atoi(read_file(port_file).c_str());
      if (port <= 0 || port > 65535)
        throw std::runtime_error("bad port file: " + read_file(port_file));
      port_ = static_cast<std::uint16_t>(port);
      const std::string text = read_file(port_file);
      const auto newline = text.find('\n');
      if (newline != std::string::npos) {
        tls_port_ = static_cast<std::uint16_t>(std::atoi(text.c_str() + newline + 1));
      }
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      throw std::runtime_error("parley exited before binding its port:\n" + output());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  throw std::runtime_error("parley did not write its port file in time:\n" + output());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string ServerProcess::output() const { return read_file(output_file_); }

std::vector<std::string> ServerProcess::config_args() const {
  if (config_file_.empty()) return {"--domain", "localhost"};
  return {"--config", config_file_.string()};
}

void ServerProcess::add_user(const std::string& jid, const std::string& password) const {
  std::vector<std::string> args{"adduser", jid, "--data-dir", data_dir_.string()};
  const auto selection = config_args();
  args.insert(args.end(), selection.begin(), selection.end());
  const RunResult result = run_parley(args, password + "\n");
  if (result.exit_code != 0) {
    throw std::runtime_error("parley adduser " + jid + " failed (" +
                             std::to_string(result.exit_code) + "):\n" + result.output);
  }
}

std::optional<int> ServerProcess::signal_and_wait(int signal, std::chrono::milliseconds timeout) {
  if (reaped_) throw std::logic_error("the server has already exited");
  if (::kill(pid_, signal) != 0) throw_errno("kill");
  return wait(timeout);
}

std::optional<int> ServerProcess::wait(std::chrono::milliseconds timeout) {
  if (reaped_) throw std::logic_error("the server has already exited");
  const auto deadline = Clock::now() + timeout;
  // A pidfd becomes readable when the process exits: no polling where the kernel has it.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  std::optional<int> result;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      result = status;
      break;
    }
    if (r < 0 && errno != EINTR) break;
    if (Clock::now() >= deadline) break;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, remaining_ms(deadline));
    } else {
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return result;
}

Client::Client(std::uint16_t port) : Client("127.0.0.1", port, "jabber:client") {}

Client::Client(const std::string& ipv4, std::uint16_t port, std::string_view content_namespace)
    : parser_([&] {
        xml::ParserOptions options;
        options.content_namespaces = {std::string(content_namespace)};
        return options;
      }()) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, ipv4.c_str(), &address.sin_addr) != 1) {
    ::close(fd_);
    throw std::invalid_argument("not an IPv4 address: " + ipv4);
  }
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int err = errno;
    ::close(fd_);
    errno = err;
    throw_errno("connect to " + ipv4 + ":" + std::to_string(port));
  }
}

std::unique_ptr<Client> Client::s2s(const std::string& ipv4, std::uint16_t port) {
  return std::unique_ptr<Client>(new Client(ipv4, port, "jabber:server"));
}

Client::Client(std::uint16_t port, const TlsOptions& direct_tls) : Client(port) {
  start_tls(direct_tls);
}

Client::~Client() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  if (fd_ >= 0) ::close(fd_);
}

void Client::send(std::string_view bytes) {
  if (ssl_ != nullptr) {
    const auto deadline = Clock::now() + kTimeout;
    while (!bytes.empty()) {
      ERR_clear_error();
      // A retried SSL_write gets the same buffer and length, as OpenSSL requires.
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      const int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
        if (!wait_io(error == SSL_ERROR_WANT_WRITE, deadline))
          throw std::runtime_error("TLS write timed out");
        continue;
      }
      throw std::runtime_error("TLS write failed: " + ssl_errors());
    }
    return;
  }
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Client::shutdown_send() {
  if (ssl_ != nullptr) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // our close_notify; we do not wait for the server's
  }
  ::shutdown(fd_, SHUT_WR);
}

void Client::reset_connection() {
  if (fd_ < 0) return;
  const linger abortive{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

bool Client::wait_io(bool write, Clock::time_point deadline) {
  pollfd p{fd_, static_cast<short>(write ? POLLOUT : POLLIN), 0};
  for (;;) {
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw_errno("poll");
    return ready > 0;
  }
}

bool Client::receive(Clock::time_point deadline) {
  if (ssl_ != nullptr) {
    std::array<char, 4096> buffer{};
    for (;;) {
      ERR_clear_error();
      const int n = SSL_read(ssl_, buffer.data(), static_cast<int>(buffer.size()));
      if (n > 0) {
        const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
        received_ += bytes;
        parser_.feed(bytes);
        return true;
      }
      const int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (!wait_io(error == SSL_ERROR_WANT_WRITE, deadline)) return false;
        continue;
      }
      // close_notify, or the TCP connection ended (EOF without close_notify, a reset).
      close_notify_ = error == SSL_ERROR_ZERO_RETURN;
      ERR_clear_error();
      closed_ = true;
      return true;
    }
  }
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, remaining_ms(deadline));
  if (ready < 0 && errno != EINTR) throw_errno("poll");
  if (ready <= 0) return false;
  std::array<char, 4096> buffer{};
  const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
  if (n > 0) {
    const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
    received_ += bytes;
    parser_.feed(bytes);
  } else if (n == 0 || errno == ECONNRESET) {
    closed_ = true;
  } else if (errno != EINTR && errno != EAGAIN) {
    throw_errno("recv");
  }
  return true;
}

std::optional<xml::StreamParser::Event> Client::next_event(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto event = parser_.next();
    if (event.type != xml::StreamParser::EventType::NeedMore) return event;
    if (closed_ || !receive(deadline)) return std::nullopt;
  }
}

bool Client::wait_for_close(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!closed_) {
    if (!receive(deadline)) return false;
  }
  return true;
}

void Client::start_tls(const TlsOptions& options) {
  if (ssl_ != nullptr) throw std::logic_error("TLS is on already");
  // OpenSSL writes with plain send(), without MSG_NOSIGNAL: a write to a connection the server
  // has closed must fail, not kill the test.
  ::signal(SIGPIPE, SIG_IGN);
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr) throw std::runtime_error("SSL_CTX_new: " + ssl_errors());
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);  // self-signed test certificates
  if (options.max_version != 0 &&
      SSL_CTX_set_max_proto_version(ssl_ctx_, options.max_version) != 1) {
    throw std::runtime_error("SSL_CTX_set_max_proto_version: " + ssl_errors());
  }
  if (!options.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ssl_ctx_, options.ciphersuites.c_str()) != 1) {
    throw std::runtime_error("SSL_CTX_set_ciphersuites: " + ssl_errors());
  }
  ssl_ = SSL_new(ssl_ctx_);
  if (ssl_ == nullptr) throw std::runtime_error("SSL_new: " + ssl_errors());
  if (!options.server_name.empty()) {
    // SSL_set_tlsext_host_name, without the macro's C cast.
    std::string name = options.server_name;
    if (SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, name.data()) != 1)
      throw std::runtime_error("SNI: " + ssl_errors());
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const auto& protocol : options.alpn) {
      wire += static_cast<char>(protocol.size());
      wire += protocol;
    }
    if (SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size())) != 0) {
      throw std::runtime_error("SSL_set_alpn_protos failed");
    }
  }
  if (!options.certificate_file.empty()) {
    // A client certificate: what an initiating server presents (XEP-0178).
    if (SSL_use_certificate_chain_file(ssl_, options.certificate_file.c_str()) != 1 ||
        SSL_use_PrivateKey_file(ssl_, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error("client certificate: " + ssl_errors());
    }
  }
  if (SSL_set_fd(ssl_, fd_) != 1) throw std::runtime_error("SSL_set_fd: " + ssl_errors());
  // Non-blocking from here on, so that every read and write has a deadline.
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("fcntl");
  const auto deadline = Clock::now() + kTimeout;
  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(ssl_);
    if (r == 1) break;
    const int error = SSL_get_error(ssl_, r);
    if ((error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) &&
        wait_io(error == SSL_ERROR_WANT_WRITE, deadline)) {
      continue;
    }
    throw std::runtime_error("TLS handshake failed (SSL error " + std::to_string(error) +
                             "): " + ssl_errors() + context());
  }
  parser_.reset();
}

void Client::reset_stream() { parser_.reset(); }

std::string Client::context() const {
  return std::string(closed_ ? " (connection closed)" : "") + "; received: " + received_;
}

xml::Document Client::expect_element(std::chrono::milliseconds timeout) {
  auto event = next_event(timeout);
  if (!event) {
    throw std::runtime_error(std::string("expected an element, but ") +
                             (closed_ ? "the connection closed" : "none came in time") + context());
  }
  if (event->type != xml::StreamParser::EventType::Element) {
    throw std::runtime_error(
        "expected an element, got parser event " + std::to_string(static_cast<int>(event->type)) +
        (event->type == xml::StreamParser::EventType::Error
             ? " (" + std::string(xml::to_string(event->error)) + ": " + event->error_text + ")"
             : std::string()) +
        context());
  }
  return std::move(event->element);
}

xml::Document Client::open_stream(std::string_view header) {
  std::string with_domain;
  if (header.empty() && !domain_.empty()) {
    with_domain = std::string(kClientHeader);
    with_domain.replace(with_domain.find("to='localhost'"), 14, "to='" + domain_ + "'");
    header = with_domain;
  }
  send(header.empty() ? kClientHeader : header);
  auto event = next_event();
  if (!event || event->type != xml::StreamParser::EventType::StreamOpened)
    throw std::runtime_error("no stream header from the server" + context());
  xml::Document features = expect_element();
  if (!features.root().is("features", xml::ns::kStream))
    throw std::runtime_error("expected <stream:features/>" + context());
  return features;
}

void Client::starttls(const TlsOptions& options) {
  send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  const xml::Document proceed = expect_element();
  if (!proceed.root().is("proceed", xml::ns::kTls))
    throw std::runtime_error("expected <proceed/>" + context());
  start_tls(options);
}

SaslOutcome Client::authenticate(const std::string& user, const std::string& password,
                                 const std::string& mechanism, const SaslOptions& options) {
  std::optional<core::sasl::ScramClient> scram;
  std::string initial;
  if (mechanism == "PLAIN") {
    initial = options.authzid + std::string(1, '\0') + user + std::string(1, '\0') + password;
  } else {
    if (!mechanism.starts_with("SCRAM-")) throw std::logic_error("unknown mechanism " + mechanism);
    core::sasl::ScramClientOptions scram_options;
    const bool plus = mechanism.ends_with("-PLUS");
    scram_options.hash_name = mechanism.substr(6, mechanism.size() - 6 - (plus ? 5 : 0));
    scram_options.username = user;
    scram_options.password = password;
    scram_options.authzid = options.authzid;
    if (plus) {
      if (ssl_ == nullptr) throw std::logic_error(mechanism + " needs TLS");
      const auto bindings = core::sasl::channel_bindings(ssl_);
      const std::string* data = bindings.find(options.cb_name);
      if (data == nullptr)
        throw std::runtime_error("no client-side channel-binding data for " + options.cb_name);
      scram_options.cb_name = options.cb_name;
      scram_options.cb_data = options.cb_data.value_or(*data);
    } else {
      scram_options.supports_channel_binding = options.claim_channel_binding_support;
    }
    scram.emplace(std::move(scram_options));
    if (scram->mechanism() != mechanism) throw std::logic_error("mechanism " + mechanism);
    initial = scram->client_first();
  }
  xml::Document answer;
  if (options.initial_response) {
    send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + mechanism + "'>" +
         sasl_text(initial) + "</auth>");
    answer = expect_element();
  } else {
    send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + mechanism + "'/>");
    answer = expect_element();
    if (answer.root().is("challenge", xml::ns::kSasl)) {
      if (!decode_sasl_text(answer.root(), "challenge").empty())
        throw std::runtime_error("the first challenge is not empty" + context());
      send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + sasl_text(initial) +
           "</response>");
      answer = expect_element();
    }
  }
  if (scram && answer.root().is("challenge", xml::ns::kSasl)) {
    const auto final_message = scram->client_final(decode_sasl_text(answer.root(), "challenge"));
    if (!final_message)
      throw std::runtime_error("the server-first-message is not acceptable" + context());
    send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + sasl_text(*final_message) +
         "</response>");
    answer = expect_element();
  }
  SaslOutcome outcome;
  const xml::Element root = answer.root();
  if (root.is("success", xml::ns::kSasl)) {
    outcome.success = true;
    if (scram) outcome.server_verified = scram->verify_server_final(decode_sasl_text(root, "v="));
    parser_.reset();  // RFC 6120 §6.4.6: a new stream follows
  } else if (root.is("failure", xml::ns::kSasl)) {
    for (xml::Element child : root.children()) {
      if (child.name() != "text") outcome.condition = child.name();
    }
  } else if (!root.is("error", xml::ns::kStream)) {
    throw std::runtime_error("unexpected answer in a SASL exchange" + context());
  }
  outcome.element = std::move(answer);
  return outcome;
}

std::string Client::bind(const std::optional<std::string>& resource) {
  const xml::Document features = open_stream();
  if (!features.root().child("bind", xml::ns::kBind))
    throw std::runtime_error("the features after SASL offer no <bind/>" + context());
  send("<iq type='set' id='bind-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>" +
       (resource ? "<resource>" + xml_escape(*resource) + "</resource>" : std::string()) +
       "</bind></iq>");
  const xml::Document reply = expect_element();
  const xml::Element iq = reply.root();
  if (!iq.is("iq", xml::ns::kClient) || iq.attr("type") != "result" || iq.attr("id") != "bind-1")
    throw std::runtime_error("resource binding failed" + context());
  const xml::Element jid = iq.child("bind", xml::ns::kBind).child("jid", xml::ns::kBind);
  if (!jid) throw std::runtime_error("the bind result has no <jid/>" + context());
  return jid.text();
}

std::string Client::login(const std::string& user, const std::string& password,
                          const std::string& mechanism,
                          const std::optional<std::string>& resource) {
  open_stream();
  if (ssl_ == nullptr) {
    starttls();
    open_stream();
  }
  const SaslOutcome outcome = authenticate(user, password, mechanism);
  if (!outcome.success)
    throw std::runtime_error("authentication failed (" + outcome.condition + ")" + context());
  if (mechanism != "PLAIN" && !outcome.server_verified)
    throw std::runtime_error("the server's SCRAM signature does not verify" + context());
  return bind(resource);
}

xml::Document Client::iq(std::string_view iq_xml) {
  send(iq_xml);
  xml::Document reply = expect_element();
  if (!reply.root().is("iq", xml::ns::kClient))
    throw std::runtime_error("expected an <iq/> in reply" + context());
  return reply;
}

std::string stream_error_condition(xml::Element element) {
  if (!element.is("error", xml::ns::kStream)) return {};
  for (xml::Element child : element.children()) {
    if (child.ns() == xml::ns::kStreamErrors && child.name() != "text")
      return std::string(child.name());
  }
  return {};
}

std::string stanza_error_condition(xml::Element stanza) {
  const xml::Element error = stanza.child("error", xml::ns::kClient);
  if (!error) return {};
  for (xml::Element child : error.children()) {
    if (child.ns() == xml::ns::kStanzaErrors && child.name() != "text")
      return std::string(child.name());
  }
  return {};
}

std::vector<xml::Document> drain(Client& client) {
  static unsigned counter = 0;  // ids unique within the test process
  const std::string id = "drain-" + std::to_string(++counter);
  client.send("<iq type='get' id='" + id + "'><ping xmlns='urn:xmpp:ping'/></iq>");
  std::vector<xml::Document> before;
  const xml::Document result = read_until(
      client, [&id](xml::Element e) { return e.is("iq", xml::ns::kClient) && e.attr("id") == id; },
      &before);
  if (result.root().attr("type") != "result")
    throw std::runtime_error("the ping " + id +
                             " was not answered with a result; received: " + client.received());
  return before;
}

xml::Document read_until(Client& client, const std::function<bool(xml::Element)>& match,
                         std::vector<xml::Document>* skipped, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      throw std::runtime_error("the expected element did not come in time; received: " +
                               client.received());
    xml::Document element = client.expect_element(left);
    if (match(element.root())) return element;
    if (skipped != nullptr) skipped->push_back(std::move(element));
  }
}

void register_account(Client& client, const std::string& user, const std::string& password) {
  client.open_stream();
  client.starttls();
  client.open_stream();
  client.send("<iq type='set' id='register-1'><query xmlns='jabber:iq:register'><username>" +
              xml_escape(user) + "</username><password>" + xml_escape(password) +
              "</password></query></iq>");
  const xml::Document reply = client.expect_element();
  if (!reply.root().is("iq", xml::ns::kClient) || reply.root().attr("type") != "result" ||
      reply.root().attr("id") != "register-1") {
    throw std::runtime_error("registering " + user + " failed; received: " + client.received());
  }
}

}  // namespace parley::testing
