"""Names and identities no caller can take (issue 11), tried as an attacker
would against real servers: the Python client generated from proto/ as the
attacker, the real hostca-agent and hostca-admin as the honest parties,
OpenSSL checking the revocations.

Every attack here succeeded before the register of names (migration 0005)."""

import concurrent.futures
import json
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import invariants  # noqa: E402
from harness import admin_pb2, grpc, host_pb2, x509  # noqa: E402


class NamesAttackTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            cls.servers = [cls.d.start_server(), cls.d.start_server()]
            cls.server = cls.servers[0]
            # The victim, enrolled the honest way with an alias.
            cls.victim_dir = os.path.join(cls.d.folder, "victim")
            harness.pin_agent(cls.d, cls.server, cls.victim_dir)
            token = harness.new_auth_token(cls.d, cls.server, "victim")["token"]
            r = cls.d.agent_cli(cls.victim_dir, "enroll", "--token", token, "--hostname",
                                "victim.example.com", "--alias", "victim-alias.example.com")
            if r.returncode != 0:
                raise RuntimeError("victim enrolment failed: %r" % r)
            cls.victim = harness.agent_identity(cls.victim_dir)
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def enrol_request(self, token, hostname, aliases=()):
        return host_pb2.RequestCertificateRequest(
            csr=harness.make_csr(harness.new_key(), hostname), hostname=hostname,
            aliases=list(aliases), authorization_token=token)

    def refused(self, call, request, code):
        """The call fails with `code`, changes nothing, and names no other host."""
        before = self.d.pg.state()
        e = harness.rpc_error(call, request)
        self.assertEqual(e.code(), code, e.details())
        self.assertEqual(self.d.pg.state(), before, "a refused call changed the database")
        self.assertNotIn(self.victim["host_id"], e.details())
        return e.details()

    def holder(self, name):
        return self.d.pg.psql("SELECT coalesce(host_id::text, 'server') FROM host_names"
                              " WHERE name = '%s'" % name)

    def test_any_token_holder_cannot_get_a_certificate_naming_the_victim(self):
        token = harness.create_token(self.server, self.d.admin_key, "attacker", max_uses=10)
        stub = self.server.host_stub()
        for hostname, aliases in (("evil.example.com", ["victim.example.com"]),
                                  ("victim-alias.example.com", []),
                                  ("evil.example.com", ["victim-alias.example.com"]),
                                  ("VICTIM.example.com.", []),
                                  ("evil.example.com", ["Victim-Alias.Example.COM."])):
            with self.subTest(hostname=hostname, aliases=aliases):
                details = self.refused(stub.RequestCertificate,
                                       self.enrol_request(token.token, hostname, aliases),
                                       grpc.StatusCode.ALREADY_EXISTS)
                self.assertIn("belong", details)
                self.assertIn("hostca-admin host release-name", details)
        self.assertEqual(self.d.pg.scalar("SELECT uses FROM tokens WHERE token_id = '%s'"
                                          % token.token_id), 0)

    def test_a_reissue_cannot_add_the_victims_alias(self):
        res, _ = harness.enroll_host(self.server, self.d.admin_key, "evil2.example.com")
        token = harness.create_reissue_token(self.server, self.d.admin_key, res.host_id)
        req = host_pb2.ReissueCertificateRequest(
            host_id=res.host_id, csr=harness.make_csr(harness.new_key()),
            reissue_token=token.token, aliases=["victim-alias.example.com"])
        self.refused(self.server.host_stub().ReissueCertificate, req,
                     grpc.StatusCode.ALREADY_EXISTS)

    def test_a_revoked_victim_keeps_its_name(self):
        res, _ = harness.enroll_host(self.server, self.d.admin_key, "revoked.example.com")
        harness.revoke(self.server, self.d.admin_key, host_id=res.host_id)
        token = harness.create_token(self.server, self.d.admin_key, "grab")
        self.refused(self.server.host_stub().RequestCertificate,
                     self.enrol_request(token.token, "revoked.example.com"),
                     grpc.StatusCode.ALREADY_EXISTS)
        self.assertEqual(self.holder("revoked.example.com"), res.host_id)

    def test_reserved_names_are_refused_by_the_agent_with_one_line(self):
        agent = os.path.join(self.d.folder, "reserved")
        harness.pin_agent(self.d, self.server, agent)
        token = harness.new_auth_token(self.d, self.server, "reserved")["token"]
        for name, rule in (("localhost", "localhost"), ("127.0.0.1", "IP address"),
                           ("10.0.0.5", "IP address"), ("db.localhost", "localhost")):
            for args in (["--hostname", name], ["--hostname", "fine.example.com", "--alias", name]):
                with self.subTest(args=args):
                    before = self.d.pg.state()
                    r = self.d.agent_cli(agent, "enroll", "--token", token, *args)
                    self.assertEqual(r.returncode, 1, r)
                    self.assertEqual(len(r.stderr_lines()), 1, r)
                    self.assertIn("INVALID_ARGUMENT", r.stderr)
                    self.assertIn(rule, r.stderr)
                    self.assertEqual(self.d.pg.state(), before)
        self.assertFalse(os.path.exists(os.path.join(agent, "host.json")))

    def test_an_auto_reissue_window_does_not_let_a_stranger_rename_the_host(self):
        res, _ = harness.enroll_host(self.server, self.d.admin_key, "windowed.example.com")
        r = self.d.admin_cli(self.server, "host", "allow-auto-reissue", "--host-id", res.host_id,
                             "--for", "1h")
        self.assertEqual(r.returncode, 0, r)
        stub = self.server.host_stub()
        for hostname, aliases in (("attacker.example.com", []), ("", ["extra.example.com"])):
            with self.subTest(hostname=hostname, aliases=aliases):
                req = host_pb2.ReissueCertificateRequest(
                    host_id=res.host_id, csr=harness.make_csr(harness.new_key()),
                    hostname=hostname, aliases=aliases)
                details = self.refused(stub.ReissueCertificate, req,
                                       grpc.StatusCode.PERMISSION_DENIED)
                self.assertIn("reissue token", details)
        # The window itself still works, for the names the host has.
        new, _ = harness.reissue(self.server, res.host_id)
        cert = x509.load_der_x509_certificate(new.certificate_der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(san.get_values_for_type(x509.DNSName), ["windowed.example.com"])

    def test_a_token_allows_only_its_names(self):
        r = self.d.admin_cli(self.server, "--json", "token", "create", "--name", "lab",
                             "--max-uses", "3", "--allow-names",
                             "*.lab.example.com, db01.example.com")
        self.assertEqual(r.returncode, 0, r)
        token = json.loads(r.stdout)["token"]
        listed = json.loads(self.d.admin_cli(self.server, "--json", "token", "list").stdout)
        self.assertIn(["*.lab.example.com", "db01.example.com"],
                      [t["allowed_names"] for t in listed])
        agent = os.path.join(self.d.folder, "lab-outside")
        harness.pin_agent(self.d, self.server, agent)
        before = self.d.pg.state()
        r = self.d.agent_cli(agent, "enroll", "--token", token, "--hostname", "web.example.com")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("INVALID_ARGUMENT", r.stderr)
        self.assertIn("this authorization token allows (*.lab.example.com, db01.example.com)",
                      r.stderr)
        self.assertEqual(self.d.pg.state(), before)
        r = self.d.agent_cli(agent, "enroll", "--token", token, "--hostname",
                             "a.lab.example.com", "--alias", "db01.example.com")
        self.assertEqual(r.returncode, 0, r)
        # A pattern outside the CA's rules is refused when the token is made.
        r = self.d.admin_cli(self.server, "token", "create", "--name", "bad", "--allow-names",
                             "*.localhost")
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(len(r.stderr_lines()), 1, r)

    def test_release_name_frees_a_name_only_with_its_certificates_revoked(self):
        agent = os.path.join(self.d.folder, "release-old")
        harness.enrolled_agent(self.d, self.server, agent, "moving.example.com")
        old = harness.agent_identity(agent)
        before = self.d.pg.state()
        r = self.d.admin_cli(self.server, "host", "release-name", "--host-id", old["host_id"],
                             "--name", "moving.example.com")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("FAILED_PRECONDITION", r.stderr)
        self.assertIn("--revoke", r.stderr)
        self.assertEqual(self.d.pg.state(), before)

        r = self.d.admin_cli(self.server, "--json", "host", "release-name", "--host-id",
                             old["host_id"], "--name", "moving.example.com", "--revoke")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(json.loads(r.stdout)["revoked_serials_hex"], [old["serial_hex"]])
        self.assertEqual(self.holder("moving.example.com"), "")

        # OpenSSL, with the CRLs fetched over HTTP, says the old certificate is revoked.
        bundle = os.path.join(self.d.folder, "release-crls.pem")
        harness.write_bytes(bundle, harness.http_get(self.server.http_port, "/crl/all.pem").body)
        v = subprocess.run(["openssl", "verify", "-crl_check", "-CAfile", self.d.ca_pem_path,
                            "-CRLfile", bundle, os.path.join(agent, "host.pem")],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(v.returncode, 0, v)
        self.assertIn("certificate revoked", v.stdout + v.stderr)

        # Another host may have the name now.
        newcomer = os.path.join(self.d.folder, "release-new")
        harness.enrolled_agent(self.d, self.servers[1], newcomer, "moving.example.com")
        self.assertEqual(self.holder("moving.example.com"),
                         harness.agent_identity(newcomer)["host_id"])

    def test_two_servers_racing_give_one_name_to_exactly_one_host(self):
        token = harness.create_token(self.server, self.d.admin_key, "race", max_uses=20)
        n = 12
        requests = []
        for i in range(n):
            if i % 2:
                requests.append(self.enrol_request(token.token, "Contested.example.com."))
            else:
                requests.append(self.enrol_request(token.token, "racer%d.example.com" % i,
                                                   ["contested.example.com"]))
        stubs = [s.host_stub() for s in self.servers]
        barrier = threading.Barrier(n, timeout=60)

        def call(i):
            barrier.wait()
            try:
                stubs[i % 2].RequestCertificate(requests[i], timeout=60)
                return "OK"
            except grpc.RpcError as e:
                return e.code().name

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(call, range(n)))
        self.assertEqual(results.count("OK"), 1, results)
        self.assertEqual(results.count("ALREADY_EXISTS"), n - 1, results)
        self.assertEqual(self.d.pg.scalar(
            "SELECT count(*) FROM host_names WHERE name = 'contested.example.com'"), 1)

    def test_z_invariants_hold_and_the_checker_sees_a_forged_double(self):
        self.assertEqual(invariants.check(self.d.pg.conninfo), [])
        # The checker itself can fail: a second valid row carrying the
        # victim's names, for another host, as only a forger could write it.
        other = harness.enroll_host(self.server, self.d.admin_key, "forger.example.com")[0].host_id
        self.d.pg.psql(
            "INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der,"
            " created_at, crl_shard, ca_generation) SELECT 'ff' || serial_hex, '%s', kind,"
            " not_before, not_after, der, created_at, crl_shard, ca_generation FROM certificates"
            " WHERE serial_hex = '%s'"
            % (other, self.victim["serial_hex"]))
        bad = invariants.check(self.d.pg.conninfo)
        self.assertTrue(any("victim.example.com is in valid certificates of 2 hosts" in line
                            for line in bad), bad)
        self.assertEqual(invariants.reserved_name("LocalHost."), "a localhost name")
        self.assertEqual(invariants.reserved_name("10.0.0.5"), "an IP address")
        self.assertEqual(invariants.reserved_name("*.example.com"), "a wildcard")
        self.assertEqual(invariants.reserved_name("ca.example", {"ca.example"}),
                         "one of the CA server's own names")
        self.assertEqual(invariants.reserved_name("web.example.com"), "")


if __name__ == "__main__":
    unittest.main()
