"""S3 lifecycle end to end: the configuration API, ``x-amz-expiration``, and the rules executed by the
storage nodes' lifecycle task, on a cloud whose lifecycle "day" lasts two seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.harness import Cluster
from tests.s3.conftest import ACCESS_KEY, LIFECYCLE_DAY, SECRET, cleanup, error_code, make_client, wait_until

DAY = LIFECYCLE_DAY  # seconds in a lifecycle day here
WAIT = 40.0  # an object due after one day is gone within a few passes


@pytest.fixture(scope="module")
def client(lifecycle_cluster):
    return make_client(lifecycle_cluster.proxy_url)


@pytest.fixture
def bucket(client):
    name = "lc-" + os.urandom(6).hex()
    client.create_bucket(Bucket=name)
    yield name
    cleanup(client, name)


def _keys(client, bucket: str) -> set[str]:
    return {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def _wait_for(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    return wait_until(check, timeout)


def _rule(rule_id: str, filt: dict | None = None, **actions) -> dict:
    out = {"ID": rule_id, "Status": "Enabled", "Filter": filt if filt is not None else {"Prefix": ""}}
    out.update(actions)
    return out


def _put_rules(client, bucket: str, *rules: dict) -> None:
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


# -- configuration API ----------------------------------------------------------------------------

def test_configuration_round_trip(client, bucket):
    assert error_code(client.get_bucket_lifecycle_configuration, Bucket=bucket) == "NoSuchLifecycleConfiguration"
    rules = [
        _rule("prefix", {"Prefix": "logs/"}, Expiration={"Days": 30}),
        _rule("tag", {"Tag": {"Key": "class", "Value": "temp"}}, Expiration={"Days": 1}),
        _rule("and", {"And": {"Prefix": "a/", "Tags": [{"Key": "k", "Value": "v"}],
                              "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 1000}},
              Expiration={"Date": datetime(2030, 1, 1, tzinfo=UTC)}),
        _rule("size", {"ObjectSizeGreaterThan": 1024}, Expiration={"Days": 7}),
        _rule("versions", {"Prefix": "v/"}, NoncurrentVersionExpiration={"NoncurrentDays": 3,
                                                                        "NewerNoncurrentVersions": 2},
              Expiration={"ExpiredObjectDeleteMarker": True}),
        _rule("uploads", {"Prefix": ""}, AbortIncompleteMultipartUpload={"DaysAfterInitiation": 2},
              Transitions=[{"Days": 0, "StorageClass": "STANDARD"}]),
        {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": "x/"}, "Expiration": {"Days": 5}},
    ]
    _put_rules(client, bucket, *rules)
    got = {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert set(got) == {r["ID"] for r in rules}
    assert got["prefix"]["Filter"] == {"Prefix": "logs/"} and got["prefix"]["Expiration"] == {"Days": 30}
    assert got["tag"]["Filter"] == {"Tag": {"Key": "class", "Value": "temp"}}
    assert got["and"]["Filter"]["And"] == {"Prefix": "a/", "Tags": [{"Key": "k", "Value": "v"}],
                                           "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 1000}
    assert got["and"]["Expiration"]["Date"] == datetime(2030, 1, 1, tzinfo=UTC)
    assert got["size"]["Filter"] == {"ObjectSizeGreaterThan": 1024}
    assert got["versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 3, "NewerNoncurrentVersions": 2}
    assert got["versions"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert got["uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    assert got["uploads"]["Transitions"] == [{"Days": 0, "StorageClass": "STANDARD"}]
    assert got["off"]["Status"] == "Disabled"
    client.delete_bucket_lifecycle(Bucket=bucket)
    assert error_code(client.get_bucket_lifecycle_configuration, Bucket=bucket) == "NoSuchLifecycleConfiguration"
    client.delete_bucket_lifecycle(Bucket=bucket)  # nothing to delete: still 204


def test_legacy_rule_prefix(client, bucket):
    client.put_bucket_lifecycle(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "old", "Prefix": "tmp/", "Status": "Enabled", "Expiration": {"Days": 3}}]})
    (rule,) = client.get_bucket_lifecycle(Bucket=bucket)["Rules"]
    assert rule["Prefix"] == "tmp/" and rule["Expiration"] == {"Days": 3}


@pytest.mark.parametrize(("rules", "code"), [
    ([{"ID": "a" * 256, "Prefix": "p/", "Status": "Enabled", "Expiration": {"Days": 2}}], "InvalidArgument"),
    ([{"ID": "r", "Prefix": "p/", "Status": "Enabled", "Expiration": {"Days": 1}},
      {"ID": "r", "Prefix": "q/", "Status": "Enabled", "Expiration": {"Days": 2}}], "InvalidArgument"),
    ([{"ID": "r", "Prefix": "p/", "Status": "enabled", "Expiration": {"Days": 1}}], "MalformedXML"),
    ([{"ID": "r", "Prefix": "p/", "Status": "Enabled",
       "Expiration": {"Date": datetime(2030, 1, 1, 12, tzinfo=UTC)}}], "InvalidArgument"),
    ([{"ID": "r", "Prefix": "p/", "Status": "Enabled", "Expiration": {"Days": 0}}], "InvalidArgument"),
    ([{"ID": "r", "Prefix": "p/", "Status": "Enabled",
       "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}], "InvalidStorageClass"),
    ([{"ID": "r", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
       "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}], "InvalidRequest"),
])
def test_validation_errors(client, bucket, rules, code):
    assert error_code(client.put_bucket_lifecycle_configuration, Bucket=bucket,
                      LifecycleConfiguration={"Rules": rules}) == code
    assert error_code(client.get_bucket_lifecycle_configuration, Bucket=bucket) == "NoSuchLifecycleConfiguration"


def test_date_not_at_midnight(lifecycle_cluster, client, bucket):
    body = (b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix/></Filter><Status>Enabled</Status>"
            b"<Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>")
    assert _raw_put(lifecycle_cluster, bucket, body) == (400, "InvalidArgument")
    undashed = body.replace(b"2030-01-01T12:00:00Z", b"20200101")
    assert _raw_put(lifecycle_cluster, bucket, undashed) == (400, "MalformedXML")
    assert _raw_put(lifecycle_cluster, bucket, b"<LifecycleConfiguration><Rule>") == (400, "MalformedXML")


def _raw_put(cluster: Cluster, bucket: str, body: bytes) -> tuple[int, str]:
    """PUT ?lifecycle with a body boto3 would not send (SigV4 via botocore's signer)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{cluster.proxy_url}/{bucket}?lifecycle"
    request = AWSRequest("PUT", url, data=body, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET), "s3", "us-east-1").add_auth(request)
    resp = httpx.put(url, content=body, headers=dict(request.headers.items()))
    code = resp.text.split("<Code>", 1)[-1].split("</Code>", 1)[0] if "<Code>" in resp.text else ""
    return resp.status_code, code


