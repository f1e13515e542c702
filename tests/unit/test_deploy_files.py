"""The Dockerfile and the systemd units stay in step with the code: every package is in the image, every
unit runs a command `stackstore` has, the image's entry point is the `stackstore` command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from stackstore import cli

ROOT = Path(__file__).resolve().parents[2]


def _packages() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.rstrip("*") for pattern in include}


def test_the_image_holds_every_package_of_the_distribution() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) /src/\1$", dockerfile, re.MULTILINE))
    assert _packages() <= copied, _packages() - copied
    assert all((ROOT / name / "__init__.py").exists() for name in copied)
    assert re.search(r'^ENTRYPOINT \["/opt/stackstore/bin/stackstore"\]$', dockerfile, re.MULTILINE)
    assert "pip install /src" in dockerfile


def test_every_unit_runs_a_stackstore_service_command() -> None:
    services = {"node", "proxy", *cli.API_PACKAGES}
    units = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
    assert {u.name for u in units} == {"stackstore-node.service", "stackstore-proxy.service", "stackstore@.service"}
    for unit in units:
        (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.MULTILINE)
        binary, command, *rest = exec_start.split()
        assert binary == "/opt/stackstore/bin/stackstore", unit
        assert rest == ["--config", "/etc/stackstore/stackstore.toml"], unit
        assert command in services or (command == "%i" and unit.name == "stackstore@.service"), unit
