"""The fleet through a CA key rollover, with the real binaries (issue 14):
20 `hostca-agent` folders enrolled under CA key 1; `ca rollover start`; one
`renew --if-due` each pins key 2 with no operator step; `activate`; one more
`renew --if-due` each leaves every host with a certificate of key 2;
`finish`. No agent exits 3, no call fails, and `openssl verify` accepts every
host certificate against its own CA and, for a relying party that trusts only
key 1, with newWithOld as the intermediate. Then the same agents facing a
server whose CA was replaced without a link (a third CA, another database,
the same address) exit 3, write nothing, and the report reaches its admins."""

import hashlib
import json
import os
import subprocess
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

AGENTS = 20
PARALLEL = 4


def folder_digest(path):
    """Every file of an agent folder, name and content."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(path)):
        h.update(name.encode() + b"\0")
        with open(os.path.join(path, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def spki_sha256(cert):
    return hashlib.sha256(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def pinned_spkis(agent_dir):
    pin = harness.read_pin(agent_dir)
    return {pin["spki_sha256"]} | {k["spki_sha256"] for k in pin.get("other_keys", [])}


class RolloverFleetTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=2)
        try:
            cls.server = cls.d.start_server()
            harness.wait_for_crls(cls.server, 2)
            cls.agents = []

            def enrol(i):
                path = os.path.join(cls.d.folder, "agent%02d" % i)
                os.makedirs(path, mode=0o700)
                os.chmod(path, 0o700)
                return harness.enrolled_agent(cls.d, cls.server, path, "fleet%02d.example" % i)
            with ThreadPoolExecutor(PARALLEL) as pool:
                cls.agents = list(pool.map(enrol, range(AGENTS)))
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def run_all(self, *args):
        with ThreadPoolExecutor(PARALLEL) as pool:
            return list(pool.map(lambda a: self.d.agent_cli(a, *args), self.agents))

    def rollover(self, *args, passphrase=False):
        extra = ["--passphrase-file", self.d.passphrase_file] if passphrase else []
        r = self.d.server_cli("ca", "rollover", *args, "--database", self.d.pg.conninfo, *extra)
        self.assertEqual(r.returncode, 0, r)
        return r

    def key(self, generation):
        return x509.load_der_x509_certificate(bytes.fromhex(self.d.pg.psql(
            "SELECT encode(certificate_der, 'hex') FROM ca_keys WHERE generation = %d"
            % generation)))

    def new_with_old(self):
        return x509.load_der_x509_certificate(bytes.fromhex(self.d.pg.psql(
            "SELECT encode(new_with_old_der, 'hex') FROM ca_keys WHERE generation = 2")))

    def openssl_verify(self, ca, leaf_path, untrusted=None):
        ca_path = harness.write_bytes(os.path.join(self.d.folder, "rp-ca.pem"),
                                      ca.public_bytes(serialization.Encoding.PEM))
        args = ["openssl", "verify", "-CAfile", ca_path]
        if untrusted is not None:
            args += ["-untrusted", harness.write_bytes(
                os.path.join(self.d.folder, "rp-link.pem"),
                untrusted.public_bytes(serialization.Encoding.PEM))]
        return subprocess.run(args + [leaf_path], capture_output=True, text=True, timeout=30)

    def assert_all_ok(self, results, what):
        for agent, r in zip(self.agents, results):
            self.assertEqual(r.returncode, 0, "%s: %s: %r" % (what, agent, r))

    def test_the_fleet_follows_a_planned_rollover_and_refuses_a_replaced_ca(self):
        key1 = self.key(1)
        key1_spki = spki_sha256(key1)
        for a in self.agents:
            self.assertEqual(pinned_spkis(a), {key1_spki})

        # start: one daily run each pins key 2, through its link.
        self.rollover("start", passphrase=True)
        key2 = self.key(2)
        key2_spki = spki_sha256(key2)
        harness.wait_until(lambda: len(self.server.host_stub().GetCACertificate(
            harness.host_pb2.GetCACertificateRequest(), timeout=harness.RPC_TIMEOUT).ca_keys) == 2,
            15, "the server to announce key 2")
        self.assert_all_ok(self.run_all("renew", "--if-due"), "renew --if-due after start")
        for a in self.agents:
            self.assertEqual(pinned_spkis(a), {key1_spki, key2_spki}, a)
            self.assertEqual(harness.read_pin(a)["spki_sha256"], key1_spki, a)
            # Not due and key 1 still issues: the certificate is still key 1's.
            harness.verify_signed_by(harness.agent_identity(a)["cert"], key1)
        # Admins see the spread.
        status = json.loads(self.d.admin_cli(self.server, "--json", "ca", "status").stdout)
        self.assertEqual(status["phase"], "propagate")
        trusting = {k["generation"]: k["hosts_trusting"] for k in status["keys"]}
        self.assertEqual(trusting, {1: AGENTS, 2: AGENTS})

        # activate: the next daily run renews every host onto key 2.
        self.rollover("activate")
        harness.wait_until(lambda: self.server.host_stub().GetCACertificate(
            harness.host_pb2.GetCACertificateRequest(), timeout=harness.RPC_TIMEOUT
        ).spki_sha256 == key2_spki, 15, "the server to issue with key 2")
        self.assert_all_ok(self.run_all("renew", "--if-due"), "renew --if-due after activate")
        nwo = self.new_with_old()
        for a in self.agents:
            cert = harness.agent_identity(a)["cert"]
            harness.verify_signed_by(cert, key2)
            self.assertEqual(harness.read_pin(a)["spki_sha256"], key2_spki, a)
            leaf = os.path.join(a, "host.pem")
            ok = self.openssl_verify(key2, leaf)
            self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
            only_key1 = self.openssl_verify(key1, leaf, untrusted=nwo)
            self.assertEqual(only_key1.returncode, 0, only_key1.stdout + only_key1.stderr)
        status = json.loads(self.d.admin_cli(self.server, "--json", "ca", "status").stdout)
        self.assertEqual({k["generation"]: k["valid_certificates"] for k in status["keys"]}[2],
                         AGENTS)

        # finish: every host holds a certificate of key 2, so it goes through;
        # renewal revokes nothing, so key 1's certificates stay valid until they
        # expire. The agents drop key 1 on their next run.
        self.rollover("finish")
        self.assertEqual(int(self.d.pg.psql(
            "SELECT count(*) FROM certificates WHERE ca_generation = 1 AND kind <> 'server'"
            " AND revoked_at IS NULL")), AGENTS)
        self.assert_all_ok(self.run_all("renew", "--if-due"), "renew --if-due after finish")
        for a in self.agents:
            self.assertEqual(pinned_spkis(a), {key2_spki}, a)

        # A third CA answering at the pinned address (another database), with
        # no link from key 2: every agent exits 3, writes nothing, and reports
        # it to the server it reached, whose admins see it.
        rogue = harness.Deployment(crl_shards=2)
        try:
            rogue_server = rogue.start_server(("--refusal-audit-window", "1s"))
            for a in self.agents:
                harness.set_pin_server(a, rogue_server.address)
            before = {a: folder_digest(a) for a in self.agents}
            results = self.run_all("renew", "--if-due")
            for a, r in zip(self.agents, results):
                harness.agent_error_line(self, r, harness.EXIT_CERTIFICATE_FAILURE, "report")
                self.assertEqual(folder_digest(a), before[a], a)
            # The rogue CA does not know these hosts: the reports are audited in
            # aggregate per address once the window closes.
            harness.wait_until(lambda: int(rogue.pg.psql(
                "SELECT count(*) FROM audit_log WHERE action = 'host.certificate_failure'")) > 0,
                30, "the replaced CA's audit log to show the failure reports")
        finally:
            rogue.close()


class EmergencyRolloverTest(unittest.TestCase):
    """A compromised key stays loud: `start --emergency` issues at once with a
    key that has no link, every agent exits 3 and its report reaches the
    admins (verified: the host's certificate is the old key's, which the CA
    still knows), until the operator re-pins it with the new fingerprint;
    then the host renews onto the new key, and `finish --revoke-remaining`
    revokes every certificate of the old key in one command."""

    def test_agents_report_until_repinned_and_the_old_keys_certificates_are_revoked(self):
        d = harness.Deployment(crl_shards=2)
        try:
            server = d.start_server()
            path = os.path.join(d.folder, "agent")
            os.makedirs(path, mode=0o700)
            harness.enrolled_agent(d, server, path, "emergency.example")
            host_id = harness.agent_identity(path)["host_id"]

            r = d.server_cli("ca", "rollover", "start", "--emergency", "--database",
                             d.pg.conninfo, "--passphrase-file", d.passphrase_file)
            self.assertEqual(r.returncode, 0, r)
            self.assertIn("emergency, no link", r.stdout)
            key2 = x509.load_der_x509_certificate(bytes.fromhex(d.pg.psql(
                "SELECT encode(certificate_der, 'hex') FROM ca_keys WHERE generation = 2")))
            new_sha, _ = harness.fingerprints(key2)
            self.assertIn(new_sha, r.stdout)
            harness.wait_until(lambda: server.host_stub().GetCACertificate(
                harness.host_pb2.GetCACertificateRequest(), timeout=harness.RPC_TIMEOUT
            ).sha256_fingerprint == new_sha, 15, "the server to issue with the emergency key")

            # Loud: exit 3, nothing written, the report verified by the host's own certificate.
            before = folder_digest(path)
            r = d.agent_cli(path, "renew", "--if-due")
            harness.agent_error_line(self, r, harness.EXIT_CERTIFICATE_FAILURE, "reported")
            self.assertEqual(folder_digest(path), before)
            # Admins reach the server with the new CA certificate too (no link
            # leads to it from the old one).
            admin = harness.admin_pb2_grpc.AdminServiceStub(harness.mtls_channel(
                server, root_pem=d.ca_pem_bytes + key2.public_bytes(serialization.Encoding.PEM)))
            host = admin.GetHost(
                harness.admin_pb2.GetHostRequest(host_id=host_id),
                metadata=harness.admin_metadata(d.admin_key), timeout=harness.RPC_TIMEOUT).host
            self.assertTrue(host.HasField("certificate_failure_at"))
            self.assertTrue(host.certificate_failure_verified)

            # The operator re-pins with the fingerprint handed over out of band,
            # once the server presents its TLS certificate from the new key
            # (gRPC rereads the chain every second).
            key2_pem = key2.public_bytes(serialization.Encoding.PEM)

            def tls_from_key2():
                ch = harness.grpc.secure_channel(
                    server.address, harness.grpc.ssl_channel_credentials(key2_pem))
                try:
                    harness.host_pb2_grpc.HostServiceStub(ch).GetCACertificate(
                        harness.host_pb2.GetCACertificateRequest(), timeout=5)
                    return True
                except harness.grpc.RpcError:
                    return False
                finally:
                    ch.close()
            harness.wait_until(tls_from_key2, 15, "the server's TLS certificate from key 2")
            r = d.agent_cli(path, "repin", "--fingerprint", new_sha)
            self.assertEqual(r.returncode, 0, r)
            r = d.agent_cli(path, "renew", "--if-due")
            self.assertEqual(r.returncode, 0, r)
            harness.verify_signed_by(harness.agent_identity(path)["cert"], key2)

            # The old key's certificates, revoked in one command.
            old = int(d.pg.psql("SELECT count(*) FROM certificates WHERE ca_generation = 1"
                                " AND kind <> 'server' AND revoked_at IS NULL"))
            self.assertGreaterEqual(old, 1)
            r = d.server_cli("ca", "rollover", "finish", "--revoke-remaining", "--reason",
                             "cACompromise", "--database", d.pg.conninfo, "--passphrase-file",
                             d.passphrase_file)
            self.assertEqual(r.returncode, 0, r)
            self.assertEqual(d.pg.psql(
                "SELECT count(*) || ':' || min(revocation_reason) FROM certificates"
                " WHERE ca_generation = 1 AND kind <> 'server' AND revoked_at IS NOT NULL"),
                "%d:2" % old)
        finally:
            d.close()

if __name__ == "__main__":
    unittest.main()