def test_awscli_round_trip(lifecycle_cluster, bucket, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp_path / "cfg"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "creds"))
    aws = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", lifecycle_cluster.proxy_url, "s3api"]
    doc = tmp_path / "lc.json"
    doc.write_text(json.dumps({"Rules": [{"ID": "cli", "Status": "Enabled", "Filter": {"Prefix": "cli/"},
                                          "Expiration": {"Days": 9}}]}))
    subprocess.run(aws + ["put-bucket-lifecycle-configuration", "--bucket", bucket, "--lifecycle-configuration",
                          f"file://{doc}"], env=env, check=True, capture_output=True, timeout=120)
    out = subprocess.run(aws + ["get-bucket-lifecycle-configuration", "--bucket", bucket], env=env, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    assert json.loads(out)["Rules"][0]["Expiration"] == {"Days": 9}


# -- x-amz-expiration -----------------------------------------------------------------------------

def _expiration(response: dict) -> str | None:
    return response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-expiration")


def test_expiration_header(lifecycle_cluster, bucket):
    client = make_client(lifecycle_cluster.proxy_url)
    _put_rules(client, bucket, _rule("days", {"Prefix": "days/"}, Expiration={"Days": 10_000}),
               _rule("tagged", {"Tag": {"Key": "k", "Value": "v"}}, Expiration={"Days": 20_000}))
    before = time.time()
    put = client.put_object(Bucket=bucket, Key="days/a", Body=b"x")
    header = _expiration(put)
    assert header is not None and header.endswith('rule-id="days"'), header
    date = header.split('expiry-date="', 1)[1].split('"', 1)[0]
    expiry = datetime.strptime(date, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC).timestamp()
    assert before + 10_000 * DAY <= expiry <= time.time() + 10_001 * DAY
    assert _expiration(client.head_object(Bucket=bucket, Key="days/a")) == header
    assert _expiration(client.get_object(Bucket=bucket, Key="days/a")) == header
    assert _expiration(client.put_object(Bucket=bucket, Key="other", Body=b"x")) is None
    assert _expiration(client.head_object(Bucket=bucket, Key="other")) is None
    client.put_object_tagging(Bucket=bucket, Key="other", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert 'rule-id="tagged"' in (_expiration(client.head_object(Bucket=bucket, Key="other")) or "")
    tagged = client.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="k=v")
    assert 'rule-id="tagged"' in (_expiration(tagged) or "")
    copied = client.copy_object(Bucket=bucket, Key="days/copy", CopySource={"Bucket": bucket, "Key": "other"})
    assert 'rule-id="days"' in (_expiration(copied) or "")
    upload = client.create_multipart_upload(Bucket=bucket, Key="days/mp")["UploadId"]
    etag = client.upload_part(Bucket=bucket, Key="days/mp", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    done = client.complete_multipart_upload(Bucket=bucket, Key="days/mp", UploadId=upload,
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert 'rule-id="days"' in (_expiration(done) or "")


# -- rules executed -------------------------------------------------------------------------------

def test_prefix_rule_expires_only_its_prefix(client, bucket):
    for key in ("expire/a", "expire/b/c", "keep/a", "expir"):
        client.put_object(Bucket=bucket, Key=key, Body=b"data")
    _put_rules(client, bucket, _rule("r", {"Prefix": "expire/"}, Expiration={"Days": 1}))
    assert _wait_for(lambda: _keys(client, bucket) == {"keep/a", "expir"}), _keys(client, bucket)
    for key in ("expire/a", "expire/b/c"):
        assert error_code(client.head_object, Bucket=bucket, Key=key) == "404"
    time.sleep(3 * DAY)
    assert _keys(client, bucket) == {"keep/a", "expir"}


def test_legacy_prefix_rule_runs(client, bucket):
    client.put_object(Bucket=bucket, Key="tmp/x", Body=b"1")
    client.put_object(Bucket=bucket, Key="keep", Body=b"1")
    client.put_bucket_lifecycle(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "old", "Prefix": "tmp/", "Status": "Enabled", "Expiration": {"Days": 1}}]})
    assert _wait_for(lambda: _keys(client, bucket) == {"keep"})


