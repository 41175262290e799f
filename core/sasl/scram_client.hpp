// SCRAM, client side (RFC 5802 §3, RFC 7677), for tests, the integration tests and the load
// tool: it drives ScramServer through an exchange as a real client would.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/sasl/random.hpp"
#include "core/sasl/scram_hash.hpp"

namespace parley::core::sasl {

struct ScramClientOptions {
  std::string hash_name = std::string(kSha256);
  std::string username;  // as typed: SASLprepped and escaped here
  std::string password;  // as typed: SASLprepped here
  std::string authzid;   // empty for none
  // Channel binding: a cb-name ("tls-exporter", …) and its data selects "p=" (the -PLUS
  // mechanism). Without one, the flag is 'n', or 'y' when `supports_channel_binding` says the
  // client could bind but believes the server cannot.
  std::string cb_name;
  std::string cb_data;
  bool supports_channel_binding = false;
  NonceSource nonce = random_nonce;
  // Refuse a server that asks for more work than this (a server could otherwise stall us).
  std::uint32_t max_iterations = 1'000'000;
};

class ScramClient {
 public:
  // Throws std::invalid_argument for an unknown hash, or a user name or password that SASLprep
  // refuses.
  explicit ScramClient(ScramClientOptions options);

  // The mechanism name to put in <auth mechanism=…/>, e.g. "SCRAM-SHA-256-PLUS".
  std::string mechanism() const;

  // client-first-message, e.g. "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL".
  std::string client_first();

  // client-final-message for `server_first` (REQUIRES: client_first() was called); nullopt when it
  // is malformed, its nonce does not extend ours, or its iteration count is 0 or above
  // max_iterations.
  std::optional<std::string> client_final(std::string_view server_first);

  // Whether `server_final` is "v=" with the server signature we expect (the server knew our
  // keys). False also for "e=…" and anything malformed.
  bool verify_server_final(std::string_view server_final) const;

 private:
  ScramClientOptions options_;
  ScramHash hash_;
  std::string password_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string client_nonce_;
  std::string expected_server_signature_;
};

}  // namespace parley::core::sasl
