#include "core/sasl/credentials.hpp"

#include <stdexcept>

#include "core/sasl/scram_hash.hpp"

namespace parley::core::sasl {

ScramCredential derive(std::string_view hash_name, std::string_view password, std::string_view salt,
                       std::uint32_t iterations) {
  const auto hash = ScramHash::from_name(hash_name);
  if (!hash) throw std::invalid_argument("unknown SCRAM hash: " + std::string(hash_name));
  const std::string salted_password = hash->hi(password, salt, iterations);
  ScramCredential credential;
  credential.hash_name = std::string(hash->name());
  credential.salt = std::string(salt);
  credential.iterations = iterations;
  credential.stored_key = hash->hash(hash->hmac(salted_password, "Client Key"));
  credential.server_key = hash->hmac(salted_password, "Server Key");
  return credential;
}

std::vector<ScramCredential> make_credentials(std::string_view password, std::uint32_t iterations,
                                              const RandomBytes& random) {
  if (password.empty()) throw std::invalid_argument("empty password");
  std::vector<ScramCredential> out;
  for (std::string_view hash : {kSha1, kSha256}) {
    const std::string salt = random(kSaltBytes);
    if (salt.size() != kSaltBytes) throw std::runtime_error("random source returned a short salt");
    out.push_back(derive(hash, password, salt, iterations));
  }
  return out;
}

bool verify_password(const ScramCredential& credential, std::string_view password) {
  if (!ScramHash::from_name(credential.hash_name) || credential.iterations == 0 ||
      credential.iterations > INT32_MAX) {
    return false;
  }
  const ScramCredential candidate =
      derive(credential.hash_name, password, credential.salt, credential.iterations);
  // Both comparisons always run (they are computed before the &&).
  const bool stored = equal_constant_time(candidate.stored_key, credential.stored_key);
  const bool server = equal_constant_time(candidate.server_key, credential.server_key);
  return stored && server;
}

}  // namespace parley::core::sasl
