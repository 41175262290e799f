#include "xml/stream_error.hpp"

#include <array>
#include <utility>

namespace parley::xml {
namespace {

constexpr std::array<std::pair<StreamError, std::string_view>, 25> kNames{{
    {StreamError::BadFormat, "bad-format"},
    {StreamError::BadNamespacePrefix, "bad-namespace-prefix"},
    {StreamError::Conflict, "conflict"},
    {StreamError::ConnectionTimeout, "connection-timeout"},
    {StreamError::HostGone, "host-gone"},
    {StreamError::HostUnknown, "host-unknown"},
    {StreamError::ImproperAddressing, "improper-addressing"},
    {StreamError::InternalServerError, "internal-server-error"},
    {StreamError::InvalidFrom, "invalid-from"},
    {StreamError::InvalidNamespace, "invalid-namespace"},
    {StreamError::InvalidXml, "invalid-xml"},
    {StreamError::NotAuthorized, "not-authorized"},
    {StreamError::NotWellFormed, "not-well-formed"},
    {StreamError::PolicyViolation, "policy-violation"},
    {StreamError::RemoteConnectionFailed, "remote-connection-failed"},
    {StreamError::Reset, "reset"},
    {StreamError::ResourceConstraint, "resource-constraint"},
    {StreamError::RestrictedXml, "restricted-xml"},
    {StreamError::SeeOtherHost, "see-other-host"},
    {StreamError::SystemShutdown, "system-shutdown"},
    {StreamError::UndefinedCondition, "undefined-condition"},
    {StreamError::UnsupportedEncoding, "unsupported-encoding"},
    {StreamError::UnsupportedFeature, "unsupported-feature"},
    {StreamError::UnsupportedStanzaType, "unsupported-stanza-type"},
    {StreamError::UnsupportedVersion, "unsupported-version"},
}};

}  // namespace

std::string_view to_string(StreamError condition) {
  for (const auto& [c, name] : kNames) {
    if (c == condition) return name;
  }
  return "undefined-condition";
}

std::optional<StreamError> stream_error_from_string(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

}  // namespace parley::xml
