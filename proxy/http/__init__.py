"""HTTP helpers shared by the Swift and S3 APIs: ranges, errors, request ids, middleware."""
