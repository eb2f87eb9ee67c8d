"""Who may renew, through a Python gRPC client generated from proto/: RenewCertificate
takes the host from the TLS client certificate, which must be one this CA issued,
unexpired and unrevoked in the database at the moment of the call. No client
certificate, another CA's certificate (even one copying every name and the serial
of a real one), the server's own certificate, a revoked certificate and a CSR for an
already certified key are each refused with their status and phrase, and leave the
database as it was. The request has no field that names a host."""

import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc, host_pb2, x509  # noqa: E402
from harness import NameOID  # noqa: E402


class RenewalAuthTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            cls.server = cls.d.start_server()
        except BaseException:
            cls.d.close()
            raise
        cls.md = harness.admin_metadata(cls.d.admin_key)

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers

    def enroll(self, name):
        """A host enrolled through the Python client: (response, key PEM, cert PEM, cert)."""
        res, key = harness.enroll_host(self.server, self.d.admin_key, name + ".example")
        cert = x509.load_der_x509_certificate(res.certificate_der)
        return res, harness.key_pem_of(key), res.certificate_pem.encode(), cert

    def renew(self, key_pem, cert_pem, new_key=None, csr_name="ignored.example"):
        new_key = new_key or harness.new_key()
        res = harness.renew_rpc(self.server, key_pem, cert_pem,
                                harness.make_csr(new_key, csr_name))
        return res, new_key

    def assert_renew_refused(self, key_pem, cert_pem, code, *phrases, csr=None,
                             channel=None):
        """The call fails with `code` and every phrase, and the database is as it was."""
        before = harness.renewal_state(self.d)
        csr = csr or harness.make_csr(harness.new_key(), "refused.example")
        ch = channel or harness.mtls_channel(self.server, key_pem, cert_pem)
        stub = harness.host_pb2_grpc.HostServiceStub(ch)
        e = harness.rpc_error(stub.RenewCertificate, host_pb2.RenewCertificateRequest(csr=csr))
        self.assertEqual(e.code(), code, e.details())
        for phrase in phrases:
            self.assertIn(phrase, e.details())
        self.assertEqual(harness.renewal_state(self.d), before)
        return e

    def certificates_of(self, host_id):
        return harness.host_certificates(self.d, host_id)

    # -- success, the baseline every refusal differs from

    def test_valid_certificate_renews_same_host_new_serial_kind_renew_old_not_revoked(self):
        first, key_pem, cert_pem, cert = self.enroll("auth-ok")
        before = harness.renewal_state(self.d)
        seq = self.d.pg.max_audit_sequence()
        res, new_key = self.renew(key_pem, cert_pem)
        new_cert = x509.load_der_x509_certificate(res.certificate_der)
        self.assertEqual(res.host_id, first.host_id)
        self.assertNotEqual(int(res.serial_hex, 16), int(first.serial_hex, 16))
        self.assertEqual(new_cert.serial_number, int(res.serial_hex, 16))
        self.assertEqual(harness.spki_der(new_cert.public_key()),
                         harness.spki_der(new_key.public_key()))
        self.assertEqual(res.ca_certificate_der, harness.serialization_der(self.d.ca_cert))
        self.assertEqual(list(res.revoked_serials_hex), [])
        harness.check_host_certificate(self, new_cert, self.d.ca_cert, first.host_id,
                                       "auth-ok.example", self.server.http_port)
        after = harness.renewal_state(self.d)
        self.assertEqual(after["certificates"], before["certificates"] + 1)
        self.assertEqual(after["hosts"], before["hosts"])
        self.assertEqual(after["revoked_certificates"], before["revoked_certificates"])
        rows = {int(s, 16): (kind, revoked) for s, kind, revoked, _ in
                self.certificates_of(first.host_id)}
        self.assertEqual(rows, {cert.serial_number: ("enroll", ""),
                                new_cert.serial_number: ("renew", "")})
        self.assertIn(("certificate.renew", "ok"), self.d.pg.audit_actions_after(seq))
        # The renewed certificate renews in turn.
        res2, _ = self.renew(harness.key_pem_of(new_key), res.certificate_pem.encode())
        self.assertEqual(res2.host_id, first.host_id)

    # -- the host is the client certificate's, never the body's

    def test_the_request_has_no_field_that_names_a_host(self):
        fields = [f.name for f in host_pb2.RenewCertificateRequest.DESCRIPTOR.fields]
        self.assertEqual(fields, ["csr"])

    def test_renewed_certificate_names_the_client_certificates_host_not_the_csrs(self):
        a, a_key, a_pem, _ = self.enroll("auth-holder")
        b, _, _, _ = self.enroll("auth-other")
        b_certs = self.certificates_of(b.host_id)
        # A CSR that asks, in every way a CSR can, to be host B.
        new_key = harness.new_key()
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, b.host_id)]))
               .add_extension(x509.SubjectAlternativeName([
                   x509.DNSName("auth-other.example"),
                   x509.UniformResourceIdentifier("urn:uuid:" + b.host_id)]), critical=False)
               .sign(new_key, harness.hashes.SHA256()))
        res = harness.renew_rpc(self.server, a_key, a_pem,
                                csr.public_bytes(harness.serialization.Encoding.DER))
        cert = x509.load_der_x509_certificate(res.certificate_der)
        self.assertEqual(res.host_id, a.host_id)
        harness.check_host_certificate(self, cert, self.d.ca_cert, a.host_id,
                                       "auth-holder.example", self.server.http_port)
        self.assertEqual(self.certificates_of(b.host_id), b_certs)
        self.assertEqual(self.d.pg.psql("SELECT host_id FROM certificates WHERE serial_hex = '%s'"
                                        % res.serial_hex.lower()), a.host_id)

    # -- refusals

    def test_no_client_certificate_is_unauthenticated(self):
        ch = self.server.channel()  # TLS that trusts the CA, no client certificate
        e = self.assert_renew_refused(None, None, grpc.StatusCode.UNAUTHENTICATED,
                                      "client certificate", channel=ch)
        self.assertIn("renew", e.details())

    def test_certificate_of_another_ca_with_the_same_names_and_serial_is_unauthenticated(self):
        real, _, _, real_cert = self.enroll("auth-forged")
        # An impostor CA with this CA's subject and key identifier, and a certificate that
        # copies the real one (subject, serial, SAN, validity) for the impostor's key.
        fake_ca, fake_ca_key = harness.ca_of_another_name(self.d.ca_cert)
        forged, forged_key = harness.copy_of_certificate_signed_by(real_cert, fake_ca,
                                                                   fake_ca_key)
        self.assertEqual(forged.issuer, self.d.ca_cert.subject)
        self.assertEqual(forged.serial_number, real_cert.serial_number)
        e = self.assert_renew_refused(harness.key_pem_of(forged_key),
                                      harness.cert_pem_of(forged) + harness.cert_pem_of(fake_ca),
                                      grpc.StatusCode.UNAUTHENTICATED, "not issued by this CA")
        self.assertNotIn(real.host_id, e.details())
        # And one self-signed, naming the host.
        key = harness.new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, real.host_id)])
        self_signed = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(key.public_key()).serial_number(real_cert.serial_number)
                       .not_valid_before(real_cert.not_valid_before)
                       .not_valid_after(real_cert.not_valid_after)
                       .sign(key, harness.hashes.SHA256()))
        self.assert_renew_refused(harness.key_pem_of(key), harness.cert_pem_of(self_signed),
                                  grpc.StatusCode.UNAUTHENTICATED, "not issued by this CA")

    def test_certificate_of_a_second_deployment_is_unauthenticated(self):
        other = harness.Deployment(crl_shards=1)
        try:
            other_server = other.start_server()
            res, key = harness.enroll_host(other_server, other.admin_key, "auth-elsewhere.example")
        finally:
            other.close()
        self.assert_renew_refused(harness.key_pem_of(key), res.certificate_pem.encode(),
                                  grpc.StatusCode.UNAUTHENTICATED, "not issued by this CA")

    def test_the_servers_own_tls_certificate_cannot_renew(self):
        # Issued by this CA, but it names no host.
        with open(os.path.join(self.d.tls_dir, "server.key"), "rb") as f:
            key_pem = f.read()
        with open(os.path.join(self.d.tls_dir, "server.pem"), "rb") as f:
            cert_pem = f.read()
        harness.verify_signed_by(x509.load_pem_x509_certificate(cert_pem), self.d.ca_cert)
        self.assert_renew_refused(key_pem, cert_pem, grpc.StatusCode.UNAUTHENTICATED, "host")

    def test_revoked_certificate_is_permission_denied_and_says_to_ask_for_a_reissue_token(self):
        res, key_pem, cert_pem, _ = self.enroll("auth-revoked")
        harness.revoke(self.server, self.d.admin_key, serial_hex=res.serial_hex,
                       reason=harness.REASON_KEY_COMPROMISE)
        e = self.assert_renew_refused(key_pem, cert_pem, grpc.StatusCode.PERMISSION_DENIED,
                                      "revoked", "reissue token")
        self.assertIn(res.serial_hex.lower(), e.details().lower())

    def test_revocation_is_read_from_the_database_at_the_call_not_from_a_crl(self):
        res, key_pem, cert_pem, _ = self.enroll("auth-db-revoked")
        crls = harness.get_crls(self.server)
        # Revoked behind the CA's back: no CRL says so, only the database.
        self.d.pg.psql("UPDATE certificates SET revoked_at = now(), revocation_reason = 1"
                       " WHERE serial_hex = '%s'" % res.serial_hex.lower())
        self.assertEqual({s: c.crl_number for s, c in harness.get_crls(self.server).items()},
                         {s: c.crl_number for s, c in crls.items()})
        self.assert_renew_refused(key_pem, cert_pem, grpc.StatusCode.PERMISSION_DENIED,
                                  "revoked", "reissue token")

    def test_superseded_certificate_cannot_renew_after_a_reissue(self):
        res, key_pem, cert_pem, _ = self.enroll("auth-superseded")
        token = harness.create_reissue_token(self.server, self.d.admin_key, res.host_id)
        harness.reissue(self.server, res.host_id, token=token.token)
        self.assert_renew_refused(key_pem, cert_pem, grpc.StatusCode.PERMISSION_DENIED,
                                  "revoked", "reissue token")

    def test_csr_for_the_key_of_the_current_certificate_is_invalid_argument(self):
        res, key_pem, cert_pem, _ = self.enroll("auth-same-key")
        same = harness.serialization.load_pem_private_key(key_pem, None)
        self.assert_renew_refused(key_pem, cert_pem, grpc.StatusCode.INVALID_ARGUMENT,
                                  "new key pair", csr=harness.make_csr(same, "x.example"))

    def test_csr_for_an_earlier_key_of_the_same_host_is_invalid_argument(self):
        res, key_pem, cert_pem, _ = self.enroll("auth-earlier-key")
        old_key = harness.serialization.load_pem_private_key(key_pem, None)
        renewed, new_key = self.renew(key_pem, cert_pem)
        self.assert_renew_refused(harness.key_pem_of(new_key), renewed.certificate_pem.encode(),
                                  grpc.StatusCode.INVALID_ARGUMENT, "new key pair",
                                  csr=harness.make_csr(old_key, "x.example"))

    def test_csr_for_another_hosts_key_is_invalid_argument(self):
        a, a_key, a_pem, _ = self.enroll("auth-key-a")
        b, b_key_pem, _, _ = self.enroll("auth-key-b")
        b_key = harness.serialization.load_pem_private_key(b_key_pem, None)
        self.assert_renew_refused(a_key, a_pem, grpc.StatusCode.INVALID_ARGUMENT,
                                  "already certified", b.host_id,
                                  csr=harness.make_csr(b_key, "x.example"))

    def test_csr_that_is_not_a_csr_is_invalid_argument(self):
        _, key_pem, cert_pem, _ = self.enroll("auth-garbage")
        self.assert_renew_refused(key_pem, cert_pem, grpc.StatusCode.INVALID_ARGUMENT,
                                  csr=b"this is not a CSR")

    # -- ReportCertificateFailure needs no credential and never vouches for unknown hosts

    def test_report_for_an_unknown_host_is_not_recorded_nor_written_at_once(self):
        # An unverified report (no certificate of that host): nothing is written
        # now; it is audited in aggregate, one row per address and window.
        before = harness.renewal_state(self.d)
        seq = self.d.pg.max_audit_sequence()
        host_id = str(uuid.uuid4())
        res = self.server.host_stub().ReportCertificateFailure(
            host_pb2.ReportCertificateFailureRequest(
                host_id=host_id, pinned_spki_sha256="a" * 64, presented_spki_sha256="b" * 64,
                server=self.server.address), timeout=harness.RPC_TIMEOUT)
        self.assertFalse(res.recorded)
        after = harness.renewal_state(self.d)
        self.assertEqual(after, before)
        self.assertEqual(self.d.pg.audit_actions_after(seq), [])

    def test_report_with_a_malformed_host_id_or_fingerprint_is_invalid_argument(self):
        host = self.server.host_stub()
        good = dict(host_id=str(uuid.uuid4()), pinned_spki_sha256="a" * 64,
                    presented_spki_sha256="b" * 64, server=self.server.address)
        for field, value in (("host_id", "not-a-uuid"), ("pinned_spki_sha256", "x" * 65)):
            with self.subTest(field=field):
                before = harness.renewal_state(self.d)
                req = host_pb2.ReportCertificateFailureRequest(**dict(good, **{field: value}))
                e = harness.rpc_error(host.ReportCertificateFailure, req)
                self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT, e.details())
                self.assertEqual(harness.renewal_state(self.d), before)


if __name__ == "__main__":
    unittest.main()
