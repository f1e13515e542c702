"""``policy_decision``: what a bucket's policy says about one action of one request.

AWS's order: any matching Deny statement → "deny"; else any matching Allow → "allow"; else "none"
(the caller's ownership or an ACL may still allow). A statement matches when its Principal names the
caller, its Action names the action, its Resource names the ARN and every Condition holds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl

from proxy.s3 import headers as s3h
from proxy.s3.context import S3Request
from proxy.s3.policy.conditions import all_hold
from proxy.s3.policy.document import ARN_PREFIX, Policy, Statement
from proxy.s3.policy.principals import caller_principals, matches
from proxy.s3.policy.public import is_public
from proxy.s3.policy.storage import load_policy
from stackstore import wire

DENY, ALLOW, NONE = "deny", "allow", "none"
_LIST_ACTIONS = ("s3:listbucket", "s3:listbucketversions")
_HEADER_KEYS = ("x-amz-acl", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
                "x-amz-server-side-encryption-customer-algorithm",
                "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-storage-class", "x-amz-content-sha256",
                "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
                "x-amz-grant-full-control", "x-amz-object-ownership")


def _like(value: str, pattern: str, fold: bool = False) -> bool:
    pattern = pattern.replace("[", "[[]")
    return fnmatchcase(value.lower(), pattern.lower()) if fold else fnmatchcase(value, pattern)


def resource_arn(bucket: str, key: str | None) -> str:
    """``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/key``."""
    return ARN_PREFIX + bucket + (f"/{key}" if key is not None else "")


def _names_action(stmt: Statement, action: str) -> bool:
    if stmt.actions is not None:
        return any(_like(action, p, fold=True) for p in stmt.actions)
    return not any(_like(action, p, fold=True) for p in stmt.not_actions or ())


def _names_resource(stmt: Statement, arn: str) -> bool:
    if stmt.resources is not None:
        return any(p == "*" or _like(arn, p) for p in stmt.resources)
    return not any(p == "*" or _like(arn, p) for p in stmt.not_resources or ())


def _names_caller(stmt: Statement, principals: set[str]) -> bool:
    if stmt.principals is not None:
        return matches(stmt.principals, principals)
    return not matches(tuple(p for p in stmt.not_principals or () if p != "*"), principals)


def _reseller_prefix(req: S3Request) -> str:
    conf = req.state.conf.get("tempauth", {}) if hasattr(req.state.conf, "get") else {}
    return str(conf.get("reseller_prefix", "AUTH_"))


def request_context(req: S3Request, action: str) -> dict[str, list[str]]:
    """The request's condition keys (lower-cased) and their values."""
    ctx: dict[str, list[str]] = {}
    client = req.request.scope.get("client")
    if client:
        ctx["aws:sourceip"] = [client[0]]
    ctx["aws:securetransport"] = ["true" if req.request.url.scheme == "https" else "false"]
    now = time.time()
    ctx["aws:currenttime"] = [datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
    ctx["aws:epochtime"] = [str(int(now))]
    for name in ("user-agent", "referer"):
        if req.headers.get(name):
            ctx[f"aws:{name.replace('-', '')}"] = [req.headers[name]]
    identity = req.identity if req.auth is not None else None
    if identity is not None and not identity.is_anonymous:
        ctx["aws:username"] = [identity.user.split(":", 1)[-1]]
        ctx["aws:userid"] = [identity.user]
        ctx["aws:principalaccount"] = [identity.account[len(_reseller_prefix(req)):]]
        ctx["aws:principaltype"] = ["User"]
    else:
        ctx["aws:principaltype"] = ["Anonymous"]
    if req.auth is not None:
        ctx["s3:signatureversion"] = ["AWS4-HMAC-SHA256" if req.auth.version == 4 else "AWS"]
        ctx["s3:authtype"] = ["REST-QUERY-STRING" if req.auth.presigned else "REST-HEADER"]
    if action.lower() in _LIST_ACTIONS:
        for name in ("prefix", "delimiter", "max-keys"):
            if name in req.query:
                ctx[f"s3:{name}"] = [req.query[name]]
    if "versionId" in req.query:
        ctx["s3:versionid"] = [req.query["versionId"]]
    for name in _HEADER_KEYS:
        if req.headers.get(name):
            ctx[f"s3:{name}"] = [req.headers[name]]
    tagging = req.headers.get("x-amz-tagging")
    if tagging:
        tags = parse_qsl(tagging, keep_blank_values=True)
        ctx["s3:requestobjecttagkeys"] = [k for k, _ in tags]
        for k, v in tags:
            ctx[f"s3:requestobjecttag/{k.lower()}"] = [v]
    return ctx


def _needs_existing_tags(policy: Policy) -> bool:
    return any(c.key.startswith("s3:existingobjecttag/") for s in policy.statements for c in s.conditions)


async def _existing_tags(req: S3Request, account: str, bucket: str, key: str) -> dict[str, list[str]]:
    resp = await req.client.head_object(account, bucket, key, wire.READ_NEWEST)  # as the ACL check
    await resp.close()
    if resp.status // 100 != 2:
        return {}
    stored = s3h._get(dict(resp.headers.items()), s3h.SYSMETA_TAGGING) or ""
    return {f"s3:existingobjecttag/{k.lower()}": [v] for k, v in parse_qsl(stored, keep_blank_values=True)}


def decide(statements: Sequence[Statement], principals: set[str], action: str, arn: str,
           context: dict[str, list[str]]) -> str:
    """DENY when a matching statement denies, else ALLOW when one allows, else NONE."""
    decision = NONE
    for stmt in statements:
        if not (_names_caller(stmt, principals) and _names_action(stmt, action) and _names_resource(stmt, arn)):
            continue
        if not all_hold(stmt.conditions, context):
            continue
        if stmt.effect == "Deny":
            return DENY
        decision = ALLOW
    return decision


async def policy_decision(req: S3Request, action_name: str, bucket: str, key: str | None) -> str:
    """"deny" / "allow" / "none": what ``bucket``'s policy says about ``action_name`` on ``key``."""
    from proxy.s3.access import target_account  # access imports this module

    account = await target_account(req, bucket)
    policy = await load_policy(req, account, bucket)
    if policy is None:
        return NONE
    context = request_context(req, action_name)
    if key and _needs_existing_tags(policy):
        context.update(await _existing_tags(req, account, bucket, key))
    identity = req.identity if req.auth is not None else None
    principals = caller_principals(identity, _reseller_prefix(req))
    decision = decide(policy.statements, principals, action_name, resource_arn(bucket, key), context)
    if decision == ALLOW and (identity is None or identity.account != account) and is_public(policy) \
            and await _restricts_public_buckets(req, account, bucket):
        return NONE  # RestrictPublicBuckets: a public policy grants only the bucket owner's account
    return decision


async def _restricts_public_buckets(req: S3Request, account: str, bucket: str) -> bool:
    from proxy.s3.acl.stored import bucket_access  # the ACL package imports the access module, which imports us

    access = await bucket_access(req.state, account, bucket)
    pab = access.public_access_block if access is not None else None
    return bool(pab and pab.restrict_public_buckets)
