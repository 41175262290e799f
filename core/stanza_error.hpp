// Stanza errors (RFC 6120 §8.3): conditions with their wire names and default types, and the
// error reply to a stanza (§8.3.1: to/from swapped, type='error', same id).
#pragma once

#include <string_view>

#include "xml/element.hpp"

namespace parley::core {

enum class StanzaError {
  BadRequest,             // §8.3.3.1
  Conflict,               // §8.3.3.2
  FeatureNotImplemented,  // §8.3.3.3
  Forbidden,              // §8.3.3.4
  Gone,                   // §8.3.3.5
  InternalServerError,    // §8.3.3.6
  ItemNotFound,           // §8.3.3.7
  JidMalformed,           // §8.3.3.8
  NotAcceptable,          // §8.3.3.9
  NotAllowed,             // §8.3.3.10
  NotAuthorized,          // §8.3.3.11
  PolicyViolation,        // §8.3.3.12
  RecipientUnavailable,   // §8.3.3.13
  Redirect,               // §8.3.3.14
  RegistrationRequired,   // §8.3.3.15
  RemoteServerNotFound,   // §8.3.3.16
  RemoteServerTimeout,    // §8.3.3.17
  ResourceConstraint,     // §8.3.3.18
  ServiceUnavailable,     // §8.3.3.19
  SubscriptionRequired,   // §8.3.3.20
  UndefinedCondition,     // §8.3.3.21
  UnexpectedRequest,      // §8.3.3.22
};

std::string_view to_string(StanzaError condition);
// The error type RFC 6120 §8.3.3 gives for the condition ("cancel", "modify", "auth", "wait").
std::string_view default_type(StanzaError condition);

// The error reply to `stanza`: same name and id, 'to' = its 'from' (omitted when it had none),
// 'from' = its 'to' or `from_if_absent`, type='error', and <error type=...><condition/>[<text/>].
// REQUIRES: stanza is not itself of type 'error' (RFC 6120 §8.3.1: never answer an error).
xml::Document make_error(xml::Element stanza, StanzaError condition,
                         std::string_view from_if_absent, std::string_view text = {});

}  // namespace parley::core
