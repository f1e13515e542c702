"""S3 access control lists: grants, canned ACLs, the stored form and AWS's XML document.

An ACL is the resource owner plus up to ``MAX_GRANTS`` grants; a grant gives one permission
(``READ``, ``WRITE``, ``READ_ACP``, ``WRITE_ACP``, ``FULL_CONTROL``) to a canonical user (by id; e-mail
grants are resolved to the id when set) or to a group (``AllUsers``, ``AuthenticatedUsers``,
``LogDelivery``). Stored compactly as JSON in sysmeta (``to_json``/``from_json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from proxy.s3 import xml
from proxy.s3.errors import S3Error
from proxy.s3.owners import Owner

READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL = "READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"
PERMISSIONS = (FULL_CONTROL, WRITE, WRITE_ACP, READ, READ_ACP)
GROUPS_BASE = "http://acs.amazonaws.com/groups/"
ALL_USERS = GROUPS_BASE + "global/AllUsers"
AUTHENTICATED_USERS = GROUPS_BASE + "global/AuthenticatedUsers"
LOG_DELIVERY = GROUPS_BASE + "s3/LogDelivery"
GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_GRANTS = 100
USER, GROUP = "CanonicalUser", "Group"

BUCKET_CANNED = ("private", "public-read", "public-read-write", "authenticated-read", "log-delivery-write")
OBJECT_CANNED = ("private", "public-read", "public-read-write", "authenticated-read", "bucket-owner-read",
                 "bucket-owner-full-control", "aws-exec-read")


@dataclass(frozen=True)
class Grant:
    """One permission to one grantee: a canonical user (``USER``, id + display name) or a ``GROUP`` (uri)."""

    kind: str  # USER or GROUP
    grantee: str  # canonical id or group uri
    permission: str
    display_name: str = ""

    @property
    def public(self) -> bool:
        """A grant to everyone or to every signed-in user."""
        return self.kind == GROUP and self.grantee in PUBLIC_GROUPS


@dataclass(frozen=True)
class Acl:
    """The owner and the grants of a bucket or an object."""

    owner: Owner
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def public(self) -> bool:
        return any(g.public for g in self.grants)

    def only_owner(self) -> bool:
        """Nobody but the owner holds a grant (what BucketOwnerEnforced accepts)."""
        return all(g.kind == USER and g.grantee == self.owner.id for g in self.grants)


def owner_grant(owner: Owner, permission: str = FULL_CONTROL) -> Grant:
    return Grant(USER, owner.id, permission, owner.display_name)


def canned(name: str, owner: Owner, bucket_owner: Owner | None = None, for_bucket: bool = True) -> Acl:
    """The ACL a canned ACL name stands for; InvalidArgument for a name this resource does not take."""
    allowed = BUCKET_CANNED if for_bucket else OBJECT_CANNED
    if name not in allowed:
        raise S3Error("InvalidArgument", None, ArgumentName="x-amz-acl", ArgumentValue=name)
    # the group grants a canned ACL adds come before the owner's own (the order S3 servers list them in)
    groups: list[Grant] = []
    if name == "public-read":
        groups = [Grant(GROUP, ALL_USERS, READ)]
    elif name == "public-read-write":
        groups = [Grant(GROUP, ALL_USERS, READ), Grant(GROUP, ALL_USERS, WRITE)]
    elif name == "authenticated-read":
        groups = [Grant(GROUP, AUTHENTICATED_USERS, READ)]
    elif name == "log-delivery-write":
        groups = [Grant(GROUP, LOG_DELIVERY, WRITE), Grant(GROUP, LOG_DELIVERY, READ_ACP)]
    grants = [*groups, owner_grant(owner)]
    if name in ("bucket-owner-read", "bucket-owner-full-control") and bucket_owner is not None \
            and bucket_owner.id != owner.id:
        grants.append(owner_grant(bucket_owner, READ if name == "bucket-owner-read" else FULL_CONTROL))
    return Acl(owner, tuple(grants))


def private(owner: Owner) -> Acl:
    return Acl(owner, (owner_grant(owner),))


# -- stored form ---------------------------------------------------------------------------------------
_KIND_CODES = {USER: "u", GROUP: "g"}
_CODE_KINDS = {v: k for k, v in _KIND_CODES.items()}


def to_json(acl: Acl) -> str:
    """Compact JSON for sysmeta: ``{"o": [id, name, account], "g": [[kind, grantee, permission, name]...]}``."""
    return json.dumps({"o": [acl.owner.id, acl.owner.display_name, acl.owner.account],
                       "g": [[_KIND_CODES[g.kind], g.grantee, g.permission, g.display_name] for g in acl.grants]},
                      separators=(",", ":"), ensure_ascii=True)


def from_json(text: str | None) -> Acl | None:
    """The ACL stored by ``to_json`` (None when absent or unreadable)."""
    if not text:
        return None
    try:
        data = json.loads(text)
        oid, oname, oaccount = data["o"]
        grants = tuple(Grant(_CODE_KINDS[k], str(who), str(perm), str(name)) for k, who, perm, name in data["g"])
    except (ValueError, KeyError, TypeError):
        return None
    return Acl(Owner(str(oid), str(oname), str(oaccount)), grants)


# -- the XML document ----------------------------------------------------------------------------------
def add_owner(parent: Element, owner: Owner, tag: str = "Owner") -> None:
    el = xml.add(parent, tag)
    xml.add(el, "ID", owner.id)
    xml.add(el, "DisplayName", owner.display_name)


def document(acl: Acl) -> Element:
    """The ``AccessControlPolicy`` document of GetBucketAcl/GetObjectAcl."""
    doc = xml.root("AccessControlPolicy")
    doc.set("xmlns:xsi", XSI)
    add_owner(doc, acl.owner)
    grants = xml.add(doc, "AccessControlList")
    for g in acl.grants:
        grant = xml.add(grants, "Grant")
        grantee = xml.add(grant, "Grantee")
        grantee.set("xsi:type", g.kind)
        if g.kind == USER:
            xml.add(grantee, "ID", g.grantee)
            xml.add(grantee, "DisplayName", g.display_name)
        else:
            xml.add(grantee, "URI", g.grantee)
        xml.add(grant, "Permission", g.permission)
    return doc
