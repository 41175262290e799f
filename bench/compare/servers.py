"""The servers bench/compare.sh measures: Parley, Prosody 0.12, ejabberd 23.01 and parley-relay
(a bare TLS relay, the ceiling), each as its own instance in WORK/<name>/ (config, data, logs),
bound to its own loopback address, c2s STARTTLS with the same self-signed P-256 certificate for
`localhost`, logging at warn level, pinned to one core with `taskset` (inherited by every
process and thread it starts).

Each class knows how to write its benchmark configuration (c2s only), start and stop the
server, find the process whose CPU and memory parley-load reads (--server-pid), create the
benchmark accounts fast (once: the data stays in WORK between runs), and list every tuning
applied (`tunings()`), which the report prints.

Processes run through tests/interop/peers/proc.Daemon: own session (the whole process group is
stopped), recorded in a state file so that a run killed with SIGKILL has its servers stopped by
the next one (proc.reap_leftovers())."""
import http.client
import json
import os
import pwd
import resource
import shutil
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # nothing written under tests/
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))
from peers.proc import (Daemon, PeerError, _group_members, reap_leftovers, run,  # noqa: E402,F401
                        port_is_free, tail, wait_for_port)

DOMAIN = "localhost"


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def yaml_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def nofile_limit(pid):
    """The "Max open files" soft limit of a running process, from /proc/PID/limits."""
    try:
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
    except (OSError, ValueError, IndexError):
        pass
    return None


def threads(pid):
    try:
        return len(os.listdir("/proc/%d/task" % pid))
    except OSError:
        return None


def raise_nofile(wanted=65536):
    """Raises this process's RLIMIT_NOFILE (inherited by the servers and parley-load): to
    `wanted` if allowed, else to the hard limit. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in ((max(wanted, hard), max(wanted, hard)), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, target)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def make_certificate(directory):
    """One self-signed P-256 certificate for `localhost` shared by every server (the same key
    type everywhere: TLS handshakes cost the same). Made once."""
    os.makedirs(directory, exist_ok=True)
    crt = os.path.join(directory, DOMAIN + ".crt")
    key = os.path.join(directory, DOMAIN + ".key")
    pem = os.path.join(directory, DOMAIN + ".pem")
    if not (os.path.exists(crt) and os.path.exists(key) and os.path.exists(pem)):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", crt, "-days", "3650",
             "-subj", "/CN=" + DOMAIN, "-addext", "subjectAltName=DNS:" + DOMAIN],
            "openssl: self-signed certificate")
        with open(key) as k, open(crt) as c, open(pem, "w") as p:
            p.write(k.read() + c.read())
        os.chmod(key, 0o644)  # Prosody and ejabberd run as other users in some setups
        os.chmod(pem, 0o644)
    return crt, key, pem


class Server:
    """Common part: a Daemon pinned to `cpu`, its c2s port on `address`."""
    name = "?"
    label = "?"
    mechanism = "SCRAM-SHA-1"
    scenarios = None   # None: every scenario; else the only ones it can run

    def __init__(self, work, address, cpu, build, cert, accounts, contacts):
        self.dir = os.path.join(work, self.name)
        self.address = address
        self.port = 5222
        self.cpu = cpu
        self.build = build
        self.crt, self.key, self.pem = cert
        self.accounts = accounts    # (prefix, count, password)
        self.contacts = contacts
        self.daemon = None
        self.pid = None
        self.setup_mode = False
        os.makedirs(self.dir, exist_ok=True)

    # --- lifecycle -------------------------------------------------------------------------
    def argv(self):
        raise NotImplementedError

    def marker(self):
        raise NotImplementedError

    def env(self):
        return None

    def cwd(self):
        return self.dir

    def start(self, setup=False):
        self.setup_mode = setup
        self.write_config()
        if not port_is_free(self.address, self.port):
            raise PeerError("%s: %s:%d is taken by another process (a server not started by "
                            "this script?)" % (self.label, self.address, self.port))
        self.daemon = Daemon(self.name, ["taskset", "-c", str(self.cpu)] + self.argv(),
                             os.path.join(self.dir, self.name + ".out"), marker=self.marker(),
                             env=self.env(), cwd=self.cwd())
        try:
            wait_for_port(self.daemon, self.address, self.port, 90,
                          "log:\n" + tail(self.log_path()))
            self.after_start()
            self.pid = self.find_pid()
        except BaseException:
            self.stop(graceful=False)
            raise
        return self.pid

    def after_start(self):
        pass

    def find_pid(self):
        return self.daemon.proc.pid

    def stop(self, graceful=True):
        daemon, self.daemon = self.daemon, None
        self.pid = None
        if daemon is not None:
            daemon.stop(timeout=15, graceful=graceful)

    def log_path(self):
        return os.path.join(self.dir, self.name + ".out")

    def runtime_facts(self):
        """What the running server actually got: its open-files limit, threads, CPU mask."""
        pid = self.pid
        facts = {"pid_comm": comm(pid), "nofile": nofile_limit(pid), "threads": threads(pid)}
        try:
            facts["cpus_allowed"] = sorted(os.sched_getaffinity(pid))
        except OSError:
            pass
        return facts

    # --- accounts ------------------------------------------------------------------------
    def accounts_marker(self):
        prefix, count, password = self.accounts
        return os.path.join(self.dir, "accounts-%s-%d.done" % (prefix, count))

    def accounts_ready(self):
        """Made by an earlier run, this many or more."""
        prefix, count, _ = self.accounts
        head = "accounts-%s-" % prefix
        for name in os.listdir(self.dir):
            if name.startswith(head) and name.endswith(".done"):
                try:
                    if int(name[len(head):-len(".done")]) >= count:
                        return True
                except ValueError:
                    pass
        return False

    def create_accounts_offline(self):
        """Accounts written while the server is stopped (Parley, Prosody)."""

    def create_accounts_online(self):
        """Accounts created through the running server (ejabberd)."""

    def version(self):
        return dpkg_version(self.name)

    def tunings(self):
        return []


def dpkg_version(package):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def git_describe():
    try:
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        return out or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


# =================================================================================================
class Parley(Server):
    name = "parley"
    label = "Parley"

    def config_path(self):
        return os.path.join(self.dir, "parley.toml")

    def roster_limit(self):
        return max(1000, self.contacts + 1)

    def write_config(self):
        text = """# Written by bench/compare/servers.py: Parley's benchmark configuration.
