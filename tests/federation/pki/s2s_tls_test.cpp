// TLS between two servers (federation/pki/s2s_tls.hpp): real handshakes over memory BIO pairs and
// over loopback sockets with Boost.Asio, then verify_peer() on both ends.
#include "federation/pki/s2s_tls.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/config.hpp"
#include "tests/federation/pki/test_pki.hpp"

namespace parley::federation::pki {
namespace {

using test::Eku;
using test::LeafOptions;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Optional;

using SslPtr = std::unique_ptr<SSL, core::tls::Deleter<SSL_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, core::tls::Deleter<SSL_CTX_free>>;

// Two TLS ends joined by a BIO pair, handshaken step by step until both are done or one fails.
struct Link {
  SslPtr client;
  SslPtr server;
  bool ok = false;
  std::string error;

  std::string alpn(SSL* ssl) const {
    const unsigned char* data = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(ssl, &data, &length);
    return std::string(reinterpret_cast<const char*>(data), length);
  }
  // The first DNS-ID of the certificate `ssl` received.
  std::vector<std::string> peer_identities(SSL* ssl) const {
    return certificate_identities(SSL_get0_peer_certificate(ssl));
  }
};

Link handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx,
               const std::function<void(SSL* client, SSL* server)>& prepare) {
  Link link;
  link.client.reset(SSL_new(client_ctx));
  link.server.reset(SSL_new(server_ctx));
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (!link.client || !link.server || BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) {
    link.error = "setup failed";
    return link;
  }
  SSL_set_bio(link.client.get(), client_bio, client_bio);
  SSL_set_bio(link.server.get(), server_bio, server_bio);
  SSL_set_connect_state(link.client.get());
  SSL_set_accept_state(link.server.get());
  prepare(link.client.get(), link.server.get());

  bool client_done = false;
  bool server_done = false;
  auto step = [&](SSL* ssl, bool& done, const char* side) {
    if (done) return true;
    const int r = SSL_do_handshake(ssl);
    if (r == 1) {
      done = true;
      return true;
    }
    const int error = SSL_get_error(ssl, r);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return true;
    link.error = std::string(side) + ": " + core::tls::openssl_reason();
    return false;
  };
  for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
    if (!step(link.client.get(), client_done, "client") ||
        !step(link.server.get(), server_done, "server")) {
      return link;
    }
  }
  link.ok = client_done && server_done;
  if (!link.ok && link.error.empty()) link.error = "handshake did not finish";
  return link;
}

void no_preparation(SSL*, SSL*) {}

core::VirtualHost host(const std::string& domain, const test::PemFiles& files) {
  core::VirtualHost h;
  h.domain = domain;
  h.certificate = files.certificate;
  h.key = files.key;
  return h;
}

// "Here": serves a.example and b.example with certificates of the trusted test CA; "there":
// serves remote.example, with a certificate chosen per test.
class S2sTlsTest : public ::testing::Test {
 protected:
  S2sTlsTest() : anchors_(TrustAnchors::load(ca_.write_root(dir_.path(), "ca"))) {
    core::Config config;
    config.data_dir = dir_.path();
    config.hosts = {
        host("a.example", ca_.issue_files(test::server_leaf("a.example"), dir_.path(), "a")),
        host("b.example", ca_.issue_files(test::server_leaf("b.example"), dir_.path(), "b")),
    };
    here_ = S2sTls::load(config, anchors_);
  }

  // Parley's S2sTls for remote.example presenting `issued`.
  std::shared_ptr<S2sTls> there(const test::Issued& issued) {
    core::Config config;
    config.data_dir = dir_.path();
    config.hosts = {host("remote.example", test::write_files(issued, dir_.path(), "remote"))};
    return S2sTls::load(config, anchors_);
  }
  std::shared_ptr<S2sTls> there() { return there(ca_.issue(test::server_leaf("remote.example"))); }

