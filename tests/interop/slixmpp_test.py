"""slixmpp (python3-slixmpp) against Parley: STARTTLS and direct TLS (XEP-0368), SCRAM, bind,
XEP-0199 ping and XEP-0030 disco#info of the server; a wrong password must fail."""
import asyncio
import logging
import re
import ssl
import sys

import slixmpp

from harness import Server

logging.basicConfig(level=logging.ERROR)


class Probe(slixmpp.ClientXMPP):
    def __init__(self, jid, password, cafile):
        super().__init__(jid, password)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        # Trust the server's generated certificate, and check the name against it.
        self.ssl_context = ssl.create_default_context(cafile=cafile)
        self.result = {}
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_auth", self.failed)

    def failed(self, _event):
        self.result["failed_auth"] = True
        self.disconnect()

    async def start(self, _event):
        self.result["jid"] = str(self.boundjid)
        self.result["ping"] = await self["xep_0199"].ping(self.boundjid.domain, timeout=10)
        info = await self["xep_0030"].get_info(jid=self.boundjid.domain, timeout=10)
        self.result["features"] = set(info["disco_info"]["features"])
        self.disconnect()


def run(jid, password, cafile, port, direct_tls):
    client = Probe(jid, password, cafile)
    if direct_tls:
        client.enable_direct_tls = True
        client.connect(("127.0.0.1", port), use_ssl=True)
    else:
        client.connect(("127.0.0.1", port))
    loop = asyncio.get_event_loop()
    loop.run_until_complete(asyncio.wait_for(client.disconnected, 30))
    return client.result


def main():
    server = Server(sys.argv[1], {"alice@localhost": "wonderland"})
    try:
        for direct in (False, True):
            r = run("alice@localhost", "wonderland", server.certificate,
                    server.tls_port if direct else server.port, direct)
            what = "direct TLS" if direct else "STARTTLS"
            if not r.get("jid", "").startswith("alice@localhost/"):
                server.fail("%s: no resource bound: %r" % (what, r))
            if r.get("ping") is None:
                server.fail("%s: no ping result" % what)
            if "urn:xmpp:ping" not in r.get("features", set()):
                server.fail("%s: disco#info lacks urn:xmpp:ping: %r" % (what, r))
            print("slixmpp %s: bound %s, ping %.1f ms" % (what, r["jid"], r["ping"] * 1000))
        r = run("alice@localhost", "not-the-password", server.certificate, server.port, False)
        if "jid" in r or not r.get("failed_auth"):
            server.fail("a wrong password was not refused: %r" % r)
        print("slixmpp: wrong password refused")
    except Exception as e:  # noqa: BLE001 - any failure must show the server log
        server.fail("exception: %r" % e)
    log = server.stop()
    logins = re.findall(r"authenticated as alice@localhost \((SCRAM-[A-Z0-9-]+)\)", log)
    if len(logins) != 2:
        print(log, file=sys.stderr)
        print("FAIL: expected two SCRAM logins in the server log, found %r" % logins)
        sys.exit(1)
    print("slixmpp logged in with", ", ".join(logins))


if __name__ == "__main__":
    main()
