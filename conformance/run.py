#!/usr/bin/env python3
"""`make conformance`: Swift's own functional test suite against a fresh `stackstore up`, as a gate.

1. Installs, once, the pinned Swift source distribution (its ``test/functional`` is the suite) and the
   suite's pinned requirements into ``.conformance-venv`` (reinstalled when this file's pins or
   ``requirements.txt`` change).
2. Starts ``stackstore up`` on free loopback ports with the TempAuth users the suite expects, in a fresh
   ``.conformance-run/`` (the cloud's data and logs, ``test.conf``, ``pytest.log`` and ``outcomes.json``
   stay there for reading after the run).
3. Writes the ``test.conf`` the suite reads and runs the whole suite with pytest, one test at a time.
4. Stops the cloud and compares every test's outcome with ``known_failures.txt`` and ``known_skips.txt``
   (``expectations.py``): any difference, either way, fails the run.

``conformance/run.py [pytest selectors...]`` runs part of the suite (e.g. ``test/functional/test_slo.py``
or ``-k TestTempurl``); listed tests that did not run are then not reported. Exit status: 0 when the run
matches the lists, 1 when it does not, 2 when the run itself could not be done.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from expectations import ListFormatError, Outcomes, compare, parse_list  # noqa: E402

ROOT = HERE.parent
VENV = ROOT / ".conformance-venv"
RUN_DIR = ROOT / ".conformance-run"
REQUIREMENTS = HERE / "requirements.txt"
KNOWN_FAILURES = HERE / "known_failures.txt"
KNOWN_SKIPS = HERE / "known_skips.txt"

SWIFT_VERSION = "2.38.3"
SWIFT_SDIST_SHA256 = "561b2f8acc5ce834a0a2bac200e8ccd8784cb5c4a9e3731881d2e66dec4b6006"
SWIFT_SRC = VENV / "src" / f"swift-{SWIFT_VERSION}"

STORAGE_NODES = 4
PORT_RANGE = (30000, 32500)  # below the ephemeral range; above the slices the project's tests use
STARTUP_TIMEOUT = 120.0  # seconds for `stackstore up` to report every service healthy
SUITE_TIMEOUT = 1500.0  # seconds for the whole suite; a hung test must not hang CI
REGION = "us-east-1"
STORAGE_DOMAIN = "example.net"  # for domain_remap's tests (Swift's own in-process value)

# TempAuth users as Swift's functional suite expects them (etc/proxy-server.conf-sample and its in-process
# setup): tester and tester2 own AUTH_test, tester3 only gets what ACLs grant, test2:tester2 owns
# AUTH_test2, test5:tester5 is the service user (group "service", no account of its own to manage), and
# admin:admin is the reseller admin. They go in this run's configuration only.
TEMPAUTH_USERS = {
    "admin:admin": ("admin", [".admin", ".reseller_admin"]),
    "test:tester": ("testing", [".admin"]),
    "test:tester2": ("testing2", [".admin"]),
    "test:tester3": ("testing3", []),
    "test2:tester2": ("testing2", [".admin"]),
    "test5:tester5": ("testing5", ["service"]),
}


class RunError(RuntimeError):
    """The run itself could not be done (install, cloud start, suite crash): exit status 2."""


def log(message: str) -> None:
    print(f"conformance: {message}", flush=True)


# --- the suite's virtualenv -------------------------------------------------------------------------------

def _install_stamp() -> str:
    pins = REQUIREMENTS.read_bytes() + f"swift=={SWIFT_VERSION} {SWIFT_SDIST_SHA256}".encode()
    return hashlib.sha256(pins).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip(*args: str) -> None:
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "--require-virtualenv", "-q", *args],
                   check=True)


def ensure_suite_venv() -> None:
    """Create ``.conformance-venv`` with Swift's sdist (unpacked and installed) and the pinned test tools."""
    stamp = VENV / ".installed"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(ROOT / ".conformance-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text().strip() == _install_stamp() and SWIFT_SRC.is_dir():
            return
        log(f"installing Swift {SWIFT_VERSION}'s functional suite and its requirements into {VENV.name}")
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        downloads = VENV / "src"
        _pip("download", "--no-deps", "--no-binary", ":all:", "-d", str(downloads), f"swift=={SWIFT_VERSION}")
        sdist = downloads / f"swift-{SWIFT_VERSION}.tar.gz"
        if _sha256(sdist) != SWIFT_SDIST_SHA256:
            raise RunError(f"{sdist.name} does not have the pinned sha256 {SWIFT_SDIST_SHA256}")
        with tarfile.open(sdist) as tar:
            tar.extractall(downloads, filter="data")
        _pip("install", "-r", str(REQUIREMENTS), str(sdist))
        stamp.write_text(_install_stamp() + "\n")


# --- the cloud -----------------------------------------------------------------------------------------------

def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int) -> int:
    """A base port such that base+1 .. base+count are free right now."""
    low, high = PORT_RANGE
    for _ in range(200):
        base = random.randrange(low, high - count)
        if all(_port_free(base + i) for i in range(1, count + 1)):
            return base
    raise RunError(f"no {count} consecutive free ports in {low}..{high}")


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string for these values


