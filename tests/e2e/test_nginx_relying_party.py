"""nginx as a relying party: it takes host certificates as client certificates
against ca.pem and the /crl/all.pem bundle (ssl_crl). A host is let in; after it
reissues, a fresh bundle and a reload make nginx refuse the old certificate and
accept the new one, while another host's certificate stays good."""

import os
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NGINX = "/usr/sbin/nginx"
SHARDS = 4

CONFIG = """
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
{user}
events {{ worker_connections 64; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {tls}/server.pem;
    ssl_certificate_key {tls}/server.key;
    ssl_client_certificate {tls}/ca.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_crl {crl};
    location / {{
      default_type text/plain;
      return 200 "hello $ssl_client_s_dn\\n";
    }}
  }}
}}
"""


def children_of(pid):
    """PIDs whose parent is `pid` (nginx's workers), from /proc."""
    out = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(name))
    return out


@unittest.skipUnless(os.access(NGINX, os.X_OK),
                     "nginx is not installed (%s); apt-get install nginx-light" % NGINX)
class NginxRelyingPartyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.nginx = None
        cls.d = harness.Deployment(crl_shards=SHARDS)
        try:
            cls.server = cls.d.start_server()
            harness.wait_for_crls(cls.server, SHARDS)
            cls.sha256, _ = harness.fingerprints(cls.d.ca_cert)
            cls.alpha_dir = cls.enrolled_dir("alpha")
            cls.beta_dir = cls.enrolled_dir("beta")
            cls.ngx_dir = cls.d.new_folder("nginx")
            cls.crl_file = os.path.join(cls.ngx_dir, "crl.pem")
            cls.fetch_bundle()
            cls.port = harness.free_port()
            with open(os.path.join(cls.ngx_dir, "nginx.conf"), "w") as f:
                f.write(CONFIG.format(d=cls.ngx_dir, port=cls.port, tls=cls.d.tls_dir,
                                      crl=cls.crl_file,
                                      user="user root;" if os.geteuid() == 0 else ""))
            cls.start_nginx()
        except BaseException:
            cls.stop_nginx()
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stop_nginx()
        cls.d.close()

    # -- nginx

    @classmethod
    def nginx_args(cls, *extra):
        return [NGINX, "-p", cls.ngx_dir, "-c", os.path.join(cls.ngx_dir, "nginx.conf"),
                "-e", os.path.join(cls.ngx_dir, "error.log")] + list(extra)

    @classmethod
    def start_nginx(cls):
        check = harness.run(cls.nginx_args("-t"))
        if check.returncode != 0:
            raise RuntimeError("nginx -t refused the configuration: %r" % check)
        cls.nginx_log = open(os.path.join(cls.ngx_dir, "stderr.log"), "wb")
        cls.nginx = subprocess.Popen(cls.nginx_args(), stdout=cls.nginx_log,
                                     stderr=subprocess.STDOUT)

        def listening():
            if cls.nginx.poll() is not None:
                raise RuntimeError("nginx exited with %s: %s" % (cls.nginx.returncode,
                                                                 cls.error_log()))
            import socket
            with socket.socket() as s:
                s.settimeout(1)
                return s.connect_ex(("127.0.0.1", cls.port)) == 0
        harness.wait_until(listening, 15, "nginx to listen on port %d" % cls.port)

    @classmethod
    def stop_nginx(cls):
        if cls.nginx is not None and cls.nginx.poll() is None:
            cls.nginx.send_signal(signal.SIGQUIT)
            try:
                cls.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.nginx.kill()
                cls.nginx.wait(timeout=10)
        if getattr(cls, "nginx_log", None):
            cls.nginx_log.close()

    @classmethod
    def error_log(cls):
        path = os.path.join(cls.ngx_dir, "error.log")
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def reload_nginx(self):
        """SIGHUP, then wait until every old worker is gone: new connections meet the new CRLs."""
        old = children_of(self.nginx.pid)
        self.assertTrue(old)
        self.nginx.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: children_of(self.nginx.pid) and
                           not (children_of(self.nginx.pid) & old), 15,
                           "nginx to replace its workers after SIGHUP")
        self.assertIsNone(self.nginx.poll(), self.error_log())

    # -- hosts and the CRL bundle

    @classmethod
    def enrolled_dir(cls, name):
        path = os.path.join(cls.d.folder, "agent-" + name)
        r = cls.d.agent_cli(path, "get-ca", "--server", cls.server.address,
                            "--fingerprint", cls.sha256)
        if r.returncode != 0:
            raise RuntimeError("get-ca failed: %r" % r)
        token = harness.create_token(cls.server, cls.d.admin_key, name).token
        r = cls.d.agent_cli(path, "enroll", "--token", token, "--hostname", name + ".example")
        if r.returncode != 0:
            raise RuntimeError("enroll of %s failed: %r" % (name, r))
        return path

    @classmethod
    def fetch_bundle(cls):
        res = harness.http_get(cls.server.http_port, "/crl/all.pem")
        if res.status != 200:
            raise RuntimeError("GET /crl/all.pem: %r" % res)
        tmp = cls.crl_file + ".tmp"
        harness.write_bytes(tmp, res.body)
        os.replace(tmp, cls.crl_file)
        return harness.load_crl_bundle(res.body)

    def curl(self, cert=None, key=None):
        """(HTTP status as text, body); "000" when TLS itself failed."""
        args = ["curl", "-sS", "--max-time", "10", "--cacert", self.d.ca_pem_path,
                "-o", "-", "-w", "\n%{http_code}", "https://127.0.0.1:%d/" % self.port]
        if cert:
            args += ["--cert", cert, "--key", key]
        r = harness.run(args, timeout=30)
        body, _, code = r.stdout.rpartition("\n")
        return code.strip(), body

    def files(self, agent_dir, copy_as=None):
        cert, key = os.path.join(agent_dir, "host.pem"), os.path.join(agent_dir, "host.key")
        if copy_as:
            kept = (os.path.join(self.d.folder, copy_as + ".pem"),
                    os.path.join(self.d.folder, copy_as + ".key"))
            shutil.copyfile(cert, kept[0])
            shutil.copyfile(key, kept[1])
            os.chmod(kept[1], 0o600)
            return kept
        return cert, key

    def host_id(self, agent_dir):
        import json
        with open(os.path.join(agent_dir, "host.json")) as f:
            return json.load(f)["host_id"]

    # -- the story

    def test_nginx_refuses_the_old_certificate_after_a_reissue_and_accepts_the_new(self):
        if not shutil.which("curl"):
            self.skipTest("curl is not installed")
        alpha_id = self.host_id(self.alpha_dir)
        # Before: both hosts are let in, a client without a certificate is not.
        code, body = self.curl(*self.files(self.alpha_dir))
        self.assertEqual(code, "200", (body, self.error_log()))
        self.assertIn(alpha_id, body)
        code, body = self.curl(*self.files(self.beta_dir))
        self.assertEqual(code, "200", (body, self.error_log()))
        code, body = self.curl()
        self.assertEqual(code, "400", body)
        self.assertIn("No required SSL certificate was sent", body)

        # alpha reissues; the old files are kept to try them afterwards.
        old_cert, old_key = self.files(self.alpha_dir, copy_as="alpha-old")
        token = harness.create_reissue_token(self.server, self.d.admin_key, alpha_id).token
        r = self.d.agent_cli(self.alpha_dir, "reissue", "--token", token)
        self.assertEqual(r.returncode, 0, r)
        new_cert, new_key = self.files(self.alpha_dir, copy_as="alpha-new")
        self.assertEqual(self.host_id(self.alpha_dir), alpha_id)

        # nginx still holds the old bundle: the old certificate still gets in.
        code, _ = self.curl(old_cert, old_key)
        self.assertEqual(code, "200", self.error_log())

        # A fresh bundle and a reload.
        crls = list(harness.shard_crls_of_bundle(self, self.fetch_bundle(), self.server,
                                                 SHARDS).values())
        old_serial = harness.x509.load_pem_x509_certificate(
            open(old_cert, "rb").read()).serial_number
        self.assertTrue(any(old_serial in harness.crl_entries(c) for c in crls))
        self.reload_nginx()

        code, body = self.curl(old_cert, old_key)
        self.assertIn(code, ("400", "000"), body)
        self.assertNotEqual(code, "200")
        if code == "400":
            self.assertIn("The SSL certificate error", body)
        self.assertIn("certificate revoked", self.error_log())
        code, body = self.curl(new_cert, new_key)
        self.assertEqual(code, "200", (body, self.error_log()))
        self.assertIn(alpha_id, body)
        code, body = self.curl(*self.files(self.beta_dir))
        self.assertEqual(code, "200", (body, self.error_log()))


if __name__ == "__main__":
    unittest.main()
