"""One configuration file (TOML) with sane defaults; every value overridable by environment variable.

A value ``[proxy] port`` is overridden by ``STACKSTORE_PROXY_PORT``; nested tables are not
overridable from the environment (users, key pairs) except as whole JSON values.
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Bounds on HTTP input, for every server process; a service's own section may override any key
    # (e.g. ``[store] keep_alive_timeout``). See stackstore/http_limits.py.
    "http": {
        "max_request_line": 8192,  # bytes of method + target + version; longer: 414
        "max_header_line": 8192,  # bytes of one header (name + value); longer: 431 (the proxy: 400, as Swift)
        "max_header_bytes": 65536,  # bytes of the whole request head; more: 431 (the proxy: 400, as Swift)
        "max_header_count": 256,  # header lines per request; more: 431
        "header_timeout": 30.0,  # seconds for a request head to arrive in full (slow-loris); then 408 + close
        "keep_alive_timeout": 5.0,  # seconds an idle keep-alive connection is kept open
        "max_connections": 1000,  # concurrent connections (and requests) per process; beyond: 503
        "max_json_body": 1048576,  # bytes of a JSON request body of the identity/volumes/compute/images APIs
        # addresses (comma-separated, or "*") of load balancers trusted to name the client in X-Forwarded-For and
        # X-Forwarded-Proto; empty: none, the client is the connection's peer (what S3 aws:SourceIp, temp URL IP
        # ranges, login lockouts and access logs see). uvicorn's own default trusts 127.0.0.1, any local process.
        "forwarded_allow_ips": "",
    },
    "cluster": {
        "data_dir": "./data",
        # Secret mixed into every path hash; generated into <data_dir>/hash_path_suffix on first start
        # when left empty. Must be identical on every node of a cluster.
        "hash_path_suffix": "",
        # Key that signs every request to a storage node (stackstore/node_signing.py); empty: generated
        # into <data_dir>/secrets/node_key (0600). Must be identical on every host of a cluster.
        "node_key": "",
        "replicas": 3,
        "part_power": 10,
        "min_part_hours": 1,
        "nodes": 4,  # storage nodes started by `stackstore up` (one more than replicas: room for handoffs)
        "devices_per_node": 1,
        "zones": 4,  # nodes are spread round-robin over this many zones by `stackstore up`
        # seconds between a node's or proxy's checks for newer rings held by peers (the nodes its rings
        # name; objclient/ring_distribution.py); 0: never (rings change only by `stackstore ring push`)
        "ring_check_interval": 30.0,
        # storage nodes also listen on <data_dir>/sockets/node-<port>.sock, and processes of this cloud on the
        # same host reach loopback nodes through them (stackstore/local_sockets.py); off with internal_tls
        "local_sockets": True,
        # TLS between proxies/daemons and storage nodes (stackstore/internal_tls.py, docs/deployment.md):
        # nodes serve HTTPS with the cert/key, every client verifies them against the CA (node IPs in the SAN)
        "internal_tls": False,
        "internal_tls_ca_file": "",
        "internal_tls_cert_file": "",  # this host's certificate (storage nodes)
        "internal_tls_key_file": "",
        # Linux CPU policy of the proxy and the storage nodes (stackstore/cpu_scheduling.py): batch (SCHED_BATCH:
        # a process woken by I/O does not preempt the running one mid-pass) or normal (the inherited policy)
        "cpu_scheduling": "batch",
    },
    "proxy": {
        "host": "127.0.0.1",
        "port": 8080,
        "tls_port": 8443,  # HTTPS listener for the same API (every worker serves it); 0 disables it
        "tls_certfile": "",  # empty: a self-signed certificate generated under <data_dir>/tls/
        "tls_keyfile": "",
        "workers": 1,
        "node_timeout": 10.0,  # seconds to wait for a storage node to answer
        "conn_timeout": 0.5,  # seconds to connect to a storage node
        "concurrency_timeout": 0.5,  # a read not answered by then is also asked of the next replica; 0: off
        "error_suppression_interval": 30.0,  # seconds a failing node is skipped
        "error_suppression_limit": 3,
        "chunk_size": 65536,
        "account_autocreate": True,
        "s3_domain": "localhost",  # virtual-host S3: <bucket>.<s3_domain>
        # domain remap: <container>.<account>.<storage_domain> hosts (comma-separated; empty: off); must not
        # overlap s3_domain (proxy/swift/domain_remap.py)
        "storage_domain": "",
        "domain_remap_path_root": "v1",
        "domain_remap_reseller_prefixes": "AUTH",
        "domain_remap_default_reseller_prefix": "",
        "domain_remap_mangle_client_paths": False,
        "bulk_yield_frequency": 10.0,  # seconds between heartbeat spaces of an extract-archive answer
        # an object GET/HEAD/POST with X-Open-Expired: true reaches an object past its X-Delete-At that the
        # expirer has not deleted yet (Swift's allow_open_expired; proxy/swift/features/open_expired.py)
        "allow_open_expired": False,
        # quoted (RFC 7232) ETags on Swift object answers unless an account or container opts out with
        # X-*-Rfc-Compliant-Etags: false (Swift's etag_quoter enable_by_default; features/etag_quoter.py)
        "etag_quoter_enable_by_default": False,
        "region": "us-east-1",
        # encryption at rest (docs/encryption.md): on → every new object's data and user metadata is
        # encrypted with the cluster keys (Swift's `encryption` middleware; S3 objects as SSE-S3). Objects
        # already encrypted (SSE-S3, SSE-C, or written while this was on) always decrypt, on or off.
        "encryption": False,
        # the cluster's key-encryption keys ('<id> <hex>' a line, the last active); empty:
        # <data_dir>/secrets/encryption_keys (0600, created by `stackstore up`). Same file on every proxy.
        "encryption_key_file": "",
        # refuse SSE-C keys sent over plain HTTP (AWS's rule: 400 InvalidRequest); the TLS port accepts them
        "sse_c_require_tls": False,
    },
    "store": {
        "host": "127.0.0.1",  # address a node listens on (`stackstore node`); 0.0.0.0: every address
        "base_port": 6200,  # node N (1-based) listens on base_port + N
        # `stackstore node --config F` alone: its port (0: base_port + 1) and the directory holding one
        # directory per device (empty: --devices must be given)
        "port": 0,
        "devices": "",
        # the address the rings name for this node; needed when it listens on 0.0.0.0 and the host has
        # addresses it must not claim (empty: the listen address, or for 0.0.0.0 any address of the host)
        "my_ip": "",
        "fsync": True,
        "sync_mode": "auto",  # auto: one syncfs per group-commit round; fsync: fdatasync per file
        # object files (body, metadata and trailer) up to this many bytes are kept as rows of the device's LMDB
        # (store/inline_objects.py, docs/durability.md) instead of files, in syncfs mode; 0: every object is a
        # file. Rows are read whatever this says
        "inline_max_size": 65536,
        "io_threads": 32,
        "listing_sync_interval": 1.0,  # seconds between LMDB syncs of listing databases
        "account_update_interval": 1.0,  # seconds between container-stat reports to account nodes
        "updater_interval": 10.0,  # seconds between retries of pending container updates
        "updater_concurrency": 8,  # containers updated at once by the updater
        "updater_max_per_second": 50.0,  # pending container updates sent per second (0: unlimited)
        "auditor_interval": 30.0,  # seconds between audit passes (<= 0: no auditor)
        "auditor_bytes_per_second": 10485760,  # object bytes verified per second by the auditor
        "auditor_files_per_second": 20.0,  # objects opened per second per device by the auditor (Swift: 20)
        "expirer_interval": 300.0,  # seconds between expirer passes (<= 0: no expirer)
        "expirer_concurrency": 4,  # expired objects deleted at once
        "reconciler_interval": 300.0,  # seconds between scans for objects in the wrong storage policy (<= 0: off)
        "fallocate_reserve": 0,  # bytes kept free on a device; PUTs that would cross it get 507
        "container_update_timeout": 2.0,
        # seconds after which object tombstones and listing tombstone rows are reclaimed (Swift: a week);
        # a node down for longer than this must be wiped before it rejoins, or deleted data may come back
        "reclaim_age": 604800.0,
        # seconds between checks of the rings' partition power state: relink objects while next_part_power
        # is set, clean up old locations once the power went up (store/relinker.py; <= 0: off)
        "relinker_interval": 60.0,
        # orphaned S3 multipart parts (in <bucket>+segments, named by no manifest, their upload's marker
        # gone) older than the grace are deleted by the container's first primary (store/segment_reaper.py)
        "segment_reaper_interval": 3600.0,  # seconds between reaper passes (<= 0: off)
        "segment_reaper_grace": 86400.0,  # seconds a part must be old before it may be reaped
        "segment_reaper_concurrency": 8,  # parts deleted at once
        "block_size": 1048576,  # checksum block size for stored objects
        # idle node connections of the proxies' pools stay open (their idle timeout is shorter)
        "keep_alive_timeout": 30.0,
        "max_connections": 4096,  # every proxy worker and background task pools connections to each node
    },
    # The partition power relinker of every storage node (store/relinker.py; [store] relinker_interval)
    "relinker": {
        # object locations (hash dirs) relinked or cleaned up per second, as Swift's relinker (0: unlimited)
        "files_per_second": 0.0,
    },
    # S3 bucket lifecycle rules, run by every storage node for the buckets whose container it holds as
    # first primary (store/lifecycle/); docs/lifecycle.md
    "lifecycle": {
        "interval": 3600.0,  # seconds between lifecycle passes of a node (<= 0: rules are never executed)
        "day_seconds": 86400.0,  # length of a lifecycle "day" (tests shorten it, as Ceph's rgw_lc_debug_interval)
        "concurrency": 8,  # objects (or uploads) handled at once per bucket
    },
    # Container sync (docs/container-sync.md): X-Container-Sync-To mirrors a container to another one, here
    # or in another cluster of a realm; each storage node sends the rows of the containers it holds as first
    # primary (store/container_sync.py) every interval seconds (<= 0: never)
    "container_sync": {
        "interval": 300.0,
        # realm -> {key = ..., key2 = ... (rotation), clusters = {NAME = "http://host:port/v1/"}}; an empty
        # key: generated into <data_dir>/secrets/ (0600), for a cluster that syncs only with itself
        "realms": {},
        "current": "",  # //REALM/CLUSTER of this cluster (marked in /info)
        "allow_full_urls": True,  # X-Container-Sync-To may be an http(s) URL (with X-Container-Sync-Key)
        "allowed_sync_hosts": ["127.0.0.1"],  # hosts such full URLs may name
        "request_timeout": 60.0,  # seconds for one request to the remote cluster
        # CA bundle (PEM) verifying https sync targets; empty: the system's trust store (never unverified)
        "ca_file": "",
        "concurrency": 4,  # rows of one container sent at once
        "container_time": 60.0,  # seconds a pass works on one container before the next (it resumes next pass)
    },
    "tempauth": {
        "token_life": 86400,
        "token_secret": "",  # signs TempAuth tokens; empty: generated into <data_dir>/secrets/ (0600)
        "reseller_prefix": "AUTH_",
        # user "account:name" -> {"key": ..., "groups": [".admin" | ".reseller_admin", ...],
        #                         "email": ... (optional: S3 ACL grants by e-mail address)}
        "users": {
            "admin:admin": {"key": "admin", "groups": [".admin", ".reseller_admin"]},
            "test:tester": {"key": "testing", "groups": [".admin"]},
            "test:tester2": {"key": "testing2", "groups": []},
            "test:tester3": {"key": "testing3", "groups": []},
            "test2:tester2": {"key": "testing2", "groups": [".admin"]},
            "test5:tester5": {"key": "testing5", "groups": [".admin"]},
        },
    },
    "s3": {
        # extra key pairs: access key -> {"secret": ..., "user": "account:name", "groups": [...] (optional;
        # default: the TempAuth groups of "user", or owner of the account when "user" is no TempAuth user)}
        "keys": {},
        # server access logging (PutBucketLogging, docs/bucket-logging.md): each proxy worker writes its
        # batched records into the target buckets every access_log_flush_seconds, or once a batch holds
        # access_log_object_bytes; past access_log_max_pending_bytes waiting, records are dropped
        "access_log_flush_seconds": 60.0,
        "access_log_object_bytes": 1048576,
        "access_log_max_pending_bytes": 16777216,
        # static website endpoint (PutBucketWebsite, proxy/s3/website): <bucket>.<website_domain> hosts serve
        # buckets as AWS's website endpoints (anonymous GET/HEAD, index and error documents, redirects,
        # HTML errors); it may sit below s3_domain (it wins); empty: no website endpoint
        "website_domain": "s3-website.localhost",
        # SSE-KMS (aws:kms) with the built-in KMS (docs/encryption.md): the key ids requests may name, and the
        # key of aws:kms without a key id (AWS's aws/s3 managed key; empty: such requests are refused). Each
        # key's KEK is derived from the cluster's encryption keys: nothing to back up besides the key file
        "kms_keys": [],
        "kms_default_key": "aws/s3",
    },
    "identity": {
        "enabled": True,  # run by `stackstore up` (likewise volumes, compute, images)
        "host": "127.0.0.1",
        "port": 5000,
        "database_url": "",  # empty: SQLite at <data_dir>/identity.sqlite; or postgresql://user:pw@host/db
        "token_expiration": 3600,  # seconds a Keystone token is valid
        "service_password": "",  # the service user's password; empty: generated into <data_dir>/secrets/
        "admin_password": "",  # empty: generated on first start, printed once, saved in <data_dir>/clouds.yaml
        "admin_project": "admin",  # its admins are cloud admins (Keystone's admin_project_name); TempAuth never
        "auth_max_failures": 10,  # failed logins per user and address within the window before 429
        "auth_failure_window": 300,  # seconds
    },
    "volumes": {
        "enabled": True,
        "host": "127.0.0.1",
        "port": 8776,
        "database_url": "",  # empty: SQLite <data_dir>/volumes.sqlite; or any SQLAlchemy URL (postgresql://…)
        "auth_strategy": "keystone",  # identity JWTs; "noauth" takes X-Auth-Token <user>:<project>
        "default_backend": "file",  # "file" (sparse files under file_dir) or "lvm"
        "file_dir": "",  # empty: <data_dir>/volumes; put it on XFS or btrfs for instant reflink snapshots
        "enabled_backends": ["file"],
        "lvm_vg": "stackstore-volumes",
        "lvm_type": "default",  # "default" (thick LVs) or "thin"
        "iscsi_ip": "127.0.0.1",  # portal address handed to initiators
        "iscsi_port": 3260,
        "tgt_control_port": 0,  # tgtd management channel (tgtadm -C)
        "start_tgtd": True,  # run tgtd with the volumes service (needs root)
        "backup_container": "volumebackups",
        "backup_chunk_size": 8388608,
        "backup_workers": 4,  # backup/restore chunks compressed and moved at once
    },
    # Storage policies (stackstore/storage_policies.py): a container picks one at creation with
    # X-Storage-Policy; policy 0 stores objects by object.ring, policy N by object-N.ring. A [policies]
    # table in the config file replaces this one whole.
    "policies": {
        "gold": {"index": 0, "default": True, "aliases": []},  # replicas: [cluster] replicas
        "silver": {"index": 1, "replicas": 2, "aliases": []},
    },
    "compute": {"enabled": True, "host": "127.0.0.1", "port": 8774, "database_url": ""},
    "images": {"enabled": True, "host": "127.0.0.1", "port": 9292, "database_url": ""},
}

ENV_PREFIX = "STACKSTORE_"


class Config(dict[str, dict[str, Any]]):
    """Configuration tables keyed by section name; ``conf["proxy"]["port"]``."""

    path: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        return self.setdefault(name, {})

    @property
    def data_dir(self) -> Path:
        return Path(self["cluster"]["data_dir"]).resolve()

    @property
    def ring_dir(self) -> Path:
        return self.data_dir / "rings"


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (dict, list)):
        return json.loads(raw)
    return raw


def _merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key not in ("users", "keys", "policies"):
            _merge(base[key], value)
        else:
            base[key] = value


def load_config(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the TOML file (``STACKSTORE_CONFIG`` when no path is given), then the environment."""
    environ = os.environ if environ is None else environ
    conf = Config(copy.deepcopy(DEFAULTS))
    path = path or environ.get(ENV_PREFIX + "CONFIG")
    if path:
        with open(path, "rb") as fh:
            _merge(conf, tomllib.load(fh))
        conf.path = Path(path).resolve()
        data_dir = Path(conf["cluster"]["data_dir"])
        if not data_dir.is_absolute():  # relative to the config file, not the cwd
            conf["cluster"]["data_dir"] = str(conf.path.parent / data_dir)
    for section, values in conf.items():
        for key, default in list(values.items()):
            raw = environ.get(f"{ENV_PREFIX}{section}_{key}".upper())
            if raw is not None:
                values[key] = _coerce(raw, default)
    return conf


def ensure_hash_path_suffix(conf: Config) -> str:
    """Return the cluster's path-hash secret, creating and persisting one on first use."""
    suffix: str | None = conf["cluster"].get("hash_path_suffix")
    if suffix:
        return suffix
    path = conf.data_dir / "hash_path_suffix"
    if path.exists():
        suffix = path.read_text().strip()
    else:
        from stackstore.secrets import write_private

        suffix = os.urandom(16).hex()
        write_private(path, suffix + "\n")
    conf["cluster"]["hash_path_suffix"] = suffix
    return suffix
