"""Observability on the HTTP port: /readyz follows the database, /metrics is
Prometheus text whose counters move by exactly what the calls did."""

import json
import math
import os
import re
import secrets
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc, host_pb2  # noqa: E402

REQUEST_CERTIFICATE = "/hostca.v1.HostService/RequestCertificate"
REVOKE_CERTIFICATE = "/hostca.v1.AdminService/RevokeCertificate"

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SAMPLE_RE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}[text]
    return float(text)


def parse_labels(text):
    labels = {}
    pos = 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        if not m:
            raise AssertionError("bad labels %r at %d" % (text, pos))
        name, value = m.group(1), m.group(2)
        if name in labels:
            raise AssertionError("label %s twice in %r" % (name, text))
        labels[name] = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), value)
        pos = m.end()
    return labels


def parse_prometheus(text):
    """{(name, frozenset(labels.items())): value}, checking the text format line by line."""
    if not text.endswith("\n"):
        raise AssertionError("the exposition does not end with a newline")
    types = {}
    samples = {}
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d %r" % (number, line)
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if not NAME_RE.fullmatch(name):
                raise AssertionError("bad HELP name at " + where)
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in TYPES or not NAME_RE.fullmatch(parts[2]):
                raise AssertionError("bad TYPE at " + where)
            if parts[2] in types:
                raise AssertionError("TYPE repeated at " + where)
            types[parts[2]] = parts[3]
            continue
        if line.startswith("#") or not line:
            raise AssertionError("unexpected line at " + where)
        m = SAMPLE_RE.fullmatch(line)
        if not m:
            raise AssertionError("bad sample at " + where)
        name, labels, value = m.group(1), parse_labels(m.group(3) or ""), parse_value(m.group(4))
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        if family not in types:
            raise AssertionError("sample before its TYPE at " + where)
        if types[family] == "histogram" and family == name:
            raise AssertionError("a histogram sample without a suffix at " + where)
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise AssertionError("sample repeated at " + where)
        samples[key] = value
    check_histograms(types, samples)
    return samples


