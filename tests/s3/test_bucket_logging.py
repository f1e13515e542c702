"""S3 server access logging end to end: Put/GetBucketLogging and the log objects the proxy delivers into the
target bucket (boto3 against a real cloud whose proxy flushes access logs every second)."""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Callable

import httpx
import pytest

from tests.harness import Cluster
from tests.s3.conftest import SECRET, cleanup, error_code, make_client, wait_until

WAIT = 30.0
LOG_KEY = re.compile(r"^logs/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$")
TIME_FIELD = re.compile(r"^\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\]$")
CANONICAL = re.compile(r"^[0-9a-f]{64}$")
# field positions of a record (AWS's server access log format)
(OWNER, BUCKET, TIME, REMOTE_IP, REQUESTER, REQUEST_ID, OPERATION, KEY, URI, STATUS, ERROR, BYTES_SENT, OBJECT_SIZE,
 TOTAL_MS, TURNAROUND_MS, REFERER, USER_AGENT, VERSION_ID, HOST_ID, SIGNATURE, CIPHER, AUTH_TYPE, HOST, TLS_VERSION,
 ACCESS_POINT, ACL_REQUIRED, REGION) = range(27)


@pytest.fixture(scope="module")
def log_cluster(tmp_path_factory):
    cluster = Cluster.object_store_only(tmp_path_factory.mktemp("bucketlog"),
                                        s3={"access_log_flush_seconds": 1.0}).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def client(log_cluster):
    return make_client(log_cluster.proxy_url, when_required=True)


@pytest.fixture
def buckets(client):
    """(source, target) buckets of test:tester."""
    names = ["src-" + os.urandom(5).hex(), "logs-" + os.urandom(5).hex()]
    for name in names:
        client.create_bucket(Bucket=name)
    yield names
    for name in names:
        try:
            client.put_bucket_logging(Bucket=name, BucketLoggingStatus={})
        except Exception:  # best effort
            pass
        cleanup(client, name)


def _enable(client, source: str, target: str, prefix: str = "logs/", **key_format) -> None:
    enabled: dict = {"TargetBucket": target, "TargetPrefix": prefix}
    if key_format:
        enabled["TargetObjectKeyFormat"] = key_format
    client.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": enabled})


def parse_record(line: str) -> list[str]:
    """The fields of one record: bracketed time and quoted fields kept whole."""
    time_field = re.search(r"\[[^\]]*\]", line)
    assert time_field is not None, line
    before, after = line[:time_field.start()].split(), shlex.split(line[time_field.end():], posix=False)
    return before + [time_field.group(0)] + [f[1:-1] if f.startswith('"') else f for f in after]


def _records(client, target: str, prefix: str = "") -> tuple[list[str], list[list[str]]]:
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=target, Prefix=prefix).get("Contents", [])]
    lines = []
    for key in keys:
        lines += client.get_object(Bucket=target, Key=key)["Body"].read().decode().splitlines()
    return keys, [parse_record(line) for line in lines if line]


