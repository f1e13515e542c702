"""The wire contract between the cloud's processes: values that must agree on both ends of an internal
request (the internal client in ``objclient/`` and the storage nodes in ``store/``, across versions of a
running cluster). Change one only together with every reader of it; see docs/internal-api.md.

Defined here and nowhere else; ``stackstore.footer`` and ``stackstore.timestamp`` build on these.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# --- PUT bodies ----------------------------------------------------------------------------------------
# The client sends an object body of at most this many bytes (with a known length) in one write with the
# request head, without ``Expect: 100-continue``; a node sees every larger or chunked body only after its
# 100 Continue, so it checks for a newer version before asking for those (``store/object_routes.py``) and
# leaves smaller ones to the commit. Equal on both ends, or one side's shortcut is wasted: a node that
# checked early would refuse a body already on the wire; a client that waited would wait for nothing.
# (``store/diskfile.py SMALL_BODY``, which thread writes a small body, is the node's own business.)
BUFFERED_PUT_MAX = 64 * 1024

# --- Metadata footer (stackstore/footer.py) ------------------------------------------------------------
# ``X-Backend-Footer-Length: FOOTER_LENGTH`` announces that the last FOOTER_LENGTH bytes of the body
# (counted in Content-Length) are a JSON object of headers starting with FOOTER_ALLOWED_PREFIX, padded
# with spaces.
FOOTER_HEADER = "X-Backend-Footer-Length"
FOOTER_LENGTH = 4096
FOOTER_ALLOWED_PREFIX = "x-object-sysmeta-"
# Write ordering by completion (S3: the request that completes last wins): a PUT with
# ``COMMIT_TIMESTAMP: footer`` carries its version in its footer under COMMIT_TIMESTAMP, stamped once the
# proxy has received the whole body; its X-Timestamp is then only a lower bound, and the node stores the
# object under the footer's timestamp (and does not refuse the body early by X-Timestamp). Small
# (buffered) PUTs get the same ordering with no footer: the client stamps X-Timestamp after reading the
# body. Swift PUTs keep X-Timestamp (the request's time: the newest request wins).
COMMIT_TIMESTAMP = "X-Backend-Commit-Timestamp"
COMMIT_TIMESTAMP_IN_FOOTER = "footer"
# A streamed PUT's body is hashed with MD5 (its ETag) once, by the client, not by each replica: with
# ``BODY_DIGESTS: BODY_DIGESTS_IN_FOOTER`` the footer carries BODY_MD5 (hex) and BODY_XXH3 (the xxh3-64 of
# the body, 16 hex digits). The node hashes what it receives with xxh3 only (~30x cheaper than MD5),
# refuses the write (500) when that differs, and stores BODY_MD5 as the ETag: every body stays checked end
# to end. Neither is stored as metadata.
BODY_DIGESTS = "X-Backend-Body-Digests"
BODY_DIGESTS_IN_FOOTER = "footer"
BODY_MD5 = "X-Backend-Body-Md5"
BODY_XXH3 = "X-Backend-Body-Xxh3"

# --- Timestamps (stackstore/timestamp.py) --------------------------------------------------------------
# X-Timestamp and friends: epoch seconds with TIMESTAMP_DIGITS integer digits (zero-padded), a dot and
# TIMESTAMP_FRACTION_DIGITS decimals ("1795313739.61775"): fixed width, so they compare as strings.
TIMESTAMP_DIGITS = 10
TIMESTAMP_FRACTION_DIGITS = 5
TIMESTAMP_TICKS_PER_SECOND: int = 10**TIMESTAMP_FRACTION_DIGITS

# --- Headers both ends read ---------------------------------------------------------------------------
# object versioning: a current version's id (object sysmeta) rides in its container listing row as a
# parameter of the row's hash; the internal client's listings move it to the row's ``version_id``
VERSION_ID_SYSMETA = "x-object-sysmeta-version-id"
VERSION_ID_PARAM = "swift_version_id"

TIMESTAMP = "X-Timestamp"  # every mutation's version (the proxy's time of the client request)
PUT_TIMESTAMP = "X-Put-Timestamp"  # container/account creation version
DELETE_TIMESTAMP = "X-Delete-Timestamp"
BACKEND_TIMESTAMP = "X-Backend-Timestamp"  # newest version a node holds (also on 404 for a tombstone, 409)
BACKEND_DATA_TIMESTAMP = "X-Backend-Data-Timestamp"  # the version of the object's data (resumed GETs)
BACKEND_PUT_TIMESTAMP = "X-Backend-Put-Timestamp"
BACKEND_DELETE_TIMESTAMP = "X-Backend-Delete-Timestamp"
BACKEND_STATUS_CHANGED_AT = "X-Backend-Status-Changed-At"
NEWEST = "X-Newest"  # read every primary and answer with the newest copy
# the read headers of a read the proxy decides on (docs/durability.md "Reads that decide: the newest copy")
READ_NEWEST: Mapping[str, str] = MappingProxyType({NEWEST: "true"})
IF_DELETE_AT = "X-If-Delete-At"  # expirer's DELETE: only if the object's X-Delete-At still equals this
# an object GET/HEAD/POST that reaches an object past its X-Delete-At not yet reaped (the proxy sends it only
# for a client's ``X-Open-Expired: true`` with ``[proxy] allow_open_expired`` on; Swift's X-Backend-Open-Expired)
OPEN_EXPIRED = "X-Backend-Open-Expired"

# Where a node sends listing row updates after a write: X-Container-* on object requests (to container
# nodes), X-Account-* on container requests (to account nodes); comma-separated lists are accepted.
CONTAINER_UPDATE_PREFIX = "Container"
ACCOUNT_UPDATE_PREFIX = "Account"


def update_target_headers(kind: str) -> tuple[str, str, str]:
    """``X-<kind>-Host``, ``X-<kind>-Device``, ``X-<kind>-Partition`` (kind: "Container" or "Account")."""
    return f"X-{kind}-Host", f"X-{kind}-Device", f"X-{kind}-Partition"


# Container row updates (object node -> container node) and container stats (container -> account node).
# Rows bound for one container replica while another batch to it is in flight go together as one
# ``POST /cont/<dev>/<part>/<a>/<c>?row-batch`` whose JSON body is ``[[method, object, {header: value}], ...]``
# (at most ROW_BATCH_MAX rows, ROW_BATCH_MAX_BYTES); the answer is 200 with a JSON list of each row's status,
# what the single-row ``PUT|DELETE /cont/<dev>/<part>/<a>/<c>/<o>`` would have answered.
ROW_BATCH_QUERY = "row-batch"
ROW_BATCH_MAX = 64
ROW_BATCH_MAX_BYTES = 1 << 20
ROW_SIZE = "X-Size"
ROW_ETAG = "X-Etag"
ROW_CONTENT_TYPE = "X-Content-Type"
OBJECT_COUNT = "X-Object-Count"
BYTES_USED = "X-Bytes-Used"
# Sysmeta (or X-Backend-) overrides of the size/etag/content type a node puts in its row update.
UPDATE_OVERRIDE_PREFIX = "X-Object-Sysmeta-Container-Update-Override-"
BACKEND_UPDATE_OVERRIDE_PREFIX = "X-Backend-Container-Update-Override-"

# --- Conditional PUTs (store/reservations.py, objclient/putter.py; docs/internal-api.md) --------------
# A PUT carrying COND_IF_NONE_MATCH ("*") or COND_IF_MATCH (an ETag) is decided by each node when the
# request head arrives, before it asks for the body: the node takes an exclusive reservation on the name
# (held until that request commits or ends), then evaluates the condition against what it stores.
# Another conditional write holding the name: 409 with CONFLICT: RESERVATION_CONFLICT; the condition
# failing: 412. The client sends such PUTs with Expect: 100-continue whatever their size, sends the body
# only when a majority of the replicas reserved the name (and none answered 412), and otherwise aborts
# every upload before any node can commit.
# COND_ETAG_IS_AT names (comma-separated) the stored metadata holding the ETag COND_IF_MATCH compares with,
# the first one present (e.g. an S3 multipart ETag); without one (or none present), the data's md5.
# COND_ETAG_IS_AT may name COND_DATA_TIMESTAMP: the stored data's X-Timestamp, which every write has its own
# (object versioning replaces a current version only if it is still the one it archived).
COND_DATA_TIMESTAMP = "X-Timestamp"
COND_IF_NONE_MATCH = "X-Backend-If-None-Match"
COND_ETAG_IS_AT = "X-Backend-Etag-Is-At"
COND_IF_MATCH = "X-Backend-If-Match"
CONFLICT = "X-Backend-Conflict"
RESERVATION_CONFLICT = "reservation"


def with_version_param(etag: str, stored: Mapping[str, str]) -> str:
    """A listing row's hash for an object stored with ``stored`` headers: ``etag`` plus the object's
    version id as a ``swift_version_id`` parameter when it has one (object versioning)."""
    version_id = next((v for k, v in stored.items() if k.lower() == VERSION_ID_SYSMETA), "")
    return f"{etag}; {VERSION_ID_PARAM}={version_id}" if version_id else etag


def split_version_param(row: dict) -> None:
    """Move a listing row's ``swift_version_id`` hash parameter to ``row["version_id"]`` (in place)."""
    value = row.get("hash")
    if not isinstance(value, str) or VERSION_ID_PARAM not in value:
        return
    marker = f"; {VERSION_ID_PARAM}="
    at = value.rfind(marker)
    if at < 0:
        return
    row["version_id"] = value[at + len(marker):].split(";", 1)[0].strip()
    rest = value[at + len(marker):].split(";", 1)
    row["hash"] = value[:at] + (";" + rest[1] if len(rest) > 1 else "")