def test_tag_filter(client, bucket):
    client.put_object(Bucket=bucket, Key="a", Body=b"1", Tagging="state=temp&x=y")
    client.put_object(Bucket=bucket, Key="b", Body=b"1", Tagging="state=final")
    client.put_object(Bucket=bucket, Key="c", Body=b"1")
    _put_rules(client, bucket, _rule("tag", {"Tag": {"Key": "state", "Value": "temp"}}, Expiration={"Days": 1}))
    assert _wait_for(lambda: _keys(client, bucket) == {"b", "c"})
    time.sleep(2 * DAY)
    assert _keys(client, bucket) == {"b", "c"}


def test_size_filter(client, bucket):
    client.put_object(Bucket=bucket, Key="small", Body=b"x" * 10)
    client.put_object(Bucket=bucket, Key="big", Body=b"x" * 5000)
    client.put_object(Bucket=bucket, Key="huge", Body=b"x" * 20000)
    _put_rules(client, bucket, _rule("size", {"And": {"Prefix": "", "ObjectSizeGreaterThan": 1000,
                                                      "ObjectSizeLessThan": 10000}}, Expiration={"Days": 1}))
    assert _wait_for(lambda: _keys(client, bucket) == {"small", "huge"})


def test_date_rules(client, bucket):
    for key in ("past/a", "future/a"):
        client.put_object(Bucket=bucket, Key=key, Body=b"1")
    _put_rules(client, bucket,
               _rule("past", {"Prefix": "past/"}, Expiration={"Date": datetime(2020, 1, 1, tzinfo=UTC)}),
               _rule("future", {"Prefix": "future/"}, Expiration={"Date": datetime(2100, 1, 1, tzinfo=UTC)}))
    assert _wait_for(lambda: _keys(client, bucket) == {"future/a"})


def test_disabled_rule_does_nothing(client, bucket):
    client.put_object(Bucket=bucket, Key="a", Body=b"1")
    _put_rules(client, bucket, {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": ""},
                                "Expiration": {"Days": 1}})
    time.sleep(4 * DAY)
    assert _keys(client, bucket) == {"a"}


def _segments(lifecycle_cluster: Cluster, bucket: str) -> list[str]:
    url, token = lifecycle_cluster.auth()
    resp = httpx.get(f"{url}/{bucket}+segments", params={"format": "json"}, headers={"X-Auth-Token": token})
    return [] if resp.status_code == 404 else [row["name"] for row in resp.json()]


