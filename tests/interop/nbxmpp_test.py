"""nbxmpp (python3-nbxmpp, Gajim's protocol library) against Parley: STARTTLS and direct TLS,
SCRAM (PLAIN not allowed), bind, XEP-0199 ping; a wrong password must fail."""
import re
import sys

from gi.repository import GLib, Gio
from nbxmpp.client import Client
from nbxmpp.const import ConnectionProtocol, ConnectionType

from harness import Server


def run(server, user, password, direct_tls):
    loop = GLib.MainLoop()
    result = {}
    client = Client()
    client.set_domain("localhost")
    client.set_username(user)
    client.set_password(password)
    client.set_resource("gajim")
    # The certificate is self-signed: accept exactly this one, as Gajim does when its user has
    # checked the fingerprint and pressed "Add to trusted certificates".
    with open(server.certificate, "rb") as f:
        cert = Gio.TlsCertificate.new_from_pem(f.read().decode(), -1)
    client.set_accepted_certificates([cert])
    port = server.tls_port if direct_tls else server.port
    kind = ConnectionType.DIRECT_TLS if direct_tls else ConnectionType.START_TLS
    client.set_custom_host("127.0.0.1:%d" % port, ConnectionProtocol.TCP, kind)
    client.set_mechs(["SCRAM-SHA-256", "SCRAM-SHA-1"])  # SCRAM only

    def on_login(_client, _signal):
        result["jid"] = str(client.get_bound_jid())

        def on_pong(task):
            try:
                task.finish()
                result["ping"] = True
            except Exception as e:  # noqa: BLE001
                result["ping_error"] = repr(e)
            client.disconnect()

        # nbxmpp holds done-callbacks weakly: keep this one alive.
        result["on_pong"] = on_pong
        result["task"] = client.get_module("Ping").ping("localhost", callback=on_pong)

    def on_end(_client, signal):
        result.setdefault("end", signal)
        loop.quit()

    client.subscribe("connected", on_login)  # after resource binding
    client.subscribe("disconnected", on_end)
    client.subscribe("connection-failed", on_end)
    GLib.timeout_add_seconds(30, lambda: (result.setdefault("end", "timeout"), loop.quit()))
    client.connect()
    loop.run()
    return result


def main():
    server = Server(sys.argv[1], {"bob@localhost": "builder"})
    try:
        for direct in (False, True):
            what = "direct TLS" if direct else "STARTTLS"
            r = run(server, "bob", "builder", direct)
            if not r.get("jid", "").startswith("bob@localhost/gajim"):
                server.fail("nbxmpp %s: not bound: %r" % (what, r))
            if not r.get("ping"):
                server.fail("nbxmpp %s: no ping result: %r" % (what, r))
            print("nbxmpp %s: bound %s, ping answered" % (what, r["jid"]))
        r = run(server, "bob", "wrong", False)
        if "jid" in r:
            server.fail("nbxmpp: a wrong password was accepted: %r" % r)
        print("nbxmpp: wrong password refused (%s)" % r.get("end"))
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        server.fail("exception: %r" % e)
    log = server.stop()
    logins = re.findall(r"authenticated as bob@localhost \((SCRAM-[A-Z0-9-]+)\)", log)
    if len(logins) != 2:
        print(log, file=sys.stderr)
        print("FAIL: expected two SCRAM logins in the server log, found %r" % logins)
        sys.exit(1)
    print("nbxmpp logged in with", ", ".join(logins))


if __name__ == "__main__":
    main()
