"""S3 ACLs, ownership controls and public access block: model, storage, evaluation, handlers."""

from proxy.s3.acl.evaluate import acl_allows

__all__ = ["acl_allows"]
