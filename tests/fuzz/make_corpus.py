#!/usr/bin/python3
"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/.

A few valid inputs and a few broken ones per target: real CSRs made by
OpenSSL (each key type the policy accepts, and ones it refuses), host names,
tokens of the right shape, identifiers, and serialized hostca.v1 requests.
Keys are fresh on every run, so rerunning changes the bytes, not the shapes.
Run it from anywhere:  tests/fuzz/make_corpus.py
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
TARGETS = ("csr_fuzzer", "host_name_fuzzer", "secret_token_fuzzer", "identifier_fuzzer",
           "request_fuzzer")

HOST_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"


def run(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, timeout=120, **kwargs).stdout


def token(prefix):
    return prefix + secrets.token_urlsafe(32)  # 32 bytes: 43 base64url characters


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def make_csrs(tmp):
    """DER (and one PEM) CSRs, keyed by seed name."""
    keys = {
        "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "ed25519": ["-algorithm", "ED25519"],
        "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        # refused by the policy: too weak, an unsupported curve, explicit parameters
        "rsa1024": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        "secp256k1": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
        "p256-explicit": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                          "-pkeyopt", "ec_param_enc:explicit"],
    }
    csrs = {}
    for name, opts in keys.items():
        key = os.path.join(tmp, name + ".key")
        run("openssl", "genpkey", *opts, "-out", key)
        csrs[name] = run("openssl", "req", "-new", "-key", key, "-subj", "/CN=ignored.example",
                         "-outform", "DER")
        if name == "p256":
            csrs["p256.pem"] = run("openssl", "req", "-new", "-key", key, "-subj",
                                   "/CN=ignored.example")
    return csrs


def proto_modules(tmp):
    """The hostca.v1 Python messages, generated from proto/ into tmp."""
    out = os.path.join(tmp, "py")
    os.makedirs(out)
    run("protoc", "--proto_path=" + os.path.join(ROOT, "proto"), "--python_out=" + out,
        "hostca/v1/host.proto", "hostca/v1/admin.proto", "hostca/v1/revocation.proto")
    sys.path.insert(0, out)
    from hostca.v1 import admin_pb2, host_pb2  # noqa: E402
    return host_pb2, admin_pb2


