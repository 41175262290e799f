// parley-relay: a bare TLS relay with no XML (relay.hpp), the ceiling against which Parley,
// Prosody and ejabberd are compared with parley-load's `messages` scenario. Single-threaded.
//
//   taskset -c 0 parley-relay --port 0 --port-file /tmp/relay.port
//   taskset -c 1 parley-load --scenario messages --port $(cat /tmp/relay.port) --domain localhost
//       --users msg --password x --mechanism PLAIN --clients 200 --window 4 --server-pid PID
//
// On SIGINT or SIGTERM it prints one line (connections, messages relayed, dropped) and exits 0.
#include <openssl/ssl.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdint>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "bench/relay/relay.hpp"
#include "core/tls/self_signed.hpp"
#include "core/tls/server_contexts.hpp"
#include "core/tls/tls_socket.hpp"

namespace {

namespace asio = boost::asio;
namespace relay = parley::relay;
using asio::ip::tcp;

struct Options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 5222;
  std::string port_file;
  std::string cert;  // PEM chain; with key, or neither (then self-signed)
  std::string key;
};

// TLS 1.2+ without compression or renegotiation, with Parley's suite order, like Parley's c2s
// contexts (connections go through core::tls::TlsSocket, which releases idle record buffers and,
// after a TLS 1.3 handshake, protects records with Tls13Records instead of OpenSSL's connection,
// as Parley's do).
std::unique_ptr<asio::ssl::context> make_tls(const Options& o) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  parley::core::tls::set_server_suite_preference(native);
  SSL_CTX_set_num_tickets(native, 0);
  parley::core::tls::TlsSocket::prepare_context(native);
  if (o.cert.empty()) {
    const auto pem = parley::core::tls::generate_self_signed("localhost");
    ctx->use_certificate_chain(asio::buffer(pem.certificate));
    ctx->use_private_key(asio::buffer(pem.private_key), asio::ssl::context::pem);
  } else {
    ctx->use_certificate_chain_file(o.cert);
    ctx->use_private_key_file(o.key, asio::ssl::context::pem);
  }
  return ctx;
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, relay::Relay& state,
                                  asio::ssl::context& tls) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    ++state.counters.connections;
    auto connection = std::make_shared<relay::Connection>(state, std::move(socket), tls);
    asio::co_spawn(acceptor.get_executor(), relay::Connection::run(std::move(connection)),
                   asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A client gone must not kill the relay (TlsSocket sends with MSG_NOSIGNAL; this covers the
  // other writes).
  std::signal(SIGPIPE, SIG_IGN);
  Options o;
  CLI::App app{
      "parley-relay: a bare TLS relay with no XML, the ceiling for parley-load's 'messages' "
      "scenario. Logs any client in with canned replies (STARTTLS, SASL PLAIN with any password, "
      "bind) and forwards each <message/> verbatim to the client logged in as the localpart of "
      "its 'to'. Not an XMPP server: see bench/relay/byte_scan.hpp for what it cannot read.",
      "parley-relay"};
  app.add_option("--bind", o.bind, "Address to listen on")->capture_default_str();
  app.add_option("--port", o.port, "Port to listen on (0: any free port)")->capture_default_str();
  app.add_option("--port-file", o.port_file, "Also write the port to this file");
  auto* cert = app.add_option("--cert", o.cert,
                              "TLS certificate chain (PEM); default: a "
                              "self-signed EC P-256 one made at start")
                   ->check(CLI::ExistingFile);
  auto* key = app.add_option("--key", o.key, "TLS private key (PEM)")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  CLI11_PARSE(app, argc, argv);

  try {
    // Declared before the io_context: the connections its handlers own unregister on destruction.
    relay::Relay state;
    const auto tls = make_tls(o);
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address(o.bind), o.port));
    const auto local = acceptor.local_endpoint();
    if (!o.port_file.empty()) {
      std::ofstream(o.port_file) << local.port() << '\n';
    }
    std::cout << "parley-relay: listening on " << local.address().to_string() << ':' << local.port()
              << std::endl;

    asio::signal_set signals(io, SIGINT, SIGTERM);
    auto on_signal = [&](const boost::system::error_code& ec, int) {
      if (ec) return;
      std::cout << "parley-relay: " << state.counters.connections << " connections, "
                << state.counters.logins << " logins, " << state.counters.relayed
                << " messages relayed, " << state.counters.dropped << " dropped" << std::endl;
      io.stop();
    };
    signals.async_wait(on_signal);
    asio::co_spawn(io, accept_loop(acceptor, state, *tls), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "parley-relay: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
