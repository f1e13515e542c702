"""One policy evaluator for every API service: oslo.policy-style rule expressions over the caller's
credentials and the request's target.

A service keeps a table ``{operation: rule}`` (plus shared named rules) and asks ``Policy.allows`` or
``Policy.enforce`` once per operation. Rule language (a subset of oslo.policy's)::

    @ / !                                  always / never
    rule:<name>                            another rule of the table
    role:<name>                            the caller holds the role (implied roles included)
    system_scope:all                       the token is system-scoped
    is_admin_project:True                  the token is scoped to the cloud's admin project
    project_id:%(target.project.id)s       a credential equals a target value
    domain_id:%(...)s  user_id:%(...)s     (idem, for the token's domain scope and user)
    'member':%(target.role.name)s          a literal equals a target value
    A and B, A or B, not A, ( ... )

A target reference that is missing (or a credential that is None) never matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Keystone's bootstrap creates these implied roles: admin ⊃ member ⊃ reader.
IMPLIED_ROLES: dict[str, tuple[str, ...]] = {"admin": ("member",), "member": ("reader",)}


def expand_roles(names: Iterable[str]) -> set[str]:
    """``names`` plus every role they imply (transitively)."""
    out: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(IMPLIED_ROLES.get(name, ()))
    return out


@dataclass(frozen=True)
class Credentials:
    """What a rule may test about the caller."""

    user_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None  # domain-scoped tokens only
    system_scope: str | None = None  # "all" for system-scoped tokens
    is_admin_project: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, user_id: str | None, roles: Iterable[str], project_id: str | None = None,
           domain_id: str | None = None, system: bool = False, is_admin_project: bool = False) -> Credentials:
        """Credentials with ``roles`` expanded by their implied roles."""
        return cls(user_id=user_id, project_id=project_id, domain_id=domain_id,
                   system_scope="all" if system else None, is_admin_project=is_admin_project,
                   roles=frozenset(expand_roles(roles)))

    @classmethod
    def from_token(cls, info: Any) -> Credentials:
        """From an ``identity.tokens.TokenInfo``."""
        return cls.of(info.user_id, info.role_names, project_id=info.project_id, domain_id=info.domain_id,
                      system=info.system, is_admin_project=info.is_admin_project)


class PolicyError(ValueError):
    """A rule that does not parse, or names an unknown rule."""


_TOKEN = re.compile(r"\s*((?:%\([\w.]+\)s|[^\s()])+|\(|\))")
_REF = re.compile(r"%\(([\w.]+)\)s")


def _lookup(target: Mapping[str, Any], dotted: str) -> Any:
    """``target["a"]["b"]`` for ``a.b``, also accepting a flat key ``"a.b"``; None when missing."""
    if dotted in target:
        return target[dotted]
    key = dotted[len("target."):] if dotted.startswith("target.") else dotted
    if key in target:
        return target[key]
    value: Any = target
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _value(text: str, target: Mapping[str, Any]) -> Any:
    match = _REF.fullmatch(text)
    return _lookup(target, match.group(1)) if match else text


def _check(atom: str, creds: Credentials, target: Mapping[str, Any], table: Policy, depth: int) -> bool:
    if atom == "@":
        return True
    if atom == "!":
        return False
    kind, sep, match = atom.partition(":")
    if not sep:
        raise PolicyError(f"not a check: {atom!r}")
    if kind == "rule":
        return table.evaluate(match, creds, target, depth + 1)
    if kind == "role":
        return match in creds.roles
    wanted = _value(match, target)
    if wanted is None:
        return False
    if kind.startswith("'") and kind.endswith("'") and len(kind) >= 2:
        return str(wanted) == kind[1:-1]
    if kind == "is_admin_project":
        return creds.is_admin_project == (str(wanted).lower() == "true")
    have = {"user_id": creds.user_id, "project_id": creds.project_id, "domain_id": creds.domain_id,
            "system_scope": creds.system_scope}.get(kind)
    if kind not in ("user_id", "project_id", "domain_id", "system_scope"):
        raise PolicyError(f"unknown check kind {kind!r}")
    return have is not None and str(have) == str(wanted)


class _Parser:
    """Recursive descent over ``or`` < ``and`` < ``not`` < atom / parentheses; returns a closure tree."""

    def __init__(self, text: str):
        self.tokens = _TOKEN.findall(text)
        self.pos = 0

    def parse(self) -> Any:
        if not self.tokens:
            return ("atom", "@")  # an empty rule allows, as in oslo.policy
        node = self._or()
        if self.pos != len(self.tokens):
            raise PolicyError(f"unexpected {self.tokens[self.pos]!r}")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _or(self) -> Any:
        nodes = [self._and()]
        while self._peek() == "or":
            self.pos += 1
            nodes.append(self._and())
        return nodes[0] if len(nodes) == 1 else ("or", nodes)

    def _and(self) -> Any:
        nodes = [self._not()]
        while self._peek() == "and":
            self.pos += 1
            nodes.append(self._not())
        return nodes[0] if len(nodes) == 1 else ("and", nodes)

    def _not(self) -> Any:
        if self._peek() == "not":
            self.pos += 1
            return ("not", self._not())
        return self._atom()

    def _atom(self) -> Any:
        tok = self._peek()
        if tok is None or tok in (")", "and", "or"):
            raise PolicyError(f"expected a check, got {tok!r}")
        self.pos += 1
        if tok == "(":
            node = self._or()
            if self._peek() != ")":
                raise PolicyError("missing ')'")
            self.pos += 1
            return node
        return ("atom", tok)


class Policy:
    """A service's rules: ``{name: expression}`` (operations and shared rules alike), parsed once."""

    MAX_DEPTH = 16

    def __init__(self, rules: Mapping[str, str]):
        self.rules = dict(rules)
        self._trees = {name: _Parser(expr).parse() for name, expr in self.rules.items()}
        for name, expr in self.rules.items():  # every rule:<name> must exist
            for ref in re.findall(r"rule:([\w:.-]+)", expr):
                if ref not in self._trees:
                    raise PolicyError(f"rule {name!r} names unknown rule {ref!r}")

    def evaluate(self, name: str, creds: Credentials, target: Mapping[str, Any], depth: int = 0) -> bool:
        if depth > self.MAX_DEPTH:
            raise PolicyError(f"rule {name!r} recurses too deeply")
        tree = self._trees.get(name)
        if tree is None:
            raise PolicyError(f"no rule for {name!r}")
        return self._eval(tree, creds, target, depth)

    def _eval(self, node: Any, creds: Credentials, target: Mapping[str, Any], depth: int) -> bool:
        kind = node[0]
        if kind == "atom":
            return _check(node[1], creds, target, self, depth)
        if kind == "not":
            return not self._eval(node[1], creds, target, depth)
        if kind == "and":
            return all(self._eval(n, creds, target, depth) for n in node[1])
        return any(self._eval(n, creds, target, depth) for n in node[1])

    def allows(self, operation: str, creds: Credentials, target: Mapping[str, Any] | None = None) -> bool:
        """Whether ``creds`` may perform ``operation`` on ``target`` (an unknown operation is refused)."""
        if operation not in self._trees:
            return False
        return self.evaluate(operation, creds, target or {})


# Named rules every service's table starts from (upstream's secure-RBAC personas). "Cloud admin" is a
# system-scoped admin, or an admin of the configured admin project (Keystone's ``admin_project_name``:
# ``is_admin_project``); a project admin elsewhere is only that project's admin.
BASE_RULES: dict[str, str] = {
    "admin_api": "(role:admin and system_scope:all) or (role:admin and is_admin_project:True)",
    "system_reader": "role:reader and system_scope:all",
    "cloud_reader": "rule:system_reader or rule:admin_api",
    "project_reader": "role:reader and project_id:%(project_id)s",
    "project_member": "role:member and project_id:%(project_id)s",
    "project_admin": "role:admin and project_id:%(project_id)s",
    "reader_or_admin": "rule:admin_api or rule:project_reader",
    "member_or_admin": "rule:admin_api or rule:project_member",
    "project_admin_or_admin": "rule:admin_api or rule:project_admin",
}

_BASE = Policy(BASE_RULES)


def is_cloud_admin(creds: Credentials) -> bool:
    """System admin, or admin of the admin project: may act on every project."""
    return _BASE.allows("admin_api", creds)
