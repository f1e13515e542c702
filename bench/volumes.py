"""Volume benchmarks (issue 6): for one volume of --size GiB (default 10) with --fill GiB of random data,

- latency (POST → ``available``) of create, snapshot, clone (``source_volid``), create from snapshot;
- sequential write and read MB/s through the iSCSI target (attachments API, CHAP; ``qemu-img convert``);
- backup create and restore MB/s (chunks into the object store).

Against a running cloud (credentials and endpoints from its clouds.yaml and the identity catalog):

    python -m bench.volumes --clouds data/clouds.yaml

On a fresh cloud whose file backend lives on a loop-mounted filesystem (root; reflink vs full copy):

    python -m bench.volumes --mkfs xfs      # reflink snapshots and clones
    python -m bench.volumes --mkfs ext4     # full (sparse) copies
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import _cpu_ticks

GiB = 1024**3
MAX_MICROVERSION = (3, 71)
CONNECTOR = {"initiator": "iqn.1993-08.org.debian:01:stackstore-bench", "ip": "127.0.0.1", "host": "benchhost",
             "platform": "x86_64", "os_type": "linux", "multipath": False, "enforce_multipath": False,
             "do_local_attach": False, "mountpoint": "/dev/vdb", "mode": "rw"}


class Cinder:
    """Cinder v3 of the cloud described by ``clouds.yaml``: token, catalog endpoint, negotiated microversion."""

    def __init__(self, clouds_yaml: Path, cloud: str):
        auth = json.loads(Path(clouds_yaml).read_text())["clouds"][cloud]["auth"]
        token, catalog = issue_token(auth)
        endpoint = catalog_url(catalog, "volumev3")
        self.version = negotiate_microversion(endpoint.rsplit("/v3", 1)[0])
        self.http = httpx.Client(base_url=endpoint, timeout=120, headers={
            "X-Auth-Token": token, "OpenStack-API-Version": f"volume {self.version}"})

    def call(self, method: str, path: str, expect: int, body: dict | None = None) -> dict:
        resp = self.http.request(method, path, json=body)
        if resp.status_code != expect:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:500]}")
        return resp.json() if resp.content else {}

    def wait(self, kind: str, ident: str, status: str, timeout: float, poll: float = 0.02) -> dict:
        """Poll ``/<kind>s/<id>`` until ``status`` (``"gone"``: 404); RuntimeError on an error status."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.http.get(f"/{kind}s/{ident}")
            if resp.status_code == 404 and status == "gone":
                return {}
            resp.raise_for_status()
            obj = resp.json()[kind]
            if obj["status"] == status:
                return obj
            if obj["status"].startswith("error") or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} {ident} is {obj['status']}, waited for {status}")
            time.sleep(poll)

    def timed_create(self, kind: str, body: dict, timeout: float) -> tuple[str, float]:
        """POST ``/<kind>s`` and wait for ``available``: (id, seconds)."""
        start = time.perf_counter()
        ident = self.call("POST", f"/{kind}s", 202, {kind: body})[kind]["id"]
        self.wait(kind, ident, "available", timeout)
        return ident, time.perf_counter() - start

    def delete(self, kind: str, ident: str, timeout: float = 600) -> None:
        self.call("DELETE", f"/{kind}s/{ident}", 202)
        self.wait(kind, ident, "gone", timeout)


