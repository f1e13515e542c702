"""Thin Keystone v3 identity service (not yet implemented; see issue 5)."""
