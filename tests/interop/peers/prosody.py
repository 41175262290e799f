"""One Prosody 0.12 instance as a federation peer: its own config, data, log and harness module
in a directory of its own, bound to one loopback address, run in the foreground as root.

Tuning (docs/INTEROP.md explains each):
- name resolution: Prosody resolves through lua-unbound when it is installed (Debian only
  recommends lua5.4-unbound; install-deps.sh does not install recommends), otherwise through its
  own net.dns, which reads the hard-coded /etc/resolv.conf. Both are pointed at the test zone's
  dnsmasq: the `unbound` settings (forward + `local-zone: test. transparent`, because libunbound
  answers NXDOMAIN for the whole `.test` zone on its own), and mod_parley_harness, which replaces
  net.dns's default name servers with dnsmasq and turns off its random 0-1 s delay ("jitter")
  before each query;
- `network_settings = { nagle = false }`: Nagle on costs ~40 ms per round trip (delayed ACKs);
- no mod_limits, no mod_register, no offline storage: nothing throttles or stores for later;
- `ssl.cafile` is the only trust anchor (`capath` an empty directory);
- `s2s_require_encryption = true`; trust "ca": `s2s_secure_auth = true` and no mod_dialback,
  so only certificate authentication (SASL EXTERNAL) can succeed; trust "none": mod_dialback
  and `s2s_secure_auth = false`;
- mod_s2s_bidi (XEP-0288) when this Prosody has it;
- XEP-0368: `s2s_direct_tls_ports`; c2s STARTTLS with the test CA's certificate;
- mod_parley_harness logs every s2s authentication as one line,
  `parley-harness: s2s <incoming|outgoing> <remote domain> authenticated by <mechanism>`,
  from Prosody's own `s2s-authenticated` event: the tests read which mechanism was used."""
import os
import re

from .proc import Daemon, PeerError, run, tail, wait_for_port

MODULE_DIR = "/usr/lib/prosody/modules"

