"""Container and account quotas end to end, as Swift's container_quotas / account_quotas: 413
``Upload exceeds quota.`` for PUTs and copies past a quota; quota values validated; account quotas
settable only by the reseller admin (admin:admin)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest


@pytest.fixture(scope="module")
def reseller(cluster):
    """admin:admin (reseller admin), rooted at AUTH_test2's storage URL."""
    url, _ = cluster.auth("test2:tester2", "testing2")
    _, token = cluster.auth("admin:admin", "admin")
    with httpx.Client(base_url=url + "/", headers={"X-Auth-Token": token}, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def test2(cluster):
    """test2:tester2, the admin of AUTH_test2."""
    url, token = cluster.auth("test2:tester2", "testing2")
    with httpx.Client(base_url=url + "/", headers={"X-Auth-Token": token}, timeout=60) as client:
        yield client


def test_container_quota_bytes(http, container):
    assert http.post(container, headers={"X-Container-Meta-Quota-Bytes": "10"}).status_code == 204
    assert http.head(container).headers["x-container-meta-quota-bytes"] == "10"
    r = http.put(f"{container}/obj", content=b"01234567890")
    assert r.status_code == 413 and r.text == "Upload exceeds quota."
    assert http.get(f"{container}/obj").status_code == 404
    assert http.put(f"{container}/obj", content=b"0123456789").status_code == 201
    assert http.get(f"{container}/obj").content == b"0123456789"
    assert http.put(f"{container}/more", content=b"1").status_code == 413


def test_container_quota_count(http, container):
    assert http.post(container, headers={"X-Container-Meta-Quota-Count": "1"}).status_code == 204
    assert http.put(f"{container}/one", content=b"a").status_code == 201
    assert http.put(f"{container}/two", content=b"b").status_code == 413


def test_container_quota_applies_to_copies(http, container):
    source = "src-" + uuid.uuid4().hex[:8]
    assert http.put(source).status_code in (201, 202)
    assert http.put(f"{source}/big", content=b"x" * 100).status_code == 201
    assert http.post(container, headers={"X-Container-Meta-Quota-Bytes": "50"}).status_code == 204
    assert http.put(f"{container}/copy", headers={"X-Copy-From": f"{source}/big"}).status_code == 413
    r = http.request("COPY", f"{source}/big", headers={"Destination": f"{container}/copy"})
    assert r.status_code == 413
    assert http.get(f"{container}/copy").status_code == 404
    assert http.post(container, headers={"X-Container-Meta-Quota-Bytes": "100"}).status_code == 204
    assert http.request("COPY", f"{source}/big", headers={"Destination": f"{container}/copy"}).status_code == 201


@pytest.mark.parametrize("header", ["X-Container-Meta-Quota-Bytes", "X-Container-Meta-Quota-Count"])
@pytest.mark.parametrize("value", ["-1", "abc", "1.5"])
def test_container_quota_values_checked(http, container, header, value):
    assert http.post(container, headers={header: value}).status_code == 400
    assert http.put("q-" + uuid.uuid4().hex[:8], headers={header: value}).status_code == 400
    assert header.lower() not in http.head(container).headers


def test_quota_denies_only_after_authorization(client_for_tester3, http, container):
    assert http.post(container, headers={"X-Container-Meta-Quota-Bytes": "0"}).status_code == 204
    assert client_for_tester3.put(f"{container}/x", content=b"x").status_code == 403


@pytest.fixture()
def client_for_tester3(cluster, account):
    _, token = cluster.auth("test:tester3", "testing3")
    with httpx.Client(base_url=account[0] + "/", headers={"X-Auth-Token": token}, timeout=60) as client:
        yield client


@pytest.mark.parametrize("header", [
    "X-Account-Meta-Quota-Bytes", "X-Account-Quota-Bytes", "X-Account-Quota-Count",
    "X-Account-Quota-Bytes-Policy-gold", "X-Remove-Account-Quota-Count-Policy-silver",
    "X-Remove-Account-Quota-Bytes", "X-Remove-Account-Meta-Quota-Bytes",
])
def test_account_owner_cannot_set_own_quota(test2, header):
    assert test2.post("", headers={header: "0"}).status_code == 403


@pytest.mark.parametrize("header", ["X-Account-Quota-Bytes", "X-Account-Meta-Quota-Bytes",
                                    "X-Account-Quota-Count", "X-Account-Quota-Count-Policy-gold",
                                    "X-Account-Quota-Bytes-Policy-silver"])
def test_reseller_sets_and_removes_account_quota(reseller, test2, header):
    shown = header.replace("-Meta-", "-")
    try:
        assert reseller.post("", headers={header: "123"}).status_code == 204
        assert test2.head("").headers.get(shown) == "123"
        assert reseller.post("", headers={header.replace("X-", "X-Remove-", 1): "t"}).status_code == 204
        assert shown not in test2.head("").headers
        assert reseller.post("", headers={header: "7"}).status_code == 204
        assert reseller.post("", headers={header: ""}).status_code == 204
        assert shown not in test2.head("").headers
        assert reseller.post("", headers={header: "-1"}).status_code == 400
        assert reseller.post("", headers={header: "x"}).status_code == 400
    finally:
        reseller.post("", headers={header: ""})


def wait_for_object_count(client: httpx.Client, expected: int) -> None:
    """Until every account replica counts ``expected`` objects: account stats follow container updates
    (about a second, each replica on its own), as in Swift; a read asks one replica."""
    deadline, agreeing = time.monotonic() + 20, 0
    while agreeing < 8:
        agreeing = agreeing + 1 if int(client.head("").headers["x-account-object-count"]) >= expected else 0
        assert time.monotonic() < deadline, "account stats never caught up"
        time.sleep(0.1)


def settled_usage(client: httpx.Client) -> tuple[int, int]:
    """(bytes, objects) of the account once every replica agrees (earlier tests' writes counted)."""
    deadline, last, agreeing = time.monotonic() + 20, None, 0
    while agreeing < 8:
        headers = client.head("").headers
        usage = (int(headers["x-account-bytes-used"]), int(headers["x-account-object-count"]))
        agreeing = agreeing + 1 if usage == last else 0
        last = usage
        assert time.monotonic() < deadline, "account stats never settled"
        time.sleep(0.15)
    return usage


def test_account_quota_bytes_and_count(reseller, test2):
    container = "aq-" + uuid.uuid4().hex[:8]
    assert test2.put(container).status_code in (201, 202)
    used, count = settled_usage(test2)
    try:
        assert reseller.post("", headers={"X-Account-Quota-Bytes": str(used + 10)}).status_code == 204
        r = test2.put(f"{container}/big", content=b"x" * 11)
        assert r.status_code == 413 and r.text == "Upload exceeds quota."
        assert test2.put(f"{container}/ok", content=b"x" * 10).status_code == 201
        # the reseller admin's own writes are not limited
        assert reseller.put(f"{container}/by-reseller", content=b"x" * 20).status_code == 201
        wait_for_object_count(test2, count + 2)  # account stats follow container updates (~1 s), as in Swift
        assert reseller.post("", headers={"X-Account-Quota-Bytes": "",
                                          "X-Account-Quota-Count": str(count + 2)}).status_code == 204
        assert test2.put(f"{container}/third", content=b"x").status_code == 413
        assert reseller.post("", headers={"X-Account-Quota-Count": ""}).status_code == 204
        assert test2.put(f"{container}/third", content=b"x").status_code == 201
    finally:
        reseller.post("", headers={"X-Account-Quota-Bytes": "", "X-Account-Quota-Count": ""})


def settled_policy_usage(client: httpx.Client, policy: str) -> tuple[int, int]:
    """(bytes, objects) of the account in ``policy`` once every replica agrees."""
    deadline, last, agreeing = time.monotonic() + 20, None, 0
    prefix = f"x-account-storage-policy-{policy}-"
    while agreeing < 8:
        headers = client.head("").headers
        usage = (int(headers.get(prefix + "bytes-used", 0)), int(headers.get(prefix + "object-count", 0)))
        agreeing = agreeing + 1 if usage == last else 0
        last = usage
        assert time.monotonic() < deadline, "account stats never settled"
        time.sleep(0.15)
    return usage


def test_account_policy_quotas_limit_writes_into_that_policy_only(reseller, test2):
    silver, gold = "aqs-" + uuid.uuid4().hex[:8], "aqg-" + uuid.uuid4().hex[:8]
    assert test2.put(silver, headers={"X-Storage-Policy": "silver"}).status_code in (201, 202)
    assert test2.put(gold, headers={"X-Storage-Policy": "gold"}).status_code in (201, 202)
    assert test2.put(f"{silver}/first", content=b"x").status_code == 201
    used, count = settled_policy_usage(test2, "silver")
    assert count >= 1
    try:
        r = reseller.post("", headers={"X-Account-Quota-Bytes-Policy-silver": str(used + 10)})
        assert r.status_code == 204
        assert test2.head("").headers["x-account-quota-bytes-policy-silver"] == str(used + 10)
        r = test2.put(f"{silver}/big", content=b"x" * 11)
        assert r.status_code == 413 and r.text == "Upload exceeds policy quota."
        assert test2.put(f"{gold}/big", content=b"x" * 11).status_code == 201  # another policy: not counted
        assert test2.put(f"{silver}/ok", content=b"x" * 10).status_code == 201
        r = reseller.post("", headers={"X-Remove-Account-Quota-Bytes-Policy-silver": "t",
                                       "X-Account-Quota-Count-Policy-silver": str(count)})
        assert r.status_code == 204 and "x-account-quota-bytes-policy-silver" not in test2.head("").headers
        r = test2.put(f"{silver}/third", content=b"x")
        assert r.status_code == 413 and r.text == "Upload exceeds policy quota."
        assert test2.put(f"{gold}/third", content=b"x").status_code == 201
        # an unknown policy's header is no quota at all (as Swift's, which knows only its policies)
        assert test2.post("", headers={"X-Account-Quota-Bytes-Policy-nosuch": "1"}).status_code == 204
    finally:
        reseller.post("", headers={"X-Account-Quota-Bytes-Policy-silver": "",
                                   "X-Account-Quota-Count-Policy-silver": ""})


def test_info_advertises_quotas(anon):
    info = anon.get("/info").json()
    assert "account_quotas" in info and "container_quotas" in info


def _s3_error(call, *args, **kwargs) -> tuple[str, int]:
    from botocore.exceptions import ClientError

    try:
        call(*args, **kwargs)
    except ClientError as err:
        return err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]
    return "", 200


