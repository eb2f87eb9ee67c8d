"""A host's life with the real binaries: enrol, renew over mutual TLS (same host ID,
new key and serial, the old certificate left valid), revoked and refused, reissued
with a reissue token, renewing again. `renew --if-due` waits for its threshold; an
expired certificate cannot renew (the agent says so, the RPC says UNAUTHENTICATED);
`status --json` says what the files and the CRL say."""

import json
import math
import os
import shutil
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc  # noqa: E402

SHARDS = 4
# The server that issues certificates for the expiry test: the shortest validity allowed.
SHORT_VALIDITY = "10s"


class RenewalLifecycleTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=SHARDS)
        try:
            # Two servers on one database: one CA, two certificate lifetimes.
            cls.server = cls.d.start_server()
            cls.short = cls.d.start_server(["--validity", SHORT_VALIDITY])
            cls.medium = cls.d.start_server(["--validity", "20s"])
            cls.sha256, cls.spki = harness.fingerprints(cls.d.ca_cert)
            # Enrolled first, so its expiry is near by the time its test runs.
            cls.expiring_dir = harness.enrolled_agent(
                cls.d, cls.short, os.path.join(cls.d.folder, "agent-expiring"),
                "expiring.example")
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers

    def enrolled(self, name, server=None):
        return harness.enrolled_agent(self.d, server or self.server,
                                      os.path.join(self.d.folder, "agent-" + name),
                                      name + ".example")

    def keep_copy(self, agent_dir, name, copy_name):
        path = os.path.join(self.d.folder, copy_name)
        shutil.copyfile(os.path.join(agent_dir, name), path)
        return path

    def fetch_all_pem(self, name):
        res = harness.http_get(self.server.http_port, "/crl/all.pem")
        self.assertEqual(res.status, 200, res)
        return harness.write_bytes(os.path.join(self.d.folder, name), res.body)

    def openssl_crl_check(self, crl_file, cert_file):
        return harness.run(["openssl", "verify", "-crl_check", "-CAfile", self.d.ca_pem_path,
                            "-CRLfile", crl_file, cert_file])

    def assert_renewed(self, agent_dir, before, r):
        """A renewal happened: same host ID, new serial and key, files in order."""
        self.assertEqual(r.returncode, 0, r)
        after = harness.agent_identity(agent_dir)
        self.assertEqual(after["host_id"], before["host_id"])
        self.assertEqual(after["hostname"], before["hostname"])
        self.assertNotEqual(int(after["serial_hex"], 16), int(before["serial_hex"], 16))
        self.assertEqual(int(after["serial_hex"], 16), after["cert"].serial_number)
        self.assertNotEqual(after["key_pem"], before["key_pem"])
        self.assertNotEqual(harness.spki_der(after["cert"].public_key()),
                            harness.spki_der(before["cert"].public_key()))
        key = harness.serialization.load_pem_private_key(after["key_pem"], None)
        self.assertEqual(harness.spki_der(key.public_key()),
                         harness.spki_der(after["cert"].public_key()))
        self.assertEqual(harness.parse_time(after["not_after"]),
                         harness.not_valid_after(after["cert"]))
        self.assertEqual(stat.S_IMODE(os.stat(agent_dir).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(agent_dir, "host.key")).st_mode),
                         0o600)
        for name in os.listdir(agent_dir):
            self.assertFalse(".tmp" in name or name.endswith(".new"), name)
        rows = {int(s, 16): (kind, revoked)
                for s, kind, revoked, _ in harness.host_certificates(self.d, before["host_id"])}
        self.assertEqual(rows[after["cert"].serial_number], ("renew", ""))
        self.assertEqual(rows[before["cert"].serial_number][1], "",
                         "a renewal must not revoke the certificate it replaces")
        return after

    def assert_renew_refused(self, agent_dir, *phrases, args=()):
        """`renew` exits 1 with one line holding every phrase; files and rows stay."""
        files = harness.snapshot_dir(agent_dir)
        state = harness.renewal_state(self.d)
        r = self.d.agent_cli(agent_dir, "renew", *args)
        line = harness.agent_error_line(self, r, 1, *phrases)
        self.assertEqual(harness.snapshot_dir(agent_dir), files)
        self.assertEqual(harness.renewal_state(self.d), state)
        return line

    def status_json(self, agent_dir):
        r = self.d.agent_cli(agent_dir, "status", "--json")
        self.assertEqual(r.returncode, 0, r)
        return json.loads(r.stdout)

    def field(self, j, *names):
        for n in names:
            if n in j:
                return j[n]
        self.fail("status --json has none of %r: %r" % (names, sorted(j)))

    # -- renew

    def test_renew_keeps_the_host_id_with_a_new_key_and_serial_and_the_old_stays_valid(self):
        agent_dir = self.enrolled("renew")
        before = harness.agent_identity(agent_dir)
        old_pem = self.keep_copy(agent_dir, "host.pem", "renew-old.pem")
        seq = self.d.pg.max_audit_sequence()
        r = self.d.agent_cli(agent_dir, "renew")
        after = self.assert_renewed(agent_dir, before, r)
        self.assertIn(after["serial_hex"].lower(), r.stdout.lower())
        harness.check_host_certificate(self, after["cert"], self.d.ca_cert, before["host_id"],
                                       "renew.example", self.server.http_port)
        self.assertIn(("certificate.renew", "ok"), self.d.pg.audit_actions_after(seq))
        # Both certificates pass OpenSSL's CRL check against CRLs fetched now.
        new_pem = self.keep_copy(agent_dir, "host.pem", "renew-new.pem")
        crls = self.fetch_all_pem("renew-all.pem")
        for path in (old_pem, new_pem):
            with self.subTest(cert=os.path.basename(path)):
                v = self.openssl_crl_check(crls, path)
                self.assertEqual(v.returncode, 0, v)
                self.assertIn(": OK", v.stdout)
        # The host in the database is the same one, with both certificates valid.
        shown = self.d.admin_cli(self.server, "host", "show", "--host-id", before["host_id"])
        self.assertEqual(shown.returncode, 0, shown)
        states = {int(c["serial_hex"], 16): c["state"]
                  for c in json.loads(shown.stdout)["certificates"]}
        self.assertEqual(states, {before["cert"].serial_number: "valid",
                                  after["cert"].serial_number: "valid"})

    def test_revoked_certificate_cannot_renew_until_reissued_then_renews_again(self):
        agent_dir = self.enrolled("revoked")
        first = harness.agent_identity(agent_dir)
        r = self.d.agent_cli(agent_dir, "renew")
        current = self.assert_renewed(agent_dir, first, r)

        r = self.d.admin_cli(self.server, "cert", "revoke", "--serial", current["serial_hex"],
                             "--reason", "keyCompromise")
        self.assertEqual(r.returncode, 0, r)
        self.assert_renew_refused(agent_dir, "revoked", "reissue token")
        # Due or not, the timer's call gets the same answer once it asks.
        self.assert_renew_refused(agent_dir, "revoked", "reissue token",
                                  args=("--if-due", "--renew-at", "0"))

        r = self.d.admin_cli(self.server, "--json", "reissue-token", "create", "--host-id",
                             current["host_id"])
        self.assertEqual(r.returncode, 0, r)
        token = json.loads(r.stdout)["token"]
        r = self.d.agent_cli(agent_dir, "reissue", "--token", token)
        self.assertEqual(r.returncode, 0, r)
        reissued = harness.agent_identity(agent_dir)
        self.assertEqual(reissued["host_id"], first["host_id"])
        self.assertNotEqual(reissued["serial_hex"], current["serial_hex"])

        r = self.d.agent_cli(agent_dir, "renew")
        self.assert_renewed(agent_dir, reissued, r)
        kinds = [c[1] for c in harness.host_certificates(self.d, first["host_id"])]
        self.assertEqual(sorted(kinds), ["enroll", "reissue", "renew", "renew"])

    # -- renew --if-due

    def test_renew_if_due_right_after_enrolment_is_not_due_and_changes_nothing(self):
        agent_dir = self.enrolled("not-due")
        files = harness.snapshot_dir(agent_dir)
        state = harness.renewal_state(self.d)
        r = self.d.agent_cli(agent_dir, "renew", "--if-due")
        self.assertEqual(r.returncode, 0, r)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stdout)
        self.assertTrue(lines[0].startswith("not due"), lines[0])
        self.assertEqual(r.stderr, "")
        self.assertEqual(harness.snapshot_dir(agent_dir), files)
        self.assertEqual(harness.renewal_state(self.d), state)
        # A threshold near the end of the lifetime is not due either.
        r = self.d.agent_cli(agent_dir, "renew", "--if-due", "--renew-at", "0.9")
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(r.stdout.startswith("not due"), r.stdout)
        self.assertEqual(harness.snapshot_dir(agent_dir), files)

    def test_renew_if_due_with_renew_at_zero_renews(self):
        agent_dir = self.enrolled("renew-at-zero")
        before = harness.agent_identity(agent_dir)
        r = self.d.agent_cli(agent_dir, "renew", "--if-due", "--renew-at", "0")
        self.assert_renewed(agent_dir, before, r)
        self.assertFalse(r.stdout.startswith("not due"), r.stdout)

    def test_renew_if_due_renews_once_half_of_the_lifetime_has_passed(self):
        agent_dir = self.enrolled("half-life", self.medium)
        before = harness.agent_identity(agent_dir)
        cert = before["cert"]
        start, end = harness.not_valid_before(cert), harness.not_valid_after(cert)
        harness.wait_past(start + 0.5 * (end - start), margin=1.0, limit=30)
        r = self.d.agent_cli(agent_dir, "renew", "--if-due")
        self.assert_renewed(agent_dir, before, r)

    def test_renew_at_outside_zero_to_one_is_a_usage_error(self):
        agent_dir = self.enrolled("renew-at-bad")
        files = harness.snapshot_dir(agent_dir)
        for value in ("1.5", "-0.1", "half"):
            with self.subTest(value=value):
                r = self.d.agent_cli(agent_dir, "renew", "--if-due", "--renew-at", value)
                harness.agent_error_line(self, r, 1, "renew-at")
                self.assertEqual(harness.snapshot_dir(agent_dir), files)

    # -- expiry

    def test_expired_certificate_cannot_renew_and_the_rpc_says_unauthenticated(self):
        ident = harness.agent_identity(self.expiring_dir)
        harness.wait_past(harness.not_valid_after(ident["cert"]), margin=1.5, limit=30)
        line = self.assert_renew_refused(self.expiring_dir, "expired", "reissue token")
        self.assertNotIn("revoked", line.lower())
        # The server itself refuses the expired client certificate.
        state = harness.renewal_state(self.d)
        e = harness.rpc_error(harness.renew_rpc, self.server, ident["key_pem"],
                              ident["cert_pem"], harness.make_csr(harness.new_key(), "x"))
        self.assertEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED, e.details())
        self.assertIn("expired", e.details())
        self.assertIn("reissue token", e.details())
        self.assertEqual(harness.renewal_state(self.d), state)
        # And a reissue token brings it back.
        r = self.d.admin_cli(self.server, "--json", "reissue-token", "create", "--host-id",
                             ident["host_id"])
        self.assertEqual(r.returncode, 0, r)
        r = self.d.agent_cli(self.expiring_dir, "reissue", "--token", json.loads(r.stdout)["token"])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(harness.agent_identity(self.expiring_dir)["host_id"], ident["host_id"])

    # -- status

    def test_status_json_matches_the_files_and_says_revoked_after_revoke_and_fetch_crl(self):
        agent_dir = self.enrolled("status")
        ident = harness.agent_identity(agent_dir)
        cert = ident["cert"]
        r = self.d.agent_cli(agent_dir, "fetch-crl")
        self.assertEqual(r.returncode, 0, r)
        now = time.time()
        j = self.status_json(agent_dir)
        self.assertEqual(j["host_id"], ident["host_id"])
        self.assertEqual(j["hostname"], "status.example")
        self.assertEqual(int(self.field(j, "serial_hex", "serial"), 16), cert.serial_number)
        self.assertEqual(harness.parse_time(j["not_after"]), harness.not_valid_after(cert))
        days = (harness.not_valid_after(cert) - now) / 86400.0
        self.assertIn(self.field(j, "days_left", "days_remaining"),
                      {math.floor(days), math.ceil(days)}, days)
        self.assertEqual(self.field(j, "ca_sha256", "pinned_ca_sha256"), self.sha256)
        self.assertIs(j["revoked"], False)
        start, end = harness.not_valid_before(cert), harness.not_valid_after(cert)
        renews = self.field(j, "renews_after", "renews_at", "renew_after", "next_renewal")
        self.assertLessEqual(abs(harness.parse_time(renews) - (start + 0.5 * (end - start))),
                             1.0, renews)
        # The human form says the same things.
        r = self.d.agent_cli(agent_dir, "status")
        self.assertEqual(r.returncode, 0, r)
        for text in (ident["host_id"], "status.example", self.sha256):
            self.assertIn(text, r.stdout)

        r = self.d.admin_cli(self.server, "cert", "revoke", "--serial", ident["serial_hex"])
        self.assertEqual(r.returncode, 0, r)
        # The agent only knows once it has fetched a CRL that says so.
        self.assertIs(self.status_json(agent_dir)["revoked"], False)
        r = self.d.agent_cli(agent_dir, "fetch-crl")
        self.assertEqual(r.returncode, 0, r)
        self.assertIs(self.status_json(agent_dir)["revoked"], True)
        r = self.d.agent_cli(agent_dir, "status")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("revoked", r.stdout.lower())


if __name__ == "__main__":
    unittest.main()
