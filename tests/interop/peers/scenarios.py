"""Federation scenarios shared by the interop tests that run a Federation (peers_selftest.py,
federation_test.py): each step is one coroutine between two recording slixmpp clients
(peers/client.py) on two servers, and `Scenarios` runs them, times them and collects failures
instead of stopping at the first one.

    run = Scenarios(net, "ca")
    alice = await run.login("pros.test", "alice", "secret", "desk", "chat", "at my desk")
    await run.step("chat pros -> ejab", run.chat(alice, bob, "Hello"))
    run.expect("something that must hold", ok, evidence)
    run.failures            # ["name [ca]: why", ...]
    run.observed            # {"what": value}: printed at the end of a mode

Also the plumbing every such test needs: `preflight()` (root, the Debian packages) and
`new_loop()` / `close_loop()` (slixmpp leaves tasks behind that must end before the loop)."""
import asyncio
import os
import shutil
import time
import traceback

from .client import WAIT, Client, Failure, check, error_condition, is_error, is_message, is_presence

DISCO_INFO = "http://jabber.org/protocol/disco#info"
ROSTER = "jabber:iq:roster"
PING = "urn:xmpp:ping"
PEER_PROGRAMS = ("prosody", "prosodyctl", "ejabberdctl", "dnsmasq", "openssl")


def preflight(programs=PEER_PROGRAMS):
    """None when the test can run; otherwise the exit code after saying why (77: skip)."""
    if os.geteuid() != 0:
        print("SKIP: the peer harness needs root (port 53, setpriv)")
        return 77
    missing = [p for p in programs
               if shutil.which(p, path="/usr/sbin:/usr/bin:/sbin:/bin") is None]
    if missing:
        print("FAIL: %s not installed: run scripts/install-deps.sh test --interop"
              % ", ".join(missing))
        return 1
    return None


def new_loop():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


def close_loop(loop):
    """Ends the tasks the clients leave behind, then the loop."""
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
    except Exception:  # noqa: BLE001 - nothing left to check with it
        pass


