"""The admin console in a real browser: Debian's chromium, headless, driven by
chromedriver through Selenium, against hostca-server's own copy of the pages
on its admin HTTPS port, with a real PostgreSQL behind it. The browser trusts
the deployment's CA through an NSS database in a temporary HOME, as an admin's
browser would (no --ignore-certificate-errors).

An admin signs in with the deployment's admin key; the dashboard's counts
equal the database's; the hosts page filters by state; two hosts are revoked
through the bulk action and the confirm dialog, and OpenSSL finds both on the
CRLs the HTTP endpoint serves; a token made on the tokens page enrols a real
hostca-agent; the audit page shows what was done, by the admin key's ID; a
state-changing call with the session cookie but without the anti-CSRF header
is refused and changes nothing; a token named like markup shows as text; no
page breaks its Content-Security-Policy or throws; after sign-out the old
cookie is refused. The ids the test relies on are those of the console's
contract (the pages' DOM contract with this test).

Needs the Debian packages chromium, chromium-driver and python3-selenium:
without them the test fails, naming the missing package. Screenshots of each
page go to $HOSTCA_SCREENSHOT_DIR if set, else to the deployment's temporary
folder (kept with HOSTCA_E2E_KEEP=1). The server serves the copy of the pages built
into it; HOSTCA_CONSOLE_DIR=<folder> (for whoever edits the pages) serves them from
disk instead, through `serve --console-dir`."""

import ctypes
import ctypes.util
import http.client
import json
import os
import shutil
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import admin_pb2, host_pb2, x509  # noqa: E402

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.remote_connection import RemoteConnection
    from selenium.webdriver.support.ui import Select, WebDriverWait
    SELENIUM_ERROR = None
except ImportError as e:  # reported as a failure by setUpClass, never a skip
    SELENIUM_ERROR = e

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
COOKIE = "__Host-hostca_session"
XSS = "<img src=x onerror=alert(1)>"
WAIT = 20            # seconds: the longest any one wait in this test may take
EXPIRING_DAYS = 30   # GetDashboardResponse.expiring_within_days, HostInfo.state
SHARDS = 2
PAGES = ("sign-in", "dashboard", "hosts", "host", "tokens", "audit", "crls")


