"""A slixmpp (python3-slixmpp) client for the interop tests that records every stanza it
receives, connecting to a given c2s address (no DNS lookup of the test domain through the
system resolver) with STARTTLS verified against the test CA."""
import asyncio
import ssl
import uuid

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

CLIENT = "jabber:client"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
WAIT = 10  # seconds for anything that should arrive


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def q(ns, name):
    return "{%s}%s" % (ns, name)


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


def is_error(stanza, id_, kind="message"):
    x = stanza.xml
    return x.tag == q(CLIENT, kind) and x.get("type") == "error" and x.get("id") == id_


def error_condition(stanza):
    """(error type, condition name, text) of an error stanza."""
    error = stanza.xml.find(q(CLIENT, "error"))
    if error is None:
        return None, None, None
    condition = text = None
    for child in error:
        if child.tag == q(STANZAS, "text"):
            text = child.text
        elif child.tag.startswith("{%s}" % STANZAS):
            condition = child.tag.split("}", 1)[1]
    return error.get("type"), condition, text


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, address, cafile):
        super().__init__(jid, password)
        for plugin in ("xep_0030", "xep_0199"):
            self.register_plugin(plugin)
        self.c2s = address
        self.ssl_context = ssl.create_default_context(cafile=cafile)
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
        self.add_event_handler("connection_failed", self._failed)

    async def get_dns_records(self, domain, port=None):
        # The c2s address is known: no lookup of a `.test` name through the system resolver.
        return [(self.boundjid.host, self.c2s[0], self.c2s[1])]

    def _record(self, stanza):
        self.received.append(stanza)
        self.arrived.set()

    def _started(self, _event):
        if not self.started.done():
            self.started.set_result(True)

    def _failed(self, event):
        if not self.started.done():
            self.started.set_exception(Failure("%s: could not log in: %s" % (self.boundjid,
                                                                              event)))

    async def login(self, timeout=WAIT):
        self.connect(self.c2s)
        await asyncio.wait_for(self.started, timeout)

    async def wait_for(self, what, predicate, timeout=WAIT):
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
                    self.boundjid, what, "\n  ".join(str(s) for s in self.received)
                    or "(nothing)"))
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    def message(self, to, text):
        msg = self.make_message(mto=to, mbody=text, mtype="chat")
        msg["id"] = uuid.uuid4().hex
        msg.send()
        return msg["id"]

    async def logout(self):
        self.disconnect()
        await asyncio.wait_for(self.disconnected, WAIT)
