"""Runs the same parley-load scenarios against Parley, Prosody 0.12, ejabberd 23.01 and
parley-relay (a bare TLS relay: the ceiling), one server after another on loopback, each server
pinned to one core and parley-load to another, ROUNDS times, and prints a Markdown table of the
medians with Parley/peer ratios and every tuning applied. Started by bench/compare.sh, which
builds the binaries; see its header for the settings.

Per round and server: start it (data kept in WORK), run the scenarios in a fixed order, stop it.
Results: WORK/results.jsonl (one line per scenario run, written as it goes) and WORK/results.json
(settings, machine, versions, tunings, every run and the medians)."""
import argparse
import datetime
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import PeerError  # noqa: E402

ALL_SCENARIOS = ["logins", "idle", "messages", "rate", "presence"]
ALL_SERVERS = ["parley", "prosody", "ejabberd", "relay"]
PASSWORD = "parley-load-password"


def env(name, default):
    return os.environ.get(name, default)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    root = servers.ROOT
    p.add_argument("--build", default=env("BUILD", os.path.join(root, "build-bench")))
    p.add_argument("--work", default=env("WORK", None),
                   help="servers' data, logs, results (default BUILD/compare-work)")
    p.add_argument("--rounds", type=int, default=int(env("ROUNDS", "3")))
    p.add_argument("--servers", default=env("SERVERS", " ".join(ALL_SERVERS)))
    p.add_argument("--scenarios", default=env("SCENARIOS", " ".join(ALL_SCENARIOS)))
    p.add_argument("--server-cpu", type=int, default=int(env("SERVER_CPU", "0")))
    p.add_argument("--tool-cpu", type=int, default=int(env("TOOL_CPU", "1")))
    p.add_argument("--logins", type=int, default=int(env("LOGINS", "1000")))
    p.add_argument("--login-concurrency", type=int, default=int(env("LOGIN_CONCURRENCY", "20")))
    p.add_argument("--idle", type=int, default=int(env("IDLE", "5000")))
    p.add_argument("--idle-seconds", type=float, default=float(env("IDLE_SECONDS", "5")))
    p.add_argument("--clients", type=int, default=int(env("CLIENTS", "200")))
    p.add_argument("--window", type=int, default=int(env("WINDOW", "4")))
    p.add_argument("--seconds", type=float, default=float(env("DURATION", "10")))
    p.add_argument("--warmup", type=float, default=float(env("WARMUP", "2")))
    p.add_argument("--rate", type=float, default=float(env("RATE", "1000")))
    p.add_argument("--contacts", type=int, default=int(env("CONTACTS", "500")))
    p.add_argument("--changes", type=int, default=int(env("CHANGES", "20")))
    p.add_argument("--restart", choices=["scenario", "round"],
                   default=env("RESTART", "scenario"),
                   help="start each server afresh before every scenario (default), or once "
                   "per round")
    p.add_argument("--timeout", type=float, default=float(env("SCENARIO_TIMEOUT", "900")),
                   help="seconds one parley-load run may take")
    a = p.parse_args()
    a.work = os.path.abspath(a.work or os.path.join(a.build, "compare-work"))
    a.build = os.path.abspath(a.build)
    a.servers = a.servers.replace(",", " ").split()
    a.scenarios = a.scenarios.replace(",", " ").split()
    for s in a.servers:
        if s not in ALL_SERVERS:
            p.error("unknown server %r (known: %s)" % (s, " ".join(ALL_SERVERS)))
    for s in a.scenarios:
        if s not in ALL_SCENARIOS:
            p.error("unknown scenario %r (known: %s)" % (s, " ".join(ALL_SCENARIOS)))
    return a


