"""The packaging files (deploy/docker, deploy/k8s) agree with the program they package.

Docker and Kubernetes do not run here, so this checks what can be checked offline:
every YAML document parses (and passes yamllint, where installed); the Kubernetes
objects are the ones docs/operations.md describes and refer to each other by the
right names; every `hostca-server` command line in the Dockerfile, the compose file
and the manifests uses a subcommand and flags that `hostca-server <cmd> --help`
lists, and gives what it marks REQUIRED (by flag or by its environment variable);
the Deployment's probes name HTTP paths a real server answers; the runtime image
installs the packages of every library the binaries link; and the init scripts of
compose and of the init Job, run here against a real PostgreSQL, initialise a CA
once, then only migrate, and never overwrite a CA.
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DEPLOY = os.path.join(harness.SOURCE_DIR, "deploy")
DOCKERFILE = os.path.join(DEPLOY, "docker", "Dockerfile")
COMPOSE = os.path.join(DEPLOY, "docker", "docker-compose.yml")
K8S = os.path.join(DEPLOY, "k8s")
INSTALL_DEPS = os.path.join(DEPLOY, "install-deps.sh")
YAML_FILES = sorted(glob.glob(os.path.join(DEPLOY, "docker", "*.yml")) +
                    glob.glob(os.path.join(K8S, "*.yaml")))
PROGRAMS = ("hostca-server", "hostca-admin", "hostca-agent")
# In debian:bookworm-slim already (apt needs them).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
SHELL_ENDS = {";", "|", "||", "&&", "&", ">", ">>", "<", "2>", "2>&1", ")", "fi", "then"}


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def k8s_objects():
    out = []
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        for doc in load_all(path):
            if doc.get("kind") != "Kustomization":
                out.append(doc)
    return out


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and
             (name is None or o["metadata"]["name"] == name)]
    if len(found) != 1:
        raise AssertionError("expected one %s %s, found %d" % (kind, name or "", len(found)))
    return found[0]


def pod_containers(pod_spec):
    return list(pod_spec.get("initContainers", [])) + list(pod_spec["containers"])


# ---------------------------------------------------------------- command lines

def shell_invocations(script):
    """Every `hostca-server ...` command in a shell script, as token lists."""
    script = script.replace("\\\n", " ")
    out = []
    for line in script.splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for i, token in enumerate(tokens):
            if os.path.basename(token) == "hostca-server":
                words = [token]
                for t in tokens[i + 1:]:
                    if t in SHELL_ENDS or t.startswith(">") or t.startswith("<"):
                        break
                    words.append(t)
                out.append(words)
    return out


def invocations_of(argv):
    """The hostca-server commands in a container's command + args (exec form or sh -c)."""
    if not argv:
        return []
    if os.path.basename(argv[0]) == "hostca-server":
        return [list(argv)]
    if os.path.basename(argv[0]) in ("sh", "bash") and len(argv) >= 3:
        return shell_invocations(argv[-1])
    # An entrypoint wrapper: the program follows it.
    return invocations_of(argv[1:])


def dockerfile_cmd():
    with open(DOCKERFILE) as f:
        text = f.read().replace("\\\n", " ")
    cmds = re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.M)
    if len(cmds) != 1:
        raise AssertionError("expected one exec-form CMD in the Dockerfile, got %r" % cmds)
    return json.loads(cmds[0])


def all_invocations():
    """[(where, tokens, environment names)] of every hostca-server command line."""
    out = [("Dockerfile CMD", argv, None) for argv in invocations_of(dockerfile_cmd())]
    compose = load_all(COMPOSE)[0]
    for name, service in compose["services"].items():
        command = service.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        env = set((service.get("environment") or {}).keys())
        if command is None and service.get("image", "").startswith("hostca"):
            command = dockerfile_cmd()
        for argv in invocations_of(command or []):
            out.append(("compose service %s" % name, argv, env))
    for obj in k8s_objects():
        spec = obj.get("spec", {}).get("template", {}).get("spec")
        if not spec:
            continue
        for c in pod_containers(spec):
            env = {e["name"] for e in c.get("env", [])}
            argv = list(c.get("command", [])) + list(c.get("args", []))
            if not c.get("command") and c["image"].startswith("hostca"):
                argv = list(c.get("args", [])) or dockerfile_cmd()
            for inv in invocations_of(argv):
                out.append(("%s %s container %s" % (obj["kind"], obj["metadata"]["name"],
                                                    c["name"]), inv, env))
    return out