  // An outgoing link from remote.example to `to`.
  Link connect(const S2sTls& from, const std::string& to, bool direct_tls = false) {
    return handshake(from.client_context("remote.example").native_handle(),
                     here_->server_context().native_handle(),
                     [&](SSL* client, SSL*) { S2sTls::prepare_client(client, to, direct_tls); });
  }

  test::TempDir dir_;
  test::TestCa ca_;
  std::shared_ptr<TrustAnchors> anchors_;
  std::shared_ptr<S2sTls> here_;
};

TEST_F(S2sTlsTest, BothEndsPresentAndValidateCertificates) {
  auto remote = there();
  Link link = connect(*remote, "a.example");
  ASSERT_TRUE(link.ok) << link.error;
  // The receiving server got the initiating server's certificate (XEP-0178 §3).
  const PeerCertificate incoming = here_->verify(link.server.get(), "remote.example");
  EXPECT_TRUE(incoming.valid()) << incoming.describe();
  EXPECT_THAT(incoming.identity, Optional(IdentityKind::DnsId));
  const PeerCertificate outgoing = remote->verify(link.client.get(), "a.example");
  EXPECT_TRUE(outgoing.valid()) << outgoing.describe();
  // A certificate is valid for its own name only.
  EXPECT_FALSE(here_->verify(link.server.get(), "evil.example").valid());
}

TEST_F(S2sTlsTest, IntermediatesThePeerSendsCompleteItsChain) {
  const test::TestCa intermediate = ca_.intermediate("Parley Test Intermediate");
  auto remote = there(intermediate.issue(test::server_leaf("remote.example")));
  Link link = connect(*remote, "a.example");
  ASSERT_TRUE(link.ok) << link.error;
  const PeerCertificate incoming = here_->verify(link.server.get(), "remote.example");
  EXPECT_TRUE(incoming.valid()) << incoming.describe();
}

TEST_F(S2sTlsTest, UntrustedClientCertificateDoesNotFailTheHandshake) {
  test::TestCa stranger("Stranger CA");
  auto remote = there(stranger.issue(test::server_leaf("remote.example")));
  Link link = connect(*remote, "a.example");
  ASSERT_TRUE(link.ok) << link.error;
  const PeerCertificate incoming = here_->verify(link.server.get(), "remote.example");
  EXPECT_TRUE(incoming.presented);
  EXPECT_FALSE(incoming.chain_valid);  // → dialback, not SASL EXTERNAL
  EXPECT_THAT(incoming.chain_error, HasSubstr("unable to get local issuer certificate"));
}

TEST_F(S2sTlsTest, SelfSignedServerCertificateDoesNotFailTheHandshake) {
  core::Config config;
  config.data_dir = dir_.path();
  config.hosts = {
      host("self.example", test::write_files(test::self_signed(test::server_leaf("self.example")),
                                             dir_.path(), "self"))};
  auto self_signed = S2sTls::load(config, anchors_);
  auto remote = there();
  Link link = handshake(remote->client_context("remote.example").native_handle(),
                        self_signed->server_context().native_handle(), [](SSL* client, SSL*) {
                          S2sTls::prepare_client(client, "self.example", false);
                        });
  ASSERT_TRUE(link.ok) << link.error;
  const PeerCertificate outgoing = remote->verify(link.client.get(), "self.example");
  EXPECT_TRUE(outgoing.presented);
  EXPECT_FALSE(outgoing.chain_valid);
  EXPECT_THAT(outgoing.chain_error, HasSubstr("self-signed certificate"));
  EXPECT_TRUE(self_signed->verify(link.server.get(), "remote.example").valid());
}

