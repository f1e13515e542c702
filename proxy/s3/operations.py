"""The S3 operation table: every operation AWS defines for the service, buckets and objects, named once.

Each ``Operation`` says how a request is recognised (method, level, sub-resource query key, further
query parameter or header), which handler answers it (``None``: S3's ``NotImplemented`` 501, answered by
the router from this table) and which IAM actions it needs (the names ACLs and bucket policies use, as
in AWS's "Actions, resources, and condition keys for Amazon S3").

Recognition, like Garage's ``Endpoint`` (``src/api/s3/router.rs``): the level comes from the addressing
(no bucket → service, no key → bucket, else object); the *sub-resource* is the first query key of the
level's precedence list present in the request (``?acl``, ``?uploads``, ``?uploadId``...; none → the
plain resource); among the operations of that sub-resource the first whose method and conditions hold
wins (so ``UploadPartCopy`` before ``UploadPart``, ``ListObjectsV2`` before ``ListObjects``). Other query
parameters (``versionId``, ``partNumber``, ``prefix``...) are arguments, never selectors. No operation →
``MethodNotAllowed`` 405.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from starlette.responses import Response

from proxy.s3 import (
    attributes,
    bucket,
    bucket_encryption,
    copy,
    delete_objects,
    listing,
    multipart,
    object_lock,
    objects,
    service,
    subresources,
    tagging,
    versioning,
)
from proxy.s3.access_log import handlers as bucket_logging
from proxy.s3.acl import handlers as acl_handlers
from proxy.s3.context import S3Request
from proxy.s3.cors import handlers as cors_handlers
from proxy.s3.errors import S3Error
from proxy.s3.lifecycle import handlers as lifecycle
from proxy.s3.policy import handlers as policy_handlers
from proxy.s3.website import handlers as website_handlers

Handler = Callable[[S3Request], Awaitable[Response]]

SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
READS = ("GET", "HEAD")
COPY_SOURCE_HEADER = "x-amz-copy-source"


class Target(Enum):
    """What an action is checked against."""

    ACCOUNT = "account"  # the caller's account (ListBuckets)
    BUCKET = "bucket"
    OBJECT = "object"  # the addressed key
    EACH_KEY = "each key"  # every key the request body names (DeleteObjects)
    COPY_SOURCE = "copy source"  # the object ``x-amz-copy-source`` names


@dataclass(frozen=True)
class Action:
    """One IAM action an operation needs, on what."""

    name: str  # "s3:GetObject"
    target: Target
    version_name: str | None = None  # the action when the request names a version (``?versionId``)

    @property
    def writes(self) -> bool:
        """Anything but ``s3:Get…``/``s3:List…`` changes state."""
        verb = self.name.partition(":")[2]
        return not verb.startswith(("Get", "List"))

    def name_for(self, query: Mapping[str, str]) -> str:
        """The action's name for a request with this query (versioned variant for ``?versionId``)."""
        if self.version_name and self.target is Target.OBJECT and "versionId" in query:
            return self.version_name
        return self.name


