// SASLprep (RFC 4013): how SCRAM (RFC 5802 §2.2) and PLAIN (RFC 4616 §2) prepare user names and
// passwords before comparing them, so that equivalent Unicode spellings authenticate alike.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/sasl/stringprep.hpp"

namespace parley::core::sasl {

// nullopt when `in` is not valid UTF-8 or contains a character RFC 4013 §2.3 prohibits, or when
// its bidi rules (§2.4) fail. Use Unassigned::Refuse when preparing a password to be stored.
// An empty result is returned as such: whether it is acceptable is the caller's decision.
std::optional<std::string> saslprep(std::string_view in, Unassigned unassigned = Unassigned::Allow);

}  // namespace parley::core::sasl
