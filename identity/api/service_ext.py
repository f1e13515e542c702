"""StackStore extensions for services: resolve an EC2 access key (S3 auth in the proxy)."""

from __future__ import annotations

import json

from identity import policy
from identity.api.base import Ctx
from identity.api.credentials import ec2_id
from identity.errors import not_found
from identity.lookup import effective_roles
from identity.models import Credential, Domain, Project, User


def ec2_lookup(ctx: Ctx):
    """``{"credential": {access, secret, user_id, user_name, user_email, project_id, project_name, roles}}`` while the
    user, project and domain are enabled (else 404); admin or service role only.

    ``roles`` are the names of the user's effective roles on the credential's project, empty once the user
    holds none: the caller checks the signature, then refuses the key (Keystone's "User not valid for
    project", AccessDenied through s3token), and maps the roles to read or write rights."""
    policy.enforce(ctx, "identity:ec2_lookup")
    access = ctx.params["access"]
    cred = ctx.db.get(Credential, ec2_id(access))
    user = ctx.db.get(User, cred.user_id) if cred is not None and cred.type == "ec2" else None
    project = ctx.db.get(Project, cred.project_id) if cred is not None and cred.project_id else None
    if cred is None or user is None or project is None or not user.enabled or not project.enabled:
        raise not_found("credential", access)
    domain = ctx.db.get(Domain, user.domain_id)
    if domain is None or not domain.enabled:
        raise not_found("credential", access)
    roles = [r.name for r in effective_roles(ctx.db, user.id, "project", project.id)]
    blob = json.loads(cred.blob)
    return 200, {"credential": {"access": access, "secret": blob.get("secret", ""), "user_id": user.id,
                                "user_name": user.name, "user_email": user.email or "", "project_id": project.id,
                                "project_name": project.name, "roles": roles}}


ROUTES = [("/v3/OS-STACKSTORE/ec2/{access}", "GET", ec2_lookup)]
