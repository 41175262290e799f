// `parley check` (core/check.hpp): certificate findings on certificates made here with OpenSSL
// (self-signed, expired, wrong name, wildcard, CA-issued, mismatched key), RFC 6125 name matching,
// the data directory, the database and the listening ports.
#include "core/check.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/tls/self_signed.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"

namespace parley::core {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::system_clock;

constexpr hours kDay{24};

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "parley-check-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    fs::permissions(file, static_cast<fs::perms>(mode));
    return file;
  }

 private:
  fs::path path_;
};

// --- a small certificate factory ------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

Key new_key() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

struct CertSpec {
  std::string common_name;
  std::string subject_alt_names;  // OpenSSL config syntax: "DNS:a.example,DNS:*.b.example"
  hours valid_from{-kDay};        // relative to now
  hours valid_until{365 * kDay};
  bool is_ca = false;
};

// A certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is null).
Cert make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer = nullptr,
               EVP_PKEY* issuer_key = nullptr) {
  static long serial = 1;
  Cert cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()),
                  std::chrono::duration_cast<std::chrono::seconds>(spec.valid_from).count());
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  std::chrono::duration_cast<std::chrono::seconds>(spec.valid_until).count());
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                               -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  const auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr) << value;
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  };
  if (!spec.subject_alt_names.empty()) add(NID_subject_alt_name, spec.subject_alt_names);
  add(NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (spec.is_ca) add(NID_key_usage, "critical,keyCertSign,cRLSign");
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

std::string pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

// --- helpers over reports -------------------------------------------------------------------

bool has(const CheckReport& report, Severity severity, std::string_view text) {
  for (const auto& f : report.findings()) {
    if (f.severity == severity && f.message.find(text) != std::string::npos) return true;
  }
  return false;
}

CheckOptions offline() {
  CheckOptions options;
  options.verify_chain = false;
  return options;
}

class CertificateCheckTest : public ::testing::Test {
 protected:
  // Writes a certificate (and chain) and key, runs check_certificate for `domain`.
  CheckReport check(std::string_view domain, const std::string& cert_pem,
                    const std::string& key_pem, const CheckOptions& options = offline()) {
    const fs::path cert = dir_.write("cert.pem", cert_pem);
    const fs::path key = dir_.write("key.pem", key_pem);
    CheckReport report;
    check_certificate(domain, cert, key, report, options);
    return report;
  }

  ScratchDir dir_;
};

TEST_F(CertificateCheckTest, GeneratedSelfSignedCertificateIsUsableButWarned) {
  const auto pair = tls::generate_self_signed("example.org");
  const CheckReport report = check("example.org", pair.certificate, pair.private_key);
  EXPECT_FALSE(report.has_errors()) << report.to_text();
  EXPECT_TRUE(has(report, Severity::Ok, "is valid until")) << report.to_text();
  EXPECT_TRUE(has(report, Severity::Ok, "covers example.org (subjectAltName example.org)"))
      << report.to_text();
  EXPECT_TRUE(has(report, Severity::Ok, "matches the certificate for example.org"))
      << report.to_text();
  EXPECT_TRUE(has(report, Severity::Warning, "is self-signed: clients will ask their users"))
      << report.to_text();
  EXPECT_TRUE(has(report, Severity::Warning, "dialback")) << report.to_text();
}

TEST_F(CertificateCheckTest, ExpiredCertificateIsAnError) {
  const auto pair = tls::generate_self_signed("example.org", std::chrono::hours(24));
  CheckOptions later = offline();
  later.now = system_clock::now() + 3 * kDay;
  const CheckReport report = check("example.org", pair.certificate, pair.private_key, later);
  EXPECT_TRUE(has(report, Severity::Error, "the certificate for example.org expired on"))
      << report.to_text();
}

TEST_F(CertificateCheckTest, ExpiredCertificateMadeInThePastIsAnError) {
  const Key key = new_key();
  const Cert cert =
      make_cert({"example.org", "DNS:example.org", -400 * kDay, -10 * kDay}, key.get());
  const CheckReport report = check("example.org", pem(cert.get()), pem(key.get()));
  EXPECT_TRUE(has(report, Severity::Error, "expired on")) << report.to_text();
}

TEST_F(CertificateCheckTest, CertificateExpiringWithinThirtyDaysIsAWarning) {
  const auto pair = tls::generate_self_signed("example.org", 10 * kDay);
  const CheckReport report = check("example.org", pair.certificate, pair.private_key);
  EXPECT_FALSE(report.has_errors()) << report.to_text();
  EXPECT_TRUE(has(report, Severity::Warning, "expires on")) << report.to_text();
  EXPECT_TRUE(has(report, Severity::Warning, "renew it soon")) << report.to_text();
}

TEST_F(CertificateCheckTest, NotYetValidCertificateIsAnError) {
  const Key key = new_key();
  const Cert cert = make_cert({"", "DNS:example.org", 2 * kDay, 30 * kDay}, key.get());
  const CheckReport report = check("example.org", pem(cert.get()), pem(key.get()));
  EXPECT_TRUE(has(report, Severity::Error, "is not valid before")) << report.to_text();
}

TEST_F(CertificateCheckTest, CertificateForAnotherNameIsAnError) {
  const auto pair = tls::generate_self_signed("other.example");
  const CheckReport report = check("example.org", pair.certificate, pair.private_key);
  EXPECT_TRUE(has(report, Severity::Error,
                  "the certificate for example.org does not cover example.org (it names "
                  "other.example)"))
      << report.to_text();
}

TEST_F(CertificateCheckTest, WildcardCoversOneLabel) {
  const Key key = new_key();
  const Cert cert = make_cert({"", "DNS:example.org,DNS:*.example.org"}, key.get());
  const CheckReport sub = check("chat.example.org", pem(cert.get()), pem(key.get()));
  EXPECT_TRUE(has(sub, Severity::Ok, "covers chat.example.org (subjectAltName *.example.org)"))
      << sub.to_text();
  const CheckReport deeper = check("a.chat.example.org", pem(cert.get()), pem(key.get()));
  EXPECT_TRUE(has(deeper, Severity::Error, "does not cover a.chat.example.org"))
      << deeper.to_text();
}

TEST_F(CertificateCheckTest, XmppAddrCoversTheDomain) {
  const Key key = new_key();
  const Cert cert =
      make_cert({"", "DNS:other.example,otherName:1.3.6.1.5.5.7.8.5;UTF8:example.org"}, key.get());
  const CheckReport report = check("example.org", pem(cert.get()), pem(key.get()));
  EXPECT_TRUE(has(report, Severity::Ok, "covers example.org (XmppAddr example.org)"))
      << report.to_text();
}

TEST_F(CertificateCheckTest, CommonNameOnlyIsAWarning) {
  const Key key = new_key();
  const Cert cert = make_cert({"example.org", ""}, key.get());
  const CheckReport report = check("example.org", pem(cert.get()), pem(key.get()));
  EXPECT_TRUE(has(report, Severity::Warning, "only in its Common Name")) << report.to_text();
}

TEST_F(CertificateCheckTest, KeyOfAnotherCertificateIsAnError) {
  const auto pair = tls::generate_self_signed("example.org");
  const auto other = tls::generate_self_signed("example.org");
  const CheckReport report = check("example.org", pair.certificate, other.private_key);
  EXPECT_TRUE(has(report, Severity::Error, "does not belong to the certificate for example.org"))
      << report.to_text();
}

TEST_F(CertificateCheckTest, UnusableFilesAreErrors) {
  const auto pair = tls::generate_self_signed("example.org");
  EXPECT_TRUE(has(check("example.org", "not a certificate\n", pair.private_key), Severity::Error,
                  "holds no PEM certificate"));
  EXPECT_TRUE(has(check("example.org", pair.certificate, "garbage\n"), Severity::Error,
                  "holds no PEM private key"));
  CheckReport missing;
  check_certificate("example.org", dir_.path() / "nope.crt", dir_.path() / "nope.key", missing);
  EXPECT_TRUE(has(missing, Severity::Error, "cannot read the certificate")) << missing.to_text();
  EXPECT_TRUE(has(missing, Severity::Error, "No such file or directory")) << missing.to_text();
}

TEST_F(CertificateCheckTest, EncryptedKeyIsReportedWithoutPrompting) {
  const Key key = new_key();
  const Cert cert = make_cert({"", "DNS:example.org"}, key.get());
  BIO* bio = BIO_new(BIO_s_mem());
  const char* password = "secret";
  PEM_write_bio_PrivateKey(bio, key.get(), EVP_aes_128_cbc(),
                           reinterpret_cast<const unsigned char*>(password), 6, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  const std::string encrypted(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  const CheckReport report = check("example.org", pem(cert.get()), encrypted);
  EXPECT_TRUE(has(report, Severity::Error, "it must be unencrypted")) << report.to_text();
}

TEST_F(CertificateCheckTest, WorldReadableKeyIsAWarning) {
  const auto pair = tls::generate_self_signed("example.org");
  const fs::path cert = dir_.write("c.pem", pair.certificate);
  const fs::path key = dir_.write("k.pem", pair.private_key, 0644);
  CheckReport report;
  check_certificate("example.org", cert, key, report, offline());
  EXPECT_TRUE(
      has(report, Severity::Warning, "can be read by every user on this machine (mode 0644)"))
      << report.to_text();
}

TEST_F(CertificateCheckTest, CaIssuedChainIsNotSelfSignedAndUnknownCaIsWarned) {
  const Key ca_key = new_key();
  const Cert ca = make_cert({"Parley Test CA", "", -kDay, 3650 * kDay, true}, ca_key.get());
  const Key key = new_key();
  const Cert leaf = make_cert({"", "DNS:example.org"}, key.get(), ca.get(), ca_key.get());
  CheckOptions verify = offline();
  verify.verify_chain = true;
  const CheckReport report =
      check("example.org", pem(leaf.get()) + pem(ca.get()), pem(key.get()), verify);
  EXPECT_FALSE(has(report, Severity::Warning, "is self-signed:")) << report.to_text();
  EXPECT_TRUE(has(report, Severity::Ok, "2 certificates in the chain")) << report.to_text();
  // The test CA is in no system trust store.
  EXPECT_TRUE(has(report, Severity::Warning, "does not chain to a CA this system trusts"))
      << report.to_text();
  EXPECT_FALSE(report.has_errors()) << report.to_text();
}

TEST(DnsNameMatchTest, FollowsRfc6125) {
  EXPECT_TRUE(dns_name_matches("example.org", "example.org"));
  EXPECT_TRUE(dns_name_matches("Example.ORG", "example.org"));
  EXPECT_TRUE(dns_name_matches("example.org.", "example.org"));
  EXPECT_FALSE(dns_name_matches("example.org", "www.example.org"));
  EXPECT_TRUE(dns_name_matches("*.example.org", "chat.example.org"));
  EXPECT_FALSE(dns_name_matches("*.example.org", "example.org"));
  EXPECT_FALSE(dns_name_matches("*.example.org", "a.b.example.org"));
  EXPECT_FALSE(dns_name_matches("*.org", "example.org"));
  EXPECT_FALSE(dns_name_matches("w*.example.org", "www.example.org"));
  EXPECT_FALSE(dns_name_matches("www.*.org", "www.example.org"));
  EXPECT_FALSE(dns_name_matches("", "example.org"));
}

// --- data directory, database, listeners ---------------------------------------------------

Config config_in(const fs::path& data_dir) {
  Config config;
  config.data_dir = data_dir;
  return config;
}

TEST(DataDirCheckTest, ExistingWritableDirectoryIsOk) {
  ScratchDir dir;
  CheckReport report;
  check_data_dir(config_in(dir.path()), report);
  EXPECT_TRUE(has(report, Severity::Ok, "exists and is writable")) << report.to_text();
  EXPECT_TRUE(fs::is_empty(dir.path()));  // the probe file is gone
}

TEST(DataDirCheckTest, MissingDirectoryThatCanBeCreatedIsOk) {
  ScratchDir dir;
  CheckReport report;
  check_data_dir(config_in(dir.path() / "a" / "b"), report);
  EXPECT_TRUE(has(report, Severity::Ok, "does not exist yet; parley serve will create it"))
      << report.to_text();
  EXPECT_FALSE(fs::exists(dir.path() / "a"));  // check creates nothing
}

TEST(DataDirCheckTest, FileInsteadOfDirectoryIsAnError) {
  ScratchDir dir;
  CheckReport report;
  check_data_dir(config_in(dir.write("data", "x")), report);
  EXPECT_TRUE(has(report, Severity::Error, "exists but is not a directory")) << report.to_text();
}

TEST(DatabaseCheckTest, NoDatabaseYetIsOkAndNotCreated) {
  ScratchDir dir;
  const Config config = config_in(dir.path());
  CheckReport report;
  check_database(config, report);
  EXPECT_TRUE(has(report, Severity::Ok, "there is no database yet")) << report.to_text();
  EXPECT_FALSE(fs::exists(config.database_file()));
}

TEST(DatabaseCheckTest, CountsAccountsAndWarnsAboutUnservedDomains) {
  ScratchDir dir;
  const Config config = config_in(dir.path());
  {
    auto db = storage::open_database(config.database_file());
    storage::SqliteAccountStore store(db);
    ASSERT_EQ(store.create("localhost", "alice", {}), storage::Result::Ok);
    ASSERT_EQ(store.create("localhost", "bob", {}), storage::Result::Ok);
    ASSERT_EQ(store.create("old.example", "carol", {}), storage::Result::Ok);
  }
  CheckReport report;
  check_database(config, report);
  EXPECT_TRUE(has(report, Severity::Ok,
                  "opens (schema version " + std::to_string(storage::schema_version()) + ")"))
      << report.to_text();
  EXPECT_TRUE(has(report, Severity::Ok, "localhost has 2 accounts")) << report.to_text();
  EXPECT_TRUE(has(report, Severity::Warning, "1 account of old.example, which is not configured"))
      << report.to_text();
}

TEST(DatabaseCheckTest, NotADatabaseIsAnError) {
  ScratchDir dir;
  const Config config = config_in(dir.path());
  dir.write("parley.sqlite", std::string(4096, 'x'));
  CheckReport report;
  check_database(config, report);
  EXPECT_TRUE(has(report, Severity::Error, "cannot be used")) << report.to_text();
}

TEST(HostCertificateCheckTest, NoCertificateYetWarnsThatOneWillBeGenerated) {
  ScratchDir dir;
  const Config config = config_in(dir.path());
  CheckReport report;
  check_host_certificate(config, config.default_host(), report);
  EXPECT_TRUE(has(report, Severity::Warning,
                  "localhost has no certificate configured: parley serve will generate a "
                  "self-signed one"))
      << report.to_text();
}

TEST(HostCertificateCheckTest, GeneratedPairInTheDataDirectoryIsChecked) {
  ScratchDir dir;
  const Config config = config_in(dir.path());
  const VirtualHost& host = config.default_host();
  ASSERT_TRUE(tls::ensure_self_signed(config.certificate_file(host), config.private_key_file(host),
                                      host.domain));
  CheckReport report;
  check_host_certificate(config, host, report, offline());
  EXPECT_FALSE(report.has_errors()) << report.to_text();
  EXPECT_TRUE(has(report, Severity::Ok, "covers localhost")) << report.to_text();
}

// A TCP socket listening on 127.0.0.1 on a free port, for the duration of a test.
class HeldPort {
 public:
  HeldPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~HeldPort() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(ListenerCheckTest, PortInUseIsAnErrorNamingThePort) {
  HeldPort held;
  Config config;
  config.bind_address = "127.0.0.1";
  config.c2s.port = held.port();
  config.c2s_tls.port = std::nullopt;
  CheckReport report;
  check_listeners(config, report);
  const std::string port = std::to_string(held.port());
  EXPECT_TRUE(has(report, Severity::Error,
                  "Parley cannot listen for clients (STARTTLS) on 127.0.0.1:" + port + ": port " +
                      port + " is in use"))
      << report.to_text();
  EXPECT_TRUE(has(report, Severity::Ok, "the listener for clients (direct TLS) is turned off"))
      << report.to_text();
}

TEST(ListenerCheckTest, FreePortIsOk) {
  Config config;
  config.bind_address = "127.0.0.1";
  config.c2s.port = 0;
  config.c2s_tls.port = 0;
  CheckReport report;
  check_listeners(config, report);
  EXPECT_FALSE(report.has_errors()) << report.to_text();
  EXPECT_TRUE(has(report, Severity::Ok, "Parley can listen for clients (STARTTLS) on 127.0.0.1:0"))
      << report.to_text();
}

TEST(ListenerCheckTest, AddressNotOnThisMachineIsAnError) {
  Config config;
  config.c2s.address = "192.0.2.1";  // TEST-NET-1 (RFC 5737): assigned to no host
  config.c2s.port = 0;
  config.c2s_tls.port = std::nullopt;
  CheckReport report;
  check_listeners(config, report);
  EXPECT_TRUE(has(report, Severity::Error, "192.0.2.1 is not one of this machine's"))
      << report.to_text();
}

TEST(CheckReportTest, PrintsOneFindingPerLineAndASummary) {
  CheckReport report;
  report.ok("a");
  report.warning("b");
  EXPECT_EQ(report.to_text(),
            "ok: a\nwarning: b\n1 warning, no errors: Parley can run as configured.\n");
  report.error("c");
  EXPECT_TRUE(report.has_errors());
  EXPECT_EQ(report.to_text(),
            "ok: a\nwarning: b\nerror: c\n1 error and 1 warning: fix the errors before starting "
            "Parley.\n");
}

TEST(ConfigurationCheckTest, ReportsTheConfigErrorWithItsLine) {
  ScratchDir dir;
  const fs::path file = dir.write("parley.toml", "[c2s]\nprot = 5222\n");
  CheckReport report;
  EXPECT_FALSE(check_configuration(file, {}, report));
  EXPECT_TRUE(has(report, Severity::Error, file.string() + ":2: unknown key 'prot' in [c2s]"))
      << report.to_text();
}

}  // namespace
}  // namespace parley::core
