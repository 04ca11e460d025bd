#!/usr/bin/env python3
"""The deployment files (Dockerfile, deploy/docker-compose.yml, deploy/haproxy, deploy/k8s,
deploy/headroom.service) checked offline, then the real `headroom` binary started with exactly
the arguments and environment each of them gives it (Redis aside, and the port, state paths and
component path moved to this machine's), answering /readyz and draining on SIGTERM.

Run by `just test-deploy` (part of `just ci`) after the component and the binary are built.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BINARY = ROOT / "target/release/headroom"
COMPONENT = ROOT / "target/wasm/headroom-core.wasm"


# ---------- the proxy's own defaults, read from the binary ----------

def proxy_default(flag: str) -> str:
    """The `[default: X]` of `headroom proxy --help` for `--flag`."""
    out = subprocess.run([str(BINARY), "proxy", "--help"], capture_output=True, text=True, check=True).stdout
    m = re.search(rf"--{re.escape(flag)} <[^>]+>\n(?:(?!\n\s+-).)*?\[default: ([^\]]+)\]", out, re.S)
    assert m, f"no default for --{flag}"
    return m.group(1)


def measured_rss_mb() -> float:
    text = (ROOT / "benches/results/load.md").read_text()
    m = re.search(r"Proxy RSS, peak[^:]*: (\d+(?:\.\d+)?) MB", text)
    assert m, "benches/results/load.md states no peak RSS"
    return float(m.group(1))


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 2**20


# ---------- parsers ----------

def dockerfile_stages(path: Path):
    """[(name, [(INSTRUCTION, argument)])] with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    stages = []
    for line in logical:
        instr, _, arg = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", arg, re.I)
            stages.append((m.group(2), [("FROM", m.group(1))]))
        elif instr == "ARG" and not stages:
            continue
        else:
            assert stages, f"{instr} before FROM"
            stages[-1][1].append((instr, arg.strip()))
    return stages


def docker_env(arg: str) -> dict:
    """ENV k=v k2="v 2" ..."""
    return dict(part.split("=", 1) for part in shlex.split(arg))


def exec_form(arg: str) -> list:
    return yaml.safe_load(arg)


def dockerfile():
    stages = dockerfile_stages(ROOT / "Dockerfile")
    final = stages[-1][1]
    env, entry, cmd, user, health = {}, [], [], None, None
    for instr, arg in final:
        if instr == "ENV":
            env.update(docker_env(arg))
        elif instr == "ENTRYPOINT":
            entry = exec_form(arg)
        elif instr == "CMD":
            cmd = exec_form(arg)
        elif instr == "USER":
            user = arg
        elif instr == "HEALTHCHECK":
            health = arg
    return stages, env, entry, cmd, user, health


def yaml_docs(path: Path):
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def k8s_objects():
    files = [p for p in sorted((DEPLOY / "k8s").glob("*.yaml")) if p.name != "kustomization.yaml"]
    return [doc for p in files for doc in yaml_docs(p)]


def systemd_unit():
    """[Service] keys -> list of values (a key may repeat)."""
    section, keys = None, {}
    for raw in (DEPLOY / "headroom.service").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        keys.setdefault((section, k.strip()), []).append(v.strip())
    return keys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


# ---------- the binary as a deployment starts it ----------

