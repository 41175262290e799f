// The PLAIN mechanism (RFC 4616), server side: parsing the single client message. The session
// then checks the password against the stored SCRAM keys with verify_password (credentials.hpp),
// so PLAIN needs no stored password. Offer it only over TLS (RFC 4616 §6).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/sasl/sasl_error.hpp"

namespace parley::core::sasl {

inline constexpr std::size_t kPlainMaxFieldBytes = 255;  // RFC 4616 §2

struct PlainMessage {
  std::string authzid;   // as sent (may be empty); check it with authzid_allowed
  std::string authcid;   // SASLprepped (RFC 4616 §2: the server prepares it)
  std::string password;  // SASLprepped, ready for verify_password
};

// message = [authzid] NUL authcid NUL passwd (RFC 4616 §2), each field valid UTF-8 without NUL,
// authcid and passwd non-empty, each at most 255 bytes.
// MalformedRequest for a message that breaks that grammar; NotAuthorized when the authcid or the
// password is refused by SASLprep or prepares to nothing (no account can match them).
SaslResult<PlainMessage> parse_plain(std::string_view message);

}  // namespace parley::core::sasl
