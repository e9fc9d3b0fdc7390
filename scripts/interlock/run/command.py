"""`interlock run FILE.yaml`: run a TaskRun or PipelineRun locally in podman containers."""
from __future__ import annotations

import atexit
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Callable

import click

from interlock.run.errors import InvalidRun
from interlock.run.options import RunOptions
from interlock.run.outcome import PipelineRunOutcome, TaskRunOutcome

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _pairs(values: tuple[str, ...], flag: str, folders: bool) -> dict:
    out: dict = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not name or not value:
            raise InvalidRun(flag, f"{v!r} is not name=value")
        if folders:
            path = Path(value).expanduser()
            if not path.is_dir():
                raise InvalidRun(f"{flag} {name}", f"{value} is not a folder")
            out[name] = _mountable(path.resolve(), f"{flag} {name}")
        else:
            out[name] = value
    return out


def _mountable(path: Path, flag: str) -> Path:
    """A host folder podman can mount: `-v SOURCE:TARGET:MODE` cannot hold a ':' in SOURCE."""
    if ":" in str(path):
        raise InvalidRun(flag, f"{path}: podman cannot mount a path that contains ':'")
    return path


def _options(workspace, secret, configmap, network, image_map, timeout, keep, run_dir, dry_run,
             parallel, task_file, pipeline_file, stepaction_file, feature_flags) -> RunOptions:
    from interlock.run import feature_flags as flags_mod
    from interlock.run.durations import parse_duration
    return RunOptions(
        stepaction_file=Path(stepaction_file) if stepaction_file else None,
        feature_flags=flags_mod.parse(feature_flags),
        workspaces=_pairs(workspace, "-w", True), secrets=_pairs(secret, "--secret", True),
        configmaps=_pairs(configmap, "--configmap", True), network=network,
        image_map=_pairs(image_map, "--image-map", False),
        timeout=parse_duration(timeout, "--timeout") if timeout else None,
        keep=keep, run_dir=_mountable(Path(run_dir).resolve(), "--run-dir") if run_dir else None,
        dry_run=dry_run,
        parallel=parallel, task_file=Path(task_file) if task_file else None,
        pipeline_file=Path(pipeline_file) if pipeline_file else None)


def _in_thread(work: Callable[[threading.Event], object]) -> object:
    """Run `work(cancel)` in a thread; Ctrl-C or SIGTERM sets `cancel` so the runner stops its
    containers (SIGTERM, then SIGKILL after the grace period) and still returns an outcome; a
    second Ctrl-C or SIGTERM kills them at once."""
    cancel = threading.Event()
    finished = threading.Event()  # not Thread.join: an interrupted join can report a live thread dead
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = work(cancel)
        except BaseException as e:  # handed to the main thread
            box["error"] = e
        finally:
            finished.set()

    from interlock.run import containers

    def interrupt() -> None:
        if cancel.is_set():
            containers.KILL_NOW.set()
            click.echo("interrupted again: killing containers now", err=True)
        else:
            cancel.set()
            click.echo("interrupted: stopping containers (SIGTERM, then SIGKILL after the grace "
                       "period; interrupt again to kill them now)…", err=True)

    atexit.register(containers.sweep_active)  # if this process ends before a run cleaned up
    previous = signal.signal(signal.SIGTERM, lambda *_: interrupt())
    worker = threading.Thread(target=target, name="interlock-run", daemon=True)
    worker.start()
    try:
        while not finished.is_set():
            try:
                finished.wait(0.2)
            except KeyboardInterrupt:
                interrupt()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def _fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"


