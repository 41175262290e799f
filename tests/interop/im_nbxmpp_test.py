"""Instant messaging between real nbxmpp clients (python3-nbxmpp, Gajim's protocol library) through
Parley, the same scenarios as im_slixmpp_test.py:

1. presence subscription handshake answered by the users themselves (RFC 6121 §3.1), presence
   with show and status both ways, chat messages both ways, unavailable presence on disconnect;
2. a message to an offline user arrives at the next login with a XEP-0203 delay stamp (XEP-0160);
3. the server stamps the real full JID over a spoofed 'from' (RFC 6120 §8.1.2.1);
4. a [[group]] of the config file: its members see each other's presence at login without
   subscribing, and their rosters list each other with subscription 'both' under the group;
5. XEP-0280 carbons between two resources of one account, <received/> and <sent/>;
6. XEP-0191 blocking with nbxmpp's Blocking module.

Each client records every stanza as it arrived on the stream (nbxmpp's
'stanza-received' signal, before any unwrapping) and as nbxmpp understood it (its handlers'
properties: carbons unwrapped, server delay parsed). A check that expects nothing to arrive uses a
ping round trip of the recipient as a barrier, not a sleep. Every scenario runs, each failure is
reported, and the test fails if any did."""
import sys
import time
import traceback
import uuid
from xml.sax.saxutils import escape

from gi.repository import GLib, Gio
from nbxmpp.client import Client
from nbxmpp.const import ConnectionProtocol, ConnectionType
from nbxmpp.modules.date_and_time import parse_datetime
from nbxmpp.namespaces import Namespace
from nbxmpp.protocol import JID, Iq, Message
from nbxmpp.simplexml import Node
from nbxmpp.structs import StanzaHandler

from harness import Server

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
BLOCKING_ERRORS = "urn:xmpp:blocking:errors"
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


