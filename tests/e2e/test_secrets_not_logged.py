"""Token values, admin keys, the passphrase and private keys never show up in
the server's log, in any CLI's error output, or in the database."""

import hashlib
import json
import os
import secrets
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, grpc, host_pb2  # noqa: E402


def random_body():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(secrets.choice(alphabet) for _ in range(43))


def pem_body_lines(pem_text):
    return [l for l in pem_text.splitlines() if l and not l.startswith("-----")]


class SecretsNotLoggedTest(unittest.TestCase):
    """One run that handles every kind of secret, then a look at every output."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            cls.exercise()
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    @classmethod
    def exercise(cls):
        d = cls.d
        server = d.start_server()
        cls.tokens = {}        # token_id -> value
        cls.admin_keys = {}    # value -> key id (None for the bootstrap key)
        cls.admin_keys[d.admin_key] = None
        cls.wrong_values = []  # well-formed secrets nobody issued
        # Results whose stdout is meant to print a secret once.
        shows_secret = [d.init_result]

        def ok(r):
            if r.returncode != 0:
                raise RuntimeError("unexpected failure: %r" % r)
            return r

        # Tokens and admin keys through the CLI, both output forms.
        r = ok(d.admin_cli(server, "--json", "token", "create", "--name", "two", "--max-uses", "2"))
        shows_secret.append(r)
        t = json.loads(r.stdout)
        cls.tokens[t["token_id"]] = t["token"]
        r = ok(d.admin_cli(server, "token", "create", "--name", "human"))
        shows_secret.append(r)
        value = harness.AUTH_TOKEN_RE.findall(r.stdout)[0]
        token_id = [l.split()[-1] for l in r.stdout.splitlines() if l.startswith("token id:")][0]
        cls.tokens[token_id] = value
        r = ok(d.admin_cli(server, "--json", "admin-key", "create", "--name", "second"))
        shows_secret.append(r)
        k = json.loads(r.stdout)
        cls.admin_keys[k["admin_key"]] = k["key_id"]
        r = ok(d.admin_cli(server, "admin-key", "create", "--name", "third"))
        shows_secret.append(r)
        third = harness.ADMIN_KEY_RE.findall(r.stdout)[0]
        cls.admin_keys[third] = [l.split()[-1] for l in r.stdout.splitlines()
                                 if l.startswith("key id:")][0]
        # An admin key made directly in the database.
        r = ok(d.server_cli("admin-key", "--database", d.pg.conninfo, "--name", "operator"))
        shows_secret.append(r)
        operator = harness.ADMIN_KEY_RE.findall(r.stdout)[0]
        cls.admin_keys[operator] = r.stdout.split()[2]
        # And one through gRPC.
        res = server.admin_stub().CreateAdminKey(
            admin_pb2.CreateAdminKeyRequest(name="grpc"),
            metadata=harness.admin_metadata(d.admin_key), timeout=30)
        cls.admin_keys[res.admin_key] = res.key_id
        t2 = harness.create_token(server, operator, "grpc token", max_uses=1)
        cls.tokens[t2.token_id] = t2.token
        cls.made_by_grpc = {res.admin_key, t2.token}

        # Enrolment with the agent; its key is a secret too.
        sha256, _ = harness.fingerprints(d.ca_cert)
        cls.agent_dir = os.path.join(d.folder, "agent")
        ok(d.agent_cli(cls.agent_dir, "get-ca", "--server", server.address, "--fingerprint", sha256))
        ok(d.agent_cli(cls.agent_dir, "enroll", "--token", t["token"], "--hostname",
                       "secret.example"))
        other_dir = os.path.join(d.folder, "agent2")
        ok(d.agent_cli(other_dir, "get-ca", "--server", server.address, "--fingerprint", sha256))
        token_file = d.write_secret_file("token-file", value)
        ok(d.agent_cli(other_dir, "enroll", "--token-file", token_file, "--hostname",
                       "secret2.example"))

        # Failures, each carrying a secret in the wrong place.
        wrong_key = "hca_admin_" + random_body()
        wrong_token = "hca_auth_" + random_body()
        cls.wrong_values += [wrong_key, wrong_token]
        cls.failures = []

        def fails(r):
            if r.returncode == 0:
                raise RuntimeError("unexpected success: %r" % r)
            cls.failures.append(r)

        fails(d.admin_cli(server, "host", "list",
                          key_file=d.write_secret_file("wrong.key", wrong_key)))
        fails(d.admin_cli(server, "host", "list",
                          key_file=d.write_secret_file("token-as-key", value)))
        fails(d.admin_cli(server, "host", "list",
                          key_file=d.write_secret_file("truncated.key", third[:-3])))
        third_dir = os.path.join(d.folder, "agent3")
        ok(d.agent_cli(third_dir, "get-ca", "--server", server.address, "--fingerprint", sha256))
        fails(d.agent_cli(third_dir, "enroll", "--token", wrong_token, "--hostname", "x.example"))
        # A used-up real token, and a real token with a typo.
        fails(d.agent_cli(third_dir, "enroll", "--token", value, "--hostname", "x.example"))
        fails(d.agent_cli(third_dir, "enroll", "--token", t["token"] + "x", "--hostname",
                          "x.example"))
        # An admin key where a token belongs.
        fails(d.agent_cli(third_dir, "enroll", "--token", d.admin_key, "--hostname", "x.example"))
        # Over gRPC: a real token for a taken name (refused after the token
        # check), an unknown token, an admin key as a token, a garbage CSR.
        host = server.host_stub()
        for tok, csr in ((t2.token, harness.make_csr(harness.new_key(), "secret.example")),
                         (wrong_token, harness.make_csr(harness.new_key(), "secret.example")),
                         (d.admin_key, harness.make_csr(harness.new_key(), "secret.example")),
                         (t2.token, b"garbage")):
            try:
                host.RequestCertificate(host_pb2.RequestCertificateRequest(
                    csr=csr, hostname="secret.example", authorization_token=tok), timeout=30)
                raise RuntimeError("a bad enrolment was accepted")
            except grpc.RpcError:
                pass
        for md in (harness.admin_metadata(wrong_key), (("authorization", d.admin_key),),
                   harness.admin_metadata(t2.token)):
            try:
                server.admin_stub().ListHosts(admin_pb2.ListHostsRequest(), metadata=md,
                                              timeout=30)
                raise RuntimeError("bad admin key accepted")
            except grpc.RpcError:
                pass

        # A server started with the wrong passphrase.
        cls.wrong_passphrase = "wrong-" + d.passphrase
        wrong_file = d.write_secret_file("wrong-passphrase", cls.wrong_passphrase)
        fails(d.server_cli("serve", "--database", d.pg.conninfo, "--passphrase-file", wrong_file,
                           "--tls-dir", d.tls_dir, "--listen", "127.0.0.1:0",
                           "--http-listen", "127.0.0.1:0"))

        cls.exit_code = server.stop()
        cls.server_log = d.server_logs()
        cls.shows_secret = shows_secret
        with open(os.path.join(cls.agent_dir, "host.key")) as f:
            cls.host_key_pem = f.read()
        with open(os.path.join(d.tls_dir, "server.key")) as f:
            cls.server_key_pem = f.read()

    def all_secrets(self):
        values = list(self.tokens.values()) + list(self.admin_keys) + self.wrong_values
        out = []
        for v in values:
            out += [v, v[-43:]]
        out += [self.d.passphrase, self.wrong_passphrase]
        out += pem_body_lines(self.host_key_pem) + pem_body_lines(self.server_key_pem)
        return out

    def assert_no_secret(self, text, where):
        self.assertNotIn("PRIVATE KEY", text, where)
        for s in self.all_secrets():
            self.assertNotIn(s, text, "a secret appears in %s" % where)

    def test_the_run_handled_every_kind_of_secret(self):
        self.assertEqual(len(self.tokens), 3)
        self.assertEqual(len(self.admin_keys), 5)
        self.assertEqual(len(self.failures), 8)
        self.assertIn("BEGIN PRIVATE KEY", self.host_key_pem)

    def test_server_log_holds_no_secret(self):
        # The log is real: it recorded the refused calls and the shutdown.
        self.assertIn("status=UNAUTHENTICATED", self.server_log)
        self.assertIn("status=ALREADY_EXISTS", self.server_log)
        self.assertIn("hostca-server stopped", self.server_log)
        self.assertEqual(self.exit_code, 0)
        self.assert_no_secret(self.server_log, "the server log")

    def test_failed_cli_calls_print_one_line_without_a_secret(self):
        for r in self.failures:
            with self.subTest(args=r.args[:4]):
                self.assertEqual(len(r.stderr_lines()), 1, r.stderr)
                self.assert_no_secret(r.stderr, "stderr of %s" % r.args[:4])
                self.assert_no_secret(r.stdout, "stdout of %s" % r.args[:4])

    def test_cli_output_shows_a_secret_only_where_it_is_created(self):
        for r in self.d.cli_results:
            with self.subTest(args=r.args[:4]):
                self.assert_no_secret(r.stderr, "stderr of %s" % r.args[:4])
                if any(r is s for s in self.shows_secret):
                    continue
                self.assert_no_secret(r.stdout, "stdout of %s" % r.args[:4])
        # Each created secret was printed exactly once, by the call that made it.
        for value in list(self.tokens.values()) + list(self.admin_keys):
            printed = sum(r.stdout.count(value) for r in self.d.cli_results)
            self.assertEqual(printed, 0 if value in self.made_by_grpc else 1)

    def test_database_holds_no_secret_and_only_encrypted_keys(self):
        dump = self.d.pg.dump()
        self.assertIn("CREATE TABLE public.tokens", dump)  # the dump is real
        self.assertIn("BEGIN ENCRYPTED PRIVATE KEY", dump)
        self.assertNotIn("BEGIN PRIVATE KEY", dump)
        self.assertNotIn("BEGIN EC PRIVATE KEY", dump)
        for s in self.all_secrets():
            self.assertNotIn(s, dump)

    def test_tokens_and_admin_keys_are_stored_as_sha256_of_the_value(self):
        rows = self.d.pg.psql("SELECT token_id || '|' || encode(token_hash, 'hex') FROM tokens")
        stored = dict(line.split("|") for line in rows.splitlines())
        self.assertEqual(set(stored), set(self.tokens))
        for token_id, value in self.tokens.items():
            self.assertEqual(stored[token_id], hashlib.sha256(value.encode()).hexdigest())
            self.assertEqual(len(bytes.fromhex(stored[token_id])), 32)
        rows = self.d.pg.psql("SELECT key_id || '|' || encode(key_hash, 'hex') FROM admin_keys")
        stored_keys = dict(line.split("|") for line in rows.splitlines())
        self.assertEqual(sorted(stored_keys.values()),
                         sorted(hashlib.sha256(v.encode()).hexdigest() for v in self.admin_keys))
        for value, key_id in self.admin_keys.items():
            if key_id is not None:
                self.assertEqual(stored_keys[key_id], hashlib.sha256(value.encode()).hexdigest())


if __name__ == "__main__":
    unittest.main()
