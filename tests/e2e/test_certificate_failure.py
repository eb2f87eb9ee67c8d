"""Certificate failure with the real binaries: two CAs, each in its own database. An
agent pinned to and enrolled with CA A finds CA B at the address it pinned ("same
server address, CA key changed"): renew, fetch-crl, reissue and enroll each exit 3
with one line naming both public-key fingerprints, write nothing, send nothing that
B could use (no token; the host's certificate, which is public, over mutual TLS), and
report the failure to B, unverified there. A report to the CA that issued the host's
certificate is verified. A failure a host reports to its own CA is
shown by `hostca-admin host list` and cleared by the next renewal or reissue. Repin
only to the CA whose fingerprint was typed; then reset and enrol against B."""

import json
import os
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, host_pb2, x509  # noqa: E402


class CertificateFailureTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.a = harness.Deployment(crl_shards=2)
        cls.b = None
        try:
            cls.b = harness.Deployment(crl_shards=2)
            # Unverified reports are audited per address and window: a short window here.
            opts = ("--refusal-audit-window", "1s", "--failure-report-budget", "1000")
            cls.sa = cls.a.start_server(opts)
            cls.sb = cls.b.start_server(opts)
            cls.a_sha, cls.a_spki = harness.fingerprints(cls.a.ca_cert)
            cls.b_sha, cls.b_spki = harness.fingerprints(cls.b.ca_cert)
            # One host of A; every test works on a copy of its folder.
            cls.base_dir = harness.enrolled_agent(cls.a, cls.sa,
                                                  os.path.join(cls.a.folder, "agent-base"),
                                                  "web01.example")
            cls.base = harness.agent_identity(cls.base_dir)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.a.close()
        finally:
            if cls.b is not None:
                cls.b.close()

    # -- helpers

    def switched_copy(self, name):
        """A copy of the enrolled folder whose pinned address now answers for CA B."""
        path = harness.copy_agent_dir(self.base_dir, os.path.join(self.a.folder, "agent-" + name))
        harness.set_pin_server(path, self.sb.address)
        return path

    def failure_audit_of_b(self, after_sequence):
        """The aggregated rows of unverified reports B wrote: (outcome, reasons JSON)."""
        out = self.b.pg.psql(
            "SELECT outcome || '|' || (details->'reasons')::text FROM audit_log WHERE"
            " sequence > %d AND action = 'host.certificate_failure' ORDER BY sequence"
            % after_sequence)
        return [tuple(line.split("|", 1)) for line in out.splitlines() if line]

    def assert_certificate_failure(self, agent_dir, *args, reported_host=None):
        """The command exits 3 with the one line, writes nothing and leaves A's and B's rows
        alone but for B's audit of the report; returns the line."""
        files = harness.snapshot_dir(agent_dir)
        a_state, b_state = harness.renewal_state(self.a), harness.renewal_state(self.b)
        b_seq = self.b.pg.max_audit_sequence()
        r = self.a.agent_cli(agent_dir, *args)
        line = harness.agent_error_line(self, r, harness.EXIT_CERTIFICATE_FAILURE,
                                        "security team", "repin")
        self.assertIn(self.a_spki, line)
        self.assertIn(self.b_spki, line)
        self.assertEqual(r.stdout, "")
        self.assertEqual(harness.snapshot_dir(agent_dir), files)
        self.assertEqual(harness.renewal_state(self.a), a_state)
        b_after = harness.renewal_state(self.b)
        b_audit = self.b.pg.audit_actions_after(b_seq)
        self.assertTrue(all(action == "host.certificate_failure" for action, _ in b_audit),
                        b_audit)
        # The report's own rows (a verified one now; unverified ones in aggregate later).
        self.assertEqual(b_after["audit_log"], b_state["audit_log"] + int(self.b.pg.psql(
            "SELECT count(*) FROM audit_log WHERE sequence > %d AND actor NOT LIKE 'peer:%%'"
            % b_seq)))
        b_after.pop("audit_log"), b_state.pop("audit_log")
        self.assertEqual(b_after, b_state)
        if reported_host is not None:
            # B does not know A's host: it records nothing and audits the unverified
            # report in aggregate, once its window has closed.
            harness.wait_until(lambda: any(reported_host in reasons for _, reasons
                                           in self.failure_audit_of_b(b_seq)),
                               15, "B's aggregated audit of the report")
            rows = self.failure_audit_of_b(b_seq)
            self.assertTrue(any(outcome == "refused" and "unknown host " + reported_host
                                in reasons for outcome, reasons in rows), rows)
        return line

    def host_info(self, deployment, server, host_id):
        return server.admin_stub().GetHost(
            admin_pb2.GetHostRequest(host_id=host_id),
            metadata=harness.admin_metadata(deployment.admin_key),
            timeout=harness.RPC_TIMEOUT).host

    def report(self, server, host_id, pinned, presented, address, identity=None):
        """ReportCertificateFailure; with `identity` (agent_identity of the host), over
        mutual TLS with the host's certificate: a verified report."""
        stub = server.host_stub() if identity is None else harness.host_pb2_grpc.HostServiceStub(
            harness.mtls_channel(server, identity["key_pem"], identity["cert_pem"]))
        return stub.ReportCertificateFailure(
            host_pb2.ReportCertificateFailureRequest(
                host_id=host_id, pinned_spki_sha256=pinned, presented_spki_sha256=presented,
                server=address), timeout=harness.RPC_TIMEOUT)

    def host_list_json(self):
        r = self.a.admin_cli(self.sa, "--json", "host", "list")
        self.assertEqual(r.returncode, 0, r)
        return {h["host_id"]: h for h in json.loads(r.stdout)}

    def host_list_lines(self):
        r = self.a.admin_cli(self.sa, "host", "list")
        self.assertEqual(r.returncode, 0, r)
        return r.stdout.splitlines()

    # -- CA key changed behind the pinned address

    def test_renew_against_a_changed_ca_exits_3_names_both_keys_and_writes_nothing(self):
        path = self.switched_copy("renew")
        self.assert_certificate_failure(path, "renew", reported_host=self.base["host_id"])

    def test_renew_if_due_when_due_against_a_changed_ca_exits_3(self):
        path = self.switched_copy("renew-if-due")
        self.assert_certificate_failure(path, "renew", "--if-due", "--renew-at", "0",
                                        reported_host=self.base["host_id"])

    def test_fetch_crl_against_a_changed_ca_exits_3_and_writes_no_crl(self):
        path = self.switched_copy("fetch-crl")
        out = os.path.join(self.a.folder, "fetch-crl-out.pem")
        self.assert_certificate_failure(path, "fetch-crl", reported_host=self.base["host_id"])
        self.assert_certificate_failure(path, "fetch-crl", "--out", out)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(os.path.join(path, "crl.pem")))

    def test_reissue_against_a_changed_ca_exits_3_and_the_token_is_never_sent(self):
        path = self.switched_copy("reissue")
        token = harness.create_reissue_token(self.sa, self.a.admin_key, self.base["host_id"])
        self.assert_certificate_failure(path, "reissue", "--token", token.token,
                                        reported_host=self.base["host_id"])
        self.assertEqual(self.a.pg.scalar("SELECT uses FROM tokens WHERE token_id = '%s'"
                                          % token.token_id), 0)
        self.assertNotIn(token.token, self.b.pg.dump())
        self.assertNotIn(token.token, "".join(s.log() for s in self.b.servers))

    def test_enroll_of_a_fresh_folder_pinned_to_a_against_b_exits_3_and_uses_no_token(self):
        path = harness.pin_agent(self.a, self.sa, os.path.join(self.a.folder, "agent-fresh"))
        harness.set_pin_server(path, self.sb.address)
        token = harness.new_auth_token(self.b, self.sb, "not to be used")
        self.assert_certificate_failure(path, "enroll", "--token", token["token"],
                                        "--hostname", "fresh.example")
        self.assertEqual(sorted(os.listdir(path)), ["ca.pem", "pin.json"])
        self.assertEqual(self.b.pg.scalar("SELECT uses FROM tokens WHERE token_id = '%s'"
                                          % token["token_id"]), 0)

    # -- a reported failure, as A's admin sees it

    def test_reported_failure_is_recorded_shown_by_host_list_and_cleared_by_renew(self):
        path = harness.enrolled_agent(self.a, self.sa, os.path.join(self.a.folder, "agent-rep"),
                                      "reported.example")
        identity = harness.agent_identity(path)
        host_id = identity["host_id"]
        before = harness.renewal_state(self.a)
        seq = self.a.pg.max_audit_sequence()
        res = self.report(self.sa, host_id, self.a_spki, self.b_spki, self.sb.address,
                          identity=identity)
        self.assertTrue(res.recorded)
        # Verified (the host's own certificate): audited at once, as the host.
        self.assertEqual(self.a.pg.audit_actions_after(seq), [("host.certificate_failure", "ok")])
        after = harness.renewal_state(self.a)
        self.assertEqual(after["certificate_failures"], before["certificate_failures"] + 1)
        self.assertEqual((after["hosts"], after["certificates"]),
                         (before["hosts"], before["certificates"]))

        info = self.host_info(self.a, self.sa, host_id)
        self.assertTrue(info.HasField("certificate_failure_at"))
        self.assertTrue(info.certificate_failure_verified)
        self.assertGreater(info.certificate_failure_at.seconds, 0)
        for text in (self.a_spki, self.b_spki, self.sb.address):
            self.assertIn(text, info.certificate_failure_detail)
        # The admin's list shows it, for this host only.
        listed = self.host_list_json()
        self.assertTrue(listed[host_id].get("certificate_failure_at"), listed[host_id])
        self.assertIn(self.b_spki, listed[host_id].get("certificate_failure_detail", ""))
        other = listed[self.base["host_id"]]
        self.assertFalse(other.get("certificate_failure_at"), other)
        lines = self.host_list_lines()
        mine = [l for l in lines if host_id in l]
        self.assertEqual(len(mine), 1, lines)
        self.assertIn("certificate failure", mine[0].lower())
        base_line = [l for l in lines if self.base["host_id"] in l]
        self.assertEqual(len(base_line), 1, lines)
        self.assertNotIn("certificate failure", base_line[0].lower())

        # The host renews with its CA: the failure is resolved.
        r = self.a.agent_cli(path, "renew")
        self.assertEqual(r.returncode, 0, r)
        self.assertFalse(self.host_info(self.a, self.sa, host_id).HasField(
            "certificate_failure_at"))
        self.assertFalse(self.host_list_json()[host_id].get("certificate_failure_at"))
        self.assertNotIn("certificate failure",
                         [l for l in self.host_list_lines() if host_id in l][0].lower())

    def test_reported_failure_is_cleared_by_a_reissue(self):
        path = harness.enrolled_agent(self.a, self.sa, os.path.join(self.a.folder, "agent-rep2"),
                                      "reported2.example")
        host_id = harness.agent_identity(path)["host_id"]
        self.assertTrue(self.report(self.sa, host_id, self.a_spki, self.b_spki,
                                    self.sb.address).recorded)
        self.assertTrue(self.host_info(self.a, self.sa, host_id).HasField(
            "certificate_failure_at"))
        token = harness.create_reissue_token(self.sa, self.a.admin_key, host_id)
        r = self.a.agent_cli(path, "reissue", "--token", token.token)
        self.assertEqual(r.returncode, 0, r)
        self.assertFalse(self.host_info(self.a, self.sa, host_id).HasField(
            "certificate_failure_at"))

    def test_report_of_a_host_another_ca_knows_is_not_recorded(self):
        before = harness.renewal_state(self.b)
        res = self.report(self.sb, self.base["host_id"], self.a_spki, self.b_spki,
                          self.sb.address)
        self.assertFalse(res.recorded)
        after = harness.renewal_state(self.b)
        self.assertEqual(after["certificate_failures"], before["certificate_failures"])
        # Unverified: nothing written by the call (one aggregated row per address and
        # window later, checked by assert_certificate_failure).
        self.assertEqual(after["audit_log"], before["audit_log"])

    def test_the_agent_presents_its_certificate_so_its_own_ca_verifies_the_report(self):
        # The folder pins B (re-pinned by mistake) while its address still answers
        # for A, the CA that issued its certificate: A hears the report from the
        # host itself, over mutual TLS, and marks it verified.
        path = harness.enrolled_agent(self.a, self.sa, os.path.join(self.a.folder, "agent-ver"),
                                      "verified.example")
        host_id = harness.agent_identity(path)["host_id"]
        pin = harness.read_pin(path)
        pin["sha256_fingerprint"], pin["spki_sha256"] = self.b_sha, self.b_spki
        pin_path = os.path.join(path, "pin.json")
        mode = os.stat(pin_path).st_mode & 0o777
        with open(pin_path, "w") as f:
            f.write(json.dumps(pin, indent=2) + "\n")
        os.chmod(pin_path, mode)
        with open(os.path.join(path, "ca.pem"), "wb") as f:
            f.write(self.b.ca_pem_bytes)
        seq = self.a.pg.max_audit_sequence()
        r = self.a.agent_cli(path, "renew")
        harness.agent_error_line(self, r, harness.EXIT_CERTIFICATE_FAILURE, "reported")
        info = self.host_info(self.a, self.sa, host_id)
        self.assertTrue(info.HasField("certificate_failure_at"))
        self.assertTrue(info.certificate_failure_verified)
        # Rows of unverified reports from earlier tests are written in aggregate
        # when their window closes (actor peer:...), whenever that falls.
        self.assertEqual(self.a.pg.psql(
            "SELECT action || '|' || outcome || '|' || actor FROM audit_log WHERE sequence > %d"
            " AND actor NOT LIKE 'peer:%%'" % seq),
            "host.certificate_failure|ok|host:" + host_id)

    def test_an_unverified_report_is_marked_so_and_cannot_replace_a_verified_one(self):
        path = harness.enrolled_agent(self.a, self.sa, os.path.join(self.a.folder, "agent-unv"),
                                      "unverified.example")
        identity = harness.agent_identity(path)
        host_id = identity["host_id"]
        self.assertTrue(self.report(self.sa, host_id, self.a_spki, self.b_spki,
                                    "anyone:1").recorded)
        info = self.host_info(self.a, self.sa, host_id)
        self.assertTrue(info.HasField("certificate_failure_at"))
        self.assertFalse(info.certificate_failure_verified)
        self.assertIn("(unverified)", [l for l in self.host_list_lines() if host_id in l][0])
        # Another host's certificate does not verify a report about this one.
        other = harness.agent_identity(self.base_dir)
        self.report(self.sa, host_id, self.a_spki, self.b_spki, "other:1", identity=other)
        self.assertFalse(self.host_info(self.a, self.sa, host_id).certificate_failure_verified)
        # The host's own: verified; an unverified report afterwards does not replace it.
        self.report(self.sa, host_id, self.a_spki, self.b_spki, self.sb.address,
                    identity=identity)
        self.report(self.sa, host_id, "c" * 64, "d" * 64, "rogue:1")
        info = self.host_info(self.a, self.sa, host_id)
        self.assertTrue(info.certificate_failure_verified)
        self.assertIn(self.sb.address, info.certificate_failure_detail)
        self.assertNotIn("rogue", info.certificate_failure_detail)

    # -- repin

    def test_repin_to_a_fingerprint_the_server_does_not_present_exits_3_and_keeps_the_pin(self):
        path = self.switched_copy("repin-wrong")
        for fingerprint in ("ab" * 32, self.a_sha, self.a_spki):
            with self.subTest(fingerprint=fingerprint):
                files = harness.snapshot_dir(path)
                r = self.a.agent_cli(path, "repin", "--fingerprint", fingerprint)
                harness.agent_error_line(self, r, harness.EXIT_CERTIFICATE_FAILURE)
                self.assertEqual(harness.snapshot_dir(path), files)
                self.assertEqual(harness.read_pin(path)["spki_sha256"], self.a_spki)
        # Still a certificate failure afterwards.
        self.assert_certificate_failure(path, "renew")

    def test_repin_to_bs_fingerprint_keeps_the_identity_then_reset_and_enrol_against_b(self):
        path = self.switched_copy("repin")
        identity_before = {name: content for name, content in harness.snapshot_dir(path).items()
                           if name in ("host.key", "host.pem", "host.json")}
        self.assertEqual(len(identity_before), 3)
        # Pasted the way an admin might: colons, upper case.
        pasted = ":".join(self.b_sha[i:i + 2] for i in range(0, 64, 2)).upper()
        r = self.a.agent_cli(path, "repin", "--fingerprint", pasted)
        self.assertEqual(r.returncode, 0, r)
        pin = harness.read_pin(path)
        self.assertEqual((pin["sha256_fingerprint"], pin["spki_sha256"], pin["server"]),
                         (self.b_sha, self.b_spki, self.sb.address))
        with open(os.path.join(path, "ca.pem"), "rb") as f:
            self.assertEqual(harness.fingerprints(x509.load_pem_x509_certificate(f.read())),
                             (self.b_sha, self.b_spki))
        after = harness.snapshot_dir(path)
        self.assertEqual({n: after[n] for n in identity_before}, identity_before)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700)

        # No certificate failure any more: B is asked, and refuses A's certificate.
        state = harness.renewal_state(self.b)
        r = self.a.agent_cli(path, "renew")
        harness.agent_error_line(self, r, 1)
        self.assertEqual(harness.renewal_state(self.b), state)
        r = self.a.agent_cli(path, "fetch-crl")
        self.assertEqual(r.returncode, 0, r)

        # reset keeps the new pin; enrolment against B makes a host of B.
        r = self.a.agent_cli(path, "reset", "--yes")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(harness.read_pin(path)["spki_sha256"], self.b_spki)
        for name in harness.IDENTITY_FILES:
            self.assertFalse(os.path.exists(os.path.join(path, name)), name)
        token = harness.new_auth_token(self.b, self.sb, "after repin")["token"]
        r = self.a.agent_cli(path, "enroll", "--token", token, "--hostname", "web01.example")
        self.assertEqual(r.returncode, 0, r)
        ident = harness.agent_identity(path)
        self.assertNotEqual(ident["host_id"], self.base["host_id"])
        harness.check_host_certificate(self, ident["cert"], self.b.ca_cert, ident["host_id"],
                                       "web01.example", self.sb.http_port)
        self.assertEqual(self.b.pg.scalar("SELECT count(*) FROM hosts WHERE host_id = '%s'"
                                          % ident["host_id"]), 1)

    def test_repin_accepts_the_public_key_fingerprint(self):
        path = self.switched_copy("repin-spki")
        r = self.a.agent_cli(path, "repin", "--fingerprint", self.b_spki)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(harness.read_pin(path)["spki_sha256"], self.b_spki)


if __name__ == "__main__":
    unittest.main()
