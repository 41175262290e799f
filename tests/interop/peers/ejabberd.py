"""One ejabberd 23.01 instance as a federation peer: config, spool (Mnesia), logs and certificates
in a directory of its own, bound to one loopback address.

It runs through Debian's `ejabberdctl ... foreground`, as the `ejabberd` user: ejabberdctl
refuses root and would switch with `su`, whose PAM session lowers the open-files limit to 1024;
`setpriv` switches without PAM, so the instance keeps the test's limits. The directory is
owned by `ejabberd` for that reason.

Tuning (docs/INTEROP.md explains each):
- Erlang distribution without epmd (`ERL_DIST_PORT` in ejabberdctl.cfg, a free port, listening on
  the instance's address only) and a cookie in vm.args: nothing touches /var/lib/ejabberd's
  cookie or a system epmd; the node is named `<name>@<address>`;
- TCP_NODELAY on every socket (`-kernel inet_default_{listen,connect}_options` in vm.args):
  ejabberd sets no socket option for it, and Nagle + delayed ACKs cost ~40 ms a round trip;
- name resolution, SRV: an `inetrc` (ejabberdctl passes `$CONFIG_DIR/inetrc` as ERL_INETRC) with the
  test zone's dnsmasq as the only name server (after `{resolv_conf, ""}`: a resolv_conf line
  read later would replace it) and `{lookup, [file, dns]}`; A/AAAA of the SRV targets: libc
  (`net:getaddrinfo`), so the instance runs in a mount namespace where the test's resolv.conf
  is /etc/resolv.conf, or (without CAP_SYS_ADMIN) with marked /etc/hosts lines (hosts.py);
- no shapers (`shaper: none`, `c2s_shaper`/`s2s_shaper: none`), no mod_fail2ban, no
  mod_register, no offline storage;
- `s2s_use_starttls: required`, `ca_file:` the trust anchors of the mode; trust "ca": no
  mod_s2s_dialback, so certificate authentication (SASL EXTERNAL) is the only way in; trust
  "none": mod_s2s_dialback;
- `outgoing_s2s_ipv4_address`: outgoing s2s leaves from the instance's own address;
  `outgoing_s2s_families: [ipv4]`; `s2s_max_retry_delay: 2`: a failed outgoing connection is
  retried after 2 s, not 5 minutes;
- XEP-0368: a direct-TLS `ejabberd_s2s_in` listener (`tls: true`) beside the STARTTLS one.

ejabberd logs every s2s authentication at info level as `Accepted inbound s2s <mechanism>
authentication <remote> -> <local>` (and `Accepted outbound ... <local> -> <remote>`):
`s2s_auth()` reads them."""
import os
import pwd
import re
import shutil
import threading

from .hosts import isolated
from .proc import Daemon, PeerError, free_port, run, tail, wait_for_port