def test_s3_writes_respect_container_quota(cluster, http, container):
    """S3 PutObject/CopyObject into a bucket with a quota: 403 QuotaExceeded (Ceph RGW's answer)."""
    from tests.s3.conftest import make_client

    s3 = make_client(cluster.proxy_url)
    assert http.put(f"{container}/src", content=b"x" * 8).status_code == 201
    assert http.post(container, headers={"X-Container-Meta-Quota-Bytes": "12"}).status_code == 204
    assert _s3_error(s3.put_object, Bucket=container, Key="big", Body=b"y" * 5) == ("QuotaExceeded", 403)
    assert _s3_error(s3.copy_object, Bucket=container, Key="copy",
                     CopySource={"Bucket": container, "Key": "src"}) == ("QuotaExceeded", 403)
    assert http.get(f"{container}/big").status_code == 404
    assert http.get(f"{container}/copy").status_code == 404
    s3.put_object(Bucket=container, Key="small", Body=b"y" * 4)
    assert http.get(f"{container}/small").content == b"yyyy"


def test_s3_writes_respect_account_quota(cluster, reseller, test2):
    from tests.s3.conftest import make_client

    s3 = make_client(cluster.proxy_url, key="test2:tester2", secret="testing2")
    bucket = "aq-s3-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    used, _ = settled_usage(test2)
    try:
        assert reseller.post("", headers={"X-Account-Quota-Bytes": str(used + 4)}).status_code == 204
        assert _s3_error(s3.put_object, Bucket=bucket, Key="big", Body=b"z" * 5) == ("QuotaExceeded", 403)
        upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]
        assert _s3_error(s3.upload_part, Bucket=bucket, Key="mpu", UploadId=upload, PartNumber=1,
                         Body=b"z" * 5) == ("QuotaExceeded", 403)
        s3.abort_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload)
        s3.put_object(Bucket=bucket, Key="ok", Body=b"z" * 4)
    finally:
        reseller.post("", headers={"X-Account-Quota-Bytes": ""})
