// Stringprep (RFC 3454) through libidn, for the profiles Parley needs: Nodeprep and Resourceprep
// (RFC 3920 Appendixes A and B, kept by RFC 6122 and used by Prosody and ejabberd for JIDs),
// Nameprep (RFC 3491) and SASLprep (RFC 4013). Also a strict UTF-8 validator (RFC 3629).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley::core::sasl {

enum class StringprepProfile { Nodeprep, Resourceprep, Nameprep, Saslprep };

// RFC 3454 §7: a "query" may contain unassigned code points, a "stored string" may not. Prepare
// what a peer sends for comparison with Allow; prepare what is written to storage (a new
// username, a new password) with Refuse, so that a later Unicode version cannot change it.
enum class Unassigned { Allow, Refuse };

// Prepares UTF-8 `in` with `profile`. nullopt when `in` is not valid UTF-8, contains NUL, or the
// profile prohibits one of its characters (or its bidi rules fail). The result may be empty
// (every character mapped to nothing): callers that forbid empty strings check that.
// Pure-ASCII input takes a table-driven path equivalent to libidn's (tested exhaustively).
std::optional<std::string> stringprep(std::string_view in, StringprepProfile profile,
                                      Unassigned unassigned = Unassigned::Allow);

// True when `s` is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s);

}  // namespace parley::core::sasl