def cloud_config(base_port: int) -> str:
    """The run's ``stackstore.toml``: object store only, on ports base+1.. (nodes) and base+5 (proxy)."""
    users = "\n".join(f"{_toml_string(user)} = {{ key = {_toml_string(key)}, groups = {json.dumps(groups)} }}"
                      for user, (key, groups) in TEMPAUTH_USERS.items())
    return f"""# Written by conformance/run.py for one run of Swift's functional suite.
[cluster]
data_dir = "data"
nodes = {STORAGE_NODES}
zones = {STORAGE_NODES}
part_power = 8

[store]
base_port = {base_port}

[proxy]
port = {base_port + STORAGE_NODES + 1}
tls_port = 0
region = "{REGION}"
storage_domain = "{STORAGE_DOMAIN}"
allow_open_expired = true  # as Swift's in-process functional setup (test/functional/__init__.py)

[tempauth]
reseller_prefix = "AUTH_, SERVICE_"
SERVICE_require_group = "service"  # SERVICE_ accounts: a user token plus a service token (X-Service-Token)

[tempauth.users]
{users}

# The suite only talks to the object store (Swift and S3 APIs on the proxy).
[identity]
enabled = false

[volumes]
enabled = false

[compute]
enabled = false

[images]
enabled = false
"""


