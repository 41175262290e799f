"""dnsmasq as the authoritative name server of the `.test` zone, on its own loopback address.

Nothing else on the machine is changed: /etc/resolv.conf and /etc/hosts stay as they are, and
each server is pointed at this one explicitly (Prosody through a harness module or its unbound
settings, ejabberd through its inetrc, Parley with a resolv.conf file). dnsmasq answers only
from its own records (`no-resolv`, `no-hosts`) and answers NXDOMAIN for every other `.test` name
(`local=/test/`); queries outside `.test` are refused for lack of an upstream.

Records per domain: an A record (`host-record`, also for extra names such as a MUC subdomain),
and for an s2s listener `_xmpp-server._tcp` (STARTTLS, priority 10) and `_xmpps-server._tcp`
(XEP-0368 direct TLS, priority 5: lower is preferred; with equal priorities ejabberd picks
5269), and `_xmpp-client._tcp` for c2s."""
import os
import random
import socket
import struct
import time

from .proc import Daemon, PeerError, port_is_free, tail


class DNS:
    def __init__(self, directory, address="127.0.0.153", port=53):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.address = address
        self.port = port
        self.conf_path = os.path.join(directory, "dnsmasq.conf")
        self.log_path = os.path.join(directory, "dnsmasq.log")
        self.resolv_conf = os.path.join(directory, "resolv.conf")
        self.hosts = []     # (name, address)
        self.srv = []       # (service, domain, target, port, priority, weight)
        self.daemon = None

    def add_host(self, name, address):
        self.hosts.append((name, address))

    def add_srv(self, service, domain, target, port, priority, weight=0):
        self.srv.append((service, domain, target, port, priority, weight))

    def add_xmpp_server(self, domain, address, s2s_port=5269, s2s_tls_port=5270,
                        c2s_port=None, extra_names=()):
        self.add_host(domain, address)
        for name in extra_names:
            self.add_host(name, address)
        if s2s_port:
            self.add_srv("_xmpp-server._tcp", domain, domain, s2s_port, 10)
        if s2s_tls_port:
            self.add_srv("_xmpps-server._tcp", domain, domain, s2s_tls_port, 5)
        if c2s_port:
            self.add_srv("_xmpp-client._tcp", domain, domain, c2s_port, 10)

    def start(self):
        if not port_is_free(self.address, self.port, socket.SOCK_DGRAM):
            raise PeerError("UDP %s:%d is taken (see `ss -lunp`): another DNS server or an "
                            "earlier run's dnsmasq" % (self.address, self.port))
        lines = [
            "port=%d" % self.port,
            "listen-address=" + self.address,
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "no-poll",
            "local=/test/",
            "cache-size=0",
            "log-queries",
            "log-facility=" + self.log_path,
        ]
        lines += ["host-record=%s,%s" % h for h in self.hosts]
        lines += ["srv-host=%s.%s,%s,%d,%d,%d" % s for s in self.srv]
        with open(self.conf_path, "w") as f:
            f.write("# Written by tests/interop/peers/dns.py\n" + "\n".join(lines) + "\n")
        with open(self.resolv_conf, "w") as f:
            f.write("# The test zone's name server (tests/interop/peers/dns.py)\n"
                    "nameserver %s\n" % self.address)
        self.daemon = Daemon("dnsmasq", [
            "dnsmasq", "--keep-in-foreground", "--conf-file=" + self.conf_path,
            "--pid-file=" + os.path.join(self.dir, "dnsmasq.pid"), "--user=root",
        ], os.path.join(self.dir, "dnsmasq.out"), marker=self.conf_path)
        deadline = time.monotonic() + 10
        name = self.hosts[0][0] if self.hosts else "ready.test"
        while True:
            self.daemon.check_alive("starting")
            try:
                if query(self.address, name, "A", self.port, timeout=0.3) is not None:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise PeerError("dnsmasq did not answer on %s:%d:\n%s%s" % (
                    self.address, self.port, tail(self.daemon.log_path), tail(self.log_path)))
            time.sleep(0.05)

    def stop(self):
        daemon, self.daemon = self.daemon, None
        if daemon is not None:
            daemon.stop()


TYPES = {"A": 1, "SRV": 33}


def query(server, name, rtype="A", port=53, timeout=1.0):
    """A minimal DNS client: the answers as strings ("127.0.0.2", "5 0 5270 pros.test"), [] for
    NXDOMAIN or no data, None when nothing answered in time."""
    qid = random.randrange(65536)
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        packet += bytes([len(label)]) + label.encode()
    packet += b"\0" + struct.pack("!HH", TYPES[rtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, port))
        try:
            data, _ = s.recvfrom(4096)
        except socket.timeout:
            return None
    rid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", data[:12])
    if rid != qid:
        return None
    offset = 12

    def skip_name(o):
        while True:
            n = data[o]
            if n == 0:
                return o + 1
            if n & 0xC0 == 0xC0:
                return o + 2
            o += n + 1

    def read_name(o):
        labels = []
        while True:
            n = data[o]
            if n == 0:
                break
            if n & 0xC0 == 0xC0:
                labels.append(read_name(((n & 0x3F) << 8) | data[o + 1]))
                break
            labels.append(data[o + 1:o + 1 + n].decode())
            o += n + 1
        return ".".join(labels)

    for _ in range(qd):
        offset = skip_name(offset) + 4
    answers = []
    for _ in range(an):
        offset = skip_name(offset)
        rtype_, _, _, length = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        rdata = data[offset:offset + length]
        if rtype_ == 1:
            answers.append(socket.inet_ntoa(rdata))
        elif rtype_ == 33:
            prio, weight, port_ = struct.unpack("!HHH", rdata[:6])
            answers.append("%d %d %d %s" % (prio, weight, port_, read_name(offset + 6)))
        offset += length
    return answers
