"""The whole enrolment flow driven by a Python gRPC client generated from
proto/: no hostca code on the client side, keys and CSRs made by `cryptography`."""

import json
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, grpc, host_pb2, x509  # noqa: E402
from hostca.v1 import revocation_pb2, revocation_pb2_grpc  # noqa: E402


class PythonClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            cls.server = cls.d.start_server()
        except BaseException:
            cls.d.close()
            raise
        cls.host = cls.server.host_stub()
        cls.admin = cls.server.admin_stub()
        cls.md = harness.admin_metadata(cls.d.admin_key)
        cls.secrets = [cls.d.admin_key]

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def create_token(self, name, max_uses=1, valid_for=None):
        req = admin_pb2.CreateAuthorizationTokenRequest(name=name, max_uses=max_uses,
                                                        reason="python e2e")
        if valid_for is not None:
            req.valid_for.seconds = valid_for
        res = self.admin.CreateAuthorizationToken(req, metadata=self.md, timeout=30)
        self.secrets.append(res.token)
        return res

    def enroll(self, key, hostname, token, aliases=(), timeout=30):
        req = host_pb2.RequestCertificateRequest(csr=harness.make_csr(key, hostname),
                                                 hostname=hostname, aliases=list(aliases),
                                                 authorization_token=token)
        return self.host.RequestCertificate(req, timeout=timeout)

    def check_response(self, res, key, hostname, aliases=(), rsa=False):
        cert = x509.load_der_x509_certificate(res.certificate_der)
        self.assertEqual(x509.load_pem_x509_certificate(res.certificate_pem.encode()), cert)
        self.assertEqual(res.ca_certificate_der,
                         harness.serialization_der(self.d.ca_cert))
        self.assertEqual(int(res.serial_hex, 16), cert.serial_number)
        self.assertEqual(res.not_after.seconds,
                         int(cert.not_valid_after.replace(
                             tzinfo=harness.datetime.timezone.utc).timestamp()))
        self.assertEqual(harness.spki_der(cert.public_key()), harness.spki_der(key.public_key()))
        harness.check_host_certificate(self, cert, self.d.ca_cert, res.host_id, hostname,
                                       self.server.http_port, aliases=aliases,
                                       key_encipherment=rsa)
        return cert

    def test_get_ca_certificate_matches_our_own_fingerprints(self):
        res = self.host.GetCACertificate(host_pb2.GetCACertificateRequest(), timeout=30)
        cert = x509.load_der_x509_certificate(res.certificate_der)
        self.assertEqual(cert, self.d.ca_cert)
        self.assertEqual(x509.load_pem_x509_certificate(res.certificate_pem.encode()), cert)
        sha256, spki = harness.fingerprints(cert)
        self.assertEqual(res.sha256_fingerprint, sha256)
        self.assertEqual(res.spki_sha256, spki)
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        self.assertTrue(bc.ca)
        self.assertEqual(bc.path_length, 0)
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        self.assertTrue(ku.key_cert_sign and ku.crl_sign)

    def test_enrolment_with_ecdsa_ed25519_and_rsa_keys(self):
        token = self.create_token("three hosts", max_uses=3, valid_for=3600)
        self.assertTrue(token.token.startswith("hca_auth_"))
        uuid.UUID(token.token_id)
        cases = [("p256", "tri-ec.example", ("tri-ec-alias.example",), False),
                 ("ed25519", "tri-ed.example", (), False),
                 ("rsa2048", "tri-rsa.example", (), True)]
        host_ids = []
        for kind, hostname, aliases, rsa in cases:
            with self.subTest(key=kind):
                key = harness.new_key(kind)
                res = self.enroll(key, hostname, token.token, aliases)
                self.check_response(res, key, hostname, aliases, rsa)
                host_ids.append(res.host_id)

        listed = self.admin.ListHosts(admin_pb2.ListHostsRequest(hostname_contains="tri-"),
                                      metadata=self.md, timeout=30)
        by_id = {h.host_id: h for h in listed.hosts}
        self.assertEqual(set(by_id), set(host_ids))
        for (kind, hostname, aliases, _), host_id in zip(cases, host_ids):
            self.assertEqual(by_id[host_id].hostname, hostname)
            self.assertEqual(list(by_id[host_id].aliases), list(aliases))
            self.assertTrue(by_id[host_id].has_valid_certificate)

        got = self.admin.GetHost(admin_pb2.GetHostRequest(host_id=host_ids[0]),
                                 metadata=self.md, timeout=30)
        self.assertEqual(got.host.hostname, "tri-ec.example")
        self.assertEqual(len(got.certificates), 1)
        self.assertEqual(got.certificates[0].state, "valid")
        self.assertEqual(got.certificates[0].kind, "enroll")
        self.assertFalse(got.certificates[0].revoked)
        cert = x509.load_der_x509_certificate(got.certificates[0].certificate_der)
        self.assertEqual(int(got.certificates[0].serial_hex, 16), cert.serial_number)
        self.assertEqual(got.host.current_certificate.serial_hex, got.certificates[0].serial_hex)

        tokens = self.admin.ListTokens(admin_pb2.ListTokensRequest(), metadata=self.md, timeout=30)
        mine = [t for t in tokens.tokens if t.token_id == token.token_id]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0].uses, mine[0].max_uses, mine[0].state, mine[0].kind),
                         (3, 3, "used_up", "authorization"))
        self.assertEqual(mine[0].name, "three hosts")
        self.assertEqual(mine[0].expires_at.seconds - mine[0].created_at.seconds, 3600)

    def test_delete_token_marks_it_deleted_and_hides_it_from_the_default_list(self):
        token = self.create_token("to delete")
        self.admin.DeleteToken(admin_pb2.DeleteTokenRequest(token_id=token.token_id),
                               metadata=self.md, timeout=30)
        default = self.admin.ListTokens(admin_pb2.ListTokensRequest(), metadata=self.md,
                                        timeout=30)
        self.assertNotIn(token.token_id, [t.token_id for t in default.tokens])
        everything = self.admin.ListTokens(admin_pb2.ListTokensRequest(include_deleted=True),
                                           metadata=self.md, timeout=30)
        mine = [t for t in everything.tokens if t.token_id == token.token_id]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].state, "deleted")
        self.assertGreater(mine[0].deleted_at.seconds, 0)
        e = harness.rpc_error(self.enroll, harness.new_key(), "deleted-py.example", token.token)
        self.assertEqual(e.code(), grpc.StatusCode.PERMISSION_DENIED)
        # Deleting twice says so.
        e = harness.rpc_error(self.admin.DeleteToken,
                              admin_pb2.DeleteTokenRequest(token_id=token.token_id),
                              metadata=self.md)
        self.assertEqual(e.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("already deleted", e.details())

    def test_audit_events_are_listed_parse_and_hold_no_secret(self):
        token = self.create_token("audited")
        key = harness.new_key()
        res = self.enroll(key, "py-audited.example", token.token)
        events = []
        after = 0
        while True:
            page = self.admin.ListAuditEvents(
                admin_pb2.ListAuditEventsRequest(after_sequence=after, limit=1000),
                metadata=self.md, timeout=30)
            if not page.events:
                break
            events.extend(page.events)
            after = page.events[-1].sequence
        sequences = [e.sequence for e in events]
        self.assertEqual(sequences, sorted(set(sequences)))
        self.assertEqual(len(events), self.d.pg.scalar("SELECT count(*) FROM audit_log"))
        actions = {(e.action, e.subject) for e in events}
        self.assertIn(("token.create", token.token_id), actions)
        self.assertIn(("token.use", token.token_id), actions)
        self.assertIn(("certificate.issue", res.host_id), actions)
        self.assertIn("ca.init", {e.action for e in events})
        for e in events:
            details = json.loads(e.details_json)
            self.assertIsInstance(details, dict)
            self.assertIn(e.outcome, ("ok", "refused"))
            self.assertGreater(e.at.seconds, 0)
            text = " ".join([e.actor, e.action, e.subject, e.details_json])
            for secret in self.secrets:
                self.assertNotIn(secret, text)
                self.assertNotIn(secret[-43:], text)

    def test_create_admin_key_gives_a_key_that_works(self):
        res = self.admin.CreateAdminKey(admin_pb2.CreateAdminKeyRequest(name="second admin"),
                                        metadata=self.md, timeout=30)
        self.secrets.append(res.admin_key)
        self.assertRegex(res.admin_key, harness.ADMIN_KEY_RE)
        self.assertNotEqual(res.admin_key, self.d.admin_key)
        new_md = harness.admin_metadata(res.admin_key)
        token = self.admin.CreateAuthorizationToken(
            admin_pb2.CreateAuthorizationTokenRequest(name="by second admin"),
            metadata=new_md, timeout=30)
        self.secrets.append(token.token)
        events = self.admin.ListAuditEvents(admin_pb2.ListAuditEventsRequest(limit=1000),
                                            metadata=new_md, timeout=30).events
        created = [e for e in events if e.action == "token.create" and e.subject == token.token_id]
        self.assertEqual(len(created), 1)
        self.assertEqual(created[0].actor, "admin:" + res.key_id)
        key_events = [e for e in events if e.action == "admin_key.create"
                      and e.subject == res.key_id]
        self.assertEqual(len(key_events), 1)

    def test_server_does_not_answer_plaintext_grpc(self):
        with grpc.insecure_channel(self.server.address) as ch:
            stub = harness.host_pb2_grpc.HostServiceStub(ch)
            e = harness.rpc_error(stub.GetCACertificate, host_pb2.GetCACertificateRequest(),
                                  timeout=5)
        self.assertIn(e.code(), (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED))

    def test_tls_with_another_root_is_refused(self):
        # A client that trusts some other CA cannot talk to the server.
        other = harness.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                             "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null",
                             "-subj", "/CN=other", "-days", "1"])
        self.assertEqual(other.returncode, 0, other)
        creds = grpc.ssl_channel_credentials(other.stdout.encode())
        with grpc.secure_channel(self.server.address, creds) as ch:
            stub = harness.host_pb2_grpc.HostServiceStub(ch)
            e = harness.rpc_error(stub.GetCACertificate, host_pb2.GetCACertificateRequest(),
                                  timeout=5)
        self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)

    def test_renewal_without_a_client_certificate_is_unauthenticated(self):
        before = self.d.pg.counts()
        e = harness.rpc_error(self.host.RenewCertificate,
                              host_pb2.RenewCertificateRequest(csr=b"x"))
        self.assertEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("client certificate", e.details())
        self.assertEqual(self.d.pg.counts(), before)

    def test_get_crl_returns_every_shard_signed_by_the_ca(self):
        crl = revocation_pb2_grpc.RevocationServiceStub(self.server.channel())
        res = crl.GetCRL(revocation_pb2.GetCRLRequest(), timeout=15)
        shards = sorted(c.shard for c in res.crls)
        self.assertEqual(shards, list(range(len(shards))))
        self.assertGreater(len(shards), 0)
        ca_key = self.d.ca_cert.public_key()
        for c in res.crls:
            parsed = x509.load_der_x509_crl(c.crl_der)
            self.assertTrue(parsed.is_signature_valid(ca_key), c.shard)
            self.assertGreaterEqual(c.crl_number, 1)


if __name__ == "__main__":
    unittest.main()
