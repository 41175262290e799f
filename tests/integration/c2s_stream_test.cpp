// The c2s stream as a client sees it on the wire (RFC 6120 §4), against the real `parley serve`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "tests/integration/server_process.hpp"
#include "xml/namespaces.hpp"
#include "xml/stream_error.hpp"

namespace parley::testing {
namespace {

using EventType = xml::StreamParser::EventType;
namespace ns = xml::ns;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class C2sStreamTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = std::make_unique<ServerProcess>(); }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- server output ---\n" << server_->output();
  }

  // Expects the server's stream header: RFC 6120 §4.7 attributes, §4.8 namespaces.
  static void expect_server_header(Client& client) {
    auto event = client.next_event();
    ASSERT_TRUE(event) << "no stream header; received: " << client.received();
    ASSERT_EQ(event->type, EventType::StreamOpened)
        << xml::to_string(event->error) << " " << event->error_text
        << "; received: " << client.received();
    const xml::StreamHeader& header = client.header();
    EXPECT_EQ(header.namespace_of(header.prefix), ns::kStream);
    EXPECT_EQ(header.content_namespace, ns::kClient);
    EXPECT_EQ(header.attr("from"), "localhost");
    EXPECT_EQ(header.attr("version"), "1.0");
    EXPECT_EQ(header.attr("xml:lang"), "en");
    EXPECT_FALSE(header.attr("id").empty());
    EXPECT_TRUE(client.received().starts_with("<?xml version=")) << client.received();
  }

  // The features of a stream in the clear (RFC 6120 §5.3.1): STARTTLS, mandatory, and nothing
  // else: no SASL mechanisms before TLS.
  static void expect_features(Client& client) {
    auto event = client.next_event();
    ASSERT_TRUE(event) << "no features; received: " << client.received();
    ASSERT_EQ(event->type, EventType::Element) << client.received();
    const xml::Element features = event->element.root();
    EXPECT_TRUE(features.is("features", ns::kStream)) << client.received();
    EXPECT_EQ(features.child_count(), 1u) << client.received();
    const xml::Element starttls = features.child("starttls", ns::kTls);
    ASSERT_TRUE(starttls) << client.received();
    EXPECT_TRUE(starttls.child("required", ns::kTls)) << client.received();
    EXPECT_FALSE(features.child("mechanisms", ns::kSasl)) << client.received();
  }

  // RFC 6120 §4.9.1.1: <stream:error> with the condition, the closing tag, then TCP close.
  static void expect_stream_error(Client& client, xml::StreamError condition) {
    auto event = client.next_event();
    ASSERT_TRUE(event) << "no stream error; received: " << client.received();
    ASSERT_EQ(event->type, EventType::Element) << client.received();
    const xml::Element error = event->element.root();
    ASSERT_TRUE(error.is("error", ns::kStream)) << client.received();
    EXPECT_TRUE(error.child(xml::to_string(condition), ns::kStreamErrors))
        << "expected <" << xml::to_string(condition) << "/>; received: " << client.received();
    auto closed = client.next_event();
    ASSERT_TRUE(closed) << "no closing tag; received: " << client.received();
    EXPECT_EQ(closed->type, EventType::StreamClosed) << client.received();
    EXPECT_TRUE(client.wait_for_close()) << "connection still open after the stream error";
  }

  void open_stream(Client& client) {
    client.send(kClientHeader);
    expect_server_header(client);
    expect_features(client);
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(C2sStreamTest, StreamHeaderIsAnsweredWithHeaderAndFeatures) {
  Client client(server_->port());
  open_stream(client);
}

TEST_F(C2sStreamTest, StreamHeaderInSmallChunksIsAnsweredToo) {
  Client client(server_->port());
  for (char c : kClientHeader) client.send(std::string_view(&c, 1));
  expect_server_header(client);
  expect_features(client);
}

TEST_F(C2sStreamTest, EachStreamGetsItsOwnId) {
  Client first(server_->port());
  Client second(server_->port());
  open_stream(first);
  open_stream(second);
  EXPECT_NE(first.header().attr("id"), second.header().attr("id"));
}

TEST_F(C2sStreamTest, ResponseIsAddressedToTheClientsFrom) {
  Client client(server_->port());
  client.send(
      "<stream:stream from='juliet@localhost' to='localhost' version='1.0' "
      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  expect_server_header(client);
  EXPECT_EQ(client.header().attr("to"), "juliet@localhost");  // RFC 6120 §4.7.2
}

TEST_F(C2sStreamTest, ClosingTagIsAnsweredWithClosingTagAndClose) {
  Client client(server_->port());
  open_stream(client);
  client.send("</stream:stream>");
  auto event = client.next_event();
  ASSERT_TRUE(event) << client.received();
  EXPECT_EQ(event->type, EventType::StreamClosed) << client.received();
  EXPECT_TRUE(client.wait_for_close());
}

// RFC 6120 §4.9.3.12: stanzas before authentication end the stream with not-authorized.
TEST_F(C2sStreamTest, StanzasBeforeAuthenticationGetNotAuthorized) {
  Client client(server_->port());
  open_stream(client);
  client.send("<message to='romeo@localhost'><body>hi</body></message><presence/>");
  expect_stream_error(client, xml::StreamError::NotAuthorized);
}

TEST_F(C2sStreamTest, IqBeforeAuthenticationGetsNotAuthorized) {
  Client client(server_->port());
  open_stream(client);
  client.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
  expect_stream_error(client, xml::StreamError::NotAuthorized);
}

// Registration is not open on a default server, and never in the clear (XEP-0077 §4).
TEST_F(C2sStreamTest, RegistrationBeforeAuthenticationGetsNotAuthorized) {
  Client client(server_->port());
  open_stream(client);
  client.send(
      "<iq type='set' id='r1'><query xmlns='jabber:iq:register'><username>eve</username>"
      "<password>secret</password></query></iq>");
  expect_stream_error(client, xml::StreamError::NotAuthorized);
}

// RFC 6120 §4.9.3.24: a first-level element in an unknown namespace.
TEST_F(C2sStreamTest, UnknownTopLevelElementGetsUnsupportedStanzaType) {
  Client client(server_->port());
  open_stream(client);
  client.send("<foo xmlns='urn:x'/>");
  expect_stream_error(client, xml::StreamError::UnsupportedStanzaType);
}

TEST_F(C2sStreamTest, MalformedXmlGetsNotWellFormed) {
  Client client(server_->port());
  open_stream(client);
  client.send("<a><b></a>");
  expect_stream_error(client, xml::StreamError::NotWellFormed);
}

TEST_F(C2sStreamTest, GarbageBeforeAnyHeaderGetsOurHeaderThenAnError) {
  Client client(server_->port());
  client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  // RFC 6120 §4.9.1.2: the error comes after a stream header of ours.
  expect_server_header(client);
  expect_stream_error(client, xml::StreamError::NotWellFormed);
}

TEST_F(C2sStreamTest, WrongStreamNamespaceGetsInvalidNamespaceAfterOurHeader) {
  Client client(server_->port());
  client.send(
      "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' "
      "xmlns:stream='http://example.com/not-the-stream-namespace'>");
  expect_server_header(client);
  expect_stream_error(client, xml::StreamError::InvalidNamespace);
}

TEST_F(C2sStreamTest, ServerNamespaceOnTheClientPortGetsInvalidNamespace) {
  Client client(server_->port());
  client.send(
      "<stream:stream to='localhost' version='1.0' xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams'>");
  expect_server_header(client);
  expect_stream_error(client, xml::StreamError::InvalidNamespace);
}

TEST_F(C2sStreamTest, UnknownDomainGetsHostUnknown) {
  Client client(server_->port());
  client.send(
      "<stream:stream to='example.net' version='1.0' xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'>");
  expect_server_header(client);
  expect_stream_error(client, xml::StreamError::HostUnknown);  // RFC 6120 §4.9.3.6
}

TEST_F(C2sStreamTest, DomainIsMatchedCaseInsensitively) {
  Client client(server_->port());
  client.send(
      "<stream:stream to='LocalHost' version='1.0' xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'>");
  expect_server_header(client);
  expect_features(client);
}

TEST_F(C2sStreamTest, MissingVersionGetsUnsupportedVersion) {
  Client client(server_->port());
  client.send(
      "<stream:stream to='localhost' xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'>");
  expect_server_header(client);
  expect_stream_error(client, xml::StreamError::UnsupportedVersion);  // RFC 6120 §4.7.5
}

TEST_F(C2sStreamTest, PeerDroppingTheConnectionDoesNotDisturbOthers) {
  {
    Client rude(server_->port());
    rude.send(std::string(kClientHeader) + "<message><body>unfinished");
  }  // closed without </stream:stream>
  Client client(server_->port());
  open_stream(client);
}

TEST_F(C2sStreamTest, SelfSignedCertificateIsCreatedInTheDataDir) {
  const auto cert = server_->data_dir() / "localhost.crt";
  const auto key = server_->data_dir() / "localhost.key";
  ASSERT_TRUE(std::filesystem::exists(cert));
  ASSERT_TRUE(std::filesystem::exists(key));
  EXPECT_TRUE(slurp(cert).starts_with("-----BEGIN CERTIFICATE-----"));
  EXPECT_TRUE(slurp(key).starts_with("-----BEGIN PRIVATE KEY-----"));
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the private key must be readable by its owner only";
  EXPECT_NE(server_->output().find("self-signed"), std::string::npos) << server_->output();
}

TEST_F(C2sStreamTest, RestartKeepsTheCertificate) {
  const auto cert = server_->data_dir() / "localhost.crt";
  const std::string first = slurp(cert);
  ASSERT_FALSE(first.empty());
  ServerProcess second({}, server_->data_dir());
  EXPECT_EQ(slurp(cert), first);
}

class ShutdownTest : public C2sStreamTest, public ::testing::WithParamInterface<int> {};

TEST_P(ShutdownTest, SignalSendsSystemShutdownToOpenStreamsAndExitsZero) {
  {
    Client first(server_->port());
    Client second(server_->port());
    open_stream(first);
    open_stream(second);
    ASSERT_EQ(::kill(server_->pid(), GetParam()), 0);
    expect_stream_error(first, xml::StreamError::SystemShutdown);
    expect_stream_error(second, xml::StreamError::SystemShutdown);
  }  // the clients close their side, as clients do after </stream:stream>
  const auto status = server_->wait(kTimeout);
  ASSERT_TRUE(status) << "the server did not exit";
  ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_P(ShutdownTest, SignalWithoutClientsExitsZero) {
  const auto status = server_->signal_and_wait(GetParam(), kTimeout);
  ASSERT_TRUE(status) << "the server did not exit";
  ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// A client that keeps its side open after our </stream:stream> delays the exit by at most
// C2sSession::kCloseTimeout (RFC 6120 §4.4 lets us give up waiting for its closing tag).
TEST_F(C2sStreamTest, ShutdownIsNotHeldUpByAClientThatNeverCloses) {
  Client client(server_->port());
  open_stream(client);
  ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
  expect_stream_error(client, xml::StreamError::SystemShutdown);
  const auto status = server_->wait(kTimeout);
  ASSERT_TRUE(status) << "the server did not exit";
  ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(C2sStreamTest, SecondSignalClosesConnectionsAtOnce) {
  Client client(server_->port());
  open_stream(client);
  ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
  expect_stream_error(client, xml::StreamError::SystemShutdown);
  // Well below C2sSession::kCloseTimeout (5 s), which the first signal alone would wait for.
  const auto status = server_->signal_and_wait(SIGTERM, std::chrono::seconds(3));
  ASSERT_TRUE(status) << "the server did not exit promptly";
  ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

INSTANTIATE_TEST_SUITE_P(Signals, ShutdownTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& param_info) {
                           return param_info.param == SIGTERM ? "SIGTERM" : "SIGINT";
                         });

}  // namespace
}  // namespace parley::testing
