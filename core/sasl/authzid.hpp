// Which authorization identities (RFC 6120 §6.3.8) Parley accepts: none, or the authenticated
// account's own bare JID. Acting on behalf of another entity is not supported.
#pragma once

#include <string_view>

namespace parley::core::sasl {

// True when `authzid` is empty, or is a JID equal (after preparation) to the bare JID
// nodeprep(username)@domain. A full JID or another account's JID is refused (invalid-authzid).
bool authzid_allowed(std::string_view authzid, std::string_view username, std::string_view domain);

}  // namespace parley::core::sasl
