"""A host certificate can never pass for the CA server (issue 11).

Host certificates carry serverAuth and chain to the same CA as the server's
own TLS certificate. Before the server marker, an agent accepted any
certificate of its pinned CA as the server: a host holding a certificate for
the name the agent expects could stand in for the CA server. Now the server's
certificate carries a marker no host certificate carries (O=hostca server in
its subject), and the agent and the CLIs refuse a server without it in the
TLS handshake, before any call is sent.

The rogue here holds a real host certificate of the CA, for the name the
agent is told to expect, served by `openssl s_server` and by a real
`hostca-server serve`."""

import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ROGUE_NAME = "rogue.example.test"
MARKER_REFUSAL = "not a hostca server certificate"


class OpensslServer:
    """`openssl s_server` on loopback presenting a certificate, speaking h2 in ALPN
    so that gRPC gets as far as checking the certificate."""

    def __init__(self, cert, key):
        self.port = harness.free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.process = subprocess.Popen(
            ["openssl", "s_server", "-accept", self.address, "-cert", cert, "-key", key,
             "-alpn", "h2", "-quiet", "-naccept", "100"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_until(self._listening, 20, "openssl s_server to listen")

    def _listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self):
        self.process.kill()
        self.process.wait(timeout=10)


class ServerMarkerTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            cls.server = cls.d.start_server()
            # A real host of this CA, enrolled under the name the rogue will use.
            cls.rogue_dir = harness.enrolled_agent(cls.d, cls.server,
                                                   os.path.join(cls.d.folder, "rogue"),
                                                   ROGUE_NAME)
            cls.rogue_cert = os.path.join(cls.rogue_dir, "host.pem")
            cls.rogue_key = os.path.join(cls.rogue_dir, "host.key")
            cls.fingerprint, _ = harness.fingerprints(cls.d.ca_cert)
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def openssl(self, cert, key):
        s = OpensslServer(cert, key)
        self.addCleanup(s.stop)
        return s

    def pinned_agent_pointed_at(self, name, address):
        """An agent pinned to the real CA, then told to reach `address` under ROGUE_NAME
        (as a hijacked DNS name would)."""
        agent = os.path.join(self.d.folder, name)
        harness.pin_agent(self.d, self.server, agent)
        harness.set_pin_server(agent, address)
        pin = harness.read_pin(agent)
        pin["tls_server_name"] = ROGUE_NAME
        path = os.path.join(agent, "pin.json")
        with open(path, "w") as f:
            f.write(harness.json.dumps(pin, indent=2) + "\n")
        return agent

    def test_agent_refuses_a_host_certificate_served_by_openssl_before_pinning(self):
        rogue = self.openssl(self.rogue_cert, self.rogue_key)
        agent = os.path.join(self.d.folder, "fresh-1")
        r = self.d.agent_cli(agent, "get-ca", "--server", rogue.address,
                             "--fingerprint", self.fingerprint)
        self.assertEqual(r.returncode, 3, r)
        self.assertIn(MARKER_REFUSAL, r.stderr)
        self.assertEqual(len(r.stderr_lines()), 1, r)
        self.assertFalse(os.path.exists(os.path.join(agent, "pin.json")))

    def test_control_the_real_server_certificate_passes_the_handshake(self):
        # The same openssl server with the CA server's own certificate gets past
        # the certificate check (and fails later: it speaks no gRPC).
        real = self.openssl(os.path.join(self.d.tls_dir, "server.pem"),
                            os.path.join(self.d.tls_dir, "server.key"))
        agent = os.path.join(self.d.folder, "fresh-2")
        r = self.d.agent_cli(agent, "get-ca", "--server", real.address,
                             "--fingerprint", self.fingerprint)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertNotEqual(r.returncode, 3, r)
        self.assertNotIn(MARKER_REFUSAL, r.stderr)

    def test_pinned_agent_refuses_the_rogue_and_writes_nothing(self):
        rogue = self.openssl(self.rogue_cert, self.rogue_key)
        agent = self.pinned_agent_pointed_at("pinned-1", rogue.address)
        before = harness.snapshot_dir(agent)
        r = self.d.agent_cli(agent, "fetch-crl")
        self.assertEqual(r.returncode, 3, r)
        self.assertIn(MARKER_REFUSAL, r.stderr)
        self.assertEqual(harness.snapshot_dir(agent), before)

    def test_admin_cli_refuses_the_rogue(self):
        rogue = self.openssl(self.rogue_cert, self.rogue_key)
        r = harness.run([harness.ADMIN_BIN, "--server", rogue.address, "--ca-file",
                         self.d.ca_pem_path, "--tls-server-name", ROGUE_NAME,
                         "--admin-key-file", self.d.admin_key_file, "host", "list"])
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(len(r.stderr_lines()), 1, r)
        self.assertIn(MARKER_REFUSAL, r.stderr)

    def test_a_real_grpc_server_with_a_host_certificate_is_refused(self):
        rogue = self.d.start_server(["--tls-cert", self.rogue_cert, "--tls-key", self.rogue_key])
        self.addCleanup(rogue.stop)
        agent = self.pinned_agent_pointed_at("pinned-2", rogue.address)
        before = harness.snapshot_dir(agent)
        r = self.d.agent_cli(agent, "fetch-crl")
        self.assertEqual(r.returncode, 3, r)
        self.assertIn(MARKER_REFUSAL, r.stderr)
        self.assertEqual(harness.snapshot_dir(agent), before)
        # The admin CLI refuses it; the same call to the real server works.
        admin = [harness.ADMIN_BIN, "--ca-file", self.d.ca_pem_path,
                 "--admin-key-file", self.d.admin_key_file]
        r = harness.run(admin + ["--server", rogue.address, "--tls-server-name", ROGUE_NAME,
                                 "host", "list"])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(MARKER_REFUSAL, r.stderr)
        r = harness.run(admin + ["--server", self.server.address, "host", "list"])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(ROGUE_NAME, r.stdout)
        # The rogue server itself said at start what it serves.
        self.assertIn("is not a hostca server certificate", rogue.log())

    def test_admin_cli_still_checks_the_chain_and_the_name(self):
        admin = [harness.ADMIN_BIN, "--ca-file", self.d.ca_pem_path,
                 "--admin-key-file", self.d.admin_key_file]
        # The name the client expects must be in the certificate.
        r = harness.run(admin + ["--server", self.server.address, "--tls-server-name",
                                 "evil.example", "host", "list"])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("does not name evil.example", r.stderr)
        # Another CA's server certificate carries the marker, but does not chain.
        other = harness.Deployment()
        self.addCleanup(other.close)
        b = other.start_server()
        r = harness.run(admin + ["--server", b.address, "host", "list"])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("UNAVAILABLE", r.stderr)
        self.assertNotIn(MARKER_REFUSAL, r.stderr)

    def test_the_server_certificate_carries_the_marker_and_host_certificates_do_not(self):
        with open(os.path.join(self.d.tls_dir, "server.pem"), "rb") as f:
            server = harness.x509.load_pem_x509_certificate(f.read())
        org = harness.x509.oid.NameOID.ORGANIZATION_NAME
        self.assertEqual([a.value for a in server.subject.get_attributes_for_oid(org)],
                         ["hostca server"])
        with open(self.rogue_cert, "rb") as f:
            host = harness.x509.load_pem_x509_certificate(f.read())
        self.assertEqual(host.subject.get_attributes_for_oid(org), [])
        # The reserved names: the server's DNS name is the server's in the register.
        self.assertEqual(self.d.pg.psql("SELECT count(*) FROM host_names WHERE host_id IS NULL"),
                         "0")  # init's default names are localhost and 127.0.0.1 only


if __name__ == "__main__":
    unittest.main()
