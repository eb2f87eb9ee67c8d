"""Three hostca-server processes on one PostgreSQL, hammered at once with
enrolments, reissues and revocations through all three, while a poller
records the CRLs each serves; then the invariant checker (invariants.py)
reads the database and every CRL seen and must find nothing wrong. A second
test shows that the checker does find what it looks for."""

import os
import random
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import invariants  # noqa: E402
from harness import admin_pb2, grpc, host_pb2  # noqa: E402

SECONDS = 10          # the load's time bound
MAX_CALLS = 3000      # and its count bound, over all threads
SHARDS = 4
EXPECTED_REFUSALS = {
    # A revocation or reissue racing another on the same host can find
    # nothing left to revoke; nothing else may fail.
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND,
}


class ThreeServersTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=SHARDS)
        try:
            cls.servers = [cls.d.start_server() for _ in range(3)]
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def setUp(self):
        self.lock = threading.Lock()
        self.hosts = []           # host IDs enrolled so far
        self.busy = set()         # hosts a thread is reissuing or revoking
        self.calls = 0
        self.made = {"enrol": 0, "reissue": 0, "revoke": 0, "refused": 0}
        self.unexpected = []
        self.observed = []
        self.deadline = time.monotonic() + SECONDS

    def going(self):
        with self.lock:
            self.calls += 1
            return self.calls <= MAX_CALLS and time.monotonic() < self.deadline

    def count(self, what):
        with self.lock:
            self.made[what] += 1

    def refused(self, what, err):
        with self.lock:
            if err.code() in EXPECTED_REFUSALS:
                self.made["refused"] += 1
            else:
                self.unexpected.append("%s: %s %s" % (what, err.code(), err.details()))

    def take_host(self):
        with self.lock:
            free = [h for h in self.hosts if h not in self.busy]
            if not free:
                return None
            h = random.choice(free)
            self.busy.add(h)
            return h

    def release(self, host_id):
        with self.lock:
            self.busy.discard(host_id)

    def enroller(self, server, index):
        token = harness.create_token(server, self.d.admin_key, "load-%d" % index,
                                     max_uses=MAX_CALLS).token
        stub = server.host_stub()
        n = 0
        while self.going():
            n += 1
            name = "e%d-%d.load.example" % (index, n)
            req = host_pb2.RequestCertificateRequest(
                csr=harness.make_csr(harness.new_key(), name), hostname=name,
                authorization_token=token)
            try:
                res = stub.RequestCertificate(req, timeout=30)
            except grpc.RpcError as e:
                self.refused("enrol", e)
                continue
            self.count("enrol")
            with self.lock:
                self.hosts.append(res.host_id)

    def reissuer(self):
        admins = [s.admin_stub() for s in self.servers]
        hosts = [s.host_stub() for s in self.servers]
        meta = harness.admin_metadata(self.d.admin_key)
        while self.going():
            host_id = self.take_host()
            if host_id is None:
                time.sleep(0.01)
                continue
            try:
                token = random.choice(admins).CreateReissueToken(
                    admin_pb2.CreateReissueTokenRequest(host_id=host_id), metadata=meta,
                    timeout=30).token
                random.choice(hosts).ReissueCertificate(host_pb2.ReissueCertificateRequest(
                    host_id=host_id, csr=harness.make_csr(harness.new_key(), "r"),
                    reissue_token=token), timeout=30)
                self.count("reissue")
            except grpc.RpcError as e:
                self.refused("reissue", e)
            finally:
                self.release(host_id)

    def revoker(self):
        admins = [s.admin_stub() for s in self.servers]
        meta = harness.admin_metadata(self.d.admin_key)
        while self.going():
            host_id = self.take_host()
            if host_id is None:
                time.sleep(0.01)
                continue
            try:
                random.choice(admins).RevokeCertificate(
                    admin_pb2.RevokeCertificateRequest(host_id=host_id, reason=1),
                    metadata=meta, timeout=30)
                self.count("revoke")
            except grpc.RpcError as e:
                self.refused("revoke", e)
            finally:
                self.release(host_id)
            time.sleep(0.02)

    def poller(self):
        while time.monotonic() < self.deadline + 1:
            for server in self.servers:
                for shard in range(SHARDS):
                    try:
                        with urllib.request.urlopen(server.http_url("/crl/%d.crl" % shard),
                                                    timeout=10) as r:
                            der = r.read()
                    except OSError:
                        continue  # not published yet
                    self.observed.append(invariants.Observed(
                        der, server="server-%d" % server.http_port, at=time.monotonic()))
            time.sleep(0.05)

    def test_enrolments_reissues_and_revocations_through_three_servers_break_no_invariant(self):
        threads = [threading.Thread(target=self.enroller, args=(s, i))
                   for i, s in enumerate(self.servers)]
        threads += [threading.Thread(target=self.reissuer) for _ in range(2)]
        threads += [threading.Thread(target=self.revoker), threading.Thread(target=self.poller)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 90)
            self.assertFalse(t.is_alive(), "a load thread did not stop")
        self.assertEqual(self.unexpected, [])
        self.assertGreater(self.made["enrol"], 20, self.made)
        self.assertGreater(self.made["reissue"], 5, self.made)
        self.assertGreater(self.made["revoke"], 5, self.made)
        self.assertGreater(len(self.observed), 50)

        # Every server catches up with the database's current CRLs.
        current = {int(s): int(n) for s, n in invariants.query(
            self.d.pg.conninfo, "SELECT shard, crl_number FROM crl_shards WHERE shard >= 0")}

        def caught_up():
            for server in self.servers:
                for shard, number in current.items():
                    if number == 0:
                        continue
                    with urllib.request.urlopen(server.http_url("/crl/%d.crl" % shard),
                                                timeout=10) as r:
                        crl = invariants.Observed(r.read(), "server-%d" % server.http_port,
                                                  time.monotonic())
                    self.observed.append(crl)
                    if crl.number != number:
                        return False
            return True
        harness.wait_until(caught_up, 15, "every server to serve the current CRLs")

        bad = invariants.check(self.d.pg.conninfo, self.observed)
        self.assertEqual(bad, [])
        print("three servers: %d enrolments, %d reissues, %d revocations, %d expected "
              "refusals; %d CRLs seen; invariants hold" % (
                  self.made["enrol"], self.made["reissue"], self.made["revoke"],
                  self.made["refused"], len(self.observed)), file=sys.stderr)

        # The checker as a program says the same, in one line.
        r = harness.run([sys.executable, invariants.__file__, "--database", self.d.pg.conninfo,
                         "--crl-url", self.servers[0].http_url("/crl/0.crl")])
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "no violation"), r)

    def test_the_checker_reports_a_crl_missing_a_revocation(self):
        server = self.servers[0]
        token = harness.create_token(server, self.d.admin_key, "planted").token
        res = server.host_stub().RequestCertificate(host_pb2.RequestCertificateRequest(
            csr=harness.make_csr(harness.new_key(), "planted.example"),
            hostname="planted.example", authorization_token=token), timeout=30)
        shard = int(self.d.pg.scalar(
            "SELECT crl_shard FROM hosts WHERE host_id = '%s'" % res.host_id))
        with urllib.request.urlopen(server.http_url("/crl/%d.crl" % shard), timeout=10) as r:
            before = invariants.Observed(r.read(), "before", 0)
        server.admin_stub().RevokeCertificate(
            admin_pb2.RevokeCertificateRequest(host_id=res.host_id, reason=1),
            metadata=harness.admin_metadata(self.d.admin_key), timeout=30)
        self.assertEqual(invariants.check(self.d.pg.conninfo, [before]), [])
        # The same old CRL, presented as if published after the revocation.
        before.number += 1000
        bad = invariants.check(self.d.pg.conninfo, [before])
        self.assertEqual(len(bad), 1, bad)
        self.assertIn("missing from CRL", bad[0])


if __name__ == "__main__":
    unittest.main()
