"""The CA key in a PKCS#11 token (issue 17), with SoftHSM2 behind the tests'
wrapper module (build/tests/libhostca_failing_pkcs11.so), which forwards to
SoftHSM2 and answers CKR_DEVICE_REMOVED while a flag file exists. Each
deployment gets a token folder of its own (SOFTHSM2_CONF).

  * init makes the key in the token; serve issues with it; what comes out
    (a real agent's certificate, the CRLs) passes OpenSSL, GnuTLS and
    Python's cryptography; the database names the module, token and key,
    holds no key, and the PIN is nowhere in it nor in any output;
  * start-up faults (no module, a wrong PIN, no such token, no PIN, the token
    or the key gone) are one line on stderr and exit code 1, without the PIN,
    and init writes no CA;
  * the token going away while serving: calls that sign are UNAVAILABLE,
    naming the token, and change nothing; the server lives on and signs
    again once the token is back;
  * a rollover from a software key to a token key and back, with the real
    `hostca-server ca rollover` commands.
"""

import json
import os
import re
import secrets
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, admin_pb2_grpc, grpc, host_pb2, host_pb2_grpc, x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
WRAPPER_MODULE = os.path.join(harness.BUILD_DIR, "tests", "libhostca_failing_pkcs11.so")
TOKEN_LABEL = "hostca"
# How long a server may take to follow a rollover step, or the token to be
# usable again once it is back: generous for a loaded machine.
FOLLOW_SECONDS = 15


def setUpModule():
    missing = [p for p in (SOFTHSM_MODULE, WRAPPER_MODULE) if not os.path.exists(p)]
    for tool in ("softhsm2-util", "p11tool", "certtool", "openssl"):
        if not shutil.which(tool):
            missing.append(tool)
    if missing:
        raise RuntimeError("the PKCS#11 tests need %s (softhsm2 and gnutls-bin, and a build "
                           "with tests/hsm)" % ", ".join(missing))


def new_pin():
    """A PIN no other string in a run contains by chance."""
    return "pin-" + secrets.token_hex(10)


class SoftHsm:
    """A SoftHSM2 token folder of its own, with its SOFTHSM2_CONF and one token
    initialised with `label` and `pin`; label=None leaves the folder empty."""

    def __init__(self, deployment, name, label=TOKEN_LABEL, pin=None):
        self.folder = deployment.new_folder(name)
        tokens = os.path.join(self.folder, "tokens")
        os.makedirs(tokens)
        self.conf = os.path.join(self.folder, "softhsm2.conf")
        with open(self.conf, "w") as f:
            f.write("directories.tokendir = %s\nlog.level = ERROR\n" % tokens)
        self.label = label
        self.pin = pin
        if label is not None:
            r = harness.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                             "--pin", pin, "--so-pin", "so-" + pin],
                            env={"SOFTHSM2_CONF": self.conf})
            if r.returncode != 0:
                raise RuntimeError("softhsm2-util --init-token failed: %r" % r)

    def env(self, fail_flag=None):
        """The environment of a hostca process using the token through the wrapper."""
        out = {"SOFTHSM2_CONF": self.conf, "HOSTCA_TEST_PKCS11_REAL": SOFTHSM_MODULE}
        if fail_flag:
            out["HOSTCA_TEST_PKCS11_FAIL"] = fail_flag
        return out

    def _p11tool(self, *args):
        # Straight to SoftHSM2 (not the wrapper), logged in.
        r = harness.run(["p11tool", "--provider", SOFTHSM_MODULE, "--login",
                         "--set-pin=" + self.pin] + list(args),
                        env={"SOFTHSM2_CONF": self.conf})
        if r.returncode != 0 and not (args[0] == "--list-all" and
                                      r.stderr.strip() == "No matching objects found"):
            raise AssertionError("p11tool failed: %r" % r)
        return r.stdout

    def objects(self):
        """{(label, 'private'|'public'): the p11tool listing of that object}."""
        out = {}
        for block in self._p11tool("--list-all", "pkcs11:token=" + self.label).split("Object "):
            m = re.search(r"type=(private|public)", block)
            label = re.search(r"\n\s*Label: (.*)", block)
            if m and label:
                out[(label.group(1).strip(), m.group(1))] = block
        return out

    def public_key_spki(self, key_label):
        # With --outfile: to the screen, p11tool waits 3 s after a warning.
        out = os.path.join(self.folder, "exported-%s.pem" % key_label)
        self._p11tool("--export-pubkey", "pkcs11:token=%s;object=%s;type=public" % (
            self.label, key_label), "--outfile", out)
        with open(out, "rb") as f:
            return harness.spki_der(serialization.load_pem_public_key(f.read()))


def signer_args(key_label, pin_file=None, module=WRAPPER_MODULE, token_label=TOKEN_LABEL):
    out = ["--signer", "pkcs11", "--pkcs11-module", module, "--pkcs11-token-label",
           token_label, "--pkcs11-key-label", key_label]
    if pin_file:
        out += ["--pkcs11-pin-file", pin_file]
    return out


