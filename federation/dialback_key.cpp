#include "federation/dialback_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <stdexcept>

#include "xml/writer.hpp"

namespace parley::federation {
namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

}  // namespace

std::string dialback_key(std::string_view secret, std::string_view receiving_domain,
                         std::string_view originating_domain, std::string_view stream_id) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> secret_hash{};
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), secret_hash.data());
  // The HMAC key is the hex form of the hash (XEP-0185 §3, example 1).
  const std::string hmac_key = to_hex(secret_hash.data(), secret_hash.size());
  std::string text;
  text.reserve(receiving_domain.size() + originating_domain.size() + stream_id.size() + 2);
  text.append(receiving_domain)
      .append(" ")
      .append(originating_domain)
      .append(" ")
      .append(stream_id);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac.data(),
           &mac_size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return to_hex(mac.data(), mac_size);
}

std::string dialback_element(std::string_view name, std::string_view from, std::string_view to,
                             std::string_view id, std::string_view type, std::string_view key,
                             std::string_view error_condition) {
  std::string out = "<db:";
  out += name;
  out += " from='";
  xml::escape_attribute(out, from);
  out += "' to='";
  xml::escape_attribute(out, to);
  if (!id.empty()) {
    out += "' id='";
    xml::escape_attribute(out, id);
  }
  if (!type.empty()) {
    out += "' type='";
    xml::escape_attribute(out, type);
  }
  out += "'>";
  if (!error_condition.empty()) {
    out += "<error type='cancel'><";
    out += error_condition;
    out += " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
  } else {
    xml::escape_text(out, key);
  }
  out += "</db:";
  out += name;
  out += '>';
  return out;
}

bool keys_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace parley::federation
