"""Real S3 clients: awscli (s3 cp/sync/ls, s3api), s3cmd and rclone against the endpoint."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.s3.conftest import ACCESS_KEY, SECRET

MIB = 1024 * 1024


def _tree(root: Path) -> dict[str, bytes]:
    root.mkdir(parents=True, exist_ok=True)
    files = {"a.txt": b"alpha\n", "dir/b.bin": os.urandom(300_000), "dir/sub/c with space.txt": b"c" * 10,
             "big.bin": os.urandom(9 * MIB), "empty": b""}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def _aws_env(tmp: Path, when_required: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp / "aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp / "aws-creds"))
    cfg = "[default]\ns3 =\n  addressing_style = path\n"
    if when_required:
        cfg += "request_checksum_calculation = when_required\nresponse_checksum_validation = when_required\n"
    (tmp / "aws-config").write_text(cfg)
    return env


def _aws() -> list[str]:
    venv_aws = Path(sys.executable).parent / "aws"
    return [str(venv_aws)] if venv_aws.exists() else [require_tool("aws")]


def _run(cmd: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, **kw)
    assert proc.returncode == 0, f"{cmd}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc


@pytest.mark.parametrize("when_required", [False, True])
def test_awscli(s3, tmp_path, when_required):
    env = _aws_env(tmp_path, when_required)
    aws = _aws() + ["--endpoint-url", s3.url]
    bucket = "awscli-" + os.urandom(4).hex()
    src = tmp_path / "src"
    files = _tree(src)
    _run(aws + ["s3", "mb", f"s3://{bucket}"], env)
    _run(aws + ["s3", "cp", str(src / "big.bin"), f"s3://{bucket}/big.bin"], env)
    out = _run(aws + ["s3api", "head-object", "--bucket", bucket, "--key", "big.bin"], env)
    etag = json.loads(out.stdout)["ETag"].strip('"')
    parts = [files["big.bin"][i:i + 8 * MIB] for i in range(0, len(files["big.bin"]), 8 * MIB)]
    assert etag == hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    first = _run(aws + ["s3", "sync", str(src), f"s3://{bucket}/tree"], env)
    assert first.stdout.count("upload:") == len(files)
    second = _run(aws + ["s3", "sync", str(src), f"s3://{bucket}/tree"], env)
    assert "upload:" not in second.stdout
    listing = _run(aws + ["s3", "ls", "--recursive", f"s3://{bucket}/tree/"], env).stdout
    assert "dir/sub/c with space.txt" in listing
    dst = tmp_path / "dst"
    _run(aws + ["s3", "cp", "--recursive", f"s3://{bucket}/tree", str(dst)], env)
    for rel, data in files.items():
        assert (dst / rel).read_bytes() == data, rel
    _run(aws + ["s3api", "put-object", "--bucket", bucket, "--key", "api", "--body", str(src / "a.txt"),
                "--metadata", "one=1"], env)
    meta = json.loads(_run(aws + ["s3api", "head-object", "--bucket", bucket, "--key", "api"], env).stdout)
    assert meta["Metadata"] == {"one": "1"}
    _run(aws + ["s3", "rb", "--force", f"s3://{bucket}"], env)


def test_s3cmd(s3, tmp_path):
    s3cmd = require_tool("s3cmd")
    hostport = s3.url.split("://", 1)[1]
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET}\nhost_base = {hostport}\n"
                   f"host_bucket = {hostport}\nuse_https = False\nbucket_location = us-east-1\n"
                   "signature_v2 = False\n")
    base = [s3cmd, "-c", str(cfg)]
    bucket = "s3cmd-" + os.urandom(4).hex()
    src = tmp_path / "src"
    files = _tree(src)
    _run(base + ["mb", f"s3://{bucket}"])
    _run(base + ["put", "--multipart-chunk-size-mb=5", str(src / "big.bin"), f"s3://{bucket}/big.bin"])
    _run(base + ["put", "--recursive", str(src) + "/", f"s3://{bucket}/tree/"])
    ls = _run(base + ["ls", f"s3://{bucket}/"]).stdout
    assert "big.bin" in ls and "tree/" in ls
    _run(base + ["get", f"s3://{bucket}/big.bin", str(tmp_path / "big.out")])
    assert (tmp_path / "big.out").read_bytes() == files["big.bin"]
    _run(base + ["del", "--recursive", "--force", f"s3://{bucket}"])
    _run(base + ["rb", f"s3://{bucket}"])


def test_rclone(s3, tmp_path):
    rclone = require_tool("rclone")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update(RCLONE_CONFIG_S3T_TYPE="s3", RCLONE_CONFIG_S3T_PROVIDER="Other",
               RCLONE_CONFIG_S3T_ACCESS_KEY_ID=ACCESS_KEY, RCLONE_CONFIG_S3T_SECRET_ACCESS_KEY=SECRET,
               RCLONE_CONFIG_S3T_ENDPOINT=s3.url, RCLONE_CONFIG_S3T_REGION="us-east-1",
               RCLONE_CONFIG=str(tmp_path / "rclone.conf"))
    bucket = "rclone-" + os.urandom(4).hex()
    src = tmp_path / "src"
    files = _tree(src)
    flags = ["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "-q"]
    _run([rclone, "mkdir", f"s3t:{bucket}"], env)
    _run([rclone, "copy", str(src), f"s3t:{bucket}/tree"] + flags, env)
    _run([rclone, "check", str(src), f"s3t:{bucket}/tree"], env)
    _run([rclone, "sync", str(src), f"s3t:{bucket}/tree"] + flags, env)
    cat = _run([rclone, "cat", "--offset", "1", "--count", "3", f"s3t:{bucket}/tree/a.txt"], env).stdout
    assert cat == "lph"
    listed = _run([rclone, "lsf", "-R", "--files-only", f"s3t:{bucket}/tree"], env).stdout.splitlines()
    assert sorted(listed) == sorted(files)
    dst = tmp_path / "dst"
    _run([rclone, "copy", f"s3t:{bucket}/tree", str(dst)] + flags, env)
    for rel, data in files.items():
        assert (dst / rel).read_bytes() == data, rel
    _run([rclone, "purge", f"s3t:{bucket}"], env)


def test_awscli_over_tls(s3, tmp_path):
    """aws s3 cp over HTTPS: aws-chunked uploads with CRC32 trailers, single and multipart."""
    env = _aws_env(tmp_path)
    env["AWS_CA_BUNDLE"] = s3.cafile or ""
    aws = _aws() + ["--endpoint-url", s3.tls_url]
    bucket = "awstls-" + os.urandom(4).hex()
    src = tmp_path / "src"
    files = _tree(src)
    _run(aws + ["s3", "mb", f"s3://{bucket}"], env)
    for name in ("a.txt", "big.bin"):
        _run(aws + ["s3", "cp", str(src / name), f"s3://{bucket}/{name}"], env)
        _run(aws + ["s3", "cp", f"s3://{bucket}/{name}", str(tmp_path / f"{name}.out")], env)
        assert (tmp_path / f"{name}.out").read_bytes() == files[name]
    _run(aws + ["s3", "rb", "--force", f"s3://{bucket}"], env)