def token_deployment(test_name, algorithm=None, key_label="hostca-ca"):
    """A fresh CA whose only key is in a fresh SoftHSM2 token: (deployment, token, PIN file)."""
    d = harness.Deployment(init=False, crl_shards=1)
    try:
        token = SoftHsm(d, "softhsm-" + test_name, pin=new_pin())
        pin_file = d.write_secret_file("pin", token.pin)
        extra = signer_args(key_label, pin_file)
        if algorithm:
            extra += ["--key-algorithm", algorithm]
        d.init(crl_shards=1, passphrase=False, extra_args=extra, env=token.env())
        return d, token, pin_file
    except BaseException:
        d.close()
        raise


def spki(cert):
    return harness.spki_der(cert.public_key())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def ca_key_certificate(d, generation):
    der = bytes.fromhex(d.pg.psql("SELECT encode(certificate_der, 'hex') FROM ca_keys"
                                  " WHERE generation = %d" % generation))
    return x509.load_der_x509_certificate(der)


def links_of(d, generation):
    """(newWithOld, oldWithNew) of a CA key made by a planned rollover."""
    row = d.pg.psql("SELECT encode(new_with_old_der, 'hex') || ':' ||"
                    " encode(old_with_new_der, 'hex') FROM ca_keys WHERE generation = %d"
                    % generation)
    nwo, own = row.split(":")
    return (x509.load_der_x509_certificate(bytes.fromhex(nwo)),
            x509.load_der_x509_certificate(bytes.fromhex(own)))


def all_ca_pem(d):
    hexes = d.pg.psql("SELECT encode(certificate_der, 'hex') FROM ca_keys ORDER BY generation")
    return b"".join(pem(x509.load_der_x509_certificate(bytes.fromhex(h))) for h in hexes.split())


def stubs(server):
    """(host stub, admin stub) over one TLS channel that trusts every CA key of the
    deployment: after a rollover the server's chain may not reach the first key."""
    ch = harness.mtls_channel(server, root_pem=all_ca_pem(server.deployment))
    return host_pb2_grpc.HostServiceStub(ch), admin_pb2_grpc.AdminServiceStub(ch)


def new_auth_token(server, admin_key, name):
    _, admin = stubs(server)
    return admin.CreateAuthorizationToken(
        admin_pb2.CreateAuthorizationTokenRequest(name=name, max_uses=1),
        metadata=harness.admin_metadata(admin_key), timeout=harness.RPC_TIMEOUT).token


def request_certificate(server, token, hostname, key=None):
    host, _ = stubs(server)
    return host.RequestCertificate(
        host_pb2.RequestCertificateRequest(csr=harness.make_csr(key or harness.new_key(), hostname),
                                           hostname=hostname, authorization_token=token),
        timeout=harness.RPC_TIMEOUT)


def enroll(server, admin_key, hostname):
    return request_certificate(server, new_auth_token(server, admin_key, "enrol " + hostname),
                               hostname)


def active_ca_der(server):
    host, _ = stubs(server)
    return host.GetCACertificate(host_pb2.GetCACertificateRequest(),
                                 timeout=harness.RPC_TIMEOUT).certificate_der


def crl_over_http(cert):
    """The CRL at the certificate's distribution point, fetched over HTTP."""
    res = harness.http_get_url(harness.distribution_point_of(cert))
    if res.status != 200:
        raise AssertionError("GET %s: %r" % (harness.distribution_point_of(cert), res))
    return x509.load_der_x509_crl(res.body)


class Files:
    """Numbered files in a deployment's folder, for the command-line verifiers."""

    def __init__(self, d):
        self.d = d
        self.n = 0

    def write(self, name, data):
        self.n += 1
        return harness.write_bytes(os.path.join(self.d.folder, "%d-%s" % (self.n, name)), data)


def openssl_verify(files, ca, leaf, untrusted=None, crl=None):
    args = ["openssl", "verify", "-CAfile", files.write("ca.pem", pem(ca))]
    if untrusted is not None:
        args += ["-untrusted", files.write("untrusted.pem", pem(untrusted))]
    if crl is not None:
        args += ["-crl_check", "-CRLfile", files.write("crl.pem", harness.crl_pem(crl))]
    return harness.run(args + [files.write("leaf.pem", pem(leaf))])


def certtool_verify(files, ca, leaf, crl):
    return harness.run(["certtool", "--verify", "--load-ca-certificate",
                        files.write("ca.pem", pem(ca)), "--load-crl",
                        files.write("crl.pem", harness.crl_pem(crl)), "--infile",
                        files.write("leaf.pem", pem(leaf))])


def assert_no_secret(tc, secret, d, servers=()):
    """The secret is in no CLI output, no server log and nowhere in the database."""
    tc.assertGreater(len(d.cli_results), 0)
    for r in d.cli_results:
        tc.assertNotIn(secret, r.stdout + r.stderr, r.args)
    for s in servers:
        log = s.log()
        tc.assertTrue(log, "%s wrote no log" % s.name)
        tc.assertNotIn(secret, log, s.name)
    dump = d.pg.dump()
    tc.assertIn("ca_keys", dump)
    tc.assertNotIn(secret, dump)
    tc.assertNotIn(secret.encode().hex(), dump)


# ---------------------------------------------------------------- issuance


