"""Starts the real `parley serve` for an interop test: temporary data directory, loopback,
ephemeral ports, accounts created with `parley adduser` first. Stops it with SIGTERM afterwards
and fails the test when it does not exit cleanly (exit code 0).

`config`, when given, is the text of a TOML configuration file (e.g. `[[group]]` shared roster
groups); it is written into the temporary directory and passed with `--config` to `adduser` and
`serve`, whose flags still override its data directory, address and ports."""
import os
import signal
import subprocess
import sys
import tempfile
import time


class Server:
    def __init__(self, binary, accounts, config=None):
        self.binary = binary
        self.dir = tempfile.TemporaryDirectory(prefix="parley-interop-")
        self.data = os.path.join(self.dir.name, "data")
        self.log_path = os.path.join(self.dir.name, "server.log")
        config_args = []
        if config is not None:
            self.config_path = os.path.join(self.dir.name, "parley.toml")
            with open(self.config_path, "w") as f:
                f.write(config)
            config_args = ["--config", self.config_path]
        for jid, password in accounts.items():
            subprocess.run([binary, "adduser", jid, *config_args, "--data-dir", self.data],
                           input=password + "\n", text=True, check=True,
                           capture_output=True, timeout=60)
        ports = os.path.join(self.dir.name, "ports")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", *config_args, "--data-dir", self.data, "--bind", "127.0.0.1",
             "--c2s-port", "0", "--c2s-tls-port", "0", "--s2s-port", "0", "--s2s-tls-port", "0",
             "--port-file", ports],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(ports):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.fail("the server did not start")
            time.sleep(0.05)
        with open(ports) as f:
            lines = f.read().split()
        self.port, self.tls_port = int(lines[0]), int(lines[1])
        self.certificate = os.path.join(self.data, "localhost.crt")

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def fail(self, why):
        print("FAIL:", why, file=sys.stderr)
        print("--- server log ---\n" + self.output(), file=sys.stderr)
        if self.proc.poll() is None:
            self.proc.kill()
        sys.exit(1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("the server did not stop on SIGTERM")
        if code != 0:
            self.fail("the server exited with %d" % code)
        return self.output()
