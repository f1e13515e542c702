"""S3 API on the proxy port: SigV4/SigV2 auth, buckets as Swift containers, multipart as SLO.

``proxy.s3.app.handle_s3(request, state)`` answers one Starlette request; the module
``proxy.s3.app`` is also callable as ``proxy.s3.app(state)`` → ASGI app, the hook proxy/router.py uses.
"""

from proxy.s3 import app  # noqa: F401  (loaded so ``proxy.s3.app`` is available to the router)
