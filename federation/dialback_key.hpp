// Server dialback keys (XEP-0185 §3, used by XEP-0220): the originating server proves it is
// authoritative for its domain by giving the receiving server a key only its own authoritative
// server can recompute. No state is kept per key: the key is an HMAC of the stream it is for.
#pragma once

#include <string>
#include <string_view>

namespace parley::federation {

// XEP-0185 §3: HMAC-SHA256(key = hex(SHA256(secret)), "Receiving Originating StreamID"), in
// lower-case hex.
std::string dialback_key(std::string_view secret, std::string_view receiving_domain,
                         std::string_view originating_domain, std::string_view stream_id);

// <db:NAME from='' to='' [id=''] [type='']>KEY or <error/></db:NAME> (XEP-0220 §2.1-§2.4), with the
// db prefix our stream header declares (peers match the prefixed name). `type` empty for a
// request; `error_condition` (a stanza error condition) makes a dialback error of type cancel.
std::string dialback_element(std::string_view name, std::string_view from, std::string_view to,
                             std::string_view id, std::string_view type, std::string_view key,
                             std::string_view error_condition = {});

// Constant-time comparison of two keys (a peer asks us to check a key it was given).
bool keys_equal(std::string_view a, std::string_view b);

}  // namespace parley::federation
