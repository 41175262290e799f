// See process_stats.hpp.
#include "bench/load/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace parley::load {

namespace {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::uint64_t> stat_cpu_ticks(std::string_view stat) {
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  // Fields after the command: 3 state, 4 ppid, ..., 14 utime, 15 stime (proc(5)).
  std::uint64_t ticks = 0;
  for (int field = 3; field <= 15; ++field) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const std::size_t end = std::min(rest.find(' '), rest.size());
    if (end == 0) return std::nullopt;
    if (field >= 14) {
      auto v = to_u64(rest.substr(0, end));
      if (!v) return std::nullopt;
      ticks += *v;
    }
    rest.remove_prefix(end);
  }
  return ticks;
}

std::optional<SchedStat> parse_schedstat(std::string_view text) {
  const std::size_t a = text.find(' ');
  if (a == std::string_view::npos) return std::nullopt;
  const std::size_t b = text.find(' ', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto run = to_u64(text.substr(0, a));
  auto wait = to_u64(text.substr(a + 1, b - a - 1));
  if (!run || !wait) return std::nullopt;
  return SchedStat{*run, *wait};
}

std::optional<std::int64_t> status_rss_kib(std::string_view status) {
  constexpr std::string_view kKey = "\nVmRSS:";
  std::size_t at = status.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = status.substr(at + kKey.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  const std::size_t end = std::min(rest.find(' '), rest.size());
  auto v = to_u64(rest.substr(0, end));
  if (!v) return std::nullopt;
  return static_cast<std::int64_t>(*v);
}

std::optional<int> status_only_cpu(std::string_view status) {
  constexpr std::string_view kKey = "\nCpus_allowed_list:";
  const std::size_t at = status.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = status.substr(at + kKey.size());
  rest = rest.substr(0, std::min(rest.find('\n'), rest.size()));
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  std::string_view first = rest;
  std::string_view last = rest;
  if (const std::size_t dash = rest.find('-'); dash != std::string_view::npos) {
    first = rest.substr(0, dash);
    last = rest.substr(dash + 1);
  }
  const auto a = to_u64(first);
  const auto b = to_u64(last);
  if (!a || !b || *a != *b || *a > 1'000'000) return std::nullopt;
  return static_cast<int>(*a);
}

std::optional<ProcessSample> sample_process(pid_t pid) {
  const std::filesystem::path dir = "/proc/" + std::to_string(pid);
  const auto stat = read_file(dir / "stat");
  if (!stat) return std::nullopt;
  const auto ticks = stat_cpu_ticks(*stat);
  if (!ticks) return std::nullopt;
  ProcessSample sample;
  sample.cpu_seconds = static_cast<double>(*ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
  if (const auto status = read_file(dir / "status")) {
    sample.rss_kib = status_rss_kib(*status).value_or(-1);
    sample.only_cpu = status_only_cpu(*status).value_or(-1);
  }
  std::error_code ec;
  std::int64_t run_ns = 0;
  std::int64_t wait_ns = 0;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator(dir / "task", ec)) {
    const auto text = read_file(task.path() / "schedstat");
    if (!text) continue;
    const auto times = parse_schedstat(*text);
    if (!times) continue;
    run_ns += static_cast<std::int64_t>(times->run_ns);
    wait_ns += static_cast<std::int64_t>(times->wait_ns);
    any = true;
  }
  if (any && !ec) {
    sample.cpu_ns = run_ns;
    sample.wait_ns = wait_ns;
  }
  return sample;
}

std::string load_average() {
  const auto text = read_file("/proc/loadavg");
  if (!text) return "?";
  std::istringstream in(*text);
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "?";
  return a + " " + b + " " + c;
}

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace parley::load