def summary(outcome: TaskRunOutcome | PipelineRunOutcome) -> str:
    """A table of tasks and steps with status, reason, exit code and duration."""
    rows = [("TASK", "STEP", "STATUS", "REASON", "EXIT", "TIME")]
    taskruns = outcome.tasks if isinstance(outcome, PipelineRunOutcome) else [outcome]
    for tr in taskruns:
        label = tr.pipeline_task or tr.name
        d = tr.to_dict()  # secret values masked
        rows.append((label, "", tr.status, tr.reason, "", _fmt(d["duration"])))
        for s in d["steps"]:
            rows.append(("", s["name"], s["status"], s["reason"],
                         "" if s["exitCode"] is None else str(s["exitCode"]), _fmt(s["duration"])))
    if isinstance(outcome, PipelineRunOutcome):
        for sk in outcome.skipped:
            rows.append((sk.name, "", "Skipped", sk.reason, "", "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    d = outcome.to_dict()  # secret values masked
    message = d["condition"]["message"]
    lines.append(f"{d['kind']} {outcome.name}: Succeeded={outcome.status} "
                 f"reason={outcome.reason} ({_fmt(d['duration'])})"
                 + (f": {message}" if message and outcome.status != "True" else ""))
    for k, v in d["results"].items():
        lines.append(f"  result {k} = {v if isinstance(v, str) else json.dumps(v)}")
    if getattr(outcome, "run_dir", None):
        lines.append(f"  run folder kept: {outcome.run_dir}")
    return "\n".join(lines)


@click.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Param value (arrays and objects as JSON). Repeatable.")
@click.option("-w", "--workspace", multiple=True, metavar="NAME=DIR",
              help="Bind a workspace to a host folder. Repeatable.")
@click.option("--secret", multiple=True, metavar="NAME=DIR",
              help="Stand-in for Secret NAME: a folder with one file per key. Repeatable.")
@click.option("--configmap", multiple=True, metavar="NAME=DIR",
              help="Stand-in for ConfigMap NAME: a folder with one file per key. Repeatable.")
@click.option("--network", type=click.Choice(["none", "host"]), default="none", show_default=True,
              help="Container network.")
@click.option("--image-map", multiple=True, metavar="FROM=TO",
              help="Run image FROM (a reference, or a repository for any tag) with local image TO.")
@click.option("--timeout", metavar="DURATION", help="Overall timeout (e.g. 10m, 90s); overrides the file's.")
@click.option("--task", "task_file", type=click.Path(exists=True, dir_okay=False),
              help="Task file that the TaskRun's taskRef refers to.")
@click.option("--pipeline", "pipeline_file", type=click.Path(exists=True, dir_okay=False),
              help="Pipeline file that the PipelineRun's pipelineRef refers to.")
@click.option("--stepaction", "stepaction_file", type=click.Path(exists=True, dir_okay=False),
              help="StepAction file that a step's `ref` refers to.")
@click.option("--feature-flags", metavar="K=V,...",
              help="Tekton feature flags over v1.15's defaults (e.g. enable-api-fields=alpha).")
@click.option("--parallel", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Pipeline tasks running at once.")
@click.option("--keep", is_flag=True, help="Keep the run folder (logs, results, resolved spec).")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Where run folders go (default: a temp folder).")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the outcome as JSON on stdout (logs go to stderr).")
@click.option("--dry-run", is_flag=True, help="Print the resolved plan (images, commands, env names, mounts); run nothing.")
def run(file, params, workspace, secret, configmap, network, image_map, timeout, task_file,
        pipeline_file, stepaction_file, feature_flags, parallel, keep, run_dir, output, dry_run):
    """Run the TaskRuns and PipelineRuns of FILE in local podman containers, with Tekton v1
    semantics. FILE may hold several documents, as for `kubectl apply -f`: the Tasks, Pipelines,
    StepActions, Secrets and ConfigMaps the runs use, and several runs (run in order).

    Exit code: 0 succeeded, 1 failed (or interrupted), 2 invalid input (nothing was started).
    With several runs, the worst of them.
    """
    import dataclasses

    from interlock.run import documents
    from interlock.run import params as params_mod

    to_json = output == "json"

    def log(task: str, step: str, line: str) -> None:
        click.echo(f"[{task}/{step}] {line}", err=to_json)

    try:
        options = _options(workspace, secret, configmap, network, image_map, timeout, keep,
                           run_dir, dry_run, parallel, task_file, pipeline_file, stepaction_file,
                           feature_flags)
        overrides = params_mod.parse_cli(params)
        runfile = documents.load(Path(file))
        options = dataclasses.replace(options, resources=runfile.resources)
        for note in runfile.notes:
            click.echo(f"note: {note}", err=True)
        # every run is checked before any starts: a file with an invalid run runs nothing
        if not dry_run:
            check = dataclasses.replace(options, dry_run=True)
            for doc, where in runfile.runs:
                _run_one(doc, where, check, overrides, log=None, cancel=None)
    except InvalidRun as e:
        _invalid(str(e), to_json)
    except ValueError as e:  # PipelineRunInvalid and the like: invalid input, nothing ran
        _invalid(f"{file}: {e}", to_json)
    outcomes = []
    for doc, where in runfile.runs:
        try:
            outcomes.append(_in_thread(lambda cancel, doc=doc, where=where: _run_one(
                doc, where, options, overrides, log=log, cancel=cancel)))
        except (InvalidRun, ValueError) as e:  # found only once a run started (it names itself)
            _invalid(str(e), to_json)
    if to_json:
        data = [o.to_dict() for o in outcomes]
        click.echo(json.dumps(data[0] if len(data) == 1 else data, indent=2))
    elif dry_run:
        click.echo("\n---\n".join(_plan_text(o) for o in outcomes))
    else:
        click.echo("\n\n".join(summary(o) for o in outcomes))
    if dry_run:
        sys.exit(EXIT_OK)
    sys.exit(EXIT_OK if all(o.succeeded for o in outcomes) else EXIT_FAILED)


def _run_one(doc: dict, where: str, options: RunOptions, overrides: dict, log, cancel):
    if doc["kind"] == "TaskRun":
        from interlock.run.taskrun import run_taskrun
        return run_taskrun(doc, options=options, log=log, params_override=overrides,
                           cancel=cancel, where=where)
    from interlock.run.pipeline_spec import PipelineRunInvalid
    from interlock.run.pipelinerun import run_pipelinerun
    try:
        return run_pipelinerun(doc, options=options, log=log, parallel=options.parallel,
                               cancel=cancel, params_override=overrides)
    except PipelineRunInvalid as e:
        raise InvalidRun(where, str(e)) from None


def _invalid(message: str, to_json: bool) -> None:
    message = " ".join(message.split())  # one line, whatever a value held
    if to_json:
        click.echo(json.dumps({"error": message, "exitCode": EXIT_INVALID}))
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INVALID)


def _plan_text(outcome: TaskRunOutcome | PipelineRunOutcome) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        # scripts read as written: multi-line strings as literal blocks
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    taskruns = outcome.tasks if isinstance(outcome, PipelineRunOutcome) else [outcome]
    plans = [t.plan for t in taskruns if t.plan is not None]
    return yaml.dump(plans if len(plans) != 1 else plans[0], Dumper=Dumper, sort_keys=False,
                     width=100).rstrip()
