"""pytest plugin: one outcome per test id, written as JSON for the conformance gate to compare.

Loaded into Swift's functional suite with ``-p outcomes`` (this directory on ``PYTHONPATH``) and
``--outcomes-file PATH``. A test is ``failed`` when any of its phases (setup, call, teardown, a subtest)
failed, ``skipped`` when it skipped (in setup or call) without failing, else ``passed``. The message is the
skip reason or the first line of the failure, enough to tell a known cause from a new one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

MESSAGE_LIMIT = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--outcomes-file``: where the JSON map of test id to outcome goes."""
    parser.addoption("--outcomes-file", default=None, help="write {test id: {outcome, message}} as JSON here")


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line[:MESSAGE_LIMIT]


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return _first_line(str(longrepr[2]).removeprefix("Skipped: "))
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return _first_line(crash.message)
    return _first_line(str(longrepr or ""))


class OutcomeRecorder:
    """Folds every phase report of a test into one outcome; writes them all at the session's end."""

    def __init__(self, path: Path):
        self.path = path
        self.outcomes: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.outcomes.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
        if report.failed:
            if entry["outcome"] != "failed":  # the first failure tells the cause
                entry.update(outcome="failed", message=f"{report.when}: {_message(report)}")
        elif report.skipped and entry["outcome"] == "passed":
            entry.update(outcome="skipped", message=_message(report))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.outcomes, indent=1, sort_keys=True) + "\n")
        tmp.replace(self.path)


def pytest_configure(config: pytest.Config) -> None:
    """Register the recorder when ``--outcomes-file`` is given."""
    path = config.getoption("--outcomes-file")
    if path:
        config.pluginmanager.register(OutcomeRecorder(Path(path)), "conformance-outcome-recorder")