class TokenKeyIssuanceTest(unittest.TestCase):
    """init with the key made in the token, serve, a real agent enrols; one CA per
    algorithm."""

    def check_algorithm(self, algorithm):
        key_label = "hostca-ca-" + algorithm
        started = time.monotonic()
        d, token, pin_file = token_deployment(algorithm, algorithm, key_label)
        self.addCleanup(d.close)
        files = Files(d)
        ca = d.ca_cert

        # init made the key in the token, and says so.
        self.assertIn('CA key:              %s, made in the PKCS#11 token "hostca" as "%s"'
                      % (algorithm, key_label), d.init_result.stdout)
        pub = ca.public_key()
        if algorithm == "rsa-3072":
            self.assertIsInstance(pub, rsa.RSAPublicKey)
            self.assertEqual(pub.key_size, 3072)
        else:
            self.assertIsInstance(pub, ec.EllipticCurvePublicKey)
            self.assertEqual(pub.curve.name,
                             {"ecdsa-p256": "secp256r1", "ecdsa-p384": "secp384r1"}[algorithm])
        harness.verify_signed_by(ca, ca)  # self-signed, by the token
        # The CA certificate's key is the token's, which is sensitive and never left it.
        self.assertEqual(token.public_key_spki(key_label), spki(ca))
        objects = token.objects()
        self.assertEqual(sorted(objects), [(key_label, "private"), (key_label, "public")])
        private = objects[(key_label, "private")]
        self.assertIn("CKA_SENSITIVE", private)
        self.assertIn("CKA_NEVER_EXTRACTABLE", private)
        # A CA key signs and does nothing else: no wrapping or unwrapping.
        self.assertNotIn("CKA_WRAP/UNWRAP", private)

        # The database names the module, the token and the key, and holds no key.
        self.assertEqual(
            d.pg.psql("SELECT generation, state, key_algorithm, pkcs11_module,"
                      " pkcs11_token_label, pkcs11_key_label, encrypted_private_key_pem IS NULL"
                      " FROM ca_keys"),
            "1|active|%s|%s|%s|%s|t" % (algorithm, WRAPPER_MODULE, TOKEN_LABEL, key_label))
        self.assertEqual(d.pg.psql("SELECT coalesce(encrypted_private_key_pem, '') FROM ca"), "")
        self.assertIsNone(re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", d.pg.dump()),
                          "a private key in the database")

        # serve with the PIN alone, and a real agent enrols.
        server = d.start_server(["--pkcs11-pin-file", pin_file], env=token.env(),
                                passphrase=False)
        agent_dir = os.path.join(d.folder, "agent-web")
        harness.enrolled_agent(d, server, agent_dir, "web.example")
        ident = harness.agent_identity(agent_dir)
        cert = ident["cert"]
        # The profile, and the signature under the CA key (Python's cryptography).
        harness.check_host_certificate(self, cert, ca, ident["host_id"], "web.example",
                                       server.http_port)
        self.assertEqual(cert.signature_hash_algorithm.name,
                         "sha384" if algorithm == "ecdsa-p384" else "sha256")

        # A second host, revoked by the admin: a CRL the token signs lists it.
        other, _ = harness.enroll_host(server, d.admin_key, "gone.example")
        gone = x509.load_der_x509_certificate(other.certificate_der)
        harness.revoke(server, d.admin_key, serial_hex=other.serial_hex,
                       reason=harness.REASON_KEY_COMPROMISE)
        crl = crl_over_http(cert)
        self.assertIn(gone.serial_number, harness.crl_entries(crl))
        self.assertNotIn(cert.serial_number, harness.crl_entries(crl))
        self.assertTrue(crl.is_signature_valid(ca.public_key()), "CRL signature (cryptography)")
        harness.check_crl_profile(self, crl, ca, url=harness.distribution_point_of(cert))
        self.assertEqual(crl.signature_hash_algorithm.name,
                         "sha384" if algorithm == "ecdsa-p384" else "sha256")

        # OpenSSL with the CRL: the agent's certificate is good, the revoked one is not.
        ok = openssl_verify(files, ca, cert, crl=crl)
        self.assertEqual(ok.returncode, 0, ok)
        self.assertIn(": OK", ok.stdout)
        revoked = openssl_verify(files, ca, gone, crl=crl)
        self.assertNotEqual(revoked.returncode, 0, revoked)
        self.assertIn("certificate revoked", revoked.stdout + revoked.stderr)
        # GnuTLS likewise.
        ok = certtool_verify(files, ca, cert, crl)
        self.assertEqual(ok.returncode, 0, ok)
        self.assertIn("Chain verification output: Verified", ok.stdout)
        revoked = certtool_verify(files, ca, gone, crl)
        self.assertNotEqual(revoked.returncode, 0, revoked)
        self.assertIn("revoked", revoked.stdout)

        # The PIN is nowhere: outputs, the server's log, a dump of the database.
        assert_no_secret(self, token.pin, d, [server])
        print("\n  %s: %.1f s" % (algorithm, time.monotonic() - started), file=sys.stderr)

    def test_an_ecdsa_p256_token_key_issues_what_openssl_gnutls_and_cryptography_accept(self):
        self.check_algorithm("ecdsa-p256")

    def test_an_ecdsa_p384_token_key_issues_what_openssl_gnutls_and_cryptography_accept(self):
        self.check_algorithm("ecdsa-p384")

    def test_an_rsa_3072_token_key_issues_what_openssl_gnutls_and_cryptography_accept(self):
        self.check_algorithm("rsa-3072")


# ---------------------------------------------------------------- start-up faults


