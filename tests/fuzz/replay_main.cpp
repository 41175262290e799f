// Replays files through a libFuzzer target without libFuzzer: for compilers without
// -fsanitize=fuzzer, and for the corpus regression test. Usage: replay PATH... where each PATH is a
// file or a directory (its regular files, sorted, dotfiles skipped). Each input runs in a child
// process, so that one violated invariant (a trap) does not hide the others; the exit status is 1
// when any input failed.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// Runs one input in the current process.
void run_one(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    std::_Exit(3);
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // A copy of exactly the file's size, so that ASan sees reads past the end.
  std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(data.empty() ? nullptr : data.data(), data.size());
}

// Runs one input in a child process; false when it failed.
bool replay(const fs::path& file) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("replay: fork");
    return false;
  }
  if (pid == 0) {
    run_one(file);
    std::fflush(nullptr);
    std::_Exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "replay: FAILED %s (signal %d)\n", file.c_str(), WTERMSIG(status));
  } else {
    std::fprintf(stderr, "replay: FAILED %s (exit status %d)\n", file.c_str(), WEXITSTATUS(status));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path path(argv[i]);
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> in_dir;
      for (const auto& entry : fs::directory_iterator(path)) {
        if (entry.is_regular_file() && entry.path().filename().string().front() != '.') {
          in_dir.push_back(entry.path());
        }
      }
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      return 2;
    }
  }
  std::size_t failed = 0;
  for (const auto& f : files) {
    if (!replay(f)) ++failed;
  }
  if (failed > 0) {
    std::fprintf(stderr, "replay: %zu of %zu inputs FAILED\n", failed, files.size());
    return 1;
  }
  std::fprintf(stderr, "replay: %zu inputs, no invariant violated\n", files.size());
  return 0;
}
