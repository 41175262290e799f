"""Parley federating with Prosody 0.12 and ejabberd 23.01 from Debian, on loopback
(tests/interop/peers/): parley.test (Parley, 127.0.0.4), pros.test and pros2.test (two
Prosodies, 127.0.0.2 and 127.0.0.5) and ejab.test (ejabberd, 127.0.0.3), certificates from the
run's private CA, DNS from the harness's dnsmasq (SRV: XEP-0368 direct TLS on 5270 preferred,
STARTTLS on 5269). Once per trust mode:

- "ca": every server trusts the test CA. Parley has require_valid_certificates = true (no
  dialback), the peers have dialback off: every stream must be authenticated with certificates
  (SASL EXTERNAL, XEP-0178);
- "none": every server trusts only a CA that signed nothing, so no certificate validates; Parley
  allows dialback and the peers have it on: every stream must be authenticated with dialback
  (XEP-0220).

Prosody and Parley both do XEP-0288 (bidirectional streams), so the first stream between them
may carry both directions: with pros.test the Parley user speaks first (Parley opens the
stream: its outgoing authentication, Prosody's stanzas coming back over it), with pros2.test
the Prosody user does (Prosody opens it: Parley's incoming authentication, Parley's stanzas
going out over it). ejabberd 23.01 has no XEP-0288: a stream each way.

In each mode, for each peer, between a Parley user and a peer user (alice@parley.test with
bob@pros.test, erin@parley.test with frank@pros2.test, carol@parley.test with dave@ejab.test),
in both directions:
1. a chat message (the first one opens the first stream);
2. a presence subscription handshake each way, rosters ending with subscription "both";
3. presence updates (show/status);
4. disco#info (identity server/im, features disco#info and ping) and a XEP-0199 ping of the
   other server's domain;
5. a message to nosuchuser@<other domain> comes back as a service-unavailable error from that
   JID (the answers to a disco#info and a ping iq to it are printed, not asserted);
6. unavailable presence when the peer user logs out; when it logs in again, its available
   presence reaches the Parley user and Parley answers its server's probe with the Parley
   user's presence; unavailable presence when the Parley user logs out.
Then the logs must show that each direction was carried by a stream authenticated with the
mode's mechanism, at both ends: Parley's log ("<local> -> <remote> ready (SASL EXTERNAL, TLS)"
or "(dialback, TLS)" for its outgoing streams, "<remote> authenticated with SASL EXTERNAL for
<local>" or "<remote> authenticated by dialback for <local>" for incoming ones, "<local> ->
<remote> goes over this bidirectional stream" when it sends over an incoming one) and the
peer's (net.wait_s2s_auth; Prosody's XEP-0288 negotiation from its debug log); nothing between
Parley and a peer may be authenticated the other way, and Parley's verdict on each peer
certificate must match the mode. Parley must exit with 0 on SIGTERM (the sanitized build
reports leaks and errors there).

Usage: federation_test.py PATH/TO/parley [ca] [none]   (both modes by default)
Run as root with /usr/bin/python3; as another user it exits with 77 (ctest: skipped).
PARLEY_PEERS_KEEP=1 keeps the temporary directory (configs, every log, Parley's data);
PARLEY_FED_LOG_LEVEL sets Parley's log_level (default "debug"); PARLEY_FED_WRAPPER is put before
Parley's command line (e.g. "gdb -batch -ex run -ex bt --args")."""
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import Federation  # noqa: E402
from peers.client import check, is_presence  # noqa: E402
from peers.proc import Daemon, PeerError, tail, wait_for_port  # noqa: E402
from peers.scenarios import Scenarios, close_loop, new_loop, preflight  # noqa: E402

logging.basicConfig(level=logging.ERROR)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

