"""The reissue user story with the real CLIs: an admin makes a reissue token, the
host reissues with a new key and keeps its host ID, the old certificate lands on
the CRL of the host's shard, and OpenSSL, GnuTLS and Python's cryptography
agree on what the CRLs say. Then: renaming, revoking by serial, the token-less
reissue window, `hostca-agent fetch-crl`, conditional GETs and `crl show`."""

import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import x509  # noqa: E402

SHARDS = 4
CRL_VALIDITY_SECONDS = 24 * 3600


class ReissueFlowTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=SHARDS)
        try:
            cls.server = cls.d.start_server(["--crl-validity", "24h",
                                             "--crl-republish-before", "12h"])
            harness.wait_for_crls(cls.server, SHARDS)
            cls.sha256, _ = harness.fingerprints(cls.d.ca_cert)
            # web01 enrols, then reissues with a reissue token.
            cls.web01_dir = cls.enrolled_dir("web01")
            cls.web01 = cls.identity(cls.web01_dir)
            cls.old_pem = cls.keep_copy(cls.web01_dir, "host.pem", "web01-old.pem")
            cls.old_key_pem = cls.keep_copy(cls.web01_dir, "host.key", "web01-old.key")
            cls.token = cls.reissue_token(cls.web01["host_id"], "--reason", "key rotation")
            cls.reissued = cls.d.agent_cli(cls.web01_dir, "reissue", "--token",
                                           cls.token["token"])
            if cls.reissued.returncode != 0:
                raise RuntimeError("reissue failed: %r" % cls.reissued)
            cls.web01_new = cls.identity(cls.web01_dir)
            cls.new_pem = cls.keep_copy(cls.web01_dir, "host.pem", "web01-new.pem")
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers

    @classmethod
    def enrolled_dir(cls, name):
        path = os.path.join(cls.d.folder, "agent-" + name)
        r = cls.d.agent_cli(path, "get-ca", "--server", cls.server.address,
                            "--fingerprint", cls.sha256)
        if r.returncode != 0:
            raise RuntimeError("get-ca failed: %r" % r)
        r = cls.d.admin_cli(cls.server, "--json", "token", "create", "--name", name)
        if r.returncode != 0:
            raise RuntimeError("token create failed: %r" % r)
        token = json.loads(r.stdout)["token"]
        r = cls.d.agent_cli(path, "enroll", "--token", token, "--hostname", name + ".example")
        if r.returncode != 0:
            raise RuntimeError("enroll of %s failed: %r" % (name, r))
        return path

    @classmethod
    def identity(cls, agent_dir):
        with open(os.path.join(agent_dir, "host.json")) as f:
            ident = json.load(f)
        with open(os.path.join(agent_dir, "host.pem"), "rb") as f:
            ident["cert"] = x509.load_pem_x509_certificate(f.read())
        with open(os.path.join(agent_dir, "host.key"), "rb") as f:
            ident["key_pem"] = f.read()
        return ident

    @classmethod
    def keep_copy(cls, agent_dir, name, copy_name):
        path = os.path.join(cls.d.folder, copy_name)
        shutil.copyfile(os.path.join(agent_dir, name), path)
        return path

    @classmethod
    def reissue_token(cls, host_id, *extra):
        r = cls.d.admin_cli(cls.server, "--json", "reissue-token", "create", "--host-id", host_id,
                            *extra)
        if r.returncode != 0:
            raise RuntimeError("reissue-token create failed: %r" % r)
        return json.loads(r.stdout)

    def fetch_all_pem(self, name="all.pem"):
        res = harness.http_get(self.server.http_port, "/crl/all.pem")
        self.assertEqual(res.status, 200, res)
        return harness.write_bytes(os.path.join(self.d.folder, name), res.body)

    def fetch_shard_crl(self, cert):
        """The CRL at the certificate's distribution point: (parsed CRL, DER, response)."""
        res = harness.http_get_url(harness.distribution_point_of(cert))
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.headers.get("Content-Type"), "application/pkix-crl")
        return x509.load_der_x509_crl(res.body), res.body, res

    def shard_of(self, ident):
        return harness.crl_shard_of(ident["host_id"], SHARDS)

    def openssl_verify(self, crl_file, cert_file):
        return harness.run(["openssl", "verify", "-crl_check", "-CAfile", self.d.ca_pem_path,
                            "-CRLfile", crl_file, cert_file])

    def assert_openssl_says_revoked(self, crl_file, cert_file):
        r = self.openssl_verify(crl_file, cert_file)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("certificate revoked", r.stdout + r.stderr)

    def assert_openssl_says_ok(self, crl_file, cert_file):
        r = self.openssl_verify(crl_file, cert_file)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(": OK", r.stdout)

    def assert_cli_refused(self, r, code, *phrases):
        self.assertNotEqual(r.returncode, 0, r)
        lines = r.stderr_lines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(code, lines[0])
        for phrase in phrases:
            self.assertIn(phrase, lines[0])
        return lines[0]

    # -- the reissue itself

    def test_reissue_token_create_prints_a_reissue_token_bound_to_the_host(self):
        self.assertRegex(self.token["token"], harness.REISSUE_TOKEN_RE)
        self.assertRegex(self.token["token_id"], r"^[0-9a-f-]{36}$")
        self.assertGreater(harness.parse_rfc3339(self.token["expires_at"]), 0)
        row = self.d.pg.psql("SELECT kind || '|' || host_id || '|' || max_uses || '|' || uses"
                             " || '|' || reason FROM tokens WHERE token_id = '%s'"
                             % self.token["token_id"])
        self.assertEqual(row, "reissue|%s|1|1|key rotation" % self.web01["host_id"])
        # The value is never stored, listed or audited.
        listing = self.d.admin_cli(self.server, "token", "list", "--all")
        self.assertEqual(listing.returncode, 0, listing)
        self.assertNotIn(self.token["token"], listing.stdout)
        self.assertNotIn(self.token["token"], self.d.pg.dump())

    def test_reissue_keeps_the_host_id_with_a_new_key_and_serial_and_names_the_old_serial(self):
        old, new = self.web01, self.web01_new
        self.assertEqual(new["host_id"], old["host_id"])
        self.assertNotEqual(new["serial_hex"], old["serial_hex"])
        self.assertEqual(int(new["serial_hex"], 16), new["cert"].serial_number)
        self.assertNotEqual(harness.spki_der(new["cert"].public_key()),
                            harness.spki_der(old["cert"].public_key()))
        self.assertNotEqual(new["key_pem"], old["key_pem"])
        key = harness.serialization.load_pem_private_key(new["key_pem"], None)
        self.assertEqual(harness.spki_der(key.public_key()),
                         harness.spki_der(new["cert"].public_key()))
        # The agent tells which serial the reissue revoked.
        self.assertRegex(self.reissued.stdout.lower(),
                         r"revoked:\s+%s" % old["serial_hex"].lower())
        harness.check_host_certificate(self, new["cert"], self.d.ca_cert, old["host_id"],
                                       "web01.example", self.server.http_port)
        # The database agrees: the old certificate revoked as superseded, the new one valid.
        certs = harness.host_certificates(self.d, old["host_id"])
        self.assertEqual(len(certs), 2, certs)
        by_serial = {int(c[0], 16): c for c in certs}
        old_row = by_serial[old["cert"].serial_number]
        new_row = by_serial[new["cert"].serial_number]
        self.assertNotEqual(old_row[2], "")
        self.assertEqual(old_row[3], str(harness.REASON_SUPERSEDED))
        self.assertEqual((new_row[1], new_row[2]), ("reissue", ""))
        shown = self.d.admin_cli(self.server, "host", "show", "--host-id", old["host_id"])
        self.assertEqual(shown.returncode, 0, shown)
        states = {int(c["serial_hex"], 16): c["state"]
                  for c in json.loads(shown.stdout)["certificates"]}
        self.assertEqual(states, {old["cert"].serial_number: "revoked",
                                  new["cert"].serial_number: "valid"})

    def test_openssl_with_the_all_pem_bundle_refuses_the_old_and_accepts_the_new(self):
        all_pem = self.fetch_all_pem()
        self.assert_openssl_says_revoked(all_pem, self.old_pem)
        self.assert_openssl_says_ok(all_pem, self.new_pem)
        # Without any CRL check the old one still chains: it is the CRL that refuses it.
        r = harness.run(["openssl", "verify", "-CAfile", self.d.ca_pem_path, self.old_pem])
        self.assertEqual(r.returncode, 0, r)

    def test_openssl_with_the_shard_crl_from_the_distribution_point_refuses_the_old(self):
        crl, der, _ = self.fetch_shard_crl(self.web01_new["cert"])
        path = harness.write_bytes(os.path.join(self.d.folder, "web01-shard.crl.pem"),
                                   harness.crl_pem(crl))
        self.assert_openssl_says_revoked(path, self.old_pem)
        self.assert_openssl_says_ok(path, self.new_pem)

    def test_gnutls_certtool_with_the_shard_crl_refuses_the_old_and_accepts_the_new(self):
        certtool = shutil.which("certtool")
        if not certtool:
            self.skipTest("GnuTLS certtool is not installed")
        # certtool keeps one CRL per issuer, so it gets the host's shard CRL, not the bundle.
        crl, _, _ = self.fetch_shard_crl(self.web01_new["cert"])
        crl_file = harness.write_bytes(os.path.join(self.d.folder, "crl.pem"),
                                       harness.crl_pem(crl))
        args = [certtool, "--verify", "--load-ca-certificate", self.d.ca_pem_path,
                "--load-crl", crl_file, "--infile"]
        old = harness.run(args + [self.old_pem])
        self.assertNotEqual(old.returncode, 0, old)
        self.assertIn("Not verified", old.stdout)
        self.assertIn("revoked", old.stdout)
        new = harness.run(args + [self.new_pem])
        self.assertEqual(new.returncode, 0, new)
        self.assertIn("Chain verification output: Verified", new.stdout)

    def test_shard_crl_lists_the_old_serial_as_superseded_with_the_crl_profile(self):
        new_cert = self.web01_new["cert"]
        cdp = harness.distribution_point_of(new_cert)
        shard = self.shard_of(self.web01)
        self.assertEqual(cdp, harness.crl_url(self.server, shard))
        self.assertEqual(harness.distribution_point_of(self.web01["cert"]), cdp)
        crl, der, _ = self.fetch_shard_crl(new_cert)
        harness.check_crl_profile(self, crl, self.d.ca_cert, url=cdp,
                                  validity_seconds=CRL_VALIDITY_SECONDS)
        entries = harness.crl_entries(crl)
        self.assertEqual(entries[self.web01["cert"].serial_number][1], harness.REASON_SUPERSEDED)
        self.assertNotIn(new_cert.serial_number, entries)
        # The same CRL is what GetCRL returns for the shard.
        grpc_crl = harness.get_crls(self.server, shard)[shard]
        self.assertEqual(grpc_crl.crl_der, der)
        self.assertEqual(grpc_crl.crl_number, harness.crl_number_of(crl))
        text = harness.openssl_crl_text(harness.write_bytes(
            os.path.join(self.d.folder, "web01-shard.crl"), der))
        self.assertIn("Version 2 (0x1)", text)
        self.assertIn("Superseded", text)
        self.assertIn("%X" % self.web01["cert"].serial_number, text.replace(":", "").upper())

    def test_all_pem_holds_one_signed_crl_per_shard_each_naming_its_own_url(self):
        res = harness.http_get(self.server.http_port, "/crl/all.pem")
        self.assertEqual(res.status, 200, res)
        crls = harness.load_crl_bundle(res.body)
        self.assertEqual(res.body.count(b"-----BEGIN X509 CRL-----"), len(crls))
        for crl in crls:
            harness.check_crl_profile(self, crl, self.d.ca_cert)
        by_shard = harness.shard_crls_of_bundle(self, crls, self.server, SHARDS)
        # Each is the shard's current CRL, the one GetCRL returns.
        for shard, c in harness.get_crls(self.server).items():
            self.assertEqual(harness.crl_der(by_shard[shard]), c.crl_der)

    def test_openssl_checking_the_whole_chain_as_nginx_does_accepts_the_new_certificate(self):
        # nginx's ssl_crl turns on X509_V_FLAG_CRL_CHECK_ALL: the CA certificate itself must
        # find a CRL in the bundle whose scope covers it, or every client is refused.
        all_pem = self.fetch_all_pem("all-check-all.pem")
        r = harness.run(["openssl", "verify", "-crl_check_all", "-CAfile", self.d.ca_pem_path,
                         "-CRLfile", all_pem, self.new_pem])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(": OK", r.stdout)
        r = harness.run(["openssl", "verify", "-crl_check_all", "-CAfile", self.d.ca_pem_path,
                         "-CRLfile", all_pem, self.old_pem])
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("certificate revoked", r.stdout + r.stderr)

    def test_unknown_shard_is_404(self):
        for path in ("/crl/%d.crl" % SHARDS, "/crl/99.crl", "/crl/-1.crl", "/crl/abc.crl",
                     "/crl/1.crl.pem"):
            with self.subTest(path=path):
                self.assertEqual(harness.http_get(self.server.http_port, path).status, 404)

    # -- the token is single use

    def test_second_reissue_with_the_same_token_is_resource_exhausted_and_changes_nothing(self):
        ident = self.identity(self.web01_dir)
        before = harness.revocation_state(self.d, self.server)
        r = self.d.agent_cli(self.web01_dir, "reissue", "--token", self.token["token"])
        self.assert_cli_refused(r, "RESOURCE_EXHAUSTED")
        self.assertNotIn(self.token["token"], r.stderr)
        self.assertEqual(harness.revocation_state(self.d, self.server), before)
        after = self.identity(self.web01_dir)
        self.assertEqual((after["serial_hex"], after["key_pem"]),
                         (ident["serial_hex"], ident["key_pem"]))

    # -- rename, reinstall

    def test_reissue_with_a_new_hostname_renames_the_host_in_the_san(self):
        path = self.enrolled_dir("web02")
        before = self.identity(path)
        token = self.reissue_token(before["host_id"])
        r = self.d.agent_cli(path, "reissue", "--token", token["token"],
                             "--hostname", "web02-renamed.example")
        self.assertEqual(r.returncode, 0, r)
        after = self.identity(path)
        self.assertEqual(after["host_id"], before["host_id"])
        self.assertEqual(after["hostname"], "web02-renamed.example")
        harness.check_host_certificate(self, after["cert"], self.d.ca_cert, before["host_id"],
                                       "web02-renamed.example", self.server.http_port)
        self.assertEqual(self.d.pg.psql("SELECT hostname FROM hosts WHERE host_id = '%s'"
                                        % before["host_id"]), "web02-renamed.example")

    def test_reissue_into_a_reinstalled_folder_with_host_id_restores_the_identity(self):
        path = self.enrolled_dir("web03")
        before = self.identity(path)
        fresh = os.path.join(self.d.folder, "agent-web03-reinstalled")
        r = self.d.agent_cli(fresh, "get-ca", "--server", self.server.address,
                             "--fingerprint", self.sha256)
        self.assertEqual(r.returncode, 0, r)
        token = self.reissue_token(before["host_id"])
        # No --hostname: the CA keeps the name it has, and the new certificate tells it.
        r = self.d.agent_cli(fresh, "reissue", "--token", token["token"],
                             "--host-id", before["host_id"])
        self.assertEqual(r.returncode, 0, r)
        after = self.identity(fresh)
        self.assertEqual(after["host_id"], before["host_id"])
        self.assertEqual(after["hostname"], "web03.example")
        self.assertNotEqual(after["serial_hex"], before["serial_hex"])
        crl, _, _ = self.fetch_shard_crl(after["cert"])
        self.assertIn(before["cert"].serial_number, harness.crl_entries(crl))

    # -- revocation by the admin

    def test_cert_revoke_key_compromise_is_on_the_next_crl_with_its_reason(self):
        path = self.enrolled_dir("web04")
        first = self.identity(path)
        token = self.reissue_token(first["host_id"])
        r = self.d.agent_cli(path, "reissue", "--token", token["token"])
        self.assertEqual(r.returncode, 0, r)
        ident = self.identity(path)
        cert_file = self.keep_copy(path, "host.pem", "web04-new.pem")
        crl_before, _, _ = self.fetch_shard_crl(ident["cert"])
        number_before = harness.crl_number_of(crl_before)

        r = self.d.admin_cli(self.server, "--json", "cert", "revoke", "--serial",
                             ident["serial_hex"], "--reason", "keyCompromise")
        self.assertEqual(r.returncode, 0, r)
        revoked = json.loads(r.stdout)["revoked_serials_hex"]
        self.assertEqual([int(s, 16) for s in revoked], [ident["cert"].serial_number])

        crl, der, _ = self.fetch_shard_crl(ident["cert"])
        cdp = harness.distribution_point_of(ident["cert"])
        harness.check_crl_profile(self, crl, self.d.ca_cert, url=cdp,
                                  validity_seconds=CRL_VALIDITY_SECONDS)
        self.assertGreater(harness.crl_number_of(crl), number_before)
        entries = harness.crl_entries(crl)
        self.assertEqual(entries[ident["cert"].serial_number][1], harness.REASON_KEY_COMPROMISE)
        self.assertEqual(entries[first["cert"].serial_number][1], harness.REASON_SUPERSEDED)
        revoked_entry = crl.get_revoked_certificate_by_serial_number(ident["cert"].serial_number)
        self.assertEqual(revoked_entry.extensions.get_extension_for_class(x509.CRLReason)
                         .value.reason, x509.ReasonFlags.key_compromise)
        # The database's revocation time is the CRL entry's revocation date.
        revoked_at = self.d.pg.psql("SELECT extract(epoch FROM date_trunc('second', revoked_at))"
                                    "::bigint FROM certificates WHERE serial_hex = '%s'"
                                    % ident["serial_hex"].lower())
        self.assertEqual(int(revoked_entry.revocation_date.replace(
            tzinfo=harness.datetime.timezone.utc).timestamp()), int(revoked_at))
        # openssl reads the same.
        crl_file = harness.write_bytes(os.path.join(self.d.folder, "web04.crl"), der)
        text = harness.openssl_crl_text(crl_file)
        self.assertIn("Key Compromise", text)
        self.assertIn("Version 2 (0x1)", text)
        self.assertRegex(text, r"X509v3 Issuing Distribution Point: critical\s+Full Name:\s+"
                               r"URI:" + cdp.replace(".", r"\."))
        self.assertRegex(text, r"X509v3 CRL Number:\s+%d\b" % harness.crl_number_of(crl))
        self.assert_openssl_says_revoked(self.fetch_all_pem("all-after-revoke.pem"), cert_file)

    def test_cert_revoke_of_a_revoked_certificate_fails_and_says_when_and_why(self):
        path = self.enrolled_dir("web05")
        ident = self.identity(path)
        r = self.d.admin_cli(self.server, "cert", "revoke", "--serial", ident["serial_hex"],
                             "--reason", "cessationOfOperation")
        self.assertEqual(r.returncode, 0, r)
        before = harness.revocation_state(self.d, self.server)
        r = self.d.admin_cli(self.server, "cert", "revoke", "--serial", ident["serial_hex"],
                             "--reason", "keyCompromise")
        line = self.assert_cli_refused(r, "FAILED_PRECONDITION", "cessationOfOperation")
        self.assertRegex(line, r"\d{4}-\d{2}-\d{2}")
        self.assertEqual(harness.revocation_state(self.d, self.server), before)
        # Nothing left to revoke by host ID either.
        r = self.d.admin_cli(self.server, "cert", "revoke", "--host-id", ident["host_id"])
        self.assert_cli_refused(r, "FAILED_PRECONDITION")
        self.assertEqual(harness.revocation_state(self.d, self.server), before)

    # -- the token-less window

    def test_allow_auto_reissue_lets_the_host_reissue_once_without_a_token(self):
        path = self.enrolled_dir("web06")
        before = self.identity(path)
        # Without a window, no token is no reissue.
        state = harness.revocation_state(self.d, self.server)
        r = self.d.agent_cli(path, "reissue")
        self.assert_cli_refused(r, "UNAUTHENTICATED")
        self.assertEqual(harness.revocation_state(self.d, self.server), state)

        r = self.d.admin_cli(self.server, "host", "allow-auto-reissue", "--host-id",
                             before["host_id"], "--for", "12h")
        self.assertEqual(r.returncode, 0, r)
        until = self.d.pg.psql("SELECT extract(epoch FROM auto_reissue_until - now())::int"
                               " FROM hosts WHERE host_id = '%s'" % before["host_id"])
        self.assertTrue(12 * 3600 - 120 <= int(until) <= 12 * 3600, until)

        r = self.d.agent_cli(path, "reissue")
        self.assertEqual(r.returncode, 0, r)
        after = self.identity(path)
        self.assertEqual(after["host_id"], before["host_id"])
        self.assertNotEqual(after["serial_hex"], before["serial_hex"])
        self.assertIn(before["serial_hex"].lower(), r.stdout.lower())

        state = harness.revocation_state(self.d, self.server)
        r = self.d.agent_cli(path, "reissue")
        self.assert_cli_refused(r, "UNAUTHENTICATED")
        self.assertEqual(harness.revocation_state(self.d, self.server), state)
        self.assertEqual(self.identity(path)["serial_hex"], after["serial_hex"])

    # -- what relying parties fetch

    def test_agent_fetch_crl_writes_a_bundle_whose_crls_verify(self):
        r = self.d.agent_cli(self.web01_dir, "fetch-crl")
        self.assertEqual(r.returncode, 0, r)
        default = os.path.join(self.web01_dir, "crl.pem")
        out = os.path.join(self.d.folder, "fetched-crl.pem")
        r = self.d.agent_cli(self.web01_dir, "fetch-crl", "--out", out)
        self.assertEqual(r.returncode, 0, r)
        for path in (default, out):
            with self.subTest(path=os.path.basename(path)):
                with open(path, "rb") as f:
                    crls = harness.load_crl_bundle(f.read())
                harness.shard_crls_of_bundle(self, crls, self.server, SHARDS)
                for crl in crls:
                    harness.check_crl_profile(self, crl, self.d.ca_cert)
                    one = harness.write_bytes(path + ".one", harness.crl_pem(crl))
                    v = harness.run(["openssl", "crl", "-in", one, "-noout", "-CAfile",
                                     self.d.ca_pem_path])
                    self.assertEqual(v.returncode, 0, v)
                    self.assertIn("verify OK", v.stdout + v.stderr)
                self.assert_openssl_says_revoked(path, self.old_pem)
                self.assert_openssl_says_ok(path, self.new_pem)

    def test_shard_crl_conditional_get_answers_304_while_unchanged(self):
        shard = self.shard_of(self.web01)
        path = "/crl/%d.crl" % shard
        first = harness.http_get(self.server.http_port, path)
        self.assertEqual(first.status, 200, first)
        etag = first.headers.get("ETag")
        last_modified = first.headers.get("Last-Modified")
        self.assertTrue(etag, first)
        self.assertTrue(last_modified, first)
        again = harness.http_get(self.server.http_port, path, {"If-None-Match": etag})
        self.assertEqual(again.status, 304, again)
        self.assertEqual(again.body, b"")
        self.assertEqual(again.headers.get("ETag"), etag)
        since = harness.http_get(self.server.http_port, path, {"If-Modified-Since": last_modified})
        self.assertEqual(since.status, 304, since)
        other = harness.http_get(self.server.http_port, path, {"If-None-Match": '"not-it"'})
        self.assertEqual(other.status, 200, other)
        self.assertEqual(other.body, first.body)
        # curl's own conditional GET agrees.
        curl = shutil.which("curl")
        if curl:
            r = harness.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}",
                             "-H", "If-None-Match: " + etag, self.server.http_url(path)])
            self.assertEqual(r.stdout, "304", r)

    def test_a_revocation_changes_the_etag_and_the_crl(self):
        path = self.enrolled_dir("web07")
        ident = self.identity(path)
        url = "/crl/%d.crl" % self.shard_of(ident)
        first = harness.http_get(self.server.http_port, url)
        self.assertEqual(first.status, 200, first)
        r = self.d.admin_cli(self.server, "cert", "revoke", "--host-id", ident["host_id"],
                             "--reason", "superseded")
        self.assertEqual(r.returncode, 0, r)
        after = harness.http_get(self.server.http_port, url,
                                 {"If-None-Match": first.headers.get("ETag")})
        self.assertEqual(after.status, 200, after)
        self.assertNotEqual(after.headers.get("ETag"), first.headers.get("ETag"))
        crl = x509.load_der_x509_crl(after.body)
        self.assertIn(ident["cert"].serial_number, harness.crl_entries(crl))
        self.assertGreater(harness.crl_number_of(crl),
                           harness.crl_number_of(x509.load_der_x509_crl(first.body)))

    def test_crl_show_matches_get_crl(self):
        crls = harness.get_crls(self.server)
        self.assertEqual(set(crls), set(range(SHARDS)))
        r = self.d.admin_cli(self.server, "--json", "crl", "show")
        self.assertEqual(r.returncode, 0, r)
        shown = json.loads(r.stdout)
        if isinstance(shown, dict) and "crls" in shown:
            shown = shown["crls"]
        self.assertEqual({int(c["shard"]): int(c["crl_number"]) for c in shown},
                         {s: c.crl_number for s, c in crls.items()})
        # One shard with its entries: the serials the shard's CRL lists.
        shard = self.shard_of(self.web01)
        r = self.d.admin_cli(self.server, "--json", "crl", "show", "--shard", shard, "--entries")
        self.assertEqual(r.returncode, 0, r)
        shown = json.loads(r.stdout)
        if isinstance(shown, dict) and "crls" in shown:
            shown = shown["crls"]
        if isinstance(shown, dict):
            shown = [shown]
        self.assertEqual([int(c["shard"]) for c in shown], [shard])
        self.assertEqual(int(shown[0]["crl_number"]), crls[shard].crl_number)
        crl = x509.load_der_x509_crl(crls[shard].crl_der)
        self.assertEqual({int(e["serial_hex"], 16) for e in shown[0]["entries"]},
                         set(harness.crl_entries(crl)))
        # The human form names every shard with its number, one line each.
        r = self.d.admin_cli(self.server, "crl", "show")
        self.assertEqual(r.returncode, 0, r)
        for s, c in crls.items():
            self.assertRegex(r.stdout, r"(?m)^shard %d\s+CRL number %d\s" % (s, c.crl_number))
        self.assertEqual(len([l for l in r.stdout.splitlines() if l.startswith("shard ")]),
                         SHARDS)

if __name__ == "__main__":
    unittest.main()
