"""Workspaces and volumes of a TaskRun, bound to host folders.

Bindings (TaskRun spec.workspaces), in this order of precedence:
- `-w name=DIR` on the command line (RunOptions.workspaces): that host folder;
- `hostPath: {path: DIR}` (Interlock extension, used by the PipelineRun runner to share a folder);
- `emptyDir`, `volumeClaimTemplate`: a fresh folder of the run;
- `persistentVolumeClaim: {claimName}`: a folder of the run named after the claim;
- `secret`, `configMap` (with `items`) and `projected` (secret and configMap sources): the files
  of their stand-ins (`--secret`/`--configmap` or documents of the run file), read-only.
"""
from __future__ import annotations

import secrets as random
from dataclasses import dataclass, field
from pathlib import Path

from interlock.run import kubernetes_rules as rules
from interlock.run import standins
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.hostfs import HostPathError, Under, inside
from interlock.run.options import RunOptions


@dataclass
class Workspace:
    name: str
    host: Path | None          # None: optional and not bound
    mount_path: str
    readonly: bool
    claim: str = ""
    isolated: bool = False     # only the steps/sidecars that list it get it
    root: Path | None = None   # the folder `host` must stay in after symlinks (None: host)
    # its volume's name, `$(workspaces.w.volume)`: "ws-" and 5 random characters, as Tekton's
    # pkg/workspace/apply.go CreateVolumes names it; usable as a volumeMount name
    volume: str = field(default_factory=lambda: "ws-" + "".join(
        random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)))

    @property
    def bound(self) -> bool:
        return self.host is not None


@dataclass
class _Binding:
    host: Path
    root: Path                 # proven to contain host (after symlinks), and any subPath
    readonly: bool = False     # Secret/ConfigMap stand-ins: mounted read-only, no folder made
    claim: str = ""


def _bind(binding: dict, options: RunOptions, run_dir: Path, where: str,
          folders: list[Under]) -> _Binding:
    name = str(binding.get("name"))
    if name in options.workspaces:
        path = Path(options.workspaces[name])
        if not path.is_dir():
            raise InvalidRun(f"-w {name}", f"{path} is not a folder")
        return _Binding(path.resolve(), path.resolve())
    if "hostPath" in binding:
        # not a Tekton binding: the PipelineRun runner's way to share a folder it made or a
        # -w folder; anything else could name any host folder
        path = Path(str((binding["hostPath"] or {}).get("path")))
        try:
            real = inside(path, options.host_roots) if options.host_roots else None
        except HostPathError:
            real = None
        if real is None:
            raise InvalidRun(f"{where}.hostPath", "hostPath bindings are not a Tekton feature; "
                                                  "bind a host folder with -w NAME=DIR")
        return _Binding(real, real)
    if "emptyDir" in binding or "volumeClaimTemplate" in binding:
        folder = Under(run_dir, f"workspaces/{name}")
        folders.append(folder)
        return _Binding(folder.path, folder.path)
    if "persistentVolumeClaim" in binding:
        pvc = binding["persistentVolumeClaim"] or {}
        claim = rules.dns_subdomain(pvc.get("claimName") if isinstance(pvc, dict) else None,
                                    f"{where}.persistentVolumeClaim.claimName", "claimName")
        folder = Under(run_dir, f"claims/{claim}")
        folders.append(folder)
        return _Binding(folder.path, folder.path, claim=claim)
    files = standins.volume_files(binding, options, where)
    if files is not None:
        from interlock.run.steps import materialise
        folder = materialise(files, run_dir, f"workspaces/{name}", folders)
        return _Binding(folder, folder, readonly=True)
    kinds = sorted(set(map(str, binding)) - {"name", "subPath"})
    if kinds:
        raise Unsupported(f"{where}", f"workspace binding {', '.join(kinds)}")
    raise InvalidRun(where, f"workspace {name!r} binding names no volume (use -w {name}=DIR, "
                            "emptyDir, secret, configMap, projected or persistentVolumeClaim)")


def resolve(declared: object, bindings: object, options: RunOptions, run_dir: Path,
            isolated: set[str], where: str, given_where: str,
            folders: list[Under]) -> dict[str, Workspace]:
    """The Task's workspaces bound to host folders; the run folders they need are added to
    `folders` (created when the run starts, never while planning)."""
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
        name = rules.folder_name(decl["name"], f"{here}.name")
        if name in declared_names:
            raise InvalidRun(f"{here}.name", f"workspace {name!r} is declared twice")
        declared_names.add(name)
        mount = str(decl.get("mountPath") or f"/workspace/{name}")
        rules.container_path(mount, f"{here}.mountPath")
        readonly = bool(decl.get("readOnly", False))
        if name in by_name or name in options.workspaces:
            idx, binding = by_name.get(name, (None, {"name": name}))
            bwhere = f"{given_where}[{idx}]" if idx is not None else f"-w {name}"
            bound = _bind(binding, options, run_dir, bwhere, folders)
            host = bound.host
            if binding.get("subPath"):
                sub = rules.sub_path(str(binding["subPath"]), f"{bwhere}.subPath")
                host = _sub_folder(bound, sub, f"{bwhere}.subPath", folders)
            out[name] = Workspace(name, host, mount, readonly or bound.readonly, bound.claim,
                                  name in isolated, bound.root)
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


def _sub_folder(bound: _Binding, sub: str, where: str, folders: list[Under]) -> Path:
    """bound.host/sub, proven inside the binding's root after symlinks; created at start when
    missing (as the kubelet does), world-writable like an emptyDir so any runAsUser writes."""
    try:
        host = inside(bound.host / sub, bound.root)
    except HostPathError:
        raise InvalidRun(where, f"{sub!r} leaves the workspace (through a symlink)") from None
    if not host.exists():
        if bound.readonly:
            raise InvalidRun(where, f"{sub!r} does not exist in the stand-in folder {bound.host}")
        folders.append(Under(bound.host, sub))
    return host


def variables(workspaces: dict[str, Workspace]) -> dict[str, object]:
    out: dict[str, object] = {}
    for w in workspaces.values():
        p = f"workspaces.{w.name}"
        out[f"{p}.path"] = w.mount_path if w.bound else ""
        out[f"{p}.bound"] = "true" if w.bound else "false"
        out[f"{p}.claim"] = w.claim
        out[f"{p}.volume"] = w.volume if w.bound else ""
    return out
