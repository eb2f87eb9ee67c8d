"""The failover drill of docs/scaling.md: deploy/replica.sh starts a PostgreSQL
primary with a synchronous streaming replica and two hostca servers whose
connection string names both (target_session_attrs=read-write). Hosts are
enrolled through both servers, one is revoked, and enrolments keep running
while `deploy/replica.sh failover` kills the primary (-m immediate) and
promotes the replica. Without being restarted, both servers answer again
within a bounded wait; every enrolment and revocation that answered OK
before is on the new primary; the CRLs served over HTTP list the revoked
serials; and the invariant checker finds nothing wrong."""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import invariants  # noqa: E402
from harness import admin_pb2, admin_pb2_grpc, grpc, host_pb2, host_pb2_grpc  # noqa: E402

REPLICA_SH = os.path.join(harness.SOURCE_DIR, "deploy", "replica.sh")
SHARDS = 4
HOSTS_BEFORE = 6          # enrolled one by one through the two servers
CALL_TIMEOUT = 10
RECONNECT_LIMIT = 60      # seconds the servers get to answer again after the failover


class DrillServer:
    """One server started by replica.sh, seen through its ready file."""

    def __init__(self, folder, index, ca_pem):
        with open(os.path.join(folder, "server%d.ready.json" % index)) as f:
            ready = json.load(f)
        with open(os.path.join(folder, "server%d.pid" % index)) as f:
            self.pid = int(f.read())
        self.name = "server%d" % index
        self.log_path = os.path.join(folder, "server%d.log" % index)
        self.grpc_port = ready["grpc_port"]
        self.http_port = ready["http_port"]
        self.address = "127.0.0.1:%d" % self.grpc_port
        self.channel = grpc.secure_channel(self.address, grpc.ssl_channel_credentials(ca_pem))

    def host_stub(self):
        return host_pb2_grpc.HostServiceStub(self.channel)

    def admin_stub(self):
        return admin_pb2_grpc.AdminServiceStub(self.channel)

    def alive(self):
        try:
            os.kill(self.pid, 0)
            return True
        except OSError:
            return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class FailoverDrillTest(unittest.TestCase):

    def replica_sh(self, command, timeout=180):
        r = harness.run(["bash", REPLICA_SH, command, self.folder], timeout=timeout,
                        env={"HOSTCA_BUILD_DIR": harness.BUILD_DIR,
                             "HOSTCA_CRL_SHARDS": str(SHARDS)},
                        stdin=harness.subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r)
        return r

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="hostca-failover-")
        os.chmod(self.folder, 0o711)  # the postgres user walks into it
        if not os.environ.get("HOSTCA_E2E_KEEP"):
            self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)
        # Runs even when start fails half-way: stop only stops what is running.
        self.addCleanup(harness.run, ["bash", REPLICA_SH, "stop", self.folder], timeout=180,
                        stdin=harness.subprocess.DEVNULL)
        self.start_output = self.replica_sh("start", timeout=300).stdout
        with open(os.path.join(self.folder, "tls", "ca.pem"), "rb") as f:
            self.ca_pem = f.read()
        with open(os.path.join(self.folder, "admin.key")) as f:
            self.admin_key = f.read().strip()
        self.servers = [DrillServer(self.folder, i, self.ca_pem) for i in range(2)]
        for s in self.servers:
            self.addCleanup(s.channel.close)
        self.meta = harness.admin_metadata(self.admin_key)
        self.lock = threading.Lock()
        self.enrolled = []   # (host_id, serial_hex) answered OK
        self.failed = []     # (code, details) of calls refused during the failover

    def conninfo(self, node):
        port = {"pg1": 5432, "pg2": 5433}[node]
        return "host=%s port=%d dbname=hostca user=hostca" % (
            os.path.join(self.folder, node), port)

    def enrol(self, server, hostname, token=None):
        if token is None:
            token = server.admin_stub().CreateAuthorizationToken(
                admin_pb2.CreateAuthorizationTokenRequest(name="drill " + hostname, max_uses=1),
                metadata=self.meta, timeout=CALL_TIMEOUT).token
        res = server.host_stub().RequestCertificate(
            host_pb2.RequestCertificateRequest(
                csr=harness.make_csr(harness.new_key(), hostname), hostname=hostname,
                authorization_token=token),
            timeout=CALL_TIMEOUT)
        with self.lock:
            self.enrolled.append((res.host_id, res.serial_hex))
        return res

    def revoke(self, server, host_id):
        server.admin_stub().RevokeCertificate(
            admin_pb2.RevokeCertificateRequest(host_id=host_id, reason=1),
            metadata=self.meta, timeout=CALL_TIMEOUT)

    def enroller(self, server, index, stop):
        token = server.admin_stub().CreateAuthorizationToken(
            admin_pb2.CreateAuthorizationTokenRequest(name="load %d" % index, max_uses=10000),
            metadata=self.meta, timeout=CALL_TIMEOUT).token
        n = 0
        while not stop.is_set():
            n += 1
            try:
                self.enrol(server, "load%d-%d.failover.example" % (index, n), token)
            except grpc.RpcError as e:
                with self.lock:
                    self.failed.append((e.code().name, e.details()))
                time.sleep(0.1)

    def answers(self, server):
        try:
            server.admin_stub().ListTokens(admin_pb2.ListTokensRequest(), metadata=self.meta,
                                           timeout=5)
            return True
        except grpc.RpcError:
            return False

    def crl_serials(self, server, shard):
        r = harness.http_get(server.http_port, "/crl/%d.crl" % shard)
        if r.status != 200:
            return set()
        return invariants.Observed(r.body).serials

    def test_failover_loses_nothing_acknowledged_and_the_servers_reconnect_by_themselves(self):
        a, b = self.servers
        self.assertIn("synchronous standby pg2", self.start_output)
        old = self.conninfo("pg1")
        self.assertEqual(harness.run([harness.PSQL, old, "-tAc",
                                      "SELECT sync_state FROM pg_stat_replication"]).stdout.strip(),
                         "sync")

        # Hosts through both servers, then one revoked.
        hosts = [self.enrol(self.servers[i % 2], "h%d.failover.example" % i)
                 for i in range(HOSTS_BEFORE)]
        revoked_before = hosts[0]
        self.revoke(b, revoked_before.host_id)

        # Enrolments keep running through the failover, on both servers.
        stop = threading.Event()
        threads = [threading.Thread(target=self.enroller, args=(s, i, stop), daemon=True)
                   for i, s in enumerate(self.servers)]
        for t in threads:
            t.start()
        try:
            harness.wait_until(lambda: len(self.enrolled) >= HOSTS_BEFORE + 10, 60,
                               "a first load through both servers")
            started = time.monotonic()
            out = self.replica_sh("failover", timeout=120).stdout
            failover_seconds = time.monotonic() - started
            self.assertIn("promoted and accepting writes", out)
            with self.lock:
                acknowledged_at_failover = len(self.enrolled)

            # Both servers answer again, without a restart.
            reconnect = {}
            for s in self.servers:
                harness.wait_until(lambda: self.answers(s), RECONNECT_LIMIT,
                                   "%s to answer after the failover" % s.name, interval=0.2)
                reconnect[s.name] = time.monotonic() - started
            harness.wait_until(lambda: len(self.enrolled) >= acknowledged_at_failover + 10,
                               RECONNECT_LIMIT, "enrolments to resume after the failover")
        finally:
            stop.set()
            for t in threads:
                t.join(CALL_TIMEOUT + 20)
        for t in threads:
            self.assertFalse(t.is_alive())
        for s in self.servers:
            self.assertTrue(s.alive(), "%s exited:\n%s" % (s.name, s.log()))

        # New work after the failover: an enrolment through each server, a revocation.
        after = [self.enrol(s, "after%d.failover.example" % i) for i, s in enumerate(self.servers)]
        revoked_after = after[0]
        self.revoke(b, revoked_after.host_id)

        # The new primary holds everything that answered OK.
        new = self.conninfo("pg2")
        self.assertEqual(harness.run([harness.PSQL, new, "-tAc",
                                      "SELECT pg_is_in_recovery()"]).stdout.strip(), "f")
        self.assertNotEqual(harness.run([harness.PSQL, old, "-tAc", "SELECT 1"]).returncode, 0,
                            "the old primary still answers")
        stored = {tuple(row) for row in invariants.query(
            new, "SELECT host_id, serial_hex FROM certificates WHERE kind = 'enroll'")}
        missing = [e for e in self.enrolled if e not in stored]
        self.assertEqual(missing, [], "acknowledged enrolments lost in the failover")
        revoked = {row[0] for row in invariants.query(
            new, "SELECT DISTINCT host_id FROM certificates WHERE revoked_at IS NOT NULL")}
        self.assertIn(revoked_before.host_id, revoked)
        self.assertIn(revoked_after.host_id, revoked)

        # The CRLs both servers serve over HTTP list both revoked serials.
        def listed():
            for s in self.servers:
                for res in (revoked_before, revoked_after):
                    shard = harness.crl_shard_of(res.host_id, SHARDS)
                    if int(res.serial_hex, 16) not in self.crl_serials(s, shard):
                        return False
            return True
        harness.wait_until(listed, 30, "both servers' CRLs to list the revoked serials",
                           interval=0.2)

        self.assertEqual(invariants.check(new), [])
        status = self.replica_sh("status").stdout
        self.assertIn("pg1", status)
        self.assertIn("retired", status)
        self.assertIn("pg2 (%s, port 5433): primary" % os.path.join(self.folder, "pg2"), status)

        codes = {}
        for code, _ in self.failed:
            codes[code] = codes.get(code, 0) + 1
        print("failover drill: %d hosts enrolled (%d acknowledged before the failover returned), "
              "%d calls refused during it (%s); failover (kill + promote + first write) %.2f s; "
              "servers answered again %s s after it started; nothing acknowledged lost" % (
                  len(self.enrolled), acknowledged_at_failover, len(self.failed),
                  ", ".join("%s %d" % kv for kv in sorted(codes.items())) or "none",
                  failover_seconds,
                  ", ".join("%s %.2f" % kv for kv in sorted(reconnect.items()))),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