@dataclass(frozen=True)
class Operation:
    """An S3 operation: how it is recognised, its handler and the actions it needs."""

    name: str
    level: str  # SERVICE, BUCKET or OBJECT
    methods: tuple[str, ...]
    subresource: str | None  # the selecting query key; None: the plain resource
    actions: tuple[Action, ...]
    handler: Handler | None = None  # None: not implemented (501)
    param: str | None = None  # a further query parameter that must be present...
    param_value: str | None = None  # ...with this value (when given)
    header: str | None = None  # a request header that must be present and non-empty

    @property
    def implemented(self) -> bool:
        return self.handler is not None

    def accepts(self, method: str, query: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        """Method and the extra conditions hold (the level and sub-resource are already known)."""
        if method not in self.methods:
            return False
        if self.param is not None:
            if self.param not in query:
                return False
            if self.param_value is not None and query[self.param] != self.param_value:
                return False
        return self.header is None or bool(headers.get(self.header))


def _op(name: str, level: str, methods: str | tuple[str, ...], sub: str | None, *actions: Action,
        handler: Handler | None = None, param: str | None = None, param_value: str | None = None,
        header: str | None = None) -> Operation:
    methods = (methods,) if isinstance(methods, str) else methods
    return Operation(name, level, methods, sub, actions, handler, param, param_value, header)


def _on_bucket(name: str) -> Action:
    return Action(name, Target.BUCKET)


def _on_object(name: str, version_name: str | None = None) -> Action:
    return Action(name, Target.OBJECT, version_name)


def _bucket_config(sub: str, noun: str, get_action: str, put_action: str, delete_action: str | None,
                   get: Handler | None, delete: Handler | None = None,
                   get_name: str | None = None, put_name: str | None = None,
                   delete_name: str | None = None, put: Handler | None = None) -> list[Operation]:
    """Get/Put[/Delete]Bucket<noun> on ``?sub`` (GET answers HEAD too, as clients probe with either)."""
    ops = [_op(get_name or f"GetBucket{noun}", BUCKET, READS, sub, _on_bucket(get_action), handler=get),
           _op(put_name or f"PutBucket{noun}", BUCKET, "PUT", sub, _on_bucket(put_action), handler=put)]
    if delete_action is not None:
        ops.append(_op(delete_name or f"DeleteBucket{noun}", BUCKET, "DELETE", sub, _on_bucket(delete_action),
                       handler=delete))
    return ops


def _bucket_configs_by_id(sub: str, noun: str, get_action: str, put_action: str) -> list[Operation]:
    """``?analytics``-style configurations: one by ``id``, or the list of them (none implemented)."""
    return [_op(f"GetBucket{noun}Configuration", BUCKET, READS, sub, _on_bucket(get_action), param="id"),
            _op(f"ListBucket{noun}Configurations", BUCKET, READS, sub, _on_bucket(get_action)),
            _op(f"PutBucket{noun}Configuration", BUCKET, "PUT", sub, _on_bucket(put_action)),
            _op(f"DeleteBucket{noun}Configuration", BUCKET, "DELETE", sub, _on_bucket(put_action))]


_none = subresources.none_configured
_empty = subresources.empty_document
_deleted = subresources.nothing_to_delete

SERVICE_OPERATIONS: tuple[Operation, ...] = (
    _op("ListBuckets", SERVICE, READS, None, Action("s3:ListAllMyBuckets", Target.ACCOUNT),
        handler=service.list_buckets),
)

# in sub-resource precedence order (the first sub-resource key present selects)
BUCKET_OPERATIONS: tuple[Operation, ...] = (
    *_bucket_config("versioning", "Versioning", "s3:GetBucketVersioning", "s3:PutBucketVersioning", None,
                    versioning.get_bucket_versioning, put=versioning.put_bucket_versioning),
    *_bucket_config("logging", "Logging", "s3:GetBucketLogging", "s3:PutBucketLogging", None,
                    bucket_logging.get_bucket_logging, put=bucket_logging.put_bucket_logging),
    *_bucket_config("notification", "NotificationConfiguration", "s3:GetBucketNotification",
                    "s3:PutBucketNotification", None, _empty("NotificationConfiguration")),
    *_bucket_config("accelerate", "AccelerateConfiguration", "s3:GetAccelerateConfiguration",
                    "s3:PutAccelerateConfiguration", None, _empty("AccelerateConfiguration")),
    *_bucket_config("requestPayment", "RequestPayment", "s3:GetBucketRequestPayment",
                    "s3:PutBucketRequestPayment", None,
                    _empty("RequestPaymentConfiguration", Payer="BucketOwner")),
    *_bucket_config("lifecycle", "LifecycleConfiguration", "s3:GetLifecycleConfiguration",
                    "s3:PutLifecycleConfiguration", "s3:PutLifecycleConfiguration",
                    lifecycle.get_lifecycle, lifecycle.delete_lifecycle, delete_name="DeleteBucketLifecycle",
                    put=lifecycle.put_lifecycle),
    *_bucket_config("ownershipControls", "OwnershipControls", "s3:GetBucketOwnershipControls",
                    "s3:PutBucketOwnershipControls", "s3:PutBucketOwnershipControls",
                    acl_handlers.get_ownership_controls, acl_handlers.delete_ownership_controls,
                    put=acl_handlers.put_ownership_controls),
    *_bucket_config("cors", "Cors", "s3:GetBucketCORS", "s3:PutBucketCORS", "s3:PutBucketCORS",
                    cors_handlers.get_bucket_cors, cors_handlers.delete_bucket_cors,
                    put=cors_handlers.put_bucket_cors),
    *_bucket_config("policy", "Policy", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
                    policy_handlers.get_bucket_policy, policy_handlers.delete_bucket_policy,
                    put=policy_handlers.put_bucket_policy),
    _op("GetBucketPolicyStatus", BUCKET, READS, "policyStatus", _on_bucket("s3:GetBucketPolicyStatus"),
        handler=policy_handlers.get_bucket_policy_status),
    _op("GetBucketTagging", BUCKET, READS, "tagging", _on_bucket("s3:GetBucketTagging"),
        handler=tagging.get_bucket_tagging),
    _op("PutBucketTagging", BUCKET, "PUT", "tagging", _on_bucket("s3:PutBucketTagging"),
        handler=tagging.put_bucket_tagging),
    _op("DeleteBucketTagging", BUCKET, "DELETE", "tagging", _on_bucket("s3:PutBucketTagging"),
        handler=tagging.delete_bucket_tagging),
    *_bucket_config("website", "Website", "s3:GetBucketWebsite", "s3:PutBucketWebsite",
                    "s3:DeleteBucketWebsite", website_handlers.get_bucket_website,
                    website_handlers.delete_bucket_website, put=website_handlers.put_bucket_website),
    _op("GetBucketEncryption", BUCKET, READS, "encryption", _on_bucket("s3:GetEncryptionConfiguration"),
        handler=bucket_encryption.get_bucket_encryption),
    _op("PutBucketEncryption", BUCKET, "PUT", "encryption", _on_bucket("s3:PutEncryptionConfiguration"),
        handler=bucket_encryption.put_bucket_encryption),
    _op("DeleteBucketEncryption", BUCKET, "DELETE", "encryption", _on_bucket("s3:PutEncryptionConfiguration"),
        handler=bucket_encryption.delete_bucket_encryption),
    *_bucket_config("object-lock", "", "s3:GetBucketObjectLockConfiguration",
                    "s3:PutBucketObjectLockConfiguration", None, object_lock.get_configuration,
                    get_name="GetObjectLockConfiguration", put_name="PutObjectLockConfiguration",
                    put=object_lock.put_configuration),
    *_bucket_config("publicAccessBlock", "", "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock",
                    "s3:PutBucketPublicAccessBlock", acl_handlers.get_public_access_block,
                    acl_handlers.delete_public_access_block, get_name="GetPublicAccessBlock",
                    put_name="PutPublicAccessBlock", delete_name="DeletePublicAccessBlock",
                    put=acl_handlers.put_public_access_block),
    *_bucket_config("replication", "Replication", "s3:GetReplicationConfiguration",
                    "s3:PutReplicationConfiguration", "s3:PutReplicationConfiguration",
                    _none("ReplicationConfigurationNotFoundError"), _deleted),
    _op("GetBucketAcl", BUCKET, READS, "acl", _on_bucket("s3:GetBucketAcl"), handler=acl_handlers.get_bucket_acl),
    _op("PutBucketAcl", BUCKET, "PUT", "acl", _on_bucket("s3:PutBucketAcl"), handler=acl_handlers.put_bucket_acl),
    *_bucket_configs_by_id("analytics", "Analytics", "s3:GetAnalyticsConfiguration",
                           "s3:PutAnalyticsConfiguration"),
    *_bucket_configs_by_id("metrics", "Metrics", "s3:GetMetricsConfiguration", "s3:PutMetricsConfiguration"),
    *_bucket_configs_by_id("inventory", "Inventory", "s3:GetInventoryConfiguration",
                           "s3:PutInventoryConfiguration"),
    *_bucket_configs_by_id("intelligent-tiering", "IntelligentTiering",
                           "s3:GetIntelligentTieringConfiguration", "s3:PutIntelligentTieringConfiguration"),
    _op("ListMultipartUploads", BUCKET, READS, "uploads", _on_bucket("s3:ListBucketMultipartUploads"),
        handler=multipart.list_uploads),
    _op("GetBucketLocation", BUCKET, READS, "location", _on_bucket("s3:GetBucketLocation"),
        handler=bucket.get_location),
    _op("ListObjectVersions", BUCKET, READS, "versions", _on_bucket("s3:ListBucketVersions"),
        handler=listing.list_object_versions),
    _op("DeleteObjects", BUCKET, "POST", "delete", Action("s3:DeleteObject", Target.EACH_KEY, "s3:DeleteObjectVersion"),
        handler=delete_objects.delete_objects),
    _op("ListObjectsV2", BUCKET, "GET", None, _on_bucket("s3:ListBucket"), handler=listing.list_objects_v2,
        param="list-type", param_value="2"),
    _op("ListObjects", BUCKET, "GET", None, _on_bucket("s3:ListBucket"), handler=listing.list_objects_v1),
    _op("HeadBucket", BUCKET, "HEAD", None, _on_bucket("s3:ListBucket"), handler=bucket.head_bucket),
    _op("CreateBucket", BUCKET, "PUT", None, _on_bucket("s3:CreateBucket"), handler=bucket.create_bucket),
    _op("DeleteBucket", BUCKET, "DELETE", None, _on_bucket("s3:DeleteBucket"), handler=bucket.delete_bucket),
    # browser form upload: the key is a form field, so until it is implemented the bucket is checked
    _op("PostObject", BUCKET, "POST", None, Action("s3:PutObject", Target.BUCKET)),
)

# a copy writes its target, then reads its source (checked in that order)
_COPY_SOURCE = Action("s3:GetObject", Target.COPY_SOURCE, "s3:GetObjectVersion")

OBJECT_OPERATIONS: tuple[Operation, ...] = (
    _op("GetObjectAcl", OBJECT, READS, "acl", _on_object("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
        handler=acl_handlers.get_object_acl),
    _op("PutObjectAcl", OBJECT, "PUT", "acl", _on_object("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
        handler=acl_handlers.put_object_acl),
    _op("GetObjectTagging", OBJECT, READS, "tagging",
        _on_object("s3:GetObjectTagging", "s3:GetObjectVersionTagging"), handler=tagging.get_object_tagging),
    _op("PutObjectTagging", OBJECT, "PUT", "tagging",
        _on_object("s3:PutObjectTagging", "s3:PutObjectVersionTagging"), handler=tagging.put_object_tagging),
    _op("DeleteObjectTagging", OBJECT, "DELETE", "tagging",
        _on_object("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
        handler=tagging.delete_object_tagging),
    _op("GetObjectRetention", OBJECT, READS, "retention", _on_object("s3:GetObjectRetention"),
        handler=object_lock.get_retention),
    _op("PutObjectRetention", OBJECT, "PUT", "retention", _on_object("s3:PutObjectRetention"),
        handler=object_lock.put_retention),
    _op("GetObjectLegalHold", OBJECT, READS, "legal-hold", _on_object("s3:GetObjectLegalHold"),
        handler=object_lock.get_legal_hold),
    _op("PutObjectLegalHold", OBJECT, "PUT", "legal-hold", _on_object("s3:PutObjectLegalHold"),
        handler=object_lock.put_legal_hold),
    _op("RestoreObject", OBJECT, "POST", "restore", _on_object("s3:RestoreObject")),
    _op("GetObjectAttributes", OBJECT, READS, "attributes",
        _on_object("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
        handler=attributes.get_object_attributes),
    _op("GetObjectTorrent", OBJECT, READS, "torrent", _on_object("s3:GetObjectTorrent", "s3:GetObjectVersionTorrent")),
    _op("SelectObjectContent", OBJECT, "POST", "select", _on_object("s3:GetObject")),
    _op("UploadPartCopy", OBJECT, "PUT", "uploadId", _on_object("s3:PutObject"), _COPY_SOURCE,
        handler=copy.upload_part_copy, header=COPY_SOURCE_HEADER),
    _op("UploadPart", OBJECT, "PUT", "uploadId", _on_object("s3:PutObject"), handler=multipart.upload_part),
    _op("ListParts", OBJECT, "GET", "uploadId", _on_object("s3:ListMultipartUploadParts"),
        handler=multipart.list_parts),
    _op("CompleteMultipartUpload", OBJECT, "POST", "uploadId", _on_object("s3:PutObject"),
        handler=multipart.complete),
    _op("AbortMultipartUpload", OBJECT, "DELETE", "uploadId", _on_object("s3:AbortMultipartUpload"),
        handler=multipart.abort),
    _op("CreateMultipartUpload", OBJECT, "POST", "uploads", _on_object("s3:PutObject"), handler=multipart.create),
    _op("CopyObject", OBJECT, "PUT", None, _on_object("s3:PutObject"), _COPY_SOURCE, handler=copy.copy_object,
        header=COPY_SOURCE_HEADER),
    _op("PutObject", OBJECT, "PUT", None, _on_object("s3:PutObject"), handler=objects.put_object),
    _op("GetObject", OBJECT, "GET", None, _on_object("s3:GetObject", "s3:GetObjectVersion"),
        handler=objects.get_object),
    _op("HeadObject", OBJECT, "HEAD", None, _on_object("s3:GetObject", "s3:GetObjectVersion"),
        handler=objects.get_object),
    _op("DeleteObject", OBJECT, "DELETE", None, _on_object("s3:DeleteObject", "s3:DeleteObjectVersion"),
        handler=objects.delete_object),
)

OPERATIONS: tuple[Operation, ...] = SERVICE_OPERATIONS + BUCKET_OPERATIONS + OBJECT_OPERATIONS
BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}
assert len(BY_NAME) == len(OPERATIONS), "an operation is named twice"

_BY_LEVEL = {SERVICE: SERVICE_OPERATIONS, BUCKET: BUCKET_OPERATIONS, OBJECT: OBJECT_OPERATIONS}
# sub-resource keys of each level, in precedence order (first appearance in the table)
SUBRESOURCES: dict[str, tuple[str, ...]] = {
    level: tuple(dict.fromkeys(op.subresource for op in ops if op.subresource is not None))
    for level, ops in _BY_LEVEL.items()
}


def _by_subresource() -> dict[tuple[str, str | None], tuple[Operation, ...]]:
    """The operations of each (level, sub-resource), in table order."""
    index: dict[tuple[str, str | None], list[Operation]] = {}
    for level, ops in _BY_LEVEL.items():
        for op in ops:
            index.setdefault((level, op.subresource), []).append(op)
    return {key: tuple(ops) for key, ops in index.items()}


_CANDIDATES = _by_subresource()  # what resolve tries, in order
# the ResourceType a MethodNotAllowed names, when not the level's own
_RESOURCE_TYPES = {(OBJECT, "uploadId"): "UPLOAD"}


def level_of(bucket: str | None, key: str | None) -> str:
    """SERVICE without a bucket, BUCKET without a key, else OBJECT."""
    if bucket is None:
        return SERVICE
    return BUCKET if key is None else OBJECT


def subresource_of(level: str, query: Mapping[str, str]) -> str | None:
    """The level's first sub-resource key present in the query (None: the plain resource)."""
    if not query:
        return None
    for name in SUBRESOURCES[level]:
        if name in query:
            return name
    return None


def resolve(method: str, bucket: str | None, key: str | None, query: Mapping[str, str],
            headers: Mapping[str, str]) -> Operation:
    """The operation a request names; ``MethodNotAllowed`` (405) when none does."""
    level = level_of(bucket, key)
    sub = subresource_of(level, query)
    for op in _CANDIDATES.get((level, sub), ()):
        if op.accepts(method, query, headers):
            return op
    resource_type = _RESOURCE_TYPES.get((level, sub or ""), level.upper())
    raise S3Error("MethodNotAllowed", Method=method, ResourceType=resource_type)


def resolve_request(req: S3Request) -> Operation:
    """``resolve`` for a parsed S3 request."""
    return resolve(req.method, req.bucket, req.key, req.query, req.headers)


def operation_of(req: S3Request) -> Operation | None:
    """The operation the router resolved for ``req`` (None before routing)."""
    return req.extras.get("operation")
