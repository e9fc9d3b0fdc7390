"""Fuzzing: mutated TaskRuns, PipelineRuns and Tasks through `interlock run --dry-run` and
`interlock lint`. Whatever the file holds, the CLI must answer with an exit code (0 valid,
1 lint findings, 2 invalid input), one line of error at most, no traceback, no internal error
and no hang, and a dry run must write nothing anywhere.

Deterministic: the seeds are the runner's conformance files and the catalog's Tasks, mutated by
a random.Random with a fixed seed. Runs in-process (click's CliRunner) to stay fast.
"""
from __future__ import annotations

import copy
import random
import re
import signal
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from interlock import paths
from interlock.cli import cli
from run_support import HERE

SEED = 20251128
CASES = 300
CASE_SECONDS = 30  # per command; generous for a loaded CI machine (cases take ~0.05 s)

SEEDS = sorted([*HERE.glob("taskruns/*.yaml"), *HERE.glob("pipelineruns/*.yaml"),
                *paths.ROOT.glob("tasks/*/*/*.yaml")])
HOSTILE: list[object] = [
    "../../canary/owned", "/etc", "*", "A*", "", None, 0, -1, 2**70, True, 1.5, [], {}, [[[[]]]],
    "$(params.nope)", "$(", "$(steps.x.results.y)", "\x00", "é<>&\u2028", "x" * 70_000,
    "-v=/:/host", "--privileged", "a\nb", "name with spaces", "1h", "-1s", "9999999h",
    {"name": "../x"}, [{"name": "*", "value": "v"}], {"path": "/tekton/../../etc/passwd"},
    "/workspace/../../etc", "UPPER", "a" * 300, "ALL", {"claimName": "../../x"},
]


class Hang(BaseException):
    """Raised by the per-case alarm; a BaseException so that no handler swallows it."""


def _nodes(value: object, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _nodes(v, path + (i,))
    return out


def _parent(doc: object, path: tuple) -> object:
    for part in path[:-1]:
        doc = doc[part]  # type: ignore[index]
    return doc


def mutate(doc: dict, rng: random.Random) -> dict | str:
    """One structural mutation of doc, or (one case in ten) a text-level one."""
    doc = copy.deepcopy(doc)
    kind = rng.choice(["replace"] * 5 + ["delete"] * 2 + ["insert"] * 2 + ["text"])
    paths_ = [p for p in _nodes(doc) if p]
    target = rng.choice(paths_)
    parent = _parent(doc, target)
    if kind == "replace":
        parent[target[-1]] = copy.deepcopy(rng.choice(HOSTILE))  # type: ignore[index]
    elif kind == "delete":
        del parent[target[-1]]  # type: ignore[arg-type]
    elif kind == "insert":
        holder = parent if isinstance(parent, dict) else doc
        key = rng.choice(["hostPath", "subPath", "workingDir", "privileged", "securityContext",
                          "stdoutConfig", "envFrom", "volumes", "debug", "ref", "name"])
        holder[key] = copy.deepcopy(rng.choice(HOSTILE))
    else:
        text = yaml.safe_dump(doc, sort_keys=False)
        cut = rng.randrange(len(text))
        return rng.choice([
            text[:cut],                                                  # truncated
            text[:cut] + rng.choice(["\t", "&a [*a]", ": :", "\x85", "{", "- !!python/object:os.system x"]) + text[cut:],
            "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
                f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, c in zip("abcdefgh", "bcdefghi")) + text,        # an alias bomb
            "x: " + "[" * 5000 + "]" * 5000 + "\n" + text,              # deep nesting
        ])
    return doc


def _spec(doc: object) -> dict:
    """The Task/Pipeline spec a seed declares its workspaces and params in."""
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        return {}
    inner = spec.get("taskSpec") or spec.get("pipelineSpec") or spec
    return inner if isinstance(inner, dict) else {}


def _names(items: object) -> list[str]:
    return [i["name"] for i in items or [] if isinstance(i, dict) and isinstance(i.get("name"), str)] \
        if isinstance(items, list) else []


def _param_value(seed: dict, text: str) -> str:
    """`$(params.x)` as the seed gives it (spec.params) or defaults it; other text as it is."""
    match = re.fullmatch(r"\$\(params\.([^)]+)\)", text)
    if not match:
        return text
    spec = seed.get("spec") or {}
    for p in [*(spec.get("params") or []), *(_spec(seed).get("params") or [])]:
        if isinstance(p, dict) and p.get("name") == match.group(1):
            return str(p.get("value", p.get("default", text)))
    return text


