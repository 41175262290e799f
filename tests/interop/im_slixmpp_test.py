"""Instant messaging between real slixmpp (python3-slixmpp) clients through Parley:

1. presence subscription handshake answered by the users themselves (RFC 6121 §3.1), presence
   with show and status both ways, chat messages both ways, unavailable presence on disconnect;
2. a message to an offline user arrives at the next login with a XEP-0203 delay stamp (XEP-0160);
3. the server stamps the real full JID over a spoofed 'from' (RFC 6120 §8.1.2.1);
4. a [[group]] of the config file: its members see each other's presence at login without
   subscribing, and their rosters list each other with subscription 'both' under the group;
5. XEP-0280 carbons between two resources of one account, <received/> and <sent/>;
6. XEP-0191 blocking: nothing passes either way while blocked (the errors the XEP specifies go
   back to the sender), presence goes unavailable, and all flows again after unblocking.

Every check looks at the stanzas as they arrived on the client's stream. A check that expects
nothing to arrive uses a barrier instead of a sleep: the recipient pings its server after the
sender has had its answer; a stanza routed to the recipient before would be ahead of the pong.
Every scenario runs, each failure is reported, and the test fails if any did."""
import asyncio
import datetime
import logging
import ssl
import sys
import time
import traceback
import uuid

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import Server

logging.basicConfig(level=logging.ERROR)
# Clients of finished scenarios leave slixmpp tasks behind; asyncio would list them at exit.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

CLIENT = "jabber:client"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
DELAY = "urn:xmpp:delay"
CARBONS = "urn:xmpp:carbons:2"
FORWARD = "urn:xmpp:forward:0"
BLOCKING = "urn:xmpp:blocking"
BLOCKING_ERRORS = "urn:xmpp:blocking:errors"
ROSTER = "jabber:iq:roster"
WAIT = 10  # seconds for anything that should arrive

ACCOUNTS = {
    "alice@localhost": "wonderland",
    "bob@localhost": "builder",
    "carol@localhost": "carolsecret",
    "dave@localhost": "davesecret",
    "erin@localhost": "erinsecret",
}
CONFIG = """
[[group]]
name = "Staff"
members = ["carol@localhost", "dave@localhost", "erin@localhost"]
"""


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def q(ns, name):
    return "{%s}%s" % (ns, name)


def xml_of(stanza):
    return str(stanza)


def body(stanza):
    e = stanza.xml.find(q(CLIENT, "body"))
    return e.text if e is not None else None


def is_message(stanza, sender=None, text=None):
    x = stanza.xml
    return (x.tag == q(CLIENT, "message") and x.get("type") != "error"
            and (sender is None or x.get("from") == sender)
            and (text is None or body(stanza) == text))


def is_presence(stanza, sender, type_=None):
    x = stanza.xml
    return x.tag == q(CLIENT, "presence") and x.get("from") == sender and x.get("type") == type_


def is_error(stanza, id_):
    x = stanza.xml
    return x.tag == q(CLIENT, "message") and x.get("type") == "error" and x.get("id") == id_


def is_block_push(stanza, command, jid):
    x = stanza.xml
    e = x.find(q(BLOCKING, command))
    return (x.tag == q(CLIENT, "iq") and x.get("type") == "set" and e is not None
            and [i.get("jid") for i in e] == [jid])


def error_conditions(stanza):
    error = stanza.xml.find(q(CLIENT, "error"))
    if error is None:
        return None, set()
    return error.get("type"), {child.tag for child in error}


