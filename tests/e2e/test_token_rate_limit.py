"""Guessing tokens gets nowhere, and never locks out a host that holds a valid
token (issue 12). Only unknown (or malformed) tokens count; past
--token-failure-budget of them from one client address within the window, that
address's unknown tokens get RESOURCE_EXHAUSTED, while a valid token from the very
same address (a fleet behind one NAT or proxy) is accepted at once. The lockout is
audited once per address per window, with the count and no part of any token.
Behind a trusted proxy the client address comes from x-forwarded-for; from any
other peer that header counts for nothing."""

import base64
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc, host_pb2  # noqa: E402

BUDGET = 5
WINDOW = 3  # seconds: the refusal audit window, so the row is written during the test


def guess(prefix="hca_auth_"):
    return prefix + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


class TokenRateLimitTest(unittest.TestCase):

    def setUp(self):
        self.d = harness.Deployment()
        self.addCleanup(self.d.close)
        self.server = self.d.start_server(
            ("--token-failure-budget", str(BUDGET), "--token-failure-window", "60s",
             "--refusal-audit-window", "%ds" % WINDOW))

    def enrol(self, token, name, metadata=None, timeout=30):
        return self.server.host_stub().RequestCertificate(host_pb2.RequestCertificateRequest(
            csr=harness.make_csr(harness.new_key(), name), hostname=name,
            authorization_token=token), metadata=metadata, timeout=timeout)

    def rate_limited_rows(self):
        return self.d.pg.psql(
            "SELECT actor || '|' || outcome || '|' || details::text FROM audit_log"
            " WHERE action = 'token.rate_limited' ORDER BY sequence").splitlines()

    def test_forty_guesses_then_a_valid_token_from_the_same_address_succeeds_at_once(self):
        valid = harness.create_token(self.server, self.d.admin_key, "valid", max_uses=2).token
        guesses = [guess() for _ in range(39)] + ["not-a-token"]  # malformed counts too
        codes = []
        for i, g in enumerate(guesses):
            err = harness.rpc_error(self.enrol, g, "g%d.example" % i)
            codes.append(err.code())
            if i >= BUDGET:
                self.assertIn("a valid token is accepted", err.details())
        self.assertEqual(codes, [grpc.StatusCode.UNAUTHENTICATED] * BUDGET
                         + [grpc.StatusCode.RESOURCE_EXHAUSTED] * (40 - BUDGET))
        before = self.d.pg.counts()

        res = self.enrol(valid, "fine.example")  # same address, at once
        self.assertTrue(res.certificate_der)
        after = self.d.pg.counts()
        self.assertEqual(after["hosts"], before["hosts"] + 1)

        # The lockout: one audit row for this address and window, with the count.
        harness.wait_until(lambda: self.rate_limited_rows(), WINDOW + 15,
                           "the aggregated rate-limit audit row")
        rows = self.rate_limited_rows()
        self.assertEqual(len(rows), 1, rows)
        actor, outcome, details = rows[0].split("|", 2)
        self.assertEqual((actor, outcome), ("peer:ipv4:127.0.0.1", "refused"))
        self.assertIn('"count": %d' % (40 - BUDGET), details)
        for g in guesses[:-1] + [valid]:
            self.assertNotIn(g[9:], details)
        # Not one row per guess: the whole flood cost one row.
        self.assertEqual(self.d.pg.scalar(
            "SELECT count(*) FROM audit_log WHERE actor LIKE 'peer:%'"), 1)

    def test_used_up_and_expired_tokens_are_not_guesses(self):
        used = harness.create_token(self.server, self.d.admin_key, "once", max_uses=1).token
        self.enrol(used, "first.example")
        for i in range(3 * BUDGET):
            err = harness.rpc_error(self.enrol, used, "again%d.example" % i)
            self.assertEqual(err.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
            self.assertIn("is used up", err.details())
        err = harness.rpc_error(self.enrol, guess(), "g.example")
        self.assertEqual(err.code(), grpc.StatusCode.UNAUTHENTICATED, err.details())

    def test_forwarded_for_counts_only_from_a_trusted_proxy(self):
        proxied = self.d.start_server(
            ("--token-failure-budget", str(BUDGET), "--trusted-proxies", "127.0.0.1"))
        untrusted = self.server  # trusts no proxy: the header is the caller's claim

        def enrol_via(server, token, client, timeout=30):
            md = (("x-forwarded-for", client),)
            return server.host_stub().RequestCertificate(host_pb2.RequestCertificateRequest(
                csr=harness.make_csr(harness.new_key(), "p.example"), hostname="p.example",
                authorization_token=token), metadata=md, timeout=timeout)

        # Through the trusted proxy, one client guesses past its budget ...
        for _ in range(BUDGET):
            err = harness.rpc_error(enrol_via, proxied, guess(), "198.51.100.7")
            self.assertEqual(err.code(), grpc.StatusCode.UNAUTHENTICATED)
        err = harness.rpc_error(enrol_via, proxied, guess(), "198.51.100.7")
        self.assertEqual(err.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        # ... and another client behind the same proxy is not limited by it.
        err = harness.rpc_error(enrol_via, proxied, guess(), "198.51.100.8")
        self.assertEqual(err.code(), grpc.StatusCode.UNAUTHENTICATED)
        # Without trust, naming a fresh address in the header escapes nothing.
        for i in range(BUDGET):
            harness.rpc_error(enrol_via, untrusted, guess(), "192.0.2.%d" % i)
        err = harness.rpc_error(enrol_via, untrusted, guess(), "192.0.2.200")
        self.assertEqual(err.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)


if __name__ == "__main__":
    unittest.main()
