#include "core/sasl/scram.hpp"

#include <stdexcept>
#include <utility>

#include "core/sasl/authzid.hpp"
#include "core/sasl/base64.hpp"
#include "core/sasl/saslprep.hpp"
#include "core/sasl/scram_syntax.hpp"

namespace parley::core::sasl {
namespace {

constexpr std::size_t kMinSecretBytes = 16;
constexpr std::size_t kMaxNonceBytes = 1024;

ScramHash hash_or_throw(std::string_view name) {
  auto hash = ScramHash::from_name(name);
  if (!hash) throw std::invalid_argument("unknown SCRAM hash: " + std::string(name));
  return *hash;
}

bool is_cb_name(std::string_view name) {
  // cb-name = 1*(ALPHA / DIGIT / "." / "-")
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<ScramMechanism> parse_scram_mechanism(std::string_view name) {
  static constexpr std::string_view kPrefix = "SCRAM-";
  static constexpr std::string_view kPlus = "-PLUS";
  if (!name.starts_with(kPrefix)) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  const bool plus = name.ends_with(kPlus);
  if (plus) name.remove_suffix(kPlus.size());
  const auto hash = ScramHash::from_name(name);
  if (!hash) return std::nullopt;
  return ScramMechanism{hash->name(), plus};
}

std::string scram_mechanism_name(std::string_view hash_name, bool plus) {
  return "SCRAM-" + std::string(hash_name) + (plus ? "-PLUS" : "");
}

ScramServer::ScramServer(ScramServerOptions options)
    : options_(std::move(options)), hash_(hash_or_throw(options_.hash_name)) {
  if (options_.plus && !options_.bindings.any()) {
    throw std::invalid_argument("SCRAM-*-PLUS without channel binding data");
  }
  if (options_.unknown_user_secret.size() < kMinSecretBytes) {
    throw std::invalid_argument("SCRAM unknown-user secret shorter than 16 bytes");
  }
  if (options_.unknown_user_iterations == 0) {
    throw std::invalid_argument("SCRAM iteration count 0");
  }
  if (!options_.nonce) throw std::invalid_argument("SCRAM without a nonce source");
}

SaslResult<std::string> ScramServer::fail(SaslError error) {
  state_ = State::Failed;
  return error;
}

SaslResult<std::string> ScramServer::client_first(std::string_view message) {
  if (state_ != State::Start) throw std::logic_error("ScramServer::client_first out of order");
  if (message.size() > scram::kMaxMessageBytes) return fail(SaslError::MalformedRequest);
  // client-first-message = gs2-header client-first-message-bare
  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  const auto fields = scram::split_fields(message);
  if (fields.size() < 4) return fail(SaslError::MalformedRequest);

  const std::string_view flag = fields[0];
  if (flag == "n" || flag == "y") {
    // RFC 5802 §6: a -PLUS mechanism requires channel binding.
    if (options_.plus) return fail(SaslError::MalformedRequest);
    // 'y': the client supports channel binding but thinks we do not. We offered -PLUS, so
    // someone removed it on the way: a downgrade attack (RFC 5802 §6, "MUST fail").
    if (flag == "y" && options_.bindings.any()) return fail(SaslError::NotAuthorized);
  } else if (const auto cb = scram::attribute(flag, 'p')) {
    if (!options_.plus || !is_cb_name(*cb)) return fail(SaslError::MalformedRequest);
    const std::string* data = options_.bindings.find(*cb);
    if (data == nullptr) return fail(SaslError::MalformedRequest);  // not offered (XEP-0440)
    cb_name_ = std::string(*cb);
    cbind_input_ = *data;  // gs2-header is prepended below
  } else {
    return fail(SaslError::MalformedRequest);
  }

  std::string authzid;
  if (!fields[1].empty()) {
    const auto value = scram::attribute(fields[1], 'a');
    if (!value) return fail(SaslError::MalformedRequest);
    auto decoded = scram::decode_saslname(*value);
    if (!decoded) return fail(SaslError::MalformedRequest);
    authzid = std::move(*decoded);
  }
  const std::size_t gs2_header_size = fields[0].size() + fields[1].size() + 2;
  cbind_input_.insert(0, message.substr(0, gs2_header_size));
  client_first_bare_ = std::string(message.substr(gs2_header_size));

  // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
  // "m=" is reserved for a mandatory extension; we know none, so we must fail (§5.1).
  if (scram::attribute(fields[2], 'm')) return fail(SaslError::MalformedRequest);
  const auto username_field = scram::attribute(fields[2], 'n');
  const auto nonce_field = scram::attribute(fields[3], 'r');
  if (!username_field || !nonce_field) return fail(SaslError::MalformedRequest);
  for (std::size_t i = 4; i < fields.size(); ++i) {
    if (!scram::is_extension(fields[i])) return fail(SaslError::MalformedRequest);
  }
  if (!scram::is_printable(*nonce_field) || nonce_field->size() > kMaxNonceBytes) {
    return fail(SaslError::MalformedRequest);
  }
  client_nonce_ = std::string(*nonce_field);

  const auto decoded_username = scram::decode_saslname(*username_field);
  if (!decoded_username) return fail(SaslError::MalformedRequest);
  auto username = saslprep(*decoded_username);
  if (!username || username->empty()) return fail(SaslError::MalformedRequest);

  if (!authzid_allowed(authzid, *username, options_.domain)) {
    return fail(SaslError::InvalidAuthzid);
  }
  username_ = std::move(*username);
  authzid_ = std::move(authzid);
  state_ = State::GotClientFirst;
  return username_;
}

std::string ScramServer::server_first(const std::optional<ScramCredential>& credential) {
  if (state_ != State::GotClientFirst) {
    throw std::logic_error("ScramServer::server_first out of order");
  }
  if (credential) {
    if (credential->hash_name != hash_.name() || credential->iterations == 0) {
      throw std::invalid_argument("SCRAM credential for another hash");
    }
    credential_ = *credential;
    known_user_ = true;
  } else {
    // A salt that is the same every time this user name is tried, as a real one would be,
    // and keys nobody can match. The proof is still computed in client_final, so the timing
    // of the failure does not tell either.
    const std::string tag = std::string(hash_.name()) + '\0' + username_;
    const auto key = ScramHash::from_name(kSha256)->hmac(options_.unknown_user_secret, tag);
    credential_.hash_name = std::string(hash_.name());
    credential_.salt = key.substr(0, kSaltBytes);
    credential_.iterations = options_.unknown_user_iterations;
    credential_.stored_key = hash_.hmac(key, "Stored Key");
    credential_.server_key = hash_.hmac(key, "Server Key");
    known_user_ = false;
  }
  const std::string server_nonce = options_.nonce();
  if (!scram::is_printable(server_nonce)) {
    throw std::logic_error("SCRAM nonce source returned a non-printable nonce");
  }
  nonce_ = client_nonce_ + server_nonce;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credential_.salt) +
                  ",i=" + std::to_string(credential_.iterations);
  state_ = State::SentServerFirst;
  return server_first_;
}

SaslResult<std::string> ScramServer::client_final(std::string_view message) {
  if (state_ != State::SentServerFirst) {
    throw std::logic_error("ScramServer::client_final out of order");
  }
  if (message.size() > scram::kMaxMessageBytes) return fail(SaslError::MalformedRequest);
  // client-final-message = channel-binding "," nonce ["," extensions] "," proof
  const auto fields = scram::split_fields(message);
  if (fields.size() < 3) return fail(SaslError::MalformedRequest);
  const auto cb_field = scram::attribute(fields.front(), 'c');
  const auto nonce_field = scram::attribute(fields[1], 'r');
  const auto proof_field = scram::attribute(fields.back(), 'p');
  if (!cb_field || !nonce_field || !proof_field) return fail(SaslError::MalformedRequest);
  for (std::size_t i = 2; i + 1 < fields.size(); ++i) {
    if (!scram::is_extension(fields[i])) return fail(SaslError::MalformedRequest);
  }
  const auto cbind_input = base64_decode(*cb_field);
  const auto proof = base64_decode(*proof_field);
  if (!cbind_input || !proof || proof->size() != hash_.size()) {
    return fail(SaslError::MalformedRequest);
  }

  // RFC 5802 §6/§7: "c=" carries the gs2-header again (so a changed flag or authzid shows) and,
  // for -PLUS, the channel-binding data: a mismatch means another TLS channel, i.e. a MITM.
  const bool cb_ok = equal_constant_time(*cbind_input, cbind_input_);
  const bool nonce_ok = *nonce_field == nonce_;

  // client-final-message-without-proof is everything before ",p=".
  const std::string_view without_proof =
      message.substr(0, message.size() - fields.back().size() - 1);
  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const std::string client_signature = hash_.hmac(credential_.stored_key, auth_message);
  const std::string client_key = xor_bytes(*proof, client_signature);
  const bool proof_ok = equal_constant_time(hash_.hash(client_key), credential_.stored_key);

  if (!(cb_ok && nonce_ok && proof_ok && known_user_)) return fail(SaslError::NotAuthorized);
  state_ = State::Succeeded;
  return "v=" + base64_encode(hash_.hmac(credential_.server_key, auth_message));
}

}  // namespace parley::core::sasl
