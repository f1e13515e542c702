"""The known-failures and known-skips lists, and the strict comparison of a run against them.

List format (``known_failures.txt``, ``known_skips.txt``): a ``## <reason>`` line starts a group, every
following non-blank line that is not a ``#`` comment is a pytest test id that fails (or skips) for that
reason. Each test id appears once, in one list.

The comparison is strict both ways, so the lists can only shrink: a failure or a skip that is not listed
fails the gate, and so does a listed test that no longer fails (or skips), or that the suite no longer has.
One exception: a known failure whose reason starts with ``flaky:`` (a race in StackStore, named in the
reason) may also pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Outcomes = dict[str, dict[str, Any]]  # test id -> {"outcome": passed|failed|skipped, "message": str}
FLAKY = "flaky:"  # reason prefix of a known failure that may also pass


class ListFormatError(ValueError):
    """A list file that cannot be read as groups of test ids under reasons."""


def parse_list(path: Path) -> dict[str, str]:
    """Test id -> reason for one list file (see the module docstring for the format)."""
    entries: dict[str, str] = {}
    reason: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("## "):
            reason = line[3:].strip()
            if not reason:
                raise ListFormatError(f"{path}:{number}: a '## ' group needs a reason")
        elif not line or line.startswith("#"):
            continue
        elif reason is None:
            raise ListFormatError(f"{path}:{number}: {line} comes before any '## <reason>' line")
        elif "::" not in line or " " in line:
            raise ListFormatError(f"{path}:{number}: not a pytest test id: {line!r}")
        elif line in entries:
            raise ListFormatError(f"{path}:{number}: {line} is listed twice")
        else:
            entries[line] = reason
    return entries


@dataclass
class Verdict:
    """What a run did against the lists: counts, and every difference that fails the gate."""

    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def compare(outcomes: Outcomes, known_failures: dict[str, str], known_skips: dict[str, str]) -> Verdict:
    """Check a run's outcomes against both lists; every difference becomes one problem line."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    problems: list[str] = []
    for test_id in sorted(set(known_failures) & set(known_skips)):
        problems.append(f"listed in both known_failures.txt and known_skips.txt: {test_id}")
    for test_id, result in sorted(outcomes.items()):
        outcome, message = result["outcome"], result.get("message", "")
        counts[outcome if outcome in counts else "failed"] += 1
        if outcome == "passed":
            if test_id in known_failures and not known_failures[test_id].startswith(FLAKY):
                problems.append(f"now passes, remove it from known_failures.txt: {test_id}")
            if test_id in known_skips:
                problems.append(f"now runs and passes, remove it from known_skips.txt: {test_id}")
        elif outcome == "skipped":
            if test_id in known_failures:
                problems.append(f"listed as failing but skipped ({message}): {test_id}")
            elif test_id not in known_skips:
                problems.append(f"unlisted skip ({message}): {test_id}")
        else:
            if test_id in known_skips:
                problems.append(f"listed as skipped but now runs, remove it from known_skips.txt: {test_id}")
            if test_id not in known_failures:
                problems.append(f"new failure ({message}): {test_id}")
    for name, listed in (("known_failures.txt", known_failures), ("known_skips.txt", known_skips)):
        for test_id in sorted(set(listed) - set(outcomes)):
            problems.append(f"not in the suite's results, remove it from {name}: {test_id}")
    return Verdict(counts, problems)
