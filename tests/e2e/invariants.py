"""The invariant checker: reads a hostca database and CRLs that were served,
and lists every way they break what hostca promises when several servers
share one database (issue 6). Used by the e2e tests; also runs alone:

    python3 tests/e2e/invariants.py --database 'host=... dbname=hostca user=hostca' \
        [--crl-url http://127.0.0.1:8080/crl/0.crl ...]

Exit 0 and "no violation" when everything holds, else one line a violation
and exit 1.
"""

import argparse
import collections
import subprocess
import sys
import urllib.request

from cryptography import x509

PGBIN = "/usr/lib/postgresql/15/bin"


class Observed:
    """One CRL as some server served it at some moment."""

    def __init__(self, der, server="", at=0.0):
        crl = x509.load_der_x509_crl(der)
        self.der = der
        self.server = server
        self.at = at
        self.number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
        if idp.only_contains_ca_certs:
            self.shard = -1
        else:
            url = idp.full_name[0].value
            self.shard = int(url.rsplit("/", 1)[1].split(".")[0])
        # CRL numbers and contents are per CA key (issue 14), named by the
        # authority key identifier, and shard.
        self.key_id = crl.extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value.key_identifier.hex()
        self.scope = (self.key_id, self.shard)
        self.serials = {r.serial_number for r in crl}


