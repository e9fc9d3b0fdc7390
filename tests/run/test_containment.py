"""Containment: a TaskRun, PipelineRun or Task file is untrusted input. Tried as an adversarial
user would, none may reach the host, the runner's environment or its memory.

Each case runs `interlock run` (in-process, through the CLI's own entry point) in a sandbox and
asserts the documented outcome (exit 2 before anything starts, or the failure Tekton reports),
that a canary folder outside the run is byte-for-byte unchanged (modes included), and that no
secret value appears in stdout, stderr, `-o json` or the run folder. Classes, as in issue 7:
1. paths that leave their volume; 2. the runner's environment; 3. hostile YAML; 4. secrets;
5. limits; 6. Tekton's termination message, byte for byte; 7. stopping a step (SIGTERM, grace,
SIGKILL).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from interlock.cli import cli
from interlock.lint import yaml_loader
from interlock.run import results as run_results
from interlock.run.hostfs import Under
from interlock_steps import termination
from interlock_steps.runtime import results as runtime_results
from run_support import TOOLS_ALIAS, leftover_containers

PEM = ("-----BEGIN PRIVATE KEY-----\n"
       "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
       "-----END PRIVATE KEY-----\n")
TOKEN = "tok-3f9a1c77e2b84d05"
HOST_SECRET = "leak-me-0123456789abcdef"  # in the runner's own environment, never in a step's


class Sandbox:
    """tmp_path laid out for one case: a canary folder outside any run, a run-dir, a `-w`
    folder, a Secret stand-in; `interlock(...)` runs the CLI and returns (exit, stdout, stderr)."""

    def __init__(self, tmp: Path, image: str | None):
        self.tmp, self.image = tmp, image
        self.canary = tmp / "canary"
        (self.canary / "sub").mkdir(parents=True)
        (self.canary / "secret.txt").write_text("canary-content")
        (self.canary / "secret.txt").chmod(0o600)
        (self.canary / "sub" / "f").write_text("f")
        (self.canary / "sub").chmod(0o750)
        self.before = self.snapshot()
        self.runs = tmp / "runs"
        self.ws = tmp / "ws"
        self.ws.mkdir()
        self.ws.chmod(0o777)  # the tools image runs as uid 65532
        self.secret = tmp / "secret"
        self.secret.mkdir()
        (self.secret / "pem").write_text(PEM)
        (self.secret / "token").write_text(TOKEN)

    def snapshot(self) -> dict[str, tuple]:
        out = {".": (self.canary.lstat().st_mode,)}
        for p in sorted(self.canary.rglob("*")):
            st = p.lstat()
            out[str(p.relative_to(self.canary))] = (
                st.st_mode, os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else b"")
        return out

    def file(self, doc: dict, name: str = "run.yaml") -> Path:
        path = self.tmp / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def interlock(self, doc: dict | Path, *args: str, dry_run: bool = False) -> tuple[int, str, str]:
        path = doc if isinstance(doc, Path) else self.file(doc)
        argv = ["run", str(path), "--run-dir", str(self.runs), "--keep", "-o", "json",
                "--secret", f"creds={self.secret}", *args]
        if self.image:
            argv += ["--image-map", f"{TOOLS_ALIAS}={self.image}"]
        if dry_run:
            argv.append("--dry-run")
        result = CliRunner().invoke(cli, argv, env={"INTERLOCK_CANARY_TOKEN": HOST_SECRET})
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output and "internal error" not in result.output
        return result.exit_code, result.stdout, result.stderr

    def assert_contained(self, *outputs: str) -> None:
        """The canary is unchanged and no secret value is in the outputs or in what the runner
        keeps in the run folder (logs, env-files, outcome.json, spec.yaml; the Tekton volumes
        hold what the steps wrote, as they would in a pod)."""
        assert self.snapshot() == self.before, "the canary folder changed"
        steps_own = {"results", "steps", "run", "workspace", "workspaces", "volumes", "claims",
                     "home"}
        kept = [p.read_bytes().decode("utf-8", "replace") for p in self.runs.rglob("*")
                if p.is_file() and not p.is_symlink()
                and not steps_own & set(p.relative_to(self.runs).parts[1:2])] \
            if self.runs.exists() else []
        for text in (*outputs, *kept):
            for piece in (TOKEN, HOST_SECRET, *[line for line in PEM.splitlines() if len(line) > 3]):
                assert piece not in text, f"secret {piece[:12]}… leaked"


def taskrun(steps: list[dict], name: str = "attack", **spec) -> dict:
    task = {"steps": steps, **spec.pop("task", {})}
    return {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": name},
            "spec": {"taskSpec": task, **spec}}


def step(script: str = "true", **fields) -> dict:
    return {"name": fields.pop("name", "s"), "image": TOOLS_ALIAS, "script": script, **fields}


def one_line_error(stderr: str, *fields: str) -> None:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    for field in fields:
        assert field in lines[0], lines[0]


@pytest.fixture
def box(tmp_path) -> Sandbox:
    return Sandbox(tmp_path, None)


@pytest.fixture
def cbox(tmp_path, tools_image) -> Sandbox:
    """A sandbox whose runs start containers (the tools image)."""
    return Sandbox(tmp_path, tools_image)


# ---- 1. paths that leave their volume: refused before anything is created --------------------

ESCAPES = {
    "stdoutConfig.path": taskrun([step(stdoutConfig={"path": "/workspace/../../../canary/owned"})]),
    "stderrConfig.path": taskrun([step(stderrConfig={"path": "/tekton/results/../../canary"})]),
    "workingDir": taskrun([step(workingDir="/workspace/../../../canary/new")]),
    "volumeMounts[0].subPath": taskrun(
        [step(volumeMounts=[{"name": "v", "mountPath": "/v", "subPath": "../../../canary"}])],
        task={"volumes": [{"name": "v", "emptyDir": {}}]}),
    "volumeMounts[0].subPath ": taskrun(  # absolute
        [step(volumeMounts=[{"name": "v", "mountPath": "/v", "subPath": "/etc"}])],
        task={"volumes": [{"name": "v", "emptyDir": {}}]}),
    "persistentVolumeClaim.claimName": taskrun(
        [step()], task={"workspaces": [{"name": "w"}]},
        workspaces=[{"name": "w", "persistentVolumeClaim": {"claimName": "../../../canary"}}]),
    "volumes[0].name": taskrun([step()], task={"volumes": [{"name": "../../canary", "emptyDir": {}}]}),
    "workspaces[0].name": taskrun([step()], task={"workspaces": [{"name": "../../canary"}]},
                                  workspaces=[{"name": "../../canary", "emptyDir": {}}]),
    "spec.workspaces[0].subPath": taskrun(
        [step()], task={"workspaces": [{"name": "w"}]},
        workspaces=[{"name": "w", "emptyDir": {}, "subPath": "../../../canary"}]),
    "secretKeyRef.key": taskrun([step(env=[{"name": "K", "valueFrom": {"secretKeyRef": {
        "name": "creds", "key": "../../canary/secret.txt"}}}])]),
    "metadata.name": {**taskrun([step()]), "metadata": {"name": "../../canary"}},
    "image": taskrun([{"name": "s", "image": "--privileged", "args": ["-v=/:/host", TOOLS_ALIAS]}]),
    "capabilities.add[0]": taskrun([step(securityContext={"capabilities": {"add": ["SYS_ADMIN"]}})]),
    "env[0].name": taskrun([step(env=[{"name": "*", "value": "x"}])]),
    "env[0].name ": taskrun([step(env=[{"name": "PATH*", "value": "x"}])]),
    "envFrom[0].prefix": taskrun([step(envFrom=[{"prefix": "X*", "secretRef": {"name": "creds"}}])]),
}


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
@pytest.mark.parametrize("field", ESCAPES)
def test_escaping_paths_and_names_are_refused_before_anything_exists(box, field, dry_run):
    code, out, err = box.interlock(ESCAPES[field], dry_run=dry_run)
    assert code == 2, err
    one_line_error(err, "run.yaml", field.strip().split(".")[-1])
    assert json.loads(out)["exitCode"] == 2
    assert not box.runs.exists(), "something was created before the input was refused"
    box.assert_contained(out, err)


def test_a_w_subpath_through_a_symlink_is_refused(box):
    (box.ws / "link").symlink_to(box.canary)
    doc = taskrun([step()], task={"workspaces": [{"name": "w"}]},
                  workspaces=[{"name": "w", "subPath": "link/new"}])
    code, out, err = box.interlock(doc, "-w", f"w={box.ws}")
    assert code == 2
    one_line_error(err, "subPath", "leaves the workspace")
    assert not (box.canary / "new").exists()
    box.assert_contained(out, err)


def test_hostpath_bindings_are_not_for_files(box):
    doc = taskrun([step()], task={"workspaces": [{"name": "w"}]},
                  workspaces=[{"name": "w", "hostPath": {"path": str(box.canary)}}])
    code, out, err = box.interlock(doc, dry_run=True)
    assert code == 2  # the schema refuses it, and the runner would too
    one_line_error(err, "hostPath")
    box.assert_contained(out, err)


# ---- 1b. what a step leaves behind cannot lead the runner out of the run ----------------------

@pytest.mark.containers
def test_a_result_symlinked_to_a_host_file_is_not_read(cbox):
    doc = taskrun([step(f"ln -s {cbox.canary}/secret.txt $(results.r.path)")],
                  task={"results": [{"name": "r"}]})
    code, out, err = cbox.interlock(doc)
    assert code == 1
    outcome = json.loads(out)
    assert outcome["condition"]["reason"] == "TaskRunValidationFailed"
    assert "symlink" in outcome["condition"]["message"]
    assert "canary-content" not in out + err
    cbox.assert_contained(out, err)


@pytest.mark.containers
def test_planted_symlinks_are_not_followed_by_the_runners_writes(cbox):
    """Step one replaces step two's stdoutConfig file, and step two its own status folder (the
    only one it may write: /tekton/steps and the others' /tekton/run/<i> are read-only), with
    symlinks into the canary: the runner (root) writes neither the exit code nor the copy
    through them."""
    plant = f"ln -s {cbox.canary}/secret.txt /workspace/out.txt"
    own = f"rm -rf /tekton/run/1/status && ln -s {cbox.canary} /tekton/run/1/status"
    doc = taskrun([step(plant, name="one", securityContext={"runAsUser": 0}),
                   step(f"echo overwritten; {own}", name="two", securityContext={"runAsUser": 0},
                        stdoutConfig={"path": "/workspace/out.txt"})])
    code, out, err = cbox.interlock(doc, "--feature-flags", "enable-api-fields=alpha")
    assert code == 0, err
    assert "output not copied" in err and "exitCode not written" in err
    cbox.assert_contained(out, err)


@pytest.mark.containers
def test_a_working_dir_through_a_planted_symlink_is_not_created(cbox):
    doc = taskrun([step(f"ln -s {cbox.canary} /workspace/link", name="one"),
                   step("pwd", name="two", workingDir="/workspace/link/made")])
    code, out, err = cbox.interlock(doc)
    assert code == 1
    outcome = json.loads(out)
    assert outcome["condition"]["reason"] == "CreateContainerConfigError"
    assert [s["status"] for s in outcome["steps"]] == ["Succeeded", "Failed"]
    cbox.assert_contained(out, err)


@pytest.mark.containers
def test_a_subpath_swapped_for_a_symlink_is_not_mounted(cbox):
    volume = {"volumes": [{"name": "data", "emptyDir": {}}]}
    doc = taskrun([step(f"rmdir /data/sub && ln -s {cbox.canary} /data/sub", name="one",
                        volumeMounts=[{"name": "data", "mountPath": "/data"}]),
                   step("echo owned > /mnt/secret.txt", name="two",
                        volumeMounts=[{"name": "data", "mountPath": "/mnt", "subPath": "sub"}])],
                  task=volume)
    code, out, err = cbox.interlock(doc)
    assert code == 1
    outcome = json.loads(out)
    assert outcome["condition"]["reason"] == "CreateContainerConfigError"
    assert "outside" in outcome["condition"]["message"]
    cbox.assert_contained(out, err)


# ---- 2. the runner's environment never reaches a step -----------------------------------------

@pytest.mark.containers
def test_no_host_variable_reaches_a_step_whatever_the_secret_keys_are_named(cbox):
    (cbox.secret / "*").write_text("glob")        # podman would read `-e *` as "import all"
    (cbox.secret / "INTERLOCK_*").write_text("glob")
    doc = taskrun([step("env; echo token-length=${#token}",
                        envFrom=[{"secretRef": {"name": "creds"}}],
                        env=[{"name": "multi", "value": "line one\nline two"}])])
    code, out, err = cbox.interlock(doc)
    assert code == 0, err
    assert "token-length=20" in err                      # the Secret's own keys arrive
    assert "keys '*', 'INTERLOCK_*' skipped" in err     # as the kubelet skips invalid names
    assert "INTERLOCK_CANARY_TOKEN" not in err and "CONTAINERS_CONF" not in err
    cbox.assert_contained(out, err)
    assert not list((next(cbox.runs.iterdir()) / "env").iterdir()), "env-files left behind"


@pytest.mark.containers
def test_multi_line_and_large_values_reach_the_step_intact(cbox):
    big = "v" * 70_000  # over an env-file line
    digest = hashlib.sha256(PEM.encode()).hexdigest()
    doc = taskrun([step('printf %s "$PEM" | sha256sum; printf %s "$MULTI" | wc -l; '
                        'printf %s "$BIG" | wc -c',
                        env=[{"name": "PEM", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pem"}}},
                             {"name": "MULTI", "value": "a\nb\nc\n"}, {"name": "BIG", "value": big}])])
    code, out, err = cbox.interlock(doc)
    assert code == 0, err
    assert digest in err and "] 3" in err and "] 70000" in err
    cbox.assert_contained(out, err)


def test_env_files_are_private_and_never_followed(tmp_path):
    from interlock.run import envfile
    rest = envfile.write(tmp_path / "a.env", {"A": "1", "B": "x\ny", "C": "z" * 70_000})
    assert (tmp_path / "a.env").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "a.env").read_text() == "A=1\n"
    assert set(rest) == {"B", "C"}  # through podman's environment instead
    (tmp_path / "b.env").symlink_to(tmp_path / "target")
    with pytest.raises(OSError):
        envfile.write(tmp_path / "b.env", {"A": "1"})
    assert not (tmp_path / "target").exists()


# ---- 3. hostile YAML: capped, for every command that reads YAML -------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("text, cap", [
    (BOMB + "kind: TaskRun\n", "aliases expand"),
    ("kind: TaskRun\nspec: " + "[" * 10_000 + "]" * 10_000 + "\n", "nested more than 100"),
    ("kind: TaskRun\nspec: &s [*s]\n", "recursive"),
    ("kind: TaskRun\n# " + "x" * (4 * 1024 * 1024) + "\n", "larger than"),
], ids=["alias-bomb", "deep", "recursive", "huge"])
def test_hostile_yaml_is_refused_quickly_by_run_lint_and_the_catalog(box, text, cap):
    path = box.tmp / "hostile.yaml"
    path.write_text(text)
    started = time.monotonic()
    code, out, err = box.interlock(path)
    assert code == 2
    one_line_error(err, "hostile.yaml", cap)
    lint = CliRunner().invoke(cli, ["lint", "--no-tekton-lint", str(path)])
    assert lint.exit_code == 1 and cap in lint.output and "Traceback" not in lint.output
    from interlock import catalog  # index and docs read the catalog through it
    with pytest.raises(catalog.CatalogError, match=cap):
        catalog.load_yaml(path)
    assert time.monotonic() - started < 60  # seconds, not minutes (generous for CI noise)
    box.assert_contained(out, err)


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(box, monkeypatch):
    def boom(_path):
        raise RuntimeError("boom\nsecond line")
    monkeypatch.setattr("interlock.run.documents.load", boom)
    path = box.file(taskrun([step()]))
    result = CliRunner().invoke(cli, ["run", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr.strip().splitlines() == [
        "error: internal error (RuntimeError: boom second line); re-run with --debug for the "
        "traceback and report it"]
    debug = CliRunner().invoke(cli, ["run", str(path), "--debug"])
    assert isinstance(debug.exception, RuntimeError)  # raised: Python prints the traceback


def test_the_one_loader_caps_what_a_file_may_cost():
    assert yaml_loader.parse("a: " + "[" * 99 + "]" * 99)[0] is not None  # 100 levels: the cap
    doc, problem = yaml_loader.parse("a: " + "[" * 100 + "]" * 100)
    assert doc is None and "100 levels" in problem.message
    doc, problem = yaml_loader.parse("a: 1" + "0" * 5000)  # an int no type holds
    assert doc is None and problem.rule == "yaml-syntax"


# ---- 4. secrets: every line of every value masked, everywhere output goes ---------------------

@pytest.mark.containers
def test_a_multi_line_secret_is_masked_in_logs_results_json_and_the_run_folder(cbox):
    doc = taskrun([step('printf "%s\\n" "$PEM"; cat /etc/creds/pem; echo "token=$TOKEN"; '
                        'printf %s "$TOKEN" > $(results.r.path)',
                        env=[{"name": "PEM", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pem"}}},
                             {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
                        volumeMounts=[{"name": "creds", "mountPath": "/etc/creds"}])],
                  task={"results": [{"name": "r"}],
                        "volumes": [{"name": "creds", "secret": {"secretName": "creds"}}]})
    code, out, err = cbox.interlock(doc)
    assert code == 0, err
    assert err.count("***") >= 7 and json.loads(out)["results"]["r"] == "***"
    cbox.assert_contained(out, err)


@pytest.mark.containers
def test_a_podman_style_failure_message_is_masked(cbox):
    doc = taskrun([step('printf "%s\\n" "$PEM"; exit 127',
                        env=[{"name": "PEM", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pem"}}}])])
    code, out, err = cbox.interlock(doc)
    assert code == 1
    message = json.loads(out)["condition"]["message"]
    assert message == '"step-s" exited with code 127: ***'  # the raw last line would be the key
    cbox.assert_contained(out, err)


# ---- 5. limits -----------------------------------------------------------------------------

@pytest.mark.containers
def test_a_param_over_the_kernel_argument_limit(cbox):
    big = "p" * (200 * 1024)
    doc = taskrun([step('printf %s "$(params.big)" | wc -c', name="script"),
                   {"name": "args", "image": TOOLS_ALIAS, "command": ["echo"], "args": ["$(params.big)"]}],
                  task={"params": [{"name": "big"}]}, params=[{"name": "big", "value": big}])
    code, out, err = cbox.interlock(doc)
    assert code == 1  # as in a pod: a 200 KiB argument cannot be exec'd
    outcome = json.loads(out)
    assert "[attack/script] 204800" in err                      # in a script it works
    assert outcome["steps"][1]["exitCode"] == 128
    assert "argument list too long" in outcome["condition"]["message"]
    cbox.assert_contained(out, err)


@pytest.mark.containers
def test_an_oversized_result_fails_without_being_printed(cbox):
    doc = taskrun([step("head -c 10000000 /dev/zero | tr '\\0' x > $(results.big.path)")],
                  task={"results": [{"name": "big"}]})
    code, out, err = cbox.interlock(doc)
    assert code == 1
    outcome = json.loads(out)
    assert outcome["condition"]["reason"] == "TaskRunResultLargerThanAllowedLimit"
    assert outcome["results"] == {} and len(out) + len(err) < 20_000
    cbox.assert_contained(out, err)


def test_concurrent_runs_sharing_a_run_dir_get_their_own_folders(tmp_path):
    from interlock.run.options import RunOptions
    from interlock.run.taskrun import _plan_in_new_folder
    doc = taskrun([step()], name="same")
    folders, errors = [], []

    def plan() -> None:
        try:
            folders.append(_plan_in_new_folder(doc, tmp_path / "runs", {
                "options": RunOptions(), "params_override": None, "context": None,
                "where": "run.yaml"}).run_dir)
        except Exception as e:  # noqa: BLE001 (what a race would raise)
            errors.append(e)
    threads = [threading.Thread(target=plan) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(folders)) == 16 and all(f.is_dir() for f in folders)


@pytest.mark.parametrize("make", ["file", "under-a-file", "proc"])
def test_an_unusable_run_dir_is_one_clean_error(box, make):
    target = {"file": box.tmp / "f", "under-a-file": box.tmp / "f" / "sub",
              "proc": Path("/proc/interlock-run-dir")}[make]
    (box.tmp / "f").write_text("a file")
    box.runs = target
    code, out, err = box.interlock(taskrun([step()]))
    assert code == 2
    errors = [line for line in err.splitlines() if line.lower().startswith("error:")]
    assert len(errors) == 1 and "--run-dir" in errors[0], err  # ours, or click's usage error
    box.runs = box.tmp / "runs"
    box.assert_contained(out, err)


# ---- 6. the termination message, as Tekton measures it ----------------------------------------

def _tekton_bytes(value: str, started: str = "2026-01-01T00:00:00.000Z") -> int:
    """The message Tekton's entrypoint writes for one task result, built by hand as Go marshals
    it (HTML-safe escaping, UTF-8 kept)."""
    go = (value.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\u003c")
          .replace(">", "\\u003e").replace("&", "\\u0026"))
    text = (f'[{{"key":"r","value":"{go}","type":1}},'
            f'{{"key":"StartedAt","value":"{started}","type":3}}]')
    return len(text.encode())


@pytest.mark.parametrize("value", ["x" * 4050, "é" * 1500, "<&>" * 400, "plain"])
def test_the_size_is_the_bytes_tekton_writes(tmp_path, value):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "r").write_text(value)
    new_year = datetime(2026, 1, 1, tzinfo=timezone.utc)
    when = termination.started_at(new_year)
    assert when == "2026-01-01T00:00:00.000Z"
    size = run_results.termination_size(Under(tmp_path, "t"), Under(tmp_path, "s"), ["r"], [],
                                        new_year)
    assert size == _tekton_bytes(value)
    # the step runtime's pre-check measures with the same function
    assert runtime_results.termination_message_size({"r": value}, started_at=when) == size


def test_invalid_utf8_counts_as_go_writes_it(tmp_path):
    assert termination.go_json(b"a\xffb\xe2\x82".decode("utf-8", "surrogateescape")) == '"a\\ufffdb\\ufffd\\ufffd"'
    assert termination.go_json("\u2028") == '"\\u2028"'
    zone = timezone(-timedelta(hours=3, minutes=30))
    assert termination.started_at(datetime(2026, 1, 1, 12, 0, 0, 123999, tzinfo=zone)) \
        == "2026-01-01T12:00:00.123-03:30"


@pytest.mark.containers
@pytest.mark.parametrize("value, fits", [
    ("x" * 4050, False),                           # fits Python's count, not Tekton's (StartedAt)
    ("é" * 1500, True),                            # 3000 bytes as UTF-8 (not \u00e9)
    ("<" * 700, False),                            # 4200 bytes once Go escapes it
    (None, True), (0, False),                      # exactly at the limit, one byte over
])
def test_the_runner_fails_a_result_exactly_where_tekton_does(cbox, value, fits):
    if value is None or value == 0:
        value = "x" * (4096 - _tekton_bytes("") + (0 if value is None else 1))
    (cbox.ws / "value").write_text(value, encoding="utf-8")
    doc = taskrun([step("cat $(workspaces.in.path)/value > $(results.r.path)")],
                  task={"results": [{"name": "r"}], "workspaces": [{"name": "in"}]})
    code, out, err = cbox.interlock(doc, "-w", f"in={cbox.ws}")
    outcome = json.loads(out)
    if fits:
        assert code == 0 and outcome["results"]["r"] == value, err
    else:
        assert code == 1 and outcome["condition"]["reason"] == "TaskRunResultLargerThanAllowedLimit"


# ---- 7. stopping a step as Kubernetes stops a pod's containers --------------------------------

TRAP = ("trap 'echo stopped > $(workspaces.out.path)/marker; exit 0' TERM; echo ready; "
        "while :; do sleep 0.1; done")


@pytest.mark.containers
def test_a_taskrun_timeout_sends_sigterm_first(cbox):
    doc = taskrun([step(TRAP)], task={"workspaces": [{"name": "out"}]}, timeout="3s")
    code, out, err = cbox.interlock(doc, "-w", f"out={cbox.ws}")
    outcome = json.loads(out)
    assert code == 1 and outcome["condition"]["reason"] == "TaskRunTimeout"
    assert outcome["condition"]["message"] == 'TaskRun "attack" failed to finish within "3s"'
    assert (cbox.ws / "marker").read_text() == "stopped\n"
    assert leftover_containers(type("O", (), {"run_id": outcome["runId"]})) == []


@pytest.mark.containers
def test_a_cancel_sends_sigterm_and_a_step_ignoring_it_is_killed_after_the_grace(tools_image, tmp_path):
    from interlock.run.options import RunOptions
    from interlock.run.taskrun import run_taskrun
    cancel = threading.Event()
    lines: list[str] = []

    def log(_task: str, _step: str, line: str) -> None:
        lines.append(line)
        cancel.set()  # cancel once the step runs
    started = time.monotonic()
    out = run_taskrun(taskrun([step("trap 'echo got-term' TERM; echo ready; while :; do sleep 0.1; done")]),
                      options=RunOptions(image_map={TOOLS_ALIAS: tools_image}, grace=2.0,
                                         run_dir=tmp_path / "runs"),
                      log=log, cancel=cancel, where="ignore.yaml")
    assert out.reason == "TaskRunCancelled"
    assert "got-term" in lines                      # SIGTERM reached the step first
    assert time.monotonic() - started >= 2.0        # then the grace period, then SIGKILL
    assert leftover_containers(out) == []


@pytest.mark.containers
def test_a_steps_own_timeout_kills_at_once_as_tektons_entrypoint_does(cbox):
    doc = taskrun([step(TRAP, timeout="2s")], task={"workspaces": [{"name": "out"}]})
    code, out, err = cbox.interlock(doc, "-w", f"out={cbox.ws}")
    outcome = json.loads(out)
    assert code == 1 and outcome["steps"][0]["reason"] == "TimeoutExceeded"
    assert not (cbox.ws / "marker").exists()


@pytest.mark.containers
def test_a_step_without_a_handler_dies_of_sigterm_as_under_tektons_entrypoint(tools_image, tmp_path):
    """The step's process is not PID 1 (catatonit is, as Tekton's entrypoint is), so SIGTERM's
    default action ends it: the run does not wait for the grace period's SIGKILL."""
    from interlock.run.options import RunOptions
    from interlock.run.taskrun import run_taskrun
    cancel = threading.Event()
    started = time.monotonic()
    out = run_taskrun(taskrun([step("echo ready; exec sleep 600")]),
                      options=RunOptions(image_map={TOOLS_ALIAS: tools_image}, grace=300.0,
                                         run_dir=tmp_path / "runs"),
                      log=lambda *_: cancel.set(), cancel=cancel, where="plain.yaml")
    assert out.reason == "TaskRunCancelled"
    assert time.monotonic() - started < 150  # far below the 300 s grace (~1 s expected)
