"""Thin Cinder v3 block volume service (not yet implemented; see issue 6)."""
