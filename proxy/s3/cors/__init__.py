"""S3 CORS: the bucket's CORS configuration (``config``), its handlers and the answers to browsers
(``responses``: preflight OPTIONS and the headers of actual requests)."""
