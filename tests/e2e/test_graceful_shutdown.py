"""SIGTERM in the middle of enrolments: the server stops taking calls, lets
those in flight finish or fail cleanly, ends revocation streams, closes its
database connections and exits 0; every enrolment is either wholly there or
wholly absent."""

import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc, host_pb2, revocation_pb2  # noqa: E402

CLIENTS = 8
ENROLMENTS = 160  # at a few hundred a second: the signal lands mid-load
SIGNAL_AFTER = 20  # successful enrolments before SIGTERM


class GracefulShutdownTest(unittest.TestCase):

    def setUp(self):
        self.d = harness.Deployment()
        self.addCleanup(self.d.close)
        self.server = self.d.start_server()

    def backends(self):
        """Client connections to the CA database other than psql's own."""
        return int(self.d.pg.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'hostca'"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"))

    def test_sigterm_mid_load_finishes_or_refuses_each_call_and_exits_zero(self):
        token = harness.create_token(self.server, self.d.admin_key, "shutdown",
                                     max_uses=ENROLMENTS).token
        requests = []
        for i in range(ENROLMENTS):
            name = "h%03d.shutdown.example" % i
            requests.append((name, harness.make_csr(harness.new_key(), name)))
        before = self.d.pg.counts()
        self.assertGreater(self.backends(), 0)

        # A revocation stream is a call that never ends by itself.
        stream = self.server.revocation_stub().WatchRevocations(
            revocation_pb2.WatchRevocationsRequest(), timeout=60)
        stream_result = {}

        def drain():
            try:
                for _ in stream:
                    pass
                stream_result["end"] = "completed"
            except grpc.RpcError as e:
                stream_result["end"] = e.code()
        streamer = threading.Thread(target=drain)
        streamer.start()

        outcomes = {}
        lock = threading.Lock()
        next_index = [0]
        ok_count = [0]
        signalled = threading.Event()

        def client():
            stub = self.server.host_stub()
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= ENROLMENTS:
                    return
                name, csr = requests[i]
                req = host_pb2.RequestCertificateRequest(csr=csr, hostname=name,
                                                         authorization_token=token)
                try:
                    res = stub.RequestCertificate(req, timeout=20)
                    outcome = ("ok", res.host_id)
                except grpc.RpcError as e:
                    outcome = ("error", e.code())
                with lock:
                    outcomes[name] = outcome
                    if outcome[0] == "ok":
                        ok_count[0] += 1
                        if ok_count[0] == SIGNAL_AFTER:
                            signalled.set()

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        self.assertTrue(signalled.wait(60), "no enrolment succeeded before the signal")
        sent_at = time.monotonic()
        self.server.process.send_signal(signal.SIGTERM)
        try:
            code = self.server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.process.kill()
            self.fail("the server did not exit within 30 s of SIGTERM")
        stopped_in = time.monotonic() - sent_at
        for t in threads:
            t.join(60)
            self.assertFalse(t.is_alive())
        streamer.join(30)
        self.assertFalse(streamer.is_alive(), "the revocation stream outlived the server")

        self.assertEqual(code, 0, self.server.log())
        self.assertLess(stopped_in, 15, "shutdown took %.1f s; the grace is 10 s" % stopped_in)
        self.assertIn("hostca-server stopped", self.server.log())
        # The stream was ended by the server, not left to its deadline.
        self.assertIn(stream_result.get("end"), ("completed", grpc.StatusCode.UNAVAILABLE,
                                                 grpc.StatusCode.CANCELLED), stream_result)

        # Every call was made and has an outcome; the refused ones got a
        # status a client retries elsewhere, never a hang or an INTERNAL.
        self.assertEqual(len(outcomes), ENROLMENTS)
        refused = {name: o[1] for name, o in outcomes.items() if o[0] == "error"}
        for name, status in refused.items():
            self.assertIn(status, (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED),
                          "%s: %s" % (name, status))
        succeeded = {name: o[1] for name, o in outcomes.items() if o[0] == "ok"}
        self.assertGreaterEqual(len(succeeded), SIGNAL_AFTER)
        # The signal landed mid-load: some calls came after it.
        self.assertGreater(len(refused), 0, "every call finished before the signal")

        # Wholly there or wholly absent: a host row (and its certificate and
        # its token use) exists exactly for the calls that succeeded.
        rows = self.d.pg.psql(
            "SELECT h.hostname || ' ' || h.host_id || ' ' || count(c.serial_hex)"
            " FROM hosts h LEFT JOIN certificates c USING (host_id)"
            " WHERE h.hostname LIKE '%.shutdown.example' GROUP BY h.hostname, h.host_id")
        stored = {}
        for line in rows.splitlines():
            if line.strip():
                name, host_id, certs = line.split()
                stored[name] = (host_id, int(certs))
        self.assertEqual({n: h for n, (h, _) in stored.items()}, succeeded)
        self.assertTrue(all(certs == 1 for _, certs in stored.values()), stored)
        self.assertEqual(int(self.d.pg.scalar(
            "SELECT uses FROM tokens WHERE name = 'shutdown'")), len(succeeded))
        after = self.d.pg.counts()
        self.assertEqual(after["hosts"], before["hosts"] + len(succeeded))
        self.assertEqual(after["certificates"], before["certificates"] + len(succeeded))
        # token.use and certificate.issue for each, nothing for the others.
        self.assertEqual(after["audit_log"], before["audit_log"] + 2 * len(succeeded))

        # The server closed its database connections on the way out.
        harness.wait_until(lambda: self.backends() == 0, 10,
                           "the server's database connections to close")

        print("graceful shutdown: %d enrolments made, %d succeeded, %d refused; exited 0 "
              "%.2f s after SIGTERM" % (len(outcomes), len(succeeded), len(refused), stopped_in),
              file=sys.stderr)

        # And nothing answers any more.
        err = harness.rpc_error(self.server.host_stub().GetCACertificate,
                                host_pb2.GetCACertificateRequest(), timeout=5)
        self.assertEqual(err.code(), grpc.StatusCode.UNAVAILABLE)


if __name__ == "__main__":
    unittest.main()