PARLEY, PROS, PROS2, EJAB = "parley.test", "pros.test", "pros2.test", "ejab.test"
ADDRESSES = {PARLEY: "127.0.0.4", PROS: "127.0.0.2", EJAB: "127.0.0.3", PROS2: "127.0.0.5"}
SHORT = {PARLEY: "parley", PROS: "pros", PROS2: "pros2", EJAB: "ejab"}
PEERS = (PROS, PROS2, EJAB)
# Per peer: the Parley user, the peer user (password: user + "-secret"), and whose user sends the
# first stanza, i.e. which server opens the first stream. Prosody has XEP-0288 (mod_s2s_bidi)
# and so does Parley: the first stream between them carries both directions. With pros.test
# Parley opens it (Parley's outgoing authentication, Prosody's stanzas over Parley's stream);
# with pros2.test Prosody does (Parley's incoming authentication, Parley's stanzas over
# Prosody's stream). ejabberd 23.01 has no XEP-0288: one stream each way.
PAIRS = {PROS: ("alice", "bob", "parley"), PROS2: ("erin", "frank", "peer"),
         EJAB: ("carol", "dave", "parley")}
MECHANISM = {"ca": "external", "none": "dialback"}


def password(user):
    return user + "-secret"


def describe_exit(code):
    if code is not None and code < 0:
        try:
            return "signal %s (%s)" % (-code, signal.Signals(-code).name)
        except ValueError:
            return "signal %d" % -code
    return "code %s" % code