class Peer(slixmpp.ClientXMPP):
    """One client connection that records every stanza it receives."""

    def __init__(self, jid, password, cafile):
        super().__init__(jid, password)
        for plugin in ("xep_0030", "xep_0199", "xep_0203", "xep_0280", "xep_0191"):
            self.register_plugin(plugin)
        self.ssl_context = ssl.create_default_context(cafile=cafile)
        # The users answer subscription requests themselves.
        self.auto_authorize = None
        self.auto_subscribe = False
        self.received = []
        self.arrived = asyncio.Event()
        self.started = asyncio.get_event_loop().create_future()
        for kind in ("message", "presence", "iq"):
            self.register_handler(Callback("record " + kind, MatchXPath(q(CLIENT, kind)),
                                           self._record))
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("failed_auth", self._failed)

    def _record(self, stanza):
        self.received.append(stanza)
        self.arrived.set()

    def _started(self, _event):
        if not self.started.done():
            self.started.set_result(True)

    def _failed(self, _event):
        if not self.started.done():
            self.started.set_exception(Failure("%s: authentication failed" % self.boundjid))

    async def wait_for(self, what, predicate, timeout=WAIT):
        """The first received stanza matching predicate, waiting for it if need be."""
        loop = asyncio.get_event_loop()
        deadline = loop.time() + timeout
        while True:
            for stanza in self.received:
                if predicate(stanza):
                    return stanza
            self.arrived.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise Failure("%s never received %s; it received:\n  %s" % (
                    self.boundjid, what, "\n  ".join(xml_of(s) for s in self.received)
                    or "(nothing)"))
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    def none_of(self, what, predicate):
        found = [s for s in self.received if predicate(s)]
        check(not found, "%s received %s: %s" % (self.boundjid, what,
                                                 "; ".join(xml_of(s) for s in found)))

    async def barrier(self):
        """A round trip to the server: whatever was routed to us before is now received."""
        await self["xep_0199"].ping(self.boundjid.domain, timeout=WAIT)

    def message(self, to, text, raw_from=None):
        id_ = uuid.uuid4().hex
        if raw_from is None:
            msg = self.make_message(mto=to, mbody=text, mtype="chat")
            msg["id"] = id_
            msg.send()
        else:
            # Through the library's raw send, with a 'from' that is not ours.
            self.send_raw("<message xmlns='jabber:client' from='%s' to='%s' type='chat' id='%s'>"
                          "<body>%s</body></message>" % (raw_from, to, id_, text))
        return id_

    async def roster_items(self):
        iq = self.make_iq_get(queryxmlns=ROSTER)
        result = await iq.send(timeout=WAIT)
        items = {}
        for item in result.xml.find(q(ROSTER, "query")):
            items[item.get("jid")] = (item.get("subscription"),
                                      sorted(g.text for g in item.findall(q(ROSTER, "group"))))
        return items

    async def logout(self):
        self.disconnect()
        await asyncio.wait_for(self.disconnected, WAIT)


