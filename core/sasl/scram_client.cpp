#include "core/sasl/scram_client.hpp"

#include <charconv>
#include <stdexcept>
#include <utility>

#include "core/sasl/base64.hpp"
#include "core/sasl/saslprep.hpp"
#include "core/sasl/scram_syntax.hpp"

namespace parley::core::sasl {
namespace {

ScramHash hash_or_throw(std::string_view name) {
  auto hash = ScramHash::from_name(name);
  if (!hash) throw std::invalid_argument("unknown SCRAM hash: " + std::string(name));
  return *hash;
}

std::string prep_or_throw(std::string_view in, const char* what) {
  auto out = saslprep(in);
  if (!out || out->empty())
    throw std::invalid_argument(std::string("SASLprep refuses the ") + what);
  return std::move(*out);
}

}  // namespace

ScramClient::ScramClient(ScramClientOptions options)
    : options_(std::move(options)),
      hash_(hash_or_throw(options_.hash_name)),
      password_(prep_or_throw(options_.password, "password")) {
  if (!options_.nonce) throw std::invalid_argument("SCRAM without a nonce source");
}

std::string ScramClient::mechanism() const {
  return "SCRAM-" + std::string(hash_.name()) + (options_.cb_name.empty() ? "" : "-PLUS");
}

std::string ScramClient::client_first() {
  if (!options_.cb_name.empty()) {
    gs2_header_ = "p=" + options_.cb_name;
  } else {
    gs2_header_ = options_.supports_channel_binding ? "y" : "n";
  }
  gs2_header_ += ",";
  if (!options_.authzid.empty()) gs2_header_ += "a=" + scram::encode_saslname(options_.authzid);
  gs2_header_ += ",";
  client_nonce_ = options_.nonce();
  client_first_bare_ =
      "n=" + scram::encode_saslname(prep_or_throw(options_.username, "user name")) +
      ",r=" + client_nonce_;
  return gs2_header_ + client_first_bare_;
}

std::optional<std::string> ScramClient::client_final(std::string_view server_first) {
  if (gs2_header_.empty()) throw std::logic_error("ScramClient::client_final before client_first");
  // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," ext]
  const auto fields = scram::split_fields(server_first);
  if (fields.size() < 3) return std::nullopt;
  const auto nonce = scram::attribute(fields[0], 'r');
  const auto salt_b64 = scram::attribute(fields[1], 's');
  const auto iterations_text = scram::attribute(fields[2], 'i');
  if (!nonce || !salt_b64 || !iterations_text) return std::nullopt;
  if (!nonce->starts_with(client_nonce_) || nonce->size() == client_nonce_.size() ||
      !scram::is_printable(*nonce)) {
    return std::nullopt;
  }
  const auto salt = base64_decode(*salt_b64);
  std::uint32_t iterations = 0;
  const auto* end = iterations_text->data() + iterations_text->size();
  const auto [ptr, ec] = std::from_chars(iterations_text->data(), end, iterations);
  if (!salt || salt->empty() || ec != std::errc{} || ptr != end || iterations == 0 ||
      iterations > options_.max_iterations) {
    return std::nullopt;
  }

  const std::string cbind_input = gs2_header_ + options_.cb_data;
  const std::string without_proof = "c=" + base64_encode(cbind_input) + ",r=" + std::string(*nonce);
  const std::string auth_message =
      client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  const std::string salted_password = hash_.hi(password_, *salt, iterations);
  const std::string client_key = hash_.hmac(salted_password, "Client Key");
  const std::string client_signature = hash_.hmac(hash_.hash(client_key), auth_message);
  const std::string server_key = hash_.hmac(salted_password, "Server Key");
  expected_server_signature_ = hash_.hmac(server_key, auth_message);
  return without_proof + ",p=" + base64_encode(xor_bytes(client_key, client_signature));
}

bool ScramClient::verify_server_final(std::string_view server_final) const {
  const auto fields = scram::split_fields(server_final);
  const auto verifier = scram::attribute(fields[0], 'v');
  if (!verifier || expected_server_signature_.empty()) return false;
  const auto signature = base64_decode(*verifier);
  return signature && equal_constant_time(*signature, expected_server_signature_);
}

}  // namespace parley::core::sasl
