"""Whether a bucket policy is public, by AWS's test (GetBucketPolicyStatus, BlockPublicPolicy,
RestrictPublicBuckets): some Allow names everyone without a condition that fixes who or where the caller is."""

from __future__ import annotations

import ipaddress

from proxy.s3.policy.document import Condition, Policy, Statement
from proxy.s3.policy.principals import ANYONE

# condition keys that, with fixed values, limit an Allow to known callers (AWS's "non-public" test)
_RESTRICTING_KEYS = {"aws:sourceip", "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceaccount",
                     "aws:sourceowner", "aws:principalaccount", "aws:principalarn", "aws:principalorgid",
                     "aws:userid", "s3:x-amz-server-side-encryption-aws-kms-key-id"}


def _restricts(cond: Condition) -> bool:
    if cond.key not in _RESTRICTING_KEYS or cond.if_exists or cond.operator.startswith(("Not", "StringNot")):
        return False
    if any("*" in v or "?" in v for v in cond.values):
        return False
    if cond.operator == "IpAddress":
        return all(ipaddress.ip_network(v, strict=False).prefixlen >= 8 for v in cond.values)
    return True


def _public(stmt: Statement) -> bool:
    everyone = stmt.principals is not None and ANYONE in stmt.principals
    return stmt.effect == "Allow" and everyone and not any(_restricts(c) for c in stmt.conditions)


def is_public(policy: Policy) -> bool:
    """AWS's test: some Allow names everyone without a condition fixing who or where the caller is."""
    return any(_public(s) for s in policy.statements)
