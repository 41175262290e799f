// See server_meter.hpp.
#include "bench/load/server_meter.hpp"

#include <unistd.h>

#include <cmath>
#include <limits>
#include <vector>

#include "bench/load/saturation.hpp"

namespace parley::load {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct ServerFigures {
  double cpu_seconds = kNaN;     // /proc/PID/stat utime+stime
  double cpu_ns_seconds = kNaN;  // schedstat
  double wait_seconds = kNaN;
};

double waited(const std::optional<ProcessSample>& b, const std::optional<ProcessSample>& a) {
  if (!b || !a || b->wait_ns < 0 || a->wait_ns < 0) return kNaN;
  return static_cast<double>(a->wait_ns - b->wait_ns) / 1e9;
}

ServerFigures figures(const std::optional<ProcessSample>& b,
                      const std::optional<ProcessSample>& a) {
  ServerFigures f;
  f.wait_seconds = waited(b, a);
  if (b && a) {
    f.cpu_seconds = a->cpu_seconds - b->cpu_seconds;
    if (b->cpu_ns >= 0 && a->cpu_ns >= 0) {
      f.cpu_ns_seconds = static_cast<double>(a->cpu_ns - b->cpu_ns) / 1e9;
    }
  }
  return f;
}

// One server's rows; `key` "server" or "server2", `name` "server" or "server A"/"server B".
void add_server_rows(Report& report, const std::string& key, const std::string& name,
                     const std::optional<ProcessSample>& b, const std::optional<ProcessSample>& a,
                     double wall_seconds) {
  const ServerFigures f = figures(b, a);
  report.add(key + "_cpu_s", name + " CPU (utime+stime)", f.cpu_seconds, 3, "s");
  report.add(key + "_cpu_sched_s", name + " CPU (schedstat)", f.cpu_ns_seconds, 3, "s");
  report.add(key + "_cpu_util_pct", name + " CPU / wall time", 100 * f.cpu_seconds / wall_seconds,
             1, "% of one core");
  auto rss_mib = [](const std::optional<ProcessSample>& s) {
    return s && s->rss_kib >= 0 ? static_cast<double>(s->rss_kib) / 1024.0 : kNaN;
  };
  report.add(key + "_rss_before_mib", name + " RSS before", rss_mib(b), 1, "MiB");
  report.add(key + "_rss_after_mib", name + " RSS after", rss_mib(a), 1, "MiB");
}

}  // namespace

Snapshot snapshot(pid_t server_pid, bool two_servers, pid_t server2_pid) {
  Snapshot s;
  if (server_pid > 0) s.server = sample_process(server_pid);
  s.two_servers = two_servers;
  if (two_servers && server2_pid > 0) s.server2 = sample_process(server2_pid);
  s.own = sample_process(getpid());
  s.own_cpu_seconds = own_cpu_seconds();
  s.load_average = load_average();
  s.at = Clock::now();
  return s;
}

Interval interval(const Snapshot& before, const Snapshot& after) {
  Interval in;
  in.wall_seconds = std::chrono::duration<double>(after.at - before.at).count();
  in.own_cpu_seconds = after.own_cpu_seconds - before.own_cpu_seconds;
  in.own_wait_seconds = waited(before.own, after.own);
  const ServerFigures a = figures(before.server, after.server);
  in.server_cpu_seconds = a.cpu_seconds;
  in.server_cpu_ns_seconds = a.cpu_ns_seconds;
  in.server_wait_seconds = a.wait_seconds;
  in.two_servers = before.two_servers;
  const ServerFigures b =
      before.two_servers ? figures(before.server2, after.server2) : ServerFigures{};
  in.server2_cpu_seconds = b.cpu_seconds;
  in.server2_cpu_ns_seconds = b.cpu_ns_seconds;
  in.server2_wait_seconds = b.wait_seconds;
  return in;
}

void add_machine_rows(Report& report, const Snapshot& before, const Snapshot& after) {
  const Interval in = interval(before, after);
  const bool two = in.two_servers;
  report.section(two ? "server processes and machine, over the measured interval"
                     : "server process and machine, over the measured interval");
  add_server_rows(report, "server", two ? "server A" : "server", before.server, after.server,
                  in.wall_seconds);
  if (two) {
    add_server_rows(report, "server2", "server B", before.server2, after.server2, in.wall_seconds);
  }
  report.add("tool_cpu_util_pct", "parley-load CPU / wall time",
             100 * in.own_cpu_seconds / in.wall_seconds, 1, "% of one core");
  report.add("server_cpu_wait_pct",
             two ? "server A runnable, waiting for a CPU" : "server runnable, waiting for a CPU",
             100 * in.server_wait_seconds / in.wall_seconds, 1, "% of wall time");
  if (two) {
    report.add("server2_cpu_wait_pct", "server B runnable, waiting for a CPU",
               100 * in.server2_wait_seconds / in.wall_seconds, 1, "% of wall time");
  }
  report.add("tool_cpu_wait_pct", "parley-load runnable, waiting for a CPU",
             100 * in.own_wait_seconds / in.wall_seconds, 1, "% of wall time");
  auto cpu = [](const std::optional<ProcessSample>& s) { return s ? s->only_cpu : -1; };
  std::vector<Busy> servers;
  servers.push_back(
      {two ? "server A" : "server", in.server_cpu_seconds / in.wall_seconds, cpu(after.server)});
  if (two) {
    servers.push_back({"server B", in.server2_cpu_seconds / in.wall_seconds, cpu(after.server2)});
  }
  const Busy tool{"parley-load", in.own_cpu_seconds / in.wall_seconds, cpu(after.own)};
  report.add("saturated", "saturated (busy >= 95% of the time)",
             saturated_processes(servers, tool));
  report.add("load_before", "load average before (1/5/15 min)", before.load_average);
  report.add("load_after", "load average after (1/5/15 min)", after.load_average);
}

void add_cpu_per_unit(Report& report, const std::string& key, const std::string& label,
                      const Interval& in, double units) {
  if (!in.two_servers) {
    report.add(key, label + " (utime+stime)", 1000 * in.server_cpu_seconds / units, 3, "ms");
    report.add(key + "_sched", label + " (schedstat)", 1000 * in.server_cpu_ns_seconds / units, 3,
               "ms");
    return;
  }
  // "server_cpu_ms_per_x" → "server2_cpu_ms_per_x", "servers_cpu_ms_per_x";
  // "server CPU per x" → "server A CPU per x", …
  const std::string rest_key = key.starts_with("server") ? key.substr(6) : "_" + key;
  const std::string rest_label = label.starts_with("server") ? label.substr(6) : " " + label;
  struct Row {
    std::string key;
    std::string label;
    double cpu_seconds;
    double cpu_ns_seconds;
  };
  const Row rows[] = {
      {key, "server A" + rest_label, in.server_cpu_seconds, in.server_cpu_ns_seconds},
      {"server2" + rest_key, "server B" + rest_label, in.server2_cpu_seconds,
       in.server2_cpu_ns_seconds},
      {"servers" + rest_key, "servers A+B" + rest_label,
       in.server_cpu_seconds + in.server2_cpu_seconds,
       in.server_cpu_ns_seconds + in.server2_cpu_ns_seconds},
  };
  for (const Row& r : rows) {
    report.add(r.key, r.label + " (utime+stime)", 1000 * r.cpu_seconds / units, 3, "ms");
  }
  for (const Row& r : rows) {
    report.add(r.key + "_sched", r.label + " (schedstat)", 1000 * r.cpu_ns_seconds / units, 3,
               "ms");
  }
}

}  // namespace parley::load
