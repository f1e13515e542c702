"""The Keystone v3 HTTP API, one module per resource family."""