def die_with_parent():
    """In the child before exec: SIGKILL when this script dies, even by SIGKILL (the servers'
    leftovers are stopped by the next run; a parley-load left running would load core 1)."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# --- parley-load --------------------------------------------------------------------------------
class Tool:
    def __init__(self, args):
        self.args = args
        self.binary = os.environ.get("PARLEY_LOAD") or \
            os.path.join(args.build, "bench", "load", "parley-load")
        self.proc = None

    def base(self, server):
        return ["--host", server.address, "--port", str(server.port), "--domain",
                servers.DOMAIN, "--users", "u", "--password", PASSWORD, "--mechanism",
                server.mechanism]

    def scenario_args(self, scenario):
        a = self.args
        if scenario == "logins":
            return ["--scenario", "logins", "--clients", str(a.logins),
                    "--login-concurrency", str(a.login_concurrency)]
        if scenario == "idle":
            return ["--scenario", "idle", "--clients", str(a.idle),
                    "--seconds", "%g" % a.idle_seconds]
        if scenario == "messages":
            return ["--scenario", "messages", "--clients", str(a.clients), "--window",
                    str(a.window), "--seconds", "%g" % a.seconds, "--warmup", "%g" % a.warmup]
        if scenario == "rate":
            # The stall probe (bench/load/stall_probe.hpp) watches both cores, so that the
            # table can show the latency of the messages no machine stall delayed.
            return ["--scenario", "messages", "--clients", str(a.clients), "--rate",
                    "%g" % a.rate, "--seconds", "%g" % a.seconds, "--warmup", "%g" % a.warmup,
                    "--stall-probe", "%d,%d" % (a.server_cpu, a.tool_cpu),
                    "--stall-period", "2"]
        if scenario == "presence":
            return ["--scenario", "presence", "--contacts", str(a.contacts), "--changes",
                    str(a.changes)]
        raise ValueError(scenario)

    def run(self, server, extra, log_prefix):
        """Runs parley-load pinned to the tool core; returns (rc, json or None, stderr tail,
        argv). Its table goes to WORK/logs/<log_prefix>.out, stderr to .err."""
        argv = ["taskset", "-c", str(self.args.tool_cpu), self.binary] + extra + \
            self.base(server) + ["--server-pid", str(server.pid)]
        logs = os.path.join(self.args.work, "logs")
        os.makedirs(logs, exist_ok=True)
        out_path = os.path.join(logs, log_prefix + ".out")
        err_path = os.path.join(logs, log_prefix + ".err")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         preexec_fn=die_with_parent)
            try:
                rc = self.proc.wait(timeout=self.args.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = "timeout"
            finally:
                self.proc = None
        result = None
        with open(out_path, errors="replace") as f:
            for line in f:
                if line.startswith("{"):
                    try:
                        result = json.loads(line)
                    except ValueError:
                        pass
        with open(err_path, errors="replace") as f:
            err_tail = "".join(f.readlines()[-12:])
        return rc, result, err_tail, argv

    def kill(self):
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()


# --- setup: certificate, accounts, rosters ---------------------------------------------------
def accounts_needed(a):
    return max(a.idle if "idle" in a.scenarios else 0,
               a.logins if "logins" in a.scenarios else 0,
               a.clients if {"messages", "rate"} & set(a.scenarios) else 0,
               a.contacts + 1 if "presence" in a.scenarios else 0, 2)


def say(text=""):
    print(text, flush=True)


def subscribed(directory, prefix, contacts):
    """An earlier run subscribed this many contacts or more to PREFIX1."""
    head = "subscribed-%s1-" % prefix
    for name in os.listdir(directory):
        if name.startswith(head) and name.endswith(".done"):
            try:
                if int(name[len(head):-len(".done")]) >= contacts:
                    return True
            except ValueError:
                pass
    return False


def setup(server, tool, args):
    """Accounts (once), a login check on the last two, and the rosters for `presence` (the
    `subscribe` scenario, once): the state stays in WORK for later runs."""
    prefix, count, _ = server.accounts
    sub_marker = os.path.join(server.dir, "subscribed-%s1-%d.done" % (prefix, args.contacts))
    need_subscribe = "presence" in args.scenarios and server.scenarios is None and \
        not subscribed(server.dir, prefix, args.contacts)
    if server.accounts_ready() and not need_subscribe:
        return
    started = time.monotonic()
    if not server.accounts_ready():
        say("%s: creating %d accounts %s1..%s%d" % (server.label, count, prefix, prefix, count))
        server.create_accounts_offline()
    server.start(setup=True)
    try:
        if not server.accounts_ready():
            server.create_accounts_online()
            # The copies/bulk-made accounts must work: log in the last two and exchange messages.
            rc, result, err, argv = tool.run(
                server, ["--scenario", "messages", "--clients", "2", "--first", str(count - 1),
                         "--seconds", "1", "--warmup", "0.2"], "%s-accounts-check" % server.name)
            if rc != 0:
                raise PeerError("%s: the accounts do not work (parley-load %s on %s%d..%s%d):\n%s"
                                % (server.label, rc, prefix, count - 1, prefix, count, err))
            with open(server.accounts_marker(), "w") as f:
                f.write("made %s\n" % datetime.datetime.now().isoformat())
            say("%s: accounts ready and checked (%s%d, %s%d log in) in %.0f s" % (
                server.label, prefix, count - 1, prefix, count, time.monotonic() - started))
        if need_subscribe:
            say("%s: subscribing %s2..%s%d to %s1 (parley-load --scenario subscribe)" % (
                server.label, prefix, prefix, args.contacts + 1, prefix))
            rc, result, err, argv = tool.run(
                server, ["--scenario", "subscribe", "--contacts", str(args.contacts)],
                "%s-subscribe" % server.name)
            if rc != 0:
                say("%s: subscribe FAILED (exit %s); presence will fail:\n%s" % (
                    server.label, rc, err))
            else:
                with open(sub_marker, "w") as f:
                    f.write(json.dumps(result) + "\n")
    finally:
        server.stop()


# --- the figures --------------------------------------------------------------------------------
# (scenario, JSON key, label, format, better): better "high" or "low".
FIGURES = [
    ("logins", "logins_per_s", "logins/s ({logins} clients, {login_concurrency} at once, "
     "SCRAM-SHA-1)", "{:,.0f}", "high"),
    ("logins", "server_cpu_ms_per_login", "server CPU per login", "{:.2f} ms", "low"),
    ("logins", "login_p99_ms", "login time p99", "{:.1f} ms", "low"),
    ("idle", "rss_kib_per_connection", "server RSS per idle connection ({idle} connections)",
     "{:.1f} KiB", "low"),
    ("messages", "msgs_per_s", "messages/s, closed loop ({clients} clients, window {window})",
     "{:,.0f}", "high"),
    ("messages", "msgs_per_server_cpu_s", "messages per server CPU-second, closed loop",
     "{:,.0f}", "high"),
    ("messages", "latency_p50_ms", "latency p50, closed loop", "{:.2f} ms", "low"),
    ("messages", "latency_p99_ms", "latency p99, closed loop", "{:.2f} ms", "low"),
    ("rate", "msgs_per_s", "messages/s delivered at {rate:g} msgs/s offered", "{:,.0f}", "high"),
    ("rate", "latency_p50_ms", "latency p50 at {rate:g} msgs/s", "{:.2f} ms", "low"),
    ("rate", "latency_p99_ms", "latency p99 at {rate:g} msgs/s", "{:.2f} ms", "low"),
    ("rate", "arrival_latency_p50_ms", "latency p50 at {rate:g} msgs/s, to the recipient's socket",
     "{:.3f} ms", "low"),
    ("rate", "arrival_latency_p99_ms", "latency p99 at {rate:g} msgs/s, to the recipient's socket",
     "{:.3f} ms", "low"),
    ("rate", "arrival_latency_p99_unstalled_ms", "latency p99 at {rate:g} msgs/s, to the "
     "recipient's socket, messages no machine stall overlapped", "{:.3f} ms", "low"),
    ("rate", "stall_ms", "machine stalls during the {rate:g} msgs/s runs, both cores",
     "{:.0f} ms", "none"),
    ("rate", "server_cpu_ms_per_1000_msgs", "server CPU per 1,000 messages at {rate:g} msgs/s",
     "{:.1f} ms", "low"),
    ("presence", "to_all_p50_ms", "presence to all {contacts} contacts, p50", "{:.2f} ms",
     "low"),
    ("presence", "to_all_p99_ms", "presence to all {contacts} contacts, p99", "{:.2f} ms",
     "low"),
    ("presence", "server_cpu_ms_per_change", "server CPU per presence change", "{:.2f} ms",
     "low"),
]


def figure(result, key):
    """A figure from parley-load's JSON. Server CPU comes from the per-thread schedstat sums
    (nanoseconds) where the tool reports them (key + "_sched"; for logins the plain key already
    is), not from utime+stime (clock ticks: 10 ms steps, too coarse for one presence change)."""
    if result is None:
        return None
    if key == "msgs_per_server_cpu_s":
        per_1000 = result.get("server_cpu_ms_per_1000_msgs_sched")
        if isinstance(per_1000, (int, float)) and per_1000 > 0:
            return 1e6 / per_1000
    value = result.get(key + "_sched", result.get(key))
    return value if isinstance(value, (int, float)) else None


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def medians(runs, server_names, rounds):
    """{(server, scenario, key): (median, successful rounds)}"""
    out = {}
    for server in server_names:
        for scenario, key, *_ in FIGURES:
            values = [figure(r["result"], key) for r in runs
                      if r["server"] == server and r["scenario"] == scenario and r["ok"]]
            values = [v for v in values if v is not None]
            out[(server, scenario, key)] = (median(values), len(values))
    return out


def table(args, runs, server_objs, tried):
    """The Markdown table: one row per figure, medians over the rounds."""
    names = [s.name for s in server_objs]
    labels = {s.name: s.label for s in server_objs}
    med = medians(runs, names, args.rounds)
    peers = [p for p in ("prosody", "ejabberd") if p in names and "parley" in names]
    header = ["figure"] + [labels[n] for n in names] + \
        ["Parley÷%s" % labels[p] for p in peers]
    lines = ["| " + " | ".join(header) + " |",
             "|---" + "|---:" * (len(header) - 1) + "|"]
    params = {"logins": args.logins, "login_concurrency": args.login_concurrency,
              "idle": args.idle, "clients": args.clients, "window": args.window,
              "rate": args.rate, "contacts": args.contacts}
    partial = False
    for scenario, key, label, fmt, better in FIGURES:
        if scenario not in args.scenarios:
            continue
        arrow = {"high": " ↑", "low": " ↓"}.get(better, "")
        row = [label.format(**params) + arrow]
        for n in names:
            value, count = med[(n, scenario, key)]
            if (n, scenario) not in tried:
                row.append("—")
            elif value is None:
                row.append("fail")
            else:
                cell = fmt.format(value)
                if count < args.rounds:
                    cell += " (%d/%d)" % (count, args.rounds)
                    partial = True
                row.append(cell)
        for p in peers:
            pv, _ = med[("parley", scenario, key)]
            qv, _ = med[(p, scenario, key)]
            if better == "none" or pv is None or qv is None or pv == 0 or qv == 0:
                row.append("—")
            else:
                ratio = pv / qv if better == "high" else qv / pv
                row.append("%.2f×" % ratio)
        lines.append("| " + " | ".join(row) + " |")
    notes = [
        "Medians of %d round(s). ↑ higher is better, ↓ lower is better. The ratio columns are "
        "oriented so that **> 1 means Parley is better** (Parley÷peer for ↑ figures, "
        "peer÷Parley for ↓ figures)." % args.rounds,
        ("Each scenario runs on a freshly started server (data kept), in the order of the "
         "table, server after server, round after round: what one scenario leaves behind (e.g. "
         "a heap grown by 5,000 connections) is not charged to the next. "
         if args.restart == "scenario" else
         "Each round starts each server once and runs the scenarios in the order of the table. ")
        + "Before each scenario the script waits until the server is idle (under 3 % of a core "
        "over 0.5 s, at most 60 s).",
        "Server CPU: the server process's threads' run time from /proc/PID/task/*/schedstat "
        "over the measured interval (beam.smp for ejabberd, the Lua process for Prosody).",
        "Machine stalls (rate scenario): parley-load's --stall-probe runs a SCHED_FIFO thread "
        "on each of the two cores that wakes every 2 ms; a wake-up more than 1 ms late means the "
        "core ran nothing at all (this VM's host gave its time to something else, and the guest "
        "reports no steal time). The \"no machine stall overlapped\" latency leaves out the "
        "messages whose send-to-arrival interval overlapped such a stall (the same rule for "
        "every server; parley-load prints how many were kept).",
        "\"fail\": the scenario failed in every round (see the log above and results.json); "
        "\"—\": not run for that server (the relay runs the messages scenarios only).",
    ]
    others = {}
    for r in runs:
        w = r.get("core_other_pct")
        if isinstance(w, (int, float)):
            others[r["server"]] = max(others.get(r["server"], 0), w)
    busy = {n: w for n, w in others.items() if w > 3}
    if busy:
        notes.append(
            "**Warning: the machine was not quiet.** Processes other than the server used up "
            "to %s of core %d during some scenario (/proc/stat minus the server's own time): "
            "these figures are not fit to publish. Run again on an idle machine." % (
                ", ".join("%.0f %% (%s)" % (w, labels[n]) for n, w in sorted(busy.items())),
                args.server_cpu))
    else:
        notes.append("Core %d was quiet: other processes used at most %.1f %% of it during any "
                     "scenario." % (args.server_cpu, max(others.values(), default=0)))
    if partial:
        notes.append("\"(k/%d)\": the median of the k rounds that succeeded." % args.rounds)
    return lines, notes


# --- machine and versions -----------------------------------------------------------------------
def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = "%.0f GiB" % (kb / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    os_name = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "memory": mem,
            "kernel": platform.release(), "os": os_name}


def cpu_busy_ticks(cpu):
    """Clock ticks core `cpu` spent running processes (user, nice, system) or stolen by the
    hypervisor, since boot, from /proc/stat. Not irq/softirq: the kernel's loopback TCP work for
    the benchmark's own traffic lands there."""
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu%d " % cpu):
                    v = [int(x) for x in line.split()[1:]]
                    return v[0] + v[1] + v[2] + v[7]
    except (OSError, ValueError):
        pass
    return None


