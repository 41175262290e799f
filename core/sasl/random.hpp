// Randomness for SASL: salts (RFC 5802 §5.1 "s=") and server nonces ("r="). Passed in as
// functions so that tests can replay the RFC examples byte for byte.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace parley::core::sasl {

// n random bytes.
using RandomBytes = std::function<std::string(std::size_t n)>;
// A fresh nonce: printable ASCII without ',' (RFC 5802 §7 "printable").
using NonceSource = std::function<std::string()>;

// n bytes from OpenSSL's CSPRNG (RAND_bytes). Throws std::runtime_error if it fails.
std::string random_bytes(std::size_t n);

// 144 random bits as 24 base64 characters.
std::string random_nonce();

}  // namespace parley::core::sasl
