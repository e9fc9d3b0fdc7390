"""Who may do what: bearer tokens and namespaced Role rules, as the API server's RBAC authorizer
decides for resource requests.

A request's verb comes from its HTTP method (Kubernetes docs, "Authorization: request verbs"):
GET get (or list for a collection; watch with ?watch=true), POST create, PUT update, PATCH patch,
DELETE delete. A rule allows a request when its apiGroups, resources (and resourceNames, if any)
and verbs all match; `*` matches anything. Rules come from Role YAML bound to a user in a
namespace, so the fake can enforce the very Role a Task's samples ship.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()

    def allows(self, verb: str, group: str, resource: str, name: str | None) -> bool:
        def hit(values: tuple[str, ...], value: str) -> bool:
            return "*" in values or value in values

        if self.resource_names and (name is None or name not in self.resource_names):
            return False
        return hit(self.api_groups, group) and hit(self.resources, resource) and hit(self.verbs, verb)

    @classmethod
    def from_dict(cls, rule: dict[str, Any]) -> Rule:
        return cls(tuple(rule.get("apiGroups") or ()), tuple(rule.get("resources") or ()),
                   tuple(rule.get("verbs") or ()), tuple(rule.get("resourceNames") or ()))


ALL = Rule(("*",), ("*",), ("*",))


@dataclass
class Access:
    """Tokens and per-namespace rules. No tokens: anonymous requests are served; no grants at all:
    everything is allowed (the fake then checks nothing)."""

    tokens: dict[str, str] = field(default_factory=dict)  # bearer token -> user name
    grants: dict[tuple[str, str], list[Rule]] = field(default_factory=dict)  # (user, namespace) -> rules
    enforce: bool = False

    def user_for(self, authorization: str | None) -> str | None:
        """The user a request authenticates as; None when it must be answered 401."""
        if not self.tokens:
            return "system:anonymous"
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.tokens.get(token.strip())

    def allow(self, user: str, namespace: str, rules: list[Rule] | None = None) -> None:
        """Grant `rules` (default: everything) to `user` in `namespace`."""
        self.enforce = True
        self.grants.setdefault((user, namespace), []).extend(rules or [ALL])

    def bind_role(self, role: dict[str, Any], user: str) -> None:
        """Grant a Role's rules (a parsed `rbac.authorization.k8s.io/v1` Role) to `user` in its namespace."""
        if role.get("kind") != "Role":
            raise ValueError(f"expected a Role, got kind {role.get('kind')!r}")
        namespace = (role.get("metadata") or {}).get("namespace")
        if not namespace:
            raise ValueError(f"Role {role.get('metadata', {}).get('name')!r} has no metadata.namespace")
        self.allow(user, namespace, [Rule.from_dict(rule) for rule in role.get("rules") or []])

    def bind_role_file(self, path: Path, user: str) -> None:
        self.bind_role(yaml.safe_load(path.read_text(encoding="utf-8")), user)

    def permits(self, user: str, verb: str, group: str, resource: str, namespace: str | None, name: str | None) -> bool:
        if not self.enforce:
            return True
        if namespace is None:  # cluster-wide requests need a ClusterRole, which this fake does not model
            return False
        return any(rule.allows(verb, group, resource, name) for rule in self.grants.get((user, namespace), []))
