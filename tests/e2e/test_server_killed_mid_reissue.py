"""kill -9 of a server in the middle of reissues: every reissue is wholly
there (old certificate revoked and on its shard's CRL, new one issued, token
used, audited) or wholly absent (old certificate still valid, token
unused), and the surviving server goes on."""

import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import invariants  # noqa: E402
from harness import admin_pb2, grpc, host_pb2  # noqa: E402

HOSTS = 120
CLIENTS = 6
KILL_AFTER = 15  # reissues answered before the kill


class ServerKilledMidReissueTest(unittest.TestCase):

    def setUp(self):
        self.d = harness.Deployment(crl_shards=4)
        self.addCleanup(self.d.close)
        self.victim = self.d.start_server()
        self.survivor = self.d.start_server()

    def test_kill_9_mid_reissue_leaves_each_reissue_whole_or_absent(self):
        token = harness.create_token(self.survivor, self.d.admin_key, "hosts",
                                     max_uses=HOSTS).token
        stub = self.survivor.host_stub()
        admin = self.survivor.admin_stub()
        meta = harness.admin_metadata(self.d.admin_key)
        work = []
        for i in range(HOSTS):
            name = "k%03d.kill.example" % i
            res = stub.RequestCertificate(host_pb2.RequestCertificateRequest(
                csr=harness.make_csr(harness.new_key(), name), hostname=name,
                authorization_token=token), timeout=30)
            reissue = admin.CreateReissueToken(
                admin_pb2.CreateReissueTokenRequest(host_id=res.host_id), metadata=meta,
                timeout=30)
            work.append((res.host_id, res.serial_hex, reissue.token_id, reissue.token,
                         harness.make_csr(harness.new_key(), name)))

        lock = threading.Lock()
        next_index = [0]
        outcomes = {}
        answered = threading.Event()

        def client():
            host_stub = self.victim.host_stub()
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= HOSTS:
                    return
                host_id, _, _, reissue_token, csr = work[i]
                try:
                    host_stub.ReissueCertificate(host_pb2.ReissueCertificateRequest(
                        host_id=host_id, csr=csr, reissue_token=reissue_token), timeout=20)
                    outcome = "ok"
                except grpc.RpcError as e:
                    outcome = e.code()
                with lock:
                    outcomes[host_id] = outcome
                    if sum(1 for o in outcomes.values() if o == "ok") >= KILL_AFTER:
                        answered.set()

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        self.assertTrue(answered.wait(60), "no reissue was answered before the kill")
        self.victim.process.send_signal(signal.SIGKILL)
        self.victim.process.wait(timeout=10)
        for t in threads:
            t.join(60)
            self.assertFalse(t.is_alive())
        self.assertEqual(len(outcomes), HOSTS)
        for host_id, outcome in outcomes.items():
            self.assertIn(outcome, ("ok", grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.CANCELLED), host_id)

        # Each reissue is whole or absent, whatever its client was told.
        committed = absent = 0
        for host_id, old_serial, token_id, _, _ in work:
            row = self.d.pg.psql(
                "SELECT (SELECT revoked_at IS NOT NULL FROM certificates WHERE serial_hex = '%s'),"
                " (SELECT count(*) FROM certificates WHERE host_id = '%s' AND kind = 'reissue'),"
                " (SELECT uses FROM tokens WHERE token_id = '%s'),"
                " (SELECT count(*) FROM audit_log WHERE action = 'certificate.reissue'"
                "  AND subject = '%s'),"
                " (SELECT count(*) FROM revocation_events WHERE serial_hex = '%s')"
                % (old_serial, host_id, token_id, host_id, old_serial))
            revoked, new_certs, uses, audited, events = row.split("|")
            whole = (revoked, new_certs, uses, audited, events) == ("t", "1", "1", "1", "1")
            gone = (revoked, new_certs, uses, audited, events) == ("f", "0", "0", "0", "0")
            self.assertTrue(whole or gone, "host %s half reissued: %s" % (host_id, row))
            if outcomes[host_id] == "ok":
                self.assertTrue(whole, "host %s was told OK but: %s" % (host_id, row))
            committed += whole
            absent += gone
        self.assertGreaterEqual(committed, KILL_AFTER)
        self.assertGreater(absent, 0, "the kill came after every reissue")

        # The survivor goes on: the absent reissues still work through it,
        # with the same tokens.
        host_stub = self.survivor.host_stub()
        for host_id, _, _, reissue_token, csr in work:
            if outcomes[host_id] != "ok" and self.d.pg.scalar(
                    "SELECT count(*) FROM certificates WHERE host_id = '%s'"
                    " AND kind = 'reissue'" % host_id) == 0:
                host_stub.ReissueCertificate(host_pb2.ReissueCertificateRequest(
                    host_id=host_id, csr=csr, reissue_token=reissue_token), timeout=30)
                break
        else:
            self.fail("no absent reissue to retry")

        bad = invariants.check(self.d.pg.conninfo)
        self.assertEqual(bad, [])
        print("kill -9 mid-reissue: %d reissues committed, %d absent, none half; "
              "invariants hold" % (committed, absent), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
