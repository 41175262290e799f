// Stream ids (RFC 6120 §4.7.3): unique and unpredictable, so they come from the CSPRNG. Sessions
// get their ids through a StreamIdSource so that tests can supply fixed ones.
#pragma once

#include <functional>
#include <string>

namespace parley::core {

using StreamIdSource = std::function<std::string()>;

// 128 random bits from OpenSSL's CSPRNG as 32 lowercase hex digits.
std::string random_stream_id();

}  // namespace parley::core