class Started:
    """`headroom` run with `args` and `env` (a clean environment: PATH only), the machine
    specifics substituted: port, state and cache paths, component path; Redis dropped."""

    def __init__(self, name: str, args: list, env: dict):
        self.tmp = Path(tempfile.mkdtemp(prefix=f"headroom-deploy-{name}-"))
        self.port = free_port()
        env = dict(env)
        env.pop("HEADROOM_REDIS_URL", None)
        for k in ("HEADROOM_WORKSPACE_DIR", "HEADROOM_CACHE_DIR", "HOME"):
            if k in env:
                env[k] = str(self.tmp / k.lower())
        env.setdefault("HOME", str(self.tmp / "home"))
        env["HEADROOM_COMPONENT"] = str(COMPONENT)
        env["HEADROOM_PORT"] = str(self.port)
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        self.env = env
        self.log = open(self.tmp / "stderr.log", "w+")
        self.proc = subprocess.Popen([str(BINARY), *args], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        self.log.flush()
        return (self.tmp / "stderr.log").read_text()

    def wait_ready(self, limit=90.0) -> bool:
        deadline = time.time() + limit
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            if get(self.url + "/readyz") == 200:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class DeploymentFiles(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        assert BINARY.exists(), f"{BINARY} missing: cargo build --release -p headroom-proxy --bin headroom"
        assert COMPONENT.exists(), f"{COMPONENT} missing: just component"
        cls.port = int(proxy_default("port"))
        cls.stages, cls.image_env, cls.entry, cls.cmd, cls.user, cls.health = dockerfile()

    # ----- every YAML file -----

    def test_every_yaml_file_parses(self):
        files = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
        self.assertGreaterEqual(len(files), 5, files)
        for p in files:
            with self.subTest(file=str(p.relative_to(ROOT))):
                self.assertTrue(yaml_docs(p), "empty")

    # ----- Dockerfile -----

    def test_dockerfile_is_multi_stage_non_root_with_a_readyz_healthcheck(self):
        names = [n for n, _ in self.stages]
        self.assertGreaterEqual(len(self.stages), 2, "a build stage and a runtime stage")
        build = dict(self.stages[0][1])
        self.assertIn("core/component/build.sh", build["RUN"], "the build stage builds the component")
        self.assertIn("-p headroom-proxy --bin headroom", build["RUN"], "and the binary")
        final = self.stages[-1][1]
        self.assertTrue(final[0][1].startswith("debian:") and "slim" in final[0][1], final[0])
        copies = [a for i, a in final if i == "COPY"]
        self.assertTrue(all(a.startswith(f"--from={names[0]} ") for a in copies), copies)
        self.assertTrue(any("headroom-core.wasm" in a for a in copies), copies)
        self.assertIsNotNone(self.user)
        self.assertNotIn(self.user.split(":")[0], ("root", "0"), "runs as a non-root user")
        self.assertIsNotNone(self.health, "HEALTHCHECK")
        m = re.search(r"CMD\s+(\[.*\])", self.health)
        check = exec_form(m.group(1))
        self.assertEqual(check[:2], ["headroom", "health-check"], "no curl in slim images")
        self.assertEqual(check[2], f"http://127.0.0.1:{self.image_env['HEADROOM_PORT']}/readyz")
        self.assertEqual(int(self.image_env["HEADROOM_PORT"]), self.port)
        self.assertEqual(self.entry + self.cmd, ["headroom", "proxy"])
        self.assertTrue(Path(self.image_env["HEADROOM_COMPONENT"]).name == "headroom-core.wasm")
        ignored = (ROOT / ".dockerignore").read_text().split()
        self.assertIn("target", ignored)

    # ----- compose and the load balancer -----

    def compose(self):
        return yaml_docs(DEPLOY / "docker-compose.yml")[0]

    def headroom_services(self):
        return {n: s for n, s in self.compose()["services"].items() if s.get("image", "").startswith("headroom")}

    def test_compose_has_two_replicas_redis_and_a_balancer_checking_readyz(self):
        services = self.compose()["services"]
        replicas = self.headroom_services()
        self.assertEqual(len(replicas), 2, list(services))
        for name, s in replicas.items():
            env = s["environment"]
            self.assertTrue(env["HEADROOM_REDIS_URL"].startswith("redis://redis:"), name)
            budget = int(env["HEADROOM_SHUTDOWN_GRACE_SECS"]) + int(env.get("HEADROOM_SHUTDOWN_DELAY_SECS", 0))
            self.assertGreater(int(s["stop_grace_period"].rstrip("s")), budget, name)
            self.assertEqual(s["build"]["dockerfile"], "Dockerfile")
        self.assertTrue(services["redis"]["image"].startswith("redis:"))
        lb = services["lb"]
        cfg_mount = [v for v in lb["volumes"] if "haproxy.cfg" in v][0]
        cfg_path = (DEPLOY / cfg_mount.split(":")[0]).resolve()
        cfg = cfg_path.read_text()
        self.assertIn("option httpchk GET /readyz", cfg)
        servers = re.findall(r"^\s*server\s+(\S+)\s+(\S+):(\d+)", cfg, re.M)
        self.assertEqual({(h, int(p)) for _, h, p in servers}, {(n, self.port) for n in replicas})
        # Quiet streams are the proxy's to end (its idle bound is 600 s), not the balancer's.
        server_timeout = int(re.search(r"timeout server (\d+)s", cfg).group(1))
        self.assertGreater(server_timeout, int(proxy_default("stream-idle-timeout-secs")))
        haproxy = shutil.which("haproxy")
        if haproxy:
            r = subprocess.run([haproxy, "-c", "-f", str(cfg_path)], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        else:
            print("haproxy not installed: its config was checked by the parse above only", file=sys.stderr)

    # ----- Kubernetes -----

    def test_k8s_manifests(self):
        objs = k8s_objects()
        by_kind = {}
        for o in objs:
            self.assertIn("apiVersion", o)
            self.assertIn("name", o["metadata"])
            by_kind.setdefault(o["kind"], []).append(o)
        for kind in ("Deployment", "Service", "PodDisruptionBudget"):
            self.assertIn(kind, by_kind)
        dep = next(d for d in by_kind["Deployment"] if d["metadata"]["name"] == "headroom")
        spec = dep["spec"]
        labels = spec["template"]["metadata"]["labels"]
        self.assertGreaterEqual(spec["replicas"], 2)
        self.assertLessEqual(spec["selector"]["matchLabels"].items(), labels.items())
        container = spec["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        env = {e["name"]: e["value"] for e in container["env"]}
        self.assertEqual(ports["http"], self.port)
        self.assertEqual(int(env.get("HEADROOM_PORT", self.port)), self.port)
        self.assertEqual(env.get("HEADROOM_HOST", self.image_env["HEADROOM_HOST"]), "0.0.0.0")
        self.assertIn("HEADROOM_REDIS_URL", env)

        def probe_port(probe):
            port = probe["httpGet"]["port"]
            return ports[port] if isinstance(port, str) else port

        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez"), ("startupProbe", "/readyz")):
            with self.subTest(probe=probe):
                self.assertEqual(container[probe]["httpGet"]["path"], path)
                self.assertEqual(probe_port(container[probe]), self.port)
        res = container["resources"]
        self.assertIn("cpu", res["requests"])
        rss = measured_rss_mb()
        self.assertGreaterEqual(mebibytes(res["requests"]["memory"]), rss, "request below the measured RSS")
        self.assertGreaterEqual(mebibytes(res["limits"]["memory"]), 2 * rss)
        grace = int(env.get("HEADROOM_SHUTDOWN_GRACE_SECS", proxy_default("shutdown-grace-secs")))
        delay = int(env.get("HEADROOM_SHUTDOWN_DELAY_SECS", 0))
        self.assertGreater(spec["template"]["spec"]["terminationGracePeriodSeconds"], grace + delay)
        self.assertTrue(spec["template"]["spec"]["securityContext"]["runAsNonRoot"])
        svc = next(s for s in by_kind["Service"] if s["metadata"]["name"] == "headroom")
        self.assertLessEqual(svc["spec"]["selector"].items(), labels.items(), "the Service selects the pods")
        target = svc["spec"]["ports"][0]["targetPort"]
        self.assertEqual(ports[target] if isinstance(target, str) else target, self.port)
        for pdb in by_kind["PodDisruptionBudget"]:
            self.assertEqual(pdb["apiVersion"], "policy/v1")
            self.assertLessEqual(pdb["spec"]["selector"]["matchLabels"].items(), labels.items(),
                                 "the PDB selects the Deployment's pods")
            self.assertLess(pdb["spec"].get("minAvailable", 0), spec["replicas"], "a drain can proceed")
        kustomization = yaml_docs(DEPLOY / "k8s/kustomization.yaml")[0]
        listed = set(kustomization["resources"])
        on_disk = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
        self.assertEqual(listed, on_disk)

    # ----- systemd -----

    def test_systemd_unit(self):
        unit = systemd_unit()
        exec_start = shlex.split(unit[("Service", "ExecStart")][0])
        self.assertEqual(exec_start[1:], ["proxy"])
        env = dict(e.split("=", 1) for e in unit[("Service", "Environment")])
        grace = int(env["HEADROOM_SHUTDOWN_GRACE_SECS"])
        self.assertGreater(int(unit[("Service", "TimeoutStopSec")][0]), grace)
        self.assertEqual(unit[("Service", "KillSignal")], ["SIGTERM"])
        for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "DynamicUser"):
            self.assertIn(("Service", hardening), unit)
        # wasmtime maps compiled code executable: this would break it.
        self.assertNotIn(("Service", "MemoryDenyWriteExecute"), unit)
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            print("systemd-analyze not installed: the unit was checked by the parse above only", file=sys.stderr)
            return
        # Verified inside a root holding the binary where ExecStart says and the system's units.
        root = Path(tempfile.mkdtemp(prefix="headroom-unit-"))
        try:
            binary = root / exec_start[0].lstrip("/")
            binary.parent.mkdir(parents=True)
            shutil.copy(BINARY, binary)
            (root / "usr/lib/systemd").mkdir(parents=True, exist_ok=True)
            os.symlink("/usr/lib/systemd/system", root / "usr/lib/systemd/system")
            units = root / "etc/systemd/system"
            units.mkdir(parents=True)
            shutil.copy(DEPLOY / "headroom.service", units / "headroom.service")
            r = subprocess.run([analyze, "verify", f"--root={root}", str(units / "headroom.service")],
                               capture_output=True, text=True)
            complaints = [l for l in (r.stdout + r.stderr).splitlines() if "headroom" in l and "symlink" not in l]
            self.assertEqual((r.returncode, complaints), (0, []), r.stdout + r.stderr)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    # ----- the binary as each deployment starts it -----

    def run_as(self, name: str, args: list, env: dict, healthcheck: list | None = None):
        started = Started(name, args, env)
        try:
            ready = started.wait_ready()
            self.assertTrue(ready, f"{name}: never ready\n{started.stderr()}")
            self.assertEqual(get(started.url + "/livez"), 200)
            if healthcheck:
                check = [str(BINARY) if healthcheck[0] == "headroom" else healthcheck[0], *healthcheck[1:]]
                check = [a.replace(f":{self.image_env['HEADROOM_PORT']}/", f":{started.port}/") for a in check]
                r = subprocess.run(check, env=started.env, capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, f"HEALTHCHECK failed: {r.stderr}")
            code = started.stop()
            self.assertEqual(code, 0, f"{name}: exit {code} on SIGTERM")
        finally:
            started.close()

    def test_binary_starts_as_the_docker_image_runs_it(self):
        m = re.search(r"CMD\s+(\[.*\])", self.health)
        self.run_as("docker", (self.entry + self.cmd)[1:], self.image_env, exec_form(m.group(1)))

    def test_binary_starts_as_compose_runs_it(self):
        for name, s in self.headroom_services().items():
            with self.subTest(service=name):
                args = s.get("command") or (self.entry + self.cmd)[1:]
                self.run_as(name, args, {**self.image_env, **{k: str(v) for k, v in s["environment"].items()}})

    def test_binary_starts_as_kubernetes_runs_it(self):
        dep = next(o for o in k8s_objects() if o["kind"] == "Deployment" and o["metadata"]["name"] == "headroom")
        c = dep["spec"]["template"]["spec"]["containers"][0]
        args = (c.get("command") or self.entry)[1:] + (c.get("args") or self.cmd)
        self.run_as("k8s", args, {**self.image_env, **{e["name"]: e["value"] for e in c["env"]}})

    def test_binary_starts_as_systemd_runs_it(self):
        unit = systemd_unit()
        exec_start = shlex.split(unit[("Service", "ExecStart")][0])
        env = dict(e.split("=", 1) for e in unit[("Service", "Environment")])
        self.run_as("systemd", exec_start[1:], env)


if __name__ == "__main__":
    unittest.main(verbosity=2)
