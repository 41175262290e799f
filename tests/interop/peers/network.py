"""A federation of XMPP servers on loopback for interop tests: Prosody 0.12 and ejabberd 23.01
from Debian, plus servers the caller runs itself (Parley), each on its own 127.0.0.x address,
with certificates from a private CA and a dnsmasq for the `.test` zone.

    from peers import Federation

    with Federation(workdir, trust="ca") as net:        # or trust="none"
        net.add_prosody("pros.test", "127.0.0.2")
        net.add_ejabberd("ejab.test", "127.0.0.3")
        net.add_external("parley.test", "127.0.0.4", s2s_port=5269, s2s_tls_port=5270)
        # (the CA exists from the constructor on, each certificate from its add_*() on)
        net.start()           # dnsmasq, then the peers (in parallel)
        # start Parley yourself with:
        #   net.cert_path("parley.test"), net.key_path("parley.test"),
        #   net.chain_path("parley.test") (leaf + CA), net.ca_file (the trust anchors of
        #   the mode), net.resolv_conf (a resolv.conf naming only the test zone's server),
        #   net.dns_address
        net.register("pros.test", "alice", "secret")
        host, port = net.c2s_address("pros.test")   # ("127.0.0.2", 5222), STARTTLS
        ...                   # clients verify c2s certificates with net.client_ca_file
        net.s2s_auth("ejab.test")   # [("incoming", "pros.test", "external"), ...]
        net.wait_s2s_auth("ejab.test", [("incoming", "parley.test", "dialback")])
    # leaving the block (or net.stop()) stops every process; workdir stays unless
    # remove_workdir=True (then also a killed run's workdir goes at the next start())

trust="ca": every server (and net.ca_file) trusts the test CA, so servers authenticate each
other with certificates (SASL EXTERNAL, XEP-0178); the peers have dialback turned off, so
nothing else can succeed. trust="none": net.ca_file is a CA that signed nothing, nobody can
validate anybody's certificate, the peers have dialback (XEP-0220) turned on and use it.
`dialback=True/False` overrides the peers' dialback in either mode.

ejabberd resolves the A records of SRV targets through libc, not through its inetrc (see
peers/hosts.py): by default (`name_isolation="auto"`) it runs in a private mount namespace
whose /etc/resolv.conf is net.resolv_conf; where that is not allowed (no CAP_SYS_ADMIN), the
federation's names go into /etc/hosts, marked, for the duration ("hosts" forces this).

Addresses and ports: each server gets its own address and the standard ports (c2s 5222, s2s
5269, XEP-0368 direct TLS s2s 5270), which DNS publishes as SRV records, `_xmpps-server` with
the better priority. 127.0.0.153:53 (UDP and TCP) is the test zone's name server: only one
federation can run at a time (ctest RESOURCE_LOCK loopback_peers).

Everything lives under workdir: pki/, dns/, and one directory per peer with its config, data
and logs (`net.server(domain).log_path`). The peers' processes run in their own process
groups and are killed as groups; a run that was itself killed leaves a note that lets the next
start() stop its leftovers (peers/proc.py). Only root can run this (port 53, setpriv)."""
import os
import shutil
import stat
import threading
import time

from .dns import DNS
from .ejabberd import Ejabberd
from .hosts import HostsEntries, mount_namespace_works, reap_stale_entries
from .pki import PKI
from .proc import PeerError, forget_dir, reap_leftovers, remember_dir, tail
from .prosody import Prosody


class External:
    """A server the caller starts: only DNS records and a certificate."""
    kind = "external"

    def __init__(self, domain, address, c2s_port, s2s_port, s2s_tls_port, leaf):
        self.domain = domain
        self.address = address
        self.c2s_port = c2s_port
        self.s2s_port = s2s_port
        self.s2s_tls_port = s2s_tls_port
        self.leaf = leaf