class StartupFaultsTest(unittest.TestCase):
    """Each fault: exit code 1, one line 'hostca-server: ...' naming it, never the
    PIN; init writes nothing (no CA, no schema), serve writes nothing and never
    becomes ready."""

    KEY_LABEL = "hostca-ca"

    @classmethod
    def setUpClass(cls):
        cls.d, cls.token, cls.pin_file = token_deployment("faults", key_label=cls.KEY_LABEL)
        try:
            cls.wrong_pin = new_pin()
            cls.wrong_pin_file = cls.d.write_secret_file("wrong-pin", cls.wrong_pin)
            cls.databases = 0
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers

    def assert_one_line(self, r, *phrases):
        return harness.server_error_line(self, r, *phrases,
                                         secrets=(self.token.pin, self.wrong_pin))

    def empty_database(self):
        cls = type(self)
        cls.databases += 1
        name = "fault%d" % cls.databases
        self.d.pg.psql("CREATE DATABASE " + name)
        return self.d.pg.conninfo.replace("dbname=hostca", "dbname=" + name)

    def query(self, conninfo, sql):
        r = harness.run([harness.PSQL, conninfo, "-v", "ON_ERROR_STOP=1", "-tAc", sql])
        self.assertEqual(r.returncode, 0, r)
        return r.stdout.strip()

    def tables_in(self, conninfo):
        return int(self.query(conninfo, "SELECT count(*) FROM pg_tables"
                                        " WHERE schemaname = 'public'"))

    def init(self, conninfo, tls_dir, *signer, env=None):
        return self.d.server_cli("init", "--database", conninfo, "--tls-dir", tls_dir,
                                 "--crl-shards", "1", "--crl-base-url", self.d.crl_base_url,
                                 *signer, env=env or self.token.env())

    def assert_init_refused(self, signer, *phrases, env=None):
        conninfo = self.empty_database()
        tls_dir = os.path.join(self.d.folder, "tls-%d" % self.databases)
        r = self.init(conninfo, tls_dir, *signer, env=env)
        line = self.assert_one_line(r, *phrases)
        self.assertEqual(r.stdout, "")
        self.assertNotIn("hca_admin_", r.stdout + r.stderr)
        # No CA, nor anything else: the token is checked before the database is touched.
        self.assertEqual(self.tables_in(conninfo), 0, "init wrote to the database")
        self.assertTrue(not os.path.exists(tls_dir) or os.listdir(tls_dir) == [],
                        os.listdir(tls_dir) if os.path.exists(tls_dir) else None)
        return line, conninfo, tls_dir

    def serve(self, *extra, env=None):
        self.ready = os.path.join(self.d.folder, "never-ready.json")
        return self.d.server_cli("serve", "--database", self.d.server_conninfo,
                                 "--tls-dir", self.d.tls_dir, "--listen", "127.0.0.1:0",
                                 "--http-listen", "127.0.0.1:0", "--ready-file", self.ready,
                                 *extra, env=env if env is not None else self.token.env(),
                                 timeout=60)

    def assert_serve_refused(self, extra, *phrases, env=None):
        before = self.d.pg.state()
        r = self.serve(*extra, env=env)
        line = self.assert_one_line(r, *phrases)
        self.assertFalse(os.path.exists(self.ready), "a refused server wrote its ready file")
        self.assertEqual(self.d.pg.state(), before)
        return line

    # -- init

    def test_init_with_a_module_that_does_not_exist_names_it_and_writes_nothing(self):
        missing = os.path.join(self.d.folder, "no-such-pkcs11-module.so")
        self.assert_init_refused(signer_args("k", self.pin_file, module=missing),
                                 "cannot load the PKCS#11 module " + missing)

    def test_init_with_a_wrong_pin_says_so_and_writes_nothing(self):
        _, conninfo, tls_dir = self.assert_init_refused(
            signer_args("second-ca", self.wrong_pin_file), 'token "hostca" refused the PIN',
            "PIN file")
        # Nothing of it stayed: the same init with the right PIN makes the key and the CA.
        r = self.init(conninfo, tls_dir, *signer_args("second-ca", self.pin_file))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn('made in the PKCS#11 token "hostca" as "second-ca"', r.stdout)
        self.assertEqual(self.query(conninfo, "SELECT count(*) FROM ca_keys"), "1")

    def test_init_with_a_relative_module_path_is_refused_and_writes_nothing(self):
        # The path is recorded for every server: one relative to init's folder would
        # name another file (or none) where they run.
        self.assert_init_refused(signer_args("k", self.pin_file, module="./libsofthsm2.so"),
                                 "absolute path", "'./libsofthsm2.so'")

    def test_init_with_a_token_label_no_token_has_names_it_and_writes_nothing(self):
        self.assert_init_refused(signer_args("k", self.pin_file, token_label="no-such-token"),
                                 'no token labelled "no-such-token"')

    # -- serve

    def test_serve_with_a_wrong_pin_says_so(self):
        with self.subTest(given="--pkcs11-pin-file"):
            self.assert_serve_refused(["--pkcs11-pin-file", self.wrong_pin_file],
                                      'token "hostca" refused the PIN')
        with self.subTest(given="HOSTCA_PKCS11_PIN"):
            self.assert_serve_refused([], 'token "hostca" refused the PIN',
                                      env=dict(self.token.env(), HOSTCA_PKCS11_PIN=self.wrong_pin))

    def test_serve_without_a_pin_says_how_to_give_one(self):
        for extra in ([], ["--passphrase-file", self.d.passphrase_file]):
            with self.subTest(extra=extra):
                self.assert_serve_refused(extra, 'token "hostca"', "--pkcs11-pin-file",
                                          "HOSTCA_PKCS11_PIN")

    def test_serve_when_the_token_is_missing_names_the_token(self):
        empty = SoftHsm(self.d, "softhsm-empty", label=None)
        self.assert_serve_refused(["--pkcs11-pin-file", self.pin_file],
                                  'no token labelled "hostca"', env=empty.env())

    def test_serve_when_the_key_is_missing_names_the_key(self):
        # Another token of the same label and PIN, without the CA's key.
        other = SoftHsm(self.d, "softhsm-other", pin=self.token.pin)
        self.assert_serve_refused(["--pkcs11-pin-file", self.pin_file],
                                  'no private key labelled "%s"' % self.KEY_LABEL,
                                  'token "hostca"', env=other.env())

    def test_serve_with_the_right_token_and_pin_starts(self):
        # The control: the same command line serves once the fault is gone.
        server = self.d.start_server(["--pkcs11-pin-file", self.pin_file], env=self.token.env(),
                                     passphrase=False)
        res, _ = harness.enroll_host(server, self.d.admin_key, "control.example")
        harness.verify_signed_by(x509.load_der_x509_certificate(res.certificate_der),
                                 self.d.ca_cert)
        server.stop()


