// The running server's process id in its data directory (parley.pid), so that commands run beside
// it (`parley group add`) can ask it to reload with SIGHUP.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

namespace parley::core {

std::filesystem::path pid_file(const std::filesystem::path& data_dir);
// Writes this process's id. Throws std::runtime_error when the file cannot be written.
void write_pid_file(const std::filesystem::path& data_dir);
// Removes the file if it holds this process's id.
void remove_pid_file(const std::filesystem::path& data_dir);
// The id of a Parley server running on this data directory: the file's id, when that process
// exists and is a parley executable (a stale file after a crash names nothing, or someone else).
std::optional<pid_t> running_server(const std::filesystem::path& data_dir);

}  // namespace parley::core
