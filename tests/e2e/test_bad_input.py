"""Bad input through gRPC and the CLIs: each refusal has a precise status, a
message that says what to fix, and leaves the database as it was."""

import os
import secrets
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, grpc, host_pb2  # noqa: E402


def random_token_body():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(secrets.choice(alphabet) for _ in range(43))


class BadInputTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            # Refused admin calls are audited per address per window: a short one here.
            cls.server = cls.d.start_server(("--refusal-audit-window", "1s"))
        except BaseException:
            cls.d.close()
            raise
        cls.host = cls.server.host_stub()
        cls.admin = cls.server.admin_stub()
        cls.md = harness.admin_metadata(cls.d.admin_key)
        # A usable token, so that in each case only the thing under test is wrong.
        cls.token = harness.create_token(cls.server, cls.d.admin_key, "bad input", max_uses=100)
        cls.good_key = harness.new_key()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def request(self, csr=None, hostname="ok.example", token=None, aliases=()):
        return host_pb2.RequestCertificateRequest(
            csr=harness.make_csr(self.good_key, hostname) if csr is None else csr,
            hostname=hostname, aliases=list(aliases),
            authorization_token=self.token.token if token is None else token)

    def assert_refused(self, call, req, code, *phrases, metadata=None):
        """The call fails with `code` and every phrase; nothing in the database changes."""
        before = self.d.pg.counts()
        e = harness.rpc_error(call, req, metadata=metadata)
        self.assertEqual(e.code(), code, e.details())
        for phrase in phrases:
            self.assertIn(phrase, e.details())
        self.assertEqual(self.d.pg.counts(), before)
        return e

    def assert_enrol_refused(self, req, code, *phrases):
        return self.assert_refused(self.host.RequestCertificate, req, code, *phrases)

    # -- the CSR

    def test_garbage_csr_is_invalid_argument(self):
        self.assert_enrol_refused(self.request(csr=b"this is not a CSR" * 10),
                                  grpc.StatusCode.INVALID_ARGUMENT, "PKCS#10")

    def test_empty_csr_is_invalid_argument(self):
        self.assert_enrol_refused(self.request(csr=b""), grpc.StatusCode.INVALID_ARGUMENT,
                                  "CSR is empty")

    def test_csr_with_a_broken_signature_is_invalid_argument(self):
        der = bytearray(harness.make_csr(harness.new_key(), "ok.example"))
        der[-1] ^= 0x01  # the last byte of the signature BIT STRING
        self.assert_enrol_refused(self.request(csr=bytes(der)),
                                  grpc.StatusCode.INVALID_ARGUMENT, "signature")

    def test_rsa_1024_key_is_too_weak(self):
        csr = harness.make_csr(harness.new_key("rsa1024"), "ok.example")
        self.assert_enrol_refused(self.request(csr=csr), grpc.StatusCode.INVALID_ARGUMENT,
                                  "at least 2048")

    def test_unsupported_curves_are_invalid_argument(self):
        for curve in ("secp256k1", "brainpoolP256r1"):
            with self.subTest(curve=curve):
                csr = harness.make_csr(harness.new_key(curve), "ok.example")
                e = self.assert_enrol_refused(self.request(csr=csr),
                                              grpc.StatusCode.INVALID_ARGUMENT, "curve")
                self.assertIn("P-256", e.details())  # it says what is accepted

    def test_oversized_csr_is_invalid_argument(self):
        self.assert_enrol_refused(self.request(csr=b"\x30" * (20 * 1024)),
                                  grpc.StatusCode.INVALID_ARGUMENT, "at most 16384")

    def test_one_mebibyte_request_is_stopped_by_the_message_limit(self):
        self.assert_enrol_refused(self.request(csr=b"A" * (1024 * 1024)),
                                  grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max")

    # -- the names

    def test_bad_host_names_are_invalid_argument(self):
        cases = [("", "is empty"),
                 ("bad_name!", "only letters, digits"),
                 ("-lead.example", "starts or ends with '-'"),
                 ("a" * 300, "at most 253"),
                 ("double..dot.example", "empty label")]
        for name, phrase in cases:
            with self.subTest(name=name[:20]):
                csr = harness.make_csr(self.good_key, "ok.example")
                self.assert_enrol_refused(self.request(csr=csr, hostname=name),
                                          grpc.StatusCode.INVALID_ARGUMENT, phrase)

    def test_bad_alias_is_invalid_argument(self):
        self.assert_enrol_refused(self.request(aliases=["under_score.example"]),
                                  grpc.StatusCode.INVALID_ARGUMENT, "alias")

    # -- the token

    def test_unknown_token_is_unauthenticated(self):
        self.assert_enrol_refused(self.request(token="hca_auth_" + random_token_body()),
                                  grpc.StatusCode.UNAUTHENTICATED, "unknown authorization token")

    def test_malformed_tokens_are_unauthenticated(self):
        cases = [("hca_auth_tooshort", "malformed"),
                 ("not-a-token", "should start with hca_auth_"),
                 ("", "no authorization token"),
                 ("hca_admin_" + random_token_body(), "admin key, not a")]
        for value, phrase in cases:
            with self.subTest(token=value[:12]):
                self.assert_enrol_refused(self.request(token=value),
                                          grpc.StatusCode.UNAUTHENTICATED, phrase)

    def test_expired_token_is_permission_denied(self):
        t = harness.create_token(self.server, self.d.admin_key, "short", valid_for_seconds=1)
        harness.wait_past(t.expires_at.seconds + t.expires_at.nanos / 1e9, margin=1.0)
        self.assert_enrol_refused(self.request(token=t.token), grpc.StatusCode.PERMISSION_DENIED,
                                  "expired", "ask an admin")

    def test_deleted_token_is_permission_denied(self):
        t = harness.create_token(self.server, self.d.admin_key, "doomed")
        self.admin.DeleteToken(admin_pb2.DeleteTokenRequest(token_id=t.token_id),
                               metadata=self.md, timeout=30)
        self.assert_enrol_refused(self.request(token=t.token), grpc.StatusCode.PERMISSION_DENIED,
                                  "deleted")

    def test_used_up_token_is_resource_exhausted(self):
        t = harness.create_token(self.server, self.d.admin_key, "single")
        first = self.host.RequestCertificate(
            self.request(token=t.token, hostname="single-use.example",
                         csr=harness.make_csr(harness.new_key(), "single-use.example")),
            timeout=30)
        self.assertTrue(first.host_id)
        self.assert_enrol_refused(
            self.request(token=t.token, hostname="second-use.example",
                         csr=harness.make_csr(harness.new_key(), "second-use.example")),
            grpc.StatusCode.RESOURCE_EXHAUSTED, "used up", "1 of 1")

    # -- admin calls

    def assert_admin_refused(self, metadata, *phrases):
        """UNAUTHENTICATED with every phrase; the database is left as it was, and the
        refusal is audited afterwards in one row for the address and window, with the
        count and the reason (never a row per refused call)."""
        seq = self.d.pg.max_audit_sequence()
        before = self.d.pg.counts()
        e = harness.rpc_error(self.admin.CreateAuthorizationToken,
                              admin_pb2.CreateAuthorizationTokenRequest(name="sneaky"),
                              metadata=metadata)
        self.assertEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED, e.details())
        for phrase in phrases:
            self.assertIn(phrase, e.details())
        self.assertEqual(self.d.pg.counts(), before)
        harness.wait_until(lambda: ("admin.refused", "refused")
                           in self.d.pg.audit_actions_after(seq), 15,
                           "the aggregated audit row of the refusal")
        row = self.d.pg.psql("SELECT actor || '|' || (details->>'count') || '|' ||"
                             " (details->'reasons')::text FROM audit_log WHERE sequence > %d"
                             " AND action = 'admin.refused'" % seq)
        actor, count, reasons = row.split("|", 2)
        self.assertEqual((actor, count), ("peer:ipv4:127.0.0.1", "1"))
        self.assertIn("CreateAuthorizationToken: ", reasons)
        return e

    def test_admin_call_without_a_key_is_unauthenticated_and_audited(self):
        self.assert_admin_refused(None, "authorization: Bearer")

    def test_admin_call_with_a_wrong_key_is_unauthenticated_and_audited(self):
        wrong = "hca_admin_" + random_token_body()
        self.assert_admin_refused(harness.admin_metadata(wrong), "unknown admin key")
        details = self.d.pg.psql("SELECT details::text FROM audit_log ORDER BY sequence DESC "
                                 "LIMIT 1")  # the aggregated row
        self.assertNotIn(wrong, details)

    def test_admin_call_with_a_token_instead_of_a_key_is_unauthenticated(self):
        self.assert_admin_refused(harness.admin_metadata(self.token.token), "not an admin key")

    def test_admin_call_without_bearer_is_unauthenticated(self):
        self.assert_admin_refused((("authorization", self.d.admin_key),), "Bearer <admin key>")

    def test_get_host_with_a_non_uuid_is_invalid_argument(self):
        self.assert_refused(self.admin.GetHost, admin_pb2.GetHostRequest(host_id="web01"),
                            grpc.StatusCode.INVALID_ARGUMENT, "must be a UUID",
                            metadata=self.md)

    def test_get_host_with_an_unknown_uuid_is_not_found(self):
        self.assert_refused(self.admin.GetHost,
                            admin_pb2.GetHostRequest(host_id="123e4567-e89b-42d3-a456-426614174000"),
                            grpc.StatusCode.NOT_FOUND, "no host has the ID", metadata=self.md)

    def test_token_with_bad_settings_is_invalid_argument(self):
        req = admin_pb2.CreateAuthorizationTokenRequest(name="too long")
        req.valid_for.seconds = 400 * 86400
        self.assert_refused(self.admin.CreateAuthorizationToken, req,
                            grpc.StatusCode.INVALID_ARGUMENT, "above the limit",
                            metadata=self.md)
        req = admin_pb2.CreateAuthorizationTokenRequest(name="bad\nname")
        self.assert_refused(self.admin.CreateAuthorizationToken, req,
                            grpc.StatusCode.INVALID_ARGUMENT, "control characters",
                            metadata=self.md)

    # -- the CLIs

    def test_admin_cli_with_a_wrong_key_prints_one_line_and_fails(self):
        wrong = "hca_admin_" + random_token_body()
        key_file = self.d.write_secret_file("wrong-admin.key", wrong)
        before = self.d.pg.counts()
        seq = self.d.pg.max_audit_sequence()
        r = self.d.admin_cli(self.server, "token", "create", "--name", "x", key_file=key_file)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        lines = r.stderr_lines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("UNAUTHENTICATED", lines[0])
        self.assertIn("unknown admin key", lines[0])
        self.assertNotIn(wrong, r.stderr)
        after = self.d.pg.counts()
        self.assertEqual(after["tokens"], before["tokens"])
        # Audited in aggregate, once the address's window closes.
        harness.wait_until(lambda: self.d.pg.audit_actions_after(seq), 15,
                           "the aggregated audit row of the refusal")
        self.assertIn(("admin.refused", "refused"), self.d.pg.audit_actions_after(seq))

    def test_admin_cli_without_a_key_prints_one_line_and_fails(self):
        r = harness.run([harness.ADMIN_BIN, "--server", self.server.address, "--ca-file",
                         self.d.ca_pem_path, "host", "list"])
        self.assertNotEqual(r.returncode, 0)
        lines = r.stderr_lines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("--admin-key-file", lines[0])

    def test_agent_enroll_with_a_bad_token_prints_one_line_and_fails(self):
        agent_dir = os.path.join(self.d.folder, "agent-bad-token")
        sha256, _ = harness.fingerprints(self.d.ca_cert)
        r = self.d.agent_cli(agent_dir, "get-ca", "--server", self.server.address,
                             "--fingerprint", sha256)
        self.assertEqual(r.returncode, 0, r)
        for bad, phrase in (("hca_auth_" + random_token_body(), "unknown authorization token"),
                            ("hca_auth_broken", "malformed")):
            with self.subTest(phrase=phrase):
                before = self.d.pg.counts()
                r = self.d.agent_cli(agent_dir, "enroll", "--token", bad, "--hostname",
                                     "badtoken.example")
                self.assertNotEqual(r.returncode, 0)
                self.assertEqual(r.stdout, "")
                lines = r.stderr_lines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn("UNAUTHENTICATED", lines[0])
                self.assertIn(phrase, lines[0])
                self.assertNotIn(bad, r.stderr)
                self.assertFalse(os.path.exists(os.path.join(agent_dir, "host.key")))
                self.assertEqual(self.d.pg.counts(), before)

    def test_agent_enroll_before_pinning_prints_one_line_and_fails(self):
        agent_dir = os.path.join(self.d.folder, "agent-unpinned")
        r = self.d.agent_cli(agent_dir, "enroll", "--token", self.token.token, "--hostname",
                             "unpinned.example")
        self.assertNotEqual(r.returncode, 0)
        lines = r.stderr_lines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("get-ca", lines[0])
        self.assertFalse(os.path.exists(agent_dir))


if __name__ == "__main__":
    unittest.main()