class Scenarios:
    def __init__(self, server):
        self.server = server
        self.online = []

    async def login(self, jid, show=None, status=None, presence=True):
        client = Peer(jid, ACCOUNTS[slixmpp.JID(jid).bare], self.server.certificate)
        client.connect(("127.0.0.1", self.server.port))
        self.online.append(client)
        await asyncio.wait_for(client.started, WAIT)
        check(str(client.boundjid) == jid, "asked for %s, bound %s" % (jid, client.boundjid))
        if presence:
            # As clients do: the roster first (which makes this an "interested resource",
            # RFC 6121 §1.5, that is sent subscription answers), then initial presence.
            await client.get_roster(timeout=WAIT)
            client.send_presence(pshow=show, pstatus=status)
        return client

    async def logout(self, client):
        self.online.remove(client)
        await client.logout()

    async def logout_all(self):
        for client in list(self.online):
            try:
                await self.logout(client)
            except Exception:  # noqa: BLE001 - a broken client must not hide the next scenario
                pass

    async def subscription_and_chat(self):
        alice = await self.login("alice@localhost/desk", "chat", "Alice at her desk")
        bob = await self.login("bob@localhost/shed", "away", "Bob is building")
        # alice asks, bob answers explicitly.
        alice.send_presence(pto="bob@localhost", ptype="subscribe")
        await bob.wait_for("alice's subscription request from her bare JID",
                           lambda s: is_presence(s, "alice@localhost", "subscribe"))
        bob.send_presence(pto="alice@localhost", ptype="subscribed")
        await alice.wait_for("bob's 'subscribed'",
                             lambda s: is_presence(s, "bob@localhost", "subscribed"))
        p = await alice.wait_for("bob's available presence",
                                 lambda s: is_presence(s, "bob@localhost/shed"))
        check(p["show"] == "away" and p["status"] == "Bob is building",
              "bob's presence lost show/status: " + xml_of(p))
        # and the other way round.
        bob.send_presence(pto="alice@localhost", ptype="subscribe")
        await alice.wait_for("bob's subscription request",
                             lambda s: is_presence(s, "bob@localhost", "subscribe"))
        alice.send_presence(pto="bob@localhost", ptype="subscribed")
        await bob.wait_for("alice's 'subscribed'",
                           lambda s: is_presence(s, "alice@localhost", "subscribed"))
        p = await bob.wait_for("alice's available presence",
                               lambda s: is_presence(s, "alice@localhost/desk"))
        check(p["show"] == "chat" and p["status"] == "Alice at her desk",
              "alice's presence lost show/status: " + xml_of(p))
        for client, contact in ((alice, "bob@localhost"), (bob, "alice@localhost")):
            roster = await client.roster_items()
            check(roster.get(contact, (None,))[0] == "both",
                  "%s's roster after the handshake: %r" % (client.boundjid.bare, roster))
        # Chat both ways, to the bare JID as clients do.
        alice.message("bob@localhost", "Hello Bob")
        m = await bob.wait_for("alice's message",
                               lambda s: is_message(s, "alice@localhost/desk", "Hello Bob"))
        check(m.xml.get("type") == "chat", "type lost: " + xml_of(m))
        bob.message("alice@localhost", "Hello Alice")
        await alice.wait_for("bob's reply",
                             lambda s: is_message(s, "bob@localhost/shed", "Hello Alice"))
        await self.logout(bob)
        await alice.wait_for("bob's unavailable presence",
                             lambda s: is_presence(s, "bob@localhost/shed", "unavailable"))
        await self.logout(alice)
        print("slixmpp: subscription handshake, presence with show/status both ways, chat both "
              "ways, unavailable on disconnect")

    async def offline_message(self):
        alice = await self.login("alice@localhost/desk")
        alice.message("carol@localhost", "Call me when you are back")
        # Alice's stream is handled in order: after the pong, the message has been stored.
        await alice.barrier()
        sent = datetime.datetime.now(datetime.timezone.utc)
        carol = await self.login("carol@localhost/home")
        m = await carol.wait_for("the message kept while she was offline", lambda s: is_message(
            s, "alice@localhost/desk", "Call me when you are back"))
        delay = m.xml.find(q(DELAY, "delay"))
        check(delay is not None, "no XEP-0203 <delay/>: " + xml_of(m))
        check(delay.get("from") == "localhost", "delay 'from' is not the server: " + xml_of(m))
        stamp = m["delay"]["stamp"]  # slixmpp's XEP-0082 parser
        check(isinstance(stamp, datetime.datetime) and stamp.tzinfo is not None,
              "the stamp %r does not parse as an XEP-0082 date-time" % delay.get("stamp"))
        age = (datetime.datetime.now(datetime.timezone.utc) - stamp).total_seconds()
        check(-5 <= age <= 60 and stamp <= sent + datetime.timedelta(seconds=2),
              "the stamp %s is not within the last minute (age %.1f s)" % (delay.get("stamp"), age))
        await self.logout(carol)
        await self.logout(alice)
        print("slixmpp: offline message delivered at login, delay stamp %s (%.1f s old)"
              % (delay.get("stamp"), age))

    async def spoofed_from(self):
        alice = await self.login("alice@localhost/desk")
        bob = await self.login("bob@localhost/shed")
        alice.message("bob@localhost/shed", "Who am I?", raw_from="mallory@localhost")
        m = await bob.wait_for("the message with the spoofed 'from'",
                               lambda s: is_message(s, text="Who am I?"))
        check(m.xml.get("from") == "alice@localhost/desk",
              "the 'from' was not stamped with alice's full JID: " + xml_of(m))
        # Alice's stream is still up and usable.
        alice.message("bob@localhost", "Still me")
        await bob.wait_for("alice's next message",
                           lambda s: is_message(s, "alice@localhost/desk", "Still me"))
        bob.none_of("anything from mallory",
                    lambda s: (s.xml.get("from") or "").startswith("mallory@"))
        await self.logout(bob)
        await self.logout(alice)
        print("slixmpp: spoofed from='mallory@localhost' arrived as from='alice@localhost/desk'")

    async def shared_group(self):
        members = ["carol@localhost/c", "dave@localhost/d", "erin@localhost/e"]
        clients = []
        for jid in members:
            client = await self.login(jid, "chat", "%s here" % jid.split("@")[0])
            clients.append(client)
            for other in clients[:-1]:
                # The newcomer sees those already there, and they see the newcomer.
                p = await client.wait_for("%s's presence" % other.boundjid, lambda s, o=other:
                                          is_presence(s, str(o.boundjid)))
                check(p["status"] == "%s here" % other.boundjid.user,
                      "status lost: " + xml_of(p))
                await other.wait_for("%s's presence" % client.boundjid, lambda s, c=client:
                                     is_presence(s, str(c.boundjid)))
        for client in clients:
            roster = await client.roster_items()
            expected = {c.boundjid.bare: ("both", ["Staff"]) for c in clients if c is not client}
            check(roster == expected, "%s's roster: %r, expected %r"
                  % (client.boundjid.bare, roster, expected))
            client.none_of("a subscription request",
                           lambda s: s.xml.get("type") in ("subscribe", "subscribed"))
        await self.logout(clients[2])
        for client in clients[:2]:
            await client.wait_for("erin's unavailable presence",
                                  lambda s: is_presence(s, "erin@localhost/e", "unavailable"))
        await self.logout_all()
        print("slixmpp: shared group 'Staff': presence at login without subscribing, rosters "
              "list each other with subscription both")

    async def carbons(self):
        desk = await self.login("alice@localhost/desk")
        phone = await self.login("alice@localhost/phone")
        bob = await self.login("bob@localhost/shed")
        for client in (desk, phone):
            await client["xep_0280"].enable(timeout=WAIT)
        bob.message("alice@localhost/desk", "To your desk")
        await desk.wait_for("bob's message", lambda s: is_message(s, "bob@localhost/shed",
                                                                   "To your desk"))
        c = await phone.wait_for("a <received/> carbon", lambda s: s.xml.find(
            q(CARBONS, "received")) is not None)
        check(c.xml.get("from") == "alice@localhost" and
              c.xml.get("to") == "alice@localhost/phone",
              "the carbon is not from alice's bare JID to the phone: " + xml_of(c))
        inner = c.xml.find("/".join((q(CARBONS, "received"), q(FORWARD, "forwarded"),
                                     q(CLIENT, "message"))))
        check(inner is not None and inner.get("from") == "bob@localhost/shed"
              and inner.get("to") == "alice@localhost/desk"
              and inner.findtext(q(CLIENT, "body")) == "To your desk",
              "the <received/> carbon does not forward bob's message: " + xml_of(c))
        check(c["carbon_received"]["body"] == "To your desk",
              "slixmpp does not read the carbon: " + xml_of(c))
        desk.message("bob@localhost", "From my desk")
        await bob.wait_for("alice's message", lambda s: is_message(s, "alice@localhost/desk",
                                                                    "From my desk"))
        c = await phone.wait_for("a <sent/> carbon", lambda s: s.xml.find(
            q(CARBONS, "sent")) is not None)
        inner = c.xml.find("/".join((q(CARBONS, "sent"), q(FORWARD, "forwarded"),
                                     q(CLIENT, "message"))))
        check(c.xml.get("from") == "alice@localhost" and inner is not None
              and inner.get("from") == "alice@localhost/desk"
              and inner.get("to") == "bob@localhost"
              and inner.findtext(q(CLIENT, "body")) == "From my desk",
              "the <sent/> carbon does not forward alice's message: " + xml_of(c))
        await desk.barrier()
        desk.none_of("a carbon of its own traffic", lambda s: s.xml.find(q(CARBONS, "sent"))
                     is not None or s.xml.find(q(CARBONS, "received")) is not None)
        await self.logout_all()
        print("slixmpp: carbons: <received/> and <sent/> copies on the second resource")

    async def blocking(self):
        # alice and bob have had a mutual subscription since the first scenario.
        alice = await self.login("alice@localhost/desk", "chat", "Alice at her desk")
        bob = await self.login("bob@localhost/shed", "away", "Bob is building")
        await alice.wait_for("bob's presence", lambda s: is_presence(s, "bob@localhost/shed"))
        # The client retrieves the blocklist first (XEP-0191 §3.2), so it gets the pushes.
        blocked = await bob["xep_0191"].get_blocked(timeout=WAIT)
        check(not blocked["blocklist"]["items"], "bob's blocklist at the start: " + xml_of(blocked))
        await bob["xep_0191"].block(["alice@localhost"], timeout=WAIT)
        await bob.wait_for("the block push", lambda s: is_block_push(s, "block", "alice@localhost"))
        await alice.wait_for("bob's unavailable presence once he blocked her",
                             lambda s: is_presence(s, "bob@localhost/shed", "unavailable"))
        # The blocked contact writes: nothing arrives; XEP-0191 §3.3 wants service-unavailable.
        id_ = alice.message("bob@localhost", "Are you there?")
        e = await alice.wait_for("an error for her message to the user who blocked her",
                                 lambda s: is_error(s, id_))
        _, conditions = error_conditions(e)
        check(q(STANZAS, "service-unavailable") in conditions,
              "expected <service-unavailable/>: " + xml_of(e))
        await bob.barrier()
        bob.none_of("the message of the contact he blocked",
                    lambda s: is_message(s, "alice@localhost/desk"))
        # The blocker writes: not routed, <not-acceptable/> with <blocked/> (XEP-0191 §3.3).
        id_ = bob.message("alice@localhost", "I blocked you")
        # The error type is not normative: the XEP's example has 'cancel', RFC 6120 §8.3.3.9
        # pairs not-acceptable with 'modify'.
        e = await bob.wait_for("an error for his message to a blocked JID",
                               lambda s: is_error(s, id_))
        _, conditions = error_conditions(e)
        check(q(STANZAS, "not-acceptable") in conditions
              and q(BLOCKING_ERRORS, "blocked") in conditions,
              "expected <not-acceptable/> with <blocked xmlns='%s'/>: %s"
              % (BLOCKING_ERRORS, xml_of(e)))
        await alice.barrier()
        alice.none_of("the blocker's message", lambda s: is_message(s, "bob@localhost/shed"))
        blocked = await bob["xep_0191"].get_blocked(timeout=WAIT)
        check({str(j) for j in blocked["blocklist"]["items"]} == {"alice@localhost"},
              "bob's blocklist: " + xml_of(blocked))
        # Unblocked: presence comes back (§3.4) and messages flow both ways.
        alice.received.clear()
        await bob["xep_0191"].unblock(["alice@localhost"], timeout=WAIT)
        await bob.wait_for("the unblock push",
                           lambda s: is_block_push(s, "unblock", "alice@localhost"))
        await alice.wait_for("bob's presence after he unblocked her",
                             lambda s: is_presence(s, "bob@localhost/shed"))
        alice.message("bob@localhost", "Friends again?")
        await bob.wait_for("alice's message after unblocking",
                           lambda s: is_message(s, "alice@localhost/desk", "Friends again?"))
        bob.message("alice@localhost", "Friends again")
        await alice.wait_for("bob's message after unblocking",
                             lambda s: is_message(s, "bob@localhost/shed", "Friends again"))
        await self.logout_all()
        print("slixmpp: blocking: nothing passes while blocked (service-unavailable to the "
              "blocked, not-acceptable+blocked to the blocker), all flows after unblocking")


