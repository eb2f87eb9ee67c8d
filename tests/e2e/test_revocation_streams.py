"""WatchRevocations streams are free to open and anyone may hold them open (issue
12): a server takes at most --max-revocation-streams at once and refuses more with
RESOURCE_EXHAUSTED (a slot frees when a stream ends), and every stream reads from
the server's one shared database reader: twenty idle subscribers do not make twenty
pollers of the database, and each still hears of a revocation."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc, revocation_pb2  # noqa: E402

CAP = 25
IDLE = 20
WAIT = 15


class RevocationStreamsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=2)
        try:
            cls.server = cls.d.start_server(("--max-revocation-streams", str(CAP)))
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def open_stream(self):
        call = self.server.revocation_stub().WatchRevocations(
            revocation_pb2.WatchRevocationsRequest(after_sequence=0), timeout=120)
        reader = harness.StreamReader(call)
        self.addCleanup(reader.cancel)
        return reader

    def transactions(self):
        return self.d.pg.scalar("SELECT xact_commit + xact_rollback FROM pg_stat_database"
                                " WHERE datname = 'hostca'")

    def test_a_past_the_cap_a_stream_is_resource_exhausted_until_one_ends(self):
        readers = [self.open_stream() for _ in range(CAP)]
        harness.wait_until(lambda: all(r.accepted.is_set() for r in readers), WAIT,
                           "the server to take every stream")
        self.assertTrue(all(r.error is None for r in readers))
        extra = self.open_stream()
        harness.wait_until(lambda: extra.error is not None, WAIT, "the refusal past the cap")
        self.assertEqual(extra.error.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("revocation streams", extra.error.details())
        readers[0].cancel()

        def another_is_taken():
            r = self.open_stream()
            time.sleep(1)  # a refusal comes at once; an accepted stream stays open
            if r.error is None:
                return True
            r.cancel()
            return False
        harness.wait_until(another_is_taken, WAIT, "a freed slot")
        for r in readers:
            r.cancel()

    def test_b_idle_streams_share_one_reader_and_each_hears_of_a_revocation(self):
        res, _ = harness.enroll_host(self.server, self.d.admin_key, "watched.example")
        # The server frees a cancelled stream's slot when its handler next wakes
        # (within a second): the streams of the test before are gone by then.
        time.sleep(2.5)
        readers = [self.open_stream() for _ in range(IDLE)]
        harness.wait_until(lambda: all(r.accepted.is_set() for r in readers), WAIT,
                           "the server to take every stream")
        time.sleep(1)  # every stream is in its wait
        self.assertTrue(all(r.error is None for r in readers))
        before = self.transactions()
        time.sleep(6)
        idle = self.transactions() - before
        # One reader looks once a second: a handful of transactions, not one per
        # stream per second (which would be 120 here).
        self.assertLess(idle, 40, idle)
        harness.revoke(self.server, self.d.admin_key, host_id=res.host_id, reason=1)
        for r in readers:
            event = r.next(timeout=WAIT)
            self.assertEqual(event.host_id, res.host_id)
            self.assertTrue(harness.same_serial(event.serial_hex, res.serial_hex))


if __name__ == "__main__":
    unittest.main()
