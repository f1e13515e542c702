"""The IAM action names a policy may name (from the operation table) and the resource types they apply to."""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import cache

from proxy.s3.operations import OPERATIONS, Target

BUCKET_KIND, OBJECT_KIND, ACCOUNT_KIND = "bucket", "object", "account"
_OBJECT_TARGETS = (Target.OBJECT, Target.EACH_KEY, Target.COPY_SOURCE)
# actions AWS defines that no implemented operation of the table needs yet
_EXTRA = {"s3:PutObjectVersionAcl": OBJECT_KIND, "s3:DeleteObjectVersion": OBJECT_KIND,
          "s3:BypassGovernanceRetention": OBJECT_KIND, "s3:PutBucketObjectLockConfiguration": BUCKET_KIND,
          "s3:ListBucketVersions": BUCKET_KIND, "s3:ReplicateObject": OBJECT_KIND,
          "s3:ReplicateDelete": OBJECT_KIND, "s3:GetObjectVersionForReplication": OBJECT_KIND}


@cache
def action_kinds() -> dict[str, str]:
    """Lower-cased action name → the resource kind it applies to (object wins when both occur)."""
    kinds: dict[str, str] = {k.lower(): v for k, v in _EXTRA.items()}
    for op in OPERATIONS:
        for action in op.actions:
            kind = (OBJECT_KIND if action.target in _OBJECT_TARGETS else
                    ACCOUNT_KIND if action.target is Target.ACCOUNT else BUCKET_KIND)
            for name in filter(None, (action.name, action.version_name)):
                if kinds.get(name.lower()) != OBJECT_KIND:
                    kinds[name.lower()] = kind
    return kinds


def known_actions() -> frozenset[str]:
    """Every action name (lower-cased) a policy may name without a wildcard."""
    return frozenset(action_kinds())


def _resource_kind(resource: str) -> str | None:
    """BUCKET_KIND for ``arn:aws:s3:::bucket``, OBJECT_KIND with a ``/``, None for ``*`` (any)."""
    if resource == "*" or resource.endswith(":::*"):
        return None
    return OBJECT_KIND if "/" in resource else BUCKET_KIND


def applies_to(action_pattern: str, resource: str) -> bool:
    """Some action the pattern names applies to the resource's kind."""
    kind = _resource_kind(resource)
    if kind is None:
        return True
    pattern = action_pattern.lower()
    return any(k == kind for name, k in action_kinds().items() if fnmatchcase(name, pattern.replace("[", "[[]")))