class Scenarios:
    def __init__(self, net, label):
        self.net = net
        self.label = label      # the trust mode: in every failure line
        self.failures = []
        self.observed = {}
        self.clients = []

    # --- bookkeeping ------------------------------------------------------------------------

    async def step(self, name, coro):
        """Runs one scenario; prints ok/FAIL with its time. Returns whether it passed."""
        t = time.monotonic()
        try:
            await coro
            print("  ok   %-50s %.2fs" % (name, time.monotonic() - t), flush=True)
            return True
        except Exception as e:  # noqa: BLE001 - every step runs, each failure is reported
            print("  FAIL %-50s %.2fs" % (name, time.monotonic() - t), flush=True)
            detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
            self.failures.append("%s [%s]: %s" % (name, self.label, detail))
            return False

    def expect(self, what, ok, evidence):
        print("  %s %s" % ("ok  " if ok else "FAIL", what), flush=True)
        if not ok:
            self.failures.append("[%s] expected %s; found %s" % (self.label, what, evidence))
        return ok

    def fail(self, what, detail):
        self.failures.append("%s [%s]: %s" % (what, self.label, detail))

    # --- clients ----------------------------------------------------------------------------

    async def login(self, domain, user, password, resource, show=None, status=None):
        """A recording client on `domain`'s c2s address, with its roster fetched and its
        initial presence sent."""
        client = Client("%s@%s/%s" % (user, domain, resource), password,
                        self.net.c2s_address(domain), self.net.client_ca_file)
        self.clients.append(client)
        await client.login()
        await client.get_roster(timeout=WAIT)
        client.send_presence(pshow=show, pstatus=status)
        return client

    async def logout_all(self):
        for client in list(self.clients):
            try:
                await client.logout()
            except Exception:  # noqa: BLE001 - nothing left to check with it
                pass
        self.clients.clear()

    # --- scenarios --------------------------------------------------------------------------

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

    async def check_roster(self, client, contact, subscription="both"):
        # A roster get without 'ver': the whole roster, never an empty "unchanged" result.
        result = await client.make_iq_get(queryxmlns=ROSTER).send(timeout=WAIT)
        items = {item.get("jid"): item.get("subscription")
                 for item in result.xml.find("{%s}query" % ROSTER)}
        check(items.get(contact) == subscription, "%s's roster: %s should be %r, it is %r" % (
            client.boundjid.bare, contact, subscription, items))

    async def subscriptions(self, a, b):
        """The handshake both ways (a -> b first); both rosters end with "both"."""
        await self.subscribe(a, b)
        await self.subscribe(b, a)
        await self.check_roster(a, b.boundjid.bare)
        await self.check_roster(b, a.boundjid.bare)

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
        """disco#info of a server domain (identity server/im, features disco#info and ping),
        then a XEP-0199 ping of it."""
        result = await client["xep_0030"].get_info(jid=domain, timeout=WAIT)
        info = result["disco_info"]
        identities = {(i[0], i[1]) for i in info["identities"]}
        check(("server", "im") in identities,
              "disco#info of %s has no server/im identity: %s" % (domain, result))
        check(DISCO_INFO in info["features"] and PING in info["features"],
              "disco#info of %s lacks disco#info/ping features: %s" % (domain, result))
        check(result["from"] == domain, "the disco#info result comes from %s, not %s" % (
            result["from"], domain))
        rtt = await client["xep_0199"].ping(domain, timeout=WAIT)
        self.observed["ping %s -> %s" % (client.boundjid.domain, domain)] = "%.1f ms" % (
            rtt * 1000)

    async def nonexistent(self, client, domain, condition=None, probe_iqs=True):
        """A message to nosuchuser@domain must come back as an error from that JID, with the
        stanza error `condition` when one is given (the condition is recorded in `observed`
        either way). probe_iqs: also send it a disco#info and a ping iq and record the answers
        (servers differ; not asserted)."""
        target = "nosuchuser@" + domain
        id_ = client.message(target, "Is anybody there?")
        e = await client.wait_for("an error for the message to " + target,
                                  lambda s: is_error(s, id_))
        check(e["from"].bare == target, "the error does not come from %s: %s" % (target, e))
        type_, cond, _ = error_condition(e)
        self.observed["message to %s" % target] = "%s/%s" % (type_, cond)
        if condition is not None:
            check(cond == condition, "the error for the message to %s is %s/%s, not %s: %s" % (
                target, type_, cond, condition, e))
        if not probe_iqs:
            return
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
        """a logs out; b, subscribed to a, gets a's unavailable presence."""
        await a.logout()
        self.clients.remove(a)
        await b.wait_for("%s's unavailable presence" % a.boundjid,
                         lambda s: is_presence(s, str(a.boundjid), "unavailable"))

    # --- authentication, as the peers' logs show it -------------------------------------------

    def check_peer_auth(self, expected, forbidden):
        """expected: {peer domain: [(direction, remote, mechanism)]}, each of which that peer's
        log must show (net.wait_s2s_auth); forbidden: a mechanism none of them may show for
        the remotes named. Returns {domain: what its log shows}."""
        seen = {d: self.net.wait_s2s_auth(d, e) for d, e in expected.items()}
        for domain, wanted in expected.items():
            for direction, remote, mechanism in wanted:
                what = "%s %s %s by %s" % (
                    domain, "accepted" if direction == "incoming" else "authenticated to",
                    remote, mechanism)
                self.expect(what, (direction, remote, mechanism) in seen[domain],
                            "%s's log shows %s" % (domain, sorted(set(seen[domain]))))
        for domain, wanted in expected.items():
            remotes = {r for _, r, _ in wanted}
            bad = [f for f in seen[domain] if f[1] in remotes and f[2] == forbidden]
            self.expect("%s: no %s with %s" % (domain, forbidden, ", ".join(sorted(remotes))),
                        not bad, "%s's log shows %s" % (domain, sorted(set(bad))))
            self.observed["%s s2s auth" % domain] = sorted(set(seen[domain]))
        return seen
