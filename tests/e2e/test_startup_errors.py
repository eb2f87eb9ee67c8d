"""Bad configuration at start-up (issue 12): a missing or unreadable TLS file, a
wrong passphrase, an unreachable database, a port in use, a schema too old, a CRL
base URL other than the CA's. Each is one line on stderr naming the file or the
setting and what to do, exit code 1, never an abort (exit 134, "terminate called
without an active exception"); no server keeps running, no ready file appears."""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class StartupErrorsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=1)

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def serve(self, *extra, database=None, tls_dir=None, listen="127.0.0.1:0",
              http_listen="127.0.0.1:0"):
        self.ready = os.path.join(self.d.folder, "never-ready.json")
        args = ["serve", "--database", database or self.d.server_conninfo,
                "--passphrase-file", self.d.passphrase_file,
                "--tls-dir", tls_dir or self.d.tls_dir,
                "--listen", listen, "--http-listen", http_listen,
                "--ready-file", self.ready] + list(extra)
        return self.d.server_cli(*args, timeout=60)

    def assert_refused(self, r, *phrases):
        """Exit 1, one line 'hostca-server: ...' holding every phrase; no ready file."""
        line = harness.server_error_line(self, r, *phrases)
        self.assertFalse(os.path.exists(self.ready))
        return line

    def test_a_missing_tls_key_names_the_file(self):
        missing = os.path.join(self.d.folder, "no-such.key")
        r = self.serve("--tls-key", missing)
        self.assert_refused(r, missing, "tls.key", "No such file")

    def test_a_missing_tls_certificate_names_the_file(self):
        missing = os.path.join(self.d.folder, "no-such.pem")
        r = self.serve("--tls-cert", missing)
        self.assert_refused(r, missing, "tls.cert")

    def test_an_unreadable_tls_key_names_the_file(self):
        folder = self.d.new_folder("a-folder-not-a-key")
        r = self.serve("--tls-key", folder)
        self.assert_refused(r, folder, "tls.key")

    def test_a_tls_key_that_is_not_the_certificates_names_both(self):
        other = self.d.write_secret_file("other.key", harness.key_pem_of(
            harness.new_key()).decode().strip())
        r = self.serve("--tls-key", other)
        self.assert_refused(r, other, "tls.cert")

    def test_a_wrong_passphrase_says_so(self):
        wrong = self.d.write_secret_file("wrong", "wrong passphrase, long enough to try")
        r = self.d.server_cli("serve", "--database", self.d.server_conninfo,
                              "--passphrase-file", wrong, "--tls-dir", self.d.tls_dir,
                              "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0")
        self.ready = os.path.join(self.d.folder, "never-ready.json")
        self.assert_refused(r, "passphrase")

    def test_an_unreachable_database_names_the_setting(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]  # nothing listens once this closes
        r = self.serve(database="host=127.0.0.1 port=%d dbname=hostca user=hostca_server"
                       " connect_timeout=5" % closed)
        self.assert_refused(r, "database.conninfo", "cannot connect to PostgreSQL",
                            "PostgreSQL is running")

    def test_a_grpc_port_in_use_names_the_setting(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            taken = "127.0.0.1:%d" % s.getsockname()[1]
            r = self.serve(listen=taken)
        self.assert_refused(r, taken, "server.listen", "in use")

    def test_an_http_port_in_use_names_the_setting(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            taken = "127.0.0.1:%d" % s.getsockname()[1]
            r = self.serve(http_listen=taken)
        self.assert_refused(r, taken, "server.http_listen", "in use")

    def test_a_schema_too_old_says_to_migrate(self):
        self.d.pg.psql("CREATE DATABASE old_schema TEMPLATE hostca")
        try:
            conninfo = self.d.pg.conninfo.replace("dbname=hostca", "dbname=old_schema")
            self.d.pg.psql("SELECT 1")  # the template is free again
            harness.run([harness.PSQL, conninfo, "-tAc",
                         "DELETE FROM schema_migrations WHERE version = "
                         "(SELECT max(version) FROM schema_migrations)"])
            r = self.serve(database=harness.server_conninfo(conninfo))
            self.assert_refused(r, "schema is at version", "hostca-server migrate")
        finally:
            self.d.pg.psql("DROP DATABASE IF EXISTS old_schema")

    def test_a_crl_base_url_other_than_the_cas_is_refused(self):
        r = self.serve("--crl-base-url", "http://10.9.9.9:8080/crl")
        self.assert_refused(r, "crl.base_url", "differs from the CA's", self.d.crl_base_url)

    def test_every_server_writes_the_cas_crl_url_whatever_its_own_address(self):
        # Two servers of one CA, one listening on 0.0.0.0 and another port: the
        # certificates each issues name the one URL recorded at init.
        wildcard = self.d.start_server(("--http-listen", "0.0.0.0:0"))
        other = self.d.start_server()
        try:
            urls = set()
            for i, server in enumerate((wildcard, other)):
                res, _ = harness.enroll_host(server, self.d.admin_key, "url%d.example" % i)
                cert = harness.x509.load_der_x509_certificate(res.certificate_der)
                urls.add(harness.distribution_point_of(cert).rsplit("/", 1)[0])
            self.assertEqual(urls, {self.d.crl_base_url})
        finally:
            wildcard.stop()
            other.stop()

    def test_init_needs_a_crl_url_it_cannot_derive_and_refuses_an_unreachable_one(self):
        for db, extra, phrase in (
                ("noderive", ["--server-name", "ca.example.net"], "give --crl-base-url"),
                ("wildcard", ["--crl-base-url", "http://0.0.0.0:8080/crl"], "0.0.0.0")):
            with self.subTest(database=db):
                self.d.pg.psql("CREATE DATABASE " + db)
                conninfo = self.d.pg.conninfo.replace("dbname=hostca", "dbname=" + db)
                tls = os.path.join(self.d.folder, "tls-" + db)
                r = self.d.server_cli("init", "--database", conninfo, "--passphrase-file",
                                      self.d.passphrase_file, "--tls-dir", tls, *extra)
                self.assertEqual(r.returncode, 1, r)
                lines = r.stderr_lines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(phrase, lines[0])
                self.assertEqual(harness.run([harness.PSQL, conninfo, "-tAc",
                                              "SELECT to_regclass('ca') IS NULL"]).stdout.strip(),
                                 "t")

    def test_a_bad_trusted_proxy_names_the_setting(self):
        r = self.serve("--trusted-proxies", "10.0.0.0/8, proxy.example")
        self.assert_refused(r, "--trusted-proxies", "proxy.example")


if __name__ == "__main__":
    unittest.main()
