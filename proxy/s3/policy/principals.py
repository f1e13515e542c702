"""Who the caller is, in the forms a policy's ``Principal`` names.

An identity has an account (``AUTH_test``) and a user (``test:tester``); the account id is the
account name without the reseller prefix; the canonical user id is ``proxy.s3.owners.canonical_id``.
"""

from __future__ import annotations

from proxy.context import Identity
from proxy.s3.owners import canonical_id

ANYONE = "*"


def account_id(account: str, reseller_prefix: str = "AUTH_") -> str:
    """``AUTH_test`` → ``test``: the AWS account id of a storage account."""
    return account[len(reseller_prefix):] if account.startswith(reseller_prefix) else account


def caller_principals(identity: Identity | None, reseller_prefix: str = "AUTH_") -> set[str]:
    """Every Principal value that names the caller (``*`` names everyone, anonymous callers included)."""
    names = {ANYONE}
    if identity is None or identity.is_anonymous:
        return names
    acct = account_id(identity.account, reseller_prefix)
    user = identity.user.split(":", 1)[1] if ":" in identity.user else identity.user
    # an account principal delegates to the whole account (there is no IAM layer to narrow it further)
    # the account's canonical user id (``{"CanonicalUser": id}``, the ID of ACLs and listings) names it too
    return names | {identity.user, f"arn:aws:iam::{acct}:user/{user}", acct, f"arn:aws:iam::{acct}:root",
                    canonical_id(identity.account)}


def matches(patterns: tuple[str, ...], principals: set[str]) -> bool:
    """Some Principal value of a statement names one of the caller's principals."""
    return any(p in principals for p in patterns)