data_dir = "data"
bind = "{addr}"
log_file = "parley.log"
log_level = "warn"
scram_iterations = 4096

[c2s]
port = {port}
tls_port = false

[limits]
# No rate limit.
stanzas_per_second = 0
max_roster_items = {roster}

[[host]]
domain = "{domain}"
certificate = "{crt}"
key = "{key}"
disabled_modules = ["offline"]

[s2s]
enabled = false
""".format(addr=self.address, port=self.port, roster=self.roster_limit(), domain=DOMAIN,
           crt=self.crt, key=self.key)
        with open(self.config_path(), "w") as f:
            f.write(text)

    def argv(self):
        return [os.path.join(self.build, "app", "parley"), "serve", "--config",
                self.config_path()]

    def marker(self):
        return self.config_path()

    def log_path(self):
        return os.path.join(self.dir, "parley.log")

    def create_accounts_offline(self):
        prefix, count, password = self.accounts
        self.write_config()
        subprocess.run([os.path.join(self.build, "bench", "load", "parley-load-accounts"),
                        "--data-dir", os.path.join(self.dir, "data"), "--domain", DOMAIN,
                        "--users", prefix, "--count", str(count)],
                       input=password + "\n", text=True, check=True, capture_output=True)

    def version(self):
        return git_describe()

    def tunings(self):
        return [
            "[limits] stanzas_per_second = 0 (no per-client rate limit; default 100/s)",
            "[limits] max_roster_items = %d (default 1000; the presence user has %d contacts)"
            % (self.roster_limit(), self.contacts),
            "disabled_modules = [\"offline\"] (as on Prosody and ejabberd; other modules: "
            "Parley's defaults)",
            "[s2s] enabled = false; [c2s] tls_port = false (STARTTLS on %s:%d only)"
            % (self.address, self.port),
            "scram_iterations = 4096 (the default), log_level = \"warn\"",
            "accounts written by parley-load-accounts into the data directory",
            "one process pinned with taskset -c %d" % self.cpu,
        ]


# =================================================================================================
class Prosody(Server):
    name = "prosody"
    label = "Prosody"
    MODULES = ["roster", "saslauth", "tls", "disco", "ping", "carbons", "private", "blocklist",
               "vcard", "version", "time", "lastactivity"]
    DISABLED = ["limits", "offline", "register", "admin_shell", "admin_socket", "s2s",
                "s2s_auth_certs"]

    def config_path(self):
        return os.path.join(self.dir, "prosody.cfg.lua")

    def data_dir(self):
        return os.path.join(self.dir, "data")

    def write_config(self):
        os.makedirs(self.data_dir(), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "certs"), exist_ok=True)
        addr = lua_string(self.address)
        text = """-- Written by bench/compare/servers.py: Prosody's benchmark configuration.
