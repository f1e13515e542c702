"""HTTP API of the image service (Glance v2 subset)."""