def _wait_for(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    return wait_until(check, timeout)


def _wait_records(client, target: str, want: Callable[[list[list[str]]], bool], prefix: str = ""):
    found: dict = {}

    def check() -> bool:
        found["keys"], found["records"] = _records(client, target, prefix)
        return want(found["records"])

    assert _wait_for(check), found
    return found["keys"], found["records"]


def test_get_logging_empty_then_as_put(client, buckets):
    source, target = buckets
    assert "LoggingEnabled" not in client.get_bucket_logging(Bucket=source)
    _enable(client, source, target)
    enabled = client.get_bucket_logging(Bucket=source)["LoggingEnabled"]
    assert enabled["TargetBucket"] == target and enabled["TargetPrefix"] == "logs/"
    assert "TargetObjectKeyFormat" not in enabled  # answered as put
    _enable(client, source, target, SimplePrefix={})
    assert client.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetObjectKeyFormat"] == \
        {"SimplePrefix": {}}
    client.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    assert "LoggingEnabled" not in client.get_bucket_logging(Bucket=source)


def test_target_grants_kept(client, buckets):
    source, target = buckets
    owner = client.get_bucket_acl(Bucket=source)["Owner"]["ID"]
    client.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": target, "TargetPrefix": "g/",
        "TargetGrants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "READ"}]}})
    grants = client.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetGrants"]
    assert grants == [{"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "READ"}]


def test_bad_targets(client, buckets, log_cluster):
    source, target = buckets
    assert error_code(_enable, client, source, "no-such-bucket-" + os.urandom(4).hex()) == \
        "InvalidTargetBucketForLogging"
    other = make_client(log_cluster.proxy_url, key="test2:tester2", secret="testing2")
    foreign = "foreign-" + os.urandom(5).hex()
    other.create_bucket(Bucket=foreign)
    try:
        assert error_code(_enable, client, source, foreign) == "InvalidTargetBucketForLogging"
        # only the owner may configure logging
        assert error_code(_enable, other, source, foreign) == "AccessDenied"
    finally:
        cleanup(other, foreign)
    assert error_code(client.put_bucket_logging, Bucket="no-such-src-" + os.urandom(4).hex(),
                      BucketLoggingStatus={}) == "NoSuchBucket"
    # a target that logs into the source is allowed, as AWS allows it
    _enable(client, source, target)
    _enable(client, target, source)


@pytest.mark.parametrize("body", [
    b"<BucketLoggingStatus><LoggingEnabled><TargetPrefix>x</TargetPrefix></LoggingEnabled></BucketLoggingStatus>",
    b"<NotLogging/>",
    b"not xml",
])
def test_malformed(client, buckets, body):
    source, target = buckets

    def put(params, **kwargs):
        params["body"] = body

    client.meta.events.register("before-call.s3.PutBucketLogging", put)
    try:
        assert error_code(_enable, client, source, target) == "MalformedXML"
    finally:
        client.meta.events.unregister("before-call.s3.PutBucketLogging", put)


def test_both_key_formats_malformed(client, buckets):
    source, target = buckets
    assert error_code(_enable, client, source, target, SimplePrefix={},
                      PartitionedPrefix={"PartitionDateSource": "EventTime"}) == "MalformedXML"


def test_requests_are_logged(client, buckets, log_cluster):
    source, target = buckets
    _enable(client, source, target)
    client.put_object(Bucket=source, Key="dir/a b.txt", Body=b"hello world")
    client.get_object(Bucket=source, Key="dir/a b.txt")["Body"].read()
    client.head_object(Bucket=source, Key="dir/a b.txt")
    client.delete_object(Bucket=source, Key="dir/a b.txt")
    assert error_code(client.get_object, Bucket=source, Key="missing") == "NoSuchKey"
    other = make_client(log_cluster.proxy_url, key="test2:tester2", secret="testing2")
    assert error_code(other.get_object, Bucket=source, Key="secret") == "AccessDenied"
    httpx.get(f"{log_cluster.proxy_url}/{source}/anon", headers={"User-Agent": "anon-agent"})
    owner = client.get_bucket_acl(Bucket=source)["Owner"]["ID"]

    def complete(records: list[list[str]]) -> bool:
        ops = [r[OPERATION] for r in records]
        return all(op in ops for op in ("REST.PUT.OBJECT", "REST.GET.OBJECT", "REST.HEAD.OBJECT",
                                        "REST.DELETE.OBJECT")) and sum(r[KEY] in ("missing", "secret", "anon")
                                                                         for r in records) >= 3

    keys, records = _wait_records(client, target, complete)
    assert all(LOG_KEY.match(k) for k in keys), keys
    for r in records:
        assert len(r) == 27, r
        assert r[OWNER] == owner and r[BUCKET] == source and TIME_FIELD.match(r[TIME]), r
        assert r[REMOTE_IP] == "127.0.0.1"
    by_op = {(r[OPERATION], r[KEY]): r for r in records}
    put = by_op[("REST.PUT.OBJECT", "dir/a%20b.txt")]
    assert put[REQUESTER] == owner and put[URI] == f"PUT /{source}/dir/a%20b.txt HTTP/1.1"
    assert put[STATUS] == "200" and put[ERROR] == "-" and put[OBJECT_SIZE] == "11"
    assert put[SIGNATURE] == "SigV4" and put[AUTH_TYPE] == "AuthHeader"
    assert put[HOST] == log_cluster.proxy_url.split("://")[1]
    get = by_op[("REST.GET.OBJECT", "dir/a%20b.txt")]
    assert get[STATUS] == "200" and get[BYTES_SENT] == "11" and get[OBJECT_SIZE] == "11"
    assert CANONICAL.match(get[REQUESTER]) and get[REQUEST_ID] and get[HOST_ID]
    assert int(get[TOTAL_MS]) >= int(get[TURNAROUND_MS]) >= 0
    head = by_op[("REST.HEAD.OBJECT", "dir/a%20b.txt")]
    assert head[STATUS] == "200" and head[BYTES_SENT] == "-"
    assert by_op[("REST.DELETE.OBJECT", "dir/a%20b.txt")][STATUS] == "204"
    missing = by_op[("REST.GET.OBJECT", "missing")]
    assert missing[STATUS] == "404" and missing[ERROR] == "NoSuchKey"
    denied = by_op[("REST.GET.OBJECT", "secret")]
    assert denied[STATUS] == "403" and denied[ERROR] == "AccessDenied" and CANONICAL.match(denied[REQUESTER])
    assert denied[REQUESTER] != owner
    anon = by_op[("REST.GET.OBJECT", "anon")]
    assert anon[REQUESTER] == "-" and anon[ERROR] == "AccessDenied" and anon[SIGNATURE] == "-"
    assert anon[USER_AGENT] == "anon-agent"

    # disabled: nothing more is logged
    client.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    client.put_object(Bucket=source, Key="after-disable", Body=b"x")
    time.sleep(3)
    _, records = _records(client, target)
    assert not any(r[KEY] == "after-disable" for r in records)


def test_bucket_operations_named(client, buckets):
    source, target = buckets
    _enable(client, source, target)
    client.list_objects_v2(Bucket=source)
    client.get_bucket_logging(Bucket=source)
    client.get_bucket_versioning(Bucket=source)
    _, records = _wait_records(client, target, lambda rs: {"REST.GET.BUCKET", "REST.GET.LOGGING_STATUS",
                                                           "REST.GET.VERSIONING"} <= {r[OPERATION] for r in rs})
    listing = next(r for r in records if r[OPERATION] == "REST.GET.BUCKET")
    assert listing[KEY] == "-" and listing[URI].startswith(f"GET /{source}?list-type=2")


def test_presigned_signature_never_logged(client, buckets, log_cluster):
    source, target = buckets
    _enable(client, source, target)
    client.put_object(Bucket=source, Key="shared", Body=b"data")
    url = client.generate_presigned_url("get_object", Params={"Bucket": source, "Key": "shared"})
    signature = re.search(r"X-Amz-Signature=([0-9a-f]+)", url).group(1)
    assert httpx.get(url).content == b"data"
    v2 = make_client(log_cluster.proxy_url, signature_version="s3")
    v2_url = v2.generate_presigned_url("get_object", Params={"Bucket": source, "Key": "shared"})
    assert httpx.get(v2_url).content == b"data"
    _, records = _wait_records(client, target, lambda rs: sum(r[AUTH_TYPE] == "QueryString" for r in rs) >= 2)
    presigned = [r for r in records if r[AUTH_TYPE] == "QueryString"]
    assert {r[SIGNATURE] for r in presigned} == {"SigV2", "SigV4"}
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=target)["Contents"]]
    raw = b"".join(client.get_object(Bucket=target, Key=k)["Body"].read() for k in keys).decode()
    assert signature not in raw and SECRET not in raw and "Authorization" not in raw
    assert "X-Amz-Signature=REDACTED" in raw and "Signature=REDACTED" in raw
    assert "X-Amz-Credential=" in raw  # the rest of the query is kept, as AWS logs it


@pytest.mark.parametrize("source_of_date", ["EventTime", "DeliveryTime"])
def test_partitioned_prefix(client, buckets, source_of_date):
    source, target = buckets
    _enable(client, source, target, prefix="p/", PartitionedPrefix={"PartitionDateSource": source_of_date})
    got = client.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetObjectKeyFormat"]
    assert got == {"PartitionedPrefix": {"PartitionDateSource": source_of_date}}
    client.put_object(Bucket=source, Key="k", Body=b"1")
    keys, _ = _wait_records(client, target, lambda rs: any(r[OPERATION] == "REST.PUT.OBJECT" for r in rs), prefix="p/")
    pattern = re.compile(rf"^p/test/us-east-1/{source}/(\d{{4}})/(\d{{2}})/(\d{{2}})/"
                         r"(\d{4})-(\d{2})-(\d{2})-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$")
    for key in keys:
        match = pattern.match(key)
        assert match, key
        assert match.group(1, 2, 3) == match.group(4, 5, 6)


def test_bad_signature_logged_swift_not(client, buckets, log_cluster):
    source, target = buckets
    _enable(client, source, target)
    forged = make_client(log_cluster.proxy_url, secret="not-the-secret")
    assert error_code(forged.get_object, Bucket=source, Key="forged") == "SignatureDoesNotMatch"
    storage_url, token = log_cluster.auth("test:tester", "testing")
    swift = httpx.put(f"{storage_url}/{source}/via-swift", content=b"s", headers={"X-Auth-Token": token})
    assert swift.status_code == 201
    client.put_object(Bucket=source, Key="via-s3", Body=b"s")
    _, records = _wait_records(client, target, lambda rs: {"forged", "via-s3"} <= {r[KEY] for r in rs})
    forged_record = next(r for r in records if r[KEY] == "forged")
    assert forged_record[STATUS] == "403" and forged_record[ERROR] == "SignatureDoesNotMatch"
    assert forged_record[REQUESTER] == "-" and forged_record[OPERATION] == "REST.GET.OBJECT"
    assert forged_record[SIGNATURE] == "SigV4" and forged_record[AUTH_TYPE] == "AuthHeader"
    assert "not-the-secret" not in " ".join(" ".join(r) for r in records)
    assert not any(r[KEY] == "via-swift" for r in records)  # AWS logs S3 requests only


@pytest.fixture(scope="module")
def slow_flush_cluster(tmp_path_factory):
    cluster = Cluster.object_store_only(tmp_path_factory.mktemp("bucketlog-slow"),
                                        s3={"access_log_flush_seconds": 3600.0,
                                            "access_log_object_bytes": 4000}).start()
    yield cluster
    cluster.stop()


def test_records_delivered_when_the_proxy_stops(slow_flush_cluster):
    c = make_client(slow_flush_cluster.proxy_url, when_required=True)
    source, target = "src-" + os.urandom(5).hex(), "logs-" + os.urandom(5).hex()
    for name in (source, target):
        c.create_bucket(Bucket=name)
    _enable(c, source, target)
    c.put_object(Bucket=source, Key="before-stop", Body=b"x")
    time.sleep(1)
    assert "Contents" not in c.list_objects_v2(Bucket=target)  # an hour between flushes
    slow_flush_cluster.cloud.stop_service("proxy")
    slow_flush_cluster.cloud.start_service("proxy")
    _, records = _wait_records(c, target, lambda rs: any(r[KEY] == "before-stop" for r in rs))
    assert next(r for r in records if r[KEY] == "before-stop")[STATUS] == "200"


def test_a_full_batch_is_written_at_once(slow_flush_cluster):
    c = make_client(slow_flush_cluster.proxy_url, when_required=True)
    source, target = "src-" + os.urandom(5).hex(), "logs-" + os.urandom(5).hex()
    for name in (source, target):
        c.create_bucket(Bucket=name)
    _enable(c, source, target)
    for _ in range(20):  # ~400 bytes a record: past the 4000-byte batch, long before the hourly flush
        c.head_bucket(Bucket=source)
    _, records = _wait_records(c, target, lambda rs: len(rs) >= 5)
    assert all(r[OPERATION] == "REST.HEAD.BUCKET" for r in records)


def test_copy_logged_in_both_buckets(client, buckets):
    source, target = buckets
    plain = "plain-" + os.urandom(5).hex()
    client.create_bucket(Bucket=plain)
    try:
        _enable(client, source, target)
        client.put_object(Bucket=source, Key="orig", Body=b"copied bytes")
        client.copy_object(Bucket=plain, Key="out", CopySource={"Bucket": source, "Key": "orig"})
        client.copy_object(Bucket=source, Key="dup", CopySource={"Bucket": source, "Key": "orig"})
        _, records = _wait_records(client, target, lambda rs: sum(r[OPERATION] == "REST.COPY.OBJECT_GET"
                                                                  for r in rs) >= 2)
        gets = [r for r in records if r[OPERATION] == "REST.COPY.OBJECT_GET"]
        assert {(r[BUCKET], r[KEY]) for r in gets} == {(source, "orig")}
        assert {r[URI].split()[1] for r in gets} == {f"/{plain}/out", f"/{source}/dup"}
        copies = [r for r in records if r[OPERATION] == "REST.COPY.OBJECT"]
        assert [(r[BUCKET], r[KEY], r[STATUS]) for r in copies] == [(source, "dup", "200")]
        assert not any(r[BUCKET] == plain for r in records)  # the plain bucket does not log
    finally:
        cleanup(client, plain)


def test_post_object_preflight_and_website_logged(client, buckets, log_cluster):
    """Successful browser form uploads, CORS preflights and website reads are logged, not only their errors."""
    from types import SimpleNamespace

    from tests.s3.test_post_object import _post, _v4_fields

    source, target = buckets
    _enable(client, source, target)
    endpoint = SimpleNamespace(url=log_cluster.proxy_url)
    posted = _post(endpoint, source, {"key": "form.txt", **_v4_fields([["starts-with", "$key", ""]], source)})
    assert posted.status_code == 204, posted.text
    client.put_bucket_cors(Bucket=source, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"]}]})
    preflight = httpx.options(f"{log_cluster.proxy_url}/{source}/form.txt", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    client.put_bucket_website(Bucket=source, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    site = httpx.get(f"{log_cluster.proxy_url}/form.txt", headers={"Host": f"{source}.s3-website.localhost"})
    assert site.status_code == 403  # not public: the anonymous read is refused, and logged
    site_preflight = httpx.options(f"{log_cluster.proxy_url}/page.html", headers={
        "Host": f"{source}.s3-website.localhost", "Origin": "https://app.example",
        "Access-Control-Request-Method": "GET"})
    assert site_preflight.status_code == 200

    def complete(records: list[list[str]]) -> bool:
        ops = {r[OPERATION] for r in records}
        preflights = {r[KEY] for r in records if r[OPERATION] == "REST.OPTIONS.PREFLIGHT"}
        return {"REST.POST.OBJECT", "WEBSITE.GET.OBJECT"} <= ops and {"form.txt", "page.html"} <= preflights

    _, records = _wait_records(client, target, complete)
    by_op = {r[OPERATION]: r for r in records}
    post = by_op["REST.POST.OBJECT"]
    assert (post[STATUS], post[ERROR], post[KEY]) == ("204", "-", "form.txt")
    assert post[REQUESTER] == client.get_bucket_acl(Bucket=source)["Owner"]["ID"]
    preflights = {r[KEY]: r for r in records if r[OPERATION] == "REST.OPTIONS.PREFLIGHT"}
    options = preflights["form.txt"]
    assert (options[STATUS], options[ERROR], options[REQUESTER]) == ("200", "-", "-")
    web = by_op["WEBSITE.GET.OBJECT"]
    assert (web[STATUS], web[ERROR], web[KEY], web[REQUESTER]) == ("403", "AccessDenied", "form.txt", "-")


def test_a_large_get_logs_every_byte_sent(client, buckets):
    """A large object's body goes from its node to the client in the kernel (proxy/http/relay.py): its
    record still counts every byte sent, whole and ranged."""
    source, target = buckets
    _enable(client, source, target)
    size = 3 << 20
    body = os.urandom(size)
    client.put_object(Bucket=source, Key="big", Body=body)
    assert client.get_object(Bucket=source, Key="big")["Body"].read() == body
    got = client.get_object(Bucket=source, Key="big", Range="bytes=1000-2000999")["Body"].read()
    assert got == body[1000:2001000]

    def complete(records: list[list[str]]) -> bool:
        return sum(r[OPERATION] == "REST.GET.OBJECT" and r[KEY] == "big" for r in records) == 2

    _, records = _wait_records(client, target, complete)
    sent = sorted(int(r[BYTES_SENT]) for r in records if r[OPERATION] == "REST.GET.OBJECT" and r[KEY] == "big")
    assert sent == [2_000_000, size]
    assert all(r[OBJECT_SIZE] == str(size) for r in records if r[KEY] == "big")
