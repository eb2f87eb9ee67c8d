"""Backup and restore drill: deploy/backup.sh dumps a working CA, deploy/restore.sh
puts the dump into a FRESH PostgreSQL cluster, and a server started on it serves the
same CA, the same CRLs and the same hosts, and can still issue and revoke.

Everything compared is read from the original server before the dump, so a restore
that loses or changes anything fails here. The test runs once, in order (setUpClass),
and each test method checks one property of the result.
"""
import json
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import x509  # noqa: E402

BACKUP_SH = os.path.join(harness.SOURCE_DIR, "deploy", "backup.sh")
RESTORE_SH = os.path.join(harness.SOURCE_DIR, "deploy", "restore.sh")
PG_RESTORE = os.path.join(harness.PGBIN, "pg_restore")
SHARDS = 4
HOSTS = ("web01.example", "web02.example", "db01.example", "mail01.example")
REVOKED = "db01.example"
# Both servers name the same CRL location, so a CRL the restored server serves
# can be compared byte for byte with the one the original published.
CRL_BASE_URL = "http://crl.hostca.test/crl"
# Transactions burnt in the original cluster before the revocation, so that its
# revocation event is numbered well above where a fresh cluster's counter starts.
XIDS_BURNT = 20000
PLAINTEXT_KEY_LABELS = (b"BEGIN PRIVATE KEY", b"BEGIN EC PRIVATE KEY", b"BEGIN RSA PRIVATE KEY")
ENCRYPTED_KEY_LABEL = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


class RestoredSite:
    """What harness.Server needs of a deployment, for the restored database: the
    original passphrase file and a copy of the TLS folder (restored from the file
    backup the operator keeps of it)."""

    def __init__(self, original, folder, pg):
        self.folder = folder
        self.pg = pg
        self.passphrase_file = original.passphrase_file
        self.tls_dir = os.path.join(folder, "tls")
        shutil.copytree(original.tls_dir, self.tls_dir)
        os.chmod(self.tls_dir, 0o700)

    @property
    def ca_pem_path(self):
        return os.path.join(self.tls_dir, "ca.pem")

    @property
    def ca_pem_bytes(self):
        with open(self.ca_pem_path, "rb") as f:
            return f.read()


def admin_json(site, server, key_file, *args):
    r = harness.run([harness.ADMIN_BIN, "--server", server.address, "--ca-file", site.ca_pem_path,
                     "--admin-key-file", key_file, "--json"] + list(args))
    if r.returncode != 0:
        raise AssertionError("hostca-admin %s failed: %r" % (" ".join(args), r))
    return json.loads(r.stdout)


def host_inventory(site, server, key_file):
    """{host_id: host show --json} of every host, certificates included."""
    hosts = admin_json(site, server, key_file, "host", "list")
    return {h["host_id"]: admin_json(site, server, key_file, "host", "show", "--host-id",
                                     h["host_id"]) for h in hosts}


def crl_state(server):
    """{shard: (crl number, DER, revoked serials)} from GetCRL, the CA scope as -1."""
    res = server.revocation_stub().GetCRL(harness.revocation_pb2.GetCRLRequest(),
                                          timeout=harness.RPC_TIMEOUT)
    out = {}
    for c in list(res.crls) + [res.ca_crl]:
        shard = -1 if c is res.ca_crl else c.shard
        crl = x509.load_der_x509_crl(c.crl_der)
        if harness.crl_number_of(crl) != c.crl_number:
            raise AssertionError("shard %d: GetCRL says %d, the CRL says %d" % (
                shard, c.crl_number, harness.crl_number_of(crl)))
        out[shard] = (c.crl_number, bytes(c.crl_der), frozenset(r.serial_number for r in crl))
    return out


def http_crl_bundle(server):
    """{(crl number, revoked serials)} of the /crl/all.pem bundle served over HTTP."""
    res = harness.http_get(server.http_port, "/crl/all.pem")
    if res.status != 200:
        raise AssertionError("/crl/all.pem: %r" % res)
    return {(harness.crl_number_of(c), frozenset(r.serial_number for r in c))
            for c in harness.load_crl_bundle(res.body)}


def http_ca_fingerprint(server):
    res = harness.http_get(server.http_port, "/ca.pem")
    if res.status != 200:
        raise AssertionError("/ca.pem: %r" % res)
    return harness.fingerprints(x509.load_pem_x509_certificate(res.body))[0]


def read_events(server, after, count):
    """`count` events of WatchRevocations after `after` (0 would mean "from now": every
    real sequence is at least 2^20, so 1 reads the stream from its start)."""
    reader = harness.StreamReader(server.revocation_stub().WatchRevocations(
        harness.revocation_pb2.WatchRevocationsRequest(after_sequence=after)))
    try:
        return [reader.next(timeout=15) for _ in range(count)]
    finally:
        reader.cancel()


