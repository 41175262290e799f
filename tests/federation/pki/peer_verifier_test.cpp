// Chain validation of peer server certificates (federation/pki/peer_verifier.hpp). The certificate
// is checked here as it would arrive; tests/federation/pki/s2s_tls_test.cpp checks verify_peer()
// after real handshakes.
#include "federation/pki/peer_verifier.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "tests/federation/pki/test_pki.hpp"

namespace parley::federation::pki {
namespace {

using test::Eku;
using test::LeafOptions;
using test::Validity;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

using ChainPtr =
    std::unique_ptr<STACK_OF(X509),
                    decltype([](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); })>;

class PeerVerifierTest : public ::testing::Test {
 protected:
  PeerVerifierTest() : anchors_(TrustAnchors::load(ca_.write_root(dir_.path(), "ca"))) {}

  // The certificate and intermediates as a peer sends them.
  PeerCertificate verify(const test::Issued& issued, std::string_view domain = "example.org",
                         bool send_chain = true) {
    ChainPtr chain(sk_X509_new_null());
    if (send_chain) {
      for (const auto& cert : issued.chain) {
        X509_up_ref(cert.get());
        sk_X509_push(chain.get(), cert.get());
      }
    }
    return verify_certificate(issued.certificate.get(), chain.get(), domain, *anchors_);
  }

  static LeafOptions leaf(Eku eku = Eku::Both, Validity validity = Validity::Current) {
    LeafOptions options = test::server_leaf("example.org");
    options.eku = eku;
    options.validity = validity;
    return options;
  }

  test::TempDir dir_;
  test::TestCa ca_;
  std::shared_ptr<TrustAnchors> anchors_;
};

TEST_F(PeerVerifierTest, CertificateFromTheTrustedCaIsValid) {
  const PeerCertificate result = verify(ca_.issue(leaf()));
  EXPECT_TRUE(result.presented);
  EXPECT_TRUE(result.chain_valid);
  EXPECT_THAT(result.chain_error, IsEmpty());
  EXPECT_THAT(result.identity, Optional(IdentityKind::DnsId));
  EXPECT_TRUE(result.valid());
  EXPECT_EQ(result.describe(),
            "certificate of example.org valid (DNS-ID): subject \"CN=example.org,O=Parley tests\" "
            "[DNS:example.org, CN:example.org]");
}

TEST_F(PeerVerifierTest, IntermediateSentByThePeerCompletesTheChain) {
  const test::TestCa intermediate = ca_.intermediate("Parley Test Intermediate");
  const test::Issued issued = intermediate.issue(leaf());
  EXPECT_TRUE(verify(issued).valid());
  const PeerCertificate without = verify(issued, "example.org", /*send_chain=*/false);
  EXPECT_FALSE(without.chain_valid);
  EXPECT_THAT(without.chain_error, HasSubstr("unable to get local issuer certificate"));
}

TEST_F(PeerVerifierTest, UntrustedCaIsRefusedWithAReason) {
  test::TestCa other("Other CA");
  const PeerCertificate result = verify(other.issue(leaf()));
  EXPECT_TRUE(result.presented);
  EXPECT_FALSE(result.chain_valid);
  EXPECT_FALSE(result.valid());
  EXPECT_THAT(result.identity, Optional(IdentityKind::DnsId));  // the name was right
  EXPECT_THAT(result.chain_error, HasSubstr("unable to get local issuer certificate"));
  EXPECT_THAT(result.chain_error, HasSubstr("CN=example.org"));
  EXPECT_THAT(result.describe(), HasSubstr("not valid: chain: unable to get local issuer"));
}

TEST_F(PeerVerifierTest, SelfSignedCertificateNotInTheStoreIsRefused) {
  const PeerCertificate result = verify(test::self_signed(leaf()));
  EXPECT_FALSE(result.chain_valid);
  EXPECT_THAT(result.chain_error, HasSubstr("self-signed certificate"));
}

TEST_F(PeerVerifierTest, ExpiredCertificateIsRefused) {
  const PeerCertificate result = verify(ca_.issue(leaf(Eku::Both, Validity::Expired)));
  EXPECT_FALSE(result.chain_valid);
  EXPECT_THAT(result.chain_error, HasSubstr("certificate has expired"));
}

TEST_F(PeerVerifierTest, NotYetValidCertificateIsRefused) {
  const PeerCertificate result = verify(ca_.issue(leaf(Eku::Both, Validity::NotYetValid)));
  EXPECT_FALSE(result.chain_valid);
  EXPECT_THAT(result.chain_error, HasSubstr("certificate is not yet valid"));
}

TEST_F(PeerVerifierTest, WrongSignatureIsRefused) {
  LeafOptions options = leaf();
  options.corrupt_signature = true;
  const PeerCertificate result = verify(ca_.issue(options));
  EXPECT_FALSE(result.chain_valid);
  EXPECT_THAT(result.chain_error, HasSubstr("certificate signature failure"));
}

// Let's Encrypt's "tlsserver" profile (2025): a server presenting it as TLS client on an outgoing
// link must still be authenticated.
TEST_F(PeerVerifierTest, ServerAuthOnlyIsValid) {
  EXPECT_TRUE(verify(ca_.issue(leaf(Eku::ServerAuth))).valid());
}

TEST_F(PeerVerifierTest, ClientAuthOnlyIsValid) {
  EXPECT_TRUE(verify(ca_.issue(leaf(Eku::ClientAuth))).valid());
}

TEST_F(PeerVerifierTest, NoExtendedKeyUsageIsValid) {
  EXPECT_TRUE(verify(ca_.issue(leaf(Eku::None))).valid());
}

TEST_F(PeerVerifierTest, CodeSigningOnlyIsRefused) {
  const PeerCertificate result = verify(ca_.issue(leaf(Eku::CodeSigning)));
  EXPECT_FALSE(result.chain_valid);
  EXPECT_FALSE(result.valid());
  EXPECT_THAT(result.chain_error, HasSubstr("unsuitable certificate purpose"));
  EXPECT_THAT(result.chain_error, HasSubstr("neither TLS server nor client"));
}

TEST_F(PeerVerifierTest, ValidChainForAnotherDomainIsNotValid) {
  const PeerCertificate result = verify(ca_.issue(leaf()), "other.org");
  EXPECT_TRUE(result.chain_valid);
  EXPECT_EQ(result.identity, std::nullopt);
  EXPECT_FALSE(result.valid());
  EXPECT_THAT(result.describe(), HasSubstr("not valid: identity: names none of other.org"));
}

TEST_F(PeerVerifierTest, NoCertificatePresented) {
  const PeerCertificate result = verify_certificate(nullptr, nullptr, "example.org", *anchors_);
  EXPECT_FALSE(result.presented);
  EXPECT_FALSE(result.chain_valid);
  EXPECT_FALSE(result.valid());
  EXPECT_EQ(result.describe(), "certificate of example.org: none presented");
}

}  // namespace
}  // namespace parley::federation::pki
