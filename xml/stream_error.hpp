// Stream error conditions of RFC 6120 §4.9.3, with their wire names.
// The parser reports its failures with these; sessions send them to the peer.
#pragma once

#include <optional>
#include <string_view>

namespace parley::xml {

enum class StreamError {
  BadFormat,               // §4.9.3.1
  BadNamespacePrefix,      // §4.9.3.2
  Conflict,                // §4.9.3.3
  ConnectionTimeout,       // §4.9.3.4
  HostGone,                // §4.9.3.5
  HostUnknown,             // §4.9.3.6
  ImproperAddressing,      // §4.9.3.7
  InternalServerError,     // §4.9.3.8
  InvalidFrom,             // §4.9.3.9
  InvalidNamespace,        // §4.9.3.10
  InvalidXml,              // §4.9.3.11
  NotAuthorized,           // §4.9.3.12
  NotWellFormed,           // §4.9.3.13
  PolicyViolation,         // §4.9.3.14
  RemoteConnectionFailed,  // §4.9.3.15
  Reset,                   // §4.9.3.16
  ResourceConstraint,      // §4.9.3.17
  RestrictedXml,           // §4.9.3.18
  SeeOtherHost,            // §4.9.3.19
  SystemShutdown,          // §4.9.3.20
  UndefinedCondition,      // §4.9.3.21
  UnsupportedEncoding,     // §4.9.3.22
  UnsupportedFeature,      // §4.9.3.23
  UnsupportedStanzaType,   // §4.9.3.24
  UnsupportedVersion,      // §4.9.3.25
};

// The element name of the condition, e.g. "not-well-formed".
std::string_view to_string(StreamError condition);
// The inverse of to_string; nullopt for a name RFC 6120 does not define.
std::optional<StreamError> stream_error_from_string(std::string_view name);

}  // namespace parley::xml
