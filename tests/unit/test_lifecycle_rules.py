"""The lifecycle rule model shared by the proxy and the nodes: parsing, storage, arithmetic."""

from __future__ import annotations

import pytest

from proxy.s3 import bucket as s3_bucket
from proxy.s3 import headers as s3_headers
from proxy.s3 import multipart as s3_multipart
from proxy.s3.errors import S3Error
from proxy.s3.lifecycle.config_xml import parse_configuration, parse_date, render_configuration
from proxy.s3.xml import to_bytes
from stackstore import lifecycle
from store.lifecycle import s3_layout
from store.lifecycle.bucket import covering_prefixes, parse_listing_time

DAY = 86400


def _doc(*rules: str) -> bytes:
    return ("<LifecycleConfiguration>" + "".join(f"<Rule>{r}</Rule>" for r in rules)
            + "</LifecycleConfiguration>").encode()


def _code(body: bytes) -> str:
    with pytest.raises(S3Error) as err:
        parse_configuration(body)
    return err.value.code


def test_node_layout_matches_the_proxy():
    assert s3_layout.SEGMENTS_SUFFIX == s3_bucket.SEGMENTS_SUFFIX
    assert s3_layout.UPLOAD_TYPE == s3_multipart.UPLOAD_TYPE
    assert s3_layout.SYSMETA_S3_ETAG == s3_headers.SYSMETA_ETAG
    assert lifecycle.OBJECT_TAGGING_SYSMETA == s3_headers.SYSMETA_TAGGING


def test_days_round_up_to_the_next_day_boundary():
    created = 10 * DAY + 3600  # 01:00 UTC
    assert lifecycle.day_boundary_after(created, 1) == 12 * DAY  # the midnight after created + 1 day
    assert lifecycle.day_boundary_after(10 * DAY, 1) == 11 * DAY
    assert lifecycle.day_boundary_after(101.0, 1, day_seconds=2) == 104


def test_filters():
    f = lifecycle.RuleFilter("logs/", (("a", "1"),), 10, 100)
    assert f.matches("logs/x", 50, {"a": "1", "b": "2"})
    assert not f.matches("logs/x", 50, {"a": "2"})
    assert not f.matches("logs/x", 10, {"a": "1"})
    assert not f.matches("logs/x", 100, {"a": "1"})
    assert not f.matches("other/x", 50, {"a": "1"})
    assert f.matches_untagged("logs/x", 50)


def test_sysmeta_round_trip_and_removal():
    rules = parse_configuration(_doc(
        "<ID>r1</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
        "<ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status>"
        "<Expiration><Days>3</Days></Expiration>",
        "<ID>r2</ID><Prefix>q/</Prefix><Status>Disabled</Status>"
        "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>"))
    headers = lifecycle.to_sysmeta(rules)
    assert lifecycle.from_sysmeta(headers) == rules
    short = {k.lower().removeprefix("x-container-sysmeta-"): v for k, v in headers.items() if v}
    assert lifecycle.from_sysmeta(short) == rules
    removal = lifecycle.to_sysmeta(None)
    assert set(removal) == set(headers) and not any(removal.values())
    assert lifecycle.from_sysmeta({}) is None


def test_thousand_rules_fit():
    rules = _doc(*(f"<ID>rule-{i}</ID><Filter><Prefix>dir{i}/</Prefix></Filter><Status>Enabled</Status>"
                   f"<Expiration><Days>{i + 1}</Days></Expiration>" for i in range(1000)))
    parsed = parse_configuration(rules)
    assert lifecycle.from_sysmeta(lifecycle.to_sysmeta(parsed)) == parsed


def test_render_keeps_the_filter_form():
    body = _doc("<ID>a</ID><Prefix>x/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
                "<ID>b</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>"
                "<Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>")
    text = to_bytes(render_configuration(parse_configuration(body))).decode()
    assert "<Rule><ID>a</ID><Prefix>x/</Prefix><Status>Enabled</Status>" in text
    assert "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>" in text
    assert "<Date>2030-01-01T00:00:00.000Z</Date>" in text


