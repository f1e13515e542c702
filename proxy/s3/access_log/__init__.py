"""S3 server access logging (PutBucketLogging): configuration, log records and their delivery.

``config`` parses and stores a bucket's ``BucketLoggingStatus``; ``handlers`` answers Get/PutBucketLogging;
``record`` formats one request in AWS's server access log format; ``delivery`` batches records per target
and writes them as objects into the target bucket; ``stage`` is the per-request hook ``proxy.s3.app`` calls.
docs/bucket-logging.md.
"""
