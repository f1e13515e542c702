"""The ACL a request asks for: ``x-amz-acl`` (canned), ``x-amz-grant-*`` headers or an XML body.

Grantees are resolved as AWS does: ``id`` must name a known owner (else InvalidArgument "Invalid id"),
``emailAddress`` a known e-mail (else UnresolvableGrantByEmailAddress), ``uri`` one of the group URIs
(else InvalidArgument); an e-mail grant is stored as the canonical user it resolves to. A canned ACL
together with grant headers is InvalidRequest; a malformed document MalformedACLError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.etree.ElementTree import Element

from proxy.context import ProxyState
from proxy.s3 import owners, xml
from proxy.s3.acl.model import (
    GROUP,
    GROUPS,
    MAX_GRANTS,
    PERMISSIONS,
    USER,
    XSI,
    Acl,
    Grant,
    canned,
    to_json,
)
from proxy.s3.errors import S3Error
from proxy.s3.owners import Owner

GRANT_HEADERS = {
    "x-amz-grant-read": "READ",
    "x-amz-grant-write": "WRITE",
    "x-amz-grant-read-acp": "READ_ACP",
    "x-amz-grant-write-acp": "WRITE_ACP",
    "x-amz-grant-full-control": "FULL_CONTROL",
}
MAX_STORED = 6000  # bytes of the stored form: it travels as one sysmeta header
_GRANTEE = re.compile(r'\s*(id|emailAddress|uri)\s*=\s*(?:"([^"]*)"|([^,\s]*))\s*(?:,|$)', re.IGNORECASE)


def malformed(message: str = "The XML you provided was not well-formed or did not validate against our "
                             "published schema") -> S3Error:
    return S3Error("MalformedACLError", message, status=400)


def invalid_id(value: str) -> S3Error:
    return S3Error("InvalidArgument", "Invalid id", ArgumentName="CanonicalUser/ID", ArgumentValue=value)


def has_acl_headers(headers: Mapping[str, str]) -> bool:
    """The request sets an ACL by header (canned or grants)."""
    return "x-amz-acl" in headers or any(h in headers for h in GRANT_HEADERS)


async def resolve_grantee(state: ProxyState, kind: str, value: str, permission: str) -> Grant:
    """A grant for a grantee given as ``id``, ``emailAddress`` or ``uri``."""
    kind = kind.lower()
    if kind == "uri":
        if value not in GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", ArgumentName="uri", ArgumentValue=value)
        return Grant(GROUP, value, permission)
    if kind == "emailaddress":
        found = await owners.by_email(state, value)
        if found is None:
            raise S3Error("UnresolvableGrantByEmailAddress", "The e-mail address you provided does not match "
                          "any account on record.", status=400, EmailAddress=value)
        return Grant(USER, found.id, permission, found.display_name)
    found = await owners.by_id(state, value)
    if found is None:
        raise invalid_id(value)
    return Grant(USER, found.id, permission, found.display_name)


async def from_grant_headers(state: ProxyState, headers: Mapping[str, str], owner: Owner) -> Acl | None:
    """The ACL of ``x-amz-grant-*`` headers (None when there are none); the owner gets no implicit grant."""
    grants: list[Grant] = []
    for header, permission in GRANT_HEADERS.items():
        value = headers.get(header)
        if value is None:
            continue
        pos = 0
        value = value.strip()
        while pos < len(value):
            match = _GRANTEE.match(value, pos)
            if match is None or match.end() == pos:
                raise S3Error("InvalidArgument", "Invalid grant header", ArgumentName=header, ArgumentValue=value)
            grants.append(await resolve_grantee(state, match.group(1), match.group(2) or match.group(3) or "",
                                                permission))
            pos = match.end()
    if not any(h in headers for h in GRANT_HEADERS):
        return None
    return _bounded(Acl(owner, tuple(grants)))


def _bounded(acl: Acl) -> Acl:
    """``acl`` without repeated grants; MalformedACLError past ``MAX_GRANTS`` or ``MAX_STORED`` bytes."""
    acl = Acl(acl.owner, tuple(dict.fromkeys(acl.grants)))
    if len(acl.grants) > MAX_GRANTS:
        raise malformed(f"An ACL can hold at most {MAX_GRANTS} grants")
    if len(to_json(acl)) > MAX_STORED:
        raise malformed("The ACL is too large")
    return acl


async def from_headers(state: ProxyState, headers: Mapping[str, str], owner: Owner, bucket_owner: Owner | None,
                       for_bucket: bool) -> Acl | None:
    """The ACL of the request's ``x-amz-acl`` or ``x-amz-grant-*`` headers (None: neither given)."""
    name = headers.get("x-amz-acl")
    granted = any(h in headers for h in GRANT_HEADERS)
    if name is not None and granted:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
    if name is not None:
        return canned(name.strip(), owner, bucket_owner, for_bucket)
    return await from_grant_headers(state, headers, owner) if granted else None


def _grantee_of(el: Element) -> tuple[str, str]:
    """(``id``/``emailAddress``/``uri``, value) of a ``Grantee`` element."""
    declared = el.get(f"{{{XSI}}}type") or ""
    found = {xml_tag: xml.child_text(el, xml_tag) for xml_tag in ("ID", "EmailAddress", "URI")}
    if declared == "CanonicalUser" or (not declared and found["ID"] is not None):
        value, kind = found["ID"], "id"
    elif declared == "AmazonCustomerByEmail" or (not declared and found["EmailAddress"] is not None):
        value, kind = found["EmailAddress"], "emailAddress"
    elif declared == "Group" or (not declared and found["URI"] is not None):
        value, kind = found["URI"], "uri"
    else:
        raise malformed()
    if value is None:
        raise malformed()
    return kind, value.strip()


async def from_document(state: ProxyState, body: bytes, owner: Owner) -> Acl:
    """The ACL of an ``AccessControlPolicy`` body; its Owner must be the resource's owner (AccessDenied)."""
    try:
        doc = xml.parse(body, "AccessControlPolicy")
    except S3Error:
        raise malformed() from None
    owner_el = xml.children(doc, "Owner")
    if len(owner_el) != 1 or xml.child_text(owner_el[0], "ID") is None:
        raise malformed()
    if (xml.child_text(owner_el[0], "ID") or "").strip() != owner.id:
        raise S3Error("AccessDenied")
    lists = xml.children(doc, "AccessControlList")
    if len(lists) > 1:
        raise malformed()
    grants: list[Grant] = []
    for grant in xml.children(lists[0], "Grant") if lists else []:
        grantees = xml.children(grant, "Grantee")
        permission = (xml.child_text(grant, "Permission") or "").strip()
        if len(grantees) != 1 or permission not in PERMISSIONS:
            raise malformed()
        kind, value = _grantee_of(grantees[0])
        grants.append(await resolve_grantee(state, kind, value, permission))
        if len(grants) > MAX_GRANTS:
            break
    return _bounded(Acl(owner, tuple(grants)))