HARNESS_MODULE = r"""-- Written by tests/interop/peers/prosody.py: test instrumentation.
module:set_global();

-- Without lua-unbound, net.adns makes a net.dns resolver per lookup, and each reads its name
-- servers from /etc/resolv.conf: send them to the test zone's server instead.
local nameserver = module:get_option_string("parley_harness_nameserver");
local dns = require "net.dns";
local resolver_class = getmetatable(dns.resolver());
if nameserver and resolver_class then
	resolver_class.adddefaultnameservers = function (self)
		self:addnameserver(nameserver);
	end
	-- net.dns holds every query back by a random 0-1 s ("jitter"): up to seconds per new
	-- s2s connection (SRV, then A and AAAA). Not on loopback.
	resolver_class.jitter = false;
	resolver_class.retry_jitter = false;
end
local using_unbound = pcall(require, "lunbound");
module:log("info", "parley-harness: name server %s via %s", tostring(nameserver),
	using_unbound and "lua-unbound" or "net.dns");

local function log_auth(event)
	local session = event.session;
	module:log("info", "parley-harness: s2s %s %s authenticated by %s",
		tostring(session.direction), tostring(event.host), tostring(event.mechanism));
end

function module.add_host(module)
	module:hook("s2s-authenticated", log_auth, 100);
end
"""


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Prosody:
    kind = "prosody"

    def __init__(self, directory, domain, address, leaf, trust_file, trust, nameserver,
                 c2s_port=5222, s2s_port=5269, s2s_tls_port=5270, dialback=None,
                 log_level="debug", extra_global="", extra_host=""):
        self.dir = directory
        self.domain = domain
        self.address = address
        self.leaf = leaf
        self.trust_file = trust_file
        self.trust = trust
        self.nameserver = nameserver
        self.c2s_port = c2s_port
        self.s2s_port = s2s_port
        self.s2s_tls_port = s2s_tls_port
        self.dialback = (trust == "none") if dialback is None else dialback
        self.log_level = log_level
        self.extra_global = extra_global
        self.extra_host = extra_host
        self.config_path = os.path.join(directory, "prosody.cfg.lua")
        self.log_path = os.path.join(directory, "prosody.log")
        self.daemon = None
        self.abort = None   # a threading.Event that ends a start() in progress (Federation)

    def has_bidi(self):
        return os.path.exists(os.path.join(MODULE_DIR, "mod_s2s_bidi.lua"))

    def write_config(self):
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        # Empty directories: certificates are configured by path below, and the trust anchors
        # are exactly the CA file (not also the system's /etc/ssl/certs).
        os.makedirs(os.path.join(self.dir, "certs"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "capath"), exist_ok=True)
        plugins = os.path.join(self.dir, "plugins")
        os.makedirs(plugins, exist_ok=True)
        with open(os.path.join(plugins, "mod_parley_harness.lua"), "w") as f:
            f.write(HARNESS_MODULE)
        modules = ["parley_harness", "roster", "saslauth", "tls", "disco", "ping"]
        if self.dialback:
            modules.append("dialback")
        if self.has_bidi():
            modules.append("s2s_bidi")
        addr = lua_string(self.address)
        text = """-- Written by tests/interop/peers/prosody.py for a test instance.
run_as_root = true
pidfile = {pid}
data_path = {data}
certificates = {certs}
plugin_paths = {{ {plugins} }}
log = {{ {{ levels = {{ min = {level} }}, to = "file", filename = {log} }} }}

interfaces = {{ {addr} }}
local_interfaces = {{ {addr} }}
c2s_ports = {{ {c2s} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ {s2s} }}
s2s_direct_tls_ports = {{ {s2s_tls} }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}

network_settings = {{ nagle = false }}
modules_enabled = {{ {modules} }}
modules_disabled = {{ "limits", "offline", "register", "admin_shell", "admin_socket" }}

authentication = "internal_hashed"
storage = "internal"
allow_registration = false
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = {secure}

ssl = {{ certificate = {cert}; key = {key}; cafile = {ca}; capath = {capath}; }}

-- Name resolution: the test zone's dnsmasq (mod_parley_harness covers the resolver used
-- when lua-unbound is missing).
parley_harness_nameserver = {ns}
unbound = {{
	resolvconf = false;
	hoststxt = false;
	forward = {ns};
	options = {{ ["local-zone:"] = "test. transparent" }};
}}
{extra_global}
VirtualHost {domain}
	ssl = {{ certificate = {cert}; key = {key}; }}
{extra_host}
""".format(pid=lua_string(os.path.join(self.dir, "prosody.pid")),
           data=lua_string(os.path.join(self.dir, "data")),
           certs=lua_string(os.path.join(self.dir, "certs")), plugins=lua_string(plugins),
           level=lua_string(self.log_level), log=lua_string(self.log_path), addr=addr,
           c2s=self.c2s_port, s2s=self.s2s_port,
           s2s_tls=self.s2s_tls_port if self.s2s_tls_port else "",
           modules=", ".join(lua_string(m) for m in modules),
           secure="true" if self.trust == "ca" else "false",
           cert=lua_string(self.leaf.chain), key=lua_string(self.leaf.key),
           ca=lua_string(self.trust_file),
           capath=lua_string(os.path.join(self.dir, "capath")), ns=lua_string(self.nameserver),
           extra_global=self.extra_global, domain=lua_string(self.domain),
           extra_host=self.extra_host)
        with open(self.config_path, "w") as f:
            f.write(text)

    def start(self):
        """Starts Prosody and waits until it listens for c2s and s2s."""
        self.write_config()
        self.daemon = Daemon("prosody " + self.domain,
                             ["prosody", "--config", self.config_path, "-F"],
                             os.path.join(self.dir, "prosody.out"), marker=self.config_path)
        for port in (self.c2s_port, self.s2s_port, self.s2s_tls_port):
            if port:
                wait_for_port(self.daemon, self.address, port, 30,
                              "Prosody log:\n" + tail(self.log_path), self.abort)

    def register(self, user, password):
        run(["prosodyctl", "--config", self.config_path, "register", user, self.domain,
             password], "prosodyctl register %s@%s" % (user, self.domain), timeout=60)

    def stop(self):
        daemon, self.daemon = self.daemon, None
        if daemon is not None:
            daemon.stop()

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    BIDI_LINE = {"Requested bidirectional stream": "incoming",
                 "Requesting bidirectional stream": "outgoing"}

    def bidi(self):
        """{(direction, remote domain)} of the s2s streams on which XEP-0288 (mod_s2s_bidi) was
        negotiated, from the debug log: "incoming" when the remote asked for it on the stream
        it opened, "outgoing" when this Prosody asked on its own. Each session logs under its
        own tag (s2sin…, s2sout…); the remote is the other domain the session's lines name."""
        sessions = {}   # tag -> [message]
        for line in self.log_text().splitlines():
            parts = line.split("\t", 2)
            if len(parts) == 3:
                sessions.setdefault(parts[0].rsplit(" ", 1)[-1], []).append(parts[2])
        found = set()
        for messages in sessions.values():
            directions = {self.BIDI_LINE[m] for m in messages if m in self.BIDI_LINE}
            if not directions:
                continue
            names = set()
            for m in messages:
                names.update(re.findall(r"(?:from|to)=['\"]([^'\"@/]+)['\"]", m))
                for a, b in re.findall(r"([\w.-]+)->([\w.-]+)", m):
                    names.update((a, b))
            for remote in names - {self.domain}:
                for direction in directions:
                    found.add((direction, remote))
        return found

    AUTH_LINE = re.compile(r"parley-harness: s2s (incoming|outgoing) (\S+) authenticated by (\S+)")

    def s2s_auth(self):
        """[(direction, remote domain, mechanism)] as logged: mechanism "external" or
        "dialback", direction "incoming" (the remote authenticated to us) or "outgoing"."""
        return [(m.group(1), m.group(2), m.group(3).lower())
                for m in self.AUTH_LINE.finditer(self.log_text())]
