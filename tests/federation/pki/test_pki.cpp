#include "tests/federation/pki/test_pki.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace parley::federation::pki::test {
namespace {

using core::tls::BioPtr;
using core::tls::Deleter;
using core::tls::GeneralNamesPtr;
using core::tls::PkeyPtr;
using core::tls::X509Ptr;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

constexpr long kDay = 24 * 60 * 60;

[[noreturn]] void fail(const std::string& what) {
  std::string message = "test certificate: " + what;
  if (const std::string reason = core::tls::openssl_reason(); !reason.empty()) {
    message += ": " + reason;
  }
  throw std::runtime_error(message);
}

void check(int ok, const char* what) {
  if (ok <= 0) fail(what);
}

X509Ptr up_ref(X509* cert) {
  check(X509_up_ref(cert), "X509_up_ref");
  return X509Ptr(cert);
}

PkeyPtr new_key() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("EC P-256 key generation");
  return key;
}

void set_random_serial(X509* cert) {
  std::array<unsigned char, 16> serial{};
  check(RAND_bytes(serial.data(), static_cast<int>(serial.size())), "RAND_bytes");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);  // positive, 16 octets
  BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) fail("serial number");
}

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0),
        field);
}

// An extension in OpenSSL's configuration syntax; `issuer` supplies the authority key id.
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

ASN1_STRING* new_string(int type, const std::string& value) {
  ASN1_STRING* s = ASN1_STRING_type_new(type);
  if (s == nullptr || !ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()))) {
    ASN1_STRING_free(s);
    fail("ASN1_STRING_set");
  }
  return s;
}

void push(GENERAL_NAMES* names, GENERAL_NAME* name) {
  if (!sk_GENERAL_NAME_push(names, name)) {
    GENERAL_NAME_free(name);
    fail("subjectAltName");
  }
}

void push_string(GENERAL_NAMES* names, int gen_type, const std::string& value) {
  GENERAL_NAME* name = GENERAL_NAME_new();
  if (name == nullptr) fail("GENERAL_NAME_new");
  GENERAL_NAME_set0_value(name, gen_type, new_string(V_ASN1_IA5STRING, value));
  push(names, name);
}

// otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } with a string value.
void push_other_name(GENERAL_NAMES* names, int nid, int string_type, const std::string& value) {
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_TYPE* any = ASN1_TYPE_new();
  ASN1_OBJECT* oid = OBJ_dup(OBJ_nid2obj(nid));
  if (name == nullptr || any == nullptr || oid == nullptr) {
    GENERAL_NAME_free(name);
    ASN1_TYPE_free(any);
    ASN1_OBJECT_free(oid);
    fail("otherName");
  }
  ASN1_TYPE_set(any, string_type, new_string(string_type, value));
  check(GENERAL_NAME_set0_othername(name, oid, any), "GENERAL_NAME_set0_othername");
  push(names, name);
}

void add_subject_alt_names(X509* cert, const LeafOptions& options) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) fail("subjectAltName");
  for (const auto& dns : options.dns_names) push_string(names.get(), GEN_DNS, dns);
  for (const auto& srv : options.srv_names) {
    push_other_name(names.get(), NID_SRVName, V_ASN1_IA5STRING, srv);  // RFC 4985
  }
  for (const auto& addr : options.xmpp_addrs) {
    push_other_name(names.get(), NID_XmppAddr, V_ASN1_UTF8STRING, addr);  // RFC 6120 §13.7.1.4
  }
  for (const auto& uri : options.uris) push_string(names.get(), GEN_URI, uri);
  if (sk_GENERAL_NAME_num(names.get()) == 0) return;
  check(X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT),
        "subjectAltName");
}

const char* eku_value(Eku eku) {
  switch (eku) {
    case Eku::ServerAuth:
      return "serverAuth";
    case Eku::ClientAuth:
      return "clientAuth";
    case Eku::Both:
      return "serverAuth,clientAuth";
    case Eku::CodeSigning:
      return "codeSigning";
    case Eku::None:
      break;
  }
  return nullptr;
}

// A re-parsed copy, so that nothing OpenSSL cached while building (the signed encoding, the
// extension flags) hides a change made after signing.
X509Ptr reparse(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  if (length <= 0) fail("i2d_X509");
  const unsigned char* p = der;
  X509Ptr copy(d2i_X509(nullptr, &p, length));
  OPENSSL_free(der);
  if (!copy) fail("d2i_X509");
  return copy;
}

