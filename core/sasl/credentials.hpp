// SCRAM credentials (RFC 5802 §3): what the server stores instead of a password, for each hash.
// PLAIN (RFC 4616) is verified against the same keys, so no password is ever stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/sasl/random.hpp"
#include "storage/account_store.hpp"

namespace parley::core::sasl {

inline constexpr std::uint32_t kDefaultIterations = 4096;  // RFC 7677 §4 minimum
inline constexpr std::size_t kSaltBytes = 16;

// The stored form of a password, per hash (storage/account_store.hpp defines it for every layer).
using ScramCredential = storage::ScramCredential;

// SaltedPassword = Hi(password, salt, i); ClientKey = HMAC(SaltedPassword, "Client Key");
// StoredKey = H(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key").
// REQUIRES: `password` is already SASLprepped (Unassigned::Refuse when it is to be stored).
// Throws std::invalid_argument for an unknown hash name or zero iterations.
ScramCredential derive(std::string_view hash_name, std::string_view password, std::string_view salt,
                       std::uint32_t iterations);

// Credentials for SHA-1 and SHA-256, each with its own fresh kSaltBytes salt.
// REQUIRES: `password` is SASLprep(password typed, Unassigned::Refuse), not empty (else throws
// std::invalid_argument).
std::vector<ScramCredential> make_credentials(std::string_view password,
                                              std::uint32_t iterations = kDefaultIterations,
                                              const RandomBytes& random = random_bytes);

// Whether `password` (SASLprepped) derives `credential`'s keys. Compares in constant time.
// False for a credential with an unknown hash name or zero iterations.
bool verify_password(const ScramCredential& credential, std::string_view password);

}  // namespace parley::core::sasl
