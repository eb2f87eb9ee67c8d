"""Bootstrap and the server's TLS: init never overwrites a CA, a wrong
passphrase stops serve with a clean message, the TLS files are private, and
migrate knows when there is nothing to do."""

import ipaddress
import os
import signal
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, grpc, host_pb2, serialization, x509  # noqa: E402


class InitAndTlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            cls.server = cls.d.start_server()
            # A second, empty database in the same cluster.
            cls.d.pg.psql("CREATE DATABASE empty")
            cls.empty_conninfo = cls.d.pg.conninfo.replace("dbname=hostca", "dbname=empty")
            assert cls.empty_conninfo != cls.d.pg.conninfo
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def ca_row(self):
        return self.d.pg.psql(
            "SELECT ca_id || '|' || md5(certificate_der) || '|' || md5(encrypted_private_key_pem)"
            " || '|' || sha256_fingerprint || '|' || crl_shards FROM ca")

    def tls_files(self, folder):
        out = {}
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                out[name] = (f.read(), st.st_mtime_ns, st.st_ino)
        return out

    def assert_one_line_failure(self, r, phrase):
        self.assertNotEqual(r.returncode, 0, r)
        lines = r.stderr_lines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(phrase, lines[0])
        self.assertEqual(r.stdout, "")
        return lines[0]

    # -- init

    def test_init_prints_the_fingerprint_and_an_admin_key_that_works(self):
        out = self.d.init_result.stdout
        sha256, spki = harness.fingerprints(self.d.ca_cert)
        self.assertIn(sha256, out)
        self.assertIn(spki, out)
        self.assertEqual(harness.ADMIN_KEY_RE.findall(out), [self.d.admin_key])
        self.assertEqual(self.d.pg.psql("SELECT sha256_fingerprint FROM ca"), sha256)
        self.assertEqual(self.d.pg.scalar("SELECT crl_shards FROM ca"), 4)
        res = self.server.admin_stub().ListHosts(
            admin_pb2.ListHostsRequest(), metadata=harness.admin_metadata(self.d.admin_key),
            timeout=30)
        self.assertEqual(list(res.hosts), [])
        ca = self.d.ca_cert
        bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
        self.assertTrue(bc.critical and bc.value.ca)
        self.assertEqual(bc.value.path_length, 0)
        ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
        self.assertTrue(ku.key_cert_sign and ku.crl_sign)
        harness.verify_signed_by(ca, ca)

    def test_second_init_is_refused_and_changes_nothing(self):
        ca_before = self.ca_row()
        counts_before = self.d.pg.counts()
        files_before = self.tls_files(self.d.tls_dir)
        other_passphrase = self.d.write_secret_file("other-passphrase", "another-passphrase-1")
        r = self.d.server_cli("init", "--database", self.d.pg.conninfo,
                              "--passphrase-file", other_passphrase, "--tls-dir", self.d.tls_dir,
                              "--key-algorithm", "ecdsa-p384", "--crl-shards", "8")
        line = self.assert_one_line_failure(r, "already holds a CA")
        self.assertIn(self.d.pg.psql("SELECT sha256_fingerprint FROM ca"), line)
        self.assertNotIn("another-passphrase-1", r.stderr)
        self.assertNotIn("hca_admin_", r.stdout + r.stderr)
        self.assertEqual(self.ca_row(), ca_before)
        self.assertEqual(self.d.pg.scalar("SELECT count(*) FROM ca"), 1)
        self.assertEqual(self.d.pg.counts(), counts_before)
        self.assertEqual(self.tls_files(self.d.tls_dir), files_before)
        # Nor are files written to a fresh folder.
        fresh = os.path.join(self.d.folder, "tls-second")
        r = self.d.server_cli("init", "--database", self.d.pg.conninfo,
                              "--passphrase-file", self.d.passphrase_file, "--tls-dir", fresh)
        self.assert_one_line_failure(r, "already holds a CA")
        self.assertTrue(not os.path.exists(fresh) or os.listdir(fresh) == [])
        self.assertEqual(self.ca_row(), ca_before)
        # The running server still serves the same CA.
        res = self.server.host_stub().GetCACertificate(host_pb2.GetCACertificateRequest(),
                                                       timeout=30)
        self.assertEqual(res.sha256_fingerprint, harness.fingerprints(self.d.ca_cert)[0])

    # -- serve

    def test_serve_with_a_wrong_passphrase_exits_with_one_line_without_the_passphrase(self):
        wrong = "not-the-passphrase-" + self.d.passphrase[::-1]
        wrong_file = self.d.write_secret_file("wrong-passphrase", wrong)
        ready = os.path.join(self.d.folder, "never-ready.json")
        r = self.d.server_cli("serve", "--database", self.d.pg.conninfo,
                              "--passphrase-file", wrong_file, "--tls-dir", self.d.tls_dir,
                              "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                              "--ready-file", ready)
        line = self.assert_one_line_failure(r, "passphrase does not open the CA key")
        self.assertNotIn(wrong, line)
        self.assertNotIn(self.d.passphrase, line)
        self.assertFalse(os.path.exists(ready))

    def test_serve_without_a_passphrase_says_how_to_give_one(self):
        r = self.d.server_cli("serve", "--database", self.d.pg.conninfo,
                              "--tls-dir", self.d.tls_dir, "--listen", "127.0.0.1:0",
                              "--http-listen", "127.0.0.1:0")
        self.assert_one_line_failure(r, "--passphrase-file")

    def test_serve_on_a_database_without_a_ca_says_to_init(self):
        for db, migrate in (("noschema", False), ("noca", True)):
            with self.subTest(database=db):
                self.d.pg.psql("CREATE DATABASE " + db)
                conninfo = self.d.pg.conninfo.replace("dbname=hostca", "dbname=" + db)
                if migrate:
                    m = self.d.server_cli("migrate", "--database", conninfo)
                    self.assertEqual(m.returncode, 0, m)
                r = self.d.server_cli("serve", "--database", conninfo,
                                      "--passphrase-file", self.d.passphrase_file,
                                      "--tls-dir", self.d.tls_dir, "--listen", "127.0.0.1:0",
                                      "--http-listen", "127.0.0.1:0")
                self.assert_one_line_failure(r, "run 'hostca-server init' first")

    def test_serve_stops_cleanly_on_sigterm(self):
        server = self.d.start_server()
        res = server.host_stub().GetCACertificate(host_pb2.GetCACertificateRequest(), timeout=30)
        self.assertTrue(res.certificate_der)
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.stop()
            self.fail("the server did not stop within 20 s of SIGTERM")
        self.assertEqual(code, 0, server.log())
        self.assertIn("hostca-server stopped", server.log())

    # -- the TLS files and the server's certificate

    def test_tls_files_are_private_and_the_server_certificate_chains_to_the_ca(self):
        tls = self.d.tls_dir
        self.assertEqual(stat.S_IMODE(os.stat(tls).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(tls, "server.key")).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(tls, "ca.pem")).st_mode), 0o644)
        self.assertEqual(sorted(os.listdir(tls)), ["ca.pem", "server.key", "server.pem"])
        with open(os.path.join(tls, "server.pem"), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(os.path.join(tls, "server.key"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        self.assertEqual(harness.spki_der(key.public_key()), harness.spki_der(cert.public_key()))
        harness.verify_signed_by(cert, self.d.ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(san.get_values_for_type(x509.DNSName), ["localhost"])
        self.assertEqual(san.get_values_for_type(x509.IPAddress),
                         [ipaddress.ip_address("127.0.0.1")])
        r = harness.run(["openssl", "verify", "-purpose", "sslserver", "-CAfile",
                         self.d.ca_pem_path, os.path.join(tls, "server.pem")])
        self.assertEqual(r.returncode, 0, r)

    def test_tls_checks_the_name_the_client_expects(self):
        creds = grpc.ssl_channel_credentials(self.d.ca_pem_bytes)
        for name, good in (("localhost", True), ("evil.example", False)):
            with self.subTest(name=name):
                options = (("grpc.ssl_target_name_override", name),)
                with grpc.secure_channel(self.server.address, creds, options) as ch:
                    stub = harness.host_pb2_grpc.HostServiceStub(ch)
                    if good:
                        stub.GetCACertificate(host_pb2.GetCACertificateRequest(), timeout=10)
                    else:
                        e = harness.rpc_error(stub.GetCACertificate,
                                              host_pb2.GetCACertificateRequest(), timeout=10)
                        self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)

    # -- migrate

    def test_migrate_on_an_up_to_date_database_says_so(self):
        before = self.d.pg.psql("SELECT string_agg(version::text, ',' ORDER BY version)"
                                " FROM schema_migrations")
        r = self.d.server_cli("migrate", "--database", self.d.pg.conninfo)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("schema is up to date", r.stdout)
        self.assertIn("(version %s)" % before.split(",")[-1], r.stdout)
        self.assertEqual(self.d.pg.psql("SELECT string_agg(version::text, ',' ORDER BY version)"
                                        " FROM schema_migrations"), before)

    def test_migrate_on_an_empty_database_applies_then_has_nothing_to_do(self):
        r = self.d.server_cli("migrate", "--database", self.empty_conninfo)
        self.assertEqual(r.returncode, 0, r)
        migrations = os.listdir(os.path.join(harness.SOURCE_DIR, "store", "migrations"))
        count = len([m for m in migrations if m.endswith(".sql")])
        self.assertIn("applied %d migration(s)" % count, r.stdout)
        r = self.d.server_cli("migrate", "--database", self.empty_conninfo)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("schema is up to date", r.stdout)


if __name__ == "__main__":
    unittest.main()
