"""Two hostca-server processes on one database: a token's uses never exceed its
maximum, however the concurrent requests are spread across the servers."""

import concurrent.futures
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc, host_pb2, x509  # noqa: E402

REQUESTS = 20
MAX_USES = 5


class TwoServersTokenRaceTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            cls.servers = [cls.d.start_server(), cls.d.start_server()]
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def test_twenty_concurrent_enrolments_use_a_five_use_token_exactly_five_times(self):
        a, b = self.servers
        self.assertNotEqual(a.grpc_port, b.grpc_port)
        token = harness.create_token(a, self.d.admin_key, "race", max_uses=MAX_USES)
        before = self.d.pg.counts()
        stubs = [s.host_stub() for s in self.servers]
        # Keys and CSRs are made up front so the calls start together.
        requests = []
        for i in range(REQUESTS):
            name = "race%02d.example" % i
            requests.append(host_pb2.RequestCertificateRequest(
                csr=harness.make_csr(harness.new_key(), name), hostname=name,
                authorization_token=token.token))
        barrier = threading.Barrier(REQUESTS, timeout=60)

        def call(i):
            barrier.wait()
            try:
                res = stubs[i % 2].RequestCertificate(requests[i], timeout=60)
                return ("OK", res)
            except grpc.RpcError as e:
                return (e.code().name, e.details())

        with concurrent.futures.ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            results = list(pool.map(call, range(REQUESTS)))

        ok = [r for _, r in [x for x in results if x[0] == "OK"]]
        refused = [x for x in results if x[0] != "OK"]
        self.assertEqual(len(ok), MAX_USES, results)
        self.assertEqual(len(refused), REQUESTS - MAX_USES, results)
        for code, details in refused:
            self.assertEqual(code, "RESOURCE_EXHAUSTED", details)
            self.assertIn("used up", details)
        # Each process answered its half: the race was really between two servers.
        for server in self.servers:
            self.assertEqual(server.log().count("rpc=RequestCertificate "), REQUESTS // 2)

        ca = self.d.ca_cert
        for res in ok:
            cert = x509.load_der_x509_certificate(res.certificate_der)
            harness.verify_signed_by(cert, ca)
        self.assertEqual(len({r.host_id for r in ok}), MAX_USES)
        self.assertEqual(len({r.serial_hex for r in ok}), MAX_USES)

        after = self.d.pg.counts()
        self.assertEqual(after["certificates"] - before["certificates"], MAX_USES)
        self.assertEqual(after["hosts"] - before["hosts"], MAX_USES)
        self.assertEqual(self.d.pg.scalar(
            "SELECT count(*) FROM certificates WHERE kind = 'enroll'"), MAX_USES)
        self.assertEqual(self.d.pg.scalar(
            "SELECT uses FROM tokens WHERE token_id = '%s'" % token.token_id), MAX_USES)
        self.assertEqual(self.d.pg.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'token.use' AND subject = '%s'"
            % token.token_id), MAX_USES)
        issued_names = set(self.d.pg.psql("SELECT hostname FROM hosts").splitlines())
        ok_names = {x509.load_der_x509_certificate(r.certificate_der).extensions
                    .get_extension_for_class(x509.SubjectAlternativeName).value
                    .get_values_for_type(x509.DNSName)[0] for r in ok}
        self.assertEqual(issued_names, ok_names)


if __name__ == "__main__":
    unittest.main()
