"""Thin Nova compute service (not yet implemented; see issue 7)."""
