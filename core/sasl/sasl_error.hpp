// SASL failure conditions of RFC 6120 §6.5 with their wire names, and SaslResult: a value or the
// condition to send in <failure/>. Errors a peer causes are values, never exceptions.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <variant>

namespace parley::core::sasl {

enum class SaslError {
  Aborted,               // §6.5.1
  AccountDisabled,       // §6.5.2
  CredentialsExpired,    // §6.5.3
  EncryptionRequired,    // §6.5.4
  IncorrectEncoding,     // §6.5.5
  InvalidAuthzid,        // §6.5.6
  InvalidMechanism,      // §6.5.7
  MalformedRequest,      // §6.5.8
  MechanismTooWeak,      // §6.5.9
  NotAuthorized,         // §6.5.10
  TemporaryAuthFailure,  // §6.5.11
};

// The element name of the condition, e.g. "not-authorized".
std::string_view to_string(SaslError error);
// The inverse of to_string; nullopt for a name RFC 6120 does not define.
std::optional<SaslError> sasl_error_from_string(std::string_view name);

// A T, or the SaslError that prevented it.
template <typename T>
class [[nodiscard]] SaslResult {
 public:
  SaslResult(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  SaslResult(SaslError error) : v_(error) {}     // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  SaslError error() const { return std::get<1>(v_); }

 private:
  std::variant<T, SaslError> v_;
};

}  // namespace parley::core::sasl
