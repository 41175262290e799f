"""Self-test of the federation peer harness (tests/interop/peers/): Prosody 0.12 (pros.test on
127.0.0.2) and ejabberd 23.01 (ejab.test on 127.0.0.3) from Debian federate with each other,
once per trust mode:

- trust "ca": both trust the test CA and have dialback off; both directions must be
  authenticated with certificates (SASL EXTERNAL), as the servers' logs show;
- trust "none": both get a CA that signed nothing and have dialback on; both directions must
  be authenticated with dialback, and nothing with SASL EXTERNAL.

Both directions must use XEP-0368 direct TLS (port 5270, the better SRV priority).

In each mode, with a slixmpp client on each server (alice@pros.test, bob@ejab.test):
1. a presence subscription handshake both ways (rosters end with subscription "both");
2. presence updates (show/status) both ways, and unavailable presence when a client leaves;
3. chat messages both ways;
4. disco#info and a XEP-0199 ping from each client to the other server's domain;
5. a message to a user that does not exist on the other server comes back as an error stanza
   from that JID; the conditions each peer answers with are printed, also for a disco#info and
   a ping iq to that JID (an error or a result, whatever the peer does).

Run as root with /usr/bin/python3 (port 53 on 127.0.0.153, setpriv to the ejabberd user);
as another user it exits with 77, which ctest counts as skipped.
PARLEY_PEERS_KEEP=1 keeps the temporary directory (configs, logs) for a look afterwards."""
import logging
import os
import re
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import Federation  # noqa: E402
from peers.scenarios import Scenarios, close_loop, new_loop, preflight  # noqa: E402

logging.basicConfig(level=logging.ERROR)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

PROS, EJAB = "pros.test", "ejab.test"
ACCOUNTS = [(PROS, "alice", "alice-secret"), (EJAB, "bob", "bob-secret")]


class Run(Scenarios):
    """The self-test's scenarios (peers/scenarios.py) between alice@pros.test and
    bob@ejab.test, and its checks of the peers' logs."""

    def __init__(self, net, trust):
        super().__init__(net, trust)
        self.trust = trust

    async def scenarios(self):
        try:
            alice = await self.login(PROS, "alice", "alice-secret", "desk", "chat", "at my desk")
            bob = await self.login(EJAB, "bob", "bob-secret", "shed", "away", "building")
        except Exception as e:  # noqa: BLE001
            self.fail("login", e)
            return
        await self.step("subscription handshake both ways", self.subscriptions(alice, bob))
        await self.step("presence update pros -> ejab",
                        self.presence_update(alice, bob, "dnd", "in a meeting"))
        await self.step("presence update ejab -> pros",
                        self.presence_update(bob, alice, "xa", "gone fishing"))
        await self.step("chat pros -> ejab", self.chat(alice, bob, "Hello Bob, from Prosody"))
        await self.step("chat ejab -> pros", self.chat(bob, alice, "Hello Alice, from ejabberd"))
        await self.step("disco#info + ping pros user -> ejab.test",
                        self.disco_and_ping(alice, EJAB))
        await self.step("disco#info + ping ejab user -> pros.test",
                        self.disco_and_ping(bob, PROS))
        await self.step("error for nosuchuser@ejab.test", self.nonexistent(alice, EJAB))
        await self.step("error for nosuchuser@pros.test", self.nonexistent(bob, PROS))
        await self.step("unavailable presence ejab -> pros", self.leave(bob, alice))
        await self.logout_all()

    def check_authentication(self):
        want = "external" if self.trust == "ca" else "dialback"
        other = "dialback" if self.trust == "ca" else "external"
        # Each direction as the receiving server saw it, and as the initiating one did.
        self.check_peer_auth({
            PROS: [("incoming", EJAB, want), ("outgoing", EJAB, want)],
            EJAB: [("incoming", PROS, want), ("outgoing", PROS, want)],
        }, other)

    def check_direct_tls(self):
        """Both directions connected to the XEP-0368 port, whose SRV record has the better
        priority: Prosody's debug log has its outgoing connections ("Client FD n (remote ip,
        remote port, ...)") and its incoming ones ("New connection FD n (remote ip, remote
        port, local ip, local port)"); the harness's own readiness probes come from
        127.0.0.1, never from ejabberd's 127.0.0.3."""
        log = self.net.server(PROS).log_text()
        ejab_ip = self.net.c2s_address(EJAB)[0]
        pros_ip = self.net.c2s_address(PROS)[0]
        out = set(re.findall(r"Client FD \d+ \(%s, (\d+)," % re.escape(ejab_ip), log))
        inc = set(re.findall(r"New connection FD \d+ \(%s, \d+, %s, (\d+)\)" % (
            re.escape(ejab_ip), re.escape(pros_ip)), log))
        self.observed["s2s ports pros -> ejab"] = sorted(out)
        self.observed["s2s ports ejab -> pros"] = sorted(inc)
        self.expect("pros.test -> ejab.test over direct TLS (5270) only", out == {"5270"},
                    "Prosody connected to ejab.test's ports %s" % sorted(out))
        self.expect("ejab.test -> pros.test over direct TLS (5270) only", inc == {"5270"},
                    "ejabberd connected to pros.test's ports %s" % sorted(inc))


def run_mode(trust, keep):
    print("== trust=%s ==" % trust)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="parley-peers-%s-" % trust)
    net = Federation(tmp, trust=trust, remove_workdir=not keep)
    run = Run(net, trust)
    loop = new_loop()
    try:
        net.add_prosody(PROS, "127.0.0.2")
        net.add_ejabberd(EJAB, "127.0.0.3")
        net.start()
        t_started = time.monotonic()
        net.register_many(ACCOUNTS)
        t_registered = time.monotonic()
        print("  started in %.1fs (%s), users registered in %.1fs" % (
            t_started - t0, ", ".join("%s %.1fs" % (k, v) for k, v in net.timings.items()
                                       if k != "start"), t_registered - t_started))
        loop.run_until_complete(run.scenarios())
        t_scenarios = time.monotonic()
        run.check_authentication()
        run.check_direct_tls()
        print("  scenarios took %.1fs" % (t_scenarios - t_registered))
    except Exception:  # noqa: BLE001
        run.failures.append("harness [%s]: %s" % (trust, traceback.format_exc()))
    finally:
        close_loop(loop)
        if run.failures:
            print(net.logs(80), file=sys.stderr)
        t_stop = time.monotonic()
        try:
            net.stop()
        except Exception:  # noqa: BLE001
            run.failures.append("stop [%s]: %s" % (trust, traceback.format_exc()))
        print("  stopped in %.1fs; mode total %.1fs" % (time.monotonic() - t_stop,
                                                         time.monotonic() - t0))
        if keep:
            print("  kept " + tmp)
    for key, value in run.observed.items():
        print("  observed: %s: %s" % (key, value))
    return run.failures


def main():
    # A SIGTERM (ctest stopping the test) unwinds through the finally blocks, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    refusal = preflight()
    if refusal is not None:
        return refusal
    keep = os.environ.get("PARLEY_PEERS_KEEP") == "1"
    modes = sys.argv[1:] or ["ca", "none"]
    t0 = time.monotonic()
    failures = []
    for trust in modes:
        failures += run_mode(trust, keep)
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