class Cloud:
    """One ``stackstore up`` process (its own process group) with its configuration and log in run_dir."""

    def __init__(self, stackstore: Path, run_dir: Path):
        self.stackstore = stackstore
        self.run_dir = run_dir
        self.base_port = free_port_block(STORAGE_NODES + 1)
        self.proxy_url = f"http://127.0.0.1:{self.base_port + STORAGE_NODES + 1}"
        self.config_path = run_dir / "stackstore.toml"
        self.log_path = run_dir / "stackstore-up.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Run ``stackstore up`` and wait for its line saying every service answers."""
        self.config_path.write_text(cloud_config(self.base_port))
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen([str(self.stackstore), "up", "--config", str(self.config_path)],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.run_dir, start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while "stackstore up:" not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None:
                raise RunError(f"stackstore up exited ({self.proc.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RunError(f"stackstore up not ready after {STARTUP_TIMEOUT:.0f}s:\n{self.log_tail()}")
            time.sleep(0.2)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (the launcher stops its services), then SIGKILL whatever is left of its process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def start_cloud(stackstore: Path, run_dir: Path, attempts: int = 3) -> Cloud:
    """A running cloud; on free ports chosen again when a start fails (another process took a port)."""
    for attempt in range(1, attempts + 1):
        shutil.rmtree(run_dir / "data", ignore_errors=True)
        cloud = Cloud(stackstore, run_dir)
        try:
            cloud.start()
            return cloud
        except RunError:
            cloud.stop()
            if attempt == attempts:
                raise
            log(f"stackstore up did not start on ports {cloud.base_port + 1}..; trying other ports")
    raise AssertionError("unreachable")


# --- the suite -----------------------------------------------------------------------------------------------

def test_conf(proxy_url: str) -> str:
    """The suite's ``test.conf`` (Swift's ``test/sample.conf`` keys) for TempAuth users on proxy_url."""
    return f"""# Written by conformance/run.py: Swift's functional suite against stackstore up.
[func_test]
auth_uri = {proxy_url}/auth/v1.0
s3_storage_url = {proxy_url}/
s3_region = {REGION}

# primary account; tester and tester2 own it, tester3 has no rights of its own
account = test
username = tester
password = testing
s3_access_key = test:tester
s3_secret_key = testing
s3_access_key2 = test:tester2
s3_secret_key2 = testing2
username3 = tester3
password3 = testing3
s3_access_key3 = test:tester3
s3_secret_key3 = testing3

# a second account
account2 = test2
username2 = tester2
password2 = testing2

# service tokens: the service user and the second reseller prefix
account5 = test5
username5 = tester5
password5 = testing5
service_prefix = SERVICE

# the reseller admin
account6 = admin
username6 = admin
password6 = admin

collate = C
insecure = no
storage_domain = {STORAGE_DOMAIN}
"""


def run_suite(run_dir: Path, proxy_url: str, selectors: list[str]) -> Outcomes:
    """Run the suite (or the selected part) one test at a time; the outcome of every test that ran."""
    conf = run_dir / "test.conf"
    conf.write_text(test_conf(proxy_url))
    outcomes_path = run_dir / "outcomes.json"
    env = dict(os.environ, SWIFT_TEST_CONFIG_FILE=str(conf), SWIFT_TEST_IN_PROCESS="no",
               PYTHONPATH=str(HERE), PYTHONDONTWRITEBYTECODE="1")
    for name in ("AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "ST_AUTH",
                 "ST_USER", "ST_KEY", "OS_AUTH_URL"):
        env.pop(name, None)
    command = [str(VENV / "bin" / "python"), "-m", "pytest",
               "-o", "addopts=", "-o", "python_files=test_*.py tests.py",  # upstream runs tests.py too
               "-p", "outcomes", "--outcomes-file", str(outcomes_path), "-p", "no:cacheprovider",
               "-q", "--tb=short", "-rfE", *(selectors or ["test/functional"])]
    log_path = run_dir / "pytest.log"
    with log_path.open("wb") as out:
        try:
            proc = subprocess.run(command, cwd=SWIFT_SRC, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise RunError(f"the suite did not finish in {SUITE_TIMEOUT:.0f}s (see {log_path})") from exc
    if proc.returncode not in (0, 1) or not outcomes_path.exists():  # 1: some tests failed
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise RunError(f"pytest exited {proc.returncode} (see {log_path}):\n{tail}")
    return json.loads(outcomes_path.read_text())


# --- report ---------------------------------------------------------------------------------------------------

def write_suggestions(path: Path, outcomes: Outcomes, known_failures: dict[str, str],
                      known_skips: dict[str, str]) -> bool:
    """Unlisted failures and skips grouped by message, in the lists' format, ready to edit and paste."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for test_id, result in sorted(outcomes.items()):
        outcome = result["outcome"]
        if outcome == "skipped" and test_id not in known_skips:
            groups[("known_skips.txt", result["message"])].append(test_id)
        elif outcome not in ("passed", "skipped") and test_id not in known_failures:
            groups[("known_failures.txt", result["message"])].append(test_id)
    if not groups:
        return False
    lines = ["# Unlisted outcomes of the last run, grouped by message: write a short reason for each group",
             "# and move them into the named list.", ""]
    for (target, message), ids in sorted(groups.items()):
        lines += [f"# -> {target}", f"## {message}", *ids, ""]
    path.write_text("\n".join(lines))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stackstore", type=Path, default=Path(sys.executable).parent / "stackstore",
                        help="the stackstore command (default: the one beside this Python)")
    parser.add_argument("selectors", nargs="*", help="pytest selectors (default: all of test/functional)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        known_failures, known_skips = parse_list(KNOWN_FAILURES), parse_list(KNOWN_SKIPS)
        if not args.stackstore.exists():
            raise RunError(f"{args.stackstore} not found (run `make install` first)")
        ensure_suite_venv()
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        RUN_DIR.mkdir()
        cloud = start_cloud(args.stackstore.resolve(), RUN_DIR)
        try:
            log(f"stackstore up on {cloud.proxy_url}; running Swift {SWIFT_VERSION}'s functional suite")
            outcomes = run_suite(RUN_DIR, cloud.proxy_url, args.selectors)
            if not cloud.running:
                raise RunError(f"stackstore up died during the suite:\n{cloud.log_tail()}")
        finally:
            cloud.stop()
    except (RunError, ListFormatError, subprocess.CalledProcessError) as exc:
        log(f"could not run: {exc}")
        return 2
    if args.selectors:  # a partial run: only the tests that ran are held against the lists
        known_failures = {t: r for t, r in known_failures.items() if t in outcomes}
        known_skips = {t: r for t, r in known_skips.items() if t in outcomes}
    verdict = compare(outcomes, known_failures, known_skips)
    counts = verdict.counts
    elapsed = time.monotonic() - started
    log(f"{counts['passed']} tests passed, {counts['failed']} failed, {counts['skipped']} skipped "
        f"of {len(outcomes)} in {elapsed:.0f}s (pytest output: {RUN_DIR.name}/pytest.log)")
    if verdict.ok:
        log(f"gate passed: every failure is in {KNOWN_FAILURES.name}, every skip in {KNOWN_SKIPS.name}")
        return 0
    for problem in verdict.problems:
        print(f"  {problem}", flush=True)
    suggestions = RUN_DIR / "suggested_list_entries.txt"
    if write_suggestions(suggestions, outcomes, known_failures, known_skips):
        log(f"unlisted outcomes grouped by message: {suggestions.relative_to(ROOT)}")
    log(f"gate FAILED: {len(verdict.problems)} difference(s) from conformance/known_*.txt")
    return 1


if __name__ == "__main__":
    sys.exit(main())
