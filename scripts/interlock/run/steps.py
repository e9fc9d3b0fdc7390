"""Turn a Task's steps and sidecars into container plans: image, command, env, mounts, user.

Everything that can be known before a container starts is resolved and checked here, so that bad
input fails before anything runs. Only `$(steps.<s>.results.<r>)` values stay for run time.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from interlock.run import readiness, standins
from interlock.run.durations import parse_duration
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.options import RunOptions
from interlock.run.workspaces import Workspace

# Container paths of the Tekton volumes, each a folder of the run folder on the host.
RESULTS, HOME, WORKSPACE, STEPS, SCRIPTS = (
    "/tekton/results", "/tekton/home", "/workspace", "/tekton/steps", "/tekton/scripts")

STEP_FIELDS = {"name", "image", "command", "args", "script", "env", "envFrom", "workingDir",
               "securityContext", "volumeMounts", "timeout", "onError", "results", "workspaces",
               "readinessProbe", "stdoutConfig", "stderrConfig"}
# Fields that only matter to a scheduler or kubelet; documented as ignored.
IGNORED_FIELDS = {"computeResources", "resources", "imagePullPolicy", "ports", "livenessProbe",
                  "startupProbe", "lifecycle", "terminationMessagePath",
                  "terminationMessagePolicy", "description", "displayName"}
UNSUPPORTED_FIELDS = {"ref": "StepActions (step `ref`)", "params": "StepAction params",
                      "when": "step `when` expressions", "debug": "step `debug`",
                      "volumeDevices": "volumeDevices", "stdin": "stdin", "tty": "tty",
                      "envFromSecrets": "envFromSecrets"}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass
class Mount:
    host: Path
    target: str
    readonly: bool = False

    def arg(self) -> str:
        return f"{self.host}:{self.target}:{'ro' if self.readonly else 'rw'}"


@dataclass
class ContainerPlan:
    name: str
    kind: str                         # "step" | "sidecar"
    image: str
    command: list[str] | None         # None: the image's entrypoint
    args: list[str]
    env: dict[str, str]
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)  # never printed
    workdir: str = WORKSPACE
    user: str | None = None
    security: list[str] = field(default_factory=list)  # podman flags from securityContext
    non_root: bool = False            # securityContext.runAsNonRoot: checked against the image
    mounts: list[Mount] = field(default_factory=list)
    timeout: float | None = None
    on_error: str = "stopAndFail"
    results: list[dict] = field(default_factory=list)  # step results declared
    readiness: dict | None = None     # a sidecar's readinessProbe
    # stdoutConfig/stderrConfig: host files standing for the container paths (None: the path is
    # not on a shared volume, so nothing outside the container could read it anyway)
    stdout_file: Path | None = None
    stderr_file: Path | None = None
    script: str | None = None         # body written to /tekton/scripts/<file>
    script_file: str | None = None

    def describe(self) -> dict:
        """The plan as printed by --dry-run: names of env variables, never their values."""
        return {"name": self.name, "kind": self.kind, "image": self.image,
                "command": self.command, "args": self.args,
                **({"script": self.script} if self.script is not None else {}),
                "env": sorted(set(self.env) | set(self.secret_env)),
                "workingDir": self.workdir, "user": self.user,
                "mounts": [m.arg() for m in self.mounts], "timeout": self.timeout,
                "onError": self.on_error, "security": self.security}


def merge_template(template: dict | None, step: dict) -> dict:
    """stepTemplate under a step: step fields win; env and volumeMounts merge by name/path."""
    if not template:
        return copy.deepcopy(step)
    out = copy.deepcopy(template)
    for key, value in step.items():
        if key == "env" and isinstance(value, list):
            names = {e.get("name") for e in value if isinstance(e, dict)}
            out["env"] = [e for e in out.get("env") or [] if e.get("name") not in names] + value
        elif key == "volumeMounts" and isinstance(value, list):
            paths = {m.get("mountPath") for m in value if isinstance(m, dict)}
            out["volumeMounts"] = [m for m in out.get("volumeMounts") or []
                                   if m.get("mountPath") not in paths] + value
        elif key == "envFrom" and isinstance(value, list):
            out["envFrom"] = (out.get("envFrom") or []) + value
        else:
            out[key] = copy.deepcopy(value)
    return out


def check_fields(container: dict, where: str) -> None:
    for key in container:
        if key in UNSUPPORTED_FIELDS:
            raise Unsupported(f"{where}.{key}", UNSUPPORTED_FIELDS[key])
        if key not in STEP_FIELDS and key not in IGNORED_FIELDS:
            raise InvalidRun(f"{where}.{key}", "unknown field")


def step_names(steps: list, where: str) -> list[str]:
    """Names as Tekton gives them: declared, or `unnamed-<index>`; duplicates refused."""
    names: list[str] = []
    for i, s in enumerate(steps):
        if not isinstance(s, dict):
            raise InvalidRun(f"{where}[{i}]", "a step must be a mapping")
        name = str(s.get("name") or f"unnamed-{i}")
        if s.get("name") and not _NAME.match(name):
            raise InvalidRun(f"{where}[{i}].name", f"{name!r} is not a DNS label (a-z, 0-9, -)")
        if name in names:
            raise InvalidRun(f"{where}[{i}].name", f"step name {name!r} is used twice")
        names.append(name)
    return names


def map_image(image: str, image_map: Mapping[str, str]) -> str:
    """`--image-map FROM=TO`: exact reference first, then FROM as the repository of any tag/digest."""
    if image in image_map:
        return image_map[image]
    repo = re.split(r"@", image, maxsplit=1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    return image_map.get(repo, image)


def _env(container: dict, options: RunOptions, where: str, secret_env: dict[str, str],
         env: dict[str, str]) -> None:
    for i, src in enumerate(container.get("envFrom") or []):
        here = f"{where}.envFrom[{i}]"
        prefix = str(src.get("prefix") or "")
        for kind, field_name, standin in (("secret", "secretRef", options.secrets),
                                          ("configmap", "configMapRef", options.configmaps)):
            if field_name in src:
                ref = src[field_name] or {}
                folder = standins.folder(kind, ref.get("name"), standin, f"{here}.{field_name}",
                                         bool(ref.get("optional")))
                if folder is not None:
                    target = secret_env if kind == "secret" else env
                    for k, v in standins.keys(folder).items():
                        target[prefix + k] = v
    for i, e in enumerate(container.get("env") or []):
        here = f"{where}.env[{i}]"
        if not isinstance(e, dict) or not e.get("name"):
            raise InvalidRun(here, "an env entry needs a `name`")
        name = str(e["name"])
        env.pop(name, None)
        secret_env.pop(name, None)
        if "valueFrom" not in e:
            env[name] = "" if e.get("value") is None else str(e["value"])
            continue
        vf = e["valueFrom"] or {}
        if "secretKeyRef" in vf:
            r = vf["secretKeyRef"] or {}
            v = standins.key("secret", r.get("name"), r.get("key"), options.secrets,
                             f"{here}.valueFrom.secretKeyRef", bool(r.get("optional")))
            if v is not None:
                secret_env[name] = v
        elif "configMapKeyRef" in vf:
            r = vf["configMapKeyRef"] or {}
            v = standins.key("configmap", r.get("name"), r.get("key"), options.configmaps,
                             f"{here}.valueFrom.configMapKeyRef", bool(r.get("optional")))
            if v is not None:
                env[name] = v
        else:
            raise Unsupported(f"{here}.valueFrom", f"valueFrom {', '.join(vf) or '(empty)'}")


# Secret values reach podman through its own environment (`-e NAME`), so a secret variable must
# not be one that podman or its helpers read themselves.
_PODMAN_OWN = {"PATH", "HOME", "TMPDIR", "TZ", "LANG", "USER", "SHELL"}
_PODMAN_OWN_PREFIXES = ("LD_", "XDG_", "CONTAINERS_", "CONTAINER_", "STORAGE_", "REGISTRIES_",
                        "PODMAN_", "BUILDAH_", "_CONTAINERS_", "NOTIFY_SOCKET", "DBUS_")


def _check_secret_names(secret_env: dict[str, str], where: str) -> None:
    for name in secret_env:
        if name in _PODMAN_OWN or name.startswith(_PODMAN_OWN_PREFIXES):
            raise Unsupported(f"{where}.env", f"a variable named {name} taken from a secret "
                              "(podman reads it itself; rename the variable or use a prefix)")


def _security(ctx: dict | None, pod_ctx: dict, where: str) -> tuple[str | None, list[str], bool]:
    ctx = {**pod_ctx, **(ctx or {})}
    flags: list[str] = []
    if ctx.get("privileged"):
        raise Unsupported(f"{where}.securityContext.privileged", "privileged steps")
    user = ctx.get("runAsUser")
    group = ctx.get("runAsGroup")
    spec = None
    if user is not None:
        spec = str(int(user)) + (f":{int(group)}" if group is not None else "")
    if ctx.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    caps = ctx.get("capabilities") or {}
    for c in caps.get("drop") or []:
        flags += ["--cap-drop", str(c)]
    for c in caps.get("add") or []:
        flags += ["--cap-add", str(c)]
    if ctx.get("readOnlyRootFilesystem"):
        flags += ["--read-only"]
    return spec, flags, bool(ctx.get("runAsNonRoot"))


def plan_container(container: dict, kind: str, name: str, index: int, *, options: RunOptions,
                   run_dir: Path, workspaces: Mapping[str, Workspace], volumes: Mapping[str, Mount],
                   pod: dict, where: str) -> ContainerPlan:
    """One step or sidecar, already merged with stepTemplate and substituted."""
    check_fields(container, where)
    image = container.get("image")
    if not image or not isinstance(image, str):
        raise InvalidRun(f"{where}.image", "missing: every step needs an image")
    script = container.get("script")
    command = container.get("command")
    args = container.get("args") or []
    if script is not None and command:
        raise InvalidRun(f"{where}.script", "a step cannot have both `script` and `command`")
    for fname, val in (("command", command), ("args", args)):
        if val is not None and (not isinstance(val, list) or not all(isinstance(a, (str, int, float)) for a in val)):
            raise InvalidRun(f"{where}.{fname}", "must be a list of strings")
    env: dict[str, str] = {"HOME": HOME}
    env.update(pod.get("env", {}))
    secret_env: dict[str, str] = {}
    _env(container, options, where, secret_env, env)
    _check_secret_names(secret_env, where)
    user, security, non_root = _security(container.get("securityContext"), pod.get("securityContext", {}),
                               where)
    timeout = None
    if container.get("timeout") is not None:
        timeout = parse_duration(container["timeout"], f"{where}.timeout")
    on_error = str(container.get("onError") or "stopAndFail")
    if on_error not in ("continue", "stopAndFail"):
        raise InvalidRun(f"{where}.onError", f"{on_error!r} is not continue or stopAndFail")
    if kind == "sidecar" and "onError" in container:
        raise InvalidRun(f"{where}.onError", "onError is only allowed on steps")
    if "readinessProbe" in container:
        if kind != "sidecar":
            raise InvalidRun(f"{where}.readinessProbe", "only sidecars have readiness probes")
        readiness.check_probe(container["readinessProbe"], f"{where}.readinessProbe")
    mounts = [Mount(run_dir / "workspace", WORKSPACE), Mount(run_dir / "home", HOME)]
    if kind == "step":
        mounts += [Mount(run_dir / "results", RESULTS), Mount(run_dir / "steps", STEPS)]
    plan = ContainerPlan(name=name, kind=kind, image=map_image(image, options.image_map),
                         command=[str(c) for c in command] if command else None,
                         args=[str(a) for a in args], env=env, secret_env=secret_env,
                         workdir=str(container.get("workingDir") or WORKSPACE), user=user,
                         security=security, non_root=non_root, timeout=timeout,
                         on_error=on_error,
                         results=list(container.get("results") or []),
                         readiness=container.get("readinessProbe"))
    if script is not None:
        body = str(script)
        if not body.startswith("#!"):
            body = "#!/bin/sh\nset -e\n" + body  # Tekton's default for a script without shebang
        plan.script = body
        plan.script_file = f"{kind}-{index}-{name}"
        plan.command = [f"{SCRIPTS}/{plan.script_file}"]
        mounts.append(Mount(run_dir / "scripts", SCRIPTS, readonly=True))
    usages = {str(u.get("name")): u for u in container.get("workspaces") or []}
    for uname in usages:
        if uname not in workspaces:
            raise InvalidRun(f"{where}.workspaces", f"workspace {uname!r} is not declared by the Task")
    for w in workspaces.values():
        if not w.bound or (w.isolated and w.name not in usages):
            continue
        target = str(usages.get(w.name, {}).get("mountPath") or w.mount_path)
        mounts.append(Mount(w.host, target, w.readonly))
    for i, vm in enumerate(container.get("volumeMounts") or []):
        here = f"{where}.volumeMounts[{i}]"
        vol = volumes.get(str(vm.get("name")))
        if vol is None:
            raise InvalidRun(f"{here}.name", f"volume {vm.get('name')!r} is not declared in spec.volumes")
        if not vm.get("mountPath"):
            raise InvalidRun(f"{here}.mountPath", "missing")
        host = vol.host
        if vm.get("subPath"):
            host = host / str(vm["subPath"])
            if not host.exists():
                host.mkdir(parents=True)
                host.chmod(0o777)
        mounts.append(Mount(host, str(vm["mountPath"]), bool(vm.get("readOnly")) or vol.readonly))
    # parents before children, so a workspace under /workspace lands inside the /workspace mount
    plan.mounts = sorted(mounts, key=lambda m: m.target.rstrip("/").count("/"))
    for key in ("stdoutConfig", "stderrConfig"):
        if key in container:
            if kind != "step":
                raise InvalidRun(f"{where}.{key}", "only steps have stdoutConfig/stderrConfig")
            target = str((container[key] or {}).get("path") or "")
            if not target.startswith("/"):
                raise InvalidRun(f"{where}.{key}.path", f"{target!r} is not an absolute path")
            host = host_path(plan.mounts, target)
            if host is not None and any(m.readonly and host.is_relative_to(m.host)
                                        for m in plan.mounts):
                raise InvalidRun(f"{where}.{key}.path", f"{target} is on a read-only mount")
            setattr(plan, "stdout_file" if key == "stdoutConfig" else "stderr_file", host)
    return plan


def host_path(mounts: list[Mount], target: str) -> Path | None:
    """The host file behind a container path, through the deepest mount that holds it."""
    best: Mount | None = None
    for m in mounts:
        root = m.target.rstrip("/") + "/"
        if target.startswith(root) and (best is None or len(m.target) > len(best.target)):
            best = m
    if best is None:
        return None
    return best.host / target[len(best.target.rstrip("/")) + 1:]


def plan_volumes(volumes: object, options: RunOptions, run_dir: Path, where: str) -> dict[str, Mount]:
    """spec.volumes (emptyDir, secret, configMap) -> name -> host folder (target filled later)."""
    out: dict[str, Mount] = {}
    for i, v in enumerate(volumes or []):
        here = f"{where}[{i}]"
        if not isinstance(v, dict) or not v.get("name"):
            raise InvalidRun(here, "a volume needs a `name`")
        name = str(v["name"])
        if "emptyDir" in v:
            d = run_dir / "volumes" / name
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o777)
            out[name] = Mount(d, "", False)
        elif "secret" in v:
            s = v["secret"] or {}
            folder = standins.folder("secret", s.get("secretName"), options.secrets, f"{here}.secret",
                                     bool(s.get("optional")))
            if s.get("items"):
                raise Unsupported(f"{here}.secret.items", "volume items")
            out[name] = Mount(folder or _empty(run_dir, name), "", True)
        elif "configMap" in v:
            c = v["configMap"] or {}
            folder = standins.folder("configmap", c.get("name"), options.configmaps,
                                     f"{here}.configMap", bool(c.get("optional")))
            if c.get("items"):
                raise Unsupported(f"{here}.configMap.items", "volume items")
            out[name] = Mount(folder or _empty(run_dir, name), "", True)
        else:
            kinds = sorted(set(v) - {"name"})
            raise Unsupported(here, f"volume type {', '.join(kinds) or '(none)'}")
    return out


def _empty(run_dir: Path, name: str) -> Path:
    d = run_dir / "volumes" / name
    d.mkdir(parents=True, exist_ok=True)
    return d
