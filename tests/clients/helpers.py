"""Helpers for driving real command-line clients against the test cloud."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
from pathlib import Path


def run(argv: list[str], env: dict[str, str] | None = None, check: bool = True,
        timeout: float = 300, text: bool = True) -> subprocess.CompletedProcess:
    """Run a client command, failing the test with its output when it fails."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_", "AWS_CA_BUNDLE"))}
    full_env.update(env or {})
    proc = subprocess.run(argv, env=full_env, capture_output=True, text=text, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def make_tree(root: Path, files: int, seed: int = 1, max_size: int = 300_000,
              big: dict[str, int] | None = None) -> dict[str, str]:
    """Write `files` mixed-size files in nested dirs (plus `big` named sizes); return {relpath: md5}."""
    rnd = random.Random(seed)
    sums: dict[str, str] = {}
    sizes = [0, 1, 17, 4096, 65537] + [rnd.randrange(max_size) for _ in range(files)]
    for i, size in enumerate(sizes[:files]):
        rel = f"d{i % 7}/sub{i % 3}/file-{i:04d}.bin" if i % 4 else f"top-{i:04d}.txt"
        sums[rel] = _write(root / rel, size, rnd)
    for rel, size in (big or {}).items():
        sums[rel] = _write(root / rel, size, rnd)
    return sums


def _write(path: Path, size: int, rnd: random.Random) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    md5 = hashlib.md5()
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = rnd.randbytes(min(left, 1 << 20))
            fh.write(chunk)
            md5.update(chunk)
            left -= len(chunk)
    return md5.hexdigest()


def tree_md5s(root: Path) -> dict[str, str]:
    """{relpath: md5} of every file below root."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            out[str(path.relative_to(root))] = hashlib.md5(path.read_bytes()).hexdigest()
    return out
