"""S3 API on the proxy port: SigV4/SigV2 auth, buckets as Swift containers, multipart as SLO.

``proxy.s3.app.S3App(state)`` is the ASGI app the proxy's router mounts; ``handle_s3(request, state)``
answers one Starlette request.
"""
