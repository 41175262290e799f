#include "federation/pki/trust_anchors.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "core/tls/openssl_util.hpp"

namespace parley::federation::pki {
namespace {

using core::tls::BioPtr;
using core::tls::openssl_reason;
using core::tls::X509Ptr;

// Reads every certificate of a PEM file into `store`; returns how many.
std::size_t add_pem_file(X509_STORE* store, const std::filesystem::path& file) {
  ERR_clear_error();
  if (std::error_code ec; std::filesystem::is_directory(file, ec)) {
    throw std::runtime_error("the CA file " + file.string() +
                             " is a directory; give one PEM file holding the CA certificates");
  }
  // Open with fopen first: errno says why a file cannot be read better than OpenSSL's BIO error.
  std::FILE* fp = std::fopen(file.c_str(), "rb");
  if (fp == nullptr) {
    throw std::runtime_error("cannot read the CA file " + file.string() + ": " +
                             std::strerror(errno));
  }
  BioPtr bio(BIO_new_fp(fp, BIO_CLOSE));
  if (!bio) {
    std::fclose(fp);
    throw std::runtime_error("cannot read the CA file " + file.string() + ": " + openssl_reason());
  }
  std::size_t count = 0;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      // The same certificate twice in a bundle is harmless; anything else is not.
      const unsigned long code = ERR_peek_last_error();
      if (ERR_GET_REASON(code) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        throw std::runtime_error("cannot use a certificate of the CA file " + file.string() + ": " +
                                 openssl_reason());
      }
    }
    ++count;
  }
  // PEM_read_bio_X509 ends with "no start line" at the end of the file: expected once certificates
  // were read; anything else (a damaged base64 block) is an error worth stopping for.
  const unsigned long last = ERR_peek_last_error();
  if (last != 0 &&
      !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    throw std::runtime_error("cannot read the CA file " + file.string() + ": " + openssl_reason());
  }
  ERR_clear_error();
  if (count == 0) {
    throw std::runtime_error("the CA file " + file.string() +
                             " holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")");
  }
  return count;
}

}  // namespace

std::shared_ptr<TrustAnchors> TrustAnchors::load(std::optional<std::filesystem::path> ca_file) {
  std::shared_ptr<TrustAnchors> self(new TrustAnchors());
  self->store_ = X509_STORE_new();
  if (self->store_ == nullptr) {
    throw std::runtime_error("cannot create a certificate store: " + openssl_reason());
  }
  if (ca_file) {
    self->count_ = add_pem_file(self->store_, *ca_file);
    self->ca_file_ = std::move(ca_file);
  } else if (X509_STORE_set_default_paths(self->store_) != 1) {
    throw std::runtime_error("cannot use the system trust store: " + openssl_reason());
  }
  return self;
}

TrustAnchors::~TrustAnchors() { X509_STORE_free(store_); }

std::string TrustAnchors::describe() const {
  if (ca_file_) {
    return std::to_string(count_) + (count_ == 1 ? " certificate from " : " certificates from ") +
           ca_file_->string();
  }
  return std::string("the system trust store (") + X509_get_default_cert_dir() + ")";
}

}  // namespace parley::federation::pki
