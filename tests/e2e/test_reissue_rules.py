"""The rules of reissue and revocation through a Python gRPC client generated
from proto/: whose token works for whom, a single-use token under a race of ten,
keys that must be new, bad host IDs, the token-less window's limit, and the bad
inputs of RevokeCertificate. Every refusal has its status and phrase and leaves
the rows and the CRL numbers as they were. Then a CA with a single CRL shard."""

import concurrent.futures
import os
import secrets
import sys
import threading
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, grpc, host_pb2, x509  # noqa: E402

SHARDS = 4
RACERS = 10


class ReissueRulesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=SHARDS)
        try:
            cls.server = cls.d.start_server()
            harness.wait_for_crls(cls.server, SHARDS)
        except BaseException:
            cls.d.close()
            raise
        cls.host = cls.server.host_stub()
        cls.admin = cls.server.admin_stub()
        cls.md = harness.admin_metadata(cls.d.admin_key)

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers

    def enroll(self, name, key=None):
        return harness.enroll_host(self.server, self.d.admin_key, name + ".example", key)

    def token_for(self, host_id, valid_for_seconds=None):
        return harness.create_reissue_token(self.server, self.d.admin_key, host_id,
                                            valid_for_seconds, reason="rules e2e")

    def reissue_request(self, host_id, token="", key=None, hostname=""):
        key = key or harness.new_key()
        return host_pb2.ReissueCertificateRequest(
            host_id=host_id, csr=harness.make_csr(key, hostname or "x.example"),
            reissue_token=token, hostname=hostname)

    def assert_refused(self, call, req, code, *phrases, metadata=None):
        """The call fails with `code` and every phrase; rows and CRL numbers stay."""
        before = harness.revocation_state(self.d, self.server)
        e = harness.rpc_error(call, req, metadata=metadata)
        self.assertEqual(e.code(), code, e.details())
        for phrase in phrases:
            self.assertIn(phrase, e.details())
        self.assertEqual(harness.revocation_state(self.d, self.server), before)
        return e

    def assert_reissue_refused(self, req, code, *phrases):
        return self.assert_refused(self.host.ReissueCertificate, req, code, *phrases)

    def assert_revoke_refused(self, req, code, *phrases):
        return self.assert_refused(self.admin.RevokeCertificate, req, code, *phrases,
                                   metadata=self.md)

    def token_uses(self, token_id):
        return self.d.pg.scalar("SELECT uses FROM tokens WHERE token_id = '%s'" % token_id)

    # -- whose token

    def test_token_of_another_host_is_permission_denied_and_stays_usable_for_its_host(self):
        a, _ = self.enroll("rules-a")
        b, _ = self.enroll("rules-b")
        token = self.token_for(a.host_id)
        self.assertRegex(token.token, harness.REISSUE_TOKEN_RE)
        e = self.assert_reissue_refused(self.reissue_request(b.host_id, token.token),
                                        grpc.StatusCode.PERMISSION_DENIED, "another host")
        self.assertNotIn(token.token, e.details())
        self.assertEqual(self.token_uses(token.token_id), 0)
        res, key = harness.reissue(self.server, a.host_id, token=token.token)
        self.assertEqual(res.host_id, a.host_id)
        self.assertEqual([int(s, 16) for s in res.revoked_serials_hex], [int(a.serial_hex, 16)])
        self.assertEqual(self.token_uses(token.token_id), 1)

    def test_an_authorization_token_is_not_a_reissue_token(self):
        a, _ = self.enroll("rules-auth-token")
        auth = harness.create_token(self.server, self.d.admin_key, "not for reissue", max_uses=5)
        self.assert_reissue_refused(self.reissue_request(a.host_id, auth.token),
                                    grpc.StatusCode.UNAUTHENTICATED, "not a reissue token")

    def test_unknown_reissue_token_is_unauthenticated(self):
        a, _ = self.enroll("rules-unknown-token")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        fake = "hca_reissue_" + "".join(secrets.choice(alphabet) for _ in range(43))
        self.assert_reissue_refused(self.reissue_request(a.host_id, fake),
                                    grpc.StatusCode.UNAUTHENTICATED, "unknown")

    # -- one token, ten racers

    def test_ten_concurrent_reissues_with_one_token_issue_exactly_one_certificate(self):
        first, _ = self.enroll("rules-race")
        host_id = first.host_id
        # A first reissue, so the host has an already revoked and a valid certificate.
        second, _ = harness.reissue(self.server, host_id, token=self.token_for(host_id).token)
        token = self.token_for(host_id)
        shard = harness.crl_shard_of(host_id, SHARDS)
        before = harness.revocation_state(self.d, self.server)
        requests = [self.reissue_request(host_id, token.token) for _ in range(RACERS)]
        stubs = [self.server.host_stub() for _ in range(RACERS)]
        barrier = threading.Barrier(RACERS, timeout=60)

        def call(i):
            barrier.wait()
            try:
                # wait_for_ready: ten channels connecting at once may see a
                # transient connect failure; the race is about the token.
                return ("OK", stubs[i].ReissueCertificate(requests[i], timeout=60,
                                                          wait_for_ready=True))
            except grpc.RpcError as e:
                return (e.code().name, e.details())

        with concurrent.futures.ThreadPoolExecutor(max_workers=RACERS) as pool:
            results = list(pool.map(call, range(RACERS)))
        ok = [r for code, r in results if code == "OK"]
        refused = [(code, r) for code, r in results if code != "OK"]
        self.assertEqual(len(ok), 1, results)
        self.assertEqual(len(refused), RACERS - 1, results)
        for code, details in refused:
            self.assertEqual(code, "RESOURCE_EXHAUSTED", details)
            self.assertIn("used up", details)
        winner = ok[0]
        self.assertEqual(winner.host_id, host_id)
        self.assertEqual([int(s, 16) for s in winner.revoked_serials_hex],
                         [int(second.serial_hex, 16)])

        after = harness.revocation_state(self.d, self.server)
        self.assertEqual(after["certificates"] - before["certificates"], 1)
        self.assertEqual(after["revoked_certificates"] - before["revoked_certificates"], 1)
        self.assertEqual(after["token_uses"] - before["token_uses"], 1)
        self.assertEqual(after["hosts"], before["hosts"])
        self.assertEqual(self.token_uses(token.token_id), 1)
        certs = harness.host_certificates(self.d, host_id)
        self.assertEqual(len(certs), 3, certs)
        unrevoked = [c for c in certs if c[2] == ""]
        self.assertEqual([int(c[0], 16) for c in unrevoked], [int(winner.serial_hex, 16)])
        for serial, _, revoked_at, reason in certs:
            if not harness.same_serial(serial, winner.serial_hex):
                self.assertEqual(reason, str(harness.REASON_SUPERSEDED), certs)
        # The shard's CRL lists both earlier certificates, and not the new one.
        crl = x509.load_der_x509_crl(harness.get_crls(self.server, shard)[shard].crl_der)
        entries = harness.crl_entries(crl)
        for serial in (first.serial_hex, second.serial_hex):
            self.assertEqual(entries[int(serial, 16)][1], harness.REASON_SUPERSEDED)
        self.assertNotIn(int(winner.serial_hex, 16), entries)
        self.assertGreater(after["crl_numbers"][shard], before["crl_numbers"][shard])
        for s in range(SHARDS):
            if s != shard:
                self.assertEqual(after["crl_numbers"][s], before["crl_numbers"][s])

    # -- keys

    def test_csr_with_the_key_of_another_host_is_invalid_argument(self):
        a, key_a = self.enroll("rules-key-a")
        b, _ = self.enroll("rules-key-b")
        token = self.token_for(b.host_id)
        e = self.assert_reissue_refused(self.reissue_request(b.host_id, token.token, key=key_a),
                                        grpc.StatusCode.INVALID_ARGUMENT, "key pair",
                                        "make a new one")
        self.assertIn(a.host_id, e.details())
        self.assertEqual(self.token_uses(token.token_id), 0)
        # The token was not spent: with a new key it works.
        res, _ = harness.reissue(self.server, b.host_id, token=token.token)
        self.assertEqual(res.host_id, b.host_id)

    def test_csr_with_the_hosts_own_current_key_is_invalid_argument(self):
        a, key_a = self.enroll("rules-same-key")
        token = self.token_for(a.host_id)
        self.assert_reissue_refused(self.reissue_request(a.host_id, token.token, key=key_a),
                                    grpc.StatusCode.INVALID_ARGUMENT, "new key pair")
        self.assertEqual(self.token_uses(token.token_id), 0)
        # Nor a key of one of its earlier, already revoked certificates.
        res, new_key = harness.reissue(self.server, a.host_id, token=token.token)
        again = self.token_for(a.host_id)
        self.assert_reissue_refused(self.reissue_request(a.host_id, again.token, key=key_a),
                                    grpc.StatusCode.INVALID_ARGUMENT, "new key pair")
        self.assertEqual(self.token_uses(again.token_id), 0)

    def test_garbage_csr_is_invalid_argument_and_spends_nothing(self):
        a, _ = self.enroll("rules-garbage")
        token = self.token_for(a.host_id)
        req = host_pb2.ReissueCertificateRequest(host_id=a.host_id, csr=b"not a CSR" * 10,
                                                 reissue_token=token.token)
        self.assert_reissue_refused(req, grpc.StatusCode.INVALID_ARGUMENT, "PKCS#10")
        self.assertEqual(self.token_uses(token.token_id), 0)

    # -- host IDs

    def test_unknown_host_id_is_not_found(self):
        a, _ = self.enroll("rules-unknown-host")
        token = self.token_for(a.host_id)
        unknown = str(uuid.uuid4())
        self.assert_reissue_refused(self.reissue_request(unknown),
                                    grpc.StatusCode.NOT_FOUND, "no host has the ID " + unknown)
        # With a token of a real host, the token speaks first: it is for another host.
        self.assert_reissue_refused(self.reissue_request(unknown, token.token),
                                    grpc.StatusCode.PERMISSION_DENIED, "another host")
        self.assertEqual(self.token_uses(token.token_id), 0)
        e = harness.rpc_error(self.admin.CreateReissueToken,
                              admin_pb2.CreateReissueTokenRequest(host_id=unknown),
                              metadata=self.md)
        self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND, e.details())

    def test_malformed_host_id_is_invalid_argument(self):
        a, _ = self.enroll("rules-malformed-host")
        token = self.token_for(a.host_id)
        for bad, phrase in (("web01", "UUID"), ("", "empty"),
                            ("123e4567-e89b-42d3-a456-42661417400", "UUID"),
                            ("'; DROP TABLE hosts", "UUID")):
            with self.subTest(host_id=bad):
                self.assert_reissue_refused(self.reissue_request(bad, token.token),
                                            grpc.StatusCode.INVALID_ARGUMENT, "host ID", phrase)
        e = self.assert_refused(self.admin.CreateReissueToken,
                                admin_pb2.CreateReissueTokenRequest(host_id="web01"),
                                grpc.StatusCode.INVALID_ARGUMENT, "UUID", metadata=self.md)
        self.assertEqual(self.token_uses(token.token_id), 0)

    # -- token validity and the token-less window

    def test_expired_reissue_token_is_permission_denied(self):
        a, _ = self.enroll("rules-expired")
        token = self.token_for(a.host_id, valid_for_seconds=1)
        harness.wait_past(harness.timestamp_seconds(token.expires_at), margin=1.0)
        self.assert_reissue_refused(self.reissue_request(a.host_id, token.token),
                                    grpc.StatusCode.PERMISSION_DENIED, "expired")
        self.assertEqual(self.token_uses(token.token_id), 0)

    def test_used_reissue_token_is_resource_exhausted(self):
        a, _ = self.enroll("rules-used")
        token = self.token_for(a.host_id)
        harness.reissue(self.server, a.host_id, token=token.token)
        self.assert_reissue_refused(self.reissue_request(a.host_id, token.token),
                                    grpc.StatusCode.RESOURCE_EXHAUSTED, "used up")
        self.assertEqual(self.token_uses(token.token_id), 1)

    def test_no_token_and_no_window_is_unauthenticated(self):
        a, _ = self.enroll("rules-no-token")
        self.assert_reissue_refused(self.reissue_request(a.host_id),
                                    grpc.StatusCode.UNAUTHENTICATED, "no reissue token",
                                    "reissue-token create")

    def test_auto_reissue_window_over_48_hours_is_invalid_argument(self):
        a, _ = self.enroll("rules-window")
        req = admin_pb2.AllowAutoReissueRequest(host_id=a.host_id)
        req.valid_for.seconds = 48 * 3600 + 1
        self.assert_refused(self.admin.AllowAutoReissue, req, grpc.StatusCode.INVALID_ARGUMENT,
                            "48", metadata=self.md)
        # 48 hours exactly is allowed, and opens one token-less reissue.
        req.valid_for.seconds = 48 * 3600
        res = self.admin.AllowAutoReissue(req, metadata=self.md, timeout=30)
        got = self.admin.GetHost(admin_pb2.GetHostRequest(host_id=a.host_id), metadata=self.md,
                                 timeout=30)
        self.assertEqual(got.host.auto_reissue_until.seconds, res.until.seconds)
        reissued, _ = harness.reissue(self.server, a.host_id)
        self.assertEqual([int(s, 16) for s in reissued.revoked_serials_hex],
                         [int(a.serial_hex, 16)])
        self.assert_reissue_refused(self.reissue_request(a.host_id),
                                    grpc.StatusCode.UNAUTHENTICATED)

    def test_auto_reissue_for_an_unknown_host_is_not_found(self):
        req = admin_pb2.AllowAutoReissueRequest(host_id=str(uuid.uuid4()))
        req.valid_for.seconds = 3600
        self.assert_refused(self.admin.AllowAutoReissue, req, grpc.StatusCode.NOT_FOUND,
                            metadata=self.md)

    # -- RevokeCertificate

    def test_revoke_with_a_malformed_serial_is_invalid_argument(self):
        for bad in ("xyz", "12 34", "-1", "0x1234"):
            with self.subTest(serial=bad[:12]):
                self.assert_revoke_refused(
                    admin_pb2.RevokeCertificateRequest(serial_hex=bad, reason=1),
                    grpc.StatusCode.INVALID_ARGUMENT)

    def test_revoke_with_a_serial_longer_than_20_octets_is_invalid_argument(self):
        # RFC 5280 4.1.2.2: no serial is longer than 20 octets, so none can be found.
        self.assert_revoke_refused(
            admin_pb2.RevokeCertificateRequest(serial_hex="ab" * 21, reason=1),
            grpc.StatusCode.INVALID_ARGUMENT)

    def test_revoke_without_a_target_is_invalid_argument(self):
        self.assert_revoke_refused(admin_pb2.RevokeCertificateRequest(reason=1),
                                   grpc.StatusCode.INVALID_ARGUMENT)

    def test_revoke_of_an_unknown_serial_or_host_is_not_found(self):
        serial = "7f" + secrets.token_hex(15)
        self.assert_revoke_refused(admin_pb2.RevokeCertificateRequest(serial_hex=serial, reason=1),
                                   grpc.StatusCode.NOT_FOUND, serial)
        host_id = str(uuid.uuid4())
        self.assert_revoke_refused(admin_pb2.RevokeCertificateRequest(host_id=host_id, reason=1),
                                   grpc.StatusCode.NOT_FOUND, host_id)

    def test_revoke_with_an_unknown_reason_code_is_invalid_argument(self):
        a, _ = self.enroll("rules-reason")
        for code in (7, 8, 11, 255):
            with self.subTest(reason=code):
                e = self.assert_revoke_refused(
                    admin_pb2.RevokeCertificateRequest(serial_hex=a.serial_hex, reason=code),
                    grpc.StatusCode.INVALID_ARGUMENT, "unknown revocation reason " + str(code))
                if code < 100:
                    self.assertIn("keyCompromise", e.details())  # it says what is accepted

    def test_revoking_a_revoked_certificate_is_failed_precondition_saying_when_and_why(self):
        a, _ = self.enroll("rules-twice")
        res = harness.revoke(self.server, self.d.admin_key, serial_hex=a.serial_hex,
                             reason=harness.REASON_KEY_COMPROMISE)
        self.assertEqual([int(s, 16) for s in res.revoked_serials_hex], [int(a.serial_hex, 16)])
        revoked_on = self.d.pg.psql("SELECT to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
                                    " FROM certificates WHERE serial_hex = '%s'"
                                    % a.serial_hex.lower())
        for reason in (harness.REASON_KEY_COMPROMISE, harness.REASON_SUPERSEDED):
            with self.subTest(reason=reason):
                self.assert_revoke_refused(
                    admin_pb2.RevokeCertificateRequest(serial_hex=a.serial_hex, reason=reason),
                    grpc.StatusCode.FAILED_PRECONDITION, "keyCompromise", revoked_on)
        # By host ID there is nothing left to revoke.
        self.assert_revoke_refused(
            admin_pb2.RevokeCertificateRequest(host_id=a.host_id, reason=1),
            grpc.StatusCode.FAILED_PRECONDITION)

    def test_revoke_by_host_id_revokes_every_valid_certificate_of_the_host(self):
        a, _ = self.enroll("rules-by-host")
        b, _ = self.enroll("rules-bystander")
        before = harness.revocation_state(self.d, self.server)
        res = harness.revoke(self.server, self.d.admin_key, host_id=a.host_id,
                             reason=harness.REASON_CESSATION_OF_OPERATION)
        self.assertEqual([int(s, 16) for s in res.revoked_serials_hex], [int(a.serial_hex, 16)])
        after = harness.revocation_state(self.d, self.server)
        self.assertEqual(after["revoked_certificates"], before["revoked_certificates"] + 1)
        shard = harness.crl_shard_of(a.host_id, SHARDS)
        self.assertGreater(after["crl_numbers"][shard], before["crl_numbers"][shard])
        crl = x509.load_der_x509_crl(harness.get_crls(self.server, shard)[shard].crl_der)
        entries = harness.crl_entries(crl)
        self.assertEqual(entries[int(a.serial_hex, 16)][1],
                         harness.REASON_CESSATION_OF_OPERATION)
        self.assertNotIn(int(b.serial_hex, 16), entries)
        got = self.admin.GetHost(admin_pb2.GetHostRequest(host_id=b.host_id), metadata=self.md,
                                 timeout=30)
        self.assertTrue(got.host.has_valid_certificate)

    def test_unspecified_reason_leaves_the_entry_without_a_reason_code(self):
        a, _ = self.enroll("rules-unspecified")
        harness.revoke(self.server, self.d.admin_key, serial_hex=a.serial_hex,
                       reason=harness.REASON_UNSPECIFIED)
        shard = harness.crl_shard_of(a.host_id, SHARDS)
        crl = x509.load_der_x509_crl(harness.get_crls(self.server, shard)[shard].crl_der)
        entry = crl.get_revoked_certificate_by_serial_number(int(a.serial_hex, 16))
        self.assertIsNotNone(entry)
        with self.assertRaises(x509.ExtensionNotFound):
            entry.extensions.get_extension_for_class(x509.CRLReason)


