"""Shared helpers for the hostca end-to-end tests (ring 3).

A Deployment is one throwaway CA: a private PostgreSQL 15 cluster (unix socket
only, under a temporary folder), `hostca-server init`, and any number of
`hostca-server serve` processes on loopback. Everything it starts it stops, and
every wait is bounded. Set HOSTCA_E2E_KEEP=1 to keep the folder for a post-mortem.
"""

import base64
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.environ.get(
    "HOSTCA_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _default_build_dir():
    for name in ("build-e2e", "build"):
        candidate = os.path.join(SOURCE_DIR, name)
        if os.path.exists(os.path.join(candidate, "ca", "hostca-server")):
            return candidate
    return os.path.join(SOURCE_DIR, "build")


BUILD_DIR = os.environ.get("HOSTCA_BUILD_DIR", _default_build_dir())
PYGEN = os.environ.get("HOSTCA_PYGEN", os.path.join(BUILD_DIR, "tests", "python"))
if PYGEN not in sys.path:
    sys.path.insert(0, PYGEN)

import grpc  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from hostca.v1 import admin_pb2, admin_pb2_grpc, host_pb2, host_pb2_grpc  # noqa: E402,F401
from hostca.v1 import revocation_pb2, revocation_pb2_grpc  # noqa: E402,F401

SERVER_BIN = os.path.join(BUILD_DIR, "ca", "hostca-server")
ADMIN_BIN = os.path.join(BUILD_DIR, "ca", "hostca-admin")
AGENT_BIN = os.path.join(BUILD_DIR, "ca", "hostca-agent")
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
PSQL = os.path.join(PGBIN, "psql")
PG_DUMP = os.path.join(PGBIN, "pg_dump")
POSTGRES_SH = os.path.join(SOURCE_DIR, "deploy", "postgres.sh")

ADMIN_KEY_RE = re.compile(r"hca_admin_[A-Za-z0-9_-]{43}")
AUTH_TOKEN_RE = re.compile(r"hca_auth_[A-Za-z0-9_-]{43}")
REISSUE_TOKEN_RE = re.compile(r"hca_reissue_[A-Za-z0-9_-]{43}")

CLI_TIMEOUT = 60
RPC_TIMEOUT = 30


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError("gave up after %ss waiting for %s" % (timeout, what))


class Result:
    """What a finished command did."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def stderr_lines(self):
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __repr__(self):
        return "Result(%r, rc=%r, stdout=%r, stderr=%r)" % (
            self.args, self.returncode, self.stdout, self.stderr)


def run(args, timeout=CLI_TIMEOUT, env=None, input_text=None, cwd=None, stdin=None):
    """Runs a command with a bounded wait and captures its output. `stdin` (say
    subprocess.DEVNULL) replaces the inherited standard input when no input_text is given."""
    full_env = dict(os.environ)
    full_env.pop("HOSTCA_ADMIN_KEY", None)
    full_env.pop("HOSTCA_TOKEN", None)
    full_env.pop("HOSTCA_PASSPHRASE", None)
    full_env.pop("HOSTCA_PKCS11_PIN", None)
    if env:
        full_env.update(env)
    extra = {} if input_text is not None or stdin is None else {"stdin": stdin}
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                       env=full_env, input=input_text, cwd=cwd, **extra)
    return Result([str(a) for a in args], p.returncode, p.stdout, p.stderr)


# ---------------------------------------------------------------- PostgreSQL


class Postgres:
    """A private PostgreSQL 15 cluster started by deploy/postgres.sh."""

    def __init__(self, folder):
        self.folder = folder
        self.port = free_port()
        self.conninfo = None

    def start(self):
        r = run(["bash", POSTGRES_SH, "start", self.folder, self.port, "--fast"], timeout=120)
        if r.returncode != 0:
            raise RuntimeError("PostgreSQL did not start: %s%s" % (r.stdout, r.stderr))
        self.conninfo = r.stdout.strip().splitlines()[-1]
        return self

    def stop(self):
        if self.conninfo is not None:
            run(["bash", POSTGRES_SH, "stop", self.folder], timeout=120)
            self.conninfo = None

    def psql(self, sql):
        r = run([PSQL, self.conninfo, "-v", "ON_ERROR_STOP=1", "-tAc", sql], timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql failed on %r: %s" % (sql, r.stderr))
        return r.stdout.strip()

    def scalar(self, sql):
        return int(self.psql(sql))

    def counts(self):
        """The rows a refused request must leave alone. Audit rows written in
        aggregate for refusals of callers without a credential (actor 'peer:...')
        are left out: they come a window after the refusals they count, whichever
        call is running then; tests of those check them on their own."""
        row = self.psql(
            "SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM certificates),"
            " (SELECT count(*) FROM tokens), (SELECT coalesce(sum(uses), 0) FROM tokens),"
            " (SELECT count(*) FROM audit_log WHERE actor NOT LIKE 'peer:%'),"
            " (SELECT count(*) FROM admin_keys),"
            " (SELECT count(*) FROM tokens WHERE deleted_at IS NOT NULL)")
        keys = ("hosts", "certificates", "tokens", "token_uses", "audit_log", "admin_keys",
                "deleted_tokens")
        return dict(zip(keys, (int(v) for v in row.split("|"))))

    def state(self):
        """A digest of every row of every table: equal before and after a refused
        call, or something was half-written."""
        tables = self.psql("SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables"
                           " WHERE schemaname = 'public'").split()
        return self.psql("SELECT md5(" + " || ".join(
            "(SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM %s x)" % t
            for t in tables) + ")")

    def audit_actions_after(self, sequence):
        out = self.psql("SELECT action || '|' || outcome FROM audit_log WHERE sequence > %d"
                        " ORDER BY sequence" % sequence)
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def max_audit_sequence(self):
        return self.scalar("SELECT coalesce(max(sequence), 0) FROM audit_log")

    def dump(self):
        r = run([PG_DUMP, "--no-owner", self.conninfo], timeout=120)
        if r.returncode != 0:
            raise RuntimeError("pg_dump failed: %s" % r.stderr)
        return r.stdout


# ---------------------------------------------------------------- servers

# The CA's CRL base URL names the HTTP port of one server of its deployment;
# every server of it puts that URL in its certificates. {http port of any
# server: the port in its CA's CRL URL}, for the profile checks.
_CRL_PORT_OF_HTTP_PORT = {}

# The role `init` and `migrate` create, which owns nothing: the server runs as it.
SERVER_ROLE = "hostca_server"


def server_conninfo(owner_conninfo):
    """The connection string a server uses: the owner's, as the server role."""
    return owner_conninfo + " user=" + SERVER_ROLE


class Server:
    """One `hostca-server serve` process on loopback, its stderr in a log file."""

    def __init__(self, deployment, name, extra_args=(), env=None, passphrase=True):
        self.deployment = deployment
        self.name = name
        self.ready_file = os.path.join(deployment.folder, name + ".ready.json")
        self.log_path = os.path.join(deployment.folder, name + ".log")
        # The first server of a deployment listens where the CA's CRL URL points.
        http_listen = "127.0.0.1:0"
        crl_port = getattr(deployment, "crl_port", None)
        if crl_port and not any(s.http_port == crl_port and s.process.poll() is None
                                for s in getattr(deployment, "servers", [])):
            http_listen = "127.0.0.1:%d" % crl_port
        listen = ["--listen", "127.0.0.1:0"]
        if "--http-listen" not in extra_args:
            listen += ["--http-listen", http_listen]
        # passphrase=False: a CA whose keys are all in a PKCS#11 token needs none.
        secret = ["--passphrase-file", deployment.passphrase_file] if passphrase else []
        args = [SERVER_BIN, "serve", "--database", server_conninfo(deployment.pg.conninfo)] + (
                secret + ["--tls-dir", deployment.tls_dir] + listen + [
                "--ready-file", self.ready_file] + list(extra_args))
        inherited = dict(os.environ)
        inherited.pop("HOSTCA_PKCS11_PIN", None)  # only a PIN the test gives
        env = dict(inherited, **(env or {}))
        env.pop("HOSTCA_PASSPHRASE", None)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_until(lambda: os.path.exists(self.ready_file) or self.process.poll() is not None,
                       60, "%s to write its ready file" % name)
            if self.process.poll() is not None:
                raise RuntimeError("%s exited with %s before it was ready:\n%s" % (
                    name, self.process.returncode, self.log()))
            with open(self.ready_file) as f:
                ready = json.load(f)
        except BaseException:
            self.stop()
            raise
        self.grpc_port = ready["grpc_port"]
        self.http_port = ready["http_port"]
        if crl_port:
            _CRL_PORT_OF_HTTP_PORT[self.http_port] = crl_port
        self.ready = ready
        self.address = "127.0.0.1:%d" % self.grpc_port
        self._channels = []

    def log(self):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def channel(self):
        ch = grpc.secure_channel(self.address,
                                 grpc.ssl_channel_credentials(self.deployment.ca_pem_bytes))
        self._channels.append(ch)
        return ch

    def host_stub(self):
        return host_pb2_grpc.HostServiceStub(self.channel())

    def admin_stub(self):
        return admin_pb2_grpc.AdminServiceStub(self.channel())

    def revocation_stub(self):
        return revocation_pb2_grpc.RevocationServiceStub(self.channel())

    def http_url(self, path):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def stop(self, grace=15):
        """SIGTERM, then SIGKILL after `grace` seconds; returns the exit code."""
        for ch in getattr(self, "_channels", []):
            ch.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if not self._log.closed:
            self._log.close()
        return self.process.returncode


# ---------------------------------------------------------------- a deployment


class Deployment:
    """A database, an initialised CA and its servers, all throwaway."""

    def __init__(self, crl_shards=4, init=True, crl_base_url=None):
        self.folder = tempfile.mkdtemp(prefix="hostca-e2e-")
        # The postgres user must be able to walk into the folder it gets.
        os.chmod(self.folder, 0o711)
        self.servers = []
        self.cli_results = []  # every CLI run, for the secrets test
        self.pg = Postgres(os.path.join(self.folder, "pg"))
        self.passphrase = "e2e-passphrase-" + base64.b32encode(os.urandom(10)).decode().lower()
        self.passphrase_file = os.path.join(self.folder, "passphrase")
        with open(self.passphrase_file, "w") as f:
            f.write(self.passphrase + "\n")
        os.chmod(self.passphrase_file, 0o600)
        self.tls_dir = os.path.join(self.folder, "tls")
        # The HTTP port the CA's CRL URL names; its first server listens there.
        # With a given URL (one no test fetches) no port is reserved.
        self._crl_base_url = crl_base_url
        self.crl_port = None if crl_base_url else free_port()
        self.admin_key = None
        self.init_result = None
        try:
            self.pg.start()
            if init:
                self.init(crl_shards=crl_shards)
        except BaseException:
            self.close()
            raise

    # -- bootstrap

    def init(self, crl_shards=4, tls_dir=None, check=True, extra_args=(), env=None,
             passphrase=True):
        """`hostca-server init`; extra_args and env go to it as they are (say
        --signer pkcs11 ... with a SOFTHSM2_CONF), passphrase=False leaves out
        --passphrase-file (a key in a PKCS#11 token is opened by its PIN)."""
        secret = ["--passphrase-file", self.passphrase_file] if passphrase else []
        r = self.server_cli("init", "--database", self.pg.conninfo, *secret,
                            "--tls-dir", tls_dir or self.tls_dir,
                            "--crl-shards", crl_shards,
                            "--crl-base-url", self.crl_base_url, *extra_args, env=env)
        if check:
            if r.returncode != 0:
                raise RuntimeError("hostca-server init failed: %r" % r)
            self.init_result = r
            keys = ADMIN_KEY_RE.findall(r.stdout)
            if len(keys) != 1:
                raise RuntimeError("init printed %d admin keys: %r" % (len(keys), r.stdout))
            self.admin_key = keys[0]
            self.admin_key_file = self.write_secret_file("admin.key", self.admin_key)
        return r

    @property
    def crl_base_url(self):
        return self._crl_base_url or "http://127.0.0.1:%d/crl" % self.crl_port

    @property
    def server_conninfo(self):
        return server_conninfo(self.pg.conninfo)

    @property
    def ca_pem_path(self):
        return os.path.join(self.tls_dir, "ca.pem")

    @property
    def ca_pem_bytes(self):
        with open(self.ca_pem_path, "rb") as f:
            return f.read()

    @property
    def ca_cert(self):
        return x509.load_pem_x509_certificate(self.ca_pem_bytes)

    def write_secret_file(self, name, value):
        path = os.path.join(self.folder, name)
        with open(path, "w") as f:
            f.write(value + "\n")
        os.chmod(path, 0o600)
        return path

    def new_folder(self, name):
        path = os.path.join(self.folder, name)
        os.makedirs(path)
        return path

    # -- processes

    def start_server(self, extra_args=(), env=None, passphrase=True):
        server = Server(self, "server%d" % len(self.servers), extra_args, env, passphrase)
        self.servers.append(server)
        return server

    def _record(self, r):
        self.cli_results.append(r)
        return r

    def server_cli(self, *args, **kw):
        return self._record(run([SERVER_BIN] + list(args), **kw))

    def admin_cli(self, server, *args, key_file=None, **kw):
        return self._record(run([ADMIN_BIN, "--server", server.address, "--ca-file",
                                 self.ca_pem_path, "--admin-key-file",
                                 key_file or self.admin_key_file] + list(args), **kw))

    def agent_cli(self, agent_dir, *args, **kw):
        return self._record(run([AGENT_BIN, "--dir", agent_dir] + list(args), **kw))

    def server_logs(self):
        return "".join(s.log() for s in self.servers)

    def close(self):
        for s in self.servers:
            try:
                s.stop()
            except Exception as e:  # keep cleaning up
                print("harness: stopping %s: %s" % (s.name, e), file=sys.stderr)
        try:
            self.pg.stop()
        finally:
            if os.environ.get("HOSTCA_E2E_KEEP"):
                print("harness: kept %s" % self.folder, file=sys.stderr)
            else:
                shutil.rmtree(self.folder, ignore_errors=True)


# ---------------------------------------------------------------- gRPC helpers


def admin_metadata(key):
    return (("authorization", "Bearer " + key),)


def rpc_error(call, *args, **kw):
    """Runs a call that must fail and returns its grpc.RpcError."""
    kw.setdefault("timeout", RPC_TIMEOUT)
    try:
        call(*args, **kw)
    except grpc.RpcError as e:
        return e
    raise AssertionError("the call succeeded but was expected to fail")


def create_token(server, admin_key, name="e2e", max_uses=1, valid_for_seconds=None):
    req = admin_pb2.CreateAuthorizationTokenRequest(name=name, max_uses=max_uses)
    if valid_for_seconds is not None:
        req.valid_for.seconds = valid_for_seconds
    return server.admin_stub().CreateAuthorizationToken(
        req, metadata=admin_metadata(admin_key), timeout=RPC_TIMEOUT)


def wait_past(expires_at_unix, margin=1.0, limit=30):
    """Sleeps until the wall clock is past expires_at (seconds since the epoch)."""
    delay = expires_at_unix - time.time() + margin
    if delay > limit:
        raise AssertionError("refusing to wait %ss" % delay)
    if delay > 0:
        time.sleep(delay)


# ---------------------------------------------------------------- X.509 helpers


def new_key(kind="p256"):
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    if kind == "brainpoolP256r1":
        return ec.generate_private_key(ec.BrainpoolP256R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    raise ValueError(kind)


def make_csr(key, common_name="host.example"):
    """A DER PKCS#10 request signed by `key`."""
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
           .sign(key, algorithm))
    return csr.public_bytes(serialization.Encoding.DER)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def fingerprints(cert):
    """(SHA-256 of the DER certificate, SHA-256 of the DER SubjectPublicKeyInfo)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return sha256_hex(der), sha256_hex(spki)


def verify_signed_by(cert, issuer_cert):
    """Raises unless `cert` carries a valid signature by the key of `issuer_cert`."""
    pub = issuer_cert.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(cert.signature, cert.tbs_certificate_bytes,
                   ec.ECDSA(cert.signature_hash_algorithm))
    elif isinstance(pub, rsa.RSAPublicKey):
        pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                   cert.signature_hash_algorithm)
    elif isinstance(pub, ed25519.Ed25519PublicKey):
        pub.verify(cert.signature, cert.tbs_certificate_bytes)
    else:
        raise TypeError("unexpected CA key type %r" % type(pub))


def spki_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def parse_rfc3339(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def check_host_certificate(tc, cert, ca_cert, host_id, hostname, http_port, aliases=(),
                           key_encipherment=False):
    """Asserts the certificate profile of the product brief on `cert`."""
    from cryptography.x509.oid import ExtendedKeyUsageOID
    import uuid

    tc.assertEqual(str(uuid.UUID(host_id)), host_id)
    tc.assertEqual([a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)],
                   [host_id])
    tc.assertEqual(cert.issuer, ca_cert.subject)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    tc.assertEqual(sorted(san.get_values_for_type(x509.DNSName)), sorted([hostname] + list(aliases)))
    tc.assertEqual(san.get_values_for_type(x509.UniformResourceIdentifier),
                   ["urn:uuid:" + host_id])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    tc.assertEqual(set(eku), {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH})
    ku_ext = cert.extensions.get_extension_for_class(x509.KeyUsage)
    tc.assertTrue(ku_ext.critical, "keyUsage must be critical")
    tc.assertTrue(ku_ext.value.digital_signature)
    tc.assertEqual(ku_ext.value.key_encipherment, key_encipherment)
    tc.assertFalse(ku_ext.value.key_cert_sign)
    tc.assertFalse(ku_ext.value.crl_sign)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    tc.assertFalse(bc.ca)
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    tc.assertTrue(len(ski.digest) > 0)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    tc.assertEqual(aki.key_identifier, ca_ski.digest)
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    urls = [n.value for dp in cdp for n in (dp.full_name or [])
            if isinstance(n, x509.UniformResourceIdentifier)]
    tc.assertEqual(len(urls), 1, urls)
    prefix = "http://127.0.0.1:%d/crl/" % _CRL_PORT_OF_HTTP_PORT.get(http_port, http_port)
    tc.assertTrue(urls[0].startswith(prefix) and urls[0].endswith(".crl"),
                  "CRL URL %r should be %s<shard>.crl" % (urls[0], prefix))
    tc.assertGreater(cert.serial_number, 0)
    tc.assertGreaterEqual(cert.serial_number.bit_length(), 64)
    tc.assertEqual(cert.version, x509.Version.v3)
    verify_signed_by(cert, ca_cert)


def serialization_der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


# ---------------------------------------------------------------- reissue, revocation, CRLs

# RFC 5280 CRLReason codes the tests use, and how `cryptography` names them.
REASON_UNSPECIFIED = 0
REASON_KEY_COMPROMISE = 1
REASON_SUPERSEDED = 4
REASON_CESSATION_OF_OPERATION = 5
REASON_FLAGS = {
    1: x509.ReasonFlags.key_compromise,
    2: x509.ReasonFlags.ca_compromise,
    3: x509.ReasonFlags.affiliation_changed,
    4: x509.ReasonFlags.superseded,
    5: x509.ReasonFlags.cessation_of_operation,
    6: x509.ReasonFlags.certificate_hold,
    9: x509.ReasonFlags.privilege_withdrawn,
    10: x509.ReasonFlags.aa_compromise,
}


class HttpResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # case-insensitive lookups: headers.get("ETag")
        self.body = body

    def __repr__(self):
        return "HttpResponse(%r, %r, %d bytes)" % (self.status, dict(self.headers), len(self.body))


def http_get(port, path, headers=None, timeout=10):
    """One plain HTTP GET on loopback."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        return HttpResponse(res.status, res.msg, res.read())
    finally:
        conn.close()


def http_get_url(url, headers=None, timeout=10):
    """GET of an http://127.0.0.1:<port>/path URL, as a certificate's CDP names it."""
    m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/.*)", url)
    if not m:
        raise AssertionError("not a loopback URL: %r" % url)
    return http_get(int(m.group(1)), m.group(2), headers, timeout)


