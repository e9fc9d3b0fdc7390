"""Stand-ins for Kubernetes Secrets and ConfigMaps: a host folder per object, one file per key
(`--secret name=DIR`, `--configmap name=DIR`)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from interlock.run.errors import InvalidRun
from interlock.run.kubernetes_rules import config_key

FLAGS = {"secret": "--secret", "configmap": "--configmap"}


def folder(kind: str, name: object, standins: Mapping[str, Path], where: str,
           optional: bool = False) -> Path | None:
    """The host folder standing in for Secret/ConfigMap `name`, or InvalidRun naming the flag."""
    path = standins.get(str(name))
    if path is None:
        if optional:
            return None
        raise InvalidRun(where, f"{kind} {name!r} has no stand-in: pass {FLAGS[kind]} {name}=DIR "
                                "(a folder with one file per key)")
    if not Path(path).is_dir():
        raise InvalidRun(where, f"{FLAGS[kind]} {name}={path}: not a folder")
    return Path(path)


def keys(path: Path) -> dict[str, str]:
    """Every key of a stand-in folder: regular files not starting with a dot."""
    out = {}
    for f in sorted(Path(path).iterdir()):
        if f.is_file() and not f.name.startswith("."):
            out[f.name] = f.read_text(encoding="utf-8")
    return out


def key(kind: str, name: object, key_name: object, standins: Mapping[str, Path], where: str,
        optional: bool = False) -> str | None:
    path = folder(kind, name, standins, where, optional)
    if path is None:
        return None
    f = path / config_key(key_name, f"{where}.key")  # one file name: never a path out of it
    if not f.is_file():
        if optional:
            return None
        raise InvalidRun(where, f"{kind} {name!r} has no key {key_name!r} (no file {f})")
    return f.read_text(encoding="utf-8")