async def run_all(server):
    scenarios = Scenarios(server)
    failures = []
    for name in ("subscription_and_chat", "offline_message", "spoofed_from", "shared_group",
                 "carbons", "blocking"):
        start = time.monotonic()
        try:
            await asyncio.wait_for(getattr(scenarios, name)(), 40)
        except Failure as e:
            failures.append("%s: %s" % (name, e))
        except Exception as e:  # noqa: BLE001
            failures.append("%s: %r\n%s" % (name, e, traceback.format_exc()))
        await scenarios.logout_all()
        print("  (%s: %.1f s)" % (name, time.monotonic() - start))
        if failures and failures[-1].startswith(name + ":"):
            print("FAIL " + failures[-1], file=sys.stderr)
    return failures


def main():
    server = Server(sys.argv[1], ACCOUNTS, config=CONFIG)
    try:
        failures = asyncio.get_event_loop().run_until_complete(run_all(server))
    except Exception as e:  # noqa: BLE001
        server.fail("exception: %r" % e)
    log = server.stop()
    if failures:
        print("--- server log ---\n" + log, file=sys.stderr)
        print("FAIL: %d scenario(s) failed:\n%s" % (len(failures), "\n".join(failures)),
              file=sys.stderr)
        sys.exit(1)
    print("slixmpp: all instant messaging scenarios passed")


if __name__ == "__main__":
    main()
