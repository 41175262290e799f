// Unit test of core/tls/self_signed: the generated certificate is what TLS peers will check
// (RFC 6125: SAN dNSName; a key that matches; a sane validity period).
//
// It lives here, not in tests/core/, only because tests/CMakeLists.txt does not add a core folder
// yet.
#include "core/tls/self_signed.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "tests/integration/server_process.hpp"

namespace parley::core::tls {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ptr parse_certificate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

PkeyPtr parse_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(SelfSignedTest, CertificateNamesTheDomainInSubjectAltName) {
  const PemPair pem = generate_self_signed("chat.example.org");
  const X509Ptr cert = parse_certificate(pem.certificate);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_host(cert.get(), "chat.example.org", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(cert.get(), "other.example.org", 0, 0, nullptr), 1);
  // The name must be in the SAN (RFC 6125 §6.4.4), not only in the CN.
  const int san_index = X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1);
  EXPECT_GE(san_index, 0);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
}

TEST(SelfSignedTest, KeyMatchesAndSignatureVerifies) {
  const PemPair pem = generate_self_signed("localhost");
  const X509Ptr cert = parse_certificate(pem.certificate);
  const PkeyPtr key = parse_key(pem.private_key);
  ASSERT_TRUE(cert);
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_verify(cert.get(), key.get()), 1);  // self-signed: its own key signed it
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);
}

TEST(SelfSignedTest, ValidFromNowForAboutAYear) {
  const PemPair pem = generate_self_signed("localhost");
  const X509Ptr cert = parse_certificate(pem.certificate);
  ASSERT_TRUE(cert);
  int days = 0;
  int seconds = 0;
  // From notBefore to notAfter: a year plus the few minutes of clock-skew slack.
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert.get()),
                           X509_get0_notAfter(cert.get())),
            1);
  EXPECT_EQ(days, 365);
  std::time_t now = std::time(nullptr);
  EXPECT_LE(X509_cmp_time(X509_get0_notBefore(cert.get()), &now), 0);
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(cert.get()), &now), 0);
}

TEST(SelfSignedTest, TwoCertificatesHaveDifferentSerials) {
  const X509Ptr a = parse_certificate(generate_self_signed("localhost").certificate);
  const X509Ptr b = parse_certificate(generate_self_signed("localhost").certificate);
  ASSERT_TRUE(a && b);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())), 0);
}

TEST(SelfSignedTest, RejectsInvalidDomains) {
  EXPECT_THROW(generate_self_signed(""), std::invalid_argument);
  EXPECT_THROW(generate_self_signed("a,DNS:evil.example"), std::invalid_argument);
  EXPECT_THROW(generate_self_signed("../etc"), std::invalid_argument);
}

TEST(SelfSignedTest, EnsureCreatesBothFilesOnceWithAPrivateKeyMode) {
  testing::TempDir dir;
  const auto cert = dir.path() / "localhost.crt";
  const auto key = dir.path() / "localhost.key";
  EXPECT_TRUE(ensure_self_signed(cert, key, "localhost"));
  ASSERT_TRUE(std::filesystem::exists(cert));
  ASSERT_TRUE(std::filesystem::exists(key));
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string first = slurp(cert);
  EXPECT_FALSE(ensure_self_signed(cert, key, "localhost"));  // present: left alone
  EXPECT_EQ(slurp(cert), first);
}

TEST(SelfSignedTest, EnsureRefusesWhenOnlyOneFileExists) {
  testing::TempDir dir;
  const auto cert = dir.path() / "localhost.crt";
  const auto key = dir.path() / "localhost.key";
  std::ofstream(cert) << "operator's certificate";
  EXPECT_THROW(ensure_self_signed(cert, key, "localhost"), std::runtime_error);
  EXPECT_EQ(slurp(cert), "operator's certificate");
  EXPECT_FALSE(std::filesystem::exists(key));
}

}  // namespace
}  // namespace parley::core::tls
