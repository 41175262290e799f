// Loading trust anchors: the system store or a CA file (federation/pki/trust_anchors.hpp).
#include "federation/pki/trust_anchors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "federation/pki/peer_verifier.hpp"
#include "tests/federation/pki/test_pki.hpp"

namespace parley::federation::pki {
namespace {

using ::testing::HasSubstr;

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The message of the std::runtime_error `load` throws, or "" when it does not throw.
std::string load_error(const std::filesystem::path& file) {
  try {
    TrustAnchors::load(file);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(TrustAnchorsTest, CaFileWithSeveralCertificatesTrustsEach) {
  test::TempDir dir;
  test::TestCa first("First CA");
  test::TestCa second("Second CA");
  const auto bundle = dir.path() / "bundle.pem";
  write(bundle, test::to_pem(first.root()) + test::to_pem(second.root()));

  auto anchors = TrustAnchors::load(bundle);
  EXPECT_EQ(anchors->certificate_count(), 2u);
  EXPECT_EQ(anchors->ca_file(), bundle);
  EXPECT_EQ(anchors->describe(), "2 certificates from " + bundle.string());
  for (const test::TestCa* ca : {&first, &second}) {
    auto leaf = ca->issue(test::server_leaf("example.org"));
    EXPECT_TRUE(
        verify_certificate(leaf.certificate.get(), nullptr, "example.org", *anchors).chain_valid);
  }
}

TEST(TrustAnchorsTest, CaFileIsTheOnlyTrust) {
  test::TempDir dir;
  test::TestCa trusted("Trusted CA");
  test::TestCa other("Other CA");
  auto anchors = TrustAnchors::load(trusted.write_root(dir.path(), "ca"));
  EXPECT_EQ(anchors->describe(), "1 certificate from " + (dir.path() / "ca.pem").string());
  auto leaf = other.issue(test::server_leaf("example.org"));
  EXPECT_FALSE(
      verify_certificate(leaf.certificate.get(), nullptr, "example.org", *anchors).chain_valid);
}

TEST(TrustAnchorsTest, MissingFileIsNamed) {
  test::TempDir dir;
  const auto missing = dir.path() / "missing.pem";
  const std::string error = load_error(missing);
  EXPECT_THAT(error, HasSubstr(missing.string()));
  EXPECT_THAT(error, HasSubstr("No such file"));
}

TEST(TrustAnchorsTest, FileWithoutCertificateIsNamed) {
  test::TempDir dir;
  const auto empty = dir.path() / "empty.pem";
  write(empty, "not a certificate\n");
  const std::string error = load_error(empty);
  EXPECT_THAT(error, HasSubstr(empty.string()));
  EXPECT_THAT(error, HasSubstr("no PEM certificate"));
}

TEST(TrustAnchorsTest, KeyFileIsNotACaFile) {
  test::TempDir dir;
  test::TestCa ca;
  const auto files = ca.issue_files(test::server_leaf("example.org"), dir.path(), "leaf");
  EXPECT_THAT(load_error(files.key), HasSubstr(files.key.string()));
}

TEST(TrustAnchorsTest, DamagedCertificateIsNamed) {
  test::TempDir dir;
  const auto damaged = dir.path() / "damaged.pem";
  write(damaged, "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n");
  EXPECT_THAT(load_error(damaged), HasSubstr(damaged.string()));
}

TEST(TrustAnchorsTest, DirectoryIsRefusedByName) {
  test::TempDir dir;
  const std::string error = load_error(dir.path());
  EXPECT_THAT(error, HasSubstr(dir.path().string()));
  EXPECT_THAT(error, HasSubstr("directory"));
}

TEST(TrustAnchorsTest, SystemStoreByDefault) {
  auto anchors = TrustAnchors::load(std::nullopt);
  ASSERT_NE(anchors->store(), nullptr);
  EXPECT_EQ(anchors->ca_file(), std::nullopt);
  EXPECT_THAT(anchors->describe(), HasSubstr("system trust store"));
  // A private test CA is in no system store.
  test::TestCa ca;
  auto leaf = ca.issue(test::server_leaf("example.org"));
  EXPECT_FALSE(
      verify_certificate(leaf.certificate.get(), nullptr, "example.org", *anchors).chain_valid);
}

}  // namespace
}  // namespace parley::federation::pki
