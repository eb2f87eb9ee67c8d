"""PostgreSQL goes away in the middle of the load, once with a fast
shutdown and once killed outright, and comes back: calls made while it is
down fail fast with UNAVAILABLE and a message that says so (never a hang
to the deadline), both servers reconnect on their own, no certificate or
revocation whose call answered OK is lost, and the invariant checker finds
nothing wrong. The cluster here is durable (fsync on), unlike the other
e2e tests'."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import invariants  # noqa: E402
from harness import admin_pb2, grpc, host_pb2  # noqa: E402

CALL_TIMEOUT = 10
DOWN_SECONDS = 2


def pg_ctl(pg, *args):
    cmd = [os.path.join(harness.PGBIN, "pg_ctl"), "-D", os.path.join(pg.folder, "data")]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    r = harness.run(cmd + list(args), timeout=120)
    if r.returncode != 0:
        raise RuntimeError("pg_ctl %s failed: %r" % (" ".join(args), r))


class DatabaseRestartTest(unittest.TestCase):

    def setUp(self):
        self.d = harness.Deployment(crl_shards=4, init=False)
        self.addCleanup(self.d.close)
        # Start the cluster again without --fast: durable commits.
        self.d.pg.stop()
        r = harness.run(["bash", harness.POSTGRES_SH, "start", self.d.pg.folder, self.d.pg.port],
                        timeout=120)
        self.assertEqual(r.returncode, 0, r)
        self.d.pg.conninfo = r.stdout.strip().splitlines()[-1]
        self.assertEqual(self.d.pg.psql("SHOW fsync"), "on")
        self.d.init(crl_shards=4)
        self.servers = [self.d.start_server(), self.d.start_server()]
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.down = threading.Event()
        self.enrolled = []        # (host_id, serial) answered OK
        self.revoked = []         # host IDs whose revocation answered OK
        self.failures_down = []   # (seconds, code, details) of calls made while down
        self.unexpected = []
        self.calls = 0

    def note_failure(self, what, started, err):
        took = time.monotonic() - started
        with self.lock:
            if err.code() == grpc.StatusCode.UNAVAILABLE:
                if self.down.is_set():
                    self.failures_down.append((took, err.details()))
            elif not (what == "revoke" and err.code() == grpc.StatusCode.FAILED_PRECONDITION):
                self.unexpected.append("%s: %s %s after %.1f s" % (
                    what, err.code(), err.details(), took))

    def enroller(self, server, index):
        token = harness.create_token(server, self.d.admin_key, "db-%d" % index,
                                     max_uses=5000).token
        stub = server.host_stub()
        n = 0
        while not self.stop.is_set() and n < 5000:
            n += 1
            name = "d%d-%d.restart.example" % (index, n)
            req = host_pb2.RequestCertificateRequest(
                csr=harness.make_csr(harness.new_key(), name), hostname=name,
                authorization_token=token)
            started = time.monotonic()
            try:
                res = stub.RequestCertificate(req, timeout=CALL_TIMEOUT)
                with self.lock:
                    self.enrolled.append((res.host_id, res.serial_hex))
            except grpc.RpcError as e:
                self.note_failure("enrol", started, e)
                time.sleep(0.05)

    def revoker(self):
        stubs = [s.admin_stub() for s in self.servers]
        meta = harness.admin_metadata(self.d.admin_key)
        done = set()
        while not self.stop.is_set():
            with self.lock:
                todo = [h for h, _ in self.enrolled[::3] if h not in done]
            if not todo:
                time.sleep(0.05)
                continue
            host_id = todo[0]
            done.add(host_id)
            started = time.monotonic()
            try:
                stubs[len(done) % 2].RevokeCertificate(
                    admin_pb2.RevokeCertificateRequest(host_id=host_id, reason=1),
                    metadata=meta, timeout=CALL_TIMEOUT)
                with self.lock:
                    self.revoked.append(host_id)
            except grpc.RpcError as e:
                self.note_failure("revoke", started, e)
                if e.code() == grpc.StatusCode.UNAVAILABLE:
                    done.discard(host_id)  # try that host again later
            time.sleep(0.05)

    def wait_for_service(self, what):
        """Both servers answer a database-backed call again: they reconnected."""
        deadline = time.monotonic() + 30
        for server in self.servers:
            while True:
                try:
                    server.admin_stub().ListTokens(
                        admin_pb2.ListTokensRequest(),
                        metadata=harness.admin_metadata(self.d.admin_key), timeout=5)
                    break
                except grpc.RpcError as e:
                    if time.monotonic() > deadline:
                        self.fail("%s: server did not reconnect in 30 s: %s" % (what, e))
                    time.sleep(0.2)

    def outage(self, mode):
        with self.lock:
            before = len(self.enrolled)
        self.down.set()
        pg_ctl(self.d.pg, "-m", mode, "-w", "stop")
        time.sleep(DOWN_SECONDS)
        pg_ctl(self.d.pg, "-l", os.path.join(self.d.pg.folder, "postgres.log"), "-o",
               "-c listen_addresses='' -c unix_socket_directories='%s' -p %d"
               % (self.d.pg.folder, self.d.pg.port), "-w", "-t", "60", "start")
        self.down.clear()
        self.wait_for_service(mode)
        harness.wait_until(lambda: len(self.enrolled) > before + 60, 60,
                           "enrolments to resume after the %s shutdown" % mode)

    def test_calls_fail_fast_while_the_database_is_down_and_nothing_committed_is_lost(self):
        threads = [threading.Thread(target=self.enroller, args=(s, i))
                   for i, s in enumerate(self.servers * 2)]
        threads.append(threading.Thread(target=self.revoker))
        for t in threads:
            t.start()
        try:
            harness.wait_until(lambda: len(self.enrolled) > 60, 60, "a first load")
            self.outage("fast")
            self.outage("immediate")
        finally:
            self.stop.set()
            for t in threads:
                t.join(60)
        for t in threads:
            self.assertFalse(t.is_alive())
        self.assertEqual(self.unexpected, [])

        # Calls while it was down failed fast, and said why.
        self.assertGreater(len(self.failures_down), 0, "no call was made while it was down")
        slowest = max(took for took, _ in self.failures_down)
        self.assertLess(slowest, CALL_TIMEOUT - 1, "a call hung while the database was down")
        for _, details in self.failures_down:
            self.assertIn("database", details)

        # Nothing that answered OK is lost.
        stored = set(self.d.pg.psql(
            "SELECT host_id || ' ' || serial_hex FROM certificates WHERE kind = 'enroll'"
        ).splitlines())
        for host_id, serial in self.enrolled:
            self.assertIn("%s %s" % (host_id, serial), stored)
        revoked = set(self.d.pg.psql(
            "SELECT DISTINCT host_id FROM certificates WHERE revoked_at IS NOT NULL").splitlines())
        self.assertTrue(set(self.revoked) <= revoked, set(self.revoked) - revoked)

        # Both servers serve the current CRLs again (their listeners reconnected).
        current = {int(s): int(n) for s, n in invariants.query(
            self.d.pg.conninfo, "SELECT shard, crl_number FROM crl_shards WHERE shard >= 0")}

        def caught_up():
            for server in self.servers:
                for shard, number in current.items():
                    r = harness.http_get(server.http_port, "/crl/%d.crl" % shard)
                    if number and (r.status != 200 or invariants.Observed(r.body).number != number):
                        return False
            return True
        harness.wait_until(caught_up, 15, "both servers to serve the current CRLs")

        self.assertEqual(invariants.check(self.d.pg.conninfo), [])
        print("database restarts: %d enrolments and %d revocations answered OK, none lost; "
              "%d calls refused while down, the slowest in %.2f s" % (
                  len(self.enrolled), len(self.revoked), len(self.failures_down), slowest),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