@pytest.mark.parametrize(("rule", "code"), [
    ("<ID>r</ID><Prefix/><Status>enabled</Status><Expiration><Days>1</Days></Expiration>", "MalformedXML"),
    ("<ID>r</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>", "MalformedXML"),
    ("<ID>r</ID><Prefix/><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>", "MalformedXML"),
    ("<ID>r</ID><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>"
     "<Expiration><Days>1</Days></Expiration>", "MalformedXML"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><Days>x</Days></Expiration>", "MalformedXML"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>", "InvalidArgument"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01</Date></Expiration>",
     "MalformedXML"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><Date>20200101</Date></Expiration>", "MalformedXML"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><Date>2030-01-01T05:00:00Z</Date></Expiration>",
     "InvalidArgument"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status>", "InvalidRequest"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass>"
     "</Transition>", "InvalidStorageClass"),
    ("<ID>r</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>"
     "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
     "InvalidRequest"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays>"
     "</NoncurrentVersionExpiration>", "InvalidArgument"),
    (f"<ID>{'a' * 256}</ID><Prefix/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
     "InvalidArgument"),
    ("<ID>r</ID><Prefix/><Status>Enabled</Status><Bogus/><Expiration><Days>1</Days></Expiration>", "MalformedXML"),
])
def test_validation(rule, code):
    assert _code(_doc(rule)) == code


def test_duplicate_ids_and_empty_documents():
    rule = "<ID>same</ID><Prefix/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"
    assert _code(_doc(rule, rule)) == "InvalidArgument"
    assert _code(b"<LifecycleConfiguration/>") == "MalformedXML"
    assert _code(b"<NotLifecycle/>") == "MalformedXML"
    assert _code(b"<LifecycleConfiguration><Rule>") == "MalformedXML"


def test_delete_marker_false_round_trips():
    body = _doc("<ID>m</ID><Filter/><Status>Enabled</Status>"
                "<Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>")
    rules = parse_configuration(body)
    assert rules[0].expired_object_delete_marker is False
    assert lifecycle.from_sysmeta(lifecycle.to_sysmeta(rules)) == rules
    text = to_bytes(render_configuration(rules)).decode()
    assert "<Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>" in text
    assert "<Filter><Prefix /></Filter>" in text or "<Filter><Prefix></Prefix></Filter>" in text


def test_generated_id():
    (rule,) = parse_configuration(_doc("<Prefix/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"))
    assert rule.id


def test_dates():
    assert parse_date("2030-01-01") == parse_date("2030-01-01T00:00:00.000Z") == 1893456000
    assert parse_date("2030-01-01T01:00:00+01:00") == 1893456000


def test_listing_helpers():
    assert covering_prefixes(["a/b", "a/", "c", "a/c"]) == ["a/", "c"]
    assert covering_prefixes(["x", ""]) == [""]
    assert parse_listing_time("1970-01-02T00:00:00.000000") == 86400
    assert parse_listing_time("garbage") is None


HOSTILE = [
    b"",
    b"\xff\xfe<",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><LifecycleConfiguration/>',
    _doc("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><Days>99999999999999999999</Days></Expiration>"),
    _doc("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><Date>9999-99-99</Date></Expiration>"),
    _doc("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00+99:99</Date>"
         "</Expiration>"),
    _doc("<ID>r</ID><Filter><And><And/></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days>"
         "</Expiration>"),
    _doc("<ID>r</ID><Filter><ObjectSizeGreaterThan>-1</ObjectSizeGreaterThan></Filter><Status>Enabled</Status>"
         "<Expiration><Days>1</Days></Expiration>"),
    _doc("<ID>r</ID><Filter><Tag><Key>k</Key></Tag></Filter><Status>Enabled</Status>"
         "<Expiration><Days>1</Days></Expiration>"),
    _doc("<ID>r</ID><Prefix/><Status>Enabled</Status><Transition><StorageClass>STANDARD</StorageClass>"
         "</Transition>"),
    _doc("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration/>"),
    _doc("<ID>r</ID><Prefix/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>maybe"
         "</ExpiredObjectDeleteMarker></Expiration>"),
    b"<LifecycleConfiguration>" + b"<Rule><Prefix/></Rule>" * 1001 + b"</LifecycleConfiguration>",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_documents_get_s3_errors(body):
    with pytest.raises(S3Error) as err:
        parse_configuration(body)
    assert err.value.status == 400


def test_mutated_documents_never_crash():
    import random

    base = _doc("<ID>r</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
                "<ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>"
                "<Expiration><Days>1</Days></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
                "</DaysAfterInitiation></AbortIncompleteMultipartUpload>")
    rng = random.Random(16)
    for _ in range(2000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                del data[pos:pos + rng.randint(1, 12)]
            elif choice < 0.7:
                data[pos:pos] = rng.choice([b"<", b">", b"/", b"0", b"-", b"Rule", b"<And>", b"\x00", b"\xc3"])
            else:
                data[pos] = rng.randrange(256)
        try:
            rules = parse_configuration(bytes(data))
        except S3Error as err:
            assert err.status in (400, 404)
        else:
            assert lifecycle.from_sysmeta(lifecycle.to_sysmeta(rules)) == rules
