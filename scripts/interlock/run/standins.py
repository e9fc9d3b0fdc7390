"""Stand-ins for Kubernetes Secrets and ConfigMaps: a host folder per object, one file per key
(`--secret NAME=DIR`, `--configmap NAME=DIR`), or a Secret/ConfigMap document of the run file
(see documents.py). A flag wins over a document of the same name.

A volume or workspace made from them is planned as the files the kubelet would project (all
keys, or `items` with their paths and modes, `defaultMode`, several `projected` sources), written
into the run folder when the run starts and removed when it ends.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Mapping

from interlock.run import kubernetes_rules as rules
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.options import RunOptions

FLAGS = {"secret": "--secret", "configmap": "--configmap"}
KINDS = {"secret": "Secret", "configmap": "ConfigMap"}
DEFAULT_MODE = 0o644  # the kubelet's defaultMode for secret and configMap volumes (420)
Files = dict[str, tuple[bytes, int]]  # path in the volume -> (content, mode)


def _folder_keys(path: Path) -> dict[str, bytes]:
    """Every key of a stand-in folder: regular files not starting with a dot."""
    return {f.name: f.read_bytes() for f in sorted(Path(path).iterdir())
            if f.is_file() and not f.name.startswith(".")}


def data(kind: str, name: object, options: RunOptions, where: str,
         optional: bool = False) -> dict[str, bytes] | None:
    """Every key of Secret/ConfigMap `name` (None when optional and absent); InvalidRun
    naming the flag and the document kind that would provide it."""
    folders = options.secrets if kind == "secret" else options.configmaps
    documents = options.resources.secrets if kind == "secret" else options.resources.configmaps
    name = str(name)
    if name in folders:
        if not Path(folders[name]).is_dir():
            raise InvalidRun(where, f"{FLAGS[kind]} {name}={folders[name]}: not a folder")
        return _folder_keys(Path(folders[name]))
    if name in documents:
        return documents[name]
    if optional:
        return None
    raise InvalidRun(where, f"{kind} {name!r} has no stand-in: add a {KINDS[kind]} document named "
                            f"{name!r} to the run file, or pass {FLAGS[kind]} {name}=DIR (a folder "
                            "with one file per key)")


def text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def key(kind: str, name: object, key_name: object, options: RunOptions, where: str,
        optional: bool = False) -> str | None:
    """One key's value (env `valueFrom`); None when optional and absent."""
    values = data(kind, name, options, where, optional)
    if values is None:
        return None
    k = rules.config_key(key_name, f"{where}.key")
    if k not in values:
        if optional:
            return None
        raise InvalidRun(where, f"{kind} {name!r} has no key {k!r}")
    return text(values[k])


def _mode(value: object, where: str, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0o777:
        raise InvalidRun(where, f"{value!r} is not a file mode (0 to 0777)")
    return value


def _project(kind: str, src: Mapping, name_key: str, options: RunOptions, where: str,
             default_mode: int, out: Files) -> None:
    """One secret/configMap source into `out`: all keys, or its `items` (key, path, mode)."""
    values = data(kind, src.get(name_key), options, where, bool(src.get("optional")))
    if values is None:
        return
    items = src.get("items")
    if items is None:
        for k, v in values.items():
            out[rules.config_key(k, f"{where}: key")] = (v, default_mode)
        return
    if not isinstance(items, list):
        raise InvalidRun(f"{where}.items", "must be a list of {key, path}")
    for i, item in enumerate(items):
        here = f"{where}.items[{i}]"
        if not isinstance(item, dict):
            raise InvalidRun(here, "must be a mapping with key and path")
        k = rules.config_key(item.get("key"), f"{here}.key")
        path = rules.sub_path(item.get("path"), f"{here}.path")
        if k not in values:
            if src.get("optional"):
                continue
            raise InvalidRun(here, f"{kind} {src.get(name_key)!r} has no key {k!r}")
        out[str(PurePosixPath(path))] = (values[k], _mode(item.get("mode"), f"{here}.mode", default_mode))


def volume_files(source: Mapping, options: RunOptions, where: str) -> Files | None:
    """The files of a `secret`, `configMap` or `projected` volume source (a workspace binding or
    a volume), keyed by the source's field; None when the source is none of these."""
    if "secret" in source or "configMap" in source:
        field_name = "secret" if "secret" in source else "configMap"
        src = source[field_name] or {}
        if not isinstance(src, dict):
            raise InvalidRun(f"{where}.{field_name}", "must be a mapping")
        out: Files = {}
        kind, name_key = ("secret", "secretName") if field_name == "secret" else ("configmap", "name")
        _project(kind, src, name_key, options, f"{where}.{field_name}",
                 _mode(src.get("defaultMode"), f"{where}.{field_name}.defaultMode", DEFAULT_MODE), out)
        return out
    if "projected" in source:
        proj = source["projected"] or {}
        if not isinstance(proj, dict):
            raise InvalidRun(f"{where}.projected", "must be a mapping")
        mode = _mode(proj.get("defaultMode"), f"{where}.projected.defaultMode", DEFAULT_MODE)
        out = {}
        for i, s in enumerate(proj.get("sources") or []):
            here = f"{where}.projected.sources[{i}]"
            if not isinstance(s, dict) or set(s) - {"secret", "configMap"}:
                other = sorted(set(s) - {"secret", "configMap"}) if isinstance(s, dict) else ["?"]
                raise Unsupported(here, f"projected source {', '.join(other)} (only secret and "
                                        "configMap sources)")
            for field_name, kind in (("secret", "secret"), ("configMap", "configmap")):
                if field_name in s:
                    _project(kind, s[field_name] or {}, "name", options, f"{here}.{field_name}",
                             mode, out)
        return out
    return None


def secret_values(source: Mapping, options: RunOptions) -> set[str]:
    """Every value of the Secrets a volume source reads (masked in logs)."""
    names: list[tuple[str, bool]] = []
    if isinstance(source.get("secret"), dict):
        names.append((source["secret"].get("secretName"), True))
    for s in (source.get("projected") or {}).get("sources") or [] \
            if isinstance(source.get("projected"), dict) else []:
        if isinstance(s, dict) and isinstance(s.get("secret"), dict):
            names.append((s["secret"].get("name"), True))
    out: set[str] = set()
    for name, optional in names:
        try:
            values = data("secret", name, options, "", optional)
        except InvalidRun:
            continue
        out |= {text(v) for v in (values or {}).values()}
    return out