def missing_prerequisites():
    """What the browser test needs that is not installed, as Debian package names."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append("chromium (no %s)" % CHROMIUM)
    if not os.access(CHROMEDRIVER, os.X_OK):
        missing.append("chromium-driver (no %s)" % CHROMEDRIVER)
    if SELENIUM_ERROR is not None:
        missing.append("python3-selenium (%s)" % SELENIUM_ERROR)
    return missing


# ---------------------------------------------------------------- trusting the CA


def trust_ca_in_nss(nssdb, ca_pem_path):
    """Makes `nssdb` (a new folder, Chromium's $HOME/.pki/nssdb) trust the CA for TLS
    servers ("C,,"). With NSS's certutil (libnss3-tools) when installed; otherwise with
    libnss3 itself, which chromium depends on, through the same calls certutil makes
    (NSS_InitReadWrite, PK11_ImportCert, CERT_ChangeCertTrust)."""
    os.makedirs(nssdb, mode=0o700)
    certutil = shutil.which("certutil")
    if certutil:
        for args in (["-N", "--empty-password"],
                     ["-A", "-t", "C,,", "-n", "hostca-e2e", "-i", ca_pem_path]):
            r = harness.run([certutil, "-d", "sql:" + nssdb] + args, timeout=30)
            if r.returncode != 0:
                raise RuntimeError("certutil failed: %r" % r)
        return "certutil"
    with open(ca_pem_path, "rb") as f:
        der = x509.load_pem_x509_certificate(f.read()).public_bytes(
            harness.serialization.Encoding.DER)
    nss = ctypes.CDLL(ctypes.util.find_library("nss3") or "libnss3.so")

    class SECItem(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("data", ctypes.c_char_p), ("len", ctypes.c_uint)]

    class CERTCertTrust(ctypes.Structure):
        _fields_ = [("sslFlags", ctypes.c_uint), ("emailFlags", ctypes.c_uint),
                    ("objectSigningFlags", ctypes.c_uint)]

    vp = ctypes.c_void_p
    nss.NSS_InitReadWrite.argtypes = [ctypes.c_char_p]
    nss.PORT_GetError.restype = ctypes.c_int
    nss.PK11_GetInternalKeySlot.restype = vp
    nss.PK11_NeedUserInit.argtypes = [vp]
    nss.PK11_InitPin.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p]
    nss.CERT_GetDefaultCertDB.restype = vp
    nss.CERT_NewTempCertificate.restype = vp
    nss.CERT_NewTempCertificate.argtypes = [vp, ctypes.POINTER(SECItem), ctypes.c_char_p,
                                            ctypes.c_int, ctypes.c_int]
    nss.PK11_ImportCert.argtypes = [vp, vp, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    nss.CERT_DecodeTrustString.argtypes = [ctypes.POINTER(CERTCertTrust), ctypes.c_char_p]
    nss.CERT_ChangeCertTrust.argtypes = [vp, vp, ctypes.POINTER(CERTCertTrust)]
    nss.CERT_DestroyCertificate.argtypes = [vp]
    nss.PK11_FreeSlot.argtypes = [vp]

    def check(status, what):
        if status != 0:
            raise RuntimeError("NSS %s failed: error %d" % (what, nss.PORT_GetError()))

    check(nss.NSS_InitReadWrite(("sql:" + nssdb).encode()), "NSS_InitReadWrite")
    try:
        slot = nss.PK11_GetInternalKeySlot()
        if nss.PK11_NeedUserInit(slot):  # certutil -N --empty-password
            check(nss.PK11_InitPin(slot, None, b""), "PK11_InitPin")
        item = SECItem(0, der, len(der))
        cert = nss.CERT_NewTempCertificate(nss.CERT_GetDefaultCertDB(), ctypes.byref(item),
                                           None, 0, 1)
        if not cert:
            check(-1, "CERT_NewTempCertificate")
        check(nss.PK11_ImportCert(slot, cert, 0, b"hostca-e2e", 0), "PK11_ImportCert")
        trust = CERTCertTrust()
        check(nss.CERT_DecodeTrustString(ctypes.byref(trust), b"C,,"), "CERT_DecodeTrustString")
        check(nss.CERT_ChangeCertTrust(nss.CERT_GetDefaultCertDB(), cert, ctypes.byref(trust)),
              "CERT_ChangeCertTrust")
        nss.CERT_DestroyCertificate(cert)
        nss.PK11_FreeSlot(slot)
    finally:
        check(nss.NSS_Shutdown(), "NSS_Shutdown")
    return "libnss3"


# ---------------------------------------------------------------- the test


class ConsoleBrowserTest(unittest.TestCase):
    """One deployment, one browser; the tests run in the order of their names (each
    carries on from the one before, as an admin's visit would), and each asserts its
    own part."""

    @classmethod
    def setUpClass(cls):
        missing = missing_prerequisites()
        if missing:
            raise AssertionError("the console browser test needs the Debian packages: "
                                 + "; ".join(missing))
        cls.started = time.monotonic()
        cls.d = harness.Deployment(crl_shards=SHARDS)
        cls.driver = None
        try:
            args = ["--admin-listen", "127.0.0.1:0"]
            if os.environ.get("HOSTCA_CONSOLE_DIR"):  # development only: pages from disk
                args += ["--console-dir", os.environ["HOSTCA_CONSOLE_DIR"]]
            cls.server = cls.d.start_server(args)
            harness.wait_for_crls(cls.server, SHARDS)
            cls.port = cls.server.ready["admin_port"]
            cls.base = "https://127.0.0.1:%d" % cls.port
            cls.tls = ssl.create_default_context(cafile=cls.d.ca_pem_path)
            cls.key_id = cls.d.pg.psql("SELECT key_id FROM admin_keys ORDER BY created_at LIMIT 1")
            cls.actor = "admin:" + cls.key_id
            cls.shots = os.environ.get("HOSTCA_SCREENSHOT_DIR") or os.path.join(
                cls.d.folder, "screenshots")
            os.makedirs(cls.shots, exist_ok=True)
            cls.make_fleet()
            cls.start_browser()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "driver", None) is not None:
                cls.driver.quit()
        finally:
            if hasattr(cls, "d"):
                if os.environ.get("HOSTCA_E2E_KEEP"):
                    print("console test: screenshots in %s" % cls.shots, file=sys.stderr)
                cls.d.close()

    # -- setup ---------------------------------------------------------------------------

    @classmethod
    def make_fleet(cls):
        """Three valid hosts (two of them to revoke in the browser), one that reported a
        certificate failure, one revoked; two unused tokens, a reissue token and an
        auto-reissue window, so that no count on the dashboard is trivially zero; and a
        token whose name is markup."""
        meta = harness.admin_metadata(cls.d.admin_key)
        cls.hosts = {}
        for name in ("web01.example", "web02.example", "web03.example", "db01.example",
                     "old01.example"):
            res, _ = harness.enroll_host(cls.server, cls.d.admin_key, name)
            cls.hosts[name] = {"host_id": res.host_id, "serial_hex": res.serial_hex,
                               "pem": res.certificate_pem}
        db01 = cls.hosts["db01.example"]
        # db01's agent found another CA at its pinned address and reported it.
        cls.server.host_stub().ReportCertificateFailure(host_pb2.ReportCertificateFailureRequest(
            host_id=db01["host_id"], pinned_spki_sha256="a" * 64, presented_spki_sha256="b" * 64,
            server="ca.example:8443"), timeout=harness.RPC_TIMEOUT)
        harness.revoke(cls.server, cls.d.admin_key, host_id=cls.hosts["old01.example"]["host_id"],
                       reason=harness.REASON_SUPERSEDED)
        for i in range(2):
            harness.create_token(cls.server, cls.d.admin_key, "spare-%d" % i, max_uses=3)
        harness.create_reissue_token(cls.server, cls.d.admin_key,
                                     cls.hosts["web01.example"]["host_id"], 3600, "dashboard")
        req = admin_pb2.AllowAutoReissueRequest(host_id=cls.hosts["web01.example"]["host_id"])
        req.valid_for.seconds = 3600
        cls.server.admin_stub().AllowAutoReissue(req, metadata=meta, timeout=harness.RPC_TIMEOUT)
        status, _, made = cls.api_call("POST", "/api/v1/tokens", {"name": XSS},
                                       headers={"Authorization": "Bearer " + cls.d.admin_key})
        if status != 201:
            raise RuntimeError("POST /api/v1/tokens answered %s: %r" % (status, made))
        cls.xss_token_id = made["token_id"]

    @classmethod
    def start_browser(cls):
        home = cls.d.new_folder("browser-home")
        cls.trust_tool = trust_ca_in_nss(os.path.join(home, ".pki", "nssdb"), cls.d.ca_pem_path)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--window-size=1400,1000", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check",
                    "--user-data-dir=" + os.path.join(home, "profile")):
            options.add_argument(arg)
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An alert left open is seen by the XSS test, not dismissed behind its back.
        options.set_capability("unhandledPromptBehavior", "ignore")
        RemoteConnection.set_timeout(60)  # no WebDriver command may hang the test
        service = Service(CHROMEDRIVER, log_path=os.path.join(cls.d.folder, "chromedriver.log"),
                          env=dict(os.environ, HOME=home))
        cls.driver = webdriver.Chrome(service=service, options=options)
        cls.driver.set_page_load_timeout(WAIT)
        cls.driver.set_script_timeout(WAIT)
        cls.logs = []  # (page, browser log entry) of every page the test saw
        cls.visited = set()
        cls.load_count = 0

    # -- helpers -------------------------------------------------------------------------

    @classmethod
    def api_call(cls, method, path, body=None, headers=None):
        """(status, headers, parsed JSON or None) of one call to the admin port."""
        conn = http.client.HTTPSConnection("127.0.0.1", cls.port, context=cls.tls, timeout=10)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=h)
            res = conn.getresponse()
            payload = res.read()
            try:
                parsed = json.loads(payload) if payload else None
            except ValueError:
                parsed = payload
            return res.status, res.headers, parsed
        finally:
            conn.close()

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def page_state(self):
        return self.js("var p = document.getElementById('page');"
                       "return p ? [location.hash, p.getAttribute('data-page'),"
                       " p.getAttribute('data-loaded'), p.textContent.slice(0, 400)]"
                       " : [location.hash, null, null, document.body ?"
                       " document.body.textContent.slice(0, 400) : ''];")

    def wait_for(self, predicate, what):
        """Waits at most WAIT seconds for predicate(driver) to be true; fails saying what
        it waited for and what the page showed."""
        try:
            return WebDriverWait(self.driver, WAIT, poll_frequency=0.1).until(predicate)
        except TimeoutException:
            self.collect_log("timeout")
            self.fail("gave up after %ss waiting for %s; the page (%r): %r; browser log: %r" % (
                WAIT, what, self.driver.title, self.page_state(),
                [e for _, e in self.logs[-10:]]))

    def wait_loaded(self, name):
        """Waits for #page[data-page=name][data-loaded=true] and collects the browser log."""
        self.wait_for(lambda d: d.execute_script(
            "var p = document.getElementById('page');"
            "return !!p && p.getAttribute('data-page') === arguments[0]"
            " && p.getAttribute('data-loaded') === 'true';", name),
            "#page[data-page=%r][data-loaded=true]" % name)
        self.collect_log(name)
        type(self).visited.add(name)
        return self.driver.find_element(By.ID, "page")

    def open(self, route, name):
        """Loads the console anew at #/route (a full page load, as a bookmark or a
        link opened in a new tab) and waits for page `name`."""
        type(self).load_count += 1
        self.driver.get("%s/console/?load=%d#/%s" % (self.base, self.load_count, route))
        return self.wait_loaded(name)

    def click_nav(self, name):
        self.driver.find_element(By.CSS_SELECTOR, '#nav a[data-nav="%s"]' % name).click()
        return self.wait_loaded(name)

    def collect_log(self, page):
        for entry in self.driver.get_log("browser"):
            type(self).logs.append((page, entry))

    def screenshot(self, name):
        path = os.path.join(self.shots, name + ".png")
        self.assertTrue(self.driver.save_screenshot(path), path)
        self.assertGreater(os.path.getsize(path), 1000, path)

    def texts(self, css, root=None):
        return [e.get_attribute("textContent").strip()
                for e in (root or self.driver).find_elements(By.CSS_SELECTOR, css)]

    def row_ids(self, css, attribute):
        return [e.get_attribute(attribute) for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def signed_in(self):
        """Signs in through the form unless the browser holds a live session."""
        type(self).load_count += 1
        self.driver.get("%s/console/?load=%d#/dashboard" % (self.base, self.load_count))
        self.wait_for(lambda d: d.execute_script(
            "var p = document.getElementById('page');"
            "return !!p && p.getAttribute('data-loaded') === 'true'"
            " && ['dashboard', 'sign-in'].indexOf(p.getAttribute('data-page')) >= 0;"),
            "the dashboard or the sign-in page")
        if self.driver.find_element(By.ID, "page").get_attribute("data-page") == "sign-in":
            self.sign_in_through_form()
            self.wait_loaded("dashboard")

    def sign_in_through_form(self, key=None):
        field = self.driver.find_element(By.ID, "admin-key")
        field.clear()
        field.send_keys(key or self.d.admin_key)
        self.driver.find_element(By.ID, "sign-in-button").click()

    def session_cookie(self):
        cookie = self.driver.get_cookie(COOKIE)
        self.assertIsNotNone(cookie, "the browser holds no %s cookie" % COOKIE)
        return cookie["value"]

    def host_states_from_db(self):
        """{host_id: state} worked out from the certificates, as HostInfo.state defines
        it: the state of the newest certificate (latest not_after, the later issued on a
        tie), 'none' without one."""
        out = self.d.pg.psql(
            "WITH newest AS (SELECT DISTINCT ON (host_id) host_id, not_after, revoked_at"
            "  FROM certificates WHERE host_id IS NOT NULL"
            "  ORDER BY host_id, not_after DESC, created_at DESC)"
            " SELECT h.host_id || '|' || CASE WHEN n.host_id IS NULL THEN 'none'"
            "  WHEN n.revoked_at IS NOT NULL THEN 'revoked'"
            "  WHEN n.not_after <= now() THEN 'expired'"
            "  WHEN n.not_after <= now() + interval '%d days' THEN 'expiring'"
            "  ELSE 'valid' END FROM hosts h LEFT JOIN newest n USING (host_id)" % EXPIRING_DAYS)
        return dict(line.split("|") for line in out.splitlines() if line)

    def dashboard_counts_from_db(self):
        states = list(self.host_states_from_db().values())
        counts = {s: states.count(s) for s in ("valid", "expiring", "expired", "revoked", "none")}
        counts["hosts"] = len(states)
        counts["failure_reported"] = self.d.pg.scalar(
            "SELECT count(*) FROM hosts WHERE certificate_failure_at IS NOT NULL")
        counts["auto_reissue_allowed"] = self.d.pg.scalar(
            "SELECT count(*) FROM hosts WHERE auto_reissue_until > now()")
        for kind in ("authorization", "reissue"):
            counts[kind + "_usable"] = self.d.pg.scalar(
                "SELECT count(*) FROM tokens WHERE kind = '%s' AND deleted_at IS NULL"
                " AND expires_at > now() AND uses < max_uses" % kind)
        return counts

    def hosts_rows(self):
        return self.row_ids("table#hosts tbody tr[data-host-id]", "data-host-id")

    def host_row(self, host_id):
        return self.driver.find_element(By.CSS_SELECTOR,
                                        'table#hosts tbody tr[data-host-id="%s"]' % host_id)

    # -- sign-in -------------------------------------------------------------------------

    def test_01_sign_in_with_the_admin_key_through_the_form(self):
        # Signed out, the console opens on the sign-in page, without navigation.
        self.driver.get(self.base + "/")
        self.wait_loaded("sign-in")
        self.assertTrue(self.driver.current_url.startswith(self.base + "/console/"),
                        self.driver.current_url)
        self.assertEqual(self.js("return location.hash"), "#/sign-in")
        self.assertFalse(self.driver.find_element(By.ID, "nav").is_displayed())
        field = self.driver.find_element(By.ID, "admin-key")
        self.assertEqual(field.get_attribute("type"), "password")
        self.assertEqual(self.texts('label[for="admin-key"]'), ["Admin key"])
        self.screenshot("sign-in")
        # A wrong key: the server's message, as text, and still signed out.
        sessions = self.d.pg.scalar("SELECT count(*) FROM admin_sessions")
        self.sign_in_through_form("hca_admin_" + "W" * 43)
        self.wait_for(lambda d: d.find_element(By.ID, "sign-in-error")
                      .get_attribute("textContent").strip(), "#sign-in-error to say why")
        self.assertIn("unknown admin key",
                      self.driver.find_element(By.ID, "sign-in-error").get_attribute("textContent"))
        self.assertIsNone(self.driver.get_cookie(COOKIE))
        # The real key: the dashboard, the navigation, an HttpOnly session cookie.
        self.sign_in_through_form()
        self.wait_loaded("dashboard")
        self.assertEqual(self.js("return location.hash"), "#/dashboard")
        self.assertTrue(self.driver.find_element(By.ID, "nav").is_displayed())
        cookie = self.driver.get_cookie(COOKIE)
        self.assertIsNotNone(cookie)
        self.assertTrue(cookie["value"].startswith("hca_session_"), cookie)
        self.assertTrue(cookie["httpOnly"] and cookie["secure"], cookie)
        self.assertEqual(cookie.get("sameSite"), "Strict", cookie)
        self.assertEqual(self.d.pg.scalar("SELECT count(*) FROM admin_sessions"), sessions + 1)
        self.assertEqual(self.d.pg.psql(
            "SELECT key_id FROM admin_sessions ORDER BY created_at DESC LIMIT 1"), self.key_id)
        # The page keeps neither the key nor the session secret where scripts read.
        kept = self.js("return JSON.stringify([Object.assign({}, localStorage),"
                       " Object.assign({}, sessionStorage), document.cookie]);")
        self.assertNotIn(self.d.admin_key, kept)
        self.assertNotIn(cookie["value"], kept)
        self.assertNotIn(self.d.admin_key, self.driver.page_source)

    # -- the dashboard -------------------------------------------------------------------

    def test_02_dashboard_counts_equal_the_database(self):
        self.signed_in()
        page = self.open("dashboard", "dashboard")
        expected = self.dashboard_counts_from_db()
        # The fleet made in setUpClass, so that the comparison means something.
        self.assertEqual((expected["hosts"], expected["valid"], expected["revoked"],
                          expected["failure_reported"], expected["auto_reissue_allowed"]),
                         (5, 4, 1, 1, 1), expected)
        self.assertGreaterEqual(expected["authorization_usable"], 3)
        self.assertEqual(expected["reissue_usable"], 1)
        shown = {}
        for field in expected:
            elements = page.find_elements(By.CSS_SELECTOR, '[data-count="%s"]' % field)
            self.assertEqual(len(elements), 1, "one [data-count=%r] on the dashboard" % field)
            shown[field] = elements[0].get_attribute("textContent")
        self.assertEqual(shown, {k: str(v) for k, v in expected.items()})
        # Each host state count opens the hosts page filtered by it.
        for state in ("valid", "expiring", "expired", "revoked", "none", "failure"):
            self.assertTrue(page.find_elements(By.CSS_SELECTOR,
                                               'a[href$="#/hosts?state=%s"]' % state),
                            "no link to #/hosts?state=%s" % state)
        # CRLs, CA keys and recent events, as the database has them.
        self.assertEqual(len(page.find_elements(By.CSS_SELECTOR, "table#crl-summary tbody tr")),
                         self.d.pg.scalar("SELECT count(DISTINCT ca_generation) FROM crl_shards"))
        self.assertTrue(page.find_elements(By.CSS_SELECTOR, "table#crl-shards tbody tr"))
        self.assertFalse(page.find_elements(By.CSS_SELECTOR, "table#crl-shards tr.stale"),
                         "a fresh CA has no stale CRL")
        self.assertEqual(len(page.find_elements(By.CSS_SELECTOR, "table#ca-keys tbody tr")), 1)
        self.assertEqual(self.driver.find_element(By.ID, "rollover-phase")
                         .get_attribute("textContent").strip(), "none")
        sequences = [int(s) for s in self.row_ids("ol#recent-events li[data-sequence]",
                                                  "data-sequence")]
        self.assertTrue(0 < len(sequences) <= 10, sequences)
        self.assertEqual(sequences, sorted(sequences, reverse=True), "newest first")
        newest = self.d.pg.psql("SELECT string_agg(sequence::text, ',' ORDER BY sequence DESC)"
                                " FROM (SELECT sequence FROM audit_log ORDER BY sequence DESC"
                                " LIMIT 40) s").split(",")
        self.assertTrue(set(map(str, sequences)) <= set(newest), (sequences, newest))
        self.screenshot("dashboard")

    # -- hosts, filtered by state, and a host's page -------------------------------------

    def test_03_filter_hosts_by_state_failure_shows_only_the_failed_host(self):
        self.signed_in()
        self.click_nav("hosts")
        states = self.host_states_from_db()
        self.assertEqual(sorted(self.hosts_rows()), sorted(states))
        for host_id, state in states.items():
            row = self.host_row(host_id)
            self.assertEqual(self.texts("td.host-state", row), [state], host_id)
        self.assertFalse(self.driver.find_element(By.ID, "hosts-next").is_enabled(),
                         "one page of hosts: no next page")
        self.screenshot("hosts")
        failed = self.hosts["db01.example"]["host_id"]
        Select(self.driver.find_element(By.ID, "host-state")).select_by_value("failure")
        self.driver.find_element(By.ID, "host-filter-apply").click()
        self.wait_for(lambda d: "state=failure" in d.execute_script("return location.hash"),
                      "the hash to carry state=failure")
        self.wait_loaded("hosts")
        self.wait_for(lambda d: self.hosts_rows() == [failed],
                      "only db01.example (%s) in table#hosts" % failed)
        self.assertEqual(self.texts("td.host-failure", self.host_row(failed)), ["failure"])
        self.assertEqual(Select(self.driver.find_element(By.ID, "host-state"))
                         .first_selected_option.get_attribute("value"), "failure")
        self.screenshot("hosts-filtered")
        # The filter is in the link: the same page opened anew shows the same.
        self.open("hosts?state=failure", "hosts")
        self.assertEqual(self.hosts_rows(), [failed])
        # Revoked hosts: old01 only.
        self.open("hosts?state=revoked", "hosts")
        self.assertEqual(self.hosts_rows(), [self.hosts["old01.example"]["host_id"]])
        # The host's page, through its link.
        self.open("hosts?state=failure", "hosts")
        self.host_row(failed).find_element(By.CSS_SELECTOR,
                                           'a[href$="#/hosts/%s"]' % failed).click()
        self.wait_loaded("host")
        self.assertEqual(self.js("return location.hash"), "#/hosts/" + failed)
        self.assertEqual(self.driver.find_element(By.ID, "host-title")
                         .get_attribute("textContent").strip(), "db01.example")
        self.assertIn("db01.example", " ".join(self.texts("ul#host-names li")))
        certs = self.driver.find_element(By.CSS_SELECTOR, "table#host-certificates")
        self.assertIn(self.hosts["db01.example"]["serial_hex"].lower(),
                      certs.get_attribute("textContent").lower())
        failure = self.driver.find_element(By.ID, "host-failure").get_attribute("textContent")
        self.assertTrue(failure.strip(), "#host-failure says nothing of the reported failure")
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR,
                                                       "table#host-audit tbody tr")),
                         self.d.pg.scalar("SELECT count(*) FROM audit_log WHERE subject = '%s'"
                                          % failed))
        self.screenshot("host")

    # -- bulk revocation -----------------------------------------------------------------

    def test_04_revoke_two_hosts_through_the_bulk_action_and_openssl_finds_them_revoked(self):
        self.signed_in()
        targets = [self.hosts[n] for n in ("web02.example", "web03.example")]
        self.open("hosts", "hosts")
        for t in targets:
            self.host_row(t["host_id"]).find_element(By.CSS_SELECTOR, "input.host-tick").click()
        Select(self.driver.find_element(By.ID, "bulk-action")).select_by_value("revoke")
        self.driver.find_element(By.ID, "bulk-apply").click()
        dialog = self.driver.find_element(By.ID, "confirm")
        self.wait_for(lambda d: dialog.get_attribute("open") is not None, "dialog#confirm to open")
        said = dialog.get_attribute("textContent")
        for name in ("web02.example", "web03.example"):
            self.assertIn(name, said)
        for name in ("web01.example", "db01.example"):
            self.assertNotIn(name, said)
        reason = Select(self.driver.find_element(By.ID, "revoke-reason"))
        self.assertEqual({o.get_attribute("value") for o in reason.options},
                         {"0", "1", "3", "4", "5", "9"})
        reason.select_by_value("1")
        self.assertIn("keyCompromise", reason.first_selected_option.text)
        revoked_before = self.d.pg.scalar(
            "SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL")
        self.driver.find_element(By.ID, "confirm-ok").click()
        self.wait_for(lambda d: len(d.find_elements(
            By.CSS_SELECTOR, "ul#action-results li[data-host-id][data-outcome]")) == 2,
            "two results in ul#action-results")
        for t in targets:
            li = self.driver.find_element(By.CSS_SELECTOR,
                                          'ul#action-results li[data-host-id="%s"]' % t["host_id"])
            self.assertEqual(li.get_attribute("data-outcome"), "ok", li.text)
            self.assertIn(t["serial_hex"].lower(), li.get_attribute("textContent").lower())
        self.wait_loaded("hosts")
        self.screenshot("hosts-revoked")
        self.assertEqual(self.d.pg.scalar(
            "SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL"), revoked_before + 2)
        for t in targets:
            self.assertEqual([(c[2] != "", c[3]) for c in harness.host_certificates(
                self.d, t["host_id"])], [(True, "1")])
        self.assertEqual(self.d.pg.psql(
            "SELECT string_agg(DISTINCT actor, ',') FROM audit_log"
            " WHERE action = 'certificate.revoke' AND subject IN ('%s', '%s')"
            % tuple(t["serial_hex"] for t in targets)), self.actor)
        # The CRLs at the distribution points: OpenSSL says each certificate is revoked.
        for t in targets:
            shard = harness.crl_shard_of(t["host_id"], SHARDS)
            url = harness.crl_url(self.server, shard)
            self.assertEqual(harness.distribution_point_of(
                x509.load_pem_x509_certificate(t["pem"].encode())), url)

            def listed():
                res = harness.http_get_url(url)
                return res.status == 200 and int(t["serial_hex"], 16) in harness.crl_entries(
                    x509.load_der_x509_crl(res.body))
            harness.wait_until(listed, WAIT, "%s to list %s" % (url, t["serial_hex"]))
            crl = x509.load_der_x509_crl(harness.http_get_url(url).body)
            crl_path = harness.write_bytes(os.path.join(self.d.folder, "crl-%d.pem" % shard),
                                           harness.crl_pem(crl))
            cert_path = harness.write_bytes(os.path.join(self.d.folder, t["host_id"] + ".pem"),
                                            t["pem"].encode())
            r = harness.run(["openssl", "verify", "-crl_check", "-CAfile", self.d.ca_pem_path,
                             "-CRLfile", crl_path, cert_path], timeout=30)
            self.assertNotEqual(r.returncode, 0, r)
            self.assertIn("certificate revoked", r.stdout + r.stderr)
        # A host left alone still verifies against its CRL (the check can tell).
        other = self.hosts["web01.example"]
        url = harness.crl_url(self.server, harness.crl_shard_of(other["host_id"], SHARDS))
        crl_path = harness.write_bytes(os.path.join(self.d.folder, "crl-web01.pem"),
                                       harness.crl_pem(x509.load_der_x509_crl(
                                           harness.http_get_url(url).body)))
        cert_path = harness.write_bytes(os.path.join(self.d.folder, "web01.pem"),
                                        other["pem"].encode())
        r = harness.run(["openssl", "verify", "-crl_check", "-CAfile", self.d.ca_pem_path,
                         "-CRLfile", crl_path, cert_path], timeout=30)
        self.assertEqual(r.returncode, 0, r)

    # -- a token made in the console enrols an agent -------------------------------------

    def test_05_a_token_created_on_the_tokens_page_enrols_a_real_agent(self):
        self.signed_in()
        self.click_nav("tokens")
        tokens_before = self.d.pg.scalar("SELECT count(*) FROM tokens")
        name = self.driver.find_element(By.ID, "token-name")
        name.clear()
        name.send_keys("console-enrol")
        self.assertEqual(self.driver.find_element(By.ID, "token-uses").get_attribute("value"), "1")
        self.driver.find_element(By.ID, "token-create-button").click()
        self.wait_for(lambda d: d.find_elements(By.ID, "created-token") and d.find_element(
            By.ID, "created-token").get_attribute("textContent").strip(), "#created-token")
        value = self.driver.find_element(By.ID, "created-token").get_attribute("textContent")
        self.assertRegex(value, r"^%s$" % harness.AUTH_TOKEN_RE.pattern)
        self.assertEqual(self.d.pg.scalar("SELECT count(*) FROM tokens"), tokens_before + 1)
        token_id = self.d.pg.psql("SELECT token_id FROM tokens WHERE name = 'console-enrol'")
        self.wait_for(lambda d: d.find_elements(
            By.CSS_SELECTOR, 'table#tokens tr[data-token-id="%s"]' % token_id),
            "the new token's row in table#tokens")
        row = self.driver.find_element(By.CSS_SELECTOR, 'table#tokens tr[data-token-id="%s"]'
                                       % token_id)
        self.assertEqual(self.texts("td.token-name", row), ["console-enrol"])
        self.assertEqual(self.texts("td.token-state", row), ["usable"])
        self.screenshot("tokens")
        # A real agent enrols with it.
        agent_dir = os.path.join(self.d.folder, "agent-console01")
        harness.pin_agent(self.d, self.server, agent_dir)
        r = self.d.agent_cli(agent_dir, "enroll", "--token", value, "--hostname",
                             "console01.example")
        self.assertEqual(r.returncode, 0, r)
        ident = harness.agent_identity(agent_dir)
        harness.check_host_certificate(self, ident["cert"], self.d.ca_cert, ident["host_id"],
                                       "console01.example", self.server.http_port)
        self.assertEqual(self.d.pg.psql("SELECT hostname FROM hosts WHERE host_id = '%s'"
                                        % ident["host_id"]), "console01.example")
        self.assertEqual(self.d.pg.scalar("SELECT uses FROM tokens WHERE token_id = '%s'"
                                          % token_id), 1)
        self.assertEqual(self.d.pg.psql("SELECT actor FROM audit_log WHERE action = 'token.create'"
                                        " AND subject = '%s'" % token_id), self.actor)
        # Shown once: the page opened again has no trace of the value, and shows the use.
        self.open("tokens", "tokens")
        self.assertNotIn(value, self.driver.page_source)
        row = self.driver.find_element(By.CSS_SELECTOR, 'table#tokens tr[data-token-id="%s"]'
                                       % token_id)
        self.assertEqual(self.texts("td.token-state", row), ["used_up"])
        self.assertNotIn(value, self.d.server_logs())

    # -- markup in a token's name is text ------------------------------------------------

    def test_06_a_token_named_like_markup_shows_as_that_text(self):
        self.signed_in()
        self.open("tokens", "tokens")
        row = self.driver.find_element(By.CSS_SELECTOR, 'table#tokens tr[data-token-id="%s"]'
                                       % self.xss_token_id)
        cell = row.find_element(By.CSS_SELECTOR, "td.token-name")
        self.assertEqual(cell.get_attribute("textContent"), XSS)
        self.assertEqual(self.js("return document.querySelectorAll('table#tokens img').length"), 0)
        self.assertEqual(self.js("return arguments[0].children.length", cell), 0,
                         cell.get_attribute("innerHTML"))
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text
        self.collect_log("tokens")
        self.assertEqual([e for _, e in self.logs if "alert" in e.get("message", "")
                          or "Content Security Policy" in e.get("message", "")], [])

    # -- the audit page ------------------------------------------------------------------

    def test_07_the_audit_page_shows_the_admins_actions_by_the_keys_id(self):
        self.signed_in()
        self.click_nav("audit")
        actor = self.driver.find_element(By.ID, "audit-actor")
        actor.clear()
        actor.send_keys(self.actor)
        self.driver.find_element(By.ID, "audit-apply").click()
        wanted = self.d.pg.psql(
            "SELECT sequence || '|' || action || '|' || subject FROM audit_log"
            " WHERE actor = '%s' AND action IN ('console.sign_in', 'token.create',"
            " 'certificate.revoke') ORDER BY sequence" % self.actor)
        wanted = [tuple(line.split("|")) for line in wanted.splitlines()]
        actions = {a for _, a, _ in wanted}
        self.assertEqual(actions, {"console.sign_in", "token.create", "certificate.revoke"})
        by_actor = self.d.pg.scalar("SELECT count(*) FROM audit_log WHERE actor = '%s'"
                                    % self.actor)
        self.assertLessEqual(by_actor, 100, "the test's own events fit on one page")
        self.wait_for(lambda d: len(self.row_ids("table#audit tr[data-sequence]",
                                                 "data-sequence")) >= len(wanted)
                      and all(self.actor in t for t in self.texts("table#audit tr[data-sequence]")),
                      "the audit rows of %s" % self.actor)
        self.wait_loaded("audit")
        rows = {e.get_attribute("data-sequence"): e.get_attribute("textContent") for e in
                self.driver.find_elements(By.CSS_SELECTOR, "table#audit tr[data-sequence]")}
        for sequence, action, subject in wanted:
            self.assertIn(sequence, rows, (action, subject))
            for text in (action, subject, self.actor):
                self.assertIn(text, rows[sequence], (sequence, action))
        # The filter kept only the key's events, and they are what the database holds.
        self.assertTrue(all(self.actor in text for text in rows.values()))
        self.assertEqual(len(rows), by_actor)
        revoked = {self.hosts[n]["serial_hex"].lower() for n in ("web02.example", "web03.example")}
        shown = {s.lower() for _, a, s in wanted if a == "certificate.revoke"}
        self.assertTrue(revoked <= shown, (revoked, shown))
        self.assertIn("/api/v1/audit.jsonl?", self.driver.find_element(
            By.ID, "audit-export").get_attribute("href"))
        self.assertIn("actor=", self.driver.find_element(By.ID, "audit-export")
                      .get_attribute("href"))
        self.screenshot("audit")

    # -- the CRLs page, and its download link --------------------------------------------

    def test_08_the_crls_page_lists_every_shard_with_a_link_that_serves_it(self):
        self.signed_in()
        self.click_nav("crls")
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR,
                                                       "table#ca-certificates tbody tr")), 1)
        fingerprint, _ = harness.fingerprints(self.d.ca_cert)
        self.assertIn(fingerprint, self.driver.find_element(By.CSS_SELECTOR,
                      "table#ca-certificates").get_attribute("textContent").replace(":", "")
                      .lower())
        self.assertTrue(self.driver.find_element(By.ID, "download-ca-pem")
                        .get_attribute("href").endswith("/api/v1/ca.pem"))
        shards = sorted(self.row_ids("table#crl-shards-all tr[data-shard]", "data-shard"), key=int)
        self.assertEqual(shards, [str(s) for s in range(-1, SHARDS)])
        link = self.driver.find_element(By.CSS_SELECTOR, 'table#crl-shards-all tr[data-shard="0"]'
                                        ' a[href$="/api/v1/crls/g1/0.crl"]')
        self.screenshot("crls")
        # The link serves the shard's current CRL, the one the HTTP endpoint serves.
        path = "/" + link.get_attribute("href").split("/", 3)[3]
        jar = {"Cookie": COOKIE + "=" + self.session_cookie()}
        status, _, body = self.api_call("GET", path, headers=jar)
        self.assertEqual(status, 200, body)
        served = harness.http_get_url(harness.crl_url(self.server, 0)).body
        self.assertEqual(harness.crl_number_of(x509.load_der_x509_crl(body)),
                         harness.crl_number_of(x509.load_der_x509_crl(served)))

    # -- CSRF ----------------------------------------------------------------------------

    def test_09_a_change_with_the_session_cookie_but_no_csrf_header_is_refused(self):
        self.signed_in()
        jar = {"Cookie": COOKIE + "=" + self.session_cookie()}
        status, _, session = self.api_call("GET", "/api/v1/session", headers=jar)
        self.assertEqual(status, 200, session)  # the cookie is live: the refusal is for CSRF
        before = self.d.pg.counts()
        for headers in (jar, dict(jar, **{"X-CSRF-Token": "0" * len(session["csrf_token"])})):
            status, _, body = self.api_call("POST", "/api/v1/tokens", {"name": "csrf"},
                                            headers=headers)
            self.assertEqual(status, 403, body)
            self.assertEqual(body["error"]["code"], "PERMISSION_DENIED", body)
            self.assertIn("X-CSRF-Token", body["error"]["message"])
        status, _, body = self.api_call("POST", "/api/v1/revocations",
                                        {"host_id": self.hosts["web01.example"]["host_id"],
                                         "reason": 1}, headers=jar)
        self.assertEqual(status, 403, body)
        self.assertEqual(self.d.pg.counts(), before)
        self.assertEqual(self.d.pg.scalar("SELECT count(*) FROM tokens WHERE name = 'csrf'"), 0)
        self.assertEqual([c[2] for c in harness.host_certificates(
            self.d, self.hosts["web01.example"]["host_id"])], [""])

    # -- no CSP violation, no JS error, on any page --------------------------------------

    def assert_clean_log(self, entries):
        """No CSP violation and no script error; the only failed request allowed is a
        401 (GET /api/v1/session on a signed-out load, which sends the page to sign-in)."""
        bad = []
        for page, e in entries:
            message = e.get("message", "")
            if "Content Security Policy" in message or "Refused to" in message:
                bad.append((page, e))
            elif e.get("level") == "SEVERE" or e.get("source") == "javascript":
                if e.get("source") == "network" and "status of 401" in message:
                    continue
                bad.append((page, e))
        if bad:
            self.fail("the browser's console log has %d errors:\n%s" % (len(bad), "\n".join(
                "on %s: %s %s: %s" % (page, e.get("level"), e.get("source"), e.get("message"))
                for page, e in bad)))

    def test_10_every_page_loads_without_a_csp_violation_or_a_script_error(self):
        self.signed_in()
        host_id = self.hosts["db01.example"]["host_id"]
        for route, name in (("dashboard", "dashboard"), ("hosts", "hosts"),
                            ("hosts?state=failure", "hosts"), ("hosts/" + host_id, "host"),
                            ("tokens", "tokens"), ("audit", "audit"), ("crls", "crls")):
            self.open(route, name)
            self.assertEqual(self.js("return document.activeElement.tagName"), "H1", route)
        for name in ("dashboard", "hosts", "tokens", "audit", "crls"):
            self.click_nav(name)
        # An unknown route is the dashboard.
        self.open("no-such-page", "dashboard")
        self.assertTrue(set(PAGES) <= self.visited, self.visited)
        self.assert_clean_log(self.logs)

    def test_10a_every_control_has_a_label_and_the_hosts_filter_works_from_the_keyboard(self):
        self.signed_in()
        host_id = self.hosts["db01.example"]["host_id"]
        unlabelled, checked = {}, {}
        for route, name in (("dashboard", "dashboard"), ("hosts", "hosts"),
                            ("hosts/" + host_id, "host"), ("tokens", "tokens"),
                            ("audit", "audit"), ("crls", "crls")):
            self.open(route, name)
            # A visible input, select or textarea without a <label>, aria-label or
            # aria-labelledby is one a screen reader cannot name.
            shown, missing = self.js(
                "var all = Array.from(document.querySelectorAll('#page input, #page select,"
                " #page textarea')).filter(function (e) {"
                "  return e.type !== 'hidden' && e.offsetParent !== null; });"
                "return [all.length, all.filter(function (e) {"
                "  return e.labels.length === 0 && !e.getAttribute('aria-label')"
                "   && !e.getAttribute('aria-labelledby'); })"
                " .map(function (e) { return e.id || e.name || e.outerHTML.slice(0, 80); })];")
            checked[route] = shown
            if missing:
                unlabelled[route] = missing
        self.assertEqual(unlabelled, {})
        # The check looked at the controls: the hosts page has its filter, its
        # action and a tick per host; the tokens page its form.
        self.assertGreaterEqual(checked["hosts"], 3 + 1 + len(self.hosts), checked)
        self.assertGreaterEqual(checked["tokens"], 5, checked)
        # From the keyboard alone: Tab from the page's heading reaches the search
        # field (the first control of the page), and Enter there applies the filter.
        from selenium.webdriver.common.keys import Keys
        self.open("hosts", "hosts")
        self.assertEqual(self.js("return document.activeElement.tagName"), "H1")
        self.driver.switch_to.active_element.send_keys(Keys.TAB)
        self.assertEqual(self.js("return document.activeElement.id"), "host-search")
        self.driver.switch_to.active_element.send_keys("DB0", Keys.ENTER)
        self.wait_for(lambda d: "search=DB0" in d.current_url, "the search in the address")
        self.wait_loaded("hosts")
        self.assertEqual(self.hosts_rows(), [host_id])

    # -- sign-out ------------------------------------------------------------------------

    def test_11_after_sign_out_the_old_session_cookie_is_refused(self):
        self.signed_in()
        self.open("dashboard", "dashboard")
        old = self.session_cookie()
        jar = {"Cookie": COOKIE + "=" + old}
        status, _, body = self.api_call("GET", "/api/v1/hosts", headers=jar)
        self.assertEqual(status, 200, body)  # before: the cookie works from Python too
        session_id = self.d.pg.psql("SELECT session_id FROM admin_sessions WHERE ended_at IS NULL"
                                    " ORDER BY created_at DESC LIMIT 1")
        self.driver.find_element(By.ID, "sign-out").click()
        self.wait_loaded("sign-in")
        self.assertEqual(self.js("return location.hash"), "#/sign-in")
        self.assertFalse(self.driver.find_element(By.ID, "nav").is_displayed())
        self.assertIsNone(self.driver.get_cookie(COOKIE))
        self.assertEqual(self.d.pg.psql(
            "SELECT actor FROM audit_log WHERE action = 'console.sign_out' AND subject = '%s'"
            % session_id), self.actor)
        status, _, body = self.api_call("GET", "/api/v1/hosts", headers=jar)
        self.assertEqual(status, 401, body)
        self.assertEqual(body["error"]["code"], "UNAUTHENTICATED", body)
        # A page opened now goes to sign-in.
        self.driver.get("%s/console/?load=after-sign-out#/hosts" % self.base)
        self.wait_loaded("sign-in")
        self.assertEqual(self.js("return location.hash"), "#/sign-in")
        self.assertFalse(self.driver.find_elements(By.CSS_SELECTOR, "table#hosts"))
        self.assert_clean_log(self.logs)
        self.assertLess(time.monotonic() - self.started, 400, "the test took too long")


if __name__ == "__main__":
    unittest.main()
