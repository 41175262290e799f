"""A private certificate authority made with the `openssl` command line, for one test run.

`PKI(directory)` creates the CA ("Parley Interop Test CA") and a second, "untrusted" CA that
never signs anything: a server given only the untrusted CA as its trust anchors cannot validate
any peer certificate, which is how the dialback runs are made. `issue(domain)` makes a leaf for
an XMPP server domain:

- P-256 key, valid for 30 days from now (all peers share this machine's clock);
- subjectAltName DNS:<domain> and DNS:*.<domain> only. No id-on-xmppAddr: ejabberd 23.01
  crashes (badarg in SASL EXTERNAL) on a trusted peer certificate that carries one;
- extendedKeyUsage serverAuth + clientAuth: the initiating server of an s2s connection presents
  the same certificate as a TLS client certificate;
- files: <domain>.crt (leaf), <domain>.key, <domain>.chain.crt (leaf + CA), <domain>.pem (key +
  leaf + CA, the form ejabberd's `certfiles` wants)."""
import os

from .proc import run

CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]


class Leaf:
    def __init__(self, directory, domain):
        base = os.path.join(directory, domain)
        self.domain = domain
        self.cert = base + ".crt"
        self.key = base + ".key"
        self.chain = base + ".chain.crt"
        self.pem = base + ".pem"


class PKI:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_cert = os.path.join(directory, "ca.crt")
        self.ca_key = os.path.join(directory, "ca.key")
        self.untrusted_ca_cert = os.path.join(directory, "untrusted-ca.crt")
        self.untrusted_ca_key = os.path.join(directory, "untrusted-ca.key")
        self.leaves = {}
        self._make_ca(self.ca_cert, self.ca_key, "Parley Interop Test CA")
        self._make_ca(self.untrusted_ca_cert, self.untrusted_ca_key,
                      "Parley Interop Untrusted CA (signs nothing)")

    def _make_ca(self, cert, key, name):
        run(["openssl", "req", "-x509", *CURVE, "-nodes", "-keyout", key, "-out", cert,
             "-days", "30", "-subj", "/O=Parley interop tests/CN=" + name,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash"], "openssl: CA " + name)

    def issue(self, domain):
        if domain in self.leaves:
            return self.leaves[domain]
        leaf = Leaf(self.dir, domain)
        csr = os.path.join(self.dir, domain + ".csr")
        ext = os.path.join(self.dir, domain + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints = critical, CA:FALSE\n"
                    "keyUsage = critical, digitalSignature, keyEncipherment\n"
                    "extendedKeyUsage = serverAuth, clientAuth\n"
                    "subjectAltName = DNS:%s, DNS:*.%s\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid\n" % (domain, domain))
        run(["openssl", "req", "-new", *CURVE, "-nodes", "-keyout", leaf.key, "-out", csr,
             "-subj", "/O=Parley interop tests/CN=" + domain], "openssl: key for " + domain)
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "30",
             "-extfile", ext, "-out", leaf.cert], "openssl: certificate for " + domain)
        with open(self.ca_cert) as f:
            ca = f.read()
        with open(leaf.cert) as f:
            cert = f.read()
        with open(leaf.key) as f:
            key = f.read()
        with open(leaf.chain, "w") as f:
            f.write(cert + ca)
        with open(leaf.pem, "w") as f:
            f.write(key + cert + ca)
        for path in (leaf.key, leaf.pem):
            os.chmod(path, 0o600)
        os.remove(csr)
        self.leaves[domain] = leaf
        return leaf
