"""``/v3/credentials`` (blob credentials; EC2 ones have ``id = sha256(access)``) and the OS-EC2 API
``/v3/users/{user_id}/credentials/OS-EC2``."""

from __future__ import annotations

import hashlib
import json
import os

from sqlalchemy import select

from identity import policy, views
from identity.api.base import Ctx
from identity.api.crud import flush, text
from identity.errors import bad_request, forbidden, not_found
from identity.lookup import get_or_404, user_project_ids
from identity.models import Credential, Project, User, new_id


def ec2_id(access: str) -> str:
    return hashlib.sha256(access.encode()).hexdigest()


def _visible(ctx: Ctx, cred: Credential) -> Credential:
    policy.enforce(ctx, "identity:get_credential", {"user": {"id": cred.user_id}})
    return cred


def _manage(ctx: Ctx, user_id: str) -> None:
    """Credential management: the user themself (not through an application credential), or a cloud admin."""
    caller = policy.enforce(ctx, "identity:manage_credential", {"user": {"id": user_id}})
    if caller.app_cred and not policy.allows(caller, "admin_api"):
        raise forbidden("Application credentials cannot manage credentials.")


def _parse_blob(ctype: str, blob: object) -> dict | None:
    if not isinstance(blob, str) or len(blob) > 65536:
        raise bad_request("Invalid input for field 'blob': expected a string.")
    if ctype != "ec2":
        return None
    try:
        data = json.loads(blob)
    except ValueError:
        raise bad_request("Invalid blob in credential: not JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("access"), str) or not data["access"]:
        raise bad_request("Invalid blob in credential: no access key.")
    return data


def list_credentials(ctx: Ctx):
    caller = ctx.auth()
    stmt = select(Credential)
    for key in ("type", "user_id"):
        if ctx.query.get(key):
            stmt = stmt.where(getattr(Credential, key) == ctx.query[key])
    if not policy.allows(caller, "identity:list_credentials", {"user": {"id": ctx.query.get("user_id")}}):
        stmt = stmt.where(Credential.user_id == caller.user_id)
    rows = ctx.db.scalars(stmt).all()
    return 200, views.collection(ctx.base, ctx.path, "credentials", [views.credential(c, ctx.base) for c in rows])


def create_credential(ctx: Ctx):
    data = ctx.obj("credential")
    user = get_or_404(ctx.db, User, text(data, "user_id", required=True), "user")
    _manage(ctx, user.id)
    ctype = text(data, "type", required=True)
    blob = _parse_blob(ctype, data.get("blob"))
    project_id = text(data, "project_id")
    if project_id is not None:
        get_or_404(ctx.db, Project, project_id, "project")
    if ctype == "ec2" and project_id is None:
        raise bad_request("EC2 credentials need a project_id.")
    cred = Credential(id=ec2_id(blob["access"]) if blob else new_id(), user_id=user.id, project_id=project_id,
                      type=ctype, blob=data["blob"])
    ctx.db.add(cred)
    flush(ctx, "credential")
    return 201, {"credential": views.credential(cred, ctx.base)}


def get_credential(ctx: Ctx):
    cred = _visible(ctx, get_or_404(ctx.db, Credential, ctx.params["credential_id"], "credential"))
    return 200, {"credential": views.credential(cred, ctx.base)}


def update_credential(ctx: Ctx):
    cred = _visible(ctx, get_or_404(ctx.db, Credential, ctx.params["credential_id"], "credential"))
    _manage(ctx, cred.user_id)
    data = ctx.obj("credential")
    if "blob" in data:
        blob = _parse_blob(cred.type, data["blob"])
        if blob and ec2_id(blob["access"]) != cred.id:
            raise bad_request("The access key of an EC2 credential cannot change.")
        cred.blob = data["blob"]
    if "project_id" in data:
        cred.project_id = get_or_404(ctx.db, Project, text(data, "project_id", required=True), "project").id
    return 200, {"credential": views.credential(cred, ctx.base)}


def delete_credential(ctx: Ctx):
    cred = get_or_404(ctx.db, Credential, ctx.params["credential_id"], "credential")
    _manage(ctx, cred.user_id)
    ctx.db.delete(cred)
    return 204, None


# -- OS-EC2 ----------------------------------------------------------------------------------------
def _ec2_user(ctx: Ctx) -> User:
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    _manage(ctx, user.id)
    return user


def _ec2_cred(ctx: Ctx, user: User) -> Credential:
    cred = ctx.db.get(Credential, ec2_id(ctx.params["access"]))
    if cred is None or cred.type != "ec2" or cred.user_id != user.id:
        raise not_found("credential", ctx.params["access"])
    return cred


def ec2_create(ctx: Ctx):
    user = _ec2_user(ctx)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    project_id = body.get("tenant_id") or body.get("project_id") or ctx.auth().project_id
    if not isinstance(project_id, str):
        raise bad_request("Expecting to find tenant_id in request body.")
    get_or_404(ctx.db, Project, project_id, "project")
    if project_id not in user_project_ids(ctx.db, user.id):
        raise forbidden(f"User {user.id} has no role on project {project_id}.")
    access, secret = os.urandom(16).hex(), os.urandom(16).hex()
    cred = Credential(id=ec2_id(access), user_id=user.id, project_id=project_id, type="ec2",
                      blob=json.dumps({"access": access, "secret": secret, "trust_id": None}))
    ctx.db.add(cred)
    flush(ctx, "credential")
    return 201, {"credential": views.ec2_credential(cred, ctx.base)}


def ec2_list(ctx: Ctx):
    user = _ec2_user(ctx)
    rows = ctx.db.scalars(select(Credential).where(Credential.user_id == user.id, Credential.type == "ec2")).all()
    return 200, views.collection(ctx.base, ctx.path, "credentials", [views.ec2_credential(c, ctx.base) for c in rows])


def ec2_get(ctx: Ctx):
    return 200, {"credential": views.ec2_credential(_ec2_cred(ctx, _ec2_user(ctx)), ctx.base)}


def ec2_delete(ctx: Ctx):
    ctx.db.delete(_ec2_cred(ctx, _ec2_user(ctx)))
    return 204, None


EC2 = "/v3/users/{user_id}/credentials/OS-EC2"
ROUTES = [
    ("/v3/credentials", "GET,HEAD", list_credentials),
    ("/v3/credentials", "POST", create_credential),
    ("/v3/credentials/{credential_id}", "GET,HEAD", get_credential),
    ("/v3/credentials/{credential_id}", "PATCH", update_credential),
    ("/v3/credentials/{credential_id}", "DELETE", delete_credential),
    (EC2, "GET,HEAD", ec2_list),
    (EC2, "POST", ec2_create),
    (EC2 + "/{access}", "GET,HEAD", ec2_get),
    (EC2 + "/{access}", "DELETE", ec2_delete),
]
