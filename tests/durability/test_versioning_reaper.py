"""The segment reaper keeps the parts an S3 object version names (proxy/versioning/: versions live in
the bucket's hidden versions container), while an orphan in the same bucket goes."""

from __future__ import annotations

import time

from tests.durability.test_replication_support import Client, wait_until
from tests.durability.test_segment_reaper import GRACE, PART, TIMEOUT, cluster, multipart, segment_names
from tests.s3.conftest import make_client

__all__ = ["cluster"]  # the fixture, imported for this module's test


def test_parts_of_a_noncurrent_version_survive_the_reaper(cluster):
    s3 = make_client(cluster.proxy_url)
    swift = Client(cluster)
    s3.create_bucket(Bucket="vkept")
    s3.put_bucket_versioning(Bucket="vkept", VersioningConfiguration={"Status": "Enabled"})
    multipart(s3, "vkept", "big", b"V")
    first = s3.list_object_versions(Bucket="vkept")["Versions"][0]["VersionId"]
    s3.put_object(Bucket="vkept", Key="big", Body=b"newer")  # the multipart version becomes noncurrent
    orphan = multipart(s3, "vkept", "orphan", b"X", complete=False)
    assert swift.delete("vkept+segments", f"orphan/{orphan}") == 204
    expected = {name for name in segment_names(swift, "vkept") if not name.startswith("orphan/")}
    assert len(expected) == 2  # the noncurrent version's two parts

    wait_until(lambda: segment_names(swift, "vkept") != expected, TIMEOUT, 1.0)
    time.sleep(2 * GRACE)
    assert segment_names(swift, "vkept") == expected
    body = s3.get_object(Bucket="vkept", Key="big", VersionId=first)["Body"].read()
    assert body == b"V" * PART + b"V" * 1000
