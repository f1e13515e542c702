"""Thin Glance v2 image service: image records in SQL, image bytes as objects in the object store."""
