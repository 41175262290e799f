#include "core/tls/self_signed.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "core/config.hpp"
#include "core/tls/openssl_util.hpp"

namespace parley::core::tls {
namespace {

using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

[[noreturn]] void throw_openssl(const char* what) {
  std::string message = std::string("cannot generate a self-signed certificate: ") + what;
  if (const std::string reason = openssl_reason(); !reason.empty()) message += ": " + reason;
  throw std::runtime_error(message);
}

void check(int ok, const char* what) {
  if (ok <= 0) throw_openssl(what);
}

// One X.509 v3 extension from its OpenSSL config-string form (fixed strings only).
void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) throw_openssl(value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data);
  if (size <= 0 || data == nullptr) throw_openssl("reading PEM");
  return std::string(data, static_cast<std::size_t>(size));
}

// Writes `contents` to a file that must not exist yet.
void write_new_file(const std::filesystem::path& path, const std::string& contents, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(), "cannot create " + path.string());
  }
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      std::filesystem::remove(path);
      throw std::system_error(err, std::generic_category(), "cannot write " + path.string());
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    std::filesystem::remove(path);
    throw std::system_error(err, std::generic_category(), "cannot write " + path.string());
  }
}

}  // namespace

PemPair generate_self_signed(std::string_view domain, std::chrono::seconds validity) {
  // The domain goes into the certificate verbatim; only plain DNS names are accepted.
  if (!is_valid_domain(domain)) {
    throw std::invalid_argument("cannot generate a certificate for invalid domain '" +
                                std::string(domain) + "'");
  }
  ERR_clear_error();

  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw_openssl("EC P-256 key generation");

  X509Ptr cert(X509_new());
  if (!cert) throw_openssl("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; random so that regenerated
  // certificates never collide.
  std::array<unsigned char, 16> serial{};
  check(RAND_bytes(serial.data(), static_cast<int>(serial.size())), "RAND_bytes");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);
  BignumPtr serial_bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!serial_bn || !BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get()))) {
    throw_openssl("serial number");
  }

  // A few minutes of slack for peers whose clocks are slightly behind.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity.count()))) {
    throw_openssl("validity");
  }
  check(X509_set_pubkey(cert.get(), key.get()), "X509_set_pubkey");

  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(domain.data()),
                                   static_cast<int>(domain.size()), -1, 0),
        "subject CN");
  check(X509_set_issuer_name(cert.get(), name), "issuer");

  // RFC 6125 §6.4.4 / RFC 6120 §13.7.1.2: peers check the SAN dNSName, not the CN.
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  GENERAL_NAME* dns = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (!names || !dns || !ia5 ||
      !ASN1_STRING_set(ia5, domain.data(), static_cast<int>(domain.size()))) {
    GENERAL_NAME_free(dns);
    ASN1_IA5STRING_free(ia5);
    throw_openssl("subjectAltName");
  }
  GENERAL_NAME_set0_value(dns, GEN_DNS, ia5);
  if (!sk_GENERAL_NAME_push(names.get(), dns)) {
    GENERAL_NAME_free(dns);
    throw_openssl("subjectAltName");
  }
  check(X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT),
        "subjectAltName");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyAgreement");
  // clientAuth too: the same certificate authenticates Parley to other servers (s2s, later).
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");

  check(X509_sign(cert.get(), key.get(), EVP_sha256()), "X509_sign");

  PemPair pem;
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !PEM_write_bio_X509(cert_bio.get(), cert.get())) throw_openssl("PEM");
  pem.certificate = bio_contents(cert_bio.get());
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!key_bio ||
      !PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    throw_openssl("PEM");
  }
  pem.private_key = bio_contents(key_bio.get());
  return pem;
}

bool ensure_self_signed(const std::filesystem::path& certificate_file,
                        const std::filesystem::path& key_file, std::string_view domain) {
  const bool have_cert = std::filesystem::exists(certificate_file);
  const bool have_key = std::filesystem::exists(key_file);
  if (have_cert && have_key) return false;
  if (have_cert != have_key) {
    throw std::runtime_error("found " + (have_cert ? certificate_file : key_file).string() +
                             " but not " + (have_cert ? key_file : certificate_file).string() +
                             "; supply both, or remove it to get a new self-signed pair");
  }
  const PemPair pem = generate_self_signed(domain);
  write_new_file(key_file, pem.private_key, 0600);
  try {
    write_new_file(certificate_file, pem.certificate, 0644);
  } catch (...) {
    std::filesystem::remove(key_file);
    throw;
  }
  return true;
}

}  // namespace parley::core::tls
