"""A CA key rollover (issue 14) on three servers sharing one database, with
the real `hostca-server ca rollover` commands: refusals that change nothing,
start (the next key announced with its links, which OpenSSL, GnuTLS and
Python's cryptography check), activate (every server issues with the new
key, presents a TLS chain a client pinning only the old key accepts, takes
renewals of both keys' certificates, publishes each key's CRLs), finish
(refused with the count, then --revoke-remaining), each step repeatable.
The steps run in order: the tests are numbered."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import invariants  # noqa: E402
from harness import host_pb2, x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

SHARDS = 2
# How long every server may take to follow a step: generous for a loaded CI
# machine; the time it took is printed, not asserted.
FOLLOW_SECONDS = 15


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def spki(cert):
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def ski(cert):
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def aki(cert):
    return cert.extensions.get_extension_for_class(
        x509.AuthorityKeyIdentifier).value.key_identifier


class CaRolloverTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=SHARDS)
        try:
            cls.servers = [cls.d.start_server() for _ in range(3)]
            for s in cls.servers:
                harness.wait_for_crls(s, SHARDS)
            cls.old_ca = cls.d.ca_cert
            # A host of the first key, which will renew across the rollover.
            res, key = harness.enroll_host(cls.servers[0], cls.d.admin_key, "before.example")
            cls.before = (res, harness.key_pem_of(key), res.certificate_pem.encode())
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers

    def rollover(self, *args, passphrase=False):
        extra = ["--passphrase-file", self.d.passphrase_file] if passphrase else []
        return self.d.server_cli("ca", "rollover", *args, "--database", self.d.pg.conninfo,
                                 *extra)

    def assert_refused_and_nothing_changed(self, args, phrase, passphrase=False):
        before = self.d.pg.state()
        keys_before = self.d.pg.psql("SELECT generation, state FROM ca_keys ORDER BY 1")
        r = self.rollover(*args, passphrase=passphrase)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(len(r.stderr_lines()), 1, r)
        self.assertIn(phrase, r.stderr)
        self.assertEqual(self.d.pg.state(), before)
        self.assertEqual(self.d.pg.psql("SELECT generation, state FROM ca_keys ORDER BY 1"),
                         keys_before)

    def announced(self, server):
        return list(server.host_stub().GetCACertificate(
            host_pb2.GetCACertificateRequest(), timeout=harness.RPC_TIMEOUT).ca_keys)

    def wait_for_every_server(self, predicate, what):
        started = time.monotonic()
        for s in self.servers:
            harness.wait_until(lambda: predicate(s), FOLLOW_SECONDS, "%s: %s" % (s.name, what),
                               interval=0.02)
        print("\n  every server %s after %.2f s" % (what, time.monotonic() - started),
              file=sys.stderr)

    def key(self, generation):
        der = bytes.fromhex(self.d.pg.psql(
            "SELECT encode(certificate_der, 'hex') FROM ca_keys WHERE generation = %d"
            % generation))
        return x509.load_der_x509_certificate(der)

    def links(self):
        row = self.d.pg.psql(
            "SELECT encode(new_with_old_der, 'hex') || ':' || encode(old_with_new_der, 'hex')"
            " FROM ca_keys WHERE generation = 2")
        nwo, own = row.split(":")
        return (x509.load_der_x509_certificate(bytes.fromhex(nwo)),
                x509.load_der_x509_certificate(bytes.fromhex(own)))

    def path(self, name, data):
        return harness.write_bytes(os.path.join(self.d.folder, name), data)

    def openssl_verify(self, ca, leaf, untrusted=None, crl=None):
        args = ["openssl", "verify", "-CAfile", self.path("v-ca.pem", pem(ca))]
        if untrusted is not None:
            args += ["-untrusted", self.path("v-untrusted.pem", pem(untrusted))]
        if crl is not None:
            args += ["-crl_check", "-CRLfile", self.path("v-crl.pem", crl)]
        return subprocess.run(args + [self.path("v-leaf.pem", pem(leaf))], capture_output=True,
                              text=True, timeout=30)

    # -- the steps, in order

    def test_1_activate_or_finish_before_start_is_refused_and_changes_nothing(self):
        self.assert_refused_and_nothing_changed(["activate"], "no rollover is started")
        self.assert_refused_and_nothing_changed(["finish"], "no rollover to finish")

    def test_2_start_with_a_wrong_passphrase_or_unknown_algorithm_changes_nothing(self):
        wrong = self.d.write_secret_file("wrong-passphrase", "not-the-ca-passphrase")
        before = self.d.pg.state()
        r = self.d.server_cli("ca", "rollover", "start", "--database", self.d.pg.conninfo,
                              "--passphrase-file", wrong)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(len(r.stderr_lines()), 1, r)
        self.assertIn("passphrase", r.stderr)
        self.assertEqual(self.d.pg.state(), before)
        self.assert_refused_and_nothing_changed(["start", "--key-algorithm", "dsa-1024"],
                                                "unknown CA key algorithm", passphrase=True)

    def test_3_start_announces_the_next_key_with_links_on_every_server(self):
        r = self.rollover("start", "--key-algorithm", "ecdsa-p384", passphrase=True)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("Announced next CA key 2", r.stdout)
        self.wait_for_every_server(lambda s: len(self.announced(s)) == 2, "announces CA key 2")
        new_ca = self.key(2)
        nwo, own = self.links()
        for s in self.servers:
            keys = {k.generation: k for k in self.announced(s)}
            self.assertEqual(keys[1].state, "active")
            self.assertEqual(keys[2].state, "next")
            self.assertEqual(keys[2].certificate_der, new_ca.public_bytes(
                serialization.Encoding.DER))
            self.assertEqual(keys[2].new_with_old_der, nwo.public_bytes(
                serialization.Encoding.DER))
            self.assertEqual(keys[2].previous_spki_sha256, keys[1].spki_sha256)
            # Nothing issues with it yet: the top-level CA is still the first key.
            top = s.host_stub().GetCACertificate(host_pb2.GetCACertificateRequest(),
                                                 timeout=harness.RPC_TIMEOUT)
            self.assertEqual(top.spki_sha256, keys[1].spki_sha256)
        # /ca.json says the same.
        body = json.loads(harness.http_get(self.servers[1].http_port, "/ca.json").body)
        self.assertEqual(sorted(k["generation"] for k in body["ca_keys"]), [1, 2])
        # A planned start keeps the CA's subject: the links are self-issued.
        self.assertEqual(new_ca.subject, self.old_ca.subject)
        self.assertEqual(nwo.subject, nwo.issuer)
        self.assertEqual(nwo.subject, self.old_ca.subject)
        # newWithOld: the new key, signed by the old, old AKI, new SKI, CA, within the old.
        self.assertEqual(spki(nwo), spki(new_ca))
        harness.verify_signed_by(nwo, self.old_ca)
        self.assertEqual(aki(nwo), ski(self.old_ca))
        self.assertEqual(ski(nwo), ski(new_ca))
        self.assertTrue(nwo.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertGreaterEqual(nwo.not_valid_before, self.old_ca.not_valid_before)
        self.assertLessEqual(nwo.not_valid_after, self.old_ca.not_valid_after)
        # oldWithNew: the old key, signed by the new.
        self.assertEqual(spki(own), spki(self.old_ca))
        harness.verify_signed_by(own, new_ca)
        self.assertEqual(aki(own), ski(new_ca))
        # OpenSSL and GnuTLS accept each link under the key that signed it.
        self.assertEqual(self.openssl_verify(self.old_ca, nwo).returncode, 0)
        self.assertEqual(self.openssl_verify(new_ca, own).returncode, 0)
        certtool = shutil.which("certtool")
        if certtool:
            for ca, link in ((self.old_ca, nwo), (new_ca, own)):
                r = harness.run([certtool, "--verify", "--load-ca-certificate",
                                 self.path("g-ca.pem", pem(ca)), "--infile",
                                 self.path("g-link.pem", pem(link))])
                self.assertEqual(r.returncode, 0, r)
        # Repeating start changes nothing and names the key it made.
        keys_before = self.d.pg.psql("SELECT generation, state, sha256_fingerprint FROM ca_keys")
        again = self.rollover("start", passphrase=True)
        self.assertEqual(again.returncode, 0, again)
        self.assertIn("done already", again.stdout)
        self.assertEqual(self.d.pg.psql("SELECT generation, state, sha256_fingerprint FROM "
                                        "ca_keys"), keys_before)
        # Before activate, enrolment still signs with the first key.
        res, _ = harness.enroll_host(self.servers[2], self.d.admin_key, "during.example")
        harness.verify_signed_by(x509.load_der_x509_certificate(res.certificate_der),
                                 self.old_ca)

    def test_4_activate_moves_every_server_to_the_new_key(self):
        r = self.rollover("activate")
        self.assertEqual(r.returncode, 0, r)
        new_ca = self.key(2)

        def issues_with_new_key(s):
            top = s.host_stub().GetCACertificate(host_pb2.GetCACertificateRequest(),
                                                 timeout=harness.RPC_TIMEOUT)
            return top.certificate_der == new_ca.public_bytes(serialization.Encoding.DER)
        self.wait_for_every_server(issues_with_new_key, "names CA key 2 as the active one")
        for s in self.servers:
            metrics = harness.http_get(s.http_port, "/metrics").body.decode()
            self.assertIn("\nhostca_ca_key_generation 2\n", metrics)
        nwo, _ = self.links()
        for i, s in enumerate(self.servers):
            res, _ = harness.enroll_host(s, self.d.admin_key, "after%d.example" % i)
            cert = x509.load_der_x509_certificate(res.certificate_der)
            harness.verify_signed_by(cert, new_ca)
            # A relying party: the new CA directly, or only the old one with newWithOld.
            self.assertEqual(self.openssl_verify(new_ca, cert).returncode, 0)
            only_old = self.openssl_verify(self.old_ca, cert, untrusted=nwo)
            self.assertEqual(only_old.returncode, 0, only_old.stdout + only_old.stderr)
            # Its distribution point is the new key's.
            self.assertIn("/crl/g2/", harness.distribution_point_of(cert))
        # A certificate of the first key renews, and the renewal comes from the new key.
        res, key_pem, cert_pem = self.before
        renewed = harness.renew_rpc(self.servers[1], key_pem, cert_pem,
                                    harness.make_csr(harness.new_key(), "before.example"))
        renewed_cert = x509.load_der_x509_certificate(renewed.certificate_der)
        harness.verify_signed_by(renewed_cert, new_ca)
        self.assertEqual(renewed.host_id, res.host_id)
        # Repeating activate changes nothing.
        states = self.d.pg.psql("SELECT generation, state FROM ca_keys ORDER BY 1")
        again = self.rollover("activate")
        self.assertEqual(again.returncode, 0, again)
        self.assertIn("done already", again.stdout)
        self.assertEqual(self.d.pg.psql("SELECT generation, state FROM ca_keys ORDER BY 1"),
                         states)

    def test_5_a_client_pinning_only_the_old_key_reaches_a_server_on_the_new_one(self):
        nwo, _ = self.links()

        def presents_new_chain(s):
            ch = harness.grpc.secure_channel(
                s.address, harness.grpc.ssl_channel_credentials(pem(self.old_ca)))
            try:
                stub = harness.host_pb2_grpc.HostServiceStub(ch)
                stub.GetCACertificate(host_pb2.GetCACertificateRequest(), timeout=5)
            finally:
                ch.close()
            out = subprocess.run(
                ["openssl", "s_client", "-connect", s.address, "-showcerts", "-verify_quiet"],
                input="", capture_output=True, text=True, timeout=30).stdout
            return pem(nwo).decode().strip() in out
        self.wait_for_every_server(presents_new_chain,
                                   "presents a TLS chain from CA key 2 with newWithOld")

    def test_6_each_key_publishes_its_own_crls(self):
        new_ca = self.key(2)
        for s in self.servers:
            harness.wait_until(
                lambda: harness.http_get(s.http_port, "/crl/g2/0.crl").status == 200,
                FOLLOW_SECONDS, "%s to serve CA key 2's shard 0" % s.name)
        for gen, ca in ((1, self.old_ca), (2, new_ca)):
            prefix = "/crl/" if gen == 1 else "/crl/g2/"
            for shard in range(SHARDS):
                r = harness.http_get(self.servers[0].http_port, "%s%d.crl" % (prefix, shard))
                self.assertEqual(r.status, 200, (gen, shard))
                crl = x509.load_der_x509_crl(r.body)
                self.assertTrue(crl.is_signature_valid(ca.public_key()), (gen, shard))
                self.assertIn(prefix, harness.crl_idp_urls(crl)[0])
        # Each key's CA-scope CRL, and nothing for a key the CA does not have.
        r = harness.http_get(self.servers[0].http_port, "/crl/g2/ca.crl")
        self.assertEqual(r.status, 200)
        ca_scope = x509.load_der_x509_crl(r.body)
        self.assertTrue(ca_scope.is_signature_valid(new_ca.public_key()))
        self.assertTrue(ca_scope.extensions.get_extension_for_class(
            x509.IssuingDistributionPoint).value.only_contains_ca_certs)
        self.assertEqual(harness.http_get(self.servers[0].http_port, "/crl/g9/0.crl").status,
                         404)
        # GetCRL: one key's CRLs, or every publishing key's with the active key's
        # CA scope in ca_crl; an unknown key is NOT_FOUND.
        stub = self.servers[1].revocation_stub()
        only2 = stub.GetCRL(harness.revocation_pb2.GetCRLRequest(ca_generation=2),
                            timeout=harness.RPC_TIMEOUT)
        self.assertEqual(sorted(c.shard for c in only2.crls), list(range(SHARDS)))
        for c in only2.crls:
            self.assertEqual(c.ca_generation, 2)
            self.assertTrue(x509.load_der_x509_crl(c.crl_der).is_signature_valid(
                new_ca.public_key()))
        every = stub.GetCRL(harness.revocation_pb2.GetCRLRequest(), timeout=harness.RPC_TIMEOUT)
        self.assertEqual(sorted((c.ca_generation, c.shard) for c in every.crls),
                         [(g, n) for g in (1, 2) for n in range(SHARDS)])
        self.assertEqual(every.ca_crl.ca_generation, 2)
        self.assertEqual([c.ca_generation for c in every.other_ca_crls], [1])
        err = harness.rpc_error(stub.GetCRL, harness.revocation_pb2.GetCRLRequest(ca_generation=9))
        self.assertEqual(err.code(), harness.grpc.StatusCode.NOT_FOUND)
        self.assertIn("CA key 9 publishes no CRLs", err.details())
        # /ca-all.pem: every announced CA certificate, the active one first.
        body = harness.http_get(self.servers[0].http_port, "/ca-all.pem").body
        certs = [x509.load_pem_x509_certificate(b) for b in re.findall(
            rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", body, re.S)]
        self.assertEqual([spki(c) for c in certs], [spki(new_ca), spki(self.old_ca)])
        bundle = harness.http_get(self.servers[0].http_port, "/crl/all.pem").body
        issuers = set()
        for crl in harness.load_crl_bundle(bundle):
            for ca in (self.old_ca, new_ca):
                if crl.is_signature_valid(ca.public_key()):
                    issuers.add(spki(ca))
        self.assertEqual(issuers, {spki(self.old_ca), spki(new_ca)})

    def test_7_finish_is_refused_with_the_count_then_revokes_remaining(self):
        remaining = int(self.d.pg.scalar(
            "SELECT count(*) FROM certificates WHERE ca_generation = 1 AND kind <> 'server'"
            " AND revoked_at IS NULL AND not_after > now()"))
        self.assertGreaterEqual(remaining, 2)  # before.example's first one, during.example's
        # before.example renewed onto key 2 (its first certificate stays valid);
        # during.example has only key 1's.
        self.assert_refused_and_nothing_changed(
            ["finish"], "1 host(s) still hold only certificates of CA key 1")
        r = self.rollover("finish", "--revoke-remaining", passphrase=True)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("revoked certificates: %d" % remaining, r.stdout)
        self.assertEqual(self.d.pg.psql("SELECT state FROM ca_keys WHERE generation = 1"),
                         "retired")
        self.wait_for_every_server(lambda s: [k.generation for k in self.announced(s)] == [2],
                                   "announces CA key 2 alone")
        # The revoked certificates are on the first key's CRLs, which are still served.
        serials = {int(x, 16) for x in self.d.pg.psql(
            "SELECT serial_hex FROM certificates WHERE ca_generation = 1 AND kind <> 'server'"
            " AND revocation_reason = 4").split()}
        self.assertEqual(len(serials), remaining)
        listed = set()

        def third_server_lists_them():
            # Its cache follows the other servers' publications by NOTIFY, a moment later.
            listed.clear()
            for shard in range(SHARDS):
                crl = x509.load_der_x509_crl(
                    harness.http_get(self.servers[2].http_port, "/crl/%d.crl" % shard).body)
                listed.update(e.serial_number for e in crl)
            return serials <= listed
        harness.wait_until(third_server_lists_them, 15,
                           "the third server to serve CRLs listing the revoked certificates")
        self.assertLessEqual(serials, listed)
        again = self.rollover("finish")
        self.assertEqual(again.returncode, 0, again)
        self.assertIn("done already", again.stdout)

    def test_8_admins_see_the_keys_and_nothing_broke_an_invariant(self):
        r = self.d.admin_cli(self.servers[0], "--json", "ca", "status")
        self.assertEqual(r.returncode, 0, r)
        status = json.loads(r.stdout)
        self.assertEqual(status["phase"], "none")
        self.assertEqual([(k["generation"], k["state"]) for k in status["keys"]],
                         [(1, "retired"), (2, "active")])
        self.assertEqual(status["keys"][0]["valid_certificates"], 0)
        self.assertEqual(invariants.check(self.d.pg.conninfo), [])



class ExpiryWarningTest(unittest.TestCase):
    """A CA certificate closer to its end than a host certificate's validity plus
    30 days, with no rollover started: the server says so in its log at start,
    in /metrics (seconds left) and in `ca status`; starting a rollover ends the
    warning."""

    def test_the_server_warns_until_a_rollover_starts(self):
        d = harness.Deployment(init=False)
        try:
            r = d.server_cli("init", "--database", d.pg.conninfo, "--passphrase-file",
                             d.passphrase_file, "--tls-dir", d.tls_dir, "--crl-shards", "1",
                             "--crl-base-url", d.crl_base_url, "--ca-validity", "200d")
            self.assertEqual(r.returncode, 0, r)
            d.admin_key = harness.ADMIN_KEY_RE.findall(r.stdout)[0]
            d.admin_key_file = d.write_secret_file("admin.key", d.admin_key)
            server = d.start_server()
            self.assertIn("no rollover is started", server.log())
            metrics = harness.http_get(server.http_port, "/metrics").body.decode()
            left = [float(line.split()[-1]) for line in metrics.splitlines()
                    if line.startswith("hostca_ca_certificate_seconds_left ")]
            self.assertEqual(len(left), 1, metrics)
            self.assertTrue(199 * 86400 < left[0] <= 200 * 86400, left)

            def warning():
                r = d.admin_cli(server, "--json", "ca", "status")
                self.assertEqual(r.returncode, 0, r)
                return json.loads(r.stdout)["warning"]
            self.assertIn("hostca-server ca rollover start", warning())
            r = d.server_cli("ca", "rollover", "start", "--database", d.pg.conninfo,
                             "--passphrase-file", d.passphrase_file)
            self.assertEqual(r.returncode, 0, r)
            harness.wait_until(lambda: warning() == "", FOLLOW_SECONDS,
                               "the warning to end once a next key is announced")
        finally:
            d.close()

if __name__ == "__main__":
    unittest.main()