def test_abort_incomplete_multipart_uploads(lifecycle_cluster, client, bucket):
    stale = client.create_multipart_upload(Bucket=bucket, Key="up/stale")["UploadId"]
    client.upload_part(Bucket=bucket, Key="up/stale", UploadId=stale, PartNumber=1, Body=b"p" * 1000)
    client.upload_part(Bucket=bucket, Key="up/stale", UploadId=stale, PartNumber=2, Body=b"q" * 1000)
    other = client.create_multipart_upload(Bucket=bucket, Key="elsewhere/x")["UploadId"]
    client.upload_part(Bucket=bucket, Key="elsewhere/x", UploadId=other, PartNumber=1, Body=b"r" * 10)
    assert any(name.startswith(f"up/stale/{stale}/") for name in _segments(lifecycle_cluster, bucket))
    _put_rules(client, bucket, _rule("abort", {"Prefix": "up/"},
                                     AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}))

    def uploads() -> set[str]:
        return {u["UploadId"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}

    assert _wait_for(lambda: uploads() == {other})
    assert _wait_for(lambda: not any(n.startswith(f"up/stale/{stale}") for n in _segments(lifecycle_cluster, bucket)))
    assert error_code(client.upload_part, Bucket=bucket, Key="up/stale", UploadId=stale, PartNumber=3,
                      Body=b"late") == "NoSuchUpload"
    assert any(n.startswith(f"elsewhere/x/{other}/") for n in _segments(lifecycle_cluster, bucket))


def test_expired_multipart_object_releases_its_parts(lifecycle_cluster, client, bucket):
    upload = client.create_multipart_upload(Bucket=bucket, Key="mp/obj")["UploadId"]
    etag = client.upload_part(Bucket=bucket, Key="mp/obj", UploadId=upload, PartNumber=1, Body=b"z" * 100)["ETag"]
    client.complete_multipart_upload(Bucket=bucket, Key="mp/obj", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert _segments(lifecycle_cluster, bucket)
    _put_rules(client, bucket, _rule("mp", {"Prefix": "mp/"}, Expiration={"Days": 1}))
    assert _wait_for(lambda: _keys(client, bucket) == set())
    assert _wait_for(lambda: _segments(lifecycle_cluster, bucket) == [])


def test_overwritten_object_restarts_its_clock(client, bucket):
    client.put_object(Bucket=bucket, Key="k", Body=b"old")
    _put_rules(client, bucket, _rule("r", {"Prefix": "k"}, Expiration={"Days": 5}))
    time.sleep(3 * DAY)
    client.put_object(Bucket=bucket, Key="k", Body=b"new")  # a new object: 5 days from now
    time.sleep(4 * DAY)  # the first object would be due by now, the new one is not
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"


def test_status_shows_lifecycle_progress(lifecycle_cluster, client, bucket):
    client.put_object(Bucket=bucket, Key="gone", Body=b"1")
    _put_rules(client, bucket, _rule("r", {"Prefix": "gone"}, Expiration={"Days": 1}))
    assert _wait_for(lambda: _keys(client, bucket) == set())
    config = lifecycle_cluster.data_dir / "stackstore.effective.toml"
    stackstore = str(Path(sys.executable).parent / "stackstore")

    def progress() -> int:
        out = subprocess.run([stackstore, "status", "--config", str(config), "--json"], capture_output=True,
                             text=True, timeout=60).stdout
        return sum(doc.get("lifecycle", {}).get("expired", 0) for doc in json.loads(out).values())

    assert _wait_for(lambda: progress() >= 1, timeout=10)
    table = subprocess.run([stackstore, "status", "--config", str(config)], capture_output=True, text=True,
                           timeout=60).stdout
    assert "LIFECYCLE" in table and "LC EXPIRED/ABORTED" in table
    out = subprocess.run([stackstore, "status", "--config", str(config), "--json"], capture_output=True, text=True,
                         timeout=60).stdout
    assert all(isinstance(doc["lifecycle"]["last_pass"], float) for doc in json.loads(out).values())


def test_recreated_bucket_has_no_configuration(client):
    name = "lc-re-" + os.urandom(5).hex()
    client.create_bucket(Bucket=name)
    _put_rules(client, name, _rule("r", {"Prefix": "x/"}, Expiration={"Days": 1}))
    client.delete_bucket(Bucket=name)
    client.create_bucket(Bucket=name)
    try:
        assert error_code(client.get_bucket_lifecycle_configuration, Bucket=name) == "NoSuchLifecycleConfiguration"
    finally:
        cleanup(client, name)


def test_next_primary_runs_a_bucket_whose_first_primary_is_down(lifecycle_cluster, client, bucket):
    from ring import Ring
    from stackstore.config import ensure_hash_path_suffix

    ring = Ring(lifecycle_cluster.conf.ring_dir / "container.ring", ensure_hash_path_suffix(lifecycle_cluster.conf))
    first = ring.primaries(ring.partition("AUTH_test", bucket))[0]
    index = next(i for i in range(1, 5) if lifecycle_cluster.cloud.node_port(i) == int(first.port))
    client.put_object(Bucket=bucket, Key="down/a", Body=b"1")
    client.put_object(Bucket=bucket, Key="stay", Body=b"1")
    lifecycle_cluster.stop_node(index)
    try:
        _put_rules(client, bucket, _rule("r", {"Prefix": "down/"}, Expiration={"Days": 1}))
        assert _wait_for(lambda: _keys(client, bucket) == {"stay"})
    finally:
        lifecycle_cluster.start_node(index)