run_as_root = true
pidfile = {pid}
data_path = {data}
certificates = {certs}
log = {{ {{ levels = {{ min = "warn" }}, to = "file", filename = {log} }} }}

interfaces = {{ {addr} }}
local_interfaces = {{ {addr} }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ }}
s2s_direct_tls_ports = {{ }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}

network_settings = {{ nagle = false }}
modules_enabled = {{ {modules} }}
modules_disabled = {{ {disabled} }}

authentication = "internal_hashed"
default_iteration_count = 4096
storage = "internal"
allow_registration = false
c2s_require_encryption = true

ssl = {{ certificate = {crt}; key = {key}; }}

VirtualHost "{domain}"
	ssl = {{ certificate = {crt}; key = {key}; }}
""".format(pid=lua_string(os.path.join(self.dir, "prosody.pid")),
           data=lua_string(self.data_dir()), certs=lua_string(os.path.join(self.dir, "certs")),
           log=lua_string(self.log_path()), addr=addr, port=self.port,
           modules=", ".join(lua_string(m) for m in self.MODULES),
           disabled=", ".join(lua_string(m) for m in self.DISABLED),
           crt=lua_string(self.crt), key=lua_string(self.key), domain=DOMAIN)
        with open(self.config_path(), "w") as f:
            f.write(text)

    def argv(self):
        return ["prosody", "--config", self.config_path(), "-F"]

    def marker(self):
        return self.config_path()

    def log_path(self):
        return os.path.join(self.dir, "prosody.log")

    def find_pid(self):
        # taskset execs prosody, a `#!/usr/bin/env lua5.4` script: the same pid is the Lua VM.
        pid = self.daemon.proc.pid
        if not (comm(pid) or "").startswith("lua"):
            raise PeerError("Prosody: pid %d is %r, not the Lua interpreter" % (pid, comm(pid)))
        return pid

    def accounts_dir(self):
        # datamanager: data_path/<encoded host>/accounts/<encoded user>.dat; "localhost" and
        # "u123" contain only %w characters, which are not encoded.
        return os.path.join(self.data_dir(), DOMAIN, "accounts")

    def create_accounts_offline(self):
        """prosodyctl registers the first account (one Lua start, ~1 s each: thousands would
        take an hour); the others are copies of its file: same password, so the same salt,
        stored key and server key are valid for every name (the file holds no user name)."""
        prefix, count, password = self.accounts
        self.write_config()
        first = prefix + "1"
        run(["prosodyctl", "--config", self.config_path(), "register", first, DOMAIN, password],
            "prosodyctl register %s@%s" % (first, DOMAIN), timeout=120)
        source = os.path.join(self.accounts_dir(), first + ".dat")
        if not os.path.exists(source):
            raise PeerError("prosodyctl register did not write %s" % source)
        with open(source) as f:
            data = f.read()
        for i in range(2, count + 1):
            target = os.path.join(self.accounts_dir(), "%s%d.dat" % (prefix, i))
            with open(target, "w") as f:
                f.write(data)
            shutil.copystat(source, target)

    def version(self):
        return dpkg_version("prosody")

    def tunings(self):
        return [
            "network_settings = { nagle = false } (TCP_NODELAY; Nagle + delayed ACKs cost "
            "~40 ms a round trip)",
            "modules_disabled: %s (no rate limits, no in-band registration, no offline "
            "storage, no s2s)" % ", ".join(self.DISABLED),
            "modules_enabled: %s" % ", ".join(self.MODULES),
            "authentication = \"internal_hashed\", storage = \"internal\" (files), "
            "default_iteration_count = 4096 (as Parley and ejabberd; Prosody's default 10000)",
            "c2s_require_encryption = true, STARTTLS on %s:%d only, log level warn"
            % (self.address, self.port),
            "accounts: one prosodyctl register, its accounts/<user>.dat copied to the other "
            "names",
            "network backend: Prosody's default (epoll); one Lua process pinned with "
            "taskset -c %d" % self.cpu,
        ]


# =================================================================================================
EJABBERD_USER = "ejabberd"
ERL_OPTIONS = "+S 1:1 +SDcpu 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"


class Ejabberd(Server):
    name = "ejabberd"
    label = "ejabberd"
    MODULES = ["mod_disco", "mod_ping", "mod_roster", "mod_carboncopy", "mod_private", "mod_vcard",
               "mod_version", "mod_time", "mod_last", "mod_privacy", "mod_blocking"]
    API_PORT = 5280

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.etc = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.logs = os.path.join(self.dir, "logs")
        self.node = "ejabberd-bench@" + self.address

    def config_path(self):
        return os.path.join(self.etc, "ejabberd.yml")

    def ctl_config_path(self):
        return os.path.join(self.etc, "ejabberdctl.cfg")

    def _ctl(self, *args):
        # setpriv, not su: no PAM session, so the instance keeps this process's rlimits.
        return ["setpriv", "--reuid=" + EJABBERD_USER, "--regid=" + EJABBERD_USER,
                "--init-groups", "ejabberdctl", "--config-dir", self.etc,
                "--config", self.config_path(), "--ctl-config", self.ctl_config_path(),
                "--logs", self.logs, "--spool", self.spool, "--node", self.node, *args]

    def env(self):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.dir, "LANG": "C.UTF-8",
                "EJABBERD_BYPASS_WARNINGS": "true"}

    def cwd(self):
        return self.spool

    def write_config(self):
        from peers.proc import free_port
        for d in (self.etc, self.spool, self.logs):
            os.makedirs(d, exist_ok=True)
        certfile = os.path.join(self.etc, DOMAIN + ".pem")
        shutil.copyfile(self.pem, certfile)
        os.chmod(certfile, 0o600)
        a, b, c, d = self.address.split(".")
        with open(os.path.join(self.etc, "inetrc"), "w") as f:
            f.write("{lookup, [file]}.\n")  # loopback only: no DNS
        with open(os.path.join(self.etc, "vm.args"), "w") as f:
            f.write("-setcookie parley_bench_%s\n"
                    "-kernel inet_default_listen_options [{nodelay,true}]\n"
                    "-kernel inet_default_connect_options [{nodelay,true}]\n"
                    "-kernel inet_dist_use_interface {%s,%s,%s,%s}\n"
                    % (os.urandom(8).hex(), a, b, c, d))
        with open(self.ctl_config_path(), "w") as f:
            f.write("# Written by bench/compare/servers.py\n"
                    "ERL_DIST_PORT=%d\n"
                    "ERL_OPTIONS=\"%s\"\n"
                    "EJABBERD_BYPASS_WARNINGS=true\n" % (free_port(self.address), ERL_OPTIONS))
        api_listener = ""
        if self.setup_mode:
            api_listener = """  -
    port: {api}
    ip: {addr}
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
""".format(api=self.API_PORT, addr=yaml_string(self.address))
        text = """# Written by bench/compare/servers.py: ejabberd's benchmark configuration.
