"""Guessing tokens gets nowhere: past --token-failure-budget failed attempts
from one address within the window, further attempts are refused with
RESOURCE_EXHAUSTED before the token is looked up (a valid token included,
so a guess that happens to be right is refused too); the lockout is
audited once, with no part of any token; the database is otherwise left as
it was; and a caller that has not failed is not slowed or refused."""

import base64
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc, host_pb2  # noqa: E402

BUDGET = 5


def guess(prefix="hca_auth_"):
    return prefix + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


class TokenRateLimitTest(unittest.TestCase):

    def setUp(self):
        self.d = harness.Deployment()
        self.addCleanup(self.d.close)
        self.limited = self.d.start_server(
            ("--token-failure-budget", str(BUDGET), "--token-failure-window", "30s"))
        self.other = self.d.start_server(("--token-failure-budget", str(BUDGET)))

    def enrol(self, server, token, name, timeout=30):
        return server.host_stub().RequestCertificate(host_pb2.RequestCertificateRequest(
            csr=harness.make_csr(harness.new_key(), name), hostname=name,
            authorization_token=token), timeout=timeout)

    def test_past_the_budget_an_address_is_refused_even_with_a_valid_token(self):
        valid = harness.create_token(self.limited, self.d.admin_key, "valid", max_uses=2).token
        guesses = [guess() for _ in range(BUDGET - 1)] + ["not-a-token"]  # malformed counts too
        for i, g in enumerate(guesses):
            err = harness.rpc_error(self.enrol, self.limited, g, "g%d.example" % i)
            self.assertEqual(err.code(), grpc.StatusCode.UNAUTHENTICATED, err.details())
        before = self.d.pg.counts()
        audit_before = self.d.pg.max_audit_sequence()

        for token in (guess(), valid):
            err = harness.rpc_error(self.enrol, self.limited, token, "locked.example")
            self.assertEqual(err.code(), grpc.StatusCode.RESOURCE_EXHAUSTED, err.details())
            self.assertIn("too many failed authorization token attempts", err.details())
            self.assertIn("try again in", err.details())
        self.assertEqual(self.d.pg.counts(), before)  # the valid token was not used

        # The lockout was audited once, when the budget ran out, before these.
        rows = self.d.pg.psql(
            "SELECT actor || '|' || outcome || '|' || details::text FROM audit_log"
            " WHERE action = 'token.rate_limited'").splitlines()
        self.assertEqual(len(rows), 1, rows)
        actor, outcome, details = rows[0].split("|", 2)
        self.assertEqual(outcome, "refused")
        self.assertTrue(actor.startswith("peer:ipv4:127.0.0.1"), actor)
        self.assertIn('"limited_by": "peer"', details)
        for g in guesses + [valid]:
            self.assertNotIn(g[:13], details)
            self.assertNotIn(g[9:], details)
        self.assertEqual(self.d.pg.max_audit_sequence(), audit_before)

        # Another server keeps its own count: the same valid token works
        # there at once, and as fast as ever.
        started = time.monotonic()
        res = self.enrol(self.other, valid, "fine.example")
        self.assertTrue(res.certificate_der)
        self.assertLess(time.monotonic() - started, 5)


if __name__ == "__main__":
    unittest.main()
