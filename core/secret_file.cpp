#include "core/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "core/sasl/random.hpp"

namespace parley::core {

std::string load_or_create_secret(const std::filesystem::path& file, std::size_t bytes) {
  if (std::filesystem::exists(file)) {
    std::ifstream in(file, std::ios::binary);
    std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (secret.size() >= 16) return secret;
    throw std::runtime_error("the secret file " + file.string() +
                             " is damaged; remove it and Parley makes a new one");
  }
  const std::string secret = sasl::random_bytes(bytes);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + file.string());
  const bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + file.string());
  return secret;
}

}  // namespace parley::core