class HelpText:
    """What `hostca-server [cmd] --help` lists."""

    def __init__(self):
        self.cache = {}

    def text(self, *cmd):
        if cmd not in self.cache:
            r = harness.run([harness.SERVER_BIN] + list(cmd) + ["--help"])
            if r.returncode != 0:
                raise AssertionError("hostca-server %s --help failed: %r" % (" ".join(cmd), r))
            self.cache[cmd] = r.stdout
        return self.cache[cmd]

    def subcommands(self):
        section = self.text().split("Subcommands:", 1)[1]
        return set(re.findall(r"^\s{2}(\S+)\s", section, re.M))

    def flags(self, cmd):
        return set(re.findall(r"(--[a-z][a-z0-9-]*)", self.text(cmd)))

    def required(self, cmd):
        """{flag: its environment variable or None} of the options marked REQUIRED."""
        out = {}
        for m in re.finditer(r"^\s+(?:-\w,)?(--[a-z0-9-]+)[^\n]*REQUIRED(?:\s*\(Env:(\w+)\))?",
                             self.text(cmd), re.M):
            out[m.group(1)] = m.group(2)
        return out


def check_invocation(help_text, argv, env):
    """The problems of one command line, as sentences (empty: none)."""
    problems = []
    if len(argv) < 2 or argv[1] not in help_text.subcommands():
        return ["%r is not a hostca-server subcommand" % (argv[1:2],)]
    cmd = argv[1]
    known = help_text.flags(cmd)
    given = {a.split("=", 1)[0] for a in argv[2:] if a.startswith("--")}
    for flag in sorted(given - known):
        problems.append("hostca-server %s has no flag %s" % (cmd, flag))
    if env is not None:
        for flag, var in help_text.required(cmd).items():
            if flag not in given and (var is None or var not in env):
                problems.append("hostca-server %s needs %s%s" % (
                    cmd, flag, " or $" + var if var else ""))
    return problems


class CommandLinesTest(unittest.TestCase):
    help = HelpText()

    def test_every_command_line_uses_flags_the_program_has(self):
        invocations = all_invocations()
        wheres = {w for w, _, _ in invocations}
        # The places that run the server must all have been found.
        self.assertIn("Dockerfile CMD", wheres)
        self.assertIn("compose service hostca", wheres)
        self.assertIn("compose service hostca-init", wheres)
        self.assertIn("Deployment hostca container hostca", wheres)
        self.assertIn("Job hostca-init container migrate-and-init", wheres)
        subcommands = set()
        for where, argv, env in invocations:
            subcommands.add(argv[1] if len(argv) > 1 else "")
            with self.subTest(where=where, argv=argv):
                self.assertEqual(check_invocation(self.help, argv, env), [])
        self.assertTrue({"serve", "init", "migrate"} <= subcommands, subcommands)

    def test_a_wrong_flag_or_subcommand_is_noticed(self):
        # The check itself can fail.
        self.assertIn("hostca-server serve has no flag --no-such-flag",
                      check_invocation(self.help, ["hostca-server", "serve", "--no-such-flag"],
                                       None))
        self.assertTrue(check_invocation(self.help, ["hostca-server", "serv"], None))
        self.assertIn("hostca-server serve needs --database or $HOSTCA_DATABASE",
                      check_invocation(self.help, ["hostca-server", "serve"], set()))
        script = "hostca-server init --tls-dir /x \\\n  --crl-shards 2 >/out.txt\n"
        self.assertEqual(shell_invocations(script),
                         [["hostca-server", "init", "--tls-dir", "/x", "--crl-shards", "2"]])

    def test_environment_names_are_ones_the_program_reads(self):
        helps = self.help.text("serve") + self.help.text("init") + self.help.text("migrate")
        read_by_entrypoint = {"PGPASSWORD_FILE"}
        for where, _, env in all_invocations():
            for name in sorted(env or ()):
                if name.startswith("HOSTCA_"):
                    with self.subTest(where=where, name=name):
                        self.assertIn(name, helps)
                elif name not in read_by_entrypoint and name != "HOME":
                    self.fail("%s sets %s, which nothing reads" % (where, name))


