"""The enrolment user story with the real CLIs: an admin makes a token, a host
pins the CA by fingerprint and enrols, OpenSSL, GnuTLS and Python's
cryptography check what came out, and the token rules hold."""

import http.client
import json
import os
import shutil
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import x509  # noqa: E402


class EnrollmentFlowTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            cls.server = cls.d.start_server()
            cls.sha256, cls.spki = harness.fingerprints(cls.d.ca_cert)
            # The admin's side: one token for two hosts.
            r = cls.d.admin_cli(cls.server, "--json", "token", "create", "--name", "lab",
                                "--max-uses", "2", "--valid-for", "24h")
            if r.returncode != 0:
                raise RuntimeError("token create failed: %r" % r)
            cls.lab = json.loads(r.stdout)
            # The hosts' side: pin, then enrol.
            cls.web01_dir = cls.pinned_dir("web01")
            cls.web01 = cls.enroll_or_fail(cls.web01_dir, cls.lab["token"], "web01.example")
            cls.web02_dir = cls.pinned_dir("web02")
            cls.web02 = cls.enroll_or_fail(cls.web02_dir, cls.lab["token"], "web02.example")
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers

    @classmethod
    def pinned_dir(cls, name):
        path = os.path.join(cls.d.folder, "agent-" + name)
        r = cls.d.agent_cli(path, "get-ca", "--server", cls.server.address,
                            "--fingerprint", cls.sha256)
        if r.returncode != 0:
            raise RuntimeError("get-ca failed: %r" % r)
        return path

    @classmethod
    def enroll_or_fail(cls, agent_dir, token, hostname):
        r = cls.d.agent_cli(agent_dir, "enroll", "--token", token, "--hostname", hostname)
        if r.returncode != 0:
            raise RuntimeError("enroll of %s failed: %r" % (hostname, r))
        with open(os.path.join(agent_dir, "host.json")) as f:
            identity = json.load(f)
        with open(os.path.join(agent_dir, "host.pem"), "rb") as f:
            identity["cert"] = x509.load_pem_x509_certificate(f.read())
        identity["stdout"] = r.stdout
        return identity

    def new_token(self, *extra):
        r = self.d.admin_cli(self.server, "--json", "token", "create", "--name", "t", *extra)
        self.assertEqual(r.returncode, 0, r)
        return json.loads(r.stdout)

    def assert_enrolment_refused(self, agent_dir, token, hostname, code, phrase):
        before = self.d.pg.counts()
        r = self.d.agent_cli(agent_dir, "enroll", "--token", token, "--hostname", hostname)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "")
        lines = r.stderr_lines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(code, lines[0])
        self.assertIn(phrase, lines[0])
        self.assertNotIn(token, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(agent_dir, "host.json")))
        self.assertFalse(os.path.exists(os.path.join(agent_dir, "host.key")))
        self.assertEqual(self.d.pg.counts(), before)
        return lines[0]

    # -- the admin's token

    def test_token_create_prints_the_token_once_and_list_never_shows_it(self):
        r = self.d.admin_cli(self.server, "token", "create", "--name", "human", "--max-uses", "1")
        self.assertEqual(r.returncode, 0, r)
        tokens = harness.AUTH_TOKEN_RE.findall(r.stdout)
        self.assertEqual(len(tokens), 1, r.stdout)
        self.assertIn("shown only now", r.stdout)
        self.assertRegex(r.stdout, r"token id:\s+[0-9a-f-]{36}")
        listing = self.d.admin_cli(self.server, "token", "list", "--all")
        self.assertEqual(listing.returncode, 0, listing)
        self.assertNotIn(tokens[0], listing.stdout)
        self.assertNotIn(self.lab["token"], listing.stdout)
        self.assertIn("human", listing.stdout)

    # -- pinning

    def test_get_ca_with_wrong_fingerprint_exits_3_names_both_and_pins_nothing(self):
        wrong = "ab" * 32
        path = os.path.join(self.d.folder, "agent-wrong-fingerprint")
        r = self.d.agent_cli(path, "get-ca", "--server", self.server.address,
                             "--fingerprint", wrong)
        self.assertEqual(r.returncode, 3, r)
        lines = r.stderr_lines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(self.sha256, lines[0])
        self.assertIn(wrong, lines[0])
        self.assertTrue(not os.path.exists(path) or os.listdir(path) == [], os.listdir(path)
                        if os.path.exists(path) else None)

    def test_get_ca_with_right_fingerprint_pins_the_ca(self):
        path = os.path.join(self.d.folder, "agent-pin")
        # Given with colons and in upper case, as an admin might paste it.
        pasted = ":".join(self.sha256[i:i + 2] for i in range(0, 64, 2)).upper()
        r = self.d.agent_cli(path, "get-ca", "--server", self.server.address,
                             "--fingerprint", pasted)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700)
        with open(os.path.join(path, "pin.json")) as f:
            pin = json.load(f)
        self.assertEqual(pin["sha256_fingerprint"], self.sha256)
        self.assertEqual(pin["spki_sha256"], self.spki)
        self.assertEqual(pin["server"], self.server.address)
        with open(os.path.join(path, "ca.pem"), "rb") as f:
            self.assertEqual(harness.fingerprints(x509.load_pem_x509_certificate(f.read())),
                             (self.sha256, self.spki))
        # The public-key fingerprint is accepted as well.
        path2 = os.path.join(self.d.folder, "agent-pin-spki")
        r2 = self.d.agent_cli(path2, "get-ca", "--server", self.server.address,
                              "--fingerprint", self.spki)
        self.assertEqual(r2.returncode, 0, r2)

    # -- the enrolled host

    def test_enrol_writes_private_key_0600_in_a_0700_folder_and_the_identity(self):
        d = self.web01_dir
        self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(d, "host.key")).st_mode), 0o600)
        self.assertTrue(os.path.exists(os.path.join(d, "host.pem")))
        cert = self.web01["cert"]
        self.assertEqual(self.web01["hostname"], "web01.example")
        self.assertEqual(int(self.web01["serial_hex"], 16), cert.serial_number)
        self.assertIn(self.web01["host_id"], self.web01["stdout"])
        # The key on disk is the one the certificate names.
        with open(os.path.join(d, "host.key"), "rb") as f:
            key = harness.serialization.load_pem_private_key(f.read(), None)
        self.assertEqual(harness.spki_der(key.public_key()), harness.spki_der(cert.public_key()))
        for name in os.listdir(d):
            self.assertNotIn(".tmp.", name)

    def test_certificate_verifies_with_openssl(self):
        for purpose in ("sslserver", "sslclient"):
            r = harness.run(["openssl", "verify", "-x509_strict", "-purpose", purpose,
                             "-CAfile", self.d.ca_pem_path,
                             os.path.join(self.web01_dir, "host.pem")])
            self.assertEqual(r.returncode, 0, r)
            self.assertIn(": OK", r.stdout)

    def test_certificate_verifies_with_gnutls_certtool(self):
        certtool = shutil.which("certtool")
        if not certtool:
            self.skipTest("GnuTLS certtool is not installed")
        r = harness.run([certtool, "--verify", "--load-ca-certificate", self.d.ca_pem_path,
                         "--infile", os.path.join(self.web01_dir, "host.pem")])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("Chain verification output: Verified", r.stdout)

    def test_certificate_has_the_host_profile(self):
        for ident in (self.web01, self.web02):
            with self.subTest(host=ident["hostname"]):
                harness.check_host_certificate(self, ident["cert"], self.d.ca_cert,
                                               ident["host_id"], ident["hostname"],
                                               self.server.http_port)
        self.assertNotEqual(self.web01["host_id"], self.web02["host_id"])
        self.assertNotEqual(self.web01["cert"].serial_number, self.web02["cert"].serial_number)

    # -- token rules

    def test_token_with_two_uses_enrols_two_hosts_then_refuses_a_third(self):
        self.assertEqual(self.d.pg.scalar(
            "SELECT uses FROM tokens WHERE token_id = '%s'" % self.lab["token_id"]), 2)
        path = self.pinned_dir("web03")
        line = self.assert_enrolment_refused(path, self.lab["token"], "web03.example",
                                             "RESOURCE_EXHAUSTED", "used up")
        self.assertIn("2 of 2", line)

    def test_expired_token_is_refused(self):
        token = self.new_token("--valid-for", "2s")
        harness.wait_past(harness.parse_rfc3339(token["expires_at"]), margin=1.5)
        path = self.pinned_dir("expired")
        self.assert_enrolment_refused(path, token["token"], "expired.example",
                                      "PERMISSION_DENIED", "expired")

    def test_deleted_token_is_refused(self):
        token = self.new_token()
        r = self.d.admin_cli(self.server, "token", "delete", "--id", token["token_id"])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(token["token_id"], r.stdout)
        path = self.pinned_dir("deleted")
        self.assert_enrolment_refused(path, token["token"], "deleted.example",
                                      "PERMISSION_DENIED", "deleted")

    def test_second_enrolment_of_a_host_name_is_refused_with_a_reissue_hint(self):
        token = self.new_token()
        path = self.pinned_dir("web01-again")
        line = self.assert_enrolment_refused(path, token["token"], "web01.example",
                                             "ALREADY_EXISTS", "reissue")
        # Which host holds the name is not the token holder's business.
        self.assertNotIn(self.web01["host_id"], line)
        self.assertEqual(self.d.pg.scalar(
            "SELECT uses FROM tokens WHERE token_id = '%s'" % token["token_id"]), 0)

    # -- HTTP

    def http_get(self, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.http_port, timeout=10)
        try:
            conn.request("GET", path, headers=headers or {})
            res = conn.getresponse()
            return res.status, dict(res.getheaders()), res.read()
        finally:
            conn.close()

    def test_http_serves_the_ca_certificate_and_honours_etags(self):
        status, headers, pem = self.http_get("/ca.pem")
        self.assertEqual(status, 200)
        self.assertEqual(harness.fingerprints(x509.load_pem_x509_certificate(pem)),
                         (self.sha256, self.spki))
        status, headers_der, der = self.http_get("/ca.crt")
        self.assertEqual(status, 200)
        self.assertEqual(harness.sha256_hex(der), self.sha256)
        status, _, body = self.http_get("/ca.json")
        self.assertEqual(status, 200)
        info = json.loads(body)
        self.assertEqual(info["sha256_fingerprint"], self.sha256)
        self.assertEqual(info["spki_sha256"], self.spki)
        etag = headers.get("ETag")
        self.assertTrue(etag, headers)
        status, _, body = self.http_get("/ca.pem", {"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")
        status, _, body = self.http_get("/ca.pem", {"If-None-Match": '"something-else"'})
        self.assertEqual(status, 200)
        self.assertEqual(body, pem)

    # -- what the admin sees

    def test_admin_cli_shows_the_hosts_and_the_audit_trail(self):
        r = self.d.admin_cli(self.server, "host", "list")
        self.assertEqual(r.returncode, 0, r)
        for ident in (self.web01, self.web02):
            line = [l for l in r.stdout.splitlines() if ident["host_id"] in l]
            self.assertEqual(len(line), 1, r.stdout)
            self.assertIn(ident["hostname"], line[0])
            self.assertIn("valid", line[0])

        r = self.d.admin_cli(self.server, "--json", "host", "list", "--name", "web01")
        self.assertEqual(r.returncode, 0, r)
        hosts = json.loads(r.stdout)
        self.assertEqual([h["host_id"] for h in hosts], [self.web01["host_id"]])

        r = self.d.admin_cli(self.server, "host", "show", "--host-id", self.web01["host_id"])
        self.assertEqual(r.returncode, 0, r)
        shown = json.loads(r.stdout)
        self.assertEqual(shown["hostname"], "web01.example")
        self.assertTrue(shown["has_valid_certificate"])
        self.assertEqual(len(shown["certificates"]), 1)
        c = shown["certificates"][0]
        self.assertEqual(int(c["serial_hex"], 16), self.web01["cert"].serial_number)
        self.assertEqual(c["kind"], "enroll")
        self.assertEqual(c["state"], "valid")

        r = self.d.admin_cli(self.server, "--json", "audit", "--limit", "1000")
        self.assertEqual(r.returncode, 0, r)
        events = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        issued = {e["subject"]: e for e in events if e["action"] == "certificate.issue"
                  and e["details"].get("kind") == "enroll"}
        for ident in (self.web01, self.web02):
            self.assertIn(ident["host_id"], issued)
            e = issued[ident["host_id"]]
            self.assertEqual(e["details"]["hostname"], ident["hostname"])
            self.assertEqual(int(e["details"]["serial"], 16), ident["cert"].serial_number)
            self.assertEqual(e["outcome"], "ok")
            self.assertEqual(e["actor"], "token:" + self.lab["token_id"])
        uses = [e for e in events if e["action"] == "token.use"
                and e["subject"] == self.lab["token_id"]]
        self.assertEqual(len(uses), 2)
        created = [e for e in events if e["action"] == "token.create"
                   and e["subject"] == self.lab["token_id"]]
        self.assertEqual(len(created), 1)
        self.assertEqual(created[0]["details"]["name"], "lab")
        self.assertEqual(created[0]["details"]["max_uses"], 2)
        # The human form says the same in one line per event.
        r = self.d.admin_cli(self.server, "audit", "--limit", "1000")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(len([l for l in r.stdout.splitlines() if l.strip()]), len(events))
        self.assertIn(self.web02["host_id"], r.stdout)


if __name__ == "__main__":
    unittest.main()
