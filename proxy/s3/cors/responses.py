"""What browsers get: the preflight ``OPTIONS`` answer and the CORS headers of actual requests.

AWS: a preflight needs ``Origin`` and ``Access-Control-Request-Method`` (400 otherwise); a bucket
without configuration or without a matching rule answers 403 ``CORSResponse``. Preflights are never
signed: the bucket's account is found by ``preflight_account`` (the credential named in a presigned
URL's query, as a preflight to a presigned URL carries it; else the bucket namespace's owner, once
unsigned requests are resolved by it).
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3.bucket import is_valid_name
from proxy.s3.context import S3Request
from proxy.s3.cors.config import CorsRule, matching_rule
from proxy.s3.cors.handlers import bucket_rules
from proxy.s3.errors import S3Error
from proxy.s3.namespace import owner_account

NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
               "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are "
               "not whitelisted by the resource's CORS spec.")


def _requested_headers(value: str) -> list[str]:
    return [h.strip() for h in value.split(",") if h.strip()]


def rule_headers(rule: CorsRule, origin: str) -> dict[str, str]:
    """The Access-Control-* headers a matching rule gives."""
    out = {"Access-Control-Allow-Origin": "*" if "*" in rule.origins and origin != "null" and
           all(o == "*" for o in rule.origins) else origin,
           "Access-Control-Allow-Methods": ", ".join(rule.methods),
           "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"}
    if out["Access-Control-Allow-Origin"] != "*":
        out["Access-Control-Allow-Credentials"] = "true"
    if rule.expose:
        out["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
    if rule.max_age is not None:
        out["Access-Control-Max-Age"] = str(rule.max_age)
    return out


async def preflight(req: S3Request, account: str | None) -> Response:
    """Answer an ``OPTIONS`` preflight for ``req.bucket`` kept in ``account``."""
    origin = req.headers.get("origin")
    method = req.headers.get("access-control-request-method")
    if not origin:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.", status=400)
    if not method:
        raise S3Error("BadRequest", "Invalid Access-Control-Request-Method: null", status=400)
    if not req.bucket:
        raise S3Error("AccessDenied", NOT_ENABLED, status=403)
    rules = await bucket_rules(req, account, req.bucket) if account else None
    if rules is None:
        raise S3Error("CORSResponse", NOT_ENABLED, status=403)
    requested = _requested_headers(req.headers.get("access-control-request-headers", ""))
    rule = matching_rule(rules, origin, method, requested)
    if rule is None:
        raise S3Error("CORSResponse", NOT_ALLOWED, status=403)
    headers = rule_headers(rule, origin)
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(h.lower() for h in requested)
    return Response(b"", 200, headers=headers)


async def actual_request_headers(req: S3Request, account: str) -> dict[str, str]:
    """The CORS headers of a non-preflight request with an ``Origin`` (none when no rule matches)."""
    origin = req.headers.get("origin")
    if not origin or not req.bucket:
        return {}
    rules = await bucket_rules(req, account, req.bucket)
    if not rules:
        return {}
    rule = matching_rule(rules, origin, req.method)
    return rule_headers(rule, origin) if rule else {}


async def preflight_account(req: S3Request) -> str | None:
    """The account of the bucket a preflight addresses: its registered owner's, else the presigned URL's
    credential's, if any."""
    from proxy.s3.app import credential_store  # the app imports this module

    if req.bucket and is_valid_name(req.bucket):
        registered = await owner_account(req.state, req.bucket)
        if registered:
            return registered
    access_key = req.query.get("AWSAccessKeyId") or req.query.get("X-Amz-Credential", "").split("/", 1)[0]
    if not access_key:
        return None
    cred = await credential_store(req.state).lookup(access_key)
    return cred.account if cred is not None else None