hosts:
  - {domain}
loglevel: warning
log_rotate_count: 0
certfiles:
  - {certfile}
listen:
  -
    port: {port}
    ip: {addr}
    module: ejabberd_c2s
    starttls_required: true
    shaper: none
    max_stanza_size: 262144
{api_listener}auth_method:
  - internal
auth_password_format: scram
acl:
  local:
    user_regexp: ""
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  local:
    allow: local
  c2s:
    allow: all
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
  "benchmark account creation":
    from:
      - mod_http_api
    who:
      acl: loopback
    what:
      - register
shaper_rules:
  max_user_sessions: 10
  c2s_shaper: none
  s2s_shaper: none
max_fsm_queue: 100000
modules:
{modules}
""".format(domain=yaml_string(DOMAIN), certfile=yaml_string(certfile), port=self.port,
           addr=yaml_string(self.address), api_listener=api_listener,
           modules="\n".join("  %s: {}" % m for m in self.MODULES + (
               ["mod_http_api"] if self.setup_mode else [])))
        with open(self.config_path(), "w") as f:
            f.write(text)
        user = pwd.getpwnam(EJABBERD_USER)
        for root, dirs, files in os.walk(self.dir):
            os.chown(root, user.pw_uid, user.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)

    def argv(self):
        return self._ctl("foreground")

    def marker(self):
        return self.spool

    def log_path(self):
        return os.path.join(self.logs, "ejabberd.log")

    def after_start(self):
        if self.setup_mode:
            wait_for_port(self.daemon, self.address, self.API_PORT, 60, "HTTP API")

    def find_pid(self):
        # setpriv → ejabberdctl (sh) → erl → beam.smp: the VM is the process to measure.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for pid in _group_members(self.daemon.proc.pid):
                if comm(pid) == "beam.smp":
                    return pid
            time.sleep(0.1)
        raise PeerError("ejabberd: no beam.smp process in its process group")

    def runtime_facts(self):
        facts = super().runtime_facts()
        try:
            names = set()
            for t in os.listdir("/proc/%d/task" % self.pid):
                with open("/proc/%d/task/%s/comm" % (self.pid, t)) as f:
                    names.add(f.read().strip())
            facts["scheduler_threads"] = sorted(n for n in names if n.endswith("_scheduler"))
        except OSError:
            pass
        return facts

    def create_accounts_online(self):
        """POST /api/register (mod_http_api) on keep-alive connections, four at a time; an
        existing account answers 409 and counts as done."""
        prefix, count, password = self.accounts
        names = ["%s%d" % (prefix, i) for i in range(1, count + 1)]
        errors = []

        def worker(part):
            conn = http.client.HTTPConnection(self.address, self.API_PORT, timeout=60)
            for user in part:
                body = json.dumps({"user": user, "host": DOMAIN, "password": password})
                conn.request("POST", "/api/register", body,
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                text = resp.read().decode(errors="replace")
                if resp.status not in (200, 409):
                    errors.append("register %s: HTTP %d %s" % (user, resp.status, text))
                    return
            conn.close()

        parts = [names[i::4] for i in range(4)]
        workers = [threading.Thread(target=worker, args=(p,)) for p in parts]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if errors:
            raise PeerError("ejabberd account creation: " + errors[0])

    def stop(self, graceful=True):
        super().stop(graceful=graceful)

    def version(self):
        return "%s (Erlang/OTP erlang-base %s)" % (dpkg_version("ejabberd"),
                                                    dpkg_version("erlang-base"))

    def tunings(self):
        return [
            "listener shaper: none; shaper_rules c2s_shaper: none, s2s_shaper: none "
            "(the shipped config limits c2s to 3000 B/s)",
            "no mod_fail2ban, no mod_register, no mod_offline, no mod_stream_mgmt; modules: %s"
            % ", ".join(self.MODULES),
            "auth_method: internal (Mnesia), auth_password_format: scram (SCRAM-SHA-1, 4096 "
            "iterations, ejabberd's default)",
            "max_fsm_queue: 100000, max_user_sessions: 10, max_stanza_size: 262144",
            "vm.args: -kernel inet_default_listen_options/connect_options [{nodelay,true}] "
            "(TCP_NODELAY on every socket)",
            "ERL_OPTIONS=\"%s\": under taskset -c N the VM already starts 2 schedulers "
            "with 1 online (and 2 dirty-CPU schedulers, 1 online); +S 1:1 +SDcpu 1:1 makes "
            "that exactly one of each, and +sbwt* none stops schedulers spinning while idle "
            "(spinning would count as server CPU time)"
            % ERL_OPTIONS,
            "ejabberdctl defaults kept: +K true, ERL_MAX_PORTS=32000, +P 250000",
            "run as the ejabberd user through setpriv (keeps the open-files limit), Erlang "
            "distribution without epmd (ERL_DIST_PORT)",
            "accounts: created once through mod_http_api /api/register (an ejabberd_http "
            "listener present only while accounts are made)",
            "starttls_required: true on %s:%d, loglevel: warning; pinned with taskset -c %d "
            "(inherited by beam.smp and all its threads)" % (self.address, self.port, self.cpu),
        ]


# =================================================================================================
class Relay(Server):
    name = "relay"
    label = "relay"
    mechanism = "PLAIN"
    scenarios = ("messages", "rate")

    def binary(self):
        return os.environ.get("PARLEY_RELAY") or \
            os.path.join(self.build, "bench", "relay", "parley-relay")

    def available(self):
        return os.access(self.binary(), os.X_OK)

    def write_config(self):
        pass

    def argv(self):
        return [self.binary(), "--bind", self.address, "--port", str(self.port),
                "--port-file", os.path.join(self.dir, "port"), "--cert", self.crt,
                "--key", self.key]

    def marker(self):
        return os.path.join(self.dir, "port")

    def accounts_ready(self):
        return True

    def version(self):
        return git_describe()

    def tunings(self):
        return [
            "parley-relay: accepts any SASL PLAIN login, relays messages only (the ceiling: "
            "TLS + XML framing, no server logic); runs the two messages scenarios only",
            "same certificate as the others; one process pinned with taskset -c %d" % self.cpu,
        ]


CLASSES = {"parley": Parley, "prosody": Prosody, "ejabberd": Ejabberd, "relay": Relay}
ADDRESSES = {"parley": "127.0.0.41", "prosody": "127.0.0.42", "ejabberd": "127.0.0.43",
             "relay": "127.0.0.44"}
