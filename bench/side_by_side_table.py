"""The markdown table of a ``bench/side_by_side.sh`` run: ``python3 bench/side_by_side_table.py OUT`` reads the four
``run-baseline.sh`` tables (real Swift and StackStore, each through the Swift API and S3) and prints one row per
workload with both servers' rates (medians of the repeats) and their ratio (ops/s for 4 KiB and DELETEs, MB/s
for larger objects)."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path


def _rows(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(size, phase) -> (ops/s, MB/s) of one run-baseline.sh table: the medians when it ran each workload
    more than once (REPEAT=3)."""
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 7 or cells[0] in ("api", "---"):
            continue
        runs.setdefault((cells[1], cells[4]), []).append((float(cells[5]), float(cells[6])))
    return {key: (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
            for key, values in runs.items()}


def _by_ops(size: str, phase: str) -> bool:
    """Whether a row compares operations per second (small objects, every DELETE) rather than MB/s."""
    return size.endswith("KiB") or phase == "DELETE"


def _rate(by_ops: bool, value: tuple[float, float]) -> str:
    return f"{value[0]:,.0f}/s" if by_ops else f"{value[1]:,.0f} MB/s"


def main(out: Path) -> None:
    runs = {name: _rows(out / f"{name}.md") for name in ("swift-swift", "ss-swift", "swift-s3", "ss-s3")}
    print("| workload | Swift (Swift API) | StackStore (Swift API) | ratio | Swift (S3) | StackStore (S3) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for key in runs["swift-swift"]:
        size, phase = key
        cells = [f"{size.replace('KiB', ' KiB').replace('MiB', ' MiB')} {phase}"]
        for ref, ours in (("swift-swift", "ss-swift"), ("swift-s3", "ss-s3")):
            a, b = runs[ref].get(key), runs[ours].get(key)
            if a is None or b is None:
                cells += ["-", "-", "-"]
                continue
            by_ops = _by_ops(size, phase)
            i = 0 if by_ops else 1
            ratio = b[i] / a[i] if a[i] else float("nan")
            cells += [_rate(by_ops, a), _rate(by_ops, b), f"{ratio:.2f}×"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
