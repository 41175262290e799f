// SCRAM, server side: SCRAM-SHA-1(-PLUS) (RFC 5802) and SCRAM-SHA-256(-PLUS) (RFC 7677), with the
// channel-binding types tls-exporter (RFC 9266) and tls-server-end-point (RFC 5929).
//
// An exchange, as a c2s session drives it (RFC 6120 §6.4):
//   ScramServer scram(options);
//   auto user = scram.client_first(decoded <auth/> payload);       // error → <failure/>
//   ... look the credential up for *user (storage thread) ...
//   std::string challenge = scram.server_first(credential_or_nullopt);   // → <challenge/>
//   auto final = scram.client_final(decoded <response/> payload);  // error → <failure/>
//   ... *final → <success/> payload.
// Failure conditions: MalformedRequest for anything that breaks RFC 5802 §7's grammar (including
// a channel-binding flag that does not fit the mechanism, an unknown or unavailable cb-name, and
// the mandatory "m=" extension, which nobody defines); InvalidAuthzid for an authzid other than
// the user's own bare JID; NotAuthorized for a downgrade ('y' while -PLUS was offered), wrong
// channel-binding data, a changed nonce, a wrong proof, or an unknown user.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/sasl/channel_binding.hpp"
#include "core/sasl/credentials.hpp"
#include "core/sasl/random.hpp"
#include "core/sasl/sasl_error.hpp"
#include "core/sasl/scram_hash.hpp"

namespace parley::core::sasl {

struct ScramMechanism {
  std::string_view hash_name;  // kSha1, kSha256 or kSha512
  bool plus = false;
};
// "SCRAM-SHA-256-PLUS" → {kSha256, true}; nullopt for any other mechanism name.
std::optional<ScramMechanism> parse_scram_mechanism(std::string_view name);
// {kSha1, false} → "SCRAM-SHA-1".
std::string scram_mechanism_name(std::string_view hash_name, bool plus);

struct ScramServerOptions {
  std::string hash_name = std::string(kSha256);
  bool plus = false;  // the client chose SCRAM-*-PLUS
  // This connection's channel bindings. Non-empty exactly when the server offered -PLUS
  // mechanisms on this stream: a non-PLUS client saying 'y' is then refused as a downgrade.
  ChannelBindings bindings;
  // Server nonces; the exchange's nonce is the client's followed by one of these.
  NonceSource nonce = random_nonce;
  // Key for the fake salt of unknown users (an HMAC of the user name), so that server-first
  // looks the same whether or not an account exists. Must be secret and stable for as long as
  // possible (persist it): if it changed on every restart, an attacker could tell unknown users
  // by their salts changing. At least 16 bytes.
  std::string unknown_user_secret;
  // The iteration count shown for unknown users: the count new credentials get.
  std::uint32_t unknown_user_iterations = kDefaultIterations;
  // The domain the user authenticates to, for the authzid check (authzid.hpp).
  std::string domain;
};

// One exchange. Not thread-safe; calls must come in order (else std::logic_error, a bug in the
// caller, not something a peer can cause).
class ScramServer {
 public:
  // Throws std::invalid_argument for an unknown hash, -PLUS without any channel binding, or a
  // secret shorter than 16 bytes.
  explicit ScramServer(ScramServerOptions options);

  // Parses client-first-message. Returns the user name (decoded, SASLprepped) to look up.
  SaslResult<std::string> client_first(std::string_view message);

  // After client_first succeeded: the server-first-message for the user's credential of this
  // hash, or for nullopt (unknown user) one with a fake salt (the exchange then fails in
  // client_final with NotAuthorized). Throws std::invalid_argument if the credential is for
  // another hash.
  std::string server_first(const std::optional<ScramCredential>& credential);

  // Checks client-final-message; returns server-final-message ("v=" base64(ServerSignature)).
  SaslResult<std::string> client_final(std::string_view message);

  // After client_first succeeded: the SASLprepped user name, and the authzid (empty or the
  // user's own bare JID, as sent).
  const std::string& username() const { return username_; }
  const std::string& authzid() const { return authzid_; }
  // The channel binding the client used ("tls-exporter", …), empty for 'n' and 'y'.
  const std::string& cb_name() const { return cb_name_; }
  // True once client_final has succeeded.
  bool succeeded() const { return state_ == State::Succeeded; }

 private:
  enum class State { Start, GotClientFirst, SentServerFirst, Succeeded, Failed };

  SaslResult<std::string> fail(SaslError error);

  ScramServerOptions options_;
  ScramHash hash_;
  State state_ = State::Start;
  std::string username_;
  std::string authzid_;
  std::string cb_name_;
  std::string cbind_input_;  // gs2-header + cb-data: what "c=" must decode to
  std::string client_first_bare_;
  std::string client_nonce_;
  std::string nonce_;  // client nonce + server nonce
  std::string server_first_;
  ScramCredential credential_;
  bool known_user_ = false;
};

}  // namespace parley::core::sasl
