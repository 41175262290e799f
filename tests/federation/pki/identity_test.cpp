// RFC 6125 §6 identity checks of server certificates (federation/pki/identity.hpp).
#include "federation/pki/identity.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/federation/pki/test_pki.hpp"

namespace parley::federation::pki {
namespace {

using test::LeafOptions;
using ::testing::ElementsAre;
using ::testing::Optional;

// Identity checks do not care who signed: a self-signed leaf is enough.
core::tls::X509Ptr make_cert(const LeafOptions& options) {
  return test::self_signed(options).certificate;
}

LeafOptions dns(std::vector<std::string> names) {
  LeafOptions options;
  options.dns_names = std::move(names);
  return options;
}

TEST(IdentityTest, DnsIdMatchesExactly) {
  auto cert = make_cert(dns({"example.org"}));
  EXPECT_THAT(certificate_identifies(cert.get(), "example.org"), Optional(IdentityKind::DnsId));
  EXPECT_EQ(certificate_identifies(cert.get(), "example.com"), std::nullopt);
  EXPECT_EQ(certificate_identifies(cert.get(), "a.example.org"), std::nullopt);
  EXPECT_EQ(certificate_identifies(cert.get(), "xample.org"), std::nullopt);
}

TEST(IdentityTest, DnsIdIgnoresAsciiCase) {
  auto cert = make_cert(dns({"Example.ORG"}));
  EXPECT_THAT(certificate_identifies(cert.get(), "example.org"), Optional(IdentityKind::DnsId));
  EXPECT_THAT(certificate_identifies(cert.get(), "EXAMPLE.org"), Optional(IdentityKind::DnsId));
}

TEST(IdentityTest, IdnaALabelsComparedAsTheyAre) {
  auto cert = make_cert(dns({"xn--bcher-kva.example"}));
  EXPECT_THAT(certificate_identifies(cert.get(), "XN--BCHER-KVA.example"),
              Optional(IdentityKind::DnsId));
  EXPECT_EQ(certificate_identifies(cert.get(), "bücher.example"), std::nullopt);
}

TEST(IdentityTest, WildcardMatchesExactlyOneLeftMostLabel) {
  auto cert = make_cert(dns({"*.example.org"}));
  EXPECT_THAT(certificate_identifies(cert.get(), "a.example.org"), Optional(IdentityKind::DnsId));
  EXPECT_THAT(certificate_identifies(cert.get(), "XMPP.Example.org"),
              Optional(IdentityKind::DnsId));
  EXPECT_EQ(certificate_identifies(cert.get(), "example.org"), std::nullopt);
  EXPECT_EQ(certificate_identifies(cert.get(), "a.b.example.org"), std::nullopt);
  EXPECT_EQ(certificate_identifies(cert.get(), ".example.org"), std::nullopt);
}

TEST(IdentityTest, WildcardOnlyAsTheWholeLeftMostLabelBelowARegisteredName) {
  EXPECT_FALSE(dns_name_matches("a*.example.org", "ab.example.org"));
  EXPECT_FALSE(dns_name_matches("*a.example.org", "ba.example.org"));
  EXPECT_FALSE(dns_name_matches("a.*.example.org", "a.b.example.org"));
  EXPECT_FALSE(dns_name_matches("*.*.example.org", "a.b.example.org"));
  EXPECT_FALSE(dns_name_matches("*.org", "example.org"));
  EXPECT_FALSE(dns_name_matches("*", "example"));
  EXPECT_FALSE(dns_name_matches("*.", "a."));
  EXPECT_TRUE(dns_name_matches("*.example.org", "a.example.org"));
}

TEST(IdentityTest, SrvIdForXmppServerMatchesTheDomain) {
  LeafOptions options;
  options.srv_names = {"_xmpp-server.example.org"};
  auto cert = make_cert(options);
  EXPECT_THAT(certificate_identifies(cert.get(), "example.org"), Optional(IdentityKind::SrvId));
  EXPECT_EQ(certificate_identifies(cert.get(), "other.org"), std::nullopt);
  EXPECT_EQ(certificate_identifies(cert.get(), "xmpp-server.example.org"), std::nullopt);
}

TEST(IdentityTest, SrvIdForXmppClientDoesNotAuthenticateAServer) {
  LeafOptions options;
  options.srv_names = {"_xmpp-client.example.org"};
  options.common_name = "example.org";  // a SRV-ID of any service also rules out the CN
  auto cert = make_cert(options);
  EXPECT_EQ(certificate_identifies(cert.get(), "example.org"), std::nullopt);
}

TEST(IdentityTest, XmppAddrOfTheBareDomainMatches) {
  LeafOptions options;
  options.xmpp_addrs = {"example.org"};
  auto cert = make_cert(options);
  EXPECT_THAT(certificate_identifies(cert.get(), "example.org"), Optional(IdentityKind::XmppAddr));
  EXPECT_THAT(certificate_identifies(cert.get(), "Example.Org"), Optional(IdentityKind::XmppAddr));
  EXPECT_EQ(certificate_identifies(cert.get(), "other.org"), std::nullopt);
}

TEST(IdentityTest, XmppAddrOfAnAccountDoesNotNameTheServer) {
  LeafOptions options;
  options.xmpp_addrs = {"admin@example.org", "example.org/resource"};
  auto cert = make_cert(options);
  EXPECT_EQ(certificate_identifies(cert.get(), "example.org"), std::nullopt);
}

TEST(IdentityTest, DnsIdReportedBeforeSrvIdAndXmppAddr) {
  LeafOptions options;
  options.dns_names = {"example.org"};
  options.srv_names = {"_xmpp-server.example.org"};
  options.xmpp_addrs = {"example.org"};
  auto cert = make_cert(options);
  EXPECT_THAT(certificate_identifies(cert.get(), "example.org"), Optional(IdentityKind::DnsId));
}

TEST(IdentityTest, CommonNameIgnoredWhenSubjectAltNamesPresent) {
  LeafOptions options = dns({"other.org"});
  options.common_name = "example.org";
  auto cert = make_cert(options);
  EXPECT_EQ(certificate_identifies(cert.get(), "example.org"), std::nullopt);
  EXPECT_THAT(certificate_identifies(cert.get(), "other.org"), Optional(IdentityKind::DnsId));
}

TEST(IdentityTest, CommonNameIgnoredWhenAUriIsPresent) {
  LeafOptions options;
  options.uris = {"xmpp:other.org"};
  options.common_name = "example.org";
  auto cert = make_cert(options);
  EXPECT_EQ(certificate_identifies(cert.get(), "example.org"), std::nullopt);
}

TEST(IdentityTest, CommonNameIsTheFallbackWithoutSubjectAltNames) {
  LeafOptions options;
  options.common_name = "example.org";
  auto cert = make_cert(options);
  EXPECT_THAT(certificate_identifies(cert.get(), "example.org"),
              Optional(IdentityKind::CommonName));
  EXPECT_EQ(certificate_identifies(cert.get(), "other.org"), std::nullopt);
}

TEST(IdentityTest, NoMatch) {
  LeafOptions options = dns({"a.example.org", "*.b.example.org"});
  options.srv_names = {"_xmpp-server.c.example.org"};
  options.xmpp_addrs = {"d.example.org"};
  auto cert = make_cert(options);
  EXPECT_EQ(certificate_identifies(cert.get(), "example.org"), std::nullopt);
  EXPECT_EQ(certificate_identifies(cert.get(), ""), std::nullopt);
  EXPECT_EQ(certificate_identifies(nullptr, "example.org"), std::nullopt);
}

TEST(IdentityTest, NameWithEmbeddedNulNeverMatches) {
  auto cert = make_cert(dns({std::string("example.org\0.evil.test", 22)}));
  EXPECT_EQ(certificate_identifies(cert.get(), "example.org"), std::nullopt);
  EXPECT_EQ(certificate_identifies(cert.get(), "example.org.evil.test"), std::nullopt);
  EXPECT_THAT(certificate_identities(cert.get()),
              ElementsAre("DNS:example.org\\x00.evil.test (malformed)"));
}

TEST(IdentityTest, IdentitiesListedForLogs) {
  LeafOptions options;
  options.dns_names = {"example.org", "*.example.org"};
  options.srv_names = {"_xmpp-server.example.org"};
  options.xmpp_addrs = {"example.org"};
  options.uris = {"xmpp:example.org"};
  options.common_name = "Example\nServer";
  auto cert = make_cert(options);
  EXPECT_THAT(certificate_identities(cert.get()),
              ElementsAre("DNS:example.org", "DNS:*.example.org", "SRV:_xmpp-server.example.org",
                          "xmppAddr:example.org", "URI:xmpp:example.org", "CN:Example\\x0aServer"));
  EXPECT_TRUE(certificate_identities(nullptr).empty());
}

TEST(IdentityTest, KindNames) {
  EXPECT_EQ(to_string(IdentityKind::DnsId), "DNS-ID");
  EXPECT_EQ(to_string(IdentityKind::SrvId), "SRV-ID");
  EXPECT_EQ(to_string(IdentityKind::XmppAddr), "XmppAddr");
  EXPECT_EQ(to_string(IdentityKind::CommonName), "CN-ID");
}

}  // namespace
}  // namespace parley::federation::pki