struct Subject {
  std::string common_name;  // "" for none
  bool ca = false;
  long not_before = -300;  // seconds from now
  long not_after = 365 * kDay;
};

// Builds and signs a certificate for `key`; self-signed when `issuer` is null.
X509Ptr build(EVP_PKEY* key, const Subject& subject, const LeafOptions* leaf, X509* issuer,
              EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  set_random_serial(cert.get());
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), subject.not_before) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), subject.not_after)) {
    fail("validity");
  }
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  add_name_entry(name, "O", "Parley tests");
  if (!subject.common_name.empty()) add_name_entry(name, "CN", subject.common_name);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)), "issuer");

  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (subject.ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyAgreement");
  }
  if (leaf != nullptr) {
    if (const char* eku = eku_value(leaf->eku)) {
      add_extension(cert.get(), signer, NID_ext_key_usage, eku);
    }
    add_subject_alt_names(cert.get(), *leaf);
  }
  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()), "X509_sign");

  if (leaf != nullptr && leaf->corrupt_signature) {
    const ASN1_BIT_STRING* signature = nullptr;
    X509_get0_signature(&signature, nullptr, cert.get());
    if (signature == nullptr || ASN1_STRING_length(signature) == 0) fail("no signature");
    // The last byte of an ECDSA signature is the last byte of s: still valid DER, wrong value.
    const_cast<unsigned char*>(
        ASN1_STRING_get0_data(signature))[ASN1_STRING_length(signature) - 1] ^= 0x01;
  }
  return reparse(cert.get());
}

Subject leaf_subject(const LeafOptions& options) {
  Subject subject;
  subject.common_name = options.common_name;
  switch (options.validity) {
    case Validity::Current:
      break;
    case Validity::Expired:
      subject.not_before = -30 * kDay;
      subject.not_after = -kDay;
      break;
    case Validity::NotYetValid:
      subject.not_before = kDay;
      subject.not_after = 30 * kDay;
      break;
  }
  return subject;
}

std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    fail("PEM key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("test certificate: cannot write " + path.string());
}

}  // namespace

LeafOptions server_leaf(const std::string& domain) {
  LeafOptions options;
  options.dns_names = {domain};
  options.common_name = domain;
  return options;
}

std::string to_pem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), certificate)) fail("PEM certificate");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

PemFiles write_files(const Issued& issued, const std::filesystem::path& dir,
                     const std::string& name, bool with_chain) {
  PemFiles files{dir / (name + ".crt"), dir / (name + ".key")};
  std::string pem = to_pem(issued.certificate.get());
  if (with_chain) {
    for (const auto& cert : issued.chain) pem += to_pem(cert.get());
  }
  write_text(files.certificate, pem);
  write_text(files.key, key_pem(issued.key.get()));
  return files;
}

TestCa::TestCa(const std::string& name) {
  key_ = new_key();
  Subject subject{name, true, -kDay, 365 * kDay};
  certificate_ = build(key_.get(), subject, nullptr, nullptr, nullptr);
  root_ = up_ref(certificate_.get());
}

TestCa TestCa::intermediate(const std::string& name) const {
  TestCa ca{Empty{}};
  ca.key_ = new_key();
  Subject subject{name, true, -kDay, 365 * kDay};
  ca.certificate_ = build(ca.key_.get(), subject, nullptr, certificate_.get(), key_.get());
  ca.chain_.push_back(up_ref(ca.certificate_.get()));
  for (const auto& above : chain_) ca.chain_.push_back(up_ref(above.get()));
  ca.root_ = up_ref(root_.get());
  return ca;
}

Issued TestCa::issue(const LeafOptions& options) const {
  Issued issued;
  issued.key = new_key();
  issued.certificate =
      build(issued.key.get(), leaf_subject(options), &options, certificate_.get(), key_.get());
  for (const auto& cert : chain_) issued.chain.push_back(up_ref(cert.get()));
  return issued;
}

std::filesystem::path TestCa::write_root(const std::filesystem::path& dir,
                                         const std::string& name) const {
  const auto path = dir / (name + ".pem");
  write_text(path, to_pem(root_.get()));
  return path;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "parley-pki-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Issued self_signed(const LeafOptions& options) {
  Issued issued;
  issued.key = new_key();
  issued.certificate = build(issued.key.get(), leaf_subject(options), &options, nullptr, nullptr);
  return issued;
}

}  // namespace parley::federation::pki::test
