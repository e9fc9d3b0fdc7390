"""Turn a Task's steps and sidecars into container plans: image, command, env, mounts, user.

Everything that can be known before a container starts is resolved and checked here, so that bad
input fails before anything runs. Only `$(steps.<s>.results.<r>)` values stay for run time.
"""
from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Mapping

from interlock.run import kubernetes_rules as rules
from interlock.run import envfile, feature_flags, readiness, standins
from interlock.run.durations import parse_duration
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.hostfs import HostPathError, NewFile, Under, inside
from interlock.run.options import RunOptions
from interlock.run.workspaces import Workspace

# Container paths of the Tekton volumes, each a folder of the run folder on the host.
RESULTS, HOME, WORKSPACE, STEPS, SCRIPTS, RUN = (
    "/tekton/results", "/tekton/home", "/workspace", "/tekton/steps", "/tekton/scripts",
    "/tekton/run")

STEP_FIELDS = {"name", "image", "command", "args", "script", "env", "envFrom", "workingDir",
               "securityContext", "volumeMounts", "timeout", "onError", "results", "workspaces",
               "readinessProbe", "stdoutConfig", "stderrConfig"}
# Fields that only matter to a scheduler or kubelet; documented as ignored.
IGNORED_FIELDS = {"computeResources", "resources", "imagePullPolicy", "ports", "livenessProbe",
                  "startupProbe", "lifecycle", "terminationMessagePath",
                  "terminationMessagePolicy", "description", "displayName"}
UNSUPPORTED_FIELDS = {"params": "step `params` without a `ref`",
                      "when": "step `when` expressions", "debug": "step `debug`",
                      "volumeDevices": "volumeDevices", "stdin": "stdin", "tty": "tty",
                      "envFromSecrets": "envFromSecrets"}


@dataclass
class Mount:
    host: Path
    target: str
    readonly: bool = False
    root: Path | None = None  # the folder `host` must stay in after symlinks (None: host itself)

    def arg(self) -> str:
        return f"{self.host}:{self.target}:{'ro' if self.readonly else 'rw'}"

    def checked(self) -> Mount:
        """This mount with its host folder resolved, proven inside its root: an earlier step
        may have turned a subPath folder into a symlink. HostPathError otherwise."""
        return dataclasses.replace(self, host=inside(self.host, self.root or self.host))


@dataclass
class ContainerPlan:
    name: str
    kind: str                         # "step" | "sidecar"
    image: str
    command: list[str] | None         # None: the image's entrypoint
    args: list[str]
    env: dict[str, str]
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)  # never printed
    workdir: str | None = WORKSPACE  # None: the image's WORKDIR
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
    stdout_file: Under | None = None
    stderr_file: Under | None = None
    script: str | None = None         # body written to /tekton/scripts/<file>
    script_file: str | None = None
    notes: list[str] = field(default_factory=list)  # said when it starts (e.g. env keys skipped)
    # a step without command or script runs its image's ENTRYPOINT (else CMD) with its args, as
    # Tekton's entrypoint lookup does (pkg/pod/entrypoint_lookup_impl.go imageInfo): filled at start
    lookup_entrypoint: bool = False
    # the workingDir does not exist in the image: the runtime creates it (runc's prepareRootfs
    # MkdirAll of the cwd, 0755, root); podman refuses instead, so it is mounted as a tmpfs
    workdir_tmpfs: bool = False

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
        name = rules.dns_label(s["name"], f"{where}[{i}].name") if s.get("name") else f"unnamed-{i}"
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
         env: dict[str, str], notes: list[str]) -> None:
    for i, src in enumerate(_list(container.get("envFrom"), f"{where}.envFrom")):
        here = f"{where}.envFrom[{i}]"
        if not isinstance(src, dict):
            raise InvalidRun(here, "must be a mapping")
        prefix = src.get("prefix") or ""
        if prefix:
            rules.env_name(prefix, f"{here}.prefix")
        for kind, field_name in (("secret", "secretRef"), ("configmap", "configMapRef")):
            if field_name in src:
                ref = src[field_name] or {}
                values = standins.data(kind, ref.get("name"), options, f"{here}.{field_name}",
                                       bool(ref.get("optional")))
                if values is not None:
                    target = secret_env if kind == "secret" else env
                    skipped = []
                    for k, v in values.items():
                        if rules.is_env_name(prefix + k):
                            target[prefix + k] = standins.text(v)
                        else:
                            skipped.append(prefix + k)
                    if skipped:  # the kubelet skips them too, with an InvalidEnvironmentVariableNames event
                        notes.append(f"{here}.{field_name}: keys {', '.join(map(repr, skipped))} "
                                     "skipped: not valid environment variable names")
    for i, e in enumerate(_list(container.get("env"), f"{where}.env")):
        here = f"{where}.env[{i}]"
        if not isinstance(e, dict) or not e.get("name"):
            raise InvalidRun(here, "an env entry needs a `name`")
        name = rules.env_name(e["name"], f"{here}.name")
        env.pop(name, None)
        secret_env.pop(name, None)
        if "valueFrom" not in e:
            env[name] = "" if e.get("value") is None else str(e["value"])
            continue
        vf = e["valueFrom"] or {}
        if not isinstance(vf, dict):
            raise InvalidRun(f"{here}.valueFrom", "must be a mapping")
        if "secretKeyRef" in vf:
            r = vf["secretKeyRef"] or {}
            v = standins.key("secret", r.get("name"), r.get("key"), options,
                             f"{here}.valueFrom.secretKeyRef", bool(r.get("optional")))
            if v is not None:
                secret_env[name] = v
        elif "configMapKeyRef" in vf:
            r = vf["configMapKeyRef"] or {}
            v = standins.key("configmap", r.get("name"), r.get("key"), options,
                             f"{here}.valueFrom.configMapKeyRef", bool(r.get("optional")))
            if v is not None:
                env[name] = v
        else:
            raise Unsupported(f"{here}.valueFrom", f"valueFrom {', '.join(map(str, vf)) or '(empty)'}")