def check_histograms(types, samples):
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (name, labels), value in samples.items():
            if name == family + "_bucket":
                rest = frozenset(kv for kv in labels if kv[0] != "le")
                le = parse_value(dict(labels)["le"])
                series.setdefault(rest, []).append((le, value))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                raise AssertionError("%s%s buckets are not cumulative" % (family, dict(rest)))
            if buckets[-1][0] != math.inf:
                raise AssertionError("%s%s has no +Inf bucket" % (family, dict(rest)))
            if samples.get((family + "_count", rest)) != buckets[-1][1]:
                raise AssertionError("%s%s: _count is not the +Inf bucket" % (family, dict(rest)))
            if (family + "_sum", rest) not in samples:
                raise AssertionError("%s%s has no _sum" % (family, dict(rest)))


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class ObservabilityTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        try:
            # Host certificates valid 10 days: each one counts as expiring within 30.
            cls.server = cls.d.start_server(["--validity", "10d"])
            # Enrolled before the first scrape, which reads the expiring count.
            harness.enroll_host(cls.server, cls.d.admin_key, "early.example")
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def scrape(self):
        res = harness.http_get(self.server.http_port, "/metrics")
        self.assertEqual(res.status, 200)
        self.assertEqual(res.headers.get("Content-Type"),
                         "text/plain; version=0.0.4; charset=utf-8")
        text = res.body.decode("utf-8")
        return text, parse_prometheus(text)

    def test_a_ready_while_the_database_answers(self):
        res = harness.http_get(self.server.http_port, "/readyz")
        self.assertEqual((res.status, res.body), (200, b"ready\n"))
        self.assertEqual(harness.http_get(self.server.http_port, "/healthz").status, 200)

    def test_b_counters_move_by_what_the_calls_did(self):
        _, before = self.scrape()
        self.assertEqual(value(before, "hostca_certificates_expiring_within_30d"), 1)
        for state in ("in_use", "open", "size"):
            self.assertIn(("hostca_db_pool_connections", frozenset({("state", state)})), before)
        self.assertEqual(value(before, "hostca_db_pool_connections", state="size"), 8)

        res, _ = harness.enroll_host(self.server, self.d.admin_key, "web01.example")
        harness.revoke(self.server, self.d.admin_key, serial_hex=res.serial_hex)
        text, after = self.scrape()

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        self.assertEqual(delta("hostca_grpc_calls_total", method=REQUEST_CERTIFICATE, code="OK"), 1)
        self.assertEqual(delta("hostca_grpc_calls_total", method=REVOKE_CERTIFICATE, code="OK"), 1)
        self.assertEqual(delta("hostca_grpc_call_duration_seconds_count",
                               method=REQUEST_CERTIFICATE), 1)
        self.assertGreater(delta("hostca_grpc_call_duration_seconds_sum",
                                 method=REQUEST_CERTIFICATE), 0)
        self.assertEqual(delta("hostca_certificates_issued_total", kind="enroll"), 1)
        self.assertEqual(delta("hostca_certificates_issued_total", kind="reissue"), 0)
        self.assertEqual(delta("hostca_certificates_revoked_total"), 1)
        self.assertEqual(delta("hostca_tokens_used_total"), 1)
        self.assertEqual(delta("hostca_crl_publications_total"), 1)
        self.assertEqual(delta("hostca_crl_publication_duration_seconds_count"), 1)
        # Cached for a minute: still the count of the first scrape.
        self.assertEqual(value(after, "hostca_certificates_expiring_within_30d"), 1)
        self.assertNotIn(self.d.admin_key, text)

    def test_c_a_refused_call_counts_under_its_status(self):
        _, before = self.scrape()
        token = "hca_auth_" + secrets.token_urlsafe(32)[:43]
        e = harness.rpc_error(
            self.server.host_stub().RequestCertificate,
            host_pb2.RequestCertificateRequest(csr=harness.make_csr(harness.new_key(), "x.example"),
                                               hostname="x.example", authorization_token=token))
        self.assertEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED)
        text, after = self.scrape()
        for code, moved in (("UNAUTHENTICATED", 1), ("OK", 0)):
            self.assertEqual(
                value(after, "hostca_grpc_calls_total", method=REQUEST_CERTIFICATE, code=code) -
                value(before, "hostca_grpc_calls_total", method=REQUEST_CERTIFICATE, code=code),
                moved, code)
        self.assertEqual(value(after, "hostca_tokens_used_total"),
                         value(before, "hostca_tokens_used_total"))
        self.assertNotIn(token, text)
        self.assertNotIn(token[len("hca_auth_"):], text)

    def test_d_unknown_methods_add_no_label_values(self):
        call = self.server.channel().unary_unary("/hostca.v1.HostService/NoSuchMethod-e2e")
        e = harness.rpc_error(call, b"")
        self.assertEqual(e.code(), grpc.StatusCode.UNIMPLEMENTED)
        text, samples = self.scrape()
        self.assertNotIn("NoSuchMethod", text)
        methods = {dict(labels).get("method") for (name, labels) in samples
                   if name == "hostca_grpc_calls_total"}
        known = ("/hostca.v1.", "/grpc.")
        self.assertTrue(all(m == "other" or m.startswith(known) for m in methods), methods)

    def test_e_json_logs_are_one_object_per_line(self):
        server = self.d.start_server(["--log-format", "json"])
        token = "hca_auth_" + secrets.token_urlsafe(32)[:43]
        e = harness.rpc_error(
            server.host_stub().RequestCertificate,
            host_pb2.RequestCertificateRequest(csr=harness.make_csr(harness.new_key(), "j.example"),
                                               hostname="j.example", authorization_token=token))
        self.assertEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertEqual(server.stop(), 0)
        log = server.log()
        lines = [json.loads(line) for line in log.splitlines()]
        self.assertTrue(lines)
        for line in lines:
            self.assertIsInstance(line, dict)
            self.assertTrue({"time", "level", "logger", "msg"} <= set(line), line)
            self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        calls = [line for line in lines if line.get("rpc") == "RequestCertificate"]
        self.assertEqual(len(calls), 1, log)
        self.assertEqual(calls[0]["status"], "UNAUTHENTICATED")
        self.assertIsInstance(calls[0]["duration_ms"], float)
        self.assertIn("peer", calls[0])
        self.assertTrue(any("serving gRPC" in line["msg"] for line in lines), log)
        self.assertNotIn(token[len("hca_auth_"):], log)

    def test_z_not_ready_once_the_database_stops(self):
        self.d.pg.stop()
        statuses = []

        def not_ready():
            res = harness.http_get(self.server.http_port, "/readyz")
            statuses.append(res.status)
            return res.status == 503 and res.body == b"not ready: the database does not answer\n"

        harness.wait_until(not_ready, 15, "/readyz to answer 503", interval=0.2)
        self.assertEqual(harness.http_get(self.server.http_port, "/healthz").status, 200)
        # /metrics still answers, from what the process holds.
        self.scrape()


if __name__ == "__main__":
    unittest.main()
