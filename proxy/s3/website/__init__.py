"""S3 static website hosting: the bucket's website configuration (``config``), Put/Get/DeleteBucketWebsite
(``handlers``) and the website endpoint serving buckets on ``<bucket>.<[s3] website_domain>`` (``endpoint``,
its HTML error pages in ``pages``)."""