def issue_token(auth: dict) -> tuple[str, list]:
    """Password-scoped token and service catalog from the identity service."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"name": auth.get("user_domain_name", "Default")},
        "password": auth["password"]}}}, "scope": {"project": {
            "name": auth["project_name"], "domain": {"name": auth.get("project_domain_name", "Default")}}}}}
    resp = httpx.post(f"{auth['auth_url'].rstrip('/')}/auth/tokens", json=body, timeout=30)
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"], resp.json()["token"]["catalog"]


def catalog_url(catalog: list, service_type: str) -> str:
    for service in catalog:
        if service["type"] == service_type:
            return next(e["url"] for e in service["endpoints"] if e["interface"] == "public")
    raise RuntimeError(f"no {service_type} endpoint in the catalog")


def negotiate_microversion(root: str) -> str:
    """The lower of 3.71 and what the server advertises at its version document."""
    doc = httpx.get(f"{root}/v3", timeout=30).json()
    advertised = tuple(int(x) for x in doc["versions"][0]["version"].split("."))
    major, minor = min(advertised, MAX_MICROVERSION)
    return f"{major}.{minor}"


# -- iSCSI ---------------------------------------------------------------------------------------------

def attach(cinder: Cinder, volume_id: str) -> tuple[str, dict]:
    """Attachment with our connector, marked complete: (attachment id, connection data)."""
    att = cinder.call("POST", "/attachments", 200, {"attachment": {
        "volume_uuid": volume_id, "instance_uuid": None, "connector": CONNECTOR, "mode": "rw"}})["attachment"]
    cinder.call("POST", f"/attachments/{att['id']}/action", 204, {"os-complete": None})
    info = att["connection_info"]
    return att["id"], info.get("data", info)


def iscsi_image_opts(data: dict, length: int) -> str:
    """qemu ``--image-opts`` for the first ``length`` bytes of the LUN (iSCSI driver with CHAP)."""
    return ",".join([f"driver=raw,size={length}", "file.driver=iscsi", "file.transport=tcp",
                     f"file.portal={data['target_portal']}", f"file.target={data['target_iqn']}",
                     f"file.lun={data['target_lun']}", f"file.user={data['auth_username']}",
                     f"file.password={data['auth_password']}",
                     f"file.initiator-name={CONNECTOR['initiator']}"])


def qemu_img(*args: str) -> float:
    """Run ``qemu-img``; seconds it took."""
    start = time.perf_counter()
    proc = subprocess.run(["qemu-img", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"qemu-img {args[0]} failed: {proc.stderr.strip()[-1000:]}")
    return time.perf_counter() - start


def iscsi_write(data: dict, source: Path) -> float:
    """Copy ``source`` onto the start of the LUN (no zero detection: every byte goes over iSCSI)."""
    return qemu_img("convert", "-n", "-f", "raw", "-t", "writeback", "-W",
                    "--target-image-opts", str(source), iscsi_image_opts(data, source.stat().st_size))


def iscsi_read(data: dict, length: int) -> float:
    """Read the first ``length`` bytes of the LUN into qemu's null driver."""
    return qemu_img("convert", "-n", "--image-opts", "--target-image-opts",
                    iscsi_image_opts(data, length), f"driver=null-co,size={length}")


def with_cpu(transfer: Callable[[], float], portal: str) -> tuple[float, str]:
    """(seconds, CPU note): CPU seconds of qemu-img (our children) and of the tgtd serving ``portal``."""
    tgtd = f"portal={portal}"
    tgtd_before, children_before = _cpu_ticks(tgtd), resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = transfer()
    tgtd_after, children_after = _cpu_ticks(tgtd), resource.getrusage(resource.RUSAGE_CHILDREN)
    tgtd_cpu = sum(t - tgtd_before.get(pid, 0) for pid, t in tgtd_after.items()) / os.sysconf("SC_CLK_TCK")
    qemu_cpu = sum(getattr(children_after, f) - getattr(children_before, f) for f in ("ru_utime", "ru_stime"))
    return seconds, f"; CPU s: tgtd {tgtd_cpu:.1f}, qemu-img {qemu_cpu:.1f}"