# ---------------------------------------------------------------- YAML

class YamlTest(unittest.TestCase):

    def test_every_yaml_document_parses(self):
        self.assertGreaterEqual(len(YAML_FILES), 6, YAML_FILES)
        for path in YAML_FILES:
            with self.subTest(path=os.path.relpath(path, harness.SOURCE_DIR)):
                docs = load_all(path)
                self.assertTrue(docs)
                for doc in docs:
                    self.assertIsInstance(doc, dict)

    @unittest.skipUnless(shutil.which("yamllint"), "yamllint is not installed")
    def test_yamllint_passes(self):
        r = subprocess.run(["yamllint", "-f", "parsable", "-s"] + YAML_FILES,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    @unittest.skipUnless(shutil.which("yamllint"), "yamllint is not installed")
    def test_yamllint_notices_a_broken_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("---\nkey: [unclosed\n")
            f.flush()
            r = subprocess.run(["yamllint", "-s", f.name], capture_output=True, text=True,
                               timeout=60)
        self.assertNotEqual(r.returncode, 0)


# ---------------------------------------------------------------- Kubernetes

class KubernetesTest(unittest.TestCase):

    def setUp(self):
        self.objects = k8s_objects()

    def test_objects_are_the_expected_kinds(self):
        kinds = sorted(o["kind"] for o in self.objects)
        self.assertEqual(kinds, sorted(["Namespace", "Secret", "Secret", "ServiceAccount",
                                        "Role", "RoleBinding", "Job", "Deployment",
                                        "Service"]))
        for o in self.objects:
            self.assertIn("apiVersion", o)
            if o["kind"] != "Namespace":
                self.assertEqual(o["metadata"].get("namespace"), "hostca", o["metadata"])

    def test_kustomization_lists_every_manifest(self):
        kustomization = load_all(os.path.join(K8S, "kustomization.yaml"))[0]
        files = {os.path.basename(p) for p in glob.glob(os.path.join(K8S, "*.yaml"))}
        self.assertEqual(set(kustomization["resources"]), files - {"kustomization.yaml"})

    def test_deployment_runs_several_replicas_as_a_non_root_user(self):
        d = one(self.objects, "Deployment", "hostca")
        self.assertGreaterEqual(d["spec"]["replicas"], 2)
        self.assertEqual(d["spec"]["selector"]["matchLabels"],
                         {k: v for k, v in d["spec"]["template"]["metadata"]["labels"].items()
                          if k in d["spec"]["selector"]["matchLabels"]})
        pod = d["spec"]["template"]["spec"]
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        self.assertNotEqual(pod["securityContext"]["runAsUser"], 0)

    def test_service_selects_the_deployment_and_names_its_ports(self):
        d = one(self.objects, "Deployment", "hostca")
        s = one(self.objects, "Service", "hostca")
        labels = d["spec"]["template"]["metadata"]["labels"]
        for k, v in s["spec"]["selector"].items():
            self.assertEqual(labels.get(k), v)
        port_names = {p["name"] for c in d["spec"]["template"]["spec"]["containers"]
                      for p in c["ports"]}
        self.assertEqual({p["targetPort"] for p in s["spec"]["ports"]}, {"grpc", "http"})
        self.assertTrue({"grpc", "http"} <= port_names)

    def test_passphrase_secret_is_a_marked_placeholder_the_job_refuses(self):
        secret = one(self.objects, "Secret", "hostca-passphrase")
        value = secret["stringData"]["passphrase"]
        self.assertIn("CHANGE-ME-placeholder", value)
        with open(os.path.join(K8S, "secret.yaml")) as f:
            self.assertIn("PLACEHOLDER", f.read())
        job = one(self.objects, "Job", "hostca-init")
        script = job["spec"]["template"]["spec"]["initContainers"][0]["command"][-1]
        self.assertIn("CHANGE-ME-placeholder", script)

    def test_every_secret_a_pod_uses_is_made_somewhere(self):
        made = {o["metadata"]["name"] for o in self.objects if o["kind"] == "Secret"}
        job = one(self.objects, "Job", "hostca-init")
        store = [c for c in job["spec"]["template"]["spec"]["containers"]
                 if c["name"] == "store-secrets"][0]["command"][-1]
        made |= set(re.findall(r"create secret generic (\S+)", store))
        self.assertIn("hostca-tls", made)
        role = one(self.objects, "Role", "hostca-init")
        self.assertEqual(role["rules"], [{"apiGroups": [""], "resources": ["secrets"],
                                          "verbs": ["create"]}])
        for kind in ("Deployment", "Job"):
            pod = one(self.objects, kind)["spec"]["template"]["spec"]
            used = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
            for c in pod_containers(pod):
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        used.add(ref["name"])
            with self.subTest(kind=kind):
                self.assertTrue(used)
                self.assertLessEqual(used, made)

    def test_probes_point_at_paths_the_server_serves(self):
        d = one(self.objects, "Deployment", "hostca")
        container = d["spec"]["template"]["spec"]["containers"][0]
        probes = {k: container[k] for k in ("startupProbe", "livenessProbe", "readinessProbe")
                  if k in container}
        self.assertIn("livenessProbe", probes)
        self.assertIn("readinessProbe", probes)
        http_port = [p for p in container["ports"] if p["name"] == "http"][0]["containerPort"]
        listen = container["args"][container["args"].index("--http-listen") + 1]
        self.assertTrue(listen.endswith(":%d" % http_port), listen)
        paths = set()
        for name, probe in probes.items():
            self.assertEqual(probe["httpGet"]["port"], "http", name)
            paths.add(probe["httpGet"]["path"])
        dep = harness.Deployment(crl_shards=1)
        try:
            server = dep.start_server()
            for path in sorted(paths) + ["/no-such-path"]:
                status = harness.http_get(server.http_port, path).status
                with self.subTest(path=path):
                    if path == "/no-such-path":  # the check can fail
                        self.assertNotEqual(status, 200)
                    else:
                        self.assertEqual(status, 200)
        finally:
            dep.close()


# ---------------------------------------------------------------- the image

def install_deps_packages():
    with open(INSTALL_DEPS) as f:
        text = f.read()
    body = re.search(r"PACKAGES=\((.*?)\n\)", text, re.S).group(1)
    groups, current = {}, None
    for line in body.splitlines():
        m = re.match(r"\s*#\s*(\w+)", line)
        if m:
            current = m.group(1)
            continue
        groups.setdefault(current, set()).update(line.split("#")[0].split())
    return groups


def dockerfile_stages():
    """[(FROM line, [apt-get install packages])] per stage."""
    with open(DOCKERFILE) as f:
        text = f.read().replace("\\\n", " ")
    stages = []
    for line in text.splitlines():
        if line.startswith("FROM "):
            stages.append((line, []))
        elif "apt-get install" in line and stages:
            words = line.split("apt-get install", 1)[1].split("&&")[0].split()
            stages[-1][1].extend(w for w in words if not w.startswith("-"))
    return stages


class DockerfileTest(unittest.TestCase):

    def test_multi_stage_on_bookworm_running_as_non_root(self):
        stages = dockerfile_stages()
        self.assertGreaterEqual(len(stages), 2)
        for line, _ in stages:
            self.assertRegex(line, r"^FROM debian:bookworm")
        self.assertRegex(stages[0][0], r" AS build$")
        with open(DOCKERFILE) as f:
            text = f.read()
        users = re.findall(r"^USER\s+(\S+)", text, re.M)
        self.assertTrue(users)
        self.assertNotIn(users[-1].split(":")[0], ("0", "root"))
        self.assertEqual(dockerfile_cmd()[:2], ["hostca-server", "serve"])
        for src in re.findall(r"^COPY\s+(?!--from)(\S+)\s", text, re.M):
            if src != ".":
                self.assertTrue(os.path.exists(os.path.join(harness.SOURCE_DIR, src)), src)

    def test_build_stage_installs_the_build_packages_of_install_deps(self):
        build = set(dockerfile_stages()[0][1])
        self.assertEqual(build, install_deps_packages()["build"])

    @unittest.skipUnless(shutil.which("readelf") and shutil.which("dpkg"), "readelf or dpkg missing")
    def test_runtime_stage_installs_every_library_the_programs_link(self):
        runtime = set(dockerfile_stages()[-1][1])
        r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends",
                            "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                            "--no-enhances", "--installed"] + sorted(runtime),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            self.skipTest("apt-cache depends failed: %s" % r.stderr)
        closure = set(re.findall(r"^(?:\s+(?:Pre)?Depends: )?<?([a-z0-9][a-z0-9.+-]+)>?(?::\w+)?$",
                                 r.stdout, re.M))
        closure |= runtime | BASE_IMAGE_PACKAGES
        for program in PROGRAMS:
            path = os.path.join(harness.BUILD_DIR, "ca", program)
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                                subprocess.run(["readelf", "-d", path], capture_output=True,
                                               text=True, timeout=60).stdout)
            self.assertTrue(needed, program)
            for lib in needed:
                if re.match(r"lib(asan|ubsan|lsan|tsan)\.so", lib):
                    continue  # a sanitizer build (deploy/sanitize.sh), never the image's
                owner = subprocess.run(["dpkg", "-S", "*/" + lib], capture_output=True,
                                       text=True, timeout=60)
                self.assertEqual(owner.returncode, 0, owner.stderr)
                packages = {line.split(":")[0] for line in owner.stdout.splitlines()}
                with self.subTest(program=program, lib=lib):
                    self.assertTrue(packages & closure,
                                    "%s (from %s) is not installed in the image" % (lib, packages))

    def test_entrypoint_hands_over_the_password_file_and_runs_the_command(self):
        entry = os.path.join(DEPLOY, "docker", "entrypoint.sh")
        self.assertTrue(os.access(entry, os.X_OK))
        with tempfile.NamedTemporaryFile("w") as f:
            f.write("s3cret\n")
            f.flush()
            env = dict(os.environ, PGPASSWORD_FILE=f.name)
            r = subprocess.run([entry, "sh", "-c", 'echo "$PGPASSWORD|${PGPASSWORD_FILE:-unset}"'],
                               capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "s3cret|unset\n")


