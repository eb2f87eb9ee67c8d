"""serve's config file: `hostca-server config check` accepts a good file and refuses a
bad one in one line naming the key; `serve --config` takes its listen addresses, pool
size and the rest from the file; the environment beats the file and a flag beats both."""

import json
import os
import shutil
import re
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import grpc, host_pb2, host_pb2_grpc  # noqa: E402

EXAMPLE = os.path.join(harness.SOURCE_DIR, "deploy", "hostca.toml.example")


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTCA_")}
    env.update(extra or {})
    return env


class ConfigCheckTest(unittest.TestCase):

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="hostca-config-")
        self.addCleanup(shutil.rmtree, self.folder, True)

    def write(self, name, text):
        path = os.path.join(self.folder, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, path, env=None):
        return harness.run([harness.SERVER_BIN, "config", "check", path], env=env)

    def assert_refused(self, r, *fragments):
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stdout, "", r)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def test_the_example_file_is_ok(self):
        r = self.check(EXAMPLE)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "%s: ok\n" % EXAMPLE)

    def test_a_good_file_is_ok_without_any_database(self):
        # Nothing listens on port 1: config check must not try to connect.
        path = self.write("good.toml", '[database]\nconninfo = "host=127.0.0.1 port=1"\n'
                                       'pool_size = 4\n[crl]\nvalidity = "48h"\n')
        r = self.check(path)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.strip(), "%s: ok" % path)

    def test_a_bad_duration_names_the_file_and_the_key(self):
        path = self.write("bad.toml", '[crl]\nvalidity = "5x"\n')
        r = self.check(path)
        self.assert_refused(r, "%s: crl.validity: '5x' is not a duration" % path,
                            "30s, 15m, 24h, 7d")

    def test_a_bad_integer_names_its_key(self):
        r = self.check(self.write("bad.toml", "[database]\npool_size = -2\n"))
        self.assert_refused(r, "database.pool_size", "out of range")

    def test_an_unknown_key_is_refused_by_name(self):
        r = self.check(self.write("typo.toml", '[server]\nlisten_address = "127.0.0.1:1"\n'))
        self.assert_refused(r, "typo.toml: unknown key 'server.listen_address'")

    def test_a_syntax_error_names_the_line(self):
        r = self.check(self.write("syntax.toml", "[server]\nlisten = \n"))
        self.assert_refused(r, "syntax.toml:2:")

    def test_a_missing_file_is_refused(self):
        r = self.check(os.path.join(self.folder, "absent.toml"))
        self.assert_refused(r, "absent.toml")

    def test_serve_refuses_a_bad_file_before_starting(self):
        path = self.write("bad.toml", '[token]\nfailure_window = "soon"\n')
        r = harness.run([harness.SERVER_BIN, "serve", "--config", path], env=clean_env(),
                        timeout=30)
        self.assert_refused(r, "token.failure_window", "'soon' is not a duration")


class ServeProcess:
    """`hostca-server serve` with the given arguments and environment, until ready."""

    def __init__(self, folder, name, args, env, ready_file):
        self.log_path = os.path.join(folder, name + ".log")
        self._log = open(self.log_path, "wb")
        if os.path.exists(ready_file):
            os.unlink(ready_file)
        self.process = subprocess.Popen([harness.SERVER_BIN, "serve"] + args, env=env,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        try:
            harness.wait_until(lambda: os.path.exists(ready_file) or
                               self.process.poll() is not None, 60, name + " to be ready")
            if self.process.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" % (name, self.process.returncode,
                                                               self.log()))
            with open(ready_file) as f:
                self.ready = json.load(f)
        except BaseException:
            self.stop()
            raise

    def log(self):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        return self.process.returncode


class ServeWithConfigTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment()
        cls.processes = []

    @classmethod
    def tearDownClass(cls):
        for p in cls.processes:
            p.stop()
        cls.d.close()

    def write_config(self, name, grpc_port, http_port, ready_file):
        path = os.path.join(self.d.folder, name)
        with open(path, "w") as f:
            f.write("""# written by test_config_file.py
[database]
conninfo = "%s"
pool_size = 3

[ca]
passphrase_file = "%s"

[server]
listen = "127.0.0.1:%d"
http_listen = "127.0.0.1:%d"
http_threads = 8
ready_file = "%s"

[tls]
dir = "%s"

[certificate]
validity = "30d"

[crl]
validity = "48h"
check_interval = "5s"
""" % (self.d.pg.conninfo, self.d.passphrase_file, grpc_port, http_port, ready_file,
                self.d.tls_dir))
        return path

    def start(self, name, args, env, ready_file):
        p = ServeProcess(self.d.folder, name, args, env, ready_file)
        self.processes.append(p)
        return p

    def ca_certificate(self, grpc_port):
        ch = grpc.secure_channel("127.0.0.1:%d" % grpc_port,
                                 grpc.ssl_channel_credentials(self.d.ca_pem_bytes))
        try:
            stub = host_pb2_grpc.HostServiceStub(ch)
            return stub.GetCACertificate(host_pb2.GetCACertificateRequest(),
                                         timeout=harness.RPC_TIMEOUT)
        finally:
            ch.close()

    def pool_size(self, http_port):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http_port, timeout=30) as r:
            text = r.read().decode()
        m = re.search(r'^hostca_db_pool_connections\{state="size"\} (\d+)', text, re.M)
        self.assertIsNotNone(m, text)
        return int(m.group(1))

    def test_a_serve_takes_its_settings_from_the_file(self):
        grpc_port, http_port = harness.free_port(), harness.free_port()
        ready = os.path.join(self.d.folder, "a.ready.json")
        path = self.write_config("a.toml", grpc_port, http_port, ready)
        self.assertEqual(harness.run([harness.SERVER_BIN, "config", "check", path]).returncode, 0)
        # No --database, --passphrase-file, --tls-dir or --listen: all from the file.
        p = self.start("a", ["--config", path], clean_env(), ready)
        self.assertEqual(p.ready["grpc_port"], grpc_port)
        self.assertEqual(p.ready["http_port"], http_port)
        res = self.ca_certificate(grpc_port)
        self.assertEqual(res.certificate_pem.encode(), self.d.ca_pem_bytes)
        self.assertEqual(self.pool_size(http_port), 3)
        p.stop()

    def test_b_environment_beats_the_file_and_a_flag_beats_both(self):
        file_grpc, file_http = harness.free_port(), harness.free_port()
        env_grpc, env_http = harness.free_port(), harness.free_port()
        flag_grpc = harness.free_port()
        ready = os.path.join(self.d.folder, "b.ready.json")
        path = self.write_config("b.toml", file_grpc, file_http, ready)
        env = clean_env({"HOSTCA_DATABASE_POOL_SIZE": "5",
                         "HOSTCA_SERVER_LISTEN": "127.0.0.1:%d" % env_grpc,
                         "HOSTCA_SERVER_HTTP_LISTEN": "127.0.0.1:%d" % env_http})
        p = self.start("b", ["--config", path, "--listen", "127.0.0.1:%d" % flag_grpc], env,
                       ready)
        self.assertEqual(p.ready["grpc_port"], flag_grpc)   # flag over env and file
        self.assertEqual(p.ready["http_port"], env_http)    # env over file
        self.assertEqual(self.pool_size(env_http), 5)        # env over file
        self.ca_certificate(flag_grpc)
        p.stop()

    def test_c_a_bad_environment_value_names_the_variable(self):
        ready = os.path.join(self.d.folder, "c.ready.json")
        path = self.write_config("c.toml", harness.free_port(), harness.free_port(), ready)
        r = harness.run([harness.SERVER_BIN, "serve", "--config", path],
                        env=clean_env({"HOSTCA_CRL_VALIDITY": "5x"}), timeout=30)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stderr.strip().splitlines(),
                         ["hostca-server: HOSTCA_CRL_VALIDITY: '5x' is not a duration "
                          "(use 30s, 15m, 24h, 7d)"])
        self.assertFalse(os.path.exists(ready))


if __name__ == "__main__":
    unittest.main()