# ---------------------------------------------------------------- the token goes away


class TokenGoesAwayTest(unittest.TestCase):
    """A server on the wrapper module; the flag file makes the token answer
    CKR_DEVICE_REMOVED. The steps run in order: the tests are numbered."""

    @classmethod
    def setUpClass(cls):
        cls.d, cls.token, cls.pin_file = token_deployment("outage")
        try:
            cls.flag = os.path.join(cls.d.folder, "token-gone")
            cls.server = cls.d.start_server(["--pkcs11-pin-file", cls.pin_file],
                                            env=cls.token.env(fail_flag=cls.flag),
                                            passphrase=False)
            harness.wait_for_crls(cls.server, 1)
            cls.pid = cls.server.process.pid
            cls.to_reissue = enroll(cls.server, cls.d.admin_key, "reissued.example")
            cls.to_revoke = enroll(cls.server, cls.d.admin_key, "revoked.example")
            cls.enrol_token = new_auth_token(cls.server, cls.d.admin_key, "during the outage")
            cls.reissue_token = harness.create_reissue_token(
                cls.server, cls.d.admin_key, cls.to_reissue.host_id).token
            cls.files = Files(cls.d)
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if os.path.exists(cls.flag):
            os.unlink(cls.flag)
        cls.d.close()

    def setUp(self):
        self.assertIsNone(self.server.process.poll(), "the server is gone:\n" + self.server.log())

    def assert_unavailable_naming_the_token(self, err):
        self.assertEqual(err.code(), grpc.StatusCode.UNAVAILABLE, err)
        self.assertIn('PKCS#11 token "hostca"', err.details())
        self.assertNotIn(self.token.pin, err.details())

    def assert_alive_and_answering(self):
        self.assertIsNone(self.server.process.poll(), self.server.log())
        self.assertEqual(self.server.process.pid, self.pid)
        # Calls that do not sign still work.
        self.assertEqual(active_ca_der(self.server),
                         self.d.ca_cert.public_bytes(serialization.Encoding.DER))

    def test_1_an_enrolment_is_unavailable_names_the_token_and_changes_nothing(self):
        with open(self.flag, "w"):
            pass
        before, counts = self.d.pg.state(), self.d.pg.counts()
        host, _ = stubs(self.server)
        err = harness.rpc_error(host.RequestCertificate, host_pb2.RequestCertificateRequest(
            csr=harness.make_csr(harness.new_key(), "new.example"), hostname="new.example",
            authorization_token=self.enrol_token))
        self.assert_unavailable_naming_the_token(err)
        print("\n  enrolment: %s" % err.details(), file=sys.stderr)
        self.assertEqual(self.d.pg.counts(), counts)
        self.assertEqual(self.d.pg.state(), before)
        self.assert_alive_and_answering()

    def test_2_a_reissue_is_refused_and_the_old_certificate_stays_unrevoked(self):
        self.assertTrue(os.path.exists(self.flag))
        before = self.d.pg.state()
        rev_before = harness.revocation_state(self.d, self.server)
        err = harness.rpc_error(lambda **kw: harness.reissue(
            self.server, self.to_reissue.host_id, token=self.reissue_token,
            hostname="reissued.example"))
        self.assert_unavailable_naming_the_token(err)
        print("\n  reissue: %s" % err.details(), file=sys.stderr)
        certs = harness.host_certificates(self.d, self.to_reissue.host_id)
        self.assertEqual(len(certs), 1, certs)
        self.assertTrue(harness.same_serial(certs[0][0], self.to_reissue.serial_hex))
        self.assertEqual(certs[0][2], "", "the old certificate was revoked")
        self.assertEqual(harness.revocation_state(self.d, self.server), rev_before)
        self.assertEqual(self.d.pg.state(), before)
        self.assert_alive_and_answering()

    def test_3_an_admin_revocation_is_refused_and_revokes_nothing(self):
        self.assertTrue(os.path.exists(self.flag))
        before = self.d.pg.state()
        rev_before = harness.revocation_state(self.d, self.server)
        cert = x509.load_der_x509_certificate(self.to_revoke.certificate_der)
        crl_before = crl_over_http(cert)
        err = harness.rpc_error(lambda **kw: harness.revoke(
            self.server, self.d.admin_key, serial_hex=self.to_revoke.serial_hex))
        self.assert_unavailable_naming_the_token(err)
        print("\n  revocation: %s" % err.details(), file=sys.stderr)
        certs = harness.host_certificates(self.d, self.to_revoke.host_id)
        self.assertEqual([c[2] for c in certs], [""], certs)
        self.assertEqual(harness.revocation_state(self.d, self.server), rev_before)
        self.assertEqual(self.d.pg.state(), before)
        # The CRL served is the one from before, which does not list it.
        crl = crl_over_http(cert)
        self.assertEqual(harness.crl_number_of(crl), harness.crl_number_of(crl_before))
        self.assertNotIn(cert.serial_number, harness.crl_entries(crl))
        self.assert_alive_and_answering()

    def test_4_once_the_token_is_back_the_same_calls_succeed(self):
        os.unlink(self.flag)
        ca = self.d.ca_cert
        counts = self.d.pg.counts()
        # The enrolment, with the same token, which the failed call did not use up.
        outcome = {}
        started = time.monotonic()

        def enrolled():
            try:
                outcome["res"] = request_certificate(self.server, self.enrol_token, "new.example")
                return True
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                outcome["last"] = e.details()
                return False
        harness.wait_until(enrolled, FOLLOW_SECONDS, "an enrolment once the token is back",
                           interval=0.2)
        print("\n  signing again after %.2f s" % (time.monotonic() - started), file=sys.stderr)
        new = x509.load_der_x509_certificate(outcome["res"].certificate_der)
        harness.verify_signed_by(new, ca)
        self.assertEqual(self.d.pg.counts()["token_uses"], counts["token_uses"] + 1)
        # The reissue, with the same reissue token: the old certificate is revoked now.
        res, _ = harness.reissue(self.server, self.to_reissue.host_id, token=self.reissue_token,
                                 hostname="reissued.example")
        reissued = x509.load_der_x509_certificate(res.certificate_der)
        old = x509.load_der_x509_certificate(self.to_reissue.certificate_der)
        certs = harness.host_certificates(self.d, self.to_reissue.host_id)
        self.assertEqual([c[2] != "" for c in certs], [True, False], certs)
        # The revocation.
        harness.revoke(self.server, self.d.admin_key, serial_hex=self.to_revoke.serial_hex)
        revoked = x509.load_der_x509_certificate(self.to_revoke.certificate_der)
        crl = crl_over_http(new)
        self.assertTrue(crl.is_signature_valid(ca.public_key()))
        entries = harness.crl_entries(crl)
        self.assertIn(old.serial_number, entries)
        self.assertIn(revoked.serial_number, entries)
        # OpenSSL with that CRL.
        for cert in (new, reissued):
            r = openssl_verify(self.files, ca, cert, crl=crl)
            self.assertEqual(r.returncode, 0, r)
            self.assertIn(": OK", r.stdout)
        for cert in (old, revoked):
            r = openssl_verify(self.files, ca, cert, crl=crl)
            self.assertNotEqual(r.returncode, 0, r)
            self.assertIn("certificate revoked", r.stdout + r.stderr)
        self.assert_alive_and_answering()

    def test_5_the_server_logged_the_refusals_and_never_the_pin(self):
        log = self.server.log()
        for rpc in ("RequestCertificate", "ReissueCertificate", "RevokeCertificate"):
            self.assertRegex(log, r"rpc=%s .*status=UNAVAILABLE" % rpc)
        assert_no_secret(self, self.token.pin, self.d, [self.server])


