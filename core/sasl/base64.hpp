// Base64 (RFC 4648 §4) for SASL payloads (RFC 6120 §6.4.2) and SCRAM attributes (RFC 5802 §7).
// Decoding is strict: a peer's sloppy encoding is an error, not something to guess about.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley::core::sasl {

std::string base64_encode(std::string_view data);

// nullopt unless `text` is canonical base64: a multiple of four characters from the standard
// alphabet, '=' only as the one or two final padding characters, unused bits zero (RFC 4648
// §3.5), no whitespace or line breaks. The empty string decodes to the empty string.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace parley::core::sasl
