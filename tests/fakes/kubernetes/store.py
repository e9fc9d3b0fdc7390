"""Stored objects, their resourceVersions and their history.

One resourceVersion counter for the whole store, as etcd's revision is: every effective write moves
it and stamps the written object with it. A write that changes nothing is not a write: the API
server skips storage for a no-op update or patch, so the object keeps its resourceVersion (and a
client can tell "already so" from "changed"). `generation` moves when anything outside `metadata`
and `status` changes. Every write is kept in the object's history, for tests that assert what a
client applied over time.
"""
from __future__ import annotations

import copy
import datetime
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str, str]  # (resource e.g. virtualservices.networking.istio.io, namespace, name)


@dataclass(frozen=True)
class Revision:
    at: float
    resource_version: str
    verb: str
    object: dict[str, Any] | None  # None: deleted


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    def __init__(self, clock: Callable[[], float], start: int = 1000) -> None:
        self.lock = threading.RLock()
        self._clock = clock
        self._revision = start
        self._objects: dict[Key, dict[str, Any]] = {}
        self._history: dict[Key, list[Revision]] = {}

    @property
    def revision(self) -> str:
        with self.lock:
            return str(self._revision)

    def get(self, key: Key) -> dict[str, Any] | None:
        with self.lock:
            found = self._objects.get(key)
            return copy.deepcopy(found) if found is not None else None

    def list(self, resource: str, namespace: str | None) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(obj) for (r, ns, _), obj in sorted(self._objects.items())
                    if r == resource and (namespace is None or ns == namespace)]

    def keys(self) -> list[Key]:
        """Every key that was ever written (deleted ones too), sorted."""
        with self.lock:
            return sorted(self._history)

    def history(self, key: Key) -> list[Revision]:
        with self.lock:
            return list(self._history.get(key, []))

    def write(self, key: Key, new: dict[str, Any], verb: str) -> dict[str, Any]:
        """Store `new` (a full object) for `key`; returns what is stored. Call with `lock` held
        around the read that `new` was computed from, so checks and write are one step."""
        with self.lock:
            old = self._objects.get(key)
            metadata = new.setdefault("metadata", {})
            if old is not None and _same(old, new):
                return copy.deepcopy(old)  # a no-op: nothing is written
            self._revision += 1
            metadata["resourceVersion"] = str(self._revision)
            if old is None:
                metadata["uid"] = str(uuid.UUID(int=self._revision))  # deterministic, unique per store
                metadata["generation"] = 1
                metadata["creationTimestamp"] = _timestamp(self._clock())
            else:
                metadata["uid"] = old["metadata"]["uid"]
                metadata["creationTimestamp"] = old["metadata"]["creationTimestamp"]
                changed = _content(old) != _content(new)
                metadata["generation"] = old["metadata"].get("generation", 1) + (1 if changed else 0)
            self._objects[key] = copy.deepcopy(new)
            self._history.setdefault(key, []).append(Revision(self._clock(), metadata["resourceVersion"], verb,
                                                              copy.deepcopy(new)))
            return copy.deepcopy(new)

    def delete(self, key: Key) -> dict[str, Any] | None:
        with self.lock:
            old = self._objects.pop(key, None)
            if old is not None:
                self._revision += 1
                self._history.setdefault(key, []).append(Revision(self._clock(), str(self._revision), "delete", None))
            return old


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def comparable(obj: dict[str, Any]) -> dict[str, Any]:
        metadata = {k: v for k, v in (obj.get("metadata") or {}).items()
                    if k not in ("resourceVersion", "generation", "uid", "creationTimestamp")}
        return {**{k: v for k, v in obj.items() if k not in ("metadata", "apiVersion")}, "metadata": metadata}

    return comparable(old) == comparable(new)


def _timestamp(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(int(seconds), tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
