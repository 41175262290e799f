#include "core/sasl/sasl_error.hpp"

#include <array>

namespace parley::core::sasl {
namespace {

constexpr std::array<std::pair<SaslError, std::string_view>, 11> kNames{{
    {SaslError::Aborted, "aborted"},
    {SaslError::AccountDisabled, "account-disabled"},
    {SaslError::CredentialsExpired, "credentials-expired"},
    {SaslError::EncryptionRequired, "encryption-required"},
    {SaslError::IncorrectEncoding, "incorrect-encoding"},
    {SaslError::InvalidAuthzid, "invalid-authzid"},
    {SaslError::InvalidMechanism, "invalid-mechanism"},
    {SaslError::MalformedRequest, "malformed-request"},
    {SaslError::MechanismTooWeak, "mechanism-too-weak"},
    {SaslError::NotAuthorized, "not-authorized"},
    {SaslError::TemporaryAuthFailure, "temporary-auth-failure"},
}};

}  // namespace

std::string_view to_string(SaslError error) {
  for (const auto& [e, name] : kNames) {
    if (e == error) return name;
  }
  return "not-authorized";
}

std::optional<SaslError> sasl_error_from_string(std::string_view name) {
  for (const auto& [e, n] : kNames) {
    if (n == name) return e;
  }
  return std::nullopt;
}

}  // namespace parley::core::sasl