class SingleShardTest(unittest.TestCase):
    """`init --crl-shards 1`: one CRL for every host, still with a matching IDP."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=1)
        try:
            cls.server = cls.d.start_server()
            harness.wait_for_crls(cls.server, 1)
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def test_reissue_with_one_shard_revokes_the_old_and_the_single_crl_verifies(self):
        first, _ = harness.enroll_host(self.server, self.d.admin_key, "single.example")
        token = harness.create_reissue_token(self.server, self.d.admin_key, first.host_id)
        res, _ = harness.reissue(self.server, first.host_id, token=token.token)
        self.assertEqual([int(s, 16) for s in res.revoked_serials_hex],
                         [int(first.serial_hex, 16)])
        old = x509.load_der_x509_certificate(first.certificate_der)
        new = x509.load_der_x509_certificate(res.certificate_der)
        url = harness.crl_url(self.server, 0)
        self.assertEqual(harness.distribution_point_of(old), url)
        self.assertEqual(harness.distribution_point_of(new), url)

        crls = harness.get_crls(self.server)
        self.assertEqual(list(crls), [0])
        crl = x509.load_der_x509_crl(crls[0].crl_der)
        harness.check_crl_profile(self, crl, self.d.ca_cert, url=url)
        self.assertEqual(harness.crl_entries(crl)[old.serial_number][1],
                         harness.REASON_SUPERSEDED)
        http = harness.http_get(self.server.http_port, "/crl/0.crl")
        self.assertEqual(http.status, 200, http)
        self.assertEqual(http.body, crls[0].crl_der)
        self.assertEqual(harness.http_get(self.server.http_port, "/crl/1.crl").status, 404)

        bundle = harness.http_get(self.server.http_port, "/crl/all.pem")
        self.assertEqual(bundle.status, 200, bundle)
        harness.shard_crls_of_bundle(self, harness.load_crl_bundle(bundle.body), self.server, 1)
        crl_file = harness.write_bytes(os.path.join(self.d.folder, "all.pem"), bundle.body)
        old_file = harness.write_bytes(os.path.join(self.d.folder, "old.pem"),
                                       first.certificate_pem.encode())
        new_file = harness.write_bytes(os.path.join(self.d.folder, "new.pem"),
                                       res.certificate_pem.encode())
        verify = ["openssl", "verify", "-crl_check", "-CAfile", self.d.ca_pem_path,
                  "-CRLfile", crl_file]
        r = harness.run(verify + [old_file])
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("certificate revoked", r.stdout + r.stderr)
        r = harness.run(verify + [new_file])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(": OK", r.stdout)


if __name__ == "__main__":
    unittest.main()
