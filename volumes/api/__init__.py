"""The Cinder v3 HTTP API: one module per resource family, routed by :mod:`volumes.api.app`."""