# ---------------------------------------------------------------- init scripts

class InitScriptsTest(unittest.TestCase):
    """The init steps of compose and of the Job, run here with their paths moved into a
    temporary folder and the built binaries on PATH."""

    @classmethod
    def setUpClass(cls):
        cls.dep = harness.Deployment(init=False)

    @classmethod
    def tearDownClass(cls):
        cls.dep.close()

    def database(self, name):
        self.dep.pg.psql("CREATE DATABASE %s" % name)
        return self.dep.pg.conninfo.replace("dbname=hostca", "dbname=" + name)

    def run_script(self, script, paths, conninfo):
        for old, new in paths.items():
            script = script.replace(old, new)
        env = {"PATH": os.path.join(harness.BUILD_DIR, "ca") + os.pathsep + os.environ["PATH"],
               "HOSTCA_DATABASE": conninfo}
        return harness.run(["/bin/sh", "-ec", script], env=env, timeout=120)

    def ca_count(self, name):
        return int(harness.run([harness.PSQL, self.dep.pg.conninfo.replace(
            "dbname=hostca", "dbname=" + name), "-tAc", "SELECT count(*) FROM ca"]).stdout)

    def test_compose_init_initialises_once_then_only_migrates(self):
        service = load_all(COMPOSE)[0]["services"]["hostca-init"]
        script = service["command"][-1]
        tls = os.path.join(self.dep.folder, "compose-tls")
        server_password = self.dep.write_secret_file("server-password", "a server password")
        paths = {"/var/lib/hostca/tls": tls,
                 "/run/secrets/hostca_passphrase": self.dep.passphrase_file,
                 "/run/secrets/hostca_server_password": server_password}
        conninfo = self.database("compose")
        first = self.run_script(script, paths, conninfo)
        self.assertEqual(first.returncode, 0, first)
        self.assertEqual(len(harness.ADMIN_KEY_RE.findall(first.stdout)), 1, first.stdout)
        self.assertTrue(os.path.exists(os.path.join(tls, "server.pem")))
        with open(os.path.join(tls, "ca.pem"), "rb") as f:
            ca_pem = f.read()

        again = self.run_script(script, paths, conninfo)
        self.assertEqual(again.returncode, 0, again)
        self.assertIn("already initialised", again.stdout)
        self.assertEqual(harness.ADMIN_KEY_RE.findall(again.stdout), [])

        # The TLS volume lost, the database kept: init refuses to make a second CA.
        shutil.rmtree(tls)
        lost = self.run_script(script, paths, conninfo)
        self.assertNotEqual(lost.returncode, 0, lost)
        self.assertIn("never overwrites", lost.stderr)
        self.assertEqual(self.ca_count("compose"), 1)
        self.assertFalse(os.path.exists(os.path.join(tls, "ca.pem")))
        served = self.dep.pg.psql("SELECT 1")  # the cluster is still fine
        self.assertEqual(served, "1")
        self.assertTrue(ca_pem.startswith(b"-----BEGIN CERTIFICATE-----"))

    def test_job_init_keeps_the_admin_key_out_of_the_log_and_runs_once(self):
        job = one(k8s_objects(), "Job", "hostca-init")
        script = job["spec"]["template"]["spec"]["initContainers"][0]["command"][-1]
        work = os.path.join(self.dep.folder, "job-work")
        mounted = os.path.join(self.dep.folder, "job-tls-secret")
        os.makedirs(work)
        os.makedirs(mounted)
        server_password = self.dep.write_secret_file("k8s-server-password", "a server password")
        paths = {"/etc/hostca/passphrase/passphrase": self.dep.passphrase_file,
                 "/etc/hostca/server-password/password": server_password,
                 "/etc/hostca/tls": mounted, "/work": work}
        conninfo = self.database("k8s")
        first = self.run_script(script, paths, conninfo)
        self.assertEqual(first.returncode, 0, first)
        self.assertIn("SHA-256 fingerprint", first.stdout)
        self.assertEqual(harness.ADMIN_KEY_RE.findall(first.stdout + first.stderr), [])
        with open(os.path.join(work, "init.txt")) as f:
            self.assertEqual(len(harness.ADMIN_KEY_RE.findall(f.read())), 1)
        self.assertEqual(sorted(os.listdir(os.path.join(work, "tls"))),
                         ["ca.pem", "server.key", "server.pem"])

        # The store step made the hostca-tls Secret; a new pod mounts it.
        for name in os.listdir(os.path.join(work, "tls")):
            shutil.copy(os.path.join(work, "tls", name), mounted)
        shutil.rmtree(work)
        os.makedirs(work)
        again = self.run_script(script, paths, conninfo)
        self.assertEqual(again.returncode, 0, again)
        self.assertIn("already initialised", again.stdout)
        self.assertEqual(os.listdir(work), [])
        self.assertEqual(self.ca_count("k8s"), 1)

    def test_job_refuses_the_placeholder_passphrase(self):
        job = one(k8s_objects(), "Job", "hostca-init")
        script = job["spec"]["template"]["spec"]["initContainers"][0]["command"][-1]
        secret = one(k8s_objects(), "Secret", "hostca-passphrase")
        placeholder = self.dep.write_secret_file("placeholder", secret["stringData"]["passphrase"])
        work = os.path.join(self.dep.folder, "job-placeholder")
        os.makedirs(work)
        paths = {"/etc/hostca/passphrase/passphrase": placeholder,
                 "/etc/hostca/tls": os.path.join(work, "mounted"), "/work": work}
        conninfo = self.database("placeholder")
        r = self.run_script(script, paths, conninfo)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("placeholder", r.stderr)
        tables = harness.run([harness.PSQL, conninfo, "-tAc",
                              "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"])
        self.assertEqual(tables.stdout.strip(), "0")


if __name__ == "__main__":
    unittest.main()
