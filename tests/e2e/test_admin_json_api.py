"""The admin JSON API (/api/v1) over HTTPS, from Python's http.client and ssl:
every AdminService call has its route, the answers equal the gRPC service's
(same messages, same error codes and messages), a key is needed, bad input
gets 400 with a message and changes nothing, labels come back as the text
they are, every answer carries the headers that keep a browser from running
or framing it, and the port speaks TLS only."""

import http.client
import json
import os
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, grpc, x509  # noqa: E402
from google.protobuf import json_format  # noqa: E402

XSS = "<img src=x onerror=alert(1)>"


class AdminJsonApiTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=2)
        try:
            cls.server = cls.d.start_server(["--admin-listen", "127.0.0.1:0"])
            harness.wait_for_crls(cls.server, 2)
            # A second server on the same database, as behind a load balancer.
            # It trusts loopback as a proxy: X-Forwarded-For names the client there.
            cls.other = cls.d.start_server(["--admin-listen", "127.0.0.1:0",
                                            "--trusted-proxies", "127.0.0.1"])
        except BaseException:
            cls.d.close()
            raise
        cls.port = cls.server.ready["admin_port"]
        cls.tls = ssl.create_default_context(cafile=cls.d.ca_pem_path)

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers ---------------------------------------------------------------

    def api(self, method, path, body=None, key="default", headers=None, raw=None, port=None):
        """(status, headers, parsed JSON or None) of one HTTPS call."""
        conn = http.client.HTTPSConnection("127.0.0.1", port or self.port, context=self.tls,
                                           timeout=10)
        h = dict(headers or {})
        if key == "default":
            key = self.d.admin_key
        if key is not None:
            h["Authorization"] = "Bearer " + key
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
            res = conn.getresponse()
            payload = res.read()
            parsed = json.loads(payload) if payload else None
            return res.status, res.headers, parsed
        finally:
            conn.close()

    def grpc_dict(self, message):
        return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         including_default_value_fields=True)

    def meta(self, key=None):
        return harness.admin_metadata(key or self.d.admin_key)

    def state(self):
        s = harness.revocation_state(self.d, self.server)
        s["audit_rows"] = int(self.d.pg.scalar("SELECT count(*) FROM audit_log"))
        s["admin_keys"] = int(self.d.pg.scalar("SELECT count(*) FROM admin_keys"))
        return s

    def assert_error(self, answer, status, code, contains=None):
        got_status, headers, body = answer
        self.assertEqual(got_status, status, body)
        self.assertEqual(headers.get_content_type(), "application/json")
        self.assertEqual(body["error"]["code"], code, body)
        if contains:
            self.assertIn(contains, body["error"]["message"])
        return body["error"]["message"]

    # -- the tests ---------------------------------------------------------------

    def test_openapi_names_a_route_for_every_admin_rpc_and_refuses_unknown_fields(self):
        status, headers, doc = self.api("GET", "/api/v1/openapi.json", key=None)
        self.assertEqual(status, 200)
        self.assertEqual(doc["openapi"], "3.0.3")
        ops = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
        rpcs = {m.name for m in admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods}
        # Every RPC, and the console's session, which is HTTP's own.
        self.assertEqual(ops, rpcs | {"SignIn", "GetSession", "SignOut", "ExportAuditEvents"})
        self.assertEqual(doc["components"]["securitySchemes"]["adminKey"]["scheme"], "bearer")
        schema = doc["components"]["schemas"]["CreateAuthorizationTokenRequest"]
        self.assertFalse(schema["additionalProperties"])
        self.assertEqual(set(schema["properties"]),
                         {f.name for f in admin_pb2.CreateAuthorizationTokenRequest.DESCRIPTOR.fields})
        self.assertIn("{host_id}", " ".join(doc["paths"]))

    def test_without_a_valid_key_every_route_answers_401_like_grpc_and_nothing_changes(self):
        before = self.state()
        wrong = "hca_admin_" + "A" * 43
        for key, headers in ((None, None), (wrong, None), (None, {"Authorization": "Basic eDp5"})):
            for method, path, body in (("POST", "/api/v1/tokens", {"name": "no"}),
                                       ("GET", "/api/v1/hosts", None),
                                       ("POST", "/api/v1/admin-keys", {"name": "no"}),
                                       ("POST", "/api/v1/revocations", {"host_id": "x"})):
                msg = self.assert_error(self.api(method, path, body, key=key, headers=headers),
                                        401, "UNAUTHENTICATED")
                if key == wrong:
                    err = harness.rpc_error(self.server.admin_stub().ListHosts,
                                            admin_pb2.ListHostsRequest(), metadata=self.meta(wrong),
                                            timeout=harness.RPC_TIMEOUT)
                    self.assertEqual(err.code(), grpc.StatusCode.UNAUTHENTICATED)
                    self.assertEqual(msg, err.details())
                self.assertNotIn(wrong, msg)
        after = self.state()
        # Refused calls are tallied per address into at most a row per window, at shutdown.
        self.assertEqual({k: v for k, v in after.items() if k != "audit_rows"},
                         {k: v for k, v in before.items() if k != "audit_rows"})

    def test_a_token_made_over_json_enrols_a_host_that_json_and_grpc_list_alike(self):
        status, _, made = self.api("POST", "/api/v1/tokens",
                                   {"name": "json-made", "max_uses": 1, "valid_for": "3600s"})
        self.assertEqual(status, 201, made)
        self.assertTrue(made["token"].startswith("hca_"), made)
        key = harness.new_key()
        res = self.server.host_stub().RequestCertificate(
            harness.host_pb2.RequestCertificateRequest(
                csr=harness.make_csr(key, "json-made.example"), hostname="json-made.example",
                authorization_token=made["token"]), timeout=harness.RPC_TIMEOUT)
        # The same list over both transports.
        status, _, listed = self.api("GET", "/api/v1/hosts?hostname_contains=json-made&limit=10")
        self.assertEqual(status, 200, listed)
        grpc_listed = self.server.admin_stub().ListHosts(
            admin_pb2.ListHostsRequest(hostname_contains="json-made", limit=10),
            metadata=self.meta(), timeout=harness.RPC_TIMEOUT)
        self.assertEqual(listed, self.grpc_dict(grpc_listed))
        self.assertEqual([h["host_id"] for h in listed["hosts"]], [res.host_id])
        status, _, host = self.api("GET", "/api/v1/hosts/" + res.host_id)
        self.assertEqual(status, 200)
        self.assertEqual(host, self.grpc_dict(self.server.admin_stub().GetHost(
            admin_pb2.GetHostRequest(host_id=res.host_id), metadata=self.meta(),
            timeout=harness.RPC_TIMEOUT)))
        self.assertEqual(host["certificates"][0]["serial_hex"].lower(), res.serial_hex.lower())
        # The token is used up, and its creation is audited with the admin key's ID,
        # the same actor the gRPC service records.
        status, _, tokens = self.api("GET", "/api/v1/tokens")
        mine = [t for t in tokens["tokens"] if t["token_id"] == made["token_id"]]
        self.assertEqual(mine[0]["uses"], 1)
        grpc_made = harness.create_token(self.server, self.d.admin_key, "grpc-made")
        status, _, audit = self.api("GET", "/api/v1/audit?limit=1000")
        self.assertEqual(status, 200)
        actors = {e["subject"]: e["actor"] for e in audit["events"]
                  if e["action"] == "token.create"}
        self.assertTrue(actors[made["token_id"]].startswith("admin:"))
        self.assertEqual(actors[made["token_id"]], actors[grpc_made.token_id])
        self.assertNotIn(made["token"], json.dumps(audit))

    def test_a_revocation_over_json_puts_the_certificate_on_its_crl_for_openssl(self):
        res, _ = harness.enroll_host(self.server, self.d.admin_key, "json-revoked.example")
        status, _, out = self.api("POST", "/api/v1/revocations",
                                  {"serial_hex": res.serial_hex, "reason": 1})
        self.assertEqual(status, 200, out)
        self.assertEqual([int(s, 16) for s in out["revoked_serials_hex"]], [int(res.serial_hex, 16)])
        shard = harness.crl_shard_of(res.host_id, 2)

        def listed():
            crl = x509.load_der_x509_crl(
                harness.http_get(self.server.http_port, "/crl/%d.crl" % shard).body)
            return int(res.serial_hex, 16) in harness.crl_entries(crl)
        harness.wait_until(listed, 15, "the CRL to list the serial")
        folder = self.d.folder
        crl_der = harness.http_get(self.server.http_port, "/crl/%d.crl" % shard).body
        crl_pem = x509.load_der_x509_crl(crl_der).public_bytes(harness.serialization.Encoding.PEM)
        harness.write_bytes(os.path.join(folder, "json-crl.pem"), crl_pem)
        harness.write_bytes(os.path.join(folder, "json-cert.pem"), res.certificate_pem.encode())
        r = subprocess.run(["openssl", "verify", "-crl_check", "-CAfile", self.d.ca_pem_path,
                            "-CRLfile", os.path.join(folder, "json-crl.pem"),
                            os.path.join(folder, "json-cert.pem")],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("certificate revoked", r.stdout + r.stderr)
        # The second time: the same refusal over both transports.
        msg = self.assert_error(self.api("POST", "/api/v1/revocations",
                                         {"serial_hex": res.serial_hex, "reason": 1}),
                                409, "FAILED_PRECONDITION")
        err = harness.rpc_error(self.server.admin_stub().RevokeCertificate,
                                admin_pb2.RevokeCertificateRequest(serial_hex=res.serial_hex, reason=1),
                                metadata=self.meta())
        self.assertEqual(err.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(msg, err.details())

    def test_bad_input_gets_400_or_404_with_a_message_like_grpc_and_changes_nothing(self):
        before = self.state()
        cases = [
            (("POST", "/api/v1/tokens", {"name": "x", "bogus": 1}), 400, "bogus"),
            (("POST", "/api/v1/tokens", {"name": 5}), 400, "CreateAuthorizationTokenRequest"),
            (("POST", "/api/v1/tokens", {"name": "x", "max_uses": -1}), 400, "max_uses"),
            (("POST", "/api/v1/tokens", {"name": "x", "valid_for": "soon"}), 400, "valid_for"),
            (("POST", "/api/v1/tokens", []), 400, "JSON object"),
            (("POST", "/api/v1/revocations", {"serial_hex": "zz", "reason": 1}), 400, "serial"),
            (("POST", "/api/v1/revocations", {"serial_hex": "01", "host_id": "x"}), 400, None),
            (("GET", "/api/v1/hosts?limit=abc", None), 400, "limit"),
            (("GET", "/api/v1/hosts?limit=-1", None), 400, "limit"),
            (("GET", "/api/v1/hosts?bogus=1", None), 400, "bogus"),
            (("GET", "/api/v1/hosts?limit=1&limit=2", None), 400, "once"),
            (("GET", "/api/v1/audit?after_sequence=x", None), 400, "after_sequence"),
            (("GET", "/api/v1/tokens?include_deleted=yes", None), 400, "true or false"),
            (("GET", "/api/v1/hosts/not-a-uuid", None), 400, "host ID"),
            (("DELETE", "/api/v1/tokens/not-a-uuid", None), 400, None),
            (("POST", "/api/v1/tokens?name=x", {"name": "x"}), 400, "query"),
        ]
        for (method, path, body), status, contains in cases:
            with self.subTest(method=method, path=path, body=body):
                code = "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND"
                self.assert_error(self.api(method, path, body), status, code, contains)
        # Not JSON, empty, and too large.
        self.assert_error(self.api("POST", "/api/v1/tokens", raw=b"name=x",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"}),
                          400, "INVALID_ARGUMENT", "application/json")
        self.assert_error(self.api("POST", "/api/v1/tokens", raw=b"",
                                   headers={"Content-Type": "application/json"}),
                          400, "INVALID_ARGUMENT", "JSON object")
        big = json.dumps({"name": "x" * (100 * 1024)}).encode()
        self.assert_error(self.api("POST", "/api/v1/tokens", raw=big,
                                   headers={"Content-Type": "application/json"}),
                          400, "INVALID_ARGUMENT", "64 KiB")
        # Unknown paths and methods, and what names nothing.
        self.assert_error(self.api("GET", "/api/v1/nothing"), 404, "NOT_FOUND", "openapi.json")
        self.assert_error(self.api("PUT", "/api/v1/tokens", {"name": "x"}), 404, "NOT_FOUND")
        unknown_host = "0f1e2d3c-4b5a-4697-8877-665544332211"
        msg = self.assert_error(self.api("GET", "/api/v1/hosts/" + unknown_host), 404,
                                "NOT_FOUND")
        err = harness.rpc_error(self.server.admin_stub().GetHost,
                                admin_pb2.GetHostRequest(host_id=unknown_host),
                                metadata=self.meta(), timeout=harness.RPC_TIMEOUT)
        self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(msg, err.details())
        msg = self.assert_error(self.api("POST", "/api/v1/revocations",
                                         {"serial_hex": "7abc", "reason": 1}), 404, "NOT_FOUND")
        err = harness.rpc_error(self.server.admin_stub().RevokeCertificate,
                                admin_pb2.RevokeCertificateRequest(serial_hex="7abc", reason=1),
                                metadata=self.meta())
        self.assertEqual(msg, err.details())
        self.assertEqual(self.state(), before)

    def test_labels_come_back_as_text_and_every_answer_has_the_security_headers(self):
        status, headers, made = self.api("POST", "/api/v1/tokens", {"name": XSS, "reason": XSS})
        self.assertEqual(status, 201, made)
        status, headers, tokens = self.api("GET", "/api/v1/tokens")
        mine = [t for t in tokens["tokens"] if t["token_id"] == made["token_id"]][0]
        self.assertEqual((mine["name"], mine["reason"]), (XSS, XSS))
        answers = [self.api("GET", "/api/v1/tokens"), self.api("GET", "/api/v1/hosts", key=None),
                   self.api("GET", "/api/v1/nothing"), self.api("GET", "/api/v1/openapi.json")]
        for status, headers, _ in answers:
            with self.subTest(status=status):
                self.assertEqual(headers.get_content_type(), "application/json")
                csp = headers["Content-Security-Policy"]
                self.assertIn("default-src 'none'", csp)
                self.assertIn("frame-ancestors 'none'", csp)
                self.assertNotIn("unsafe-inline", csp)
                self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
                self.assertEqual(headers["Cache-Control"], "no-store")

    def test_the_port_speaks_tls_only_and_presents_the_servers_certificate(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
                conn.request("GET", "/api/v1/openapi.json")
                res = conn.getresponse()
                res.read()
                # An answer at all in cleartext would be a failure of this test.
                raise AssertionError("answered in cleartext with %d" % res.status)
        except AssertionError:
            raise
        finally:
            conn.close()
        # The certificate verifies against the CA (the helper's context checks it and
        # the name 127.0.0.1), and it is the server's own, as on the gRPC port.
        with ssl.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            with self.tls.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
                der = tls.getpeercert(binary_form=True)
        served = x509.load_der_x509_certificate(der)
        self.assertEqual(served.issuer, self.d.ca_cert.subject)

    def test_a_console_session_works_on_every_server_needs_its_csrf_token_and_ends_everywhere(self):
        other = self.other.ready["admin_port"]
        status, headers, s = self.api("POST", "/api/v1/session",
                                      {"admin_key": self.d.admin_key}, key=None)
        self.assertEqual(status, 201, s)
        cookie = headers["Set-Cookie"]
        name, rest = cookie.split("=", 1)
        secret = rest.split(";")[0]
        self.assertEqual(name, "__Host-hostca_session")
        self.assertTrue(secret.startswith("hca_session_"), cookie)
        attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        self.assertEqual(attrs, {"path", "max-age", "secure", "httponly", "samesite"})
        self.assertIn("SameSite=Strict", cookie)
        self.assertIn("Path=/;", cookie)
        self.assertNotIn(secret, json.dumps(s))
        self.assertEqual(s["key_id"], self.d.pg.psql(
            "SELECT key_id FROM admin_keys ORDER BY created_at LIMIT 1"))
        jar = {"Cookie": "__Host-hostca_session=" + secret}
        # Read on the other server.
        status, _, tokens = self.api("GET", "/api/v1/tokens", key=None, headers=jar, port=other)
        self.assertEqual(status, 200, tokens)
        status, _, again = self.api("GET", "/api/v1/session", key=None, headers=jar, port=other)
        self.assertEqual((status, again["csrf_token"], again["session_id"]),
                         (200, s["csrf_token"], s["session_id"]))
        # A change without the anti-CSRF header, or with a wrong one: refused, nothing made.
        before = self.state()
        for h in (jar, dict(jar, **{"X-CSRF-Token": "0" * 64})):
            self.assert_error(self.api("POST", "/api/v1/tokens", {"name": "csrf"}, key=None,
                                       headers=h, port=other), 403, "PERMISSION_DENIED",
                              "X-CSRF-Token")
        self.assertEqual(self.state(), before)
        # With it, the token is made and audited as the admin key.
        status, _, made = self.api("POST", "/api/v1/tokens", {"name": "from the console"},
                                   key=None, headers=dict(jar, **{"X-CSRF-Token": s["csrf_token"]}),
                                   port=other)
        self.assertEqual(status, 201, made)
        self.assertEqual(self.d.pg.psql(
            "SELECT actor FROM audit_log WHERE action = 'token.create' AND subject = '%s'"
            % made["token_id"]), "admin:" + s["key_id"])
        # Sign-out needs the header too; then the cookie is refused on both servers.
        self.assert_error(self.api("DELETE", "/api/v1/session", key=None, headers=jar), 403,
                          "PERMISSION_DENIED")
        status, headers, _ = self.api("DELETE", "/api/v1/session", key=None,
                                      headers=dict(jar, **{"X-CSRF-Token": s["csrf_token"]}))
        self.assertEqual(status, 200)
        self.assertIn("Max-Age=0", headers["Set-Cookie"])
        for port in (self.port, other):
            self.assert_error(self.api("GET", "/api/v1/tokens", key=None, headers=jar, port=port),
                              401, "UNAUTHENTICATED", "sign in again")
        # Signing in takes an admin key and nothing else.
        self.assert_error(self.api("POST", "/api/v1/session", {"admin_key": "hca_admin_" + "B" * 43},
                                   key=None), 401, "UNAUTHENTICATED", "unknown admin key")
        self.assert_error(self.api("POST", "/api/v1/session",
                                   {"admin_key": self.d.admin_key, "remember": True}, key=None),
                          400, "INVALID_ARGUMENT", "remember")
        self.assert_error(self.api("POST", "/api/v1/session", key=None, raw=b"admin_key=x",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"}),
                          400, "INVALID_ARGUMENT", "application/json")

    def test_the_audit_trail_filters_pages_and_exports_as_json_lines_like_grpc(self):
        names = ["audit-%d" % i for i in range(3)]
        made = [self.api("POST", "/api/v1/tokens", {"name": n})[2]["token_id"] for n in names]
        status, _, first = self.api("GET", "/api/v1/audit?action=token.create&subject=" + made[1])
        self.assertEqual(status, 200, first)
        self.assertEqual([e["subject"] for e in first["events"]], [made[1]])
        actor = first["events"][0]["actor"]
        at = first["events"][0]["at"]
        # The same filter over gRPC gives the same events.
        req = admin_pb2.ListAuditEventsRequest(action="token.create", subject=made[1])
        self.assertEqual(first, self.grpc_dict(self.server.admin_stub().ListAuditEvents(
            req, metadata=self.meta(), timeout=harness.RPC_TIMEOUT)))
        # By actor, page after page.
        seen, after = [], 0
        while True:
            status, _, page = self.api(
                "GET", "/api/v1/audit?action=token.create&limit=2&actor=%s&after_sequence=%d"
                % (actor, after))
            self.assertEqual(status, 200, page)
            if not page["events"]:
                break
            seen += [e["subject"] for e in page["events"]]
            after = int(page["events"][-1]["sequence"])
        self.assertEqual(seen[-3:], made)
        # Since the second one was made: the second and the third.
        status, _, since = self.api("GET", "/api/v1/audit?action=token.create&since=" + at)
        self.assertEqual([e["subject"] for e in since["events"]][-2:], made[1:])
        self.assertNotIn(made[0], [e["subject"] for e in since["events"]])
        # The export: the same events, one JSON object per line.
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls, timeout=10)
        try:
            conn.request("GET", "/api/v1/audit.jsonl?action=token.create&actor=" + actor,
                         headers={"Authorization": "Bearer " + self.d.admin_key})
            res = conn.getresponse()
            body = res.read().decode()
            self.assertEqual(res.status, 200, body)
            self.assertEqual(res.headers.get_content_type(), "application/x-ndjson")
            self.assertIn("frame-ancestors 'none'", res.headers["Content-Security-Policy"])
        finally:
            conn.close()
        lines = [json.loads(line) for line in body.splitlines()]
        status, _, listed = self.api("GET", "/api/v1/audit?action=token.create&limit=1000&actor="
                                     + actor)
        self.assertEqual(lines, listed["events"])
        # Bad filters: 400 with a message.
        self.assert_error(self.api("GET", "/api/v1/audit?since=yesterday"), 400,
                          "INVALID_ARGUMENT", "RFC 3339")
        self.assert_error(self.api("GET", "/api/v1/audit?since=%s&until=%s" % (at, at)), 400,
                          "INVALID_ARGUMENT", "until must be after since")
        self.assert_error(self.api("GET", "/api/v1/audit.jsonl?limit=5"), 400,
                          "INVALID_ARGUMENT", "no limit")
        self.assert_error(self.api("GET", "/api/v1/audit.jsonl", key=None), 401,
                          "UNAUTHENTICATED")

    def test_a_certificate_failure_is_acknowledged_with_a_note_over_json(self):
        res, _ = harness.enroll_host(self.server, self.d.admin_key, "json-failure.example")
        self.server.host_stub().ReportCertificateFailure(
            harness.host_pb2.ReportCertificateFailureRequest(
                host_id=res.host_id, pinned_spki_sha256="a" * 64, presented_spki_sha256="b" * 64,
                server="ca.example:8443"), timeout=harness.RPC_TIMEOUT)
        status, _, host = self.api("GET", "/api/v1/hosts/" + res.host_id)
        self.assertIn("certificate_failure_at", host["host"])
        body = {"host_id": res.host_id, "note": XSS}
        status, _, out = self.api("POST", "/api/v1/failure-acknowledgements", body)
        self.assertEqual((status, out), (200, {}))
        status, _, host = self.api("GET", "/api/v1/hosts/" + res.host_id)
        self.assertNotIn("certificate_failure_at", host["host"])
        status, _, audit = self.api("GET", "/api/v1/audit?action=host.failure_acknowledged"
                                    "&subject=" + res.host_id)
        self.assertEqual(json.loads(audit["events"][0]["details_json"])["note"], XSS)
        msg = self.assert_error(self.api("POST", "/api/v1/failure-acknowledgements", body), 409,
                                "FAILED_PRECONDITION", "no certificate failure")
        err = harness.rpc_error(self.server.admin_stub().AcknowledgeCertificateFailure,
                                admin_pb2.AcknowledgeCertificateFailureRequest(**body),
                                metadata=self.meta())
        self.assertEqual(err.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(msg, err.details())
        # The CLI says the same, in one line, and exits non-zero.
        r = self.d.admin_cli(self.server, "host", "acknowledge-failure", "--host-id", res.host_id,
                             "--note", "again")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no certificate failure", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.server.host_stub().ReportCertificateFailure(
            harness.host_pb2.ReportCertificateFailureRequest(
                host_id=res.host_id, pinned_spki_sha256="a" * 64, presented_spki_sha256="c" * 64,
                server="ca.example:8443"), timeout=harness.RPC_TIMEOUT)
        r = self.d.admin_cli(self.server, "host", "acknowledge-failure", "--host-id", res.host_id,
                             "--note", "seen twice")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("acknowledged", r.stdout)
        status, _, host = self.api("GET", "/api/v1/hosts/" + res.host_id)
        self.assertNotIn("certificate_failure_at", host["host"])

    def test_hosts_page_by_token_and_search_by_name_start_like_grpc(self):
        made = [harness.enroll_host(self.server, self.d.admin_key, "paged-%d.example" % i)[0]
                for i in range(3)]
        seen, token = [], ""
        for _ in range(10):
            path = "/api/v1/hosts?search=PAGED-&limit=2" + ("&page_token=" + token if token else "")
            status, _, page = self.api("GET", path)
            self.assertEqual(status, 200, page)
            grpc_page = self.server.admin_stub().ListHosts(
                admin_pb2.ListHostsRequest(search="PAGED-", limit=2, page_token=token),
                metadata=self.meta(), timeout=harness.RPC_TIMEOUT)
            self.assertEqual(page, self.grpc_dict(grpc_page))
            seen += [h["host_id"] for h in page["hosts"]]
            token = page["next_page_token"]
            if not token:
                break
        self.assertEqual(seen, [r.host_id for r in made])
        status, _, one = self.api("GET", "/api/v1/hosts?search=" + made[1].host_id)
        self.assertEqual([h["host_id"] for h in one["hosts"]], [made[1].host_id])
        self.assert_error(self.api("GET", "/api/v1/hosts?page_token=nonsense"), 400,
                          "INVALID_ARGUMENT", "page_token")

    def raw_get(self, path, key="default"):
        """(status, headers, bytes) of one HTTPS GET."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls, timeout=10)
        h = {"Authorization": "Bearer " + self.d.admin_key} if key == "default" else {}
        try:
            conn.request("GET", path, headers=h)
            res = conn.getresponse()
            return res.status, res.headers, res.read()
        finally:
            conn.close()

    def test_the_dashboard_counts_hosts_as_the_database_does_like_grpc(self):
        kept = harness.enroll_host(self.server, self.d.admin_key, "dash-kept.example")[0]
        gone = harness.enroll_host(self.server, self.d.admin_key, "dash-gone.example")[0]
        self.server.admin_stub().RevokeCertificate(
            admin_pb2.RevokeCertificateRequest(host_id=gone.host_id, reason=1),
            metadata=self.meta(), timeout=harness.RPC_TIMEOUT)
        status, _, dash = self.api("GET", "/api/v1/dashboard")
        self.assertEqual(status, 200, dash)
        grpc_dash = self.grpc_dict(self.server.admin_stub().GetDashboard(
            admin_pb2.GetDashboardRequest(), metadata=self.meta(), timeout=harness.RPC_TIMEOUT))
        for part in ("hosts", "tokens", "crl_summary", "ca"):
            self.assertEqual(dash[part], grpc_dash[part], part)
        # The database's own count, from the certificates (not the host row).
        newest = ("SELECT DISTINCT ON (host_id) host_id, revoked_at, not_after FROM certificates"
                  " WHERE host_id IS NOT NULL ORDER BY host_id, not_after DESC, created_at DESC")
        self.assertEqual(int(dash["hosts"]["hosts"]),
                         int(self.d.pg.scalar("SELECT count(*) FROM hosts")))
        self.assertEqual(int(dash["hosts"]["revoked"]), int(self.d.pg.scalar(
            "SELECT count(*) FROM (%s) n WHERE revoked_at IS NOT NULL" % newest)))
        self.assertEqual(int(dash["hosts"]["valid"]), int(self.d.pg.scalar(
            "SELECT count(*) FROM (%s) n WHERE revoked_at IS NULL"
            " AND not_after > now() + interval '30 days'" % newest)))
        self.assertEqual(dash["expiring_within_days"], 30)
        # Both CRL shards and the CA scope of key 1, none stale.
        self.assertEqual(dash["crl_summary"][0]["shards"], 3)
        self.assertEqual(dash["crl_summary"][0]["stale"], 0)
        self.assertTrue(all(not c["stale"] for c in dash["crl_shards"]))
        self.assertLessEqual(len(dash["recent_events"]), 10)
        seqs = [int(e["sequence"]) for e in dash["recent_events"]]
        self.assertEqual(seqs, sorted(seqs, reverse=True))
        self.assertEqual(seqs[0], int(self.d.pg.scalar("SELECT max(sequence) FROM audit_log")))
        # The state filter over both transports.
        status, _, revoked = self.api("GET", "/api/v1/hosts?state=revoked&search=dash-")
        self.assertEqual([h["host_id"] for h in revoked["hosts"]], [gone.host_id])
        self.assertEqual(revoked["hosts"][0]["state"], "revoked")
        grpc_revoked = self.server.admin_stub().ListHosts(
            admin_pb2.ListHostsRequest(state="revoked", search="dash-"), metadata=self.meta(),
            timeout=harness.RPC_TIMEOUT)
        self.assertEqual(revoked, self.grpc_dict(grpc_revoked))
        status, _, valid = self.api("GET", "/api/v1/hosts?state=valid&search=dash-&sort=expiry")
        self.assertEqual([h["host_id"] for h in valid["hosts"]], [kept.host_id])
        before = self.state()
        msg = self.assert_error(self.api("GET", "/api/v1/hosts?state=purple"), 400,
                                "INVALID_ARGUMENT", "failure")
        err = harness.rpc_error(self.server.admin_stub().ListHosts,
                                admin_pb2.ListHostsRequest(state="purple"), metadata=self.meta(),
                                timeout=harness.RPC_TIMEOUT)
        self.assertEqual((err.code(), err.details()), (grpc.StatusCode.INVALID_ARGUMENT, msg))
        self.assert_error(self.api("GET", "/api/v1/hosts?sort=random"), 400, "INVALID_ARGUMENT",
                          "expiry")
        self.assertEqual(self.state(), before)

    def test_crl_shards_page_and_download_as_the_http_endpoint_serves_them(self):
        seen, after = [], None
        for _ in range(10):
            path = "/api/v1/crl-shards?limit=1" + ("" if after is None else "&after_shard=%d" % after)
            status, _, page = self.api("GET", path)
            self.assertEqual(status, 200, page)
            req = admin_pb2.ListCrlShardsRequest(limit=1)
            if after is not None:
                req.after_shard = after
            self.assertEqual(page, self.grpc_dict(self.server.admin_stub().ListCrlShards(
                req, metadata=self.meta(), timeout=harness.RPC_TIMEOUT)))
            seen += [s["shard"] for s in page["shards"]]
            if "next_after_shard" not in page:
                break
            after = page["next_after_shard"]
        self.assertEqual(seen, [-1, 0, 1])
        http_port = self.server.ready["http_port"]
        for shard, http_path in ((0, "/crl/g1/0.crl"), ("ca", "/crl/g1/ca.crl")):
            status, headers, der = self.raw_get("/api/v1/crls/g1/%s.crl" % shard)
            self.assertEqual(status, 200)
            self.assertEqual(headers.get_content_type(), "application/pkix-crl")
            self.assertEqual(der, harness.http_get(http_port, http_path).body)
            self.assertEqual(self.raw_get("/api/v1/crls/g1/%s.crl" % shard, key=None)[0], 401)
        self.assertEqual(self.raw_get("/api/v1/crls/g7/0.crl")[0], 404)
        self.assertEqual(self.raw_get("/api/v1/crls/g1/99.crl")[0], 404)
        self.assert_error(self.api("GET", "/api/v1/crl-shards?after_shard=99"), 400,
                          "INVALID_ARGUMENT", "after_shard")
        status, _, pem = self.raw_get("/api/v1/ca.pem")
        self.assertEqual(status, 200)
        end = b"-----END CERTIFICATE-----"
        blocks = [b[b.index(b"-----BEGIN"):] + end for b in pem.split(end) if b"-----BEGIN" in b]
        self.assertEqual(x509.load_pem_x509_certificate(blocks[0]), self.d.ca_cert)

    def test_sign_in_failures_count_per_forwarded_client_behind_a_trusted_proxy(self):
        other = self.other.ready["admin_port"]
        before = self.state()

        def sign_in(client, key="hca_admin_" + "C" * 43):
            return self.api("POST", "/api/v1/session", {"admin_key": key}, key=None, port=other,
                            headers={"X-Forwarded-For": client})
        # 20 unknown keys a minute per client address, then 429 for that client only.
        for _ in range(20):
            self.assert_error(sign_in("203.0.113.5"), 401, "UNAUTHENTICATED")
        self.assert_error(sign_in("203.0.113.5"), 429, "RESOURCE_EXHAUSTED", "too many")
        self.assert_error(sign_in("203.0.113.6"), 401, "UNAUTHENTICATED")
        # The real key from the held-back client still signs in.
        status, _, s = sign_in("203.0.113.5", self.d.admin_key)
        self.assertEqual(status, 201, s)
        self.assertEqual(self.d.pg.psql(
            "SELECT address FROM admin_sessions WHERE session_id = '%s'" % s["session_id"]),
            "ipv4:203.0.113.5")
        after = self.state()
        self.assertEqual(after["tokens"], before["tokens"])

    def test_admin_listen_is_refused_without_tls(self):
        r = harness.run([os.path.join(harness.BUILD_DIR, "ca", "hostca-server"), "serve",
                         "--database", self.d.pg.conninfo, "--insecure-plaintext",
                         "--passphrase-file", self.d.passphrase_file,
                         "--admin-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0",
                         "--http-listen", "127.0.0.1:0"], timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("server.admin_listen", r.stderr)
        self.assertIn("TLS only", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