def _list(value: object, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRun(where, "must be a list")
    return value


def _no_nul(values: list[str], where: str) -> None:
    if any("\0" in v for v in values):
        raise InvalidRun(where, "contains a NUL character, which no process can receive")


# Pod Security Standards "baseline": the capabilities a container may add. More (SYS_ADMIN,
# ALL, …) would let a step reach the host through the container runtime.
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
                         "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
                         "SYS_CHROOT"}


def _id(value: object, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2**31 - 1:
        raise InvalidRun(where, f"{value!r} is not a user/group id (0 to 2147483647)")
    return value


def _security(ctx: object, pod_ctx: dict, where: str) -> tuple[str | None, list[str], bool]:
    if ctx is not None and not isinstance(ctx, dict):
        raise InvalidRun(f"{where}.securityContext", "must be a mapping")
    ctx = {**pod_ctx, **(ctx or {})}
    here = f"{where}.securityContext"
    flags: list[str] = []
    if ctx.get("privileged"):
        raise Unsupported(f"{here}.privileged", "privileged steps")
    user = _id(ctx.get("runAsUser"), f"{here}.runAsUser")
    group = _id(ctx.get("runAsGroup"), f"{here}.runAsGroup")
    spec = None
    if user is not None:
        spec = str(user) + (f":{group}" if group is not None else "")
    if ctx.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt=no-new-privileges"]
    caps = ctx.get("capabilities") or {}
    if not isinstance(caps, dict):
        raise InvalidRun(f"{here}.capabilities", "must be a mapping")
    for c in _list(caps.get("drop"), f"{here}.capabilities.drop"):
        flags.append(f"--cap-drop={c}")
    for i, c in enumerate(_list(caps.get("add"), f"{here}.capabilities.add")):
        if str(c).upper().removeprefix("CAP_") not in BASELINE_CAPABILITIES:
            raise Unsupported(f"{here}.capabilities.add[{i}]", f"adding capability {c!r} (beyond "
                              "the Pod Security baseline)")
        flags.append(f"--cap-add={c}")
    if ctx.get("readOnlyRootFilesystem"):
        flags += ["--read-only"]
    return spec, flags, bool(ctx.get("runAsNonRoot"))


def _clean(path: str) -> str:
    return str(PurePosixPath(path))


def plan_container(container: dict, kind: str, name: str, index: int, *, options: RunOptions,
                   run_dir: Path, workspaces: Mapping[str, Workspace], volumes: Mapping[str, Mount],
                   pod: dict, where: str, folders: list, run_mounts: list[Mount] | None = None
                   ) -> ContainerPlan:
    """One step or sidecar, already merged with stepTemplate and substituted. Folders it needs
    on the host (volumeMount subPaths) are added to `folders`, created only when the run starts.
    `run_mounts` are a step's /tekton/run/<i> mounts (its own read-write, the others read-only)."""
    check_fields(container, where)
    image = container.get("image")
    if not image or not isinstance(image, str):
        raise InvalidRun(f"{where}.image", "missing: every step needs an image")
    if image.startswith("-") or image != image.strip() or "\0" in image:
        raise InvalidRun(f"{where}.image", f"{image[:80]!r} is not an image reference")
    script = container.get("script")
    command = container.get("command")
    args = container.get("args") or []
    if script is not None and command:
        raise InvalidRun(f"{where}.script", "a step cannot have both `script` and `command`")
    for fname, val in (("command", command), ("args", args)):
        if val is not None and (not isinstance(val, list) or not all(isinstance(a, (str, int, float)) for a in val)):
            raise InvalidRun(f"{where}.{fname}", "must be a list of strings")
    # no HOME of the runner's: the image's (ENV, else /etc/passwd), as Tekton sets none
    env: dict[str, str] = dict(pod.get("env", {}))
    secret_env: dict[str, str] = {}
    notes: list[str] = []
    _env(container, options, where, secret_env, env, notes)
    for k, v in pod.get("env", {}).items():  # podTemplate env wins over the step's (pod.go Build)
        env[k] = v
        secret_env.pop(k, None)
    envfile.check({**env, **secret_env}, where)
    _no_nul([str(a) for a in [*(command or []), *args]], f"{where}.args")
    _no_nul([*env.values(), *secret_env.values()], f"{where}.env")
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
    results = _list(container.get("results"), f"{where}.results")
    for i, r in enumerate(results):
        rules.result_name(r.get("name") if isinstance(r, dict) else None, f"{where}.results[{i}].name")
    # a step works in /workspace unless it says otherwise; a sidecar in its image's WORKDIR
    workdir: str | None = WORKSPACE if kind == "step" else None
    if container.get("workingDir"):
        workdir = rules.container_path(container["workingDir"], f"{where}.workingDir")
    own = _list(container.get("volumeMounts"), f"{where}.volumeMounts")
    own_paths = {_clean(str(vm.get("mountPath"))) for vm in own if isinstance(vm, dict)}
    # Tekton's implicit volumes, each unless the step mounts something at that path itself
    # (pkg/pod/pod.go Build: "so they can be overridden by the user"); sidecars get none
    mounts: list[Mount] = []
    if kind == "step":
        mounts += [m for m in (Mount(run_dir / "workspace", WORKSPACE), Mount(run_dir / "home", HOME),
                               Mount(run_dir / "results", RESULTS),
                               Mount(run_dir / "steps", STEPS, readonly=True), *(run_mounts or []))
                   if m.target not in own_paths]
    plan = ContainerPlan(name=name, kind=kind, image=map_image(image, options.image_map),
                         command=[str(c) for c in command] if command else None,
                         args=[str(a) for a in args], env=env, secret_env=secret_env,
                         workdir=workdir, user=user,
                         security=security, non_root=non_root, timeout=timeout,
                         on_error=on_error, results=list(results),
                         readiness=container.get("readinessProbe"), notes=notes,
                         lookup_entrypoint=kind == "step" and script is None and not command)
    if script is not None:
        body = str(script)
        if not body.startswith("#!"):
            body = "#!/bin/sh\nset -e\n" + body  # Tekton's default for a script without shebang
        plan.script = body
        plan.script_file = f"{kind}-{index}-{name}"
        plan.command = [f"{SCRIPTS}/{plan.script_file}"]
        mounts.append(Mount(run_dir / "scripts", SCRIPTS, readonly=True))
    usages = {}
    for i, u in enumerate(_list(container.get("workspaces"), f"{where}.workspaces")):
        if not isinstance(u, dict) or str(u.get("name")) not in workspaces:
            raise InvalidRun(f"{where}.workspaces[{i}]", f"workspace {u.get('name') if isinstance(u, dict) else u!r} "
                                                          "is not declared by the Task")
        if u.get("mountPath"):
            rules.container_path(u["mountPath"], f"{where}.workspaces[{i}].mountPath")
        usages[str(u["name"])] = u
    for w in workspaces.values():
        if not w.bound or (w.isolated and w.name not in usages):
            continue
        target = str(usages.get(w.name, {}).get("mountPath") or w.mount_path)
        if _clean(target) not in own_paths:  # the container's own mount at that path wins
            mounts.append(Mount(w.host, target, w.readonly, w.root))
    for i, vm in enumerate(own):
        here = f"{where}.volumeMounts[{i}]"
        if not isinstance(vm, dict):
            raise InvalidRun(here, "must be a mapping")
        vol = volumes.get(str(vm.get("name")))
        if vol is None:
            raise InvalidRun(f"{here}.name", f"volume {vm.get('name')!r} is not declared in spec.volumes")
        if not vm.get("mountPath"):
            raise InvalidRun(f"{here}.mountPath", "missing")
        target = rules.container_path(vm["mountPath"], f"{here}.mountPath")
        # task_validation.go validateStep: only /tekton/home may be mounted under /tekton/
        if kind == "step" and target.startswith("/tekton/") and not target.startswith(HOME):
            raise InvalidRun(f"{here}.mountPath", f"volumeMount cannot be mounted under /tekton/ "
                                                  f"(volumeMount {vm.get('name')!r} at {target!r})")
        host = vol.host
        if vm.get("subPath"):
            sub = rules.sub_path(vm["subPath"], f"{here}.subPath")
            host = _subfolder(vol, sub, f"{here}.subPath", folders)
        mounts.append(Mount(host, target, bool(vm.get("readOnly")) or vol.readonly, vol.host))
    seen: dict[str, str] = {}
    for m in mounts:
        if _clean(m.target) in seen:  # Kubernetes: "must be unique"
            raise InvalidRun(f"{where}.volumeMounts", f"mountPath {m.target!r} is used twice")
        seen[_clean(m.target)] = m.target
    # parents before children, so a workspace under /workspace lands inside the /workspace mount
    plan.mounts = sorted(mounts, key=lambda m: m.target.rstrip("/").count("/"))
    for key in ("stdoutConfig", "stderrConfig"):
        if key in container:
            if kind != "step":
                raise InvalidRun(f"{where}.{key}", "only steps have stdoutConfig/stderrConfig")
            conf = container[key] or {}
            target = rules.container_path(conf.get("path") if isinstance(conf, dict) else None,
                                          f"{where}.{key}.path")
            feature_flags.require(options.feature_flags, "enable-api-fields", "alpha",
                                  f"step {key}", f"{where}.{key}")
            found = mount_for(plan.mounts, target)
            if found is not None and found[0].readonly:
                raise InvalidRun(f"{where}.{key}.path", f"{target} is on a read-only mount")
            setattr(plan, "stdout_file" if key == "stdoutConfig" else "stderr_file",
                    Under(found[0].host, found[1]) if found else None)
    return plan


def _subfolder(vol: Mount, sub: str, where: str, folders: list[Under]) -> Path:
    """vol's host folder / sub, proven inside the volume after symlinks; a missing one in a
    folder the run may write (emptyDir, claim, -w) is created at start, as the kubelet does."""
    try:
        host = inside(vol.host / sub, vol.host)
    except HostPathError:
        raise InvalidRun(where, f"{sub!r} leaves its volume (through a symlink)") from None
    if not host.exists():
        if vol.readonly:
            raise InvalidRun(where, f"{sub!r} does not exist in the stand-in folder {vol.host}")
        folders.append(Under(vol.host, sub))
    return host


def mount_for(mounts: list[Mount], target: str) -> tuple[Mount, str] | None:
    """The deepest mount holding container path `target`, and the path below it."""
    best: Mount | None = None
    for m in mounts:
        root = m.target.rstrip("/") + "/"
        if target.startswith(root) and (best is None or len(m.target) > len(best.target)):
            best = m
    if best is None:
        return None
    return best, target[len(best.target.rstrip("/")) + 1:]


def host_path(mounts: list[Mount], target: str) -> Path | None:
    """The host file behind a container path, through the deepest mount that holds it."""
    found = mount_for(mounts, target)
    return found[0].host / found[1] if found else None


def materialise(files: Mapping[str, tuple[bytes, int]], run_dir: Path, rel: str,
                folders: list) -> Path:
    """The folder of a Secret/ConfigMap/projected volume: its files, written at start under
    the run folder's `standins/` (removed when the run ends, --keep or not)."""
    folder = Under(run_dir, f"standins/{rel}")
    folders.append(folder)
    for path, (content, mode) in sorted(files.items()):
        folders.append(NewFile(Under(folder.path, path), content, mode))
    return folder.path


def plan_volumes(volumes: object, options: RunOptions, run_dir: Path, where: str,
                 folders: list, out: dict[str, Mount] | None = None) -> dict[str, Mount]:
    """spec.volumes (emptyDir, secret, configMap, projected) -> name -> host folder (target
    filled later); what they need in the run folder is added to `folders`."""
    out = {} if out is None else out
    for i, v in enumerate(_list(volumes, where)):
        here = f"{where}[{i}]"
        if not isinstance(v, dict) or not v.get("name"):
            raise InvalidRun(here, "a volume needs a `name`")
        name = rules.dns_label(v["name"], f"{here}.name", "volume name")
        if name in out:
            raise InvalidRun(f"{here}.name", f"multiple volumes with same name {name!r}")
        if "emptyDir" in v:
            own = Under(run_dir, f"volumes/{name}")
            folders.append(own)
            out[name] = Mount(own.path, "", False)
            continue
        files = standins.volume_files(v, options, here)
        if files is None:
            kinds = sorted(set(map(str, v)) - {"name"})
            raise Unsupported(here, f"volume type {', '.join(kinds) or '(none)'}")
        out[name] = Mount(materialise(files, run_dir, f"volumes/{name}", folders), "", True)
    return out