def toml_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Parley:
    """`parley serve` as parley.test on 127.0.0.4 (c2s 5222, s2s 5269 and 5270), with the
    federation's certificate, trust anchors and name server; its output (the log) in
    parley.log. Runs as a peers.proc.Daemon, so a killed run's Parley is stopped by the next
    run."""

    def __init__(self, binary, net, trust, log_level):
        self.binary = binary
        self.dir = os.path.join(net.dir, PARLEY)
        os.makedirs(self.dir, exist_ok=True)
        self.address = ADDRESSES[PARLEY]
        self.config_path = os.path.join(self.dir, "parley.toml")
        self.log_path = os.path.join(self.dir, "parley.log")
        self.port_file = os.path.join(self.dir, "ports")
        self.daemon = None
        self.exit_code = None
        resolv_conf = os.path.join(self.dir, "resolv.conf")
        with open(resolv_conf, "w") as f:
            f.write("nameserver %s\n" % net.dns_address)
        config = """# Written by tests/interop/federation_test.py
data_dir = {data}
log_level = {level}
bind = {addr}

[c2s]
bind = {addr}
port = 5222
tls_port = false

[[host]]
domain = {domain}
certificate = {chain}
key = {key}

[s2s]
bind = {addr}
port = 5269
tls_port = 5270
ca_file = {ca}
resolv_conf = {resolv}
require_valid_certificates = {strict}
connect_timeout = 10
""".format(data=toml_string(os.path.join(self.dir, "data")), level=toml_string(log_level),
           addr=toml_string(self.address), domain=toml_string(PARLEY),
           chain=toml_string(net.chain_path(PARLEY)), key=toml_string(net.key_path(PARLEY)),
           ca=toml_string(net.ca_file), resolv=toml_string(resolv_conf),
           strict="true" if trust == "ca" else "false")
        with open(self.config_path, "w") as f:
            f.write(config)

    def adduser(self, user):
        what = "parley adduser %s@%s" % (user, PARLEY)
        try:
            result = subprocess.run(
                [self.binary, "adduser", "%s@%s" % (user, PARLEY), "--config",
                 self.config_path], input=password(user) + "\n", text=True,
                capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise PeerError(what + ": timed out after 60 s") from None
        if result.returncode != 0:
            raise PeerError("%s failed (exit %d): %s%s" % (what, result.returncode,
                                                           result.stdout, result.stderr))

    def start(self, users):
        for user in users:
            self.adduser(user)
        wrapper = shlex.split(os.environ.get("PARLEY_FED_WRAPPER", ""))
        self.daemon = Daemon("parley " + PARLEY,
                             wrapper + [self.binary, "serve", "--config", self.config_path,
                                        "--port-file", self.port_file],
                             self.log_path, marker=self.config_path)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.port_file):
            self.daemon.check_alive("starting")
            if time.monotonic() > deadline:
                raise PeerError("parley wrote no port file in 30 s; its log:\n" +
                                tail(self.log_path))
            time.sleep(0.05)
        for port in (5222, 5269, 5270):
            wait_for_port(self.daemon, self.address, port, 10, "Parley log:\n" +
                          tail(self.log_path))

    def died(self):
        """None while it runs (or before it started); otherwise how it ended."""
        if self.daemon is None or self.daemon.alive():
            return None
        return "Parley exited on its own with %s" % describe_exit(self.daemon.proc.returncode)

    def stop(self):
        """SIGTERM; None when it exited with 0, or what went wrong."""
        daemon, self.daemon = self.daemon, None
        if daemon is None:
            return None
        if not daemon.alive():
            daemon.stop()
            return "it had exited before, with " + describe_exit(daemon.proc.returncode)
        daemon.stop(timeout=30)
        code = daemon.proc.returncode
        return None if code == 0 else "it exited with %s on SIGTERM" % describe_exit(code)

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    OUTGOING = re.compile(r"(\S+) -> (\S+) ready \(([^,)]+), (TLS|no TLS)\)")
    BIDI = re.compile(r"(\S+) -> (\S+) goes over this bidirectional stream")
    CERTIFICATE = re.compile(r"certificate (?:of|for) (\S+): certificate of \S+ (valid|not valid)")
    INCOMING_EXTERNAL = re.compile(r": (\S+) authenticated with SASL EXTERNAL for (\S+)")
    INCOMING_DIALBACK = re.compile(r": (\S+) authenticated by dialback for (\S+?)"
                                   r"( \(certificate\))?$", re.M)
    CONNECTED = re.compile(r"connected to (\S+) at (\S+?)( \(direct TLS\))?$", re.M)

    def s2s_auth(self):
        """[(direction, remote domain, mechanism)] as Parley logged them: mechanism
        "external", "dialback" or "dialback (certificate)" (XEP-0344: a db:result accepted
        because the certificate validated), "plaintext-..." for an outgoing link without TLS."""
        text = self.log_text()
        found = []
        for local, remote, method, tls in self.OUTGOING.findall(text):
            if local != PARLEY:
                continue
            mechanism = {"SASL EXTERNAL": "external", "dialback": "dialback"}.get(method, method)
            if tls != "TLS":
                mechanism = "plaintext-" + mechanism
            found.append(("outgoing", remote, mechanism))
        for remote, local in self.INCOMING_EXTERNAL.findall(text):
            if local == PARLEY:
                found.append(("incoming", remote, "external"))
        for remote, local, by_certificate in self.INCOMING_DIALBACK.findall(text):
            if local == PARLEY:
                found.append(("incoming", remote,
                              "dialback (certificate)" if by_certificate else "dialback"))
        return found

    def bidi_sending(self):
        """Remote domains Parley sends to over a stream the remote opened (XEP-0288)."""
        return {remote for local, remote in self.BIDI.findall(self.log_text()) if local == PARLEY}

    def certificates(self):
        """{remote domain: {"valid", "not valid"}}: Parley's verdicts on the peers'
        certificates, on its outgoing and incoming streams."""
        found = {}
        for domain, verdict in self.CERTIFICATE.findall(self.log_text()):
            found.setdefault(domain, set()).add(verdict)
        return found

    def wait_s2s_auth(self, expected, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            found = self.s2s_auth()
            if all(e in found for e in expected) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def federation_lines(self, lines=120):
        """The tail of the log's s2s lines (the debug log has every stanza besides)."""
        selected = [l for l in self.log_text().splitlines(keepends=True)
                    if "s2s" in l or "dialback" in l or "federation" in l.lower()
                    or "ERROR" in l or "error" in l.split(":", 1)[0]]
        return "".join(selected[-lines:]) or "(none)\n"


class Run(Scenarios):
    def __init__(self, net, trust, parley):
        super().__init__(net, trust)
        self.trust = trust
        self.parley = parley

    async def step(self, name, coro):
        """A step, unless Parley is no longer running: then the step fails at once."""
        died = self.parley.died()
        if died is not None:
            coro.close()
            print("  FAIL %-50s (not run)" % name, flush=True)
            self.fail(name, "not run: " + died)
            return False
        return await super().step(name, coro)

    async def with_peer(self, peer):
        """Every scenario between the Parley user and the user of `peer`, both directions."""
        local_user, peer_user, first = PAIRS[peer]
        p, x = SHORT[PARLEY], SHORT[peer]
        try:
            u = await self.login(PARLEY, local_user, password(local_user), "laptop", "chat",
                                 "on parley")
            v = await self.login(peer, peer_user, password(peer_user), "phone", "away",
                                 "on " + x)
        except Exception as e:  # noqa: BLE001
            self.fail("login (%s@%s, %s@%s)" % (local_user, PARLEY, peer_user, peer),
                      "%s: %s%s" % (type(e).__name__, e, "; " + (self.parley.died() or "")
                                    if self.parley.died() else ""))
            await self.logout_all()
            return
        step = self.step
        # The first stanza opens (and authenticates) the first stream.
        chats = [("chat %s -> %s" % (p, x), u, v, "Hello %s, from Parley" % peer_user),
                 ("chat %s -> %s" % (x, p), v, u, "Hello %s, from %s" % (local_user, peer))]
        for name, a, b, text in (chats if first == "parley" else chats[::-1]):
            await step(name, self.chat(a, b, text))
        sub_out = await step("subscription handshake %s -> %s" % (p, x), self.subscribe(u, v))
        sub_in = await step("subscription handshake %s -> %s" % (x, p), self.subscribe(v, u))
        await step("rosters: subscription both (%s, %s)" % (p, x), self.rosters(u, v))
        subscribed = sub_out and sub_in
        await step("presence update %s -> %s" % (p, x),
                   self.presence_update(u, v, "dnd", "in a meeting"))
        await step("presence update %s -> %s" % (x, p),
                   self.presence_update(v, u, "xa", "gone fishing"))
        await step("disco#info + ping %s user -> %s" % (p, peer), self.disco_and_ping(u, peer))
        await step("disco#info + ping %s user -> %s" % (x, PARLEY),
                   self.disco_and_ping(v, PARLEY))
        await step("service-unavailable for nosuchuser@%s" % peer,
                   self.nonexistent(u, peer, "service-unavailable"))
        await step("service-unavailable for nosuchuser@%s" % PARLEY,
                   self.nonexistent(v, PARLEY, "service-unavailable"))
        if subscribed:
            await step("unavailable presence %s -> %s" % (x, p), self.leave(v, u))
            self.back = None
            await step("back online: presence %s -> %s, probe answered by %s" % (x, p, p),
                       self.back_online(u, peer, peer_user))
            if self.back is not None:
                await step("unavailable presence %s -> %s" % (p, x), self.leave(u, self.back))
            else:
                self.fail("unavailable presence %s -> %s" % (p, x),
                          "skipped: %s@%s could not log in again" % (peer_user, peer))
        else:
            self.fail("unavailable presence and probes with %s" % peer,
                      "skipped: the subscription handshakes failed")
        await self.logout_all()

    async def rosters(self, u, v):
        await self.check_roster(u, v.boundjid.bare)
        await self.check_roster(v, u.boundjid.bare)

    async def back_online(self, u, peer, peer_user):
        """The peer user logs in again: its server sends its available presence to the Parley
        user and probes the Parley user's presence, which Parley must answer with the current
        one."""
        u.received.clear()
        v = self.back = await self.login(peer, peer_user, password(peer_user), "phone", "chat",
                                         "back")
        await u.wait_for("%s's available presence" % v.boundjid,
                         lambda s: is_presence(s, str(v.boundjid)) and s["status"] == "back")
        p = await v.wait_for("%s's presence (the answer to the probe)" % u.boundjid,
                             lambda s: is_presence(s, str(u.boundjid)))
        check(p["show"] == "dnd" and p["status"] == "in a meeting",
              "the answer to the probe is not %s's current presence (dnd, 'in a meeting'): %s"
              % (u.boundjid, p))

    async def scenarios(self):
        for peer in PEERS:
            await self.with_peer(peer)

    def check_authentication(self):
        """Each direction with each peer must have been carried by a stream authenticated
        with the mode's mechanism, as both ends logged it: Parley's outgoing stream to the peer
        (or, XEP-0288, the peer's stream to Parley) for Parley -> peer, the peer's stream to
        Parley (or Parley's, bidirectional) for peer -> Parley. No stream between Parley and a
        peer may have been authenticated any other way, and Parley's verdict on every peer
        certificate must be "valid" in "ca" mode and "not valid" in "none" mode."""
        want = MECHANISM[self.trust]
        parley = self.parley
        seen = parley.s2s_auth()
        bidi_out = parley.bidi_sending()
        for peer in PEERS:
            server = self.net.server(peer)
            peer_bidi = server.bidi() if hasattr(server, "bidi") else set()
            own_out = ("outgoing", peer, want) in seen
            own_in = ("incoming", peer, want) in seen
            # Each direction's candidate carriers: (name, what the peer must have logged).
            # Parley prefers a bidirectional stream the peer opened to its own, so with both
            # present (dialback: the stream opened to verify a key becomes a link too) both
            # are listed and both must be authenticated.
            out = []
            if peer in bidi_out and own_in:
                out.append(("%s's stream (XEP-0288)" % peer, ("outgoing", PARLEY, want)))
            if own_out:
                out.append(("its own stream", ("incoming", PARLEY, want)))
            inc = []
            if own_out and ("incoming", PARLEY) in peer_bidi:
                inc.append(("%s's stream (XEP-0288)" % PARLEY, ("incoming", PARLEY, want)))
            if own_in:
                inc.append(("its own stream", ("outgoing", PARLEY, want)))
            expected_peer = [c[1] for c in out + inc]
            peer_seen = self.net.wait_s2s_auth(peer, expected_peer)
            for label, carriers in (("%s -> %s" % (PARLEY, peer), out),
                                    ("%s -> %s" % (peer, PARLEY), inc)):
                if not carriers:
                    self.expect("%s carried by a stream authenticated by %s" % (label, want),
                                False, "Parley's log shows %s (sending over streams from %s)"
                                % (sorted(set(seen)), sorted(bidi_out)))
                    continue
                names = " and ".join(c[0] for c in carriers)
                self.expect("%s carried by %s, authenticated by %s (Parley's and %s's logs)"
                            % (label, names, want, peer),
                            all(c[1] in peer_seen for c in carriers),
                            "%s's log shows %s" % (peer, sorted(set(peer_seen))))
                self.observed["%s carried by" % label] = names
            wrong = sorted(set(f for f in seen if f[1] == peer and f[2] != want)
                           | set(f for f in peer_seen if f[1] == PARLEY and f[2] != want))
            self.expect("nothing between %s and %s authenticated but by %s" % (
                PARLEY, peer, want), not wrong, "the logs show %s" % wrong)
            self.observed["%s s2s auth" % peer] = sorted(set(peer_seen))
            # Parley logs its verdict on every stream (incoming, outgoing after STARTTLS or
            # direct TLS): every peer had at least one stream with Parley.
            verdicts = parley.certificates().get(peer, set())
            expected_verdict = "valid" if self.trust == "ca" else "not valid"
            self.expect("Parley found %s's certificate %s" % (peer, expected_verdict),
                        verdicts == {expected_verdict},
                        "Parley's verdicts: %s" % (sorted(verdicts) or "none logged"))
        self.observed["%s s2s auth" % PARLEY] = sorted(set(seen))

    def observe_transports(self):
        """Which ports the links used (not asserted): Parley's outgoing ones from its log,
        Prosody's to Parley from Prosody's debug log ("Client FD n (ip, port, ...)")."""
        for remote, endpoint, direct in self.parley.CONNECTED.findall(self.parley.log_text()):
            key = "s2s %s -> %s" % (SHORT[PARLEY], remote)
            self.observed.setdefault(key, set()).add(endpoint + (" direct TLS" if direct
                                                                 else " STARTTLS"))
        for peer in (PROS, PROS2):
            log = self.net.server(peer).log_text()
            ports = set(re.findall(r"Client FD \d+ \(%s, (\d+),"
                                   % re.escape(ADDRESSES[PARLEY]), log))
            self.observed["s2s %s -> parley ports" % SHORT[peer]] = sorted(ports)


def run_mode(binary, trust, keep, log_level):
    print("== trust=%s ==" % trust, flush=True)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="parley-federation-%s-" % trust)
    net = Federation(tmp, trust=trust, remove_workdir=not keep)
    run_ = None
    parley = None
    loop = new_loop()
    failures = []
    try:
        net.add_prosody(PROS, ADDRESSES[PROS])
        net.add_prosody(PROS2, ADDRESSES[PROS2])
        net.add_ejabberd(EJAB, ADDRESSES[EJAB])
        net.add_external(PARLEY, ADDRESSES[PARLEY], s2s_port=5269, s2s_tls_port=5270,
                         c2s_port=5222)
        parley = Parley(binary, net, trust, log_level)
        run_ = Run(net, trust, parley)
        # Parley (accounts, then serve) starts while the peers do.
        parley_error = []
        t_parley = [0.0]

        def start_parley():
            t = time.monotonic()
            try:
                parley.start([local for local, _, _ in PAIRS.values()])
            except Exception as e:  # noqa: BLE001 - reported below
                parley_error.append(e)
            t_parley[0] = time.monotonic() - t

        thread = threading.Thread(target=start_parley)
        thread.start()
        try:
            net.start()
        finally:
            thread.join()
        if parley_error:
            raise parley_error[0]
        t_started = time.monotonic()
        net.register_many([(peer, user, password(user))
                           for peer, (_, user, _) in PAIRS.items()])
        t_registered = time.monotonic()
        print("  started in %.1fs (%s, parley %.1fs), peer users registered in %.1fs" % (
            t_started - t0, ", ".join("%s %.1fs" % (k, v) for k, v in net.timings.items()
                                       if k != "start"), t_parley[0],
            t_registered - t_started), flush=True)
        loop.run_until_complete(run_.scenarios())
        t_scenarios = time.monotonic()
        print("  scenarios took %.1fs" % (t_scenarios - t_registered))
        run_.check_authentication()
        run_.observe_transports()
    except Exception:  # noqa: BLE001
        failures.append("harness [%s]: %s" % (trust, traceback.format_exc()))
    finally:
        close_loop(loop)
        if run_ is not None:
            failures = run_.failures + failures
        t_stop = time.monotonic()
        if parley is not None:
            try:
                trouble = parley.stop()
                if trouble is not None:
                    failures.append("parley [%s]: %s (see the end of its log)" % (trust,
                                                                                   trouble))
            except Exception:  # noqa: BLE001
                failures.append("parley stop [%s]: %s" % (trust, traceback.format_exc()))
        if failures:
            print(net.logs(80), file=sys.stderr)
            if parley is not None:
                print("--- %s (parley): %s: s2s lines ---\n%s--- %s (parley): last lines ---\n%s"
                      % (PARLEY, parley.log_path, parley.federation_lines(),
                         PARLEY, tail(parley.log_path, 60)), file=sys.stderr)
        try:
            net.stop()
        except Exception:  # noqa: BLE001
            failures.append("stop [%s]: %s" % (trust, traceback.format_exc()))
        print("  stopped in %.1fs; mode total %.1fs" % (time.monotonic() - t_stop,
                                                         time.monotonic() - t0))
        if keep:
            print("  kept " + tmp)
    if run_ is not None:
        for key, value in run_.observed.items():
            print("  observed: %s: %s" % (key, sorted(value) if isinstance(value, set)
                                           else value))
    return failures


