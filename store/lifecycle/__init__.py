"""S3 lifecycle rules executed by the storage nodes: ``runner`` (which buckets this node runs, stats)
and ``bucket`` (one bucket's pass: expiring objects, aborting stale multipart uploads)."""
