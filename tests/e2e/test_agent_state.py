"""The agent's state folder with the real binaries: `reset` asks before it wipes an
identity (and refuses without --yes when nobody can answer), keeps the pin unless
--all, and lets a cloned VM enrol as a new host; a private key others can read and
a folder others can enter are refused, and nothing is written or sent."""

import json
import os
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class AgentStateTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Deployment(crl_shards=2)
        try:
            cls.server = cls.d.start_server()
        except BaseException:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    # -- helpers

    def enrolled(self, name, fetch_crl=True):
        path = harness.enrolled_agent(self.d, self.server,
                                      os.path.join(self.d.folder, "agent-" + name),
                                      name + ".example")
        if fetch_crl:
            r = self.d.agent_cli(path, "fetch-crl")
            self.assertEqual(r.returncode, 0, r)
        self.assertEqual(sorted(os.listdir(path)),
                         sorted(harness.IDENTITY_FILES + harness.PIN_FILES)
                         if fetch_crl else sorted(harness.IDENTITY_FILES[:3] + harness.PIN_FILES))
        return path

    def agent(self, path, *args, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        return self.d.agent_cli(path, *args, **kw)

    def assert_refused_and_untouched(self, path, args, *phrases):
        files = harness.snapshot_dir(path)
        state = harness.renewal_state(self.d)
        r = self.agent(path, *args)
        line = harness.agent_error_line(self, r, 1, *phrases)
        self.assertEqual(harness.snapshot_dir(path), files)
        self.assertEqual(harness.renewal_state(self.d), state)
        return line

    # -- reset

    def test_reset_without_yes_and_without_a_terminal_exits_1_and_removes_nothing(self):
        path = self.enrolled("reset-no-tty")
        self.assert_refused_and_untouched(path, ["reset"], "--yes")
        self.assert_refused_and_untouched(path, ["reset", "--all"], "--yes")
        # An answer on a pipe is no terminal either.
        files = harness.snapshot_dir(path)
        r = self.d.agent_cli(path, "reset", input_text="yes\n")
        harness.agent_error_line(self, r, 1, "--yes")
        self.assertEqual(harness.snapshot_dir(path), files)

    def test_reset_yes_removes_the_identity_and_keeps_the_pin(self):
        path = self.enrolled("reset-yes")
        files = harness.snapshot_dir(path)
        state = harness.renewal_state(self.d)
        r = self.agent(path, "reset", "--yes")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(sorted(os.listdir(path)), sorted(harness.PIN_FILES))
        after = harness.snapshot_dir(path)
        for name in harness.PIN_FILES + (".",):
            self.assertEqual(after[name], files[name], name)
        # The CA is not told: the host stays on record with its certificate.
        self.assertEqual(harness.renewal_state(self.d), state)
        j = json.loads(self.agent(path, "status", "--json").stdout)
        self.assertIs(j["enrolled"], False)
        self.assertIs(j["pinned"], True)
        # Renewal needs an identity now.
        r = self.agent(path, "renew")
        harness.agent_error_line(self, r, 1)
        # A second reset has nothing to do and is no error.
        r = self.agent(path, "reset", "--yes")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(sorted(os.listdir(path)), sorted(harness.PIN_FILES))

    def test_reset_all_yes_removes_the_pin_as_well(self):
        path = self.enrolled("reset-all")
        r = self.agent(path, "reset", "--all", "--yes")
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(not os.path.exists(path) or os.listdir(path) == [],
                        os.listdir(path) if os.path.exists(path) else None)
        j = json.loads(self.agent(path, "status", "--json").stdout)
        self.assertIs(j["pinned"], False)
        self.assertIs(j["enrolled"], False)
        # Pinning again starts over.
        harness.pin_agent(self.d, self.server, path)
        self.assertEqual(sorted(os.listdir(path)), sorted(harness.PIN_FILES))

    # -- a cloned VM

    def test_cloned_folder_enrols_as_a_new_host_after_reset(self):
        original = self.enrolled("clone-source")
        source = harness.agent_identity(original)
        clone = harness.copy_agent_dir(original, os.path.join(self.d.folder, "agent-clone"))
        # Without a reset the clone is the same host and must not enrol again.
        token = harness.new_auth_token(self.d, self.server, "clone")
        line = self.assert_refused_and_untouched(
            clone, ["enroll", "--token", token["token"], "--hostname", "clone.example"],
            source["host_id"])
        self.assertIn("reset", line)
        self.assertEqual(self.d.pg.scalar("SELECT uses FROM tokens WHERE token_id = '%s'"
                                          % token["token_id"]), 0)

        r = self.agent(clone, "reset", "--yes")
        self.assertEqual(r.returncode, 0, r)
        hosts = self.d.pg.scalar("SELECT count(*) FROM hosts")
        r = self.agent(clone, "enroll", "--token", token["token"], "--hostname", "clone.example")
        self.assertEqual(r.returncode, 0, r)
        cloned = harness.agent_identity(clone)
        self.assertNotEqual(cloned["host_id"], source["host_id"])
        self.assertNotEqual(cloned["key_pem"], source["key_pem"])
        self.assertEqual(self.d.pg.scalar("SELECT count(*) FROM hosts"), hosts + 1)
        harness.check_host_certificate(self, cloned["cert"], self.d.ca_cert, cloned["host_id"],
                                       "clone.example", self.server.http_port)
        # Both live on: each renews as itself.
        for path, ident in ((original, source), (clone, cloned)):
            with self.subTest(folder=os.path.basename(path)):
                r = self.agent(path, "renew")
                self.assertEqual(r.returncode, 0, r)
                self.assertEqual(harness.agent_identity(path)["host_id"], ident["host_id"])

    # -- permissions

    def test_host_key_readable_by_others_is_refused_by_every_command_that_uses_it(self):
        path = self.enrolled("exposed-key", fetch_crl=False)
        key = os.path.join(path, "host.key")
        for mode in (0o644, 0o640, 0o604):
            os.chmod(key, mode)
            for args in (["renew"], ["renew", "--if-due", "--renew-at", "0"]):
                with self.subTest(mode=oct(mode), args=args):
                    line = self.assert_refused_and_untouched(path, args, key)
                    self.assertIn("host.key", line)
        os.chmod(key, 0o600)
        r = self.agent(path, "renew")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)

    def test_folder_open_to_others_is_refused(self):
        path = self.enrolled("open-folder")
        try:
            for mode in (0o755, 0o750, 0o701):
                os.chmod(path, mode)
                for args in (["renew"], ["status"], ["fetch-crl"], ["reset", "--yes"],
                             ["renew", "--if-due"]):
                    with self.subTest(mode=oct(mode), args=args):
                        self.assert_refused_and_untouched(path, args, path)
        finally:
            os.chmod(path, 0o700)
        r = self.agent(path, "status")
        self.assertEqual(r.returncode, 0, r)

    def test_enrolment_makes_a_0700_folder_with_a_0600_key(self):
        path = self.enrolled("modes", fetch_crl=False)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(path, "host.key")).st_mode), 0o600)
        r = self.agent(path, "renew")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(path, "host.key")).st_mode), 0o600)
        for name in os.listdir(path):
            self.assertFalse(".tmp" in name or name.endswith(".new"), name)


if __name__ == "__main__":
    unittest.main()
