"""S3 errors: one exception type rendered as S3's XML error document."""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape

from starlette.responses import Response

# code -> (HTTP status, default message)
CODES: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (400, "Error parsing the X-Amz-Credential parameter."),
    "BadDigest": (400, "The Content-MD5 or checksum you specified did not match what we received."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available."),
    "BucketAlreadyOwnedByYou": (409, "Your previous request to create the named bucket succeeded and you "
                                     "already own it."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed object size."),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the Content-Length "
                            "HTTP header."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist in our records."),
    "AccessControlListNotSupported": (400, "The bucket does not allow ACLs"),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "InvalidBucketAclWithObjectOwnership": (400, "Bucket cannot have ACLs set with ObjectOwnership's "
                                                 "BucketOwnerEnforced setting"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidDigest": (400, "The Content-MD5 you specified is not valid."),
    "InvalidPart": (400, "One or more of the specified parts could not be found. The part might not have "
                         "been uploaded, or the specified entity tag might not have matched the part's "
                         "entity tag."),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order. The parts list must be "
                              "specified in order by part number."),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "KeyTooLongError": (400, "Your key is too long."),
    "MalformedACLError": (400, "The XML you provided was not well-formed or did not validate against our "
                               "published schema"),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate against our "
                          "published schema."),
    "MalformedPolicy": (400, "Policy has invalid resource"),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingSecurityHeader": (400, "Your request was missing a required header."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchUpload": (404, "The specified upload does not exist. The upload ID may be invalid, or the upload "
                          "may have been aborted or completed."),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NoSuchTagSet": (404, "The TagSet does not exist"),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist"),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist"),
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "NoSuchWebsiteConfiguration": (404, "The specified bucket does not have a website configuration"),
    "ServerSideEncryptionConfigurationNotFoundError": (404, "The server side encryption configuration was "
                                                            "not found"),
    "ObjectLockConfigurationNotFoundError": (404, "Object Lock configuration does not exist for this bucket"),
    "NoSuchObjectLockConfiguration": (404, "The specified object does not have a ObjectLock configuration"),
    "InvalidBucketState": (409, "The request is not valid with the current state of the bucket."),
    "InvalidRetentionPeriod": (400, "Default retention period must be a positive integer value."),
    "OwnershipControlsNotFoundError": (404, "The bucket ownership controls were not found"),
    "NoSuchPublicAccessBlockConfiguration": (404, "The public access block configuration was not found"),
    "ReplicationConfigurationNotFoundError": (404, "The replication configuration was not found"),
    "NotImplemented": (501, "A header you provided implies functionality that is not implemented."),
    "ConditionalRequestConflict": (409, "The conditional request cannot succeed due to a conflicting "
                                        "operation against this resource."),
    "OperationAborted": (409, "A conflicting conditional operation is currently in progress against this "
                              "resource. Please try again."),
    "QuotaExceeded": (403, "Quota exceeded."),  # Ceph RGW's answer to a write past a quota
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not hold."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the current time is too "
                                  "large."),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "UnexpectedContent": (400, "This request does not support content"),
    "UnresolvableGrantByEmailAddress": (400, "The e-mail address you provided does not match any account on "
                                             "record."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the signature you "
                                   "provided. Check your key and signing method."),
    "SlowDown": (503, "Please reduce your request rate."),
    "UserKeyMustBeSpecified": (400, "The bucket POST must contain the specified field name. If it is "
                                    "specified, please check the order of the fields."),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does not match what was "
                                       "computed."),
}


class S3Error(Exception):
    """Raise anywhere in the S3 layer; ``extra`` adds elements (Key, BucketName, StringToSign...)."""

    def __init__(self, code: str, message: str | None = None, status: int | None = None,
                 headers: Mapping[str, str] | None = None, **extra: str | None):
        default_status, default_message = CODES.get(code, (400, code))
        self.code = code
        self.message = message or default_message
        self.status = status or default_status
        self.headers = dict(headers or {})
        self.extra = {k: str(v) for k, v in extra.items() if v is not None}
        super().__init__(f"{code}: {self.message}")

    def body(self, resource: str, request_id: str) -> bytes:
        parts = [f"<Code>{escape(self.code)}</Code>", f"<Message>{escape(self.message)}</Message>"]
        parts += [f"<{k}>{escape(v)}</{k}>" for k, v in self.extra.items()]
        # no <Resource>: AWS (and Swift's s3api) name the bucket or key only in the errors that carry
        # them (BucketName, Key, UploadId ... in ``extra``)
        parts += [f"<RequestId>{escape(request_id)}</RequestId>", f"<HostId>{escape(request_id)}</HostId>"]
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode()

    def response(self, resource: str, request_id: str, head: bool = False) -> Response:
        headers = {"x-amz-request-id": request_id, "x-amz-id-2": request_id, **self.headers}
        if self.status == 304:
            return Response(b"", status_code=self.status, headers=headers)
        if head:  # no body, but the type the body would have had, as AWS (and Swift's s3api) answer
            return Response(b"", status_code=self.status, headers={**headers, "Content-Type": "application/xml"})
        return Response(self.body(resource, request_id), status_code=self.status, headers=headers,
                        media_type="application/xml")


def from_backend(status: int, bucket: str | None = None, key: str | None = None) -> S3Error:
    """An S3 error for an unexpected storage status."""
    if status == 404:
        if key is not None:
            return S3Error("NoSuchKey", Key=key)
        return S3Error("NoSuchBucket", BucketName=bucket)
    if status == 412:
        return S3Error("PreconditionFailed")
    if status == 416:
        return S3Error("InvalidRange")
    if status == 422:
        return S3Error("BadDigest")
    if status == 499:
        return S3Error("IncompleteBody")
    if status == 507 or status == 503:
        return S3Error("ServiceUnavailable", status=503)
    if status == 413:
        return S3Error("EntityTooLarge")
    if status == 400:  # the nodes refuse names the client sent (NUL, too long, not UTF-8): its fault, not ours
        return S3Error("InvalidArgument", "The bucket name or key is not valid.")
    return S3Error("InternalError", f"storage answered {status}")
