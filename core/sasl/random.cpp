#include "core/sasl/random.hpp"

#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

#include "core/sasl/base64.hpp"

namespace parley::core::sasl {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > INT_MAX ||
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

std::string random_nonce() { return base64_encode(random_bytes(18)); }

}  // namespace parley::core::sasl
