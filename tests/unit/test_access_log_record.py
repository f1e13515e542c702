"""The S3 access log record format (proxy/s3/access_log/record.py) and configuration parsing, without a cloud."""

from __future__ import annotations

import pytest

from proxy.s3.access_log.config import parse_status, to_xml
from proxy.s3.access_log.record import AccessRecord, log_time, operation_name, redacted_query
from proxy.s3.errors import S3Error
from proxy.s3.xml import to_bytes


def test_signature_values_redacted_rest_kept():
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
             "&X-Amz-Signature=abcdef0123&x-amz-security-token=SECRETTOKEN&Signature=v2sig&AWSAccessKeyId=k")
    out = redacted_query(query)
    assert "abcdef0123" not in out and "SECRETTOKEN" not in out and "v2sig" not in out
    assert "X-Amz-Signature=REDACTED" in out and "Signature=REDACTED" in out
    assert out.startswith("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k%2F") and "AWSAccessKeyId=k" in out


def test_operation_names():
    assert operation_name("PUT", "PutObject", None, "object") == "REST.PUT.OBJECT"
    assert operation_name("GET", "ListObjectsV2", None, "bucket") == "REST.GET.BUCKET"
    assert operation_name("GET", "GetBucketVersioning", "versioning", "bucket") == "REST.GET.VERSIONING"
    assert operation_name("PUT", "CopyObject", None, "object") == "REST.COPY.OBJECT"
    assert operation_name("PUT", "UploadPartCopy", "uploadId", "object") == "REST.COPY.PART"
    assert operation_name("POST", "DeleteObjects", "delete", "bucket") == "REST.POST.MULTI_OBJECT_DELETE"
    assert operation_name("GET", "GetObjectLockConfiguration", "object-lock", "bucket") == \
        "REST.GET.OBJECT_LOCK"
    assert operation_name("GET", None, None, "object") == "REST.GET.OBJECT"


def test_time_field():
    assert log_time(1549411238) == "[06/Feb/2019:00:00:38 +0000]"


def test_record_is_one_line_of_27_fields():
    record = AccessRecord("o" * 64, "b", 0.0, "127.0.0.1", "-", "tx1", "REST.GET.OBJECT", "a b/c\nd",
                          'GET /b/a%20b "x" HTTP/1.1', 200, "", 0, None, 5, 3, "", 'agent "q"\n', "", "tx1",
                          "SigV4", "", "AuthHeader", "h:1", "", "us-east-1")
    line = record.line()
    assert line.endswith("\n") and line.count("\n") == 1
    assert " a%20b/c%0Ad " in line and '"agent \\"q\\"\\x0a"' in line and ' "-" ' in line


@pytest.mark.parametrize("body", [
    b"<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket></LoggingEnabled></BucketLoggingStatus>",
    b"<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetPrefix/><TargetGrants><Grant>"
    b"<Grantee/><Permission>WRONG</Permission></Grant></TargetGrants></LoggingEnabled></BucketLoggingStatus>",
    b"<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetPrefix/><TargetObjectKeyFormat>"
    b"<PartitionedPrefix><PartitionDateSource>Yesterday</PartitionDateSource></PartitionedPrefix>"
    b"</TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>",
])
def test_malformed_configurations(body):
    with pytest.raises(S3Error) as err:
        parse_status(body)
    assert err.value.code == "MalformedXML"


def test_configuration_round_trip():
    body = (b'<BucketLoggingStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LoggingEnabled>'
            b"<TargetBucket>t</TargetBucket><TargetPrefix>p/</TargetPrefix><TargetObjectKeyFormat>"
            b"<PartitionedPrefix><PartitionDateSource>DeliveryTime</PartitionDateSource></PartitionedPrefix>"
            b"</TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>")
    config = parse_status(body)
    assert config is not None and config.partitioned and config.date_source == "DeliveryTime"
    assert parse_status(to_bytes(to_xml(config))) == config
    assert parse_status(b"<BucketLoggingStatus/>") is None
