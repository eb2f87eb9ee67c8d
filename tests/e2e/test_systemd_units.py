"""The systemd units in deploy/systemd pass `systemd-analyze verify`.

The units name /usr/local/bin/...; systemd-analyze checks that each
ExecStart binary exists, so the test verifies copies whose paths point at the
binaries just built. Nothing else in the units is changed.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

UNITS = os.path.join(harness.SOURCE_DIR, "deploy", "systemd")


def verify(folder, names):
    return subprocess.run(["systemd-analyze", "verify"] + names, cwd=folder,
                          capture_output=True, text=True, timeout=60)


@unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
class SystemdUnitsTest(unittest.TestCase):

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="hostca-units-")
        bin_dir = os.path.join(harness.BUILD_DIR, "ca") + "/"
        self.names = []
        for path in sorted(glob.glob(os.path.join(UNITS, "*.service")) +
                           glob.glob(os.path.join(UNITS, "*.timer"))):
            with open(path) as f:
                text = f.read()
            name = os.path.basename(path)
            with open(os.path.join(self.folder, name), "w") as f:
                f.write(text.replace("/usr/local/bin/", bin_dir))
            self.names.append("./" + name)

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def test_server_unit_and_renew_timer_exist(self):
        names = {os.path.basename(n) for n in self.names}
        self.assertIn("hostca-server.service", names)
        self.assertIn("hostca-agent-renew.service", names)
        self.assertIn("hostca-agent-renew.timer", names)

    def test_every_unit_verifies_without_a_warning(self):
        r = verify(self.folder, self.names)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "", "systemd-analyze warned")

    def test_a_broken_unit_is_noticed(self):
        # The check itself can fail: a misspelt key makes it speak up.
        with open(os.path.join(self.folder, "hostca-agent-renew.service")) as f:
            text = f.read()
        with open(os.path.join(self.folder, "broken.service"), "w") as f:
            f.write(text.replace("Type=oneshot", "Typo=oneshot"))
        r = verify(self.folder, ["./broken.service"])
        self.assertIn("Unknown key", r.stderr)

    def test_renew_timer_runs_the_agent_renewal_when_due(self):
        with open(os.path.join(UNITS, "hostca-agent-renew.service")) as f:
            service = f.read()
        self.assertRegex(service, re.compile(r"^ExecStart=\S*hostca-agent .*renew --if-due", re.M))
        with open(os.path.join(UNITS, "hostca-agent-renew.timer")) as f:
            timer = f.read()
        self.assertRegex(timer, re.compile(r"^OnCalendar=daily", re.M))


if __name__ == "__main__":
    unittest.main()