def _options(seed: dict, tmp: Path) -> list[str]:
    """Options that make the unmutated seed valid: -w for each workspace it declares, a
    --secret/--configmap stand-in (with the keys it reads) for each it names, -p for each param
    of a Task without a default."""
    folder = tmp / "bindings"
    args: list[str] = []
    spec = _spec(seed)
    for name in _names(spec.get("workspaces")):
        args += ["-w", f"{name}={folder}"]
    if seed.get("kind") in ("Task", "Pipeline"):
        args += [a for p in spec.get("params") or [] if isinstance(p, dict) and "default" not in p
                 for a in ("-p", f"{p['name']}=x")]
    stand_ins = {"--secret": set(), "--configmap": set()}
    for path in _nodes(seed):
        if not path or not isinstance(path[-1], str):
            continue
        node = _parent(seed, path)[path[-1]]
        flag = ("--secret" if path[-1].startswith("secret") else
                "--configmap" if path[-1].startswith("configMap") else None)
        if flag and isinstance(node, dict):
            name = node.get("secretName") or node.get("name")
            if isinstance(name, str):
                stand_ins[flag].add(_param_value(seed, name))
            if isinstance(node.get("key"), str):
                (folder / node["key"]).write_text("stand-in value")
    for flag, names in stand_ins.items():
        args += [a for name in sorted(names) for a in (flag, f"{name}={folder}")]
    return args


def _invoke(runner: CliRunner, args: list[str]) -> tuple[int, str, float]:
    def alarm(*_):
        raise Hang(f"interlock {' '.join(args[:2])} ran over {CASE_SECONDS}s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(CASE_SECONDS)
    started = time.monotonic()
    try:
        result = runner.invoke(cli, args, catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{args}: {result.exception!r}"
    return result.exit_code, result.output, time.monotonic() - started


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.lstat().st_mode, p.read_bytes() if p.is_file() else b"")
            for p in sorted(folder.rglob("*"))}


def _run(seed: dict, file: Path, tmp: Path) -> list[str]:
    """`interlock run --dry-run` of `file`; a Task file runs through a TaskRun that refers to it."""
    kind = seed.get("kind")
    if kind in ("Task", "Pipeline"):
        run = tmp / f"{kind.lower()}run.yaml"
        ref = "taskRef" if kind == "Task" else "pipelineRef"
        run.write_text(yaml.safe_dump({"apiVersion": "tekton.dev/v1", "kind": f"{kind}Run",
                                       "metadata": {"name": "fuzz"},
                                       "spec": {ref: {"name": "fuzzed"}}}))
        return ["run", str(run), f"--{kind.lower()}", str(file), "--dry-run", *_options(seed, tmp)]
    return ["run", str(file), "--dry-run", *_options(seed, tmp)]


@pytest.fixture(scope="module")
def seeds() -> list[tuple[Path, dict]]:
    # one-document files (the multi-document run files are proven by the conformance tests)
    docs = [(p, list(yaml.safe_load_all(p.read_text()))) for p in SEEDS]
    return [(p, d[0]) for p, d in docs if len(d) == 1]


def test_mutated_files_get_an_exit_code_never_a_traceback_or_hang(seeds, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bindings").mkdir()
    (tmp_path / "bindings" / "token").write_text("s3cr3t-value")
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "keep").write_text("unchanged")
    before = _snapshot(canary)
    runs = tmp_path / "runs"
    rng = random.Random(SEED)
    runner = CliRunner()
    codes: dict[str, dict[int, int]] = {"run": {}, "lint": {}}
    slowest = 0.0
    for case in range(CASES):
        path, doc = seeds[case % len(seeds)]
        mutated = mutate(doc, rng)
        file = tmp_path / "case" / f"{case}-{path.name}"
        file.parent.mkdir(exist_ok=True)
        file.write_text(mutated if isinstance(mutated, str) else yaml.safe_dump(mutated, sort_keys=False))
        commands = {
            "run": [*_run(doc, file, tmp_path), "--run-dir", str(runs), "-o", "json"],
            "lint": ["lint", "--no-tekton-lint", str(file)],
        }
        for name, args in commands.items():
            code, output, seconds = _invoke(runner, args)
            slowest = max(slowest, seconds)
            where = f"case {case} ({path.name}, {name}): exit {code}\n{output[-2000:]}"
            assert code in (0, 1, 2), where
            assert "Traceback" not in output and "internal error" not in output, where
            codes[name][code] = codes[name].get(code, 0) + 1
        assert not runs.exists(), f"case {case}: --dry-run created {runs}"
        assert _snapshot(canary) == before, f"case {case} changed the canary folder"
    # the seeds are valid and most mutations are not: both outcomes must be exercised
    assert codes["run"].get(2, 0) > CASES / 4 and codes["run"].get(0, 0) > 10, codes
    assert codes["lint"].get(1, 0) > CASES / 4, codes
    print(f"exit codes {codes}; slowest case {slowest:.2f}s")


def test_seeds_plan_all_the_way_through(seeds, tmp_path):
    """The fuzz only explores deep code if the unmutated seeds are valid: most must be."""
    (tmp_path / "bindings").mkdir()
    runner = CliRunner()
    failed = []
    for path, doc in seeds:
        code, output, _ = _invoke(runner, _run(doc, path, tmp_path))
        if code != 0:
            failed.append(f"{path.name}: {output.strip()[-300:]}")
    assert len(failed) <= len(seeds) // 5, "\n".join(failed)