def main():
    for t in TARGETS:
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
        os.makedirs(os.path.join(CORPUS, t))
    with tempfile.TemporaryDirectory() as tmp:
        csrs = make_csrs(tmp)
        host_pb2, admin_pb2 = proto_modules(tmp)

        p256 = csrs["p256"]
        for name, der in csrs.items():
            write("csr_fuzzer", name if name.endswith(".pem") else name + ".der", der)
        write("csr_fuzzer", "p256-truncated.der", p256[: len(p256) // 2])
        write("csr_fuzzer", "p256-bad-signature.der", p256[:-1] + bytes([p256[-1] ^ 0x01]))
        write("csr_fuzzer", "not-a-csr.txt", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")

        for name, text in {
            "plain": "web01.example.com",
            "upper": "WEB-01.Example.COM",
            "single-label": "localhost",
            "with-aliases": "web01.example.com\nwww.example.com\napi.example.com",
            "alias-repeats-host": "a.example\nA.example",
            "alias-twice": "a.example\nb.example\nb.example",
            "longest-label": "a" * 63 + ".example",
            "label-too-long": "a" * 64 + ".example",
            "longest-name": ".".join(["a" * 63] * 3 + ["b" * 61]),
            "leading-hyphen": "-web.example",
            "double-dot": "web..example",
            "trailing-dot": "web.example.",
            "underscore": "_acme.example",
            "utf8": "b\u00fccher.example",
        }.items():
            write("host_name_fuzzer", name, text)

        for name, text in {
            "authorization": token("hca_auth_"),
            "reissue": token("hca_reissue_"),
            "admin": token("hca_admin_"),
            "bearer-admin": "Bearer " + token("hca_admin_"),
            "short": token("hca_auth_")[:-1],
            "long": token("hca_auth_") + "A",
            "bad-character": token("hca_auth_")[:-1] + "+",
            "no-prefix": secrets.token_urlsafe(32),
            "prefix-only": "hca_reissue_",
        }.items():
            write("secret_token_fuzzer", name, text)

        for name, text in {
            "uuid": HOST_ID,
            "uuid-upper": HOST_ID.upper(),
            "uuid-no-dashes": HOST_ID.replace("-", ""),
            "serial": "5f3a9c0e1b2d4f6a8c0e1b2d4f6a8c0e",
            "serial-colons": "5F:3A:9C:0E:1B:2D:4F:6A",
            "serial-leading-zeros": "0000" + "ab" * 20,
            "serial-too-long": "ab" * 21,
            "serial-odd": "abc",
            "reason-name": "keyCompromise",
            "reason-number": "4",
            "reason-refused": "certificateHold",
            "reason-out-of-range": "99",
        }.items():
            write("identifier_fuzzer", name, text)

        def message(name, m):
            write("request_fuzzer", name, m.SerializeToString())

        message("request-certificate", host_pb2.RequestCertificateRequest(
            csr=p256, hostname="web01.example.com", aliases=["www.example.com"],
            authorization_token=token("hca_auth_")))
        message("request-certificate-ed25519", host_pb2.RequestCertificateRequest(
            csr=csrs["ed25519"], hostname="db.example", authorization_token=token("hca_auth_")))
        message("request-certificate-bad-name", host_pb2.RequestCertificateRequest(
            csr=p256, hostname="-bad..example", authorization_token=token("hca_auth_")))
        message("reissue-certificate", host_pb2.ReissueCertificateRequest(
            host_id=HOST_ID, csr=p256, reissue_token=token("hca_reissue_"),
            hostname="web02.example.com", aliases=["www.example.com"]))
        message("reissue-auto-window", host_pb2.ReissueCertificateRequest(
            host_id=HOST_ID, csr=csrs["p384"]))
        message("renew-certificate", host_pb2.RenewCertificateRequest(csr=p256))
        message("report-certificate-failure", host_pb2.ReportCertificateFailureRequest(
            host_id=HOST_ID, pinned_spki_sha256="ab" * 32, presented_spki_sha256="cd" * 32,
            server="ca.example:8443"))
        authz = admin_pb2.CreateAuthorizationTokenRequest(name="rack 4", max_uses=3,
                                                          reason="new hosts")
        authz.valid_for.seconds = 3600
        message("create-authorization-token", authz)
        reissue = admin_pb2.CreateReissueTokenRequest(host_id=HOST_ID, reason="key lost")
        reissue.valid_for.seconds = 86400
        message("create-reissue-token", reissue)
        message("revoke-serial", admin_pb2.RevokeCertificateRequest(
            serial_hex="5f3a9c0e1b2d4f6a8c0e1b2d4f6a8c0e", reason=1))
        message("revoke-host", admin_pb2.RevokeCertificateRequest(host_id=HOST_ID, reason=5))
        message("revoke-bad-reason", admin_pb2.RevokeCertificateRequest(host_id=HOST_ID, reason=6))
        window = admin_pb2.AllowAutoReissueRequest(host_id=HOST_ID)
        window.valid_for.seconds = 7200
        message("allow-auto-reissue", window)
        message("delete-token", admin_pb2.DeleteTokenRequest(token_id=HOST_ID))
        message("list-hosts", admin_pb2.ListHostsRequest(hostname_contains="example", limit=10))
        message("get-host", admin_pb2.GetHostRequest(host_id=HOST_ID))
        message("list-audit-events", admin_pb2.ListAuditEventsRequest(after_sequence=7, limit=50))
        message("create-admin-key", admin_pb2.CreateAdminKeyRequest(name="backup admin"))
        whole = host_pb2.RequestCertificateRequest(
            csr=p256, hostname="web01.example.com",
            authorization_token=token("hca_auth_")).SerializeToString()
        write("request_fuzzer", "truncated", whole[:-10])
        # hostname (field 2) holding bytes that are not UTF-8
        write("request_fuzzer", "invalid-utf8", b"\x12\x03\xff\xfe\xfd")

    total = sum(os.path.getsize(os.path.join(d, f))
                for d, _, files in os.walk(CORPUS) for f in files)
    print("make_corpus: %d bytes in %s" % (total, CORPUS))


if __name__ == "__main__":
    main()