def drop_file_cache(path: Path) -> None:
    """Evict one file's pages (root not needed, only this file), so reads come from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def random_source(directory: Path, size: int) -> Path:
    """A file of ``size`` random (incompressible, non-zero) bytes to write through iSCSI."""
    path = directory / "bench-volume-source.raw"
    block = 64 * 1024**2
    with open(path, "wb") as fh:
        for offset in range(0, size, block):
            fh.write(os.urandom(min(block, size - offset)))
    return path


# -- the benchmark -------------------------------------------------------------------------------------

class Report:
    """Rows printed as they come and kept for the closing table."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float]] = []

    def latency(self, name: str, seconds: list[float]) -> None:
        ms = sorted(s * 1000 for s in seconds)
        text = f"{statistics.median(ms):9.0f} ms" + (f"  (min {ms[0]:.0f}, max {ms[-1]:.0f}, n={len(ms)})"
                                                      if len(ms) > 1 else "")
        self._add(name, text)

    def rate(self, name: str, nbytes: int, seconds: float, note: str = "") -> None:
        self._add(name, f"{nbytes / seconds / 1e6:9.1f} MB/s  ({nbytes / GiB:.1f} GiB in {seconds:.1f} s{note})")

    def _add(self, name: str, text: str) -> None:
        load = os.getloadavg()[0]
        self.rows.append((name, text, load))
        print(f"  {name:34s} {text}  [load {load:.1f}]", flush=True)

    def table(self, title: str) -> None:
        print(f"\n# {title}\n| measurement | result | load average (1 min) |\n|---|---|---|")
        for name, text, load in self.rows:
            print(f"| {name} | {' '.join(text.split())} | {load:.1f} |")


class VolumeBench:
    """The issue-6 measurements on one cloud; everything it creates is deleted at the end."""

    def __init__(self, cinder: Cinder, args: argparse.Namespace, file_dir: Path | None):
        self.cinder, self.args, self.file_dir = cinder, args, file_dir
        self.size_gb, self.fill = args.size, int(args.fill * GiB)
        self.report = Report()
        self.cleanup: list[tuple[str, str]] = []  # (kind, id), deleted in reverse order

    def run(self, workdir: Path) -> Report:
        try:
            self.measure(workdir)
        finally:
            self.delete_all()
        return self.report

    def measure(self, workdir: Path) -> None:
        a, timeout = self.args, self.args.timeout
        created = [self.create_volume({"size": self.size_gb, "name": f"bench-empty-{i}"}) for i in range(a.repeat)]
        self.report.latency(f"create {self.size_gb} GiB (empty)", [t for _, t in created])
        for vol_id, _ in created[1:]:
            self.delete_now("volume", vol_id)
        source_vol = created[0][0]
        self.iscsi_phase(source_vol, random_source(workdir, self.fill))
        snaps = [self.timed("snapshot", {"volume_id": source_vol, "name": f"bench-snap-{i}"}, timeout)
                 for i in range(a.repeat)]
        self.report.latency(f"snapshot ({a.fill:g} GiB written)", [t for _, t in snaps])
        for snap_id, _ in snaps[1:]:
            self.delete_now("snapshot", snap_id)
        self.latency_of_volumes("clone (source_volid)", {"source_volid": source_vol})
        self.latency_of_volumes("create from snapshot", {"snapshot_id": snaps[0][0]})
        self.backup_phase(source_vol)

    def create_volume(self, body: dict) -> tuple[str, float]:
        return self.timed("volume", body, self.args.timeout)

    def timed(self, kind: str, body: dict, timeout: float) -> tuple[str, float]:
        ident, seconds = self.cinder.timed_create(kind, body, timeout)
        self.cleanup.append((kind, ident))
        return ident, seconds

    def latency_of_volumes(self, name: str, source: dict) -> None:
        """``--repeat`` volumes made from ``source``, each deleted once measured (disk space on ext4)."""
        times = []
        for i in range(self.args.repeat):
            vol_id, seconds = self.create_volume({"size": self.size_gb, "name": f"bench-{i}", **source})
            times.append(seconds)
            self.delete_now("volume", vol_id)
        self.report.latency(name, times)

    def iscsi_phase(self, volume_id: str, source: Path) -> None:
        att_id, data = attach(self.cinder, volume_id)
        try:
            seconds, cpu = with_cpu(lambda: iscsi_write(data, source), data["target_portal"])
            self.report.rate("iSCSI sequential write", self.fill, seconds, cpu)
            cold = self.file_dir is not None
            if cold:
                drop_file_cache(self.file_dir / f"volume-{volume_id}")
            seconds, cpu = with_cpu(lambda: iscsi_read(data, self.fill), data["target_portal"])
            cache = "backing file not cached" if cold else "backing file may be in the page cache"
            self.report.rate("iSCSI sequential read", self.fill, seconds, f"{cpu}, {cache}")
        finally:
            self.cinder.call("DELETE", f"/attachments/{att_id}", 200)
            source.unlink(missing_ok=True)

    def backup_phase(self, volume_id: str) -> None:
        size = self.size_gb * GiB
        backup_id, seconds = self.timed("backup", {"volume_id": volume_id, "name": "bench-backup"},
                                        self.args.timeout)
        self.report.rate("backup create (volume size)", size, seconds, f"; {self.fill / seconds / 1e6:.1f} MB/s "
                         f"of non-zero data")
        start = time.perf_counter()
        restored = self.cinder.call("POST", f"/backups/{backup_id}/restore", 202,
                                    {"restore": {"name": "bench-restored"}})["restore"]["volume_id"]
        self.cleanup.append(("volume", restored))
        self.cinder.wait("volume", restored, "available", self.args.timeout, poll=0.1)
        self.cinder.wait("backup", backup_id, "available", self.args.timeout, poll=0.1)
        seconds = time.perf_counter() - start
        self.report.rate("backup restore (new volume)", size, seconds,
                         f"; {self.fill / seconds / 1e6:.1f} MB/s of non-zero data")

    def delete_now(self, kind: str, ident: str) -> None:
        self.cinder.delete(kind, ident)
        self.cleanup.remove((kind, ident))

    def delete_all(self) -> None:
        for kind, ident in reversed(self.cleanup):
            try:
                self.cinder.delete(kind, ident)
            except Exception as exc:  # keep deleting the rest
                print(f"bench: could not delete {kind} {ident}: {exc}", file=sys.stderr)
        self.cleanup.clear()