# ---------------------------------------------------------------- rollover


class RolloverThroughTheTokenTest(unittest.TestCase):
    """A software CA rolls over to a key in the token and back, with the real
    `hostca-server ca rollover` commands; one server, given both the passphrase
    and the PIN, follows every step. The steps run in order: the tests are
    numbered."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=1)
        try:
            cls.token = SoftHsm(cls.d, "softhsm-rollover", pin=new_pin())
            cls.pin_file = cls.d.write_secret_file("pin", cls.token.pin)
            cls.server = cls.d.start_server(["--pkcs11-pin-file", cls.pin_file],
                                            env=cls.token.env())
            cls.key1 = cls.d.ca_cert
            cls.before = enroll(cls.server, cls.d.admin_key, "before.example")
            cls.files = Files(cls.d)
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def rollover(self, step, *args):
        return self.d.server_cli("ca", "rollover", step, "--database", self.d.pg.conninfo,
                                 *args, env=self.token.env())

    def assert_refused_and_nothing_changed(self, step, args, *phrases):
        before = self.d.pg.state()
        objects = self.token.objects()
        r = self.rollover(step, *args)
        harness.server_error_line(self, r, *phrases, secrets=(self.token.pin,))
        self.assertEqual(self.d.pg.state(), before)
        self.assertEqual(self.token.objects().keys(), objects.keys())

    def wait_until_issuing_with(self, cert):
        der = cert.public_bytes(serialization.Encoding.DER)
        started = time.monotonic()
        harness.wait_until(lambda: active_ca_der(self.server) == der, FOLLOW_SECONDS,
                           "the server to issue with the new key", interval=0.05)
        print("\n  the server followed after %.2f s" % (time.monotonic() - started),
              file=sys.stderr)

    def assert_openssl_ok(self, ca, leaf, untrusted=None, crl=None):
        r = openssl_verify(self.files, ca, leaf, untrusted=untrusted, crl=crl)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(": OK", r.stdout)

    def both_secrets(self):
        return ["--passphrase-file", self.d.passphrase_file, "--pkcs11-pin-file", self.pin_file]

    def test_1_start_to_a_token_key_needs_both_secrets_then_announces_it(self):
        to_token = signer_args("hostca-ca-2")
        self.assert_refused_and_nothing_changed(
            "start", to_token + ["--pkcs11-pin-file", self.pin_file],
            "CA key 1 is encrypted with the CA passphrase")
        self.assert_refused_and_nothing_changed(
            "start", to_token + ["--passphrase-file", self.d.passphrase_file],
            "--pkcs11-pin-file", "HOSTCA_PKCS11_PIN")
        self.assertNotIn(("hostca-ca-2", "private"), self.token.objects())
        r = self.rollover("start", *to_token, *self.both_secrets())
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("Announced next CA key 2", r.stdout)
        self.assertIn("The key is in the PKCS#11 token", r.stdout)
        self.assertEqual(
            self.d.pg.psql("SELECT state, key_algorithm, pkcs11_module, pkcs11_token_label,"
                           " pkcs11_key_label, encrypted_private_key_pem IS NULL FROM ca_keys"
                           " WHERE generation = 2"),
            "next|ecdsa-p256|%s|%s|hostca-ca-2|t" % (WRAPPER_MODULE, TOKEN_LABEL))
        key2 = ca_key_certificate(self.d, 2)
        self.assertEqual(self.token.public_key_spki("hostca-ca-2"), spki(key2))
        harness.verify_signed_by(key2, key2)
        # The links: newWithOld by the software key, oldWithNew by the token's.
        nwo, own = links_of(self.d, 2)
        self.assertEqual(spki(nwo), spki(key2))
        self.assertEqual(spki(own), spki(self.key1))
        harness.verify_signed_by(nwo, self.key1)
        harness.verify_signed_by(own, key2)
        self.assert_openssl_ok(self.key1, nwo)
        self.assert_openssl_ok(key2, own)
        # The server announces it (it opened the token key).
        host, _ = stubs(self.server)
        harness.wait_until(lambda: len(host.GetCACertificate(
            host_pb2.GetCACertificateRequest(), timeout=harness.RPC_TIMEOUT).ca_keys) == 2,
            FOLLOW_SECONDS, "the server to announce CA key 2")
        self.assertNotIn("cannot follow", self.server.log())

    def test_2_after_activate_the_server_issues_with_the_token_key(self):
        r = self.rollover("activate")
        self.assertEqual(r.returncode, 0, r)
        key2 = ca_key_certificate(self.d, 2)
        nwo, _ = links_of(self.d, 2)
        self.wait_until_issuing_with(key2)
        # Admins see where each key is (hostca-admin ca status).
        r = self.d.admin_cli(self.server, "--json", "ca", "status")
        self.assertEqual(r.returncode, 0, r)
        held = {k["generation"]: k["held_in"] for k in json.loads(r.stdout)["keys"]}
        self.assertEqual(held, {1: "database", 2: "pkcs11:%s/hostca-ca-2" % TOKEN_LABEL})
        res = enroll(self.server, self.d.admin_key, "after.example")
        cert = x509.load_der_x509_certificate(res.certificate_der)
        harness.verify_signed_by(cert, key2)
        self.assertIn("/crl/g2/", harness.distribution_point_of(cert))
        crl = crl_over_http(cert)
        self.assertTrue(crl.is_signature_valid(key2.public_key()))
        # A relying party trusting the new key, or only the old one with the link.
        self.assert_openssl_ok(key2, cert, crl=crl)
        self.assert_openssl_ok(self.key1, cert, untrusted=nwo)
        # A server started now opens the token key from the database and issues with it.
        fresh = self.d.start_server(["--pkcs11-pin-file", self.pin_file], env=self.token.env())
        try:
            res = enroll(fresh, self.d.admin_key, "fresh.example")
            self.assert_openssl_ok(key2, x509.load_der_x509_certificate(res.certificate_der))
        finally:
            fresh.stop()

    def test_3_finish_revoke_remaining_needs_both_secrets_then_revokes(self):
        self.assert_refused_and_nothing_changed(
            "finish", ["--revoke-remaining", "--passphrase-file", self.d.passphrase_file],
            'CA key 2 is in the PKCS#11 token "hostca"', "--pkcs11-pin-file")
        self.assert_refused_and_nothing_changed(
            "finish", ["--revoke-remaining", "--pkcs11-pin-file", self.pin_file],
            "CA key 1 is encrypted with the CA passphrase")
        r = self.rollover("finish", "--revoke-remaining", *self.both_secrets())
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("Retired CA key 1", r.stdout)
        self.assertIn("revoked certificates: 1", r.stdout)  # before.example's
        self.assertEqual(self.d.pg.psql("SELECT state FROM ca_keys ORDER BY generation"),
                         "retired\nactive")
        # Key 1's CRL, signed by the software key, lists the certificate.
        before = x509.load_der_x509_certificate(self.before.certificate_der)
        self.assertEqual(harness.distribution_point_of(before), self.d.crl_base_url + "/0.crl")

        def listed():
            return before.serial_number in harness.crl_entries(crl_over_http(before))
        harness.wait_until(listed, FOLLOW_SECONDS, "key 1's CRL to list before.example")
        crl = crl_over_http(before)
        self.assertTrue(crl.is_signature_valid(self.key1.public_key()))
        r = openssl_verify(self.files, self.key1, before, crl=crl)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("certificate revoked", r.stdout + r.stderr)

    def test_4_back_to_a_software_key_the_server_issues_with_it(self):
        self.assert_refused_and_nothing_changed(
            "start", ["--passphrase-file", self.d.passphrase_file],
            'CA key 2 is in the PKCS#11 token "hostca"', "--pkcs11-pin-file")
        r = self.rollover("start", *self.both_secrets())
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("Announced next CA key 3", r.stdout)
        self.assertIn("The key is encrypted in the database", r.stdout)
        self.assertEqual(
            self.d.pg.psql("SELECT state, key_algorithm, coalesce(pkcs11_module, ''),"
                           " coalesce(pkcs11_key_label, ''), encrypted_private_key_pem LIKE"
                           " '-----BEGIN ENCRYPTED PRIVATE KEY-----%' FROM ca_keys"
                           " WHERE generation = 3"),
            "next|ecdsa-p256|||t")
        key2, key3 = ca_key_certificate(self.d, 2), ca_key_certificate(self.d, 3)
        nwo, own = links_of(self.d, 3)
        harness.verify_signed_by(nwo, key2)  # by the token
        harness.verify_signed_by(own, key3)
        self.assert_openssl_ok(key2, nwo)
        r = self.rollover("activate")
        self.assertEqual(r.returncode, 0, r)
        self.wait_until_issuing_with(key3)
        res = enroll(self.server, self.d.admin_key, "back.example")
        cert = x509.load_der_x509_certificate(res.certificate_der)
        harness.verify_signed_by(cert, key3)
        self.assertIn("/crl/g3/", harness.distribution_point_of(cert))
        crl = crl_over_http(cert)
        self.assertTrue(crl.is_signature_valid(key3.public_key()))
        self.assert_openssl_ok(key3, cert, crl=crl)
        self.assert_openssl_ok(key2, cert, untrusted=nwo)

    def test_5_the_pin_is_nowhere(self):
        assert_no_secret(self, self.token.pin, self.d, [self.server])
        self.assertNotIn("cannot follow", self.server.log())


class ServerWithoutThePinTest(unittest.TestCase):
    """A server given only the passphrase, while the CA rolls over to a key in
    a token: it keeps issuing with the key it holds until activate, and then,
    unable to open the key that issues, says so on /readyz and in the
    refusal, while a server given the PIN issues with the new key."""

    def test_it_is_not_ready_once_a_token_key_it_cannot_open_issues(self):
        d = harness.Deployment(crl_shards=1)
        self.addCleanup(d.close)
        token = SoftHsm(d, "softhsm-no-pin", pin=new_pin())
        pin_file = d.write_secret_file("pin", token.pin)
        with_pin = d.start_server(["--pkcs11-pin-file", pin_file], env=token.env())
        without = d.start_server(env=token.env())

        def rollover(step, *args):
            r = d.server_cli("ca", "rollover", step, "--database", d.pg.conninfo, *args,
                             env=token.env())
            self.assertEqual(r.returncode, 0, r)

        def readyz(server):
            return harness.http_get_url(server.http_url("/readyz"))

        rollover("start", *signer_args("hostca-ca-2", pin_file), "--passphrase-file",
                 d.passphrase_file)
        key2 = ca_key_certificate(d, 2)
        # Until activate, key 1 issues and both servers hold it.
        time.sleep(1.5)
        self.assertEqual(readyz(without).status, 200)
        enroll(without, d.admin_key, "still-key-one.example")

        rollover("activate")
        der2 = key2.public_bytes(serialization.Encoding.DER)
        harness.wait_until(lambda: active_ca_der(with_pin) == der2, FOLLOW_SECONDS,
                           "the server with the PIN to issue with key 2", interval=0.05)
        harness.wait_until(lambda: readyz(without).status == 503, FOLLOW_SECONDS,
                           "the server without the PIN to say it is not ready", interval=0.1)
        body = readyz(without).body.decode()
        self.assertIn("cannot open the CA key that now issues", body)
        self.assertIn("--pkcs11-pin-file", body)
        self.assertEqual(readyz(with_pin).status, 200)

        token_value = new_auth_token(with_pin, d.admin_key, "refused")
        with self.assertRaises(grpc.RpcError) as refused:
            request_certificate(without, token_value, "refused.example")
        self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn("/readyz", refused.exception.details())
        # The refused call used nothing up: the same token enrols through the
        # server that can sign, with key 2.
        res = request_certificate(with_pin, token_value, "refused.example")
        harness.verify_signed_by(x509.load_der_x509_certificate(res.certificate_der), key2)
        self.assertNotIn(token.pin, without.log())


if __name__ == "__main__":
    unittest.main()
