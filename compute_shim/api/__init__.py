"""HTTP API of the compute service (Nova v2.1 subset)."""