class Federation:
    def __init__(self, workdir, trust="ca", dns_address="127.0.0.153", dialback=None,
                 name_isolation="auto", remove_workdir=False):
        if trust not in ("ca", "none"):
            raise ValueError("trust must be 'ca' or 'none', not %r" % trust)
        if name_isolation not in ("auto", "namespace", "hosts"):
            raise ValueError("name_isolation must be 'auto', 'namespace' or 'hosts'")
        self.wanted_isolation = name_isolation
        self.dir = os.path.abspath(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.remove_workdir = remove_workdir
        if remove_workdir:
            remember_dir(self.dir)
        # The ejabberd user must reach its directory below this one.
        os.chmod(self.dir, os.stat(self.dir).st_mode | stat.S_IXOTH)
        self.trust = trust
        self.dialback = dialback
        self.dns_address = dns_address
        self.pki = PKI(os.path.join(self.dir, "pki"))
        self.dns = DNS(os.path.join(self.dir, "dns"), dns_address)
        self.servers = {}       # domain -> Prosody | Ejabberd | External, in order of adding
        self.started = False
        self.timings = {}
        self.name_isolation = None  # "namespace" | "hosts": how ejabberd's libc finds .test
        self.hosts_entries = None
        self.abort = threading.Event()  # set by stop(): ends starts still in progress
        self.stop_lock = threading.Lock()
        self.start_threads = []

    # --- the servers --------------------------------------------------------------------

    @property
    def ca_file(self):
        """The trust anchors servers get in this mode: the test CA ("ca") or a CA that signed
        nothing ("none")."""
        return self.pki.ca_cert if self.trust == "ca" else self.pki.untrusted_ca_cert

    @property
    def client_ca_file(self):
        """What test clients verify c2s certificates with: the test CA, in both modes."""
        return self.pki.ca_cert

    @property
    def resolv_conf(self):
        return self.dns.resolv_conf

    def _add(self, domain, address, c2s_port, s2s_port, s2s_tls_port, extra_names):
        if domain in self.servers:
            raise ValueError("%s is already in the federation" % domain)
        if self.started:
            raise RuntimeError("add servers before start()")
        self.dns.add_xmpp_server(domain, address, s2s_port, s2s_tls_port, c2s_port,
                                 extra_names)
        return self.pki.issue(domain)

    def _peer_dir(self, domain):
        path = os.path.join(self.dir, domain)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
        return path

    def add_prosody(self, domain, address, c2s_port=5222, s2s_port=5269, s2s_tls_port=5270,
                    extra_names=(), **options):
        """options: log_level ("debug"), extra_global / extra_host (Lua config text)."""
        leaf = self._add(domain, address, c2s_port, s2s_port, s2s_tls_port, extra_names)
        server = Prosody(self._peer_dir(domain), domain, address, leaf, self.ca_file,
                         self.trust, self.dns_address, c2s_port, s2s_port, s2s_tls_port,
                         dialback=self.dialback, **options)
        self.servers[domain] = server
        return server

    def add_ejabberd(self, domain, address, c2s_port=5222, s2s_port=5269, s2s_tls_port=5270,
                     extra_names=(), **options):
        """options: log_level ("info"), extra_yaml (top-level YAML appended to the config)."""
        leaf = self._add(domain, address, c2s_port, s2s_port, s2s_tls_port, extra_names)
        server = Ejabberd(self._peer_dir(domain), domain, address, leaf, self.ca_file,
                          self.trust, self.dns_address, c2s_port, s2s_port, s2s_tls_port,
                          dialback=self.dialback, node_name=domain.split(".")[0],
                          resolv_conf=self.dns.resolv_conf, **options)
        self.servers[domain] = server
        return server

    def add_external(self, domain, address, s2s_port=5269, s2s_tls_port=5270, c2s_port=5222,
                     extra_names=()):
        """A server the caller runs: DNS records and a certificate for it, nothing started.
        s2s_tls_port=None publishes no `_xmpps-server` record."""
        leaf = self._add(domain, address, c2s_port, s2s_port, s2s_tls_port, extra_names)
        server = External(domain, address, c2s_port, s2s_port, s2s_tls_port, leaf)
        self.servers[domain] = server
        return server

    def server(self, domain):
        return self.servers[domain]

    def cert_path(self, domain):
        return self.servers[domain].leaf.cert

    def key_path(self, domain):
        return self.servers[domain].leaf.key

    def chain_path(self, domain):
        return self.servers[domain].leaf.chain

    def c2s_address(self, domain):
        server = self.servers[domain]
        return server.address, server.c2s_port

    # --- running --------------------------------------------------------------------------

    def start(self):
        """dnsmasq, then every Prosody and ejabberd in parallel. On failure everything started
        is stopped again and PeerError says why (with log tails)."""
        reap_leftovers()
        self.started = True
        t0 = time.monotonic()
        try:
            self.dns.start()
            self.timings["dns"] = time.monotonic() - t0
            peers = [s for s in self.servers.values() if s.kind != "external"]
            reap_stale_entries()
            if any(s.kind == "ejabberd" for s in peers):
                if self.wanted_isolation == "namespace" or (
                        self.wanted_isolation == "auto" and mount_namespace_works()):
                    self.name_isolation = "namespace"
                    for s in peers:
                        if s.kind == "ejabberd":
                            s.isolate = True
                else:
                    self.name_isolation = "hosts"
                    self.hosts_entries = HostsEntries(self.dns.hosts)
                    self.hosts_entries.add()
            errors = []

            def start(server):
                t = time.monotonic()
                try:
                    server.start()
                    self.timings[server.domain] = time.monotonic() - t
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            threads = [threading.Thread(target=start, args=(s,)) for s in peers]
            self.start_threads = threads
            for s in peers:
                s.abort = self.abort
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - t0

    def register(self, domain, user, password):
        server = self.servers[domain]
        if server.kind == "external":
            raise ValueError("%s is run by the caller: register its users there" % domain)
        server.register(user, password)

    def register_many(self, accounts):
        """accounts: [(domain, user, password)]; each server's in parallel."""
        by_server = {}
        for domain, user, password in accounts:
            by_server.setdefault(domain, []).append((user, password))
        errors = []

        def one(domain, users):
            server = self.servers[domain]
            try:
                if hasattr(server, "register_many"):
                    server.register_many(users)
                else:
                    for user, password in users:
                        server.register(user, password)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=one, args=item) for item in by_server.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def s2s_auth(self, domain):
        """How s2s connections of a peer were authenticated, as its log shows so far:
        [(direction, remote domain, "external" | "dialback")], direction "incoming" (the
        remote authenticated to this peer) or "outgoing" (this peer to the remote)."""
        return self.servers[domain].s2s_auth()

    def wait_s2s_auth(self, domain, expected, timeout=10):
        """s2s_auth(domain) once every (direction, remote, mechanism) of `expected` is in it,
        or after `timeout` seconds (then the caller's check fails). ejabberd's logger writes
        lines up to seconds after the event."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.s2s_auth(domain)
            if all(e in found for e in expected) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def logs(self, lines=60):
        """The tail of every log, for a failure report."""
        parts = []
        for server in self.servers.values():
            if server.kind != "external":
                parts.append("--- %s (%s): %s ---\n%s" % (
                    server.domain, server.kind, server.log_path, tail(server.log_path, lines)))
        parts.append("--- dnsmasq ---\n" + tail(self.dns.log_path, lines))
        return "\n".join(parts)

    def stop(self):
        """Stops every peer (in parallel) and then dnsmasq; safe to call more than once, also
        from a signal handler's exception in the middle of start()."""
        self.abort.set()
        with self.stop_lock:
            self._stop()

    def _stop(self):
        for t in self.start_threads:
            t.join()
        errors = []

        def stop(server):
            try:
                server.stop()
            except Exception as e:  # noqa: BLE001 - stop the others first
                errors.append(e)

        threads = [threading.Thread(target=stop, args=(s,)) for s in self.servers.values()
                   if s.kind != "external"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        first = errors[0] if errors else None
        try:
            self.dns.stop()
        except Exception as e:  # noqa: BLE001
            first = first or e
        if self.hosts_entries is not None:
            try:
                self.hosts_entries.remove()
            except Exception as e:  # noqa: BLE001
                first = first or e
        if self.remove_workdir:
            shutil.rmtree(self.dir, ignore_errors=True)
            forget_dir(self.dir)
        if first is not None:
            raise first

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
