"""S3 API on the proxy port: SigV4/SigV2 auth, buckets as Swift containers, multipart as SLO."""
