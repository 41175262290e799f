// Server secrets kept in the data directory (SCRAM's fake-salt key, the dialback secret of
// XEP-0185): made once with random bytes, readable by Parley's user only, the same after restarts.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace parley::core {

// The secret in `file`, made with `bytes` random bytes (mode 0600) when the file does not exist.
// Throws std::runtime_error naming the file when it cannot be read or written, or is damaged
// (shorter than 16 bytes).
std::string load_or_create_secret(const std::filesystem::path& file, std::size_t bytes = 32);

}  // namespace parley::core
