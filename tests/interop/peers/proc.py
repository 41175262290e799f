"""Process helpers shared by the peer wrappers: every daemon runs in its own session (so its whole
process group can be signalled), output goes to a log file, and stopping escalates from SIGTERM
to SIGKILL of the group. A small state file remembers the groups that are running (and the
directories to remove), so that a run killed with SIGKILL has its leftovers stopped (and
removed) by the next run; it is deleted whenever nothing is running."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

STATE_DIR = "/tmp/parley-interop-peers"
STATE_FILE = os.path.join(STATE_DIR, "running.json")


class PeerError(Exception):
    """A peer did not start, or a command against it failed. The message carries log tails."""


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no %s)\n" % path


# The state file is read, changed and written back by several threads of one run (the peers
# start and stop in parallel): one at a time. Every change below holds this lock.
_STATE_LOCK = threading.RLock()


def _load_state():
    try:
        with open(STATE_FILE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save_state(state):
    if not state:
        # Nothing running: leave nothing behind.
        for remove in (lambda: os.remove(STATE_FILE), lambda: os.rmdir(STATE_DIR)):
            try:
                remove()
            except OSError:
                pass
        return
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = STATE_FILE + ".%d.%d" % (os.getpid(), threading.get_ident())
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, STATE_FILE)


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def _group_members(pgid):
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def reap_leftovers():
    """Stops the process groups an earlier run recorded and never removed (it was killed): those
    whose harness process is gone and one of whose members still names, in its command line,
    the directory it was started for; then removes such a run's directories (remember_dir)."""
    with _STATE_LOCK:
        state = _load_state()
        for key, entry in list(state.items()):
            owner = entry.get("owner")
            if owner is not None and _cmdline(owner) is not None:
                continue  # its harness still runs (maybe this process): not a leftover
            if "dir" in entry:
                continue  # directories go after the processes that use them
            pgid, marker = entry["pgid"], entry["marker"]
            if any(marker in (_cmdline(pid) or "") for pid in _group_members(pgid)):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                deadline = time.monotonic() + 5
                while _group_members(pgid) and time.monotonic() < deadline:
                    time.sleep(0.05)
            state.pop(key, None)
        for key, entry in list(state.items()):
            owner = entry.get("owner")
            if "dir" in entry and _cmdline(owner) is None:
                shutil.rmtree(entry["dir"], ignore_errors=True)
                state.pop(key, None)
        _save_state(state)


def remember_dir(path):
    """Notes a directory to be removed by reap_leftovers() should this process be killed."""
    with _STATE_LOCK:
        state = _load_state()
        state["dir:" + path] = {"dir": path, "owner": os.getpid()}
        _save_state(state)


def forget_dir(path):
    with _STATE_LOCK:
        state = _load_state()
        state.pop("dir:" + path, None)
        _save_state(state)


class Daemon:
    """One long-running process in its own session, its output in `log_path`."""

    def __init__(self, name, argv, log_path, marker, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     env=env, cwd=cwd)
        self.key = "%d-%s" % (self.proc.pid, name)
        try:
            with _STATE_LOCK:
                state = _load_state()
                state[self.key] = {"pgid": self.proc.pid, "marker": marker,
                                   "owner": os.getpid()}
                _save_state(state)
        except BaseException:
            # Nobody would ever stop it: the caller gets no Daemon.
            self.stop(graceful=False)
            raise

    def alive(self):
        return self.proc.poll() is None

    def check_alive(self, what):
        if not self.alive():
            raise PeerError("%s exited with %s while %s; its output:\n%s" % (
                self.name, self.proc.returncode, what, tail(self.log_path)))

    def stop(self, timeout=10, graceful=True):
        """SIGTERM to the group, SIGKILL to whatever is left after `timeout` seconds (at once
        when not `graceful`)."""
        pgid = self.proc.pid
        try:
            if self.alive() and graceful:
                try:
                    os.killpg(pgid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
            deadline = time.monotonic() + (timeout if graceful else 0)
            while _group_members(pgid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _group_members(pgid):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=10)
            deadline = time.monotonic() + 5
            while _group_members(pgid) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            self.log.close()
            with _STATE_LOCK:
                state = _load_state()
                state.pop(self.key, None)
                _save_state(state)


def wait_for_port(daemon, address, port, timeout, what=None, abort=None):
    """Waits until a TCP connection to address:port succeeds while the daemon keeps running
    (and `abort`, a threading.Event, is not set)."""
    deadline = time.monotonic() + timeout
    while True:
        if abort is not None and abort.is_set():
            raise PeerError("%s: start aborted" % daemon.name)
        daemon.check_alive("starting")
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise PeerError("%s: nothing listens on %s:%d after %ds (%s); its output:\n%s" % (
                daemon.name, address, port, timeout, what or "starting", tail(daemon.log_path)))
        time.sleep(0.05)


def run(argv, what, timeout=60, **kwargs):
    """Runs a short command; PeerError with its output when it fails."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL, **kwargs)
    except subprocess.TimeoutExpired as e:
        raise PeerError("%s: timed out after %ds: %s" % (what, timeout, e.output)) from None
    if result.returncode != 0:
        raise PeerError("%s failed (exit %d): %s %s" % (what, result.returncode, result.stdout,
                                                          result.stderr))
    return result.stdout


def port_is_free(address, port, kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(address):
    s = socket.socket()
    try:
        s.bind((address, 0))
        return s.getsockname()[1]
    finally:
        s.close()