def run_bench(args: argparse.Namespace, clouds: Path, file_dir: Path | None, label: str) -> Report:
    cinder = Cinder(clouds, args.cloud)
    print(f"# volumes: {args.size} GiB volume, {args.fill:g} GiB written, repeat {args.repeat}, {label}, "
          f"microversion {cinder.version}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
          flush=True)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    report = VolumeBench(cinder, args, file_dir).run(workdir)
    print(f"# load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report.table(label)
    return report


def with_mkfs(args: argparse.Namespace, bench: Callable[[Path, Path | None, str], Any]) -> None:
    from bench.volumes_cloud import CloudPorts, bench_cloud

    with bench_cloud(args.mkfs, Path(args.workdir), args.image_size, CloudPorts(args.base_port)) as (clouds, fdir):
        source = subprocess.run(["findmnt", "-no", "SOURCE,FSTYPE", str(fdir.parent)], capture_output=True,
                                text=True).stdout.split()
        bench(clouds, fdir, f"file backend on {' '.join(source)} (direct-I/O loop device), fresh cloud")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clouds", default="data/clouds.yaml", help="clouds.yaml of a running cloud")
    parser.add_argument("--cloud", default="stackstore", help="cloud name in clouds.yaml")
    parser.add_argument("--file-dir", help="the cloud's [volumes] file_dir, when local: reads start uncached")
    parser.add_argument("--size", type=int, default=10, help="volume size in GiB")
    parser.add_argument("--fill", type=float, default=2.0, help="GiB of random data written through iSCSI")
    parser.add_argument("--repeat", type=int, default=3, help="samples per latency")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for one operation")
    parser.add_argument("--workdir", default="/var/tmp/stackstore-bench-volumes",
                        help="source data file; with --mkfs also the image, mount and data dir (removed after)")
    parser.add_argument("--mkfs", choices=["xfs", "ext4", "btrfs"],
                        help="start a fresh cloud with file_dir on a new loop-mounted filesystem (root)")
    parser.add_argument("--image-size", default="48G", help="sparse filesystem image size for --mkfs")
    parser.add_argument("--base-port", type=int, default=9400, help="first port of the --mkfs cloud")
    args = parser.parse_args(argv)

    def bench(clouds: Path, file_dir: Path | None, label: str) -> None:
        run_bench(args, clouds, file_dir, label)

    if args.mkfs:
        with_mkfs(args, bench)
    else:
        bench(Path(args.clouds), Path(args.file_dir) if args.file_dir else None, f"cloud of {args.clouds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