def crl_shard_of(host_id, shards):
    """The contract: the first 32 bits of the host ID (hex digits 1-8) mod the shard count."""
    return int(host_id.replace("-", "")[:8], 16) % shards


def crl_url(server, shard):
    """The distribution point of a shard: the CA's URL, whatever server is asked."""
    return "%s/%d.crl" % (server.deployment.crl_base_url, shard)


def distribution_point_of(cert):
    """The one CRL distribution point URL of a certificate."""
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    urls = [n.value for dp in cdp for n in (dp.full_name or [])
            if isinstance(n, x509.UniformResourceIdentifier)]
    if len(urls) != 1:
        raise AssertionError("expected one CRL distribution point, got %r" % urls)
    return urls[0]


def load_crl_bundle(pem):
    """Every CRL in a PEM bundle, in order."""
    if isinstance(pem, str):
        pem = pem.encode()
    blocks = re.findall(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", pem, re.S)
    return [x509.load_pem_x509_crl(b) for b in blocks]


def crl_pem(crl):
    return crl.public_bytes(serialization.Encoding.PEM)


def crl_der(crl):
    return crl.public_bytes(serialization.Encoding.DER)


def crl_number_of(crl):
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def crl_idp_urls(crl):
    idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    return [n.value for n in (idp.full_name or []) if isinstance(n, x509.UniformResourceIdentifier)]


def crl_entries(crl):
    """{serial (int): (revocation date, reason code or 0 for no reason extension)}."""
    codes = {flag: code for code, flag in REASON_FLAGS.items()}
    out = {}
    for r in crl:
        try:
            flag = r.extensions.get_extension_for_class(x509.CRLReason).value.reason
            code = codes[flag]
        except x509.ExtensionNotFound:
            code = REASON_UNSPECIFIED
        out[r.serial_number] = (r.revocation_date, code)
    return out


def check_crl_profile(tc, crl, ca_cert, url=None, validity_seconds=None):
    """Asserts the CRL profile of the contract on one shard CRL."""
    tc.assertTrue(crl.is_signature_valid(ca_cert.public_key()), "CRL signature does not verify")
    tc.assertEqual(crl.issuer, ca_cert.subject)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    tc.assertEqual(aki.value.key_identifier, ca_ski.digest)
    number = crl.extensions.get_extension_for_class(x509.CRLNumber)
    tc.assertFalse(number.critical)
    tc.assertGreaterEqual(number.value.crl_number, 1)
    idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    tc.assertTrue(idp.critical, "the issuing distribution point must be critical")
    if url is not None:
        tc.assertEqual(crl_idp_urls(crl), [url])
    tc.assertIsNotNone(crl.next_update)
    tc.assertGreater(crl.next_update, crl.last_update)
    if validity_seconds is not None:
        tc.assertEqual((crl.next_update - crl.last_update).total_seconds(), validity_seconds)
    # Every entry has a revocation date; a reason extension never says "unspecified".
    for r in crl:
        tc.assertIsNotNone(r.revocation_date)
        try:
            reason = r.extensions.get_extension_for_class(x509.CRLReason).value.reason
            tc.assertNotEqual(reason, x509.ReasonFlags.unspecified)
        except x509.ExtensionNotFound:
            pass


def openssl_crl_text(path):
    """`openssl crl -text` of a DER or PEM file."""
    with open(path, "rb") as f:
        inform = "PEM" if f.read(64).lstrip().startswith(b"-----BEGIN") else "DER"
    r = run(["openssl", "crl", "-inform", inform, "-in", path, "-noout", "-text"])
    if r.returncode != 0:
        raise AssertionError("openssl crl failed: %r" % r)
    return r.stdout


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def timestamp_seconds(ts):
    return ts.seconds + ts.nanos / 1e9


def create_reissue_token(server, admin_key, host_id, valid_for_seconds=None, reason=""):
    req = admin_pb2.CreateReissueTokenRequest(host_id=host_id, reason=reason)
    if valid_for_seconds is not None:
        req.valid_for.seconds = valid_for_seconds
    return server.admin_stub().CreateReissueToken(
        req, metadata=admin_metadata(admin_key), timeout=RPC_TIMEOUT)


def enroll_host(server, admin_key, hostname, key=None):
    """A new host through the Python client: (CertificateResponse, private key)."""
    key = key or new_key()
    token = create_token(server, admin_key, "enrol " + hostname)
    res = server.host_stub().RequestCertificate(
        host_pb2.RequestCertificateRequest(csr=make_csr(key, hostname), hostname=hostname,
                                           authorization_token=token.token),
        timeout=RPC_TIMEOUT)
    return res, key


def reissue(server, host_id, key=None, token="", hostname=""):
    """ReissueCertificate with a fresh key unless one is given: (response, key)."""
    key = key or new_key()
    res = server.host_stub().ReissueCertificate(
        host_pb2.ReissueCertificateRequest(host_id=host_id, csr=make_csr(key, hostname or "x"),
                                           reissue_token=token, hostname=hostname),
        timeout=RPC_TIMEOUT)
    return res, key


def revoke(server, admin_key, serial_hex=None, host_id=None, reason=0):
    req = admin_pb2.RevokeCertificateRequest(reason=reason)
    if serial_hex is not None:
        req.serial_hex = serial_hex
    if host_id is not None:
        req.host_id = host_id
    return server.admin_stub().RevokeCertificate(req, metadata=admin_metadata(admin_key),
                                                 timeout=RPC_TIMEOUT)


def get_crls(server, shard=None):
    """{shard: revocation_pb2.CRL} from GetCRL."""
    req = revocation_pb2.GetCRLRequest()
    if shard is not None:
        req.shard = shard
    res = server.revocation_stub().GetCRL(req, timeout=RPC_TIMEOUT)
    return {c.shard: c for c in res.crls}


def wait_for_crls(server, shards, timeout=15):
    """Waits until GetCRL has a CRL for every shard (a fresh CA publishes its first ones)."""
    seen = {}

    def ready():
        seen.clear()
        seen.update(get_crls(server))
        return (set(seen) == set(range(shards))
                and all(c.crl_der and c.crl_number >= 1 for c in seen.values()))
    wait_until(ready, timeout, "a CRL for each of %d shards" % shards, interval=0.2)
    return dict(seen)


def revocation_state(deployment, server):
    """What a refused reissue or revocation must leave alone: rows and CRL numbers."""
    row = deployment.pg.psql(
        "SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM certificates),"
        " (SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL),"
        " (SELECT count(*) FROM tokens), (SELECT coalesce(sum(uses), 0) FROM tokens),"
        " (SELECT count(*) FROM hosts WHERE auto_reissue_until IS NOT NULL)")
    keys = ("hosts", "certificates", "revoked_certificates", "tokens", "token_uses",
            "auto_reissue_windows")
    state = dict(zip(keys, (int(v) for v in row.split("|"))))
    state["crl_numbers"] = {s: c.crl_number for s, c in get_crls(server).items()}
    return state


def host_certificates(deployment, host_id):
    """[(serial_hex, kind, revoked_at or '', reason or '')] of a host from the database, oldest first."""
    out = deployment.pg.psql(
        "SELECT serial_hex, kind, coalesce(revoked_at::text, ''),"
        " coalesce(revocation_reason::text, '') FROM certificates"
        " WHERE host_id = '%s' ORDER BY created_at, serial_hex" % host_id)
    return [tuple(line.split("|")) for line in out.splitlines() if line]


def same_serial(a, b):
    return int(a, 16) == int(b, 16)


class StreamReader:
    """Reads a server stream on a thread into a queue, so every wait can be bounded."""

    def __init__(self, call):
        import queue
        import threading
        self.call = call
        self.items = queue.Queue()
        self.error = None
        # Set once the server has taken the stream (it sends the initial
        # metadata then), before any event.
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.call.initial_metadata()
            if not self.call.done():
                self.accepted.set()
            for item in self.call:
                self.items.put(item)
        except grpc.RpcError as e:
            self.error = e
        self.items.put(None)

    def next(self, timeout=15):
        import queue
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no stream message within %ss" % timeout)
        if item is None:
            raise AssertionError("the stream ended: %r" % (self.error,))
        return item

    def cancel(self):
        self.call.cancel()
        self.thread.join(timeout=10)


def shard_crls_of_bundle(tc, crls, server, shards):
    """{shard: CRL} of a CRL bundle: exactly one CRL per shard, each naming its own URL.
    Anything else in the bundle may only be a CRL scoped to CA certificates (an IDP with
    onlyContainsCACerts and no distribution point), which relying parties that check
    the whole chain (nginx, openssl -crl_check_all) need for the CA certificate itself."""
    by_url = {crl_url(server, s): s for s in range(shards)}
    out = {}
    for crl in crls:
        urls = crl_idp_urls(crl)
        if not urls:
            idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
            tc.assertTrue(idp.only_contains_ca_certs, "a bundle CRL without a shard URL "
                          "must be scoped to CA certificates")
            continue
        tc.assertEqual(len(urls), 1, urls)
        tc.assertIn(urls[0], by_url)
        shard = by_url[urls[0]]
        tc.assertNotIn(shard, out, "two CRLs for shard %d in the bundle" % shard)
        out[shard] = crl
    tc.assertEqual(set(out), set(range(shards)))
    return out


# ---------------------------------------------------------------- agents, renewal, pinning

EXIT_CERTIFICATE_FAILURE = 3
IDENTITY_FILES = ("host.key", "host.pem", "host.json", "crl.pem")
PIN_FILES = ("ca.pem", "pin.json")


def pin_agent(deployment, server, agent_dir, fingerprint=None):
    """`hostca-agent get-ca` with the CA's certificate fingerprint; raises on failure."""
    if fingerprint is None:
        fingerprint, _ = fingerprints(deployment.ca_cert)
    r = deployment.agent_cli(agent_dir, "get-ca", "--server", server.address,
                             "--fingerprint", fingerprint)
    if r.returncode != 0:
        raise RuntimeError("get-ca failed: %r" % r)
    return agent_dir


def new_auth_token(deployment, server, name="e2e"):
    """An authorization token value made with `hostca-admin token create`."""
    r = deployment.admin_cli(server, "--json", "token", "create", "--name", name)
    if r.returncode != 0:
        raise RuntimeError("token create failed: %r" % r)
    return json.loads(r.stdout)


def enrolled_agent(deployment, server, agent_dir, hostname):
    """A folder pinned to the deployment's CA at `server`, enrolled as `hostname`."""
    pin_agent(deployment, server, agent_dir)
    token = new_auth_token(deployment, server, "enrol " + hostname)["token"]
    r = deployment.agent_cli(agent_dir, "enroll", "--token", token, "--hostname", hostname)
    if r.returncode != 0:
        raise RuntimeError("enroll of %s failed: %r" % (hostname, r))
    return agent_dir


def agent_identity(agent_dir):
    """host.json plus the parsed certificate and the raw PEM of host.pem and host.key."""
    with open(os.path.join(agent_dir, "host.json")) as f:
        ident = json.load(f)
    with open(os.path.join(agent_dir, "host.pem"), "rb") as f:
        ident["cert_pem"] = f.read()
    with open(os.path.join(agent_dir, "host.key"), "rb") as f:
        ident["key_pem"] = f.read()
    ident["cert"] = x509.load_pem_x509_certificate(ident["cert_pem"])
    return ident


def read_pin(agent_dir):
    with open(os.path.join(agent_dir, "pin.json")) as f:
        return json.load(f)


def set_pin_server(agent_dir, address):
    """Points an agent at another server address, as if DNS or the CA behind it changed."""
    path = os.path.join(agent_dir, "pin.json")
    mode = os.stat(path).st_mode & 0o777
    pin = read_pin(agent_dir)
    pin["server"] = address
    with open(path, "w") as f:
        f.write(json.dumps(pin, indent=2) + "\n")
    os.chmod(path, mode)


def snapshot_dir(path):
    """{name: (mode, bytes)} of every file in a folder, with the folder's own mode as '.';
    None for a missing folder. Two snapshots are equal when nothing was written."""
    if not os.path.exists(path):
        return None
    out = {".": (os.stat(path).st_mode & 0o7777, b"")}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.isdir(full):
            out[name] = (os.stat(full).st_mode & 0o7777, None)
            continue
        with open(full, "rb") as f:
            out[name] = (os.stat(full).st_mode & 0o7777, f.read())
    return out


def copy_agent_dir(src, dst):
    """A clone of an agent folder, modes included (a cloned VM's disk)."""
    shutil.copytree(src, dst)
    os.chmod(dst, os.stat(src).st_mode & 0o7777)
    return dst


def renewal_state(deployment):
    """What a refused renewal must leave alone: rows, revocations, failure marks. Audit
    rows written in aggregate for callers without a credential (actor 'peer:...') are
    left out, as in Postgres.counts: a server writes them when a window closes,
    whichever call is running then."""
    row = deployment.pg.psql(
        "SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM certificates),"
        " (SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL),"
        " (SELECT count(*) FROM tokens), (SELECT coalesce(sum(uses), 0) FROM tokens),"
        " (SELECT count(*) FROM audit_log WHERE actor NOT LIKE 'peer:%'),"
        " (SELECT count(*) FROM hosts WHERE certificate_failure_at IS NOT NULL)")
    keys = ("hosts", "certificates", "revoked_certificates", "tokens", "token_uses",
            "audit_log", "certificate_failures")
    return dict(zip(keys, (int(v) for v in row.split("|"))))


def mtls_channel(server, key_pem=None, cert_pem=None, root_pem=None):
    """A TLS channel to `server` that presents `cert_pem` (with `key_pem`) as the client
    certificate; without them, none. Trusts the server's CA unless root_pem is given."""
    creds = grpc.ssl_channel_credentials(
        root_certificates=root_pem or server.deployment.ca_pem_bytes,
        private_key=key_pem, certificate_chain=cert_pem)
    ch = grpc.secure_channel(server.address, creds)
    server._channels.append(ch)
    return ch


def renew_rpc(server, key_pem, cert_pem, csr_der, timeout=RPC_TIMEOUT):
    """RenewCertificate over mutual TLS as the holder of cert_pem; raises grpc.RpcError."""
    stub = host_pb2_grpc.HostServiceStub(mtls_channel(server, key_pem, cert_pem))
    return stub.RenewCertificate(host_pb2.RenewCertificateRequest(csr=csr_der),
                                 timeout=timeout)


def key_pem_of(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem_of(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def not_valid_before(cert):
    """notBefore as seconds since the epoch (UTC)."""
    return cert.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp()


def not_valid_after(cert):
    """notAfter as seconds since the epoch (UTC)."""
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()


def parse_time(text):
    """An RFC 3339 time in UTC, with or without fractions of a second, as epoch seconds."""
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]00:?00)", text)
    if not m:
        raise AssertionError("not an RFC 3339 UTC time: %r" % text)
    whole = datetime.datetime.strptime(m.group(1) + "T" + m.group(2), "%Y-%m-%dT%H:%M:%S")
    return whole.replace(tzinfo=datetime.timezone.utc).timestamp() + float(m.group(3) or 0)


def ca_of_another_name(subject_like, key=None):
    """A self-signed CA certificate with the same subject (and key identifier) as
    `subject_like` but another key: what an impostor CA looks like."""
    key = key or new_key()
    now = datetime.datetime.utcnow()
    ski = subject_like.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(subject_like.subject).issuer_name(subject_like.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def copy_of_certificate_signed_by(template, issuer_cert, issuer_key, subject_key=None):
    """A certificate with the template's subject, serial, validity and extensions, for
    subject_key (default: a new key), signed by issuer_key: a forgery."""
    subject_key = subject_key or new_key()
    b = (x509.CertificateBuilder()
         .subject_name(template.subject).issuer_name(issuer_cert.subject)
         .public_key(subject_key.public_key()).serial_number(template.serial_number)
         .not_valid_before(template.not_valid_before).not_valid_after(template.not_valid_after))
    for ext in template.extensions:
        if isinstance(ext.value, x509.SubjectKeyIdentifier):
            b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(
                subject_key.public_key()), critical=ext.critical)
        else:
            b = b.add_extension(ext.value, critical=ext.critical)
    return b.sign(issuer_key, hashes.SHA256()), subject_key


def server_error_line(tc, r, *phrases, secrets=()):
    """hostca-server failed with exit 1 and one stderr line 'hostca-server: ...' that
    holds every phrase (and no abort, and none of `secrets` anywhere); returns the line."""
    tc.assertEqual(r.returncode, 1, r)
    lines = r.stderr_lines()
    tc.assertEqual(len(lines), 1, r.stderr)
    tc.assertTrue(lines[0].startswith("hostca-server: "), lines[0])
    for phrase in phrases:
        tc.assertIn(phrase, lines[0])
    tc.assertNotIn("terminate called", r.stderr)
    for secret in secrets:
        tc.assertNotIn(secret, r.stdout + r.stderr)
    return lines[0]


def agent_error_line(tc, r, exit_code, *phrases):
    """The command failed with `exit_code` and one stderr line 'hostca-agent: ...' that
    holds every phrase (case-insensitive); returns the line."""
    tc.assertEqual(r.returncode, exit_code, r)
    lines = r.stderr_lines()
    tc.assertEqual(len(lines), 1, r.stderr)
    tc.assertTrue(lines[0].startswith("hostca-agent: "), lines[0])
    for phrase in phrases:
        tc.assertIn(phrase.lower(), lines[0].lower())
    return lines[0]
