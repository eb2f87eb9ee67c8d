"""CRLs are republished on a schedule before their nextUpdate, without any
revocation, keeping every entry; with two servers on one database the CRL
numbers of each shard only go up and one number never names two different CRLs.
The servers run with a 20 s CRL validity republished 15 s before nextUpdate, so
a CRL is due 5 s after it was published."""

import hashlib
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import x509  # noqa: E402

SHARDS = 2
VALIDITY = 20
FLAGS = ["--crl-validity", "%ds" % VALIDITY, "--crl-republish-before", "15s",
         "--crl-check-interval", "1s"]
SAMPLE_FOR = 9    # seconds of sampling with two servers: more than one republish period (5-6 s)
WAIT = 15


class CrlScheduleTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=SHARDS)
        try:
            cls.a = cls.d.start_server(FLAGS)
            harness.wait_for_crls(cls.a, SHARDS)
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def test_schedule_republishes_with_every_entry_and_two_servers_never_reuse_a_number(self):
        # -- one server: a revoked host, then a republish with no revocation in between
        res, _ = harness.enroll_host(self.a, self.d.admin_key, "schedule.example")
        harness.revoke(self.a, self.d.admin_key, serial_hex=res.serial_hex,
                       reason=harness.REASON_KEY_COMPROMISE)
        shard = harness.crl_shard_of(res.host_id, SHARDS)
        start = harness.get_crls(self.a)
        first = x509.load_der_x509_crl(start[shard].crl_der)
        entries = harness.crl_entries(first)
        self.assertEqual(entries[int(res.serial_hex, 16)][1], harness.REASON_KEY_COMPROMISE)
        revoked_before = self.d.pg.scalar(
            "SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL")

        latest = {}

        def every_shard_republished():
            latest.clear()
            latest.update(harness.get_crls(self.a))
            return all(latest[s].crl_number > start[s].crl_number for s in range(SHARDS))
        harness.wait_until(every_shard_republished, WAIT,
                           "every shard's CRL number to go up without a revocation",
                           interval=0.25)
        self.assertEqual(self.d.pg.scalar(
            "SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL"), revoked_before)
        again = x509.load_der_x509_crl(latest[shard].crl_der)
        harness.check_crl_profile(self, again, self.d.ca_cert, url=harness.crl_url(self.a, shard),
                                  validity_seconds=VALIDITY)
        self.assertEqual(harness.crl_entries(again), entries)
        self.assertGreaterEqual(again.last_update, first.last_update)
        self.assertEqual(harness.crl_number_of(again), latest[shard].crl_number)
        http = harness.http_get(self.a.http_port, "/crl/%d.crl" % shard)
        self.assertEqual(http.status, 200, http)
        self.assertGreaterEqual(harness.crl_number_of(x509.load_der_x509_crl(http.body)),
                                latest[shard].crl_number)

        # -- two servers: sample both; numbers go up, one number is one CRL
        b = self.d.start_server(FLAGS + ["--crl-base-url",
                                         "http://127.0.0.1:%d/crl" % self.a.http_port])
        servers = {"A": self.a, "B": b}
        second, _ = harness.enroll_host(b, self.d.admin_key, "schedule-b.example")
        samples = []          # (server name, shard, number, sha256 of DER, after the revocation)
        ders = {}
        revoked_second = False
        deadline = time.monotonic() + SAMPLE_FOR
        while time.monotonic() < deadline:
            for name, server in servers.items():
                for s, c in harness.get_crls(server).items():
                    digest = hashlib.sha256(c.crl_der).hexdigest()
                    ders[digest] = c.crl_der
                    samples.append((name, s, c.crl_number, digest, revoked_second))
            if not revoked_second and time.monotonic() > deadline - SAMPLE_FOR / 2:
                # A revocation through B halfway: every CRL after it lists it.
                harness.revoke(b, self.d.admin_key, serial_hex=second.serial_hex,
                               reason=harness.REASON_SUPERSEDED)
                revoked_second = True
            time.sleep(0.2)

        by_number = {}
        for name, s, number, digest, _ in samples:
            by_number.setdefault((s, number), set()).add(digest)
        for (s, number), digests in by_number.items():
            self.assertEqual(len(digests), 1, "shard %d has %d different CRLs numbered %d"
                             % (s, len(digests), number))
        for name in servers:
            for s in range(SHARDS):
                seen = [n for srv, sh, n, _, _ in samples if srv == name and sh == s]
                self.assertTrue(seen)
                self.assertEqual(seen, sorted(seen), "%s shard %d went backwards" % (name, s))
        for s in range(SHARDS):
            numbers = sorted({n for _, sh, n, _, _ in samples if sh == s})
            self.assertGreater(len(numbers), 1, "shard %d was not republished with two servers"
                               % s)
            self.assertGreaterEqual(numbers[0], latest[s].crl_number)
        second_shard = harness.crl_shard_of(second.host_id, SHARDS)
        for name, s, number, digest, after in samples:
            crl = x509.load_der_x509_crl(ders[digest])
            self.assertEqual(harness.crl_number_of(crl), number)
            got = harness.crl_entries(crl)
            if s == shard:
                self.assertEqual(got.get(int(res.serial_hex, 16)),
                                 entries[int(res.serial_hex, 16)])
            if after and s == second_shard:
                self.assertIn(int(second.serial_hex, 16), got,
                              "%s served CRL %d of shard %d without a committed revocation"
                              % (name, number, s))
        # Neither server fell over while both raced to republish.
        self.assertEqual(b.process.poll(), None)
        self.assertEqual(self.a.process.poll(), None)


if __name__ == "__main__":
    unittest.main()