def stream_or_timeout(server):
    """The first revocation event, or the timeout, so that the test that compares
    streams fails rather than the whole drill."""
    try:
        return [(e.sequence, e.serial_hex, e.host_id, e.crl_number)
                for e in read_events(server, 1, 1)]
    except TimeoutError as e:
        return str(e)


class BackupRestoreTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dep = harness.Deployment(crl_shards=SHARDS, crl_base_url=CRL_BASE_URL)
        cls.fresh = None
        try:
            cls._drill()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def _drill(cls):
        dep = cls.dep
        server = dep.start_server(["--crl-base-url", CRL_BASE_URL])
        harness.wait_for_crls(server, SHARDS)
        cls.original_hosts = {}
        for name in HOSTS:
            res, _ = harness.enroll_host(server, dep.admin_key, name)
            cls.original_hosts[name] = res
        dep.pg.psql("DO $$ BEGIN FOR i IN 1..%d LOOP PERFORM pg_current_xact_id(); COMMIT;"
                    " END LOOP; END $$" % XIDS_BURNT)
        revoked = cls.original_hosts[REVOKED]
        harness.revoke(server, dep.admin_key, host_id=revoked.host_id,
                       reason=harness.REASON_KEY_COMPROMISE)
        cls.revoked_serial = x509.load_der_x509_certificate(revoked.certificate_der).serial_number

        # What the restored server must serve again, read before the dump.
        cls.before = {
            "fingerprint": server.ready["sha256_fingerprint"],
            "http_fingerprint": http_ca_fingerprint(server),
            "crls": crl_state(server),
            "crl_bundle": http_crl_bundle(server),
            "hosts": host_inventory(dep, server, dep.admin_key_file),
            "events": [(e.sequence, e.serial_hex, e.host_id, e.crl_number)
                       for e in read_events(server, 1, 1)],
            "counts": dep.pg.counts(),
            "encrypted_key": dep.pg.psql("SELECT encrypted_private_key_pem FROM ca"),
        }

        cls.dump = os.path.join(dep.folder, "hostca.dump")
        cls.backup = harness.run(["bash", BACKUP_SH, "--database", dep.pg.conninfo, cls.dump],
                                 timeout=120)
        if cls.backup.returncode != 0:
            raise AssertionError("backup.sh failed: %r" % cls.backup)
        # The old machine goes away; a new cluster takes its place.
        server.stop()
        dep.pg.stop()

        folder = os.path.join(dep.folder, "restored")
        os.makedirs(folder)
        os.chmod(folder, 0o711)
        cls.fresh = harness.Postgres(os.path.join(folder, "pg")).start()
        cls.site = RestoredSite(dep, folder, cls.fresh)
        cls.xid_before_restore = cls.fresh.scalar("SELECT pg_current_xact_id()::text::bigint")
        cls.restore = harness.run(["bash", RESTORE_SH, "--database", cls.fresh.conninfo, cls.dump],
                                  timeout=300)
        if cls.restore.returncode != 0:
            raise AssertionError("restore.sh failed: %r" % cls.restore)
        cls.counts_after_restore = cls.fresh.counts()
        cls.restored = harness.Server(cls.site, "restored", ["--crl-base-url", CRL_BASE_URL])
        # What the restored server serves, read before any test changes anything.
        cls.after = {
            "fingerprint": cls.restored.ready["sha256_fingerprint"],
            "http_fingerprint": http_ca_fingerprint(cls.restored),
            "crls": crl_state(cls.restored),
            "crl_bundle": http_crl_bundle(cls.restored),
            "hosts": host_inventory(cls.site, cls.restored, dep.admin_key_file),
            "events": stream_or_timeout(cls.restored),
        }

    @classmethod
    def _cleanup(cls):
        restored = getattr(cls, "restored", None)
        if restored is not None:
            restored.stop()
        if cls.fresh is not None:
            cls.fresh.stop()
        cls.dep.close()

    @classmethod
    def tearDownClass(cls):
        cls._cleanup()

    # -- the dump

    def dump_sql(self):
        r = harness.run([PG_RESTORE, "--file=-", self.dump], timeout=60)
        self.assertEqual(r.returncode, 0, r)
        return r.stdout

    def test_dump_is_private_and_holds_the_ca(self):
        self.assertEqual(os.stat(self.dump).st_mode & 0o077, 0, "the dump must be mode 0600")
        self.assertIn("wrote", self.backup.stdout)
        r = harness.run([PG_RESTORE, "--list", self.dump])
        self.assertEqual(r.returncode, 0, r)
        for table in ("ca", "hosts", "certificates", "crl_shards", "revocation_events",
                      "audit_log", "admin_keys", "tokens", "schema_migrations"):
            self.assertRegex(r.stdout, r"TABLE DATA public %s " % table)

    def test_dump_holds_the_encrypted_key_and_no_plaintext_key(self):
        with open(self.dump, "rb") as f:
            raw = f.read()
        sql = self.dump_sql()
        for label in PLAINTEXT_KEY_LABELS:
            self.assertNotIn(label, raw)
            self.assertNotIn(label.decode(), sql)
        # The encrypted key is there, exactly as the original database held it
        # (COPY text format writes its line breaks as \n).
        key = self.before["encrypted_key"]
        self.assertTrue(key.startswith(ENCRYPTED_KEY_LABEL), key[:60])
        self.assertIn(key.replace("\n", "\\n"), sql)
        # Neither the passphrase nor the admin key are in it (only the key's hash is).
        self.assertNotIn(self.dep.passphrase, sql)
        self.assertNotIn(self.dep.admin_key, sql)
        self.assertNotIn(self.dep.passphrase.encode(), raw)

    def test_restored_database_holds_the_same_encrypted_key(self):
        self.assertEqual(self.fresh.psql("SELECT encrypted_private_key_pem FROM ca"),
                         self.before["encrypted_key"])

    # -- the restore

    def test_restore_went_into_a_fresh_cluster(self):
        self.assertNotEqual(self.fresh.folder, self.dep.pg.folder)
        self.assertIn("restored CA " + self.before["fingerprint"], self.restore.stdout)
        # The rows that make the CA, its hosts and its history all came over.
        self.assertEqual(self.counts_after_restore, self.before["counts"])

    def test_restore_refuses_a_database_that_is_not_empty(self):
        before = self.fresh.counts()
        r = harness.run(["bash", RESTORE_SH, "--database", self.fresh.conninfo, self.dump],
                        timeout=120)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("not empty", r.stderr)
        self.assertEqual(self.fresh.counts(), before)

    def test_same_ca_certificate(self):
        self.assertEqual(self.after["fingerprint"], self.before["fingerprint"])
        self.assertEqual(self.after["http_fingerprint"], self.before["http_fingerprint"])
        self.assertEqual(self.before["http_fingerprint"], self.before["fingerprint"])

    def test_same_crls(self):
        after = self.after["crls"]
        self.assertEqual(set(after), set(range(SHARDS)) | {-1})
        self.assertEqual(set(after), set(self.before["crls"]))
        for shard, (number, der, serials) in self.before["crls"].items():
            with self.subTest(shard=shard):
                self.assertEqual(after[shard][0], number, "CRL number")
                self.assertEqual(after[shard][2], serials, "revoked serials")
                self.assertEqual(after[shard][1], der, "CRL bytes")
        # The one revocation is on exactly one CRL, the one of its host's shard.
        listed = [s for s, (_, _, serials) in after.items() if self.revoked_serial in serials]
        shard = harness.crl_shard_of(self.original_hosts[REVOKED].host_id, SHARDS)
        self.assertEqual(listed, [shard])
        self.assertEqual(self.after["crl_bundle"], self.before["crl_bundle"])

    def test_same_hosts(self):
        after = self.after["hosts"]
        self.assertEqual(after, self.before["hosts"])
        self.assertEqual({h["hostname"] for h in after.values()}, set(HOSTS))
        revoked = after[self.original_hosts[REVOKED].host_id]
        self.assertFalse(revoked["has_valid_certificate"])
        self.assertEqual([c["state"] for c in revoked["certificates"]].count("revoked"), 1,
                         revoked)

    def test_same_revocation_stream(self):
        self.assertEqual(self.after["events"], self.before["events"])

    def test_restored_server_issues_and_revokes(self):
        # Issuing proves that the passphrase opens the restored key and that it is the CA's.
        res, _ = harness.enroll_host(self.restored, self.dep.admin_key, "after-restore.example")
        cert = x509.load_der_x509_certificate(res.certificate_der)
        ca = x509.load_pem_x509_certificate(self.site.ca_pem_bytes)
        harness.verify_signed_by(cert, ca)
        self.assertEqual(harness.distribution_point_of(cert),
                         "%s/%d.crl" % (CRL_BASE_URL, harness.crl_shard_of(res.host_id, SHARDS)))
        old_serials = {x509.load_der_x509_certificate(h.certificate_der).serial_number
                       for h in self.original_hosts.values()}
        self.assertNotIn(cert.serial_number, old_serials)
        self.assertNotIn(res.host_id, self.before["hosts"])

        # A revocation now reaches a watcher that had read the whole old stream: the
        # new cluster numbers its events past the restored ones.
        last = self.before["events"][-1][0]
        harness.revoke(self.restored, self.dep.admin_key, host_id=res.host_id,
                       reason=harness.REASON_CESSATION_OF_OPERATION)
        event = read_events(self.restored, last, 1)[0]
        self.assertEqual(event.host_id, res.host_id)
        self.assertGreater(event.sequence, last)
        self.assertEqual(int(event.serial_hex, 16), cert.serial_number)

    def test_fresh_cluster_started_behind_the_old_transaction_counter(self):
        # The premise of the stream check above: without restore.sh moving the
        # counter, the new revocation would be numbered below the restored one.
        self.assertLess(self.xid_before_restore * 1048576, self.before["events"][-1][0])
        self.assertRegex(self.restore.stdout, re.compile(r"moving the transaction counter"))


if __name__ == "__main__":
    unittest.main()
