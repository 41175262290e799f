"""ejabberd 23.01 resolves SRV records through Erlang's own resolver (its inetrc names the test
zone's server) but the A records of the SRV targets through libc (`net:getaddrinfo` in
xmpp_stream_out), that is through /etc/resolv.conf and /etc/hosts. Two ways to make libc find
the test zone, without changing the system for anything else:

1. preferred: run ejabberd in a private mount namespace (`unshare --mount`) in which the test's
   resolv.conf (`nameserver 127.0.0.153`) is bind-mounted over /etc/resolv.conf. Needs
   CAP_SYS_ADMIN (root on a VM, not a default Docker container);
2. otherwise: /etc/hosts entries for the federation's domains, each line ending in a marker
   comment with the harness's pid, removed at stop, and by the next run if this one was
   killed (lines whose pid is gone)."""
import os
import subprocess

HOSTS = "/etc/hosts"
MARKER = "# parley-interop-peers pid="


def mount_namespace_works():
    try:
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" /etc/resolv.conf', "/dev/null"],
            capture_output=True, timeout=10, stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def isolated(argv, resolv_conf):
    """argv run in a private mount namespace that sees resolv_conf as /etc/resolv.conf."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv_conf, *argv]


def _rewrite(keep):
    with open(HOSTS) as f:
        lines = f.readlines()
    kept = [line for line in lines if keep(line)]
    if kept != lines:
        # In place (not a rename): /etc/hosts may be a bind mount, as in containers.
        with open(HOSTS, "w") as f:
            f.writelines(kept)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def reap_stale_entries():
    def keep(line):
        if MARKER not in line:
            return True
        try:
            return _pid_alive(int(line.rsplit("=", 1)[1]))
        except ValueError:
            return False
    _rewrite(keep)


class HostsEntries:
    def __init__(self, entries):
        self.entries = entries      # [(name, address)]
        self.tag = "%s%d\n" % (MARKER, os.getpid())
        self.added = False

    def add(self):
        with open(HOSTS) as f:
            text = f.read()
        with open(HOSTS, "a") as f:
            if text and not text.endswith("\n"):
                f.write("\n")
            for name, address in self.entries:
                f.write("%s %s %s" % (address, name, self.tag))
        self.added = True

    def remove(self):
        if self.added:
            _rewrite(lambda line: not line.endswith(self.tag))
            self.added = False
