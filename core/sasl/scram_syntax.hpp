// The message syntax of SCRAM (RFC 5802 §7), shared by the server and the client side: fields,
// saslname escaping (§5.1: ',' as "=2C", '=' as "=3D"), nonces and extensions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core::sasl::scram {

inline constexpr std::size_t kMaxMessageBytes = 8192;  // ours: bounds the work per message

// The comma-separated fields of a message ("a,,b" gives "a", "", "b").
std::vector<std::string_view> split_fields(std::string_view message);

// The value of `field` when it is "<name>=<value>", else nullopt.
std::optional<std::string_view> attribute(std::string_view field, char name);

std::string encode_saslname(std::string_view name);
// nullopt unless `text` is a saslname: non-empty UTF-8, no NUL or ',', '=' only in "=2C"/"=3D".
std::optional<std::string> decode_saslname(std::string_view text);

// printable = %x21-2B / %x2D-7E: non-empty, no ','.
bool is_printable(std::string_view text);

// attr-val = ALPHA "=" value; value = 1*value-char (UTF-8 without NUL and ',').
bool is_extension(std::string_view field);

}  // namespace parley::core::sasl::scram