def pump(condition, timeout=WAIT):
    """Runs GLib's main loop until condition() holds; False on timeout."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        context.iteration(True)  # the ticker below wakes it at least every 50 ms
    return True


GLib.timeout_add(50, lambda: True)


def is_message(node, sender=None, text=None):
    return (node.getName() == "message" and node.getAttr("type") != "error"
            and (sender is None or node.getAttr("from") == sender)
            and (text is None or node.getTagData("body") == text))


def is_presence(node, sender, type_=None):
    return (node.getName() == "presence" and node.getAttr("from") == sender
            and node.getAttr("type") == type_)


def is_error(node, id_):
    return (node.getName() == "message" and node.getAttr("type") == "error"
            and node.getAttr("id") == id_)


def is_block_push(node, command, jid):
    e = node.getTag(command, namespace=Namespace.BLOCKING)
    return (node.getName() == "iq" and node.getAttr("type") == "set" and e is not None
            and [i.getAttr("jid") for i in e.getTags("item")] == [jid])


def error_conditions(node):
    error = node.getTag("error")
    if error is None:
        return None, set()
    return error.getAttr("type"), {(c.getNamespace(), c.getName()) for c in error.getChildren()}


class Peer:
    """One nbxmpp client connection that records every stanza it receives."""

    def __init__(self, server, jid):
        self.jid = jid
        user, rest = jid.split("@")
        domain, resource = rest.split("/")
        self.client = client = Client()
        client.set_domain(domain)
        client.set_username(user)
        client.set_password(ACCOUNTS["%s@%s" % (user, domain)])
        client.set_resource(resource)
        with open(server.certificate, "rb") as f:
            cert = Gio.TlsCertificate.new_from_pem(f.read().decode(), -1)
        client.set_accepted_certificates([cert])
        client.set_custom_host("127.0.0.1:%d" % server.port, ConnectionProtocol.TCP,
                               ConnectionType.START_TLS)
        client.set_mechs(["SCRAM-SHA-256", "SCRAM-SHA-1"])
        self.received = []  # raw stanzas (message, presence, iq), as they came
        self.parsed = []  # (stanza, properties) after nbxmpp's own handlers
        self.state = None
        self.tasks = []  # nbxmpp holds done-callbacks weakly; keep tasks and callbacks here
        client.subscribe("connected", lambda *_: setattr(self, "state", "bound"))
        client.subscribe("disconnected", lambda *_: setattr(self, "state", "closed"))
        client.subscribe("connection-failed", lambda *_: setattr(self, "state", "failed"))
        client.subscribe("stanza-received", self._raw)
        for name in ("message", "presence"):
            client.register_handler(StanzaHandler(name=name, callback=self._parsed, priority=90))

    def _raw(self, _client, _signal, node):
        if node.getName() in ("message", "presence", "iq"):
            # nbxmpp's parser builds every stanza into the same Node object: keep a copy.
            self.received.append(Node(node=str(node)))

    def _parsed(self, _client, stanza, properties):
        self.parsed.append((stanza, properties))

    def login(self, show=None, status=None, presence=True):
        self.client.connect()
        if not pump(lambda: self.state is not None) or self.state != "bound":
            raise Failure("%s did not log in: %s" % (self.jid, self.state))
        bound = str(self.client.get_bound_jid())
        check(bound == self.jid, "asked for %s, bound %s" % (self.jid, bound))
        if presence:
            # As Gajim does: the roster first (which makes this an "interested resource",
            # RFC 6121 §1.5, that is sent subscription answers), then initial presence.
            self.roster()
            self.client.get_module("BasePresence").send(show=show, status=status)

    def logout(self):
        if self.state == "bound":
            self.client.disconnect()
            pump(lambda: self.state != "bound")
        check(self.state == "closed", "%s did not disconnect: %s" % (self.jid, self.state))

    def wait_for(self, what, predicate, timeout=WAIT, parsed=False):
        """The first received stanza matching predicate, waiting for it if need be."""
        source = self.parsed if parsed else self.received
        found = []

        def look():
            found[:] = [s for s in source if predicate(s)][:1]
            return bool(found)

        if not pump(look, timeout):
            raise Failure("%s never received %s; it received:\n  %s" % (
                self.jid, what, "\n  ".join(str(s) for s in self.received) or "(nothing)"))
        return found[0]

    def none_of(self, what, predicate):
        found = [s for s in self.received if predicate(s)]
        check(not found, "%s received %s: %s" % (self.jid, what, "; ".join(map(str, found))))

    def call(self, request, *args):
        """Runs an nbxmpp IQ request task, e.g. call(module.block, jids), and returns its result.
        The result is only readable in the task's done-callback (it is cleared afterwards), and
        nbxmpp holds that callback weakly: self.tasks keeps it alive."""
        outcome = []

        def done(task):
            try:
                outcome.append((True, task.finish()))
            except Exception as e:  # noqa: BLE001 - re-raised below
                outcome.append((False, e))

        self.tasks.append(done)
        self.tasks.append(request(*args, callback=done))
        if not pump(lambda: outcome):
            raise Failure("%s: no answer to %s%r" % (self.jid, request.__name__, args))
        ok, value = outcome[0]
        if not ok:
            raise Failure("%s: %s%r failed: %s" % (self.jid, request.__name__, args,
                                                    getattr(value, "stanza", None) or repr(value)))
        return value

    def iq(self, iq):
        answer = []

        def on_answer(_client, stanza):
            answer.append(stanza)

        self.tasks.append(on_answer)
        self.client.send_stanza(iq, callback=on_answer)
        if not pump(lambda: answer):
            raise Failure("%s: no answer to %s" % (self.jid, iq))
        return answer[0]

    def barrier(self):
        """A round trip to the server: whatever was routed to us before is now received."""
        self.call(self.client.get_module("Ping").ping, self.client.get_bound_jid().domain)

    def presence(self, to, type_):
        self.client.get_module("BasePresence").send(jid=to, typ=type_)

    def message(self, to, text, raw_from=None):
        id_ = uuid.uuid4().hex
        if raw_from is None:
            msg = Message(to=to, body=text, typ="chat")
            msg.setID(id_)
            self.client.send_stanza(msg)
        else:
            # Raw XML through nbxmpp's send_nonza, with a 'from' that is not ours.
            self.client.send_nonza(
                "<message xmlns='jabber:client' from='%s' to='%s' type='chat' id='%s'>"
                "<body>%s</body></message>" % (raw_from, to, id_, escape(text)))
        return id_

    def roster(self):
        # nbxmpp asks with ver='' (roster versioning, RFC 6121 §2.6); an empty result (items
        # None) would say "nothing changed since that version": no items.
        data = self.call(self.client.get_module("Roster").request_roster)
        return {str(i.jid): (i.subscription, sorted(i.groups)) for i in data.items or []}


class Scenarios:
    def __init__(self, server):
        self.server = server
        self.online = []

    def login(self, jid, show=None, status=None, presence=True):
        peer = Peer(self.server, jid)
        self.online.append(peer)
        peer.login(show, status, presence)
        return peer

    def logout(self, peer):
        self.online.remove(peer)
        peer.logout()

    def logout_all(self):
        for peer in list(self.online):
            try:
                self.logout(peer)
            except Exception:  # noqa: BLE001 - a broken client must not hide the next scenario
                pass

    def subscription_and_chat(self):
        alice = self.login("alice@localhost/gajim", "chat", "Alice at her desk")
        bob = self.login("bob@localhost/laptop", "dnd", "Bob is building")
        alice.presence("bob@localhost", "subscribe")
        bob.wait_for("alice's subscription request from her bare JID",
                     lambda s: is_presence(s, "alice@localhost", "subscribe"))
        bob.presence("alice@localhost", "subscribed")
        alice.wait_for("bob's 'subscribed'",
                       lambda s: is_presence(s, "bob@localhost", "subscribed"))
        p = alice.wait_for("bob's available presence",
                           lambda s: is_presence(s, "bob@localhost/laptop"))
        check(p.getTagData("show") == "dnd" and p.getTagData("status") == "Bob is building",
              "bob's presence lost show/status: %s" % p)
        _, props = alice.wait_for("bob's presence as nbxmpp reads it", lambda sp: sp[0].getName()
            == "presence" and str(sp[1].jid) == "bob@localhost/laptop"
            and sp[1].type.is_available, parsed=True)
        check(props.show.value == "dnd" and props.status == "Bob is building",
              "nbxmpp reads bob's presence as %s/%r" % (props.show, props.status))
        bob.presence("alice@localhost", "subscribe")
        alice.wait_for("bob's subscription request",
                       lambda s: is_presence(s, "bob@localhost", "subscribe"))
        alice.presence("bob@localhost", "subscribed")
        bob.wait_for("alice's 'subscribed'",
                     lambda s: is_presence(s, "alice@localhost", "subscribed"))
        p = bob.wait_for("alice's available presence",
                         lambda s: is_presence(s, "alice@localhost/gajim"))
        check(p.getTagData("show") == "chat" and p.getTagData("status") == "Alice at her desk",
              "alice's presence lost show/status: %s" % p)
        for peer, contact in ((alice, "bob@localhost"), (bob, "alice@localhost")):
            roster = peer.roster()
            check(roster.get(contact, (None,))[0] == "both",
                  "%s's roster after the handshake: %r" % (peer.jid, roster))
        alice.message("bob@localhost", "Hello Bob")
        m = bob.wait_for("alice's message",
                         lambda s: is_message(s, "alice@localhost/gajim", "Hello Bob"))
        check(m.getAttr("type") == "chat", "type lost: %s" % m)
        bob.message("alice@localhost", "Hello Alice")
        alice.wait_for("bob's reply",
                       lambda s: is_message(s, "bob@localhost/laptop", "Hello Alice"))
        self.logout(bob)
        alice.wait_for("bob's unavailable presence",
                       lambda s: is_presence(s, "bob@localhost/laptop", "unavailable"))
        self.logout(alice)
        print("nbxmpp: subscription handshake, presence with show/status both ways, chat both "
              "ways, unavailable on disconnect")

    def offline_message(self):
        alice = self.login("alice@localhost/gajim")
        alice.message("carol@localhost", "Call me when you are back")
        alice.barrier()  # alice's stream is handled in order: the message is stored now
        sent = time.time()
        carol = self.login("carol@localhost/home")
        m = carol.wait_for("the message kept while she was offline", lambda s: is_message(
            s, "alice@localhost/gajim", "Call me when you are back"))
        delay = m.getTag("delay", namespace=Namespace.DELAY2)
        check(delay is not None, "no XEP-0203 <delay/>: %s" % m)
        check(delay.getAttr("from") == "localhost", "delay 'from' is not the server: %s" % m)
        stamp = parse_datetime(delay.getAttr("stamp"), check_utc=True, epoch=True)
        check(stamp is not None,
              "the stamp %r does not parse as an XEP-0082 date-time" % delay.getAttr("stamp"))
        age = time.time() - stamp
        check(-5 <= age <= 60 and stamp <= sent + 2,
              "the stamp %s is not within the last minute (age %.1f s)"
              % (delay.getAttr("stamp"), age))
        _, props = carol.wait_for("the message as nbxmpp reads it", lambda sp: getattr(
            sp[1], "body", None) == "Call me when you are back", parsed=True)
        check(props.has_server_delay and abs(props.timestamp - stamp) < 1,
              "nbxmpp does not take the server's delay: has_server_delay=%s timestamp=%s"
              % (props.has_server_delay, props.timestamp))
        self.logout(carol)
        self.logout(alice)
        print("nbxmpp: offline message delivered at login, delay stamp %s (%.1f s old)"
              % (delay.getAttr("stamp"), age))

    def spoofed_from(self):
        alice = self.login("alice@localhost/gajim")
        bob = self.login("bob@localhost/laptop")
        alice.message("bob@localhost/laptop", "Who am I?", raw_from="mallory@localhost")
        m = bob.wait_for("the message with the spoofed 'from'",
                         lambda s: is_message(s, text="Who am I?"))
        check(m.getAttr("from") == "alice@localhost/gajim",
              "the 'from' was not stamped with alice's full JID: %s" % m)
        alice.message("bob@localhost", "Still me")
        bob.wait_for("alice's next message",
                     lambda s: is_message(s, "alice@localhost/gajim", "Still me"))
        bob.none_of("anything from mallory",
                    lambda s: (s.getAttr("from") or "").startswith("mallory@"))
        self.logout(bob)
        self.logout(alice)
        print("nbxmpp: spoofed from='mallory@localhost' arrived as from='alice@localhost/gajim'")

    def shared_group(self):
        peers = []
        for jid in ("carol@localhost/c", "dave@localhost/d", "erin@localhost/e"):
            peer = self.login(jid, "away", "%s here" % jid.split("@")[0])
            peers.append(peer)
            for other in peers[:-1]:
                p = peer.wait_for("%s's presence" % other.jid,
                                  lambda s, o=other: is_presence(s, o.jid))
                check(p.getTagData("status") == "%s here" % other.jid.split("@")[0]
                      and p.getTagData("show") == "away", "show/status lost: %s" % p)
                other.wait_for("%s's presence" % peer.jid,
                               lambda s, n=peer: is_presence(s, n.jid))
        for peer in peers:
            roster = peer.roster()
            expected = {o.jid.split("/")[0]: ("both", ["Staff"]) for o in peers if o is not peer}
            check(roster == expected, "%s's roster: %r, expected %r" % (peer.jid, roster, expected))
            peer.none_of("a subscription request",
                         lambda s: s.getAttr("type") in ("subscribe", "subscribed"))
        self.logout(peers[2])
        for peer in peers[:2]:
            peer.wait_for("erin's unavailable presence",
                          lambda s: is_presence(s, "erin@localhost/e", "unavailable"))
        self.logout_all()
        print("nbxmpp: shared group 'Staff': presence at login without subscribing, rosters "
              "list each other with subscription both")

    def carbons(self):
        desk = self.login("alice@localhost/gajim")
        phone = self.login("alice@localhost/phone")
        bob = self.login("bob@localhost/laptop")
        for peer in (desk, phone):
            iq = Iq("set")
            iq.addChild("enable", namespace=Namespace.CARBONS)
            answer = peer.iq(iq)
            check(answer.getType() == "result", "carbons not enabled: %s" % answer)
        bob.message("alice@localhost/gajim", "To your desk")
        desk.wait_for("bob's message", lambda s: is_message(s, "bob@localhost/laptop",
                                                             "To your desk"))
        c = phone.wait_for("a <received/> carbon", lambda s: s.getName() == "message" and s.getTag(
            "received", namespace=Namespace.CARBONS) is not None)
        inner = c.getTag("received", namespace=Namespace.CARBONS).getTag(
            "forwarded", namespace=Namespace.FORWARD)
        inner = inner.getTag("message") if inner is not None else None
        check(c.getAttr("from") == "alice@localhost" and c.getAttr("to") == "alice@localhost/phone"
              and inner is not None and inner.getAttr("from") == "bob@localhost/laptop"
              and inner.getAttr("to") == "alice@localhost/gajim"
              and inner.getTagData("body") == "To your desk",
              "the <received/> carbon does not forward bob's message: %s" % c)
        _, props = phone.wait_for("the carbon as nbxmpp reads it", lambda sp: getattr(
            sp[1], "carbon", None) is not None and sp[1].carbon.is_received, parsed=True)
        check(props.body == "To your desk" and str(props.jid) == "bob@localhost/laptop",
              "nbxmpp unwraps the carbon as %r from %s" % (props.body, props.jid))
        desk.message("bob@localhost", "From my desk")
        bob.wait_for("alice's message", lambda s: is_message(s, "alice@localhost/gajim",
                                                              "From my desk"))
        c = phone.wait_for("a <sent/> carbon", lambda s: s.getName() == "message" and s.getTag(
            "sent", namespace=Namespace.CARBONS) is not None)
        inner = c.getTag("sent", namespace=Namespace.CARBONS).getTag(
            "forwarded", namespace=Namespace.FORWARD)
        inner = inner.getTag("message") if inner is not None else None
        check(c.getAttr("from") == "alice@localhost" and inner is not None
              and inner.getAttr("from") == "alice@localhost/gajim"
              and inner.getAttr("to") == "bob@localhost"
              and inner.getTagData("body") == "From my desk",
              "the <sent/> carbon does not forward alice's message: %s" % c)
        _, props = phone.wait_for("the sent carbon as nbxmpp reads it", lambda sp: getattr(
            sp[1], "carbon", None) is not None and sp[1].carbon.is_sent, parsed=True)
        check(props.body == "From my desk", "nbxmpp unwraps the sent carbon as %r" % props.body)
        desk.barrier()
        desk.none_of("a carbon of its own traffic", lambda s: s.getTag(
            "sent", namespace=Namespace.CARBONS) is not None or s.getTag(
            "received", namespace=Namespace.CARBONS) is not None)
        self.logout_all()
        print("nbxmpp: carbons: <received/> and <sent/> copies on the second resource")

    def blocking(self):
        # alice and bob have had a mutual subscription since the first scenario.
        alice = self.login("alice@localhost/gajim", "chat", "Alice at her desk")
        bob = self.login("bob@localhost/laptop", "dnd", "Bob is building")
        alice.wait_for("bob's presence", lambda s: is_presence(s, "bob@localhost/laptop"))
        blocking = bob.client.get_module("Blocking")
        blocked = bob.call(blocking.request_blocking_list)
        check(blocked == set(), "bob's blocklist at the start: %r" % blocked)
        bob.call(blocking.block, [JID.from_string("alice@localhost")])
        bob.wait_for("the block push", lambda s: is_block_push(s, "block", "alice@localhost"))
        alice.wait_for("bob's unavailable presence once he blocked her",
                       lambda s: is_presence(s, "bob@localhost/laptop", "unavailable"))
        id_ = alice.message("bob@localhost", "Are you there?")
        e = alice.wait_for("an error for her message to the user who blocked her",
                           lambda s: is_error(s, id_))
        _, conditions = error_conditions(e)
        check((STANZAS, "service-unavailable") in conditions,
              "expected <service-unavailable/>: %s" % e)
        bob.barrier()
        bob.none_of("the message of the contact he blocked",
                    lambda s: is_message(s, "alice@localhost/gajim"))
        id_ = bob.message("alice@localhost", "I blocked you")
        # The error type is not normative: the XEP's example has 'cancel', RFC 6120 §8.3.3.9
        # pairs not-acceptable with 'modify'.
        e = bob.wait_for("an error for his message to a blocked JID", lambda s: is_error(s, id_))
        _, conditions = error_conditions(e)
        check((STANZAS, "not-acceptable") in conditions
              and (BLOCKING_ERRORS, "blocked") in conditions,
              "expected <not-acceptable/> with <blocked xmlns='%s'/>: %s" % (BLOCKING_ERRORS, e))
        alice.barrier()
        alice.none_of("the blocker's message", lambda s: is_message(s, "bob@localhost/laptop"))
        blocked = bob.call(blocking.request_blocking_list)
        check({str(j) for j in blocked} == {"alice@localhost"}, "bob's blocklist: %r" % blocked)
        alice.received.clear()
        bob.call(blocking.unblock, [JID.from_string("alice@localhost")])
        bob.wait_for("the unblock push", lambda s: is_block_push(s, "unblock", "alice@localhost"))
        alice.wait_for("bob's presence after he unblocked her",
                       lambda s: is_presence(s, "bob@localhost/laptop"))
        alice.message("bob@localhost", "Friends again?")
        bob.wait_for("alice's message after unblocking",
                     lambda s: is_message(s, "alice@localhost/gajim", "Friends again?"))
        bob.message("alice@localhost", "Friends again")
        alice.wait_for("bob's message after unblocking",
                       lambda s: is_message(s, "bob@localhost/laptop", "Friends again"))
        self.logout_all()
        print("nbxmpp: blocking: nothing passes while blocked (service-unavailable to the "
              "blocked, not-acceptable+blocked to the blocker), all flows after unblocking")


def main():
    server = Server(sys.argv[1], ACCOUNTS, config=CONFIG)
    scenarios = Scenarios(server)
    failures = []
    for name in ("subscription_and_chat", "offline_message", "spoofed_from", "shared_group",
                 "carbons", "blocking"):
        start = time.monotonic()
        try:
            getattr(scenarios, name)()
        except Failure as e:
            failures.append("%s: %s" % (name, e))
        except Exception as e:  # noqa: BLE001
            failures.append("%s: %r\n%s" % (name, e, traceback.format_exc()))
        scenarios.logout_all()
        print("  (%s: %.1f s)" % (name, time.monotonic() - start))
        if failures and failures[-1].startswith(name + ":"):
            print("FAIL " + failures[-1], file=sys.stderr)
    log = server.stop()
    if failures:
        print("--- server log ---\n" + log, file=sys.stderr)
        print("FAIL: %d scenario(s) failed:\n%s" % (len(failures), "\n".join(failures)),
              file=sys.stderr)
        sys.exit(1)
    print("nbxmpp: all instant messaging scenarios passed")


if __name__ == "__main__":
    main()
