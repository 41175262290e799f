"""Parley with 1 and with 2 io threads ([server] threads), the closed-loop message storm of
bench/compare.sh (200 clients, 4 messages in flight each, 10 s after 2 s of warm-up), ROUNDS times
with the thread counts alternating, and a Markdown table of the medians. Started by
bench/threads.sh; the accounts and certificate are compare.sh's (WORK is shared with it).

A thread count only shows what it gains when the server can use the cores it has, so here the
server AND parley-load may run on every core given in CPUS (default "0,1"): on a 2-core machine
they compete, as they would not on a server with a client elsewhere. Besides messages/s and
messages per server CPU-second, the table gives each thread's CPU seconds (from
/proc/PID/task/*/stat over the whole run), which says where the work went."""
import argparse
import os
import statistics
import subprocess
import sys
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

PASSWORD = "parley-load-password"


class ParleyThreads(servers.Parley):
    """Parley's benchmark configuration of compare.sh plus `threads = N`."""

    def __init__(self, threads, *args):
        super().__init__(*args)
        self.threads = threads

    def write_config(self):
        super().write_config()
        with open(self.config_path()) as f:
            text = f.read()
        text = text.replace("[c2s]", "threads = %d\n\n[c2s]" % self.threads, 1)
        with open(self.config_path(), "w") as f:
            f.write(text)


def thread_cpu(pid):
    """CPU seconds of each thread of `pid`, by thread name, in thread id order."""
    out = []
    tick = os.sysconf("SC_CLK_TCK")
    task = "/proc/%d/task" % pid
    for tid in sorted(os.listdir(task), key=int):
        try:
            with open(os.path.join(task, tid, "comm")) as f:
                name = f.read().strip()
            with open(os.path.join(task, tid, "stat")) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out.append((name, (int(fields[11]) + int(fields[12])) / tick))
        except OSError:
            pass
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.environ.get("BUILD",
                                                     os.path.join(servers.ROOT, "build-bench")))
    p.add_argument("--work", default=os.environ.get("WORK"))
    p.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "3")))
    p.add_argument("--cpus", default=os.environ.get("CPUS", "0,1"))
    p.add_argument("--threads", default=os.environ.get("THREADS", "1 2"))
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--window", type=int, default=4)
    p.add_argument("--batch-writes", action="store_true",
                   default=os.environ.get("BATCH_WRITES", "") not in ("", "0"),
                   help="parley-load batches each client's writes (as a bot does): it then needs "
                        "far less CPU per message, which leaves the server room for a second "
                        "thread on a 2-core machine (BATCH_WRITES=1)")
    args = p.parse_args()
    work = args.work or os.path.join(args.build, "compare-work")
    os.makedirs(work, exist_ok=True)
    servers.reap_leftovers()
    servers.raise_nofile()
    cert = servers.make_certificate(os.path.join(work, "cert"))
    counts = [int(t) for t in args.threads.split()]
    load = os.path.join(args.build, "bench", "load", "parley-load")
    runs = {t: [] for t in counts}
    for rnd in range(args.rounds):
        for t in counts:
            s = ParleyThreads(t, work, servers.ADDRESSES["parley"], args.cpus, args.build, cert,
                              ("u", args.clients, PASSWORD), 0)
            if not s.accounts_ready():
                s.create_accounts_offline()
                open(s.accounts_marker(), "w").close()
            pid = s.start()
            try:
                argv = ["taskset", "-c", args.cpus, load, "--scenario", "messages", "--clients",
                        str(args.clients), "--window", str(args.window), "--seconds", "10",
                        "--warmup", "2", "--host", s.address, "--port", str(s.port), "--domain",
                        servers.DOMAIN, "--users", "u", "--password", PASSWORD, "--mechanism",
                        s.mechanism, "--server-pid", str(pid)]
                if args.batch_writes:
                    argv.append("--batch-writes")
                out = subprocess.run(argv, capture_output=True, text=True, timeout=300).stdout
                result = json.loads([line for line in out.splitlines()
                                     if line.startswith("{")][-1])
                result["threads_cpu"] = thread_cpu(pid)
            finally:
                s.stop()
            runs[t].append(result)
            print("round %d, %d thread(s): %.0f msgs/s, %.0f per server CPU-second, p99 %.1f ms; "
                  "parley-load %.0f%% busy; CPU-s by thread: %s" % (
                      rnd + 1, t, result["msgs_per_s"], result["msgs_per_server_cpu_s"],
                      result["latency_p99_ms"], result.get("tool_cpu_util_pct", float("nan")),
                      ", ".join("%s %.2f" % c for c in result["threads_cpu"])),
                  flush=True)

    def med(t, key):
        return statistics.median(r[key] for r in runs[t])
    base = counts[0]
    print()
    print("| io threads | messages/s | per server CPU-second | latency p99 | messages/s vs %d "
          "thread(s) |" % base)
    print("|---:|---:|---:|---:|---:|")
    for t in counts:
        print("| %d | %s | %s | %.1f ms | %.2f× |" % (
            t, "{:,.0f}".format(med(t, "msgs_per_s")),
            "{:,.0f}".format(med(t, "msgs_per_server_cpu_s")), med(t, "latency_p99_ms"),
            med(t, "msgs_per_s") / med(base, "msgs_per_s")))
    print()
    print("Server and parley-load both on CPUs %s; %d rounds, medians; %d clients, window %d%s." %
          (args.cpus, args.rounds, args.clients, args.window,
           "; client writes batched" if args.batch_writes else ""))


if __name__ == "__main__":
    main()
