"""Renewal is bounded (issue 12): a host holds at most
--max-valid-certificates valid certificates at once. Renewing past it is refused
with FAILED_PRECONDITION and a message that says when renewal is possible again;
the agent prints that one line and writes nothing; the database is left as it was.
Revoking an older certificate makes room at once. The invariant checker finds no
host over the bound, and does find one that is."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import invariants  # noqa: E402
from harness import grpc  # noqa: E402

BOUND = 3


class RenewalBoundTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=2)
        try:
            cls.server = cls.d.start_server()
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def test_twelve_renewals_in_a_row_stop_at_the_bound(self):
        path = harness.enrolled_agent(self.d, self.server, os.path.join(self.d.folder, "agent"),
                                      "renewing.example")
        first = harness.agent_identity(path)
        results = [self.d.agent_cli(path, "renew") for _ in range(12)]
        self.assertEqual([r.returncode for r in results[:BOUND - 1]], [0] * (BOUND - 1),
                         results[:BOUND - 1])
        for r in results[BOUND - 1:]:
            line = harness.agent_error_line(self, r, 1, "renewal is possible again at",
                                            "FAILED_PRECONDITION")
            # When the oldest (the enrolment's) expires.
            self.assertIn(first["cert"].not_valid_after.strftime("%Y-%m-%dT%H:%M:%SZ").lower(),
                          line.lower())
        host_id = first["host_id"]
        valid = self.d.pg.scalar(
            "SELECT count(*) FROM certificates WHERE host_id = '%s' AND revoked_at IS NULL"
            " AND not_after > now()" % host_id)
        self.assertEqual(valid, BOUND)
        self.assertEqual([b for b in invariants.check(self.d.pg.conninfo)
                          if "over the bound" in b], [])

        # The RPC says the same, and a refusal leaves the database as it was.
        ident = harness.agent_identity(path)
        before = harness.renewal_state(self.d)
        err = harness.rpc_error(harness.renew_rpc, self.server, ident["key_pem"],
                                ident["cert_pem"], harness.make_csr(harness.new_key()))
        self.assertEqual(err.code(), grpc.StatusCode.FAILED_PRECONDITION, err.details())
        self.assertEqual(harness.renewal_state(self.d), before)

        # An admin revokes the oldest: room for one more.
        harness.revoke(self.server, self.d.admin_key, serial_hex="%x" % first["cert"].serial_number)
        r = self.d.agent_cli(path, "renew")
        self.assertEqual(r.returncode, 0, r)

    def test_the_invariant_checker_finds_a_host_over_the_bound(self):
        res, _ = harness.enroll_host(self.server, self.d.admin_key, "over.example")
        self.d.pg.psql(
            "INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der,"
            " created_at, crl_shard, ca_generation) SELECT 'fe' || lpad(to_hex(g), 14, '0'),"
            " host_id, 'renew', now(), now() + interval '1 day', der, now(), crl_shard,"
            " ca_generation FROM certificates,"
            " generate_series(1, %d) AS g WHERE host_id = '%s'" % (BOUND, res.host_id))
        bad = [b for b in invariants.check(self.d.pg.conninfo) if "over the bound" in b]
        self.assertEqual(len(bad), 1, bad)
        self.assertIn(res.host_id, bad[0])
        self.d.pg.psql("UPDATE certificates SET revoked_at = now(), revocation_reason = 4"
                       " WHERE serial_hex LIKE 'fe%'")


if __name__ == "__main__":
    unittest.main()
