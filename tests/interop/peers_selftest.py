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
import asyncio
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import Federation  # noqa: E402
from peers.client import (WAIT, Client, Failure, check, error_condition, is_error,  # noqa: E402
                          is_message, is_presence)

logging.basicConfig(level=logging.ERROR)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

PROS, EJAB = "pros.test", "ejab.test"
ACCOUNTS = [(PROS, "alice", "alice-secret"), (EJAB, "bob", "bob-secret")]
DISCO_INFO = "http://jabber.org/protocol/disco#info"
ROSTER = "jabber:iq:roster"


class Run:
    def __init__(self, net, trust):
        self.net = net
        self.trust = trust
        self.failures = []
        self.observed = {}
        self.clients = []

    async def step(self, name, coro):
        t = time.monotonic()
        try:
            await coro
            print("  ok   %-44s %.2fs" % (name, time.monotonic() - t))
        except Exception as e:  # noqa: BLE001 - every step runs, each failure is reported
            print("  FAIL %-44s %.2fs" % (name, time.monotonic() - t))
            detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
            self.failures.append("%s [%s]: %s" % (name, self.trust, detail))

    async def login(self, domain, user, password, resource, show=None, status=None):
        client = Client("%s@%s/%s" % (user, domain, resource), password,
                        self.net.c2s_address(domain), self.net.client_ca_file)
        self.clients.append(client)
        await client.login()
        await client.get_roster(timeout=WAIT)
        client.send_presence(pshow=show, pstatus=status)
        return client

    async def subscribe(self, a, b):
        """a asks b for a subscription, b approves; a then gets b's current presence."""
        a_bare, b_bare = a.boundjid.bare, b.boundjid.bare
        a.send_presence(pto=b_bare, ptype="subscribe")
        await b.wait_for("%s's subscription request" % a_bare,
                         lambda s: is_presence(s, a_bare, "subscribe"))
        b.send_presence(pto=a_bare, ptype="subscribed")
        await a.wait_for("%s's 'subscribed'" % b_bare,
                         lambda s: is_presence(s, b_bare, "subscribed"))
        await a.wait_for("%s's available presence" % b_bare,
                         lambda s: is_presence(s, str(b.boundjid)))

    async def subscriptions(self, alice, bob):
        await self.subscribe(alice, bob)
        await self.subscribe(bob, alice)
        for client, contact in ((alice, bob.boundjid.bare), (bob, alice.boundjid.bare)):
            # A roster get without 'ver': the whole roster, never an empty "unchanged" result.
            result = await client.make_iq_get(queryxmlns=ROSTER).send(timeout=WAIT)
            items = {item.get("jid"): item.get("subscription")
                     for item in result.xml.find("{%s}query" % ROSTER)}
            check(items.get(contact) == "both", "%s's roster after the handshakes: %r" % (
                client.boundjid.bare, items))

    async def presence_update(self, a, b, show, status):
        a.send_presence(pshow=show, pstatus=status)
        p = await b.wait_for("%s's presence update (%s)" % (a.boundjid, show),
                             lambda s: is_presence(s, str(a.boundjid)) and s["show"] == show)
        check(p["status"] == status, "the status got lost: %s" % p)

    async def chat(self, a, b, text):
        a.message(b.boundjid.bare, text)
        await b.wait_for("%s's message %r" % (a.boundjid, text),
                         lambda s: is_message(s, str(a.boundjid), text))

    async def disco_and_ping(self, client, domain):
        result = await client["xep_0030"].get_info(jid=domain, timeout=WAIT)
        info = result["disco_info"]
        identities = {(i[0], i[1]) for i in info["identities"]}
        check(("server", "im") in identities,
              "disco#info of %s has no server/im identity: %s" % (domain, result))
        check(DISCO_INFO in info["features"] and "urn:xmpp:ping" in info["features"],
              "disco#info of %s lacks disco#info/ping features: %s" % (domain, result))
        rtt = await client["xep_0199"].ping(domain, timeout=WAIT)
        self.observed["ping %s -> %s" % (client.boundjid.domain, domain)] = "%.1f ms" % (
            rtt * 1000)

    async def nonexistent(self, client, domain):
        target = "nosuchuser@" + domain
        id_ = client.message(target, "Is anybody there?")
        e = await client.wait_for("an error for the message to " + target,
                                  lambda s: is_error(s, id_))
        check(e["from"].bare == target, "the error does not come from %s: %s" % (target, e))
        self.observed["message to %s" % target] = "%s/%s" % error_condition(e)[:2]
        iq = client.make_iq_get(queryxmlns=DISCO_INFO, ito=target)
        iq_id = iq["id"]
        iq.send()
        e = await client.wait_for("an error for the iq to " + target,
                                  lambda s: is_error(s, iq_id, "iq")
                                  or (s.xml.get("id") == iq_id and s.xml.get("type") == "result"))
        self.observed["iq (disco#info) to %s" % target] = (
            "%s/%s" % error_condition(e)[:2] if e["type"] == "error" else "result (no error)")
        iq = client.make_iq_get(ito=target)
        iq.enable("ping")
        iq_id = iq["id"]
        iq.send()
        e = await client.wait_for("an answer to the ping to " + target,
                                  lambda s: s.xml.get("id") == iq_id
                                  and s.xml.get("type") in ("error", "result"))
        self.observed["iq (ping) to %s" % target] = (
            "%s/%s" % error_condition(e)[:2] if e["type"] == "error" else "result (no error)")

    async def leave(self, a, b):
        await a.logout()
        self.clients.remove(a)
        await b.wait_for("%s's unavailable presence" % a.boundjid,
                         lambda s: is_presence(s, str(a.boundjid), "unavailable"))

    async def scenarios(self):
        try:
            alice = await self.login(PROS, "alice", "alice-secret", "desk", "chat", "at my desk")
            bob = await self.login(EJAB, "bob", "bob-secret", "shed", "away", "building")
        except Exception as e:  # noqa: BLE001
            self.failures.append("login [%s]: %s" % (self.trust, e))
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
        for client in list(self.clients):
            try:
                await client.logout()
            except Exception:  # noqa: BLE001 - nothing left to check with it
                pass

    def check_authentication(self):
        want = "external" if self.trust == "ca" else "dialback"
        other = "dialback" if self.trust == "ca" else "external"
        # Each direction as the receiving server saw it, and as the initiating one did.
        expected = {
            PROS: [("incoming", EJAB, want), ("outgoing", EJAB, want)],
            EJAB: [("incoming", PROS, want), ("outgoing", PROS, want)],
        }
        seen = {d: self.net.wait_s2s_auth(d, e) for d, e in expected.items()}
        for domain, wanted in expected.items():
            for direction, remote, mechanism in wanted:
                what = "%s %s %s by %s" % (
                    domain, "accepted" if direction == "incoming" else "authenticated to",
                    remote, mechanism)
                self.expect(what, (direction, remote, mechanism) in seen[domain], seen)
        self.expect("no %s anywhere" % other,
                    not any(m == other for found in seen.values() for _, _, m in found), seen)
        for domain, found in seen.items():
            self.observed["%s s2s auth" % domain] = sorted(set(found))

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

    def expect(self, what, ok, seen):
        print("  %s %s" % ("ok  " if ok else "FAIL", what))
        if not ok:
            self.failures.append("[%s] expected %s; the logs show %s" % (self.trust, what, seen))


def run_mode(trust, keep):
    print("== trust=%s ==" % trust)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="parley-peers-%s-" % trust)
    net = Federation(tmp, trust=trust, remove_workdir=not keep)
    run = Run(net, trust)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
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
        try:
            # The clients leave slixmpp tasks behind: end them before the loop goes.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
        except Exception:  # noqa: BLE001
            pass
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
    if os.geteuid() != 0:
        print("SKIP: the peer harness needs root (port 53, setpriv)")
        return 77
    missing = [p for p in ("prosody", "prosodyctl", "ejabberdctl", "dnsmasq", "openssl")
               if shutil.which(p, path="/usr/sbin:/usr/bin:/sbin:/bin") is None]
    if missing:
        print("FAIL: %s not installed: run scripts/install-deps.sh test --interop"
              % ", ".join(missing))
        return 1
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
