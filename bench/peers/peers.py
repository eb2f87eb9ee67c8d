#!/usr/bin/env python3
"""Helpers of hostca's peer benchmark (bench/peers.sh).

  stepca-init   a step-ca CA: root, intermediate, a JWK provisioner, ca.json
  cfssl-init    a CFSSL CA, its TLS certificate, config and certdb config
  bodies        request bodies made beforehand: ECDSA P-256 CSRs, and for
                step-ca one-time JWK tokens (one per request)
  run-wrk       one wrk run: CPU of the server and database processes from
                /proc before and after, certificates stored, wrk's figures
  hostca-result hostca-bench's JSON in the same shape as run-wrk's
  cpu           CPU seconds so far of servers and databases
  add-others    the other systems' CPU during a run, noted in its result
  yardstick     CPU ms of a fixed workload: how fast the machine is now
  add-yardstick the yardstick before and after a run, noted in its result
  table         every run in one table, medians over passes, ratios

Everything is on 127.0.0.1; every run is bounded by a count and a time.
"""
import argparse
import base64
import datetime
import glob
import hashlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

UTC = datetime.timezone.utc


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def make_cert(subject_cn, key, issuer_cert, issuer_key, ca, path_len=None, dns=()):
    now = datetime.datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    b = (x509.CertificateBuilder()
         .subject_name(name)
         .issuer_name(issuer_cert.subject if issuer_cert else name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=3650 if ca else 30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                            critical=True)
    if dns:
        import ipaddress
        sans = [x509.IPAddress(ipaddress.ip_address(d)) if d[0].isdigit() else x509.DNSName(d)
                for d in dns]
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


def jwk_public(key):
    nums = key.public_key().public_numbers()
    x = b64url(nums.x.to_bytes(32, "big"))
    y = b64url(nums.y.to_bytes(32, "big"))
    # RFC 7638 thumbprint: the required members, sorted, no spaces.
    canonical = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"),
                           sort_keys=True)
    kid = b64url(hashlib.sha256(canonical.encode()).digest())
    return {"use": "sig", "kty": "EC", "kid": kid, "crv": "P-256", "alg": "ES256", "x": x, "y": y}


def cmd_stepca_init(a):
    d = a.dir
    os.makedirs(d, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = make_cert("hostca-bench step-ca root", root_key, None, None, ca=True, path_len=1)
    int_key = ec.generate_private_key(ec.SECP256R1())
    inter = make_cert("hostca-bench step-ca intermediate", int_key, root, root_key, ca=True,
                      path_len=0)
    write(f"{d}/root.crt", pem_cert(root))
    write(f"{d}/intermediate.crt", pem_cert(inter))
    write(f"{d}/intermediate.key", pem_key(int_key), 0o600)
    prov_key = ec.generate_private_key(ec.SECP256R1())
    jwk = jwk_public(prov_key)
    write(f"{d}/provisioner.key", pem_key(prov_key), 0o600)
    cfg = {
        "root": f"{d}/root.crt",
        "crt": f"{d}/intermediate.crt",
        "key": f"{d}/intermediate.key",
        "address": f"127.0.0.1:{a.port}",
        "dnsNames": ["127.0.0.1", "localhost"],
        "logger": {"format": "text"},
        # Debian's badger is 2.2007 (for both of step's badger drivers), whose
        # DefaultOptions have SyncWrites true: every write is fsynced
        # (bench/peers.sh checks this in the source it builds).
        "db": {"type": "badgerv2", "dataSource": f"{d}/db"},
        "authority": {
            "provisioners": [{
                "type": "JWK",
                "name": "bench",
                "key": jwk,
                "claims": {"defaultTLSCertDuration": "8760h", "maxTLSCertDuration": "8760h"},
            }],
        },
        "tls": {"minVersion": 1.2, "maxVersion": 1.3, "renegotiation": False},
    }
    write(f"{d}/ca.json", json.dumps(cfg, indent=2))
    write(f"{d}/provisioner.json", json.dumps({"name": "bench", "kid": jwk["kid"]}))


def cmd_cfssl_init(a):
    d = a.dir
    os.makedirs(d, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = make_cert("hostca-bench cfssl CA", ca_key, None, None, ca=True, path_len=0)
    write(f"{d}/ca.pem", pem_cert(ca))
    write(f"{d}/ca-key.pem", ca_key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                                  serialization.NoEncryption()), 0o600)
    tls_key = ec.generate_private_key(ec.SECP256R1())
    tls = make_cert("127.0.0.1", tls_key, ca, ca_key, ca=False, dns=("127.0.0.1", "localhost"))
    write(f"{d}/tls.pem", pem_cert(tls))
    write(f"{d}/tls-key.pem", pem_key(tls_key), 0o600)
    write(f"{d}/config.json", json.dumps({"signing": {"default": {
        "expiry": "8760h", "usages": ["digital signature", "server auth", "client auth"]}}},
        indent=2))
    write(f"{d}/db.json", json.dumps({"driver": "postgres", "data_source": a.data_source}))


def es256_token(key, kid, claims):
    header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def cmd_bodies(a):
    """One JSON body a line, split over `threads` files (OUT.0 ... OUT.T-1):
    thread k of wrk sends bodies k, k+T, k+2T..."""
    files = [open(f"{a.out}.{k}", "w") for k in range(a.threads)]
    if a.system == "step-ca":
        prov = json.load(open(f"{a.dir}/provisioner.json"))
        prov_key = serialization.load_pem_private_key(
            open(f"{a.dir}/provisioner.key", "rb").read(), None)
        aud = f"https://127.0.0.1:{a.port}/1.0/sign"
    now = int(time.time())
    for i in range(a.count):
        host = f"{a.prefix}-{i}.bench.example"
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
               .sign(key, hashes.SHA256()))
        csr_pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        if a.system == "step-ca":
            token = es256_token(prov_key, prov["kid"], {
                "iss": prov["name"], "aud": aud, "sub": host, "sans": [host],
                "jti": secrets.token_hex(16), "iat": now, "nbf": now, "exp": now + a.token_seconds})
            body = {"csr": csr_pem, "ott": token}
        else:
            body = {"certificate_request": csr_pem, "hosts": [host]}
        files[i % a.threads].write(json.dumps(body, separators=(",", ":")) + "\n")
    for f in files:
        f.close()


