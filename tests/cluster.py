"""Kept for the tests and benches that import it from here: the harness lives in tests/harness.py."""

from tests.harness import Cluster, free_port_block

__all__ = ["Cluster", "free_port_block"]
