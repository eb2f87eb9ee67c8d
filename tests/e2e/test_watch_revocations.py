"""WatchRevocations across two servers on one database: a subscriber on B hears
of revocations made through A, resumes after a disconnect with exactly the
events it missed, and GetCRL through B lists what A revoked. Every wait on the
stream is bounded (15 s)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import revocation_pb2, x509  # noqa: E402

SHARDS = 4
WAIT = 15        # seconds for any one event
STREAM_DEADLINE = 60


class WatchRevocationsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=SHARDS)
        try:
            cls.a = cls.d.start_server()
            # Both servers name the same CRL URLs, as behind one load balancer.
            cls.b = cls.d.start_server(["--crl-base-url",
                                        "http://127.0.0.1:%d/crl" % cls.a.http_port])
            harness.wait_for_crls(cls.a, SHARDS)
        except BaseException:
            cls.d.close()
            raise
        cls.readers = []

    @classmethod
    def tearDownClass(cls):
        for r in cls.readers:
            r.cancel()
        cls.d.close()

    def watch(self, server, after_sequence):
        stub = server.revocation_stub()
        # A call on an open channel first, so the subscription is not held up by a handshake.
        harness.get_crls(server, 0)
        call = stub.WatchRevocations(
            revocation_pb2.WatchRevocationsRequest(after_sequence=after_sequence),
            timeout=STREAM_DEADLINE)
        reader = harness.StreamReader(call)
        self.readers.append(reader)
        if after_sequence == 0:
            # "From now" is when B takes the call: give the request a moment to arrive
            # before the first revocation (not an assertion; nothing is timed).
            harness.time.sleep(0.3)
        return reader

    def enroll(self, name):
        res, _ = harness.enroll_host(self.a, self.d.admin_key, name + ".example")
        return res

    def assert_event(self, event, serial_hex, host_id, reason):
        self.assertTrue(harness.same_serial(event.serial_hex, serial_hex),
                        (event.serial_hex, serial_hex))
        self.assertEqual(event.host_id, host_id)
        self.assertEqual(event.reason, reason)
        shard = harness.crl_shard_of(host_id, SHARDS)
        self.assertEqual(event.shard, shard)
        self.assertGreater(event.sequence, 0)
        # The CRL the event names lists the serial with its reason and revocation date.
        crl = x509.load_der_x509_crl(harness.get_crls(self.b, shard)[shard].crl_der)
        self.assertGreaterEqual(harness.crl_number_of(crl), event.crl_number)
        entry = harness.crl_entries(crl)[int(serial_hex, 16)]
        self.assertEqual(entry[1], reason)
        self.assertEqual(int(entry[0].replace(tzinfo=harness.datetime.timezone.utc).timestamp()),
                         event.revoked_at.seconds)

    def test_b_streams_revocations_made_through_a_and_resumes_without_loss_or_repeat(self):
        hosts = [self.enroll("watch%d" % i) for i in range(5)]
        reader = self.watch(self.b, 0)

        # 1. A revocation through A reaches the subscriber on B.
        before = harness.get_crls(self.b)
        h0 = hosts[0]
        harness.revoke(self.a, self.d.admin_key, serial_hex=h0.serial_hex,
                       reason=harness.REASON_KEY_COMPROMISE)
        first = reader.next(WAIT)
        self.assert_event(first, h0.serial_hex, h0.host_id, harness.REASON_KEY_COMPROMISE)
        shard0 = harness.crl_shard_of(h0.host_id, SHARDS)
        self.assertEqual(first.crl_number, harness.get_crls(self.b, shard0)[shard0].crl_number)
        self.assertGreater(first.crl_number, before[shard0].crl_number)

        # 2. Disconnect; two revocations happen meanwhile; resume after the last seen.
        reader.cancel()
        missed = hosts[1:3]
        harness.revoke(self.a, self.d.admin_key, serial_hex=missed[0].serial_hex,
                       reason=harness.REASON_SUPERSEDED)
        harness.revoke(self.a, self.d.admin_key, host_id=missed[1].host_id,
                       reason=harness.REASON_CESSATION_OF_OPERATION)
        resumed = self.watch(self.b, first.sequence)
        got = [resumed.next(WAIT), resumed.next(WAIT)]
        self.assert_event(got[0], missed[0].serial_hex, missed[0].host_id,
                          harness.REASON_SUPERSEDED)
        self.assert_event(got[1], missed[1].serial_hex, missed[1].host_id,
                          harness.REASON_CESSATION_OF_OPERATION)
        self.assertLess(first.sequence, got[0].sequence)
        self.assertLess(got[0].sequence, got[1].sequence)

        # 3. The resumed stream goes on live, with nothing repeated in between.
        h3 = hosts[3]
        harness.revoke(self.a, self.d.admin_key, serial_hex=h3.serial_hex,
                       reason=harness.REASON_KEY_COMPROMISE)
        live = resumed.next(WAIT)
        self.assert_event(live, h3.serial_hex, h3.host_id, harness.REASON_KEY_COMPROMISE)
        self.assertGreater(live.sequence, got[1].sequence)

        # 4. Resuming on the other server from the same point gives the same events.
        on_a = self.watch(self.a, first.sequence)
        again = [on_a.next(WAIT) for _ in range(3)]
        self.assertEqual([(e.sequence, int(e.serial_hex, 16), e.reason, e.shard, e.crl_number)
                          for e in again],
                         [(e.sequence, int(e.serial_hex, 16), e.reason, e.shard, e.crl_number)
                          for e in got + [live]])
        on_a.cancel()

        # 5. A reissue through A is a revocation too (reason superseded).
        h4 = hosts[4]
        token = harness.create_reissue_token(self.a, self.d.admin_key, h4.host_id)
        harness.reissue(self.a, h4.host_id, token=token.token)
        reissued = resumed.next(WAIT)
        self.assert_event(reissued, h4.serial_hex, h4.host_id, harness.REASON_SUPERSEDED)
        self.assertGreater(reissued.sequence, live.sequence)
        resumed.cancel()

    def test_get_crl_through_b_lists_what_was_revoked_through_a(self):
        hosts = [self.enroll("crl-b%d" % i) for i in range(3)]
        reasons = [harness.REASON_KEY_COMPROMISE, harness.REASON_SUPERSEDED,
                   harness.REASON_UNSPECIFIED]
        for h, reason in zip(hosts, reasons):
            harness.revoke(self.a, self.d.admin_key, serial_hex=h.serial_hex, reason=reason)
        crls = harness.get_crls(self.b)
        self.assertEqual(set(crls), set(range(SHARDS)))
        self.assertEqual({s: c.crl_number for s, c in crls.items()},
                         {s: c.crl_number for s, c in harness.get_crls(self.a).items()})
        for h, reason in zip(hosts, reasons):
            shard = harness.crl_shard_of(h.host_id, SHARDS)
            crl = x509.load_der_x509_crl(crls[shard].crl_der)
            harness.check_crl_profile(self, crl, self.d.ca_cert,
                                      url=harness.crl_url(self.a, shard))
            self.assertEqual(harness.crl_entries(crl)[int(h.serial_hex, 16)][1], reason)
            # B's HTTP endpoint serves the same CRL once A's NOTIFY has reached B
            # (its cache reads the shard 20 ms after the notification: not at once).
            served = {}

            def b_serves_it():
                res = harness.http_get(self.b.http_port, "/crl/%d.crl" % shard)
                self.assertEqual(res.status, 200, res)
                served["crl"] = x509.load_der_x509_crl(res.body)
                return harness.crl_number_of(served["crl"]) >= crls[shard].crl_number
            harness.wait_until(b_serves_it, WAIT, "B to serve CRL %d of shard %d over HTTP"
                               % (crls[shard].crl_number, shard))
            self.assertIn(int(h.serial_hex, 16), harness.crl_entries(served["crl"]))


if __name__ == "__main__":
    unittest.main()