def query(conninfo, sql, psql=PGBIN + "/psql", runner=None):
    """Rows of `sql` as lists of strings (columns split on '|')."""
    args = [psql, conninfo, "-v", "ON_ERROR_STOP=1", "-tAc", sql]
    r = (runner or subprocess.run)(args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("psql failed on %r: %s" % (sql, r.stderr))
    return [line.split("|") for line in r.stdout.splitlines() if line]


# The server's default limits.max_valid_certificates_per_host.
MAX_VALID_CERTIFICATES = 3


def reserved_name(name, server_names=()):
    """Why `name` may never be in a host certificate, or "" if it may."""
    n = name.lower().rstrip(".")
    if n == "localhost" or n.endswith(".localhost"):
        return "a localhost name"
    if "*" in n:
        return "a wildcard"
    if ":" in n or n.startswith("[") or n.rsplit(".", 1)[-1].isdigit():
        return "an IP address"
    if n in server_names:
        return "one of the CA server's own names"
    return ""


def check(conninfo, observed=(), runner=None, max_valid_certificates=MAX_VALID_CERTIFICATES):
    """Every violation found, as one line each; empty when all holds."""
    q = lambda sql: query(conninfo, sql, runner=runner)  # noqa: E731
    bad = []

    # No host over its valid-certificate bound (renewal is bounded, issue 12),
    # by the database's clock.
    for host_id, n in q(
            "SELECT host_id, count(*) FROM certificates WHERE host_id IS NOT NULL"
            " AND revoked_at IS NULL AND not_after > now() GROUP BY host_id"
            " HAVING count(*) > %d" % max_valid_certificates):
        bad.append("host %s holds %s valid certificates, over the bound of %d"
                   % (host_id, n, max_valid_certificates))

    # No CRL dated past the database's clock (one clock for correctness).
    for shard, this_update in q(
            "SELECT shard, this_update FROM crl_shards WHERE this_update > now()"):
        bad.append("shard %s CRL dated %s, past the database's time" % (shard, this_update))

    # Tokens: never used beyond their maximum, and each use audited once.
    audited_uses = collections.Counter(
        r[0] for r in q("SELECT subject FROM audit_log WHERE action = 'token.use'"))
    for token_id, uses, max_uses in q("SELECT token_id, uses, max_uses FROM tokens"):
        if int(uses) > int(max_uses):
            bad.append("token %s used %s times, its maximum is %s" % (token_id, uses, max_uses))
        if audited_uses[token_id] != int(uses):
            bad.append("token %s has %s uses but %d token.use audit rows"
                       % (token_id, uses, audited_uses[token_id]))

    # A host never holds two valid certificates after a reissue (the load
    # that this checks makes no renewals, so: never two at all).
    for host_id, n in q(
            "SELECT host_id, count(*) FROM certificates WHERE host_id IS NOT NULL"
            " AND revoked_at IS NULL AND not_after > now() GROUP BY host_id HAVING count(*) > 1"):
        bad.append("host %s holds %s valid certificates" % (host_id, n))

    # Serials: unique, and the one in each certificate is the one on record.
    certs = q("SELECT serial_hex, encode(der, 'hex') FROM certificates WHERE kind <> 'server'")
    seen = set()
    for serial_hex, der_hex in certs:
        serial = x509.load_der_x509_certificate(bytes.fromhex(der_hex)).serial_number
        if serial != int(serial_hex, 16):
            bad.append("certificate %s carries serial %x" % (serial_hex, serial))
        if serial in seen:
            bad.append("serial %s issued twice" % serial_hex)
        seen.add(serial)

    # Names (issue 11): no DNS name in the valid certificates of two hosts;
    # no reserved name (localhost, an IP address, a wildcard, one of the
    # server's own names) and no server marker in any host certificate.
    server_names = {r[0] for r in q("SELECT name FROM host_names WHERE host_id IS NULL")}
    holders = collections.defaultdict(set)
    for host_id, der_hex, valid in q(
            "SELECT host_id, encode(der, 'hex'), revoked_at IS NULL AND not_after > now()"
            " FROM certificates WHERE host_id IS NOT NULL"):
        cert = x509.load_der_x509_certificate(bytes.fromhex(der_hex))
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            san = None
        names = san.get_values_for_type(x509.DNSName) if san else []
        for name in names:
            if valid == "t":
                holders[name.lower().rstrip(".")].add(host_id)
            reason = reserved_name(name, server_names)
            if reason:
                bad.append("host %s has a certificate %x for %s (%s)"
                           % (host_id, cert.serial_number, name, reason))
        if san and san.get_values_for_type(x509.IPAddress):
            bad.append("host %s has a certificate %x for an IP address"
                       % (host_id, cert.serial_number))
        if cert.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME):
            bad.append("host %s has a certificate %x with an organization in its subject (the"
                       " server marker's place)" % (host_id, cert.serial_number))
    for name, hosts in sorted(holders.items()):
        if len(hosts) > 1:
            bad.append("%s is in valid certificates of %d hosts: %s"
                       % (name, len(hosts), ", ".join(sorted(hosts))))

    # One audit row per change.
    counts = dict(q(
        "SELECT 'issue', count(*) FROM certificates WHERE kind IN ('enroll', 'server') UNION ALL"
        " SELECT 'reissue', count(*) FROM certificates WHERE kind = 'reissue' UNION ALL"
        " SELECT 'revoked', count(*) FROM certificates WHERE kind <> 'server'"
        " AND revoked_at IS NOT NULL UNION ALL"
        " SELECT 'events', count(*) FROM revocation_events"))
    audit = dict(q("SELECT action, count(*) FROM audit_log WHERE outcome = 'ok' GROUP BY action"))
    for action, rows in (("certificate.issue", counts["issue"]),  # enrolments, server TLS
                         ("certificate.reissue", counts["reissue"]),
                         ("certificate.revoke", counts["revoked"])):
        if audit.get(action, "0") != rows:
            bad.append("%s certificates but %s %s audit rows" % (rows, audit.get(action, 0), action))
    if counts["events"] != counts["revoked"]:
        bad.append("%s revoked certificates but %s revocation events"
                   % (counts["revoked"], counts["events"]))

    # CRL numbers strictly increase per CA key and shard, in commit order, up
    # to the shard's current one. The audit subject is the shard for the
    # first key, "<generation>:<shard>" for later ones.
    current = {(int(g), int(s)): int(n)
               for g, s, n in q("SELECT ca_generation, shard, crl_number FROM crl_shards")}
    published = collections.defaultdict(list)
    for subject, number in q(
            "SELECT subject, (details->>'crl_number') FROM audit_log"
            " WHERE action = 'crl.publish' ORDER BY sequence"):
        g, _, s = subject.rpartition(":")
        published[(int(g or 1), int(s))].append(int(number))
    for scope, numbers in published.items():
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            bad.append("CA key %d shard %d published CRL numbers out of order: %s"
                       % (scope + (numbers,)))
        if numbers and numbers[-1] != current.get(scope):
            bad.append("CA key %d shard %d: last published %d, current %s"
                       % (scope + (numbers[-1], current.get(scope))))

    # Every revocation is on every CRL of its shard published after it: the
    # current ones in the database, and every one a server was seen serving.
    key_ids = {}
    for g, der_hex in q("SELECT generation, encode(certificate_der, 'hex') FROM ca_keys"):
        cert = x509.load_der_x509_certificate(bytes.fromhex(der_hex))
        key_ids[int(g)] = cert.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value.digest.hex()
    events = [(int(serial, 16), (key_ids.get(int(g)), int(shard)), int(number))
              for serial, g, shard, number in q(
                  "SELECT e.serial_hex, e.ca_generation, e.shard, e.crl_number"
                  " FROM revocation_events e"
                  " JOIN certificates c USING (serial_hex) WHERE NOT c.off_crl")]
    crls = list(observed)
    for (der_hex,) in q("SELECT encode(der, 'hex') FROM crl_shards WHERE der <> ''"):
        crls.append(Observed(bytes.fromhex(der_hex), server="database"))
    for serial, scope, number in events:
        for crl in crls:
            if crl.scope == scope and crl.number >= number and serial not in crl.serials:
                bad.append("revocation of %x (CRL %d of CA key %s shard %d) missing from CRL %d"
                           " served by %s" % ((serial, number) + scope + (crl.number, crl.server)))

    # What servers served: one CRL number, one content; never backwards.
    by_number = {}
    last = {}
    for crl in sorted(crls, key=lambda c: c.at):
        key = crl.scope + (crl.number,)
        if key in by_number and by_number[key] != crl.serials:
            bad.append("CA key %s shard %d CRL %d served with two different contents" % key)
        by_number.setdefault(key, crl.serials)
        if crl.server != "database":
            prev = last.get((crl.server,) + crl.scope)
            if prev is not None and crl.number < prev:
                bad.append("%s served CA key %s shard %d CRL %d after CRL %d"
                           % ((crl.server,) + crl.scope + (crl.number, prev)))
            last[(crl.server,) + crl.scope] = crl.number
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", required=True, help="libpq connection string")
    ap.add_argument("--crl-url", action="append", default=[], help="a CRL to check too")
    ap.add_argument("--max-valid-certificates", type=int, default=MAX_VALID_CERTIFICATES,
                    help="the servers' limits.max_valid_certificates_per_host")
    args = ap.parse_args()
    observed = []
    for url in args.crl_url:
        with urllib.request.urlopen(url, timeout=10) as r:
            observed.append(Observed(r.read(), server=url))
    try:
        bad = check(args.database, observed,
                    max_valid_certificates=args.max_valid_certificates)
    except Exception as e:  # one line, non-zero
        print("invariants: %s" % e, file=sys.stderr)
        return 2
    for line in bad:
        print(line)
    if not bad:
        print("no violation")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
