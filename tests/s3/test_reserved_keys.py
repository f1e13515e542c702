"""S3 keys with a NUL character (the reserved namespace of hidden containers and version names) answer
400 from the S3 layer, for the addressed key and a copy source; never a 500 nor a stored object.
(DeleteObjects cannot name one: XML 1.0 has no NUL, its body is MalformedXML.)"""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.s3.conftest import make_client


@pytest.fixture
def c(s3):
    return make_client(s3.url, when_required=True)


@pytest.mark.parametrize("key", ["\x00hidden", "a\x00b", "\x00versions\x00x"])
def test_nul_in_key_is_400(c, bucket, key):
    for method in ("put_object", "get_object", "head_object", "delete_object"):
        url = c.generate_presigned_url(method, Params={"Bucket": bucket, "Key": key})
        verb = {"put_object": "PUT", "get_object": "GET", "head_object": "HEAD", "delete_object": "DELETE"}[method]
        resp = httpx.request(verb, url, content=b"x" if verb == "PUT" else None)
        assert resp.status_code == 400, (method, resp.status_code, resp.text)
        if verb != "HEAD":
            assert b"<Code>InvalidURI</Code>" in resp.content or b"<Code>InvalidArgument</Code>" in resp.content


def test_nul_in_copy_source(c, bucket):
    c.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        c.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "\x00k"})
    assert err.value.response["Error"]["Code"] == "InvalidArgument"
    assert c.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