USER = "ejabberd"


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Ejabberd:
    kind = "ejabberd"

    def __init__(self, directory, domain, address, leaf, trust_file, trust, nameserver,
                 c2s_port=5222, s2s_port=5269, s2s_tls_port=5270, dialback=None,
                 log_level="info", extra_yaml="", node_name="ejabberd", resolv_conf=None):
        self.dir = directory
        self.domain = domain
        self.address = address
        self.leaf = leaf
        self.trust_source = trust_file
        self.trust = trust
        self.nameserver = nameserver
        self.c2s_port = c2s_port
        self.s2s_port = s2s_port
        self.s2s_tls_port = s2s_tls_port
        self.dialback = (trust == "none") if dialback is None else dialback
        self.log_level = log_level
        self.extra_yaml = extra_yaml
        self.node = "%s@%s" % (node_name, address)
        # libc name resolution (see hosts.py): run in a mount namespace that sees this file as
        # /etc/resolv.conf when `isolate` is set (Federation.start decides).
        self.resolv_conf = resolv_conf
        self.isolate = False
        self.etc = os.path.join(directory, "etc")
        self.spool = os.path.join(directory, "spool")
        self.logs = os.path.join(directory, "logs")
        self.config_path = os.path.join(self.etc, "ejabberd.yml")
        self.ctl_config_path = os.path.join(self.etc, "ejabberdctl.cfg")
        self.log_path = os.path.join(self.logs, "ejabberd.log")
        self.daemon = None
        self.abort = None   # a threading.Event that ends a start() in progress (Federation)
        self.ready = False  # listeners up

    # The ejabberdctl command line, run as the ejabberd user (without PAM, keeping rlimits).
    def _ctl(self, *args):
        return ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                "ejabberdctl", "--config-dir", self.etc, "--config", self.config_path,
                "--ctl-config", self.ctl_config_path, "--logs", self.logs,
                "--spool", self.spool, "--node", self.node, *args]

    def _env(self):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.dir, "LANG": "C.UTF-8",
                "EJABBERD_BYPASS_WARNINGS": "true"}

    def write_config(self):
        for d in (self.etc, self.spool, self.logs):
            os.makedirs(d, exist_ok=True)
        certfile = os.path.join(self.etc, self.domain + ".pem")
        shutil.copyfile(self.leaf.pem, certfile)
        os.chmod(certfile, 0o600)
        trustfile = os.path.join(self.etc, "trust.pem")
        shutil.copyfile(self.trust_source, trustfile)
        a, b, c, d = self.address.split(".")
        ns = ",".join(self.nameserver.split("."))
        with open(os.path.join(self.etc, "inetrc"), "w") as f:
            # Order matters: setting resolv_conf (re)reads it and replaces the name servers.
            f.write("%% Written by tests/interop/peers/ejabberd.py\n"
                    "{resolv_conf, \"\"}.\n"
                    "{nameserver, {%s}, 53}.\n"
                    "{lookup, [file, dns]}.\n" % ns)
        with open(os.path.join(self.etc, "vm.args"), "w") as f:
            f.write("-setcookie parley_interop_%s\n"
                    "-kernel inet_default_listen_options [{nodelay,true}]\n"
                    "-kernel inet_default_connect_options [{nodelay,true}]\n"
                    "-kernel inet_dist_use_interface {%s,%s,%s,%s}\n"
                    % (os.urandom(8).hex(), a, b, c, d))
        with open(self.ctl_config_path, "w") as f:
            f.write("# Written by tests/interop/peers/ejabberd.py\n"
                    "ERL_DIST_PORT=%d\n"
                    "EJABBERD_BYPASS_WARNINGS=true\n" % free_port(self.address))
        modules = ["mod_disco", "mod_ping", "mod_roster"]
        if self.dialback:
            modules.append("mod_s2s_dialback")
        listen = [
            ("ejabberd_c2s", self.c2s_port, ["starttls_required: true"]),
            ("ejabberd_s2s_in", self.s2s_port, []),
        ]
        if self.s2s_tls_port:
            listen.append(("ejabberd_s2s_in", self.s2s_tls_port, ["tls: true"]))
        listeners = ""
        for module, port, extra in listen:
            listeners += ("  -\n    port: %d\n    ip: %s\n    module: %s\n    shaper: none\n"
                          "    max_stanza_size: 1048576\n" % (port, _quote(self.address), module))
            listeners += "".join("    %s\n" % e for e in extra)
        text = """# Written by tests/interop/peers/ejabberd.py for a test instance.
hosts:
  - {domain}
loglevel: {level}
log_rotate_count: 0
hide_sensitive_log_data: false
certfiles:
  - {certfile}
ca_file: {trustfile}
listen:
{listeners}
s2s_use_starttls: required
s2s_access: s2s
s2s_dns_timeout: 2
s2s_dns_retries: 1
s2s_max_retry_delay: 2
outgoing_s2s_families:
  - ipv4
outgoing_s2s_ipv4_address: {address}
auth_method:
  - internal
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  s2s:
    allow: all
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
shaper_rules:
  max_user_sessions: 10
  c2s_shaper: none
  s2s_shaper: none
max_fsm_queue: 100000
modules:
{modules}
{extra}
""".format(domain=_quote(self.domain), level=self.log_level, certfile=_quote(certfile),
           trustfile=_quote(trustfile), listeners=listeners.rstrip("\n"),
           address=_quote(self.address),
           modules="\n".join("  %s: {}" % m for m in modules), extra=self.extra_yaml)
        with open(self.config_path, "w") as f:
            f.write(text)
        user = pwd.getpwnam(USER)
        for root, dirs, files in os.walk(self.dir):
            os.chown(root, user.pw_uid, user.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
        try:
            run(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups", "test", "-r",
                 self.config_path], "access check")
        except PeerError:
            raise PeerError("the %s user cannot read %s: every directory above it must be "
                            "searchable (o+x) by others" % (USER, self.config_path)) from None

    def start(self):
        """Starts ejabberd and waits until its listeners accept connections."""
        self.write_config()
        argv = self._ctl("foreground")
        if self.isolate:
            argv = isolated(argv, self.resolv_conf)
        self.daemon = Daemon("ejabberd " + self.domain, argv,
                             os.path.join(self.dir, "ejabberd.out"), marker=self.spool,
                             env=self._env(), cwd=self.spool)
        for port in (self.c2s_port, self.s2s_port, self.s2s_tls_port):
            if port:
                wait_for_port(self.daemon, self.address, port, 60,
                              "ejabberd log:\n" + tail(self.log_path), self.abort)
        self.ready = True

    def register(self, user, password):
        run(self._ctl("register", user, self.domain, password),
            "ejabberdctl register %s@%s" % (user, self.domain), timeout=60, env=self._env(),
            cwd=self.spool)

    def register_many(self, accounts):
        """Registers [(user, password)] in parallel: each ejabberdctl call starts a VM."""
        errors = []

        def one(user, password):
            try:
                self.register(user, password)
            except PeerError as e:
                errors.append(e)

        threads = [threading.Thread(target=one, args=a) for a in accounts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def stop(self):
        # A booting Erlang VM ignores SIGTERM: one whose listeners are not up yet is killed.
        daemon, self.daemon = self.daemon, None
        ready, self.ready = self.ready, False
        if daemon is not None:
            daemon.stop(timeout=10, graceful=ready)

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    AUTH_LINE = re.compile(r"Accepted (inbound|outbound) s2s (\S+) authentication (\S+) -> (\S+)")

    def s2s_auth(self):
        """[(direction, remote domain, mechanism)] as logged: direction "incoming" (the remote
        authenticated to us) or "outgoing"; mechanism "external" or "dialback". ejabberd's
        logger writes lines with a delay: see Federation.wait_s2s_auth."""
        found = []
        for m in self.AUTH_LINE.finditer(self.log_text()):
            if m.group(1) == "inbound":
                found.append(("incoming", m.group(3), m.group(2).lower()))
            else:
                found.append(("outgoing", m.group(4), m.group(2).lower()))
        return found
