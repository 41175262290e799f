#include "core/pid_file.hpp"

#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>

namespace parley::core {

std::filesystem::path pid_file(const std::filesystem::path& data_dir) {
  return data_dir / "parley.pid";
}

void write_pid_file(const std::filesystem::path& data_dir) {
  std::ofstream out(pid_file(data_dir), std::ios::trunc);
  out << ::getpid() << '\n';
  if (!out) throw std::runtime_error("cannot write " + pid_file(data_dir).string());
}

namespace {

std::optional<pid_t> read_pid(const std::filesystem::path& file) {
  std::ifstream in(file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

}  // namespace

void remove_pid_file(const std::filesystem::path& data_dir) {
  const auto file = pid_file(data_dir);
  if (read_pid(file) == ::getpid()) {
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
  }
}

std::optional<pid_t> running_server(const std::filesystem::path& data_dir) {
  const auto pid = read_pid(pid_file(data_dir));
  if (!pid) return std::nullopt;
  // /proc/PID/exe names the executable; a recycled id belongs to something else.
  std::error_code ec;
  const auto exe =
      std::filesystem::read_symlink("/proc/" + std::to_string(*pid) + "/exe", ec).filename();
  if (ec || exe.string().rfind("parley", 0) != 0) return std::nullopt;
  return pid;
}

}  // namespace parley::core
