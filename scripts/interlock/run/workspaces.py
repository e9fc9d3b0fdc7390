"""Workspaces and volumes of a TaskRun, bound to host folders.

Bindings (TaskRun spec.workspaces), in this order of precedence:
- `-w name=DIR` on the command line (RunOptions.workspaces): that host folder;
- `hostPath: {path: DIR}` (Interlock extension, used by the PipelineRun runner to share a folder);
- `emptyDir`, `volumeClaimTemplate`: a fresh folder of the run;
- `persistentVolumeClaim: {claimName}`: a folder of the run named after the claim;
- `secret: {secretName}` / `configMap: {name}`: the `--secret`/`--configmap` stand-in, read-only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from interlock.run import standins
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.options import RunOptions


@dataclass
class Workspace:
    name: str
    host: Path | None          # None: optional and not bound
    mount_path: str
    readonly: bool
    claim: str = ""
    isolated: bool = False     # only the steps/sidecars that list it get it

    @property
    def bound(self) -> bool:
        return self.host is not None


def _fresh(run_dir: Path, *parts: str) -> Path:
    d = run_dir.joinpath(*parts)
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o777)  # a step running as another user must be able to write, as in an emptyDir
    return d


def _bind(binding: dict, options: RunOptions, run_dir: Path, where: str) -> tuple[Path, bool, str]:
    """(host folder, forced read-only, claim name) of one binding."""
    name = str(binding.get("name"))
    if name in options.workspaces:
        path = Path(options.workspaces[name])
        if not path.is_dir():
            raise InvalidRun(f"-w {name}", f"{path} is not a folder")
        return path.resolve(), False, ""
    if "hostPath" in binding:
        return Path(binding["hostPath"]["path"]), False, ""
    if "emptyDir" in binding or "volumeClaimTemplate" in binding:
        return _fresh(run_dir, "workspaces", name), False, ""
    if "persistentVolumeClaim" in binding:
        claim = str((binding["persistentVolumeClaim"] or {}).get("claimName", name))
        return _fresh(run_dir, "claims", claim), False, claim
    if "secret" in binding:
        s = binding["secret"] or {}
        if s.get("items"):
            raise Unsupported(f"{where}.secret.items", "secret workspace items")
        return standins.folder("secret", s.get("secretName"), options.secrets, f"{where}.secret"), \
            True, ""
    if "configMap" in binding:
        c = binding["configMap"] or {}
        if c.get("items"):
            raise Unsupported(f"{where}.configMap.items", "configMap workspace items")
        return standins.folder("configmap", c.get("name"), options.configmaps,
                               f"{where}.configMap"), True, ""
    kinds = sorted(set(binding) - {"name", "subPath"})
    if kinds:
        raise Unsupported(f"{where}", f"workspace binding {', '.join(kinds)}")
    raise InvalidRun(where, f"workspace {name!r} binding names no volume (use -w {name}=DIR, "
                            "emptyDir, secret, configMap or persistentVolumeClaim)")


def resolve(declared: object, bindings: object, options: RunOptions, run_dir: Path,
            isolated: set[str], where: str, given_where: str) -> dict[str, Workspace]:
    if declared is None:
        declared = []
    if not isinstance(declared, list):
        raise InvalidRun(where, "must be a list of workspace declarations")
    if bindings is None:
        bindings = []
    if not isinstance(bindings, list):
        raise InvalidRun(given_where, "must be a list of workspace bindings")
    by_name: dict[str, tuple[int, dict]] = {}
    for i, b in enumerate(bindings):
        if not isinstance(b, dict) or not b.get("name"):
            raise InvalidRun(f"{given_where}[{i}]", "a workspace binding needs a `name`")
        by_name[str(b["name"])] = (i, b)
    declared_names = set()
    out: dict[str, Workspace] = {}
    for i, decl in enumerate(declared):
        here = f"{where}[{i}]"
        if not isinstance(decl, dict) or not decl.get("name"):
            raise InvalidRun(here, "a workspace declaration needs a `name`")
        name = str(decl["name"])
        declared_names.add(name)
        mount = str(decl.get("mountPath") or f"/workspace/{name}")
        readonly = bool(decl.get("readOnly", False))
        if name in by_name or name in options.workspaces:
            idx, binding = by_name.get(name, (None, {"name": name}))
            bwhere = f"{given_where}[{idx}]" if idx is not None else f"-w {name}"
            host, forced_ro, claim = _bind(binding, options, run_dir, bwhere)
            sub = binding.get("subPath")
            if sub:
                sub_path = (host / str(sub)).resolve()
                if not sub_path.is_relative_to(host.resolve()):
                    raise InvalidRun(f"{bwhere}.subPath", f"{sub!r} leaves the workspace")
                if not sub_path.exists():
                    sub_path.mkdir(parents=True)
                    sub_path.chmod(0o777)  # created here, as the kubelet would: any user writes
                host = sub_path
            out[name] = Workspace(name, host, mount, readonly or forced_ro, claim, name in isolated)
        elif decl.get("optional"):
            out[name] = Workspace(name, None, mount, readonly, "", name in isolated)
        else:
            raise InvalidRun(given_where, f"workspace {name!r} (declared at {here}) is not bound: "
                                          f"pass -w {name}=DIR or add it to spec.workspaces")
    for name, (idx, _) in by_name.items():
        if name not in declared_names:
            raise InvalidRun(f"{given_where}[{idx}]", f"workspace {name!r} is not declared by the Task "
                                                      f"(declared: {', '.join(sorted(declared_names)) or 'none'})")
    return out


def variables(workspaces: dict[str, Workspace]) -> dict[str, object]:
    out: dict[str, object] = {}
    for w in workspaces.values():
        p = f"workspaces.{w.name}"
        out[f"{p}.path"] = w.mount_path if w.bound else ""
        out[f"{p}.bound"] = "true" if w.bound else "false"
        out[f"{p}.claim"] = w.claim
        out[f"{p}.volume"] = f"ws-{w.name}" if w.bound else ""
    return out