def process_ticks(pid):
    """utime + stime of every thread of `pid`, in clock ticks (the units of /proc/stat)."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return total


class CoreWatch:
    """How much of the server's core something other than the server used while a scenario
    ran: a quiet machine shows ~0 %; a build or another benchmark shows up here."""

    def __init__(self, cpu, pid):
        self.cpu, self.pid = cpu, pid
        self.t0 = time.monotonic()
        self.busy0 = cpu_busy_ticks(cpu)
        self.server0 = process_ticks(pid)

    def other_pct(self):
        busy, server = cpu_busy_ticks(self.cpu), process_ticks(self.pid)
        wall = time.monotonic() - self.t0
        if None in (busy, server, self.busy0, self.server0) or wall <= 0:
            return None
        hz = os.sysconf("SC_CLK_TCK")
        return max(0.0, 100.0 * ((busy - self.busy0) - (server - self.server0)) / (wall * hz))


def quiesce(pid, limit_s=60.0, window_s=0.5, busy_pct=3.0):
    """Waits until the server is idle (under busy_pct of a core over window_s), at most
    limit_s: what the previous scenario left behind (5,000 connections closing, a garbage
    collector) must not be charged to the next. Returns the seconds waited."""
    hz = os.sysconf("SC_CLK_TCK")
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        a = process_ticks(pid)
        time.sleep(window_s)
        b = process_ticks(pid)
        if a is None or b is None or 100.0 * (b - a) / hz / window_s < busy_pct:
            break
    return time.monotonic() - start


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# --- main ---------------------------------------------------------------------------------------
def main():
    args = parse_args()
    command = os.environ.get("COMPARE_COMMAND") or " ".join(shlex.quote(a) for a in sys.argv)
    os.makedirs(args.work, exist_ok=True)
    os.chmod(args.work, 0o755)  # the ejabberd user must reach WORK/ejabberd
    servers.reap_leftovers()
    nofile = servers.raise_nofile()
    try:
        # This script (it mostly sleeps) stays off the servers' core.
        os.sched_setaffinity(0, {args.tool_cpu})
    except OSError:
        pass

    def terminate(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)  # also when started in the background (SIG_IGN)
    signal.signal(signal.SIGHUP, terminate)

    cert = servers.make_certificate(os.path.join(args.work, "cert"))
    count = accounts_needed(args)
    objs = []
    for name in args.servers:
        cls = servers.CLASSES[name]
        s = cls(args.work, servers.ADDRESSES[name], args.server_cpu, args.build, cert,
                ("u", count, PASSWORD), args.contacts)
        if name == "relay" and not s.available():
            say("relay: %s is not built: skipped" % s.binary())
            continue
        objs.append(s)
    tool = Tool(args)
    started_at = datetime.datetime.now().astimezone()
    info = {
        "date": started_at.isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        "versions": {s.name: s.version() for s in objs},
        "settings": {k: v for k, v in vars(args).items()},
        "accounts": "u1..u%d@%s, one password" % (count, servers.DOMAIN),
        "rlimit_nofile": nofile,
    }
    jsonl = os.path.join(args.work, "results.jsonl")
    open(jsonl, "w").close()
    runs = []
    tried = set()
    facts = {}
    current = [None]

    say("# Parley compared with Prosody, ejabberd and a bare TLS relay")
    say("Date:     %s" % info["date"])
    say("Command:  %s" % command)
    m = info["machine"]
    say("Machine:  %s, %d CPUs, %s, %s, kernel %s" % (m["cpu"], m["cpus"], m["memory"], m["os"],
                                                     m["kernel"]))
    for s in objs:
        say("Version:  %-8s %s" % (s.label, info["versions"][s.name]))
    say("Pinning:  servers taskset -c %d, parley-load taskset -c %d; RLIMIT_NOFILE %d for "
        "every server and parley-load" % (args.server_cpu, args.tool_cpu, nofile))
    say("Work:     %s (data kept between runs; results.jsonl, results.json, logs/)" % args.work)
    first_load = loadavg()
    try:
        if float(first_load.split()[0]) > 1.0:
            say("WARNING:  load average %s before the run: other processes are busy, figures "
                "will be unreliable" % first_load)
    except ValueError:
        pass
    say()
    try:
        for s in list(objs):
            current[0] = s
            try:
                setup(s, tool, args)
            except Exception as e:  # noqa: BLE001 - one server's failure leaves the others
                detail = getattr(e, "stderr", None) or ""
                say("%s: setup FAILED, left out of this run: %s %s" % (s.label, e, detail))
                objs.remove(s)
            current[0] = None
        for rnd in range(1, args.rounds + 1):
            for s in objs:
                scenarios = [sc for sc in args.scenarios
                             if s.scenarios is None or sc in s.scenarios]
                if not scenarios:
                    continue
                say("## round %d/%d: %s (%s:%d)" % (rnd, args.rounds, s.label, s.address,
                                                   s.port))
                # A fresh server for each scenario (default) or one for the whole round.
                groups = [[sc] for sc in scenarios] if args.restart == "scenario" \
                    else [scenarios]
                for group in groups:
                    current[0] = s
                    try:
                        s.start()
                    except PeerError as e:
                        say("%s did not start: %s" % (s.label, e))
                        for sc in group:
                            tried.add((s.name, sc))
                            rec = {"round": rnd, "server": s.name, "scenario": sc, "ok": False,
                                   "rc": "no server", "result": None, "stderr_tail": str(e)[-2000:]}
                            runs.append(rec)
                        continue
                    f = s.runtime_facts()
                    facts.setdefault(s.name, f)
                    say("%sserver pid %d (%s), open files limit %s, threads %s%s" % (
                        "" if len(groups) == 1 else "(fresh) ", s.pid, f.get("pid_comm"),
                        f.get("nofile"), f.get("threads"),
                        ", " + " ".join(f["scheduler_threads"]) if f.get("scheduler_threads")
                        else ""))
                    try:
                        for sc in group:
                            tried.add((s.name, sc))
                            waited = quiesce(s.pid)
                            before = loadavg()
                            t0 = time.monotonic()
                            watch = CoreWatch(args.server_cpu, s.pid)
                            rc, result, err, argv = tool.run(
                                s, tool.scenario_args(sc), "r%d-%s-%s" % (rnd, s.name, sc))
                            other = watch.other_pct()
                            ok = rc == 0 and result is not None
                            rec = {"round": rnd, "server": s.name, "scenario": sc, "ok": ok,
                                   "rc": rc, "load_before": before,
                                   "core_other_pct": None if other is None else round(other, 1),
                                   "quiesce_s": round(waited, 1),
                                   "seconds": round(time.monotonic() - t0, 1),
                                   "command": " ".join(shlex.quote(x) for x in argv),
                                   "result": result, "stderr_tail": None if ok else err}
                            runs.append(rec)
                            with open(jsonl, "a") as jf:
                                jf.write(json.dumps(rec) + "\n")
                            say("  %-9s load %s, others on core %d: %s, server idle after %.1f s;"
                                "  %s" % (sc, before, args.server_cpu,
                                          "?" if other is None else "%.0f%%" % other, waited,
                                          summary(sc, rec)))
                            if not ok:
                                say("    FAILED (exit %s): %s" % (
                                    rc, "\n    ".join(err.rstrip().splitlines()[-8:])))
                            if not s.daemon or not s.daemon.alive():
                                say("  %s exited; log tail:\n%s" % (s.label,
                                                                    servers.tail(s.log_path(), 15)))
                                break
                    finally:
                        s.stop()
                        current[0] = None
                say()
    except KeyboardInterrupt:
        say("\ninterrupted: stopping the servers")
        tool.kill()
        if current[0] is not None:
            current[0].stop(graceful=False)
        raise SystemExit(130)
    finally:
        tool.kill()
        for s in objs:
            if s.daemon is not None:
                s.stop(graceful=False)

    lines, notes = table(args, runs, objs, tried)
    say("## Results")
    say()
    say("\n".join(lines))
    say()
    for n in notes:
        say("- " + n)
    say()
    say("Machine: %s, %d CPUs, %s, kernel %s. Versions: %s. %s. Command: `%s`" % (
        m["cpu"], m["cpus"], m["memory"], m["kernel"],
        "; ".join("%s %s" % (s.label, info["versions"][s.name]) for s in objs), info["date"],
        command))
    say()
    say("## Tunings")
    tunings = {}
    for s in objs:
        t = s.tunings() + ["RLIMIT_NOFILE %d (raised by the script, inherited%s); seen in the "
                           "running server: %s" % (
                               nofile, "" if nofile >= 65536 else
                               "; 65536 asked for, but this machine's hard limit is %d" % nofile,
                               facts.get(s.name, {}).get("nofile"))]
        suites = sorted({r["result"].get("tls_suite") for r in runs
                         if r["server"] == s.name and r.get("result")
                         and r["result"].get("tls_suite")})
        if suites:
            t.append("TLS negotiated with parley-load (OpenSSL's client defaults; logins "
                     "scenario): " + ", ".join(suites))
        tunings[s.name] = t
        say("%s:" % s.label)
        for line in t:
            say("- " + line)
    tunings["parley-load"] = ["taskset -c %d, RLIMIT_NOFILE %d" % (args.tool_cpu, nofile)]
    say("parley-load: " + tunings["parley-load"][0])
    failed = [r for r in runs if not r["ok"]]
    med = medians(runs, [s.name for s in objs], args.rounds)
    info.update({
        "tunings": tunings,
        "runtime": facts,
        "medians": [{"server": srv, "scenario": sc, "key": key, "median": v, "rounds_ok": n}
                    for (srv, sc, key), (v, n) in med.items() if (srv, sc) in tried],
        "table_markdown": "\n".join(lines),
        "notes": notes,
        "runs": runs,
        "failed": len(failed),
        "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    })
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(info, f, indent=1)
    say()
    say("Results: %s (every run), %s (summary); %d scenario run(s) failed." % (
        jsonl, os.path.join(args.work, "results.json"), len(failed)))
    return 1 if failed else 0


def summary(scenario, rec):
    r = rec["result"] or {}
    if not rec["ok"]:
        return "fail (%ss)" % rec.get("seconds")
    keys = {"logins": ["logins_per_s", "login_p99_ms", "server_cpu_ms_per_login", "failed"],
            "idle": ["connections", "rss_kib_per_connection"],
            "messages": ["msgs_per_s", "latency_p50_ms", "latency_p99_ms",
                         "msgs_per_server_cpu_s", "lost"],
            "rate": ["offered_msgs_per_s", "msgs_per_s", "latency_p99_ms",
                     "arrival_latency_p99_ms", "arrival_latency_p99_unstalled_ms", "stall_ms",
                     "send_lag_p99_ms", "server_cpu_ms_per_1000_msgs"],
            "presence": ["to_all_p50_ms", "to_all_p99_ms", "server_cpu_ms_per_change"]}
    parts = []
    for k in keys.get(scenario, []):
        v = figure(r, k) if k.startswith("server_cpu") or k == "msgs_per_server_cpu_s" \
            else r.get(k)
        if isinstance(v, float):
            v = "%.4g" % v
        parts.append("%s=%s" % (k, v))
    return " ".join(parts) + " (%ss)" % rec.get("seconds")


if __name__ == "__main__":
    sys.exit(main())