// Let's Encrypt's "tlsserver" profile: no clientAuth, presented as TLS client anyway.
TEST_F(S2sTlsTest, ServerAuthOnlyCertificateAuthenticatesTheInitiatingServer) {
  LeafOptions options = test::server_leaf("remote.example");
  options.eku = Eku::ServerAuth;
  auto remote = there(ca_.issue(options));
  Link link = connect(*remote, "a.example");
  ASSERT_TRUE(link.ok) << link.error;
  const PeerCertificate incoming = here_->verify(link.server.get(), "remote.example");
  EXPECT_TRUE(incoming.valid()) << incoming.describe();
}

TEST_F(S2sTlsTest, PeerWithoutCertificateStillConnects) {
  CtxPtr bare(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(bare);
  Link link = handshake(bare.get(), here_->server_context().native_handle(), [](SSL* client, SSL*) {
    S2sTls::prepare_client(client, "a.example", false);
  });
  ASSERT_TRUE(link.ok) << link.error;
  const PeerCertificate incoming = here_->verify(link.server.get(), "remote.example");
  EXPECT_FALSE(incoming.presented);
  EXPECT_FALSE(incoming.valid());
  EXPECT_EQ(incoming.describe(), "certificate of remote.example: none presented");
}

TEST_F(S2sTlsTest, SniSelectsTheHostCertificate) {
  auto remote = there();
  Link to_b = connect(*remote, "b.example");
  ASSERT_TRUE(to_b.ok) << to_b.error;
  EXPECT_THAT(to_b.peer_identities(to_b.client.get()), Contains("DNS:b.example"));
  EXPECT_TRUE(remote->verify(to_b.client.get(), "b.example").valid());
  EXPECT_FALSE(remote->verify(to_b.client.get(), "a.example").valid());

  Link to_a = connect(*remote, "A.Example");
  ASSERT_TRUE(to_a.ok) << to_a.error;
  EXPECT_THAT(to_a.peer_identities(to_a.client.get()), Contains("DNS:a.example"));

  // A name not served keeps the default (first) host's certificate.
  Link unknown = connect(*remote, "c.example");
  ASSERT_TRUE(unknown.ok) << unknown.error;
  EXPECT_THAT(unknown.peer_identities(unknown.client.get()), Contains("DNS:a.example"));
}

TEST_F(S2sTlsTest, StartTlsPresentsTheCertificateOfTheStreamTo) {
  CtxPtr bare(SSL_CTX_new(TLS_client_method()));  // no SNI: only the stream's 'to' tells
  ASSERT_TRUE(bare);
  Link link = handshake(bare.get(), here_->server_context().native_handle(),
                        [&](SSL*, SSL* server) { here_->prepare_server(server, "b.example"); });
  ASSERT_TRUE(link.ok) << link.error;
  EXPECT_THAT(link.peer_identities(link.client.get()), Contains("DNS:b.example"));
}

TEST_F(S2sTlsTest, AlpnXmppServerOnDirectTls) {
  auto remote = there();
  Link direct = connect(*remote, "a.example", /*direct_tls=*/true);
  ASSERT_TRUE(direct.ok) << direct.error;
  EXPECT_EQ(direct.alpn(direct.client.get()), "xmpp-server");
  EXPECT_EQ(direct.alpn(direct.server.get()), "xmpp-server");

  Link starttls = connect(*remote, "a.example", /*direct_tls=*/false);
  ASSERT_TRUE(starttls.ok) << starttls.error;
  EXPECT_EQ(starttls.alpn(starttls.client.get()), "");
}

TEST_F(S2sTlsTest, OtherAlpnProtocolGetsNoAlpn) {
  CtxPtr other(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(other);
  static constexpr unsigned char kXmppClient[] = {11,  'x', 'm', 'p', 'p', '-',
                                                  'c', 'l', 'i', 'e', 'n', 't'};
  ASSERT_EQ(SSL_CTX_set_alpn_protos(other.get(), kXmppClient, sizeof kXmppClient), 0);
  Link link = handshake(other.get(), here_->server_context().native_handle(), no_preparation);
  ASSERT_TRUE(link.ok) << link.error;
  EXPECT_EQ(link.alpn(link.server.get()), "");
}

TEST_F(S2sTlsTest, ContextsRefuseTlsBelow12) {
  EXPECT_EQ(SSL_CTX_get_min_proto_version(here_->server_context().native_handle()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(here_->client_context("b.example").native_handle()),
            TLS1_2_VERSION);
  CtxPtr old(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(old);
  SSL_CTX_set_security_level(old.get(), 0);
  SSL_CTX_set_min_proto_version(old.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(old.get(), TLS1_1_VERSION);
  Link link = handshake(old.get(), here_->server_context().native_handle(), no_preparation);
  EXPECT_FALSE(link.ok);
}

TEST_F(S2sTlsTest, ClientContextOnlyForServedDomains) {
  EXPECT_TRUE(here_->serves("a.example"));
  EXPECT_TRUE(here_->serves("B.EXAMPLE"));
  EXPECT_FALSE(here_->serves("remote.example"));
  EXPECT_NE(&here_->client_context("a.example"), &here_->client_context("b.example"));
  EXPECT_THROW(here_->client_context("remote.example"), std::invalid_argument);
  EXPECT_EQ(&here_->trust_anchors(), anchors_.get());
}

TEST_F(S2sTlsTest, LoadNamesAMissingCertificate) {
  core::Config config;
  config.data_dir = dir_.path();
  config.hosts = {host("x.example", {dir_.path() / "missing.crt", dir_.path() / "missing.key"})};
  try {
    S2sTls::load(config, anchors_);
    FAIL() << "loaded a missing certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir_.path() / "missing.crt").string()));
  }
}

TEST_F(S2sTlsTest, LoadRefusesAKeyOfAnotherCertificate) {
  const auto a = ca_.issue_files(test::server_leaf("x.example"), dir_.path(), "x");
  const auto b = ca_.issue_files(test::server_leaf("y.example"), dir_.path(), "y");
  core::Config config;
  config.data_dir = dir_.path();
  config.hosts = {host("x.example", {a.certificate, b.key})};
  EXPECT_THROW(S2sTls::load(config, anchors_), std::runtime_error);
}

// The contexts as the session code uses them: boost::asio::ssl::stream over real sockets.
TEST_F(S2sTlsTest, AsioStreamsOverLoopback) {
  using boost::asio::ip::tcp;
  auto remote = there();
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client_socket(io);
  tcp::socket server_socket(io);
  client_socket.connect(acceptor.local_endpoint());
  acceptor.accept(server_socket);

  boost::asio::ssl::stream<tcp::socket&> server(server_socket, here_->server_context());
  boost::asio::ssl::stream<tcp::socket&> client(client_socket,
                                                remote->client_context("remote.example"));
  S2sTls::prepare_client(client.native_handle(), "b.example", /*direct_tls=*/true);
  boost::system::error_code server_error = boost::asio::error::would_block;
  boost::system::error_code client_error = boost::asio::error::would_block;
  server.async_handshake(boost::asio::ssl::stream_base::server,
                         [&](const boost::system::error_code& ec) { server_error = ec; });
  client.async_handshake(boost::asio::ssl::stream_base::client,
                         [&](const boost::system::error_code& ec) { client_error = ec; });
  io.run_for(std::chrono::seconds(10));
  ASSERT_FALSE(server_error) << server_error.message();
  ASSERT_FALSE(client_error) << client_error.message();

  const PeerCertificate incoming = here_->verify(server.native_handle(), "remote.example");
  EXPECT_TRUE(incoming.valid()) << incoming.describe();
  const PeerCertificate outgoing = remote->verify(client.native_handle(), "b.example");
  EXPECT_TRUE(outgoing.valid()) << outgoing.describe();
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(server.native_handle(), &alpn, &alpn_length);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(alpn), alpn_length), "xmpp-server");
}

}  // namespace
}  // namespace parley::federation::pki
