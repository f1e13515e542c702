"""The packages import only downwards (docs/layout.md, "Layers"): a module that reaches up or sideways
fails here, whether the import sits at the top of the file or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> the project packages it may import (besides itself); identity's client side (token checks,
# the S3 credentials' service user) is what the proxy and the API services use of it
MAY_IMPORT: dict[str, set[str]] = {
    "ring": set(),
    "stackstore": {"ring"},
    "objclient": {"ring", "stackstore"},
    "store": {"ring", "stackstore", "objclient"},
    "proxy": {"ring", "stackstore", "objclient", "identity.tokens", "identity.validator", "identity.service_user"},
    "identity": {"stackstore"},
    "apiservice": {"stackstore", "identity.tokens", "identity.validator"},
    "volumes": {"ring", "stackstore", "objclient", "apiservice", "identity.tokens", "identity.validator"},
    "compute_shim": {"stackstore", "objclient", "apiservice", "identity.tokens", "identity.validator"},
    "images": {"stackstore", "objclient", "apiservice", "identity.tokens", "identity.validator"},
}
# the `stackstore` command dispatches to every layer's commands (imported when that command runs)
ENTRY_POINTS = {"stackstore/cli.py"}


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _allowed(module: str, allowed: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_only_go_down(package):
    ours = set(MAY_IMPORT)
    offenders: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel in ENTRY_POINTS:
            continue
        bad = sorted(m for m in _imported_modules(path)
                     if m.split(".")[0] in ours and m.split(".")[0] != package
                     and not _allowed(m, MAY_IMPORT[package]))
        if bad:
            offenders[rel] = bad
    assert offenders == {}