def main():
    # Step lines and failure reports (stderr) in the order they happen, also through a pipe.
    sys.stdout.reconfigure(line_buffering=True)
    # A SIGTERM (ctest stopping the test) unwinds through the finally blocks, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(sys.argv) < 2:
        print("usage: federation_test.py PATH/TO/parley [ca] [none]", file=sys.stderr)
        return 2
    refusal = preflight()
    if refusal is not None:
        return refusal
    binary = os.path.abspath(sys.argv[1])
    if not os.access(binary, os.X_OK):
        print("FAIL: %s is not an executable" % binary)
        return 1
    modes = sys.argv[2:] or ["ca", "none"]
    for mode in modes:
        if mode not in MECHANISM:
            print("FAIL: unknown mode %r (ca, none)" % mode)
            return 2
    keep = os.environ.get("PARLEY_PEERS_KEEP") == "1"
    log_level = os.environ.get("PARLEY_FED_LOG_LEVEL", "debug")
    t0 = time.monotonic()
    failures = []
    for trust in modes:
        failures += run_mode(binary, trust, keep, log_level)
    print("total %.1fs" % (time.monotonic() - t0))
    if failures:
        print("\n%d failure(s):" % len(failures), file=sys.stderr)
        for f in failures:
            print("- " + f, file=sys.stderr)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