def proc_cpu(pid, with_children):
    """User + system seconds of pid; with_children adds every live child's
    and the reaped children's (cutime, cstime): a postmaster and all its
    backends, including those that exited in between."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(p):
        with open(f"/proc/{p}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2:].split()

    f = fields(pid)
    total = int(f[11]) + int(f[12])
    if with_children:
        total += int(f[13]) + int(f[14])
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                c = fields(p)
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
            if int(c[1]) == pid:
                total += int(c[11]) + int(c[12])
    return total / tick


def cpu_sample(servers, databases):
    return (sum(proc_cpu(p, False) for p in servers), sum(proc_cpu(p, True) for p in databases))


def count_certs(cmd):
    if not cmd:
        return None
    return int(subprocess.run(cmd, shell=True, check=True, capture_output=True,
                              text=True).stdout.strip())


def cmd_run_wrk(a):
    threads = a.wrk_threads or a.clients
    if a.clients % threads:
        sys.exit("run-wrk: --clients must be a multiple of --wrk-threads")
    env = dict(os.environ, HOSTCA_WRK_BODIES=a.bodies, HOSTCA_WRK_PATH=a.path,
               HOSTCA_WRK_EXPECT=a.expect, HOSTCA_WRK_OUT=a.out + ".wrk",
               HOSTCA_WRK_CONNECTIONS_PER_THREAD=str(a.clients // threads))
    certs_before = count_certs(a.count_cmd)
    before = cpu_sample(a.server_pid, a.db_pid)
    t0 = time.monotonic()
    # -d is the time bound; the threads stop by themselves after their last
    # answer, and wrk's main thread, which sleeps for -d whatever happens,
    # is woken with SIGINT as soon as they have.
    wrk = subprocess.Popen(["wrk", "-t", str(threads), "-c", str(a.clients), "-d",
                            f"{int(a.max_seconds)}s", "--timeout", "30s", "-s", a.script, a.url],
                           env=env, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)

    def stop(signum, _frame):
        wrk.kill()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = False
    while wrk.poll() is None:
        try:
            tasks = len(os.listdir(f"/proc/{wrk.pid}/task"))
        except FileNotFoundError:
            break
        if tasks > 1:
            started = True
        elif started:
            wrk.send_signal(signal.SIGINT)
            break
        time.sleep(0.01)
    wrk_out, _ = wrk.communicate(timeout=60)
    after = cpu_sample(a.server_pid, a.db_pid)
    certs_after = count_certs(a.count_cmd)
    res = json.load(open(a.out + ".wrk"))
    timed = res["latencies"] == res["calls"]  # one connection per thread
    for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms"):
        if not timed:
            res[k] = None
    ok = res["ok"]
    stored = (certs_after - certs_before) if certs_before is not None else ok
    server_s, db_s = after[0] - before[0], after[1] - before[1]
    out = {
        "system": a.system, "clients": a.clients, "pass": a.pass_no, "count": a.count,
        "calls": res["calls"], "ok": ok, "errors": res["failed"] + sum(res["socket_errors"].values()),
        "seconds": res["seconds"], "per_s": ok / res["seconds"] if res["seconds"] else 0,
        "p50_ms": res["p50_ms"], "p90_ms": res["p90_ms"], "p99_ms": res["p99_ms"],
        "max_ms": res["max_ms"], "certificates_stored": stored,
        "certificates_counted_from": "database" if certs_before is not None else "answers",
        "server_cpu_s": server_s, "db_cpu_s": db_s if a.db_pid else None,
        "server_ms_per_cert": server_s * 1000 / stored if stored else None,
        "db_ms_per_cert": db_s * 1000 / stored if (stored and a.db_pid) else None,
        "gen_ms_per_call": res["thread_cpu_seconds"] * 1000 / res["calls"]
        if res["calls"] and res["thread_cpu_seconds"] >= 0 else None,
        "wrk": res, "wrk_threads": threads, "wrk_stdout": wrk_out,
        "wall_seconds": time.monotonic() - t0,
    }
    out["server_db_ms_per_cert"] = (out["server_ms_per_cert"] or 0) + (out["db_ms_per_cert"] or 0) \
        if stored else None
    json.dump(out, open(a.out, "w"), indent=2)
    if res["threads_unfinished"]:
        print(f"run-wrk: {res['threads_unfinished']} wrk threads hit the time bound", file=sys.stderr)


def cmd_cpu(a):
    """Prints the CPU seconds so far of the given servers and databases."""
    servers, dbs = cpu_sample(a.server_pid, a.db_pid)
    print(f"{servers + dbs:.3f}")


def cmd_add_others(a):
    """Notes in a run's result the CPU the other systems' processes used
    meanwhile (a checkpoint, autovacuum, a CRL schedule): it ran on the
    same cores and is part of why a throughput differs from pass to pass."""
    r = json.load(open(a.result))
    r["others_cpu_s"] = a.after - a.before
    r["others_ms_per_cert"] = (r["others_cpu_s"] * 1000 / r["certificates_stored"]
                               if r["certificates_stored"] else None)
    json.dump(r, open(a.result, "w"), indent=2)


# The machine's speed moves by a third within minutes (steal, clock), and
# with it every CPU-seconds figure. The yardstick is a fixed piece of work
# (SHA-256 over 256 MiB, in C inside hashlib; about 0.15 s, the least of
# three tries) timed in CPU time
# just before and just after each run: a run's CPU per certificate times
# (median yardstick / its own yardstick) is what it would have cost at the
# run's median machine speed.
YARDSTICK_BLOCK = bytes(range(256)) * 4096  # 1 MiB


def yardstick_ms():
    best = None
    for _ in range(3):  # the least of three: a preemption only adds
        start = time.process_time()
        for _ in range(256):
            hashlib.sha256(YARDSTICK_BLOCK).digest()
        ms = (time.process_time() - start) * 1000
        best = ms if best is None else min(best, ms)
    return best


def cmd_yardstick(_a):
    print(f"{yardstick_ms():.3f}")


def cmd_add_yardstick(a):
    r = json.load(open(a.result))
    r["yardstick_ms"] = (a.before + a.after) / 2
    json.dump(r, open(a.result, "w"), indent=2)


def cmd_hostca_result(a):
    data = json.load(open(a.bench_json))
    r = data["results"][0]
    stored = a.certs_after - a.certs_before
    cpu = r["extra"]["cpu_seconds"]
    out = {
        "system": a.system, "clients": r["clients"], "pass": a.pass_no, "count": a.count,
        "calls": r["attempted"], "ok": r["ok"], "errors": sum(r["errors"].values()),
        "seconds": r["seconds"], "per_s": r["throughput_per_s"],
        "p50_ms": r["latency_ms"]["p50"], "p90_ms": r["latency_ms"]["p90"],
        "p99_ms": r["latency_ms"]["p99"], "max_ms": r["latency_ms"]["max"],
        "certificates_stored": stored, "certificates_counted_from": "database",
        "server_cpu_s": cpu["servers"], "db_cpu_s": cpu["databases"],
        "server_ms_per_cert": cpu["servers"] * 1000 / stored if stored else None,
        "db_ms_per_cert": cpu["databases"] * 1000 / stored if stored else None,
        "gen_ms_per_call": r["cpu_ms"]["load_generator_per_call"],
        "load": r["extra"].get("load"), "hostca_bench": r,
    }
    out["server_db_ms_per_cert"] = (out["server_ms_per_cert"] + out["db_ms_per_cert"]) \
        if stored else None
    json.dump(out, open(a.out, "w"), indent=2)


def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


COLUMNS = [("per_s", "certs/s", 0), ("p50_ms", "p50 ms", 1), ("p99_ms", "p99 ms", 1),
           ("server_ms_per_cert", "server ms/cert", 2), ("db_ms_per_cert", "db ms/cert", 2),
           ("server_db_ms_per_cert", "server+db ms/cert", 2),
           ("gen_ms_per_call", "loadgen ms/call", 3),
           ("others_ms_per_cert", "others ms/cert", 2),
           ("yardstick_ms", "yardstick ms", 0),
           ("server_db_at_median_speed", "server+db at median speed", 2)]


def spread(values):
    """(max - min) / min, in percent: how far apart the passes are."""
    values = [v for v in values if v]
    return (max(values) - min(values)) / min(values) * 100 if len(values) > 1 else None


def cmd_table(a):
    runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(a.results, "run-*.json")))]
    meta = json.load(open(a.meta)) if a.meta and os.path.exists(a.meta) else {}
    order = {"hostca": 0, "hostca-sync": 1, "step-ca": 2, "cfssl": 3}
    runs.sort(key=lambda r: (order.get(r["system"], 9), r["clients"], r["pass"]))
    sticks = [r["yardstick_ms"] for r in runs if r.get("yardstick_ms")]
    median_stick = statistics.median(sticks) if sticks else None
    for r in runs:
        r.setdefault("yardstick_ms", None)
        r["server_db_at_median_speed"] = (
            r["server_db_ms_per_cert"] * median_stick / r["yardstick_ms"]
            if r.get("server_db_ms_per_cert") and r["yardstick_ms"] and median_stick else None)
    label = {s: meta.get("systems", {}).get(s, {}).get("label", s) for s in order}
    head = ["system", "clients", "pass", "ok", "errors"] + [c[1] for c in COLUMNS]
    rows = []
    for r in runs:
        rows.append([label.get(r["system"], r["system"]), str(r["clients"]), str(r["pass"]),
                     fmt(r["ok"]), fmt(r["errors"])] + [fmt(r[k], d) for k, _, d in COLUMNS])
    # Medians over the passes of each system and level.
    med = {}
    for r in runs:
        med.setdefault((r["system"], r["clients"]), []).append(r)
    medians = []
    for (system, clients), rs in sorted(med.items(), key=lambda kv: (order.get(kv[0][0], 9),
                                                                     kv[0][1])):
        m = {"system": system, "clients": clients, "passes": len(rs)}
        for k, _, _ in COLUMNS:
            vals = [r[k] for r in rs if r[k] is not None]
            m[k] = statistics.median(vals) if vals else None
        m["errors"] = sum(r["errors"] for r in rs)  # every error of every pass
        m["ok"] = statistics.median(r["ok"] for r in rs)
        medians.append(m)
        rows.append([label.get(system, system), str(clients), "median", fmt(m["ok"], 0),
                     fmt(m["errors"])] + [fmt(m[k], d) for k, _, d in COLUMNS])
    ratios = []
    by = {(m["system"], m["clients"]): m for m in medians}
    for peer in ("step-ca", "cfssl"):
        for (system, clients), m in sorted(by.items()):
            if system != "hostca" or (peer, clients) not in by:
                continue
            p = by[(peer, clients)]
            ratio = {"of": f"hostca/{peer}", "clients": clients}
            for k, _, _ in COLUMNS:
                ratio[k] = (m[k] / p[k]) if (m[k] is not None and p[k] and
                                             k not in ("others_ms_per_cert", "yardstick_ms")) else None
            ratios.append(ratio)
            rows.append([f"hostca/{peer}", str(clients), "ratio", "", ""] +
                        [(fmt(ratio[k], 2) + "x") if ratio[k] is not None else "-"
                         for k, _, _ in COLUMNS])
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i])
              for i in range(len(head))]
    line = lambda cells: "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                                   for i, c in enumerate(cells))
    print(line(head))
    for r in rows:
        print(line(r))
    # Steadiness: how far apart the passes of each system and level are in
    # server+db CPU per certificate, as measured and at the median speed.
    steadiness = []
    for (system, clients), rs in sorted(med.items(), key=lambda kv: (order.get(kv[0][0], 9),
                                                                     kv[0][1])):
        s = {"system": system, "clients": clients,
             "cpu_spread_pct": spread([r["server_db_ms_per_cert"] for r in rs]),
             "cpu_spread_at_median_speed_pct": spread(
                 [r["server_db_at_median_speed"] for r in rs]),
             "yardstick_spread_pct": spread([r["yardstick_ms"] for r in rs]),
             "loadgen_spread_pct": spread([r["gen_ms_per_call"] for r in rs])}
        steadiness.append(s)
        pct = lambda v: "-" if v is None else f"{v:.0f} %"
        print(f"pass to pass, {label.get(system, system)} at {clients} clients: server+db CPU per "
              f"certificate {pct(s['cpu_spread_pct'])} apart, "
              f"{pct(s['cpu_spread_at_median_speed_pct'])} at the median speed "
              f"(the yardstick moved {pct(s['yardstick_spread_pct'])}, the load generator's "
              f"CPU per call {pct(s['loadgen_spread_pct'])})")
    json.dump({"meta": meta, "runs": runs, "medians": medians, "ratios": ratios,
               "steadiness": steadiness}, open(a.json, "w"), indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stepca-init")
    s.add_argument("--dir", required=True)
    s.add_argument("--port", type=int, required=True)
    s = sub.add_parser("cfssl-init")
    s.add_argument("--dir", required=True)
    s.add_argument("--data-source", required=True)
    s = sub.add_parser("bodies")
    s.add_argument("--system", choices=["step-ca", "cfssl"], required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--threads", type=int, required=True)
    s.add_argument("--prefix", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--token-seconds", type=int, default=600)
    s = sub.add_parser("run-wrk")
    s.add_argument("--system", required=True)
    s.add_argument("--url", required=True)
    s.add_argument("--path", required=True)
    s.add_argument("--expect", required=True)
    s.add_argument("--script", required=True)
    s.add_argument("--bodies", required=True)
    s.add_argument("--clients", type=int, required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--pass", dest="pass_no", type=int, required=True)
    s.add_argument("--max-seconds", type=float, required=True)
    s.add_argument("--server-pid", type=int, action="append", default=[])
    s.add_argument("--db-pid", type=int, action="append", default=[])
    s.add_argument("--count-cmd", default="")
    s.add_argument("--wrk-threads", type=int, default=0,
                   help="wrk threads (default: one per client, which times every request)")
    s.add_argument("--out", required=True)
    s = sub.add_parser("hostca-result")
    s.add_argument("--system", default="hostca")
    s.add_argument("--bench-json", required=True)
    s.add_argument("--certs-before", type=int, required=True)
    s.add_argument("--certs-after", type=int, required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--pass", dest="pass_no", type=int, required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("cpu")
    s.add_argument("--server-pid", type=int, action="append", default=[])
    s.add_argument("--db-pid", type=int, action="append", default=[])
    s = sub.add_parser("add-others")
    s.add_argument("--result", required=True)
    s.add_argument("--before", type=float, required=True)
    s.add_argument("--after", type=float, required=True)
    s = sub.add_parser("yardstick")
    s = sub.add_parser("add-yardstick")
    s.add_argument("--result", required=True)
    s.add_argument("--before", type=float, required=True)
    s.add_argument("--after", type=float, required=True)
    s = sub.add_parser("table")
    s.add_argument("--results", required=True)
    s.add_argument("--meta")
    s.add_argument("--json", required=True)
    a = p.parse_args()
    {"stepca-init": cmd_stepca_init, "cfssl-init": cmd_cfssl_init, "bodies": cmd_bodies,
     "run-wrk": cmd_run_wrk, "hostca-result": cmd_hostca_result, "cpu": cmd_cpu,
     "add-others": cmd_add_others, "yardstick": cmd_yardstick,
     "add-yardstick": cmd_add_yardstick,
     "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
