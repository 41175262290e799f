#include "core/sasl/plain.hpp"

#include "core/sasl/saslprep.hpp"

namespace parley::core::sasl {

SaslResult<PlainMessage> parse_plain(std::string_view message) {
  const auto first = message.find('\0');
  if (first == std::string_view::npos) return SaslError::MalformedRequest;
  const auto second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return SaslError::MalformedRequest;
  // A third NUL would have to be inside passwd, which RFC 4616 forbids.
  const std::string_view authzid = message.substr(0, first);
  const std::string_view authcid = message.substr(first + 1, second - first - 1);
  const std::string_view password = message.substr(second + 1);
  for (std::string_view field : {authzid, authcid, password}) {
    if (field.size() > kPlainMaxFieldBytes || field.find('\0') != std::string_view::npos ||
        !is_valid_utf8(field)) {
      return SaslError::MalformedRequest;
    }
  }
  if (authcid.empty() || password.empty()) return SaslError::MalformedRequest;
  auto prepared_authcid = saslprep(authcid);
  auto prepared_password = saslprep(password);
  if (!prepared_authcid || prepared_authcid->empty() || !prepared_password ||
      prepared_password->empty()) {
    return SaslError::NotAuthorized;
  }
  return PlainMessage{std::string(authzid), std::move(*prepared_authcid),
                      std::move(*prepared_password)};
}

}  // namespace parley::core::sasl
