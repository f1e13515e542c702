"""Pieces the compute and image services share: token checks, database engines, service URLs, serving."""
