"""PipelineRun orchestration with a fake TaskRun executor: no containers, fast, deterministic.

The fake looks up each TaskRun's pipeline task in a script of behaviours (status, results,
duration) and records what it was asked to run, so the tests assert on the TaskRuns the
orchestrator builds (names, params, context) as well as on statuses and skip reasons.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest

from interlock.run import dag, matrix, when
from interlock.run.options import RunOptions
from interlock.run.outcome import FALSE, TRUE, TaskRunOutcome, now
from interlock.run.pipelinerun import (EMPTY_MATRIX_SKIP, MISSING_RESULTS_SKIP, PARENT_SKIP,
                                       PIPELINE_TIMEOUT_SKIP, STOPPING_SKIP, TASKS_TIMEOUT_SKIP,
                                       WHEN_SKIP, PipelineRunInvalid, run_pipelinerun)


@dataclass
class Behaviour:
    ok: bool | list[bool] = True           # a list: one per attempt (retries)
    results: dict = field(default_factory=dict)
    seconds: float = 0.0
    echo_params: bool = False              # results = the TaskRun's params


class FakeExecutor:
    def __init__(self, script: dict[str, Behaviour] | None = None):
        self.script = script or {}
        self.calls: list[dict] = []
        self.spans: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def __call__(self, taskrun, cancel, log):
        task = taskrun["metadata"]["labels"]["tekton.dev/pipelineTask"]
        b = self.script.get(task, Behaviour())
        with self.lock:
            attempt = sum(1 for c in self.calls if c["metadata"]["name"] == taskrun["metadata"]["name"])
            self.calls.append(taskrun)
        ok = b.ok[min(attempt, len(b.ok) - 1)] if isinstance(b.ok, list) else b.ok
        start = time.monotonic()
        started = now()
        cancelled = cancel.wait(b.seconds) if b.seconds else False
        self.spans[taskrun["metadata"]["name"]] = (start, time.monotonic())
        results = {p["name"]: p["value"] for p in taskrun["spec"]["params"]} if b.echo_params \
            else dict(b.results)
        if cancelled:
            return TaskRunOutcome(name=taskrun["metadata"]["name"], task="fake", status=FALSE,
                                  reason="TaskRunCancelled", started=started, finished=now())
        return TaskRunOutcome(name=taskrun["metadata"]["name"], task="fake",
                              status=TRUE if ok else FALSE,
                              reason="Succeeded" if ok else "Failed",
                              results=results if ok else {}, started=started, finished=now())

    def names(self):
        return [c["metadata"]["labels"]["tekton.dev/pipelineTask"] for c in self.calls]


def task(name, results=(), **extra):
    """A pipeline task with an embedded Task declaring `results` (names, or (name, type))."""
    declared = [{"name": r} if isinstance(r, str) else {"name": r[0], "type": r[1]}
                for r in results]
    spec = {"steps": [{"name": "s", "image": "x", "script": "true"}]}
    if declared:
        spec["results"] = declared
    return {"name": name, "taskSpec": spec, **extra}


def pipelinerun(tasks, final=(), **spec):
    pspec = {"tasks": list(tasks)}
    if final:
        pspec["finally"] = list(final)
    for key in ("params", "results", "workspaces"):
        if key in spec:
            pspec[key] = spec.pop(key)
    return {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "pr"},
            "spec": {"pipelineSpec": pspec, **spec}}


def run(pr, script=None, parallel=2, **kw):
    fake = FakeExecutor(script)
    out = run_pipelinerun(pr, options=RunOptions(), executor=fake, parallel=parallel, **kw)
    return out, fake


def skips(out):
    return {s.name: s.reason for s in out.skipped}


# ---- DAG ----

def test_run_after_and_result_references_order_tasks():
    pr = pipelinerun([
        task("c", params=[{"name": "x", "value": "$(tasks.b.results.out)"}]),
        task("b", runAfter=["a"], results=["out"]),
        task("a"),
    ])
    out, fake = run(pr, {"b": Behaviour(results={"out": "from-b"})}, parallel=1)
    assert fake.names() == ["a", "b", "c"]
    assert fake.calls[2]["spec"]["params"] == [{"name": "x", "value": "from-b"}]
    assert (out.status, out.reason) == (TRUE, "Succeeded")
    assert out.message == "Tasks Completed: 3 (Failed: 0, Cancelled 0), Skipped: 0"


# A cycle the check misses makes the ordering loop forever: fail in seconds, not at the 600 s global timeout.
@pytest.mark.timeout(20)
def test_cycle_and_unknown_run_after_are_invalid_before_running():
    with pytest.raises(dag.PipelineInvalid, match=r"the tasks a, b, c form a cycle"):
        dag.build([{"name": "a", "runAfter": ["c"]}, {"name": "b", "runAfter": ["a"]}, {"name": "c", "runAfter": ["b"]}])
    with pytest.raises(PipelineRunInvalid, match="cycle"):
        run(pipelinerun([task("a", runAfter=["b"]), task("b", runAfter=["a"])]))
    with pytest.raises(PipelineRunInvalid, match=r"tasks\[0\].runAfter: 'nope'"):
        run(pipelinerun([task("a", runAfter=["nope"])]))
    with pytest.raises(PipelineRunInvalid, match=r"\$\(tasks.ghost"):
        run(pipelinerun([task("a", params=[{"name": "p", "value": "$(tasks.ghost.results.r)"}])]))


def test_graph_order_is_stable_topological():
    g = dag.build([{"name": "d", "runAfter": ["b", "c"]}, {"name": "b", "runAfter": ["a"]},
                   {"name": "c", "runAfter": ["a"]}, {"name": "a"}])
    assert g.order == ("a", "b", "c", "d")
    assert g.children("a") == ["b", "c"]


def test_independent_tasks_run_in_parallel_bounded_by_parallel():
    tasks = [task(n) for n in "abc"]
    script = {n: Behaviour(seconds=0.3) for n in "abc"}
    t0 = time.monotonic()
    _, fake = run(pipelinerun(tasks), script, parallel=2)
    wall = time.monotonic() - t0
    starts = sorted(s for s, _ in fake.spans.values())
    assert starts[1] - starts[0] < 0.15          # two start together
    assert starts[2] - starts[0] >= 0.25         # the third waits for a free slot
    assert 0.55 <= wall < 0.9


def test_undeclared_param_reference_is_invalid():
    pr = pipelinerun([task("a", params=[{"name": "x", "value": "$(params.missing)"}])])
    with pytest.raises(PipelineRunInvalid, match=r"tasks\[0\] \(a\).*params.missing"):
        run(pr)


def test_missing_required_param_and_type_mismatch_are_invalid():
    pr = pipelinerun([task("a")], params=[{"name": "need", "type": "string"}])
    with pytest.raises(PipelineRunInvalid, match="required param 'need'"):
        run(pr)
    pr = pipelinerun([task("a")], params=[{"name": "arr", "type": "array"}])
    pr["spec"]["params"] = [{"name": "arr", "value": "not-a-list"}]
    with pytest.raises(PipelineRunInvalid, match="'arr': type mismatch"):
        run(pr)


def test_cli_params_override_with_json_arrays_and_unknown_names_refused():
    t = task("a", params=[{"name": "first", "value": "$(params.arr[0])"}])
    pr = pipelinerun([t], params=[{"name": "arr", "type": "array", "default": ["x"]}])
    _, fake = run(pr, params_override={"arr": '["one", "two"]'})
    assert fake.calls[0]["spec"]["params"] == [{"name": "first", "value": "one"}]
    with pytest.raises(PipelineRunInvalid, match="-p typo: the pipeline declares no such param"):
        run(pr, params_override={"typo": "1"})


# ---- failure, stopping, parents ----

def test_failure_stops_the_run_and_skips_waiting_tasks():
    pr = pipelinerun([task("a"), task("b", runAfter=["a"]), task("c", runAfter=["b"]),
                      task("slow")],
                     final=[task("report", params=[{"name": "s", "value": "$(tasks.status)"},
                                                   {"name": "a", "value": "$(tasks.a.status)"},
                                                   {"name": "b", "value": "$(tasks.b.status)"}])])
    out, fake = run(pr, {"a": Behaviour(ok=False), "slow": Behaviour(seconds=0.2),
                         "report": Behaviour(echo_params=True)})
    assert skips(out) == {"b": STOPPING_SKIP, "c": STOPPING_SKIP}
    assert "slow" in fake.names()                 # already running: allowed to finish
    report = next(t for t in out.tasks if t.pipeline_task == "report")
    assert report.results == {"s": "Failed", "a": "Failed", "b": "None"}
    assert (out.status, out.reason) == (FALSE, "Failed")
    assert out.message == "Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 2"


def test_when_skip_skips_only_the_guarded_task_and_result_readers():
    pr = pipelinerun([
        task("guarded", results=["r"], when=[{"input": "$(params.mode)", "operator": "in", "values": ["full"]}]),
        task("ordered", runAfter=["guarded"]),
        task("reader", params=[{"name": "r", "value": "$(tasks.guarded.results.r)"}]),
        task("grandchild", runAfter=["reader"]),
    ], params=[{"name": "mode", "default": "quick"}])
    out, fake = run(pr)
    assert skips(out) == {"guarded": WHEN_SKIP, "reader": MISSING_RESULTS_SKIP,
                          "grandchild": PARENT_SKIP}
    assert fake.names() == ["ordered"]
    assert (out.status, out.reason) == (TRUE, "Completed")
    when_skip = next(s for s in out.skipped if s.name == "guarded")
    assert when_skip.when[0]["operator"] == "in"


def test_when_with_results_and_notin_and_array_values():
    pr = pipelinerun([
        task("probe", results=["env"]),
        task("deploy", when=[{"input": "$(tasks.probe.results.env)", "operator": "in",
                              "values": ["$(params.envs[*])"]}]),
        task("rollback", when=[{"input": "$(tasks.probe.results.env)", "operator": "notin",
                                "values": ["prod", "staging"]}]),
    ], params=[{"name": "envs", "type": "array", "default": ["staging", "prod"]}])
    out, fake = run(pr, {"probe": Behaviour(results={"env": "prod"})})
    assert sorted(fake.names()) == ["deploy", "probe"]
    assert skips(out) == {"rollback": WHEN_SKIP}


def test_when_rejects_cel_and_bad_operator():
    with pytest.raises(PipelineRunInvalid, match="cel"):
        run(pipelinerun([task("a", when=[{"cel": "'a' == 'a'"}])]))
    with pytest.raises(PipelineRunInvalid, match="operator: 'equals'"):
        run(pipelinerun([task("a", when=[{"input": "a", "operator": "equals", "values": ["a"]}])]))
    assert when.allows([{"input": "a", "operator": "notin", "values": ["b"]}])


# ---- finally ----

def test_finally_runs_after_success_and_skips_on_missing_results():
    pr = pipelinerun([task("a"), task("b", results=["r"], when=[{"input": "x", "operator": "in",
                                                                 "values": ["y"]}])],
                     final=[task("cleanup"),
                            task("needs-b", params=[{"name": "v", "value": "$(tasks.b.results.r)"}]),
                            task("only-on-failure", when=[{"input": "$(tasks.status)",
                                                           "operator": "in",
                                                           "values": ["Failed"]}])])
    out, fake = run(pr)
    assert fake.names()[:1] == ["a"] and set(fake.names()) == {"a", "cleanup"}
    assert skips(out) == {"b": WHEN_SKIP, "needs-b": MISSING_RESULTS_SKIP,
                          "only-on-failure": WHEN_SKIP}
    assert out.reason == "Completed"


def test_failed_finally_task_fails_the_run():
    out, _ = run(pipelinerun([task("a")], final=[task("f")]), {"f": Behaviour(ok=False)})
    assert (out.status, out.reason) == (FALSE, "Failed")


def test_finally_cannot_use_run_after_or_read_other_finally_results():
    with pytest.raises(PipelineRunInvalid, match="runAfter"):
        run(pipelinerun([task("a")], final=[task("f", runAfter=["a"])]))
    with pytest.raises(PipelineRunInvalid, match="finally task 'f'"):
        run(pipelinerun([task("a")], final=[task("f", results=["r"]), task(
            "g", params=[{"name": "x", "value": "$(tasks.f.results.r)"}])]))
    with pytest.raises(PipelineRunInvalid, match="only available in finally"):
        run(pipelinerun([task("a", params=[{"name": "x", "value": "$(tasks.status)"}])]))


# ---- retries ----

def test_retries_rerun_a_failed_taskrun_with_retry_count():
    pr = pipelinerun([task("flaky", retries=2,
                           params=[{"name": "n", "value": "$(context.pipelineTask.retries)"}])])
    out, fake = run(pr, {"flaky": Behaviour(ok=[False, False, True])})
    counts = [c["metadata"]["annotations"]["interlock.dev/retry-count"] for c in fake.calls]
    assert counts == ["0", "1", "2"]
    # a retry is the same TaskRun (Tekton resets its status), so $(context.taskRun.uid) stays
    assert len({c["metadata"]["uid"] for c in fake.calls}) == 1
    assert fake.calls[0]["spec"]["params"] == [{"name": "n", "value": "2"}]
    assert out.status == TRUE and out.tasks[0].retry_count == 2


def test_retries_exhausted_fail_the_task():
    out, fake = run(pipelinerun([task("bad", retries=1)]), {"bad": Behaviour(ok=False)})
    assert len(fake.calls) == 2
    assert out.reason == "Failed" and out.tasks[0].retry_count == 1


# ---- timeouts ----

def test_pipeline_timeout_cancels_running_and_skips_the_rest():
    pr = pipelinerun([task("slow"), task("after", runAfter=["slow"])], final=[task("f")],
                     timeouts={"pipeline": "300ms"})
    out, _ = run(pr, {"slow": Behaviour(seconds=5)})
    assert (out.status, out.reason) == (FALSE, "PipelineRunTimeout")
    assert out.message == 'PipelineRun "pr" failed to finish within "300ms"'
    assert skips(out) == {"after": PIPELINE_TIMEOUT_SKIP, "f": PIPELINE_TIMEOUT_SKIP}
    slow = out.tasks[0]
    assert slow.reason == "TaskRunCancelled" and "timed out" in slow.message
    assert (out.finished - out.started).total_seconds() < 2


def test_tasks_timeout_still_runs_finally_and_fails():
    pr = pipelinerun([task("slow"), task("after", runAfter=["slow"])], final=[task("f")],
                     timeouts={"pipeline": "10s", "tasks": "300ms"})
    out, fake = run(pr, {"slow": Behaviour(seconds=5)})
    # slow is cancelled and counts as failed: after, waiting for it, sees the run stopping
    assert skips(out) == {"after": STOPPING_SKIP}
    assert next(t for t in out.tasks if t.pipeline_task == "slow").reason == "TaskRunCancelled"
    assert "f" in fake.names()
    assert (out.status, out.reason) == (FALSE, "Failed")
    assert out.message == "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 1"


def test_tasks_timeout_skips_a_task_that_was_ready_to_start():
    pr = pipelinerun([task("a"), task("b", runAfter=["a"])], timeouts={"pipeline": "10s",
                                                                       "tasks": "200ms"})

    class SlowToReport(FakeExecutor):   # a finishes, but only after the tasks timeout
        def __call__(self, taskrun, cancel, log):
            out = super().__call__(taskrun, cancel, log)
            time.sleep(0.4)
            return out
    fake = SlowToReport()
    out = run_pipelinerun(pr, options=RunOptions(), executor=fake)
    assert skips(out) == {"b": TASKS_TIMEOUT_SKIP}
    assert (out.status, out.reason) == (FALSE, "Failed")


def test_invalid_timeouts_are_rejected():
    with pytest.raises(PipelineRunInvalid, match="spec.timeouts.tasks"):
        run(pipelinerun([task("a")], timeouts={"pipeline": "1m", "tasks": "2m"}))
    with pytest.raises(PipelineRunInvalid, match="not a duration"):
        run(pipelinerun([task("a")], timeouts={"pipeline": "soon"}))


def test_task_timeout_is_passed_to_the_taskrun():
    _, fake = run(pipelinerun([task("a", timeout="90s")]))
    assert fake.calls[0]["spec"]["timeout"] == "90s"


# ---- matrix ----

def test_matrix_fans_out_and_aggregates_results():
    pr = pipelinerun([
        task("build", results=["os"], matrix={"params": [{"name": "os", "value": ["linux", "mac"]},
                                         {"name": "arch", "value": "$(params.arches)"}]},
             params=[{"name": "tag", "value": "v1"}]),
        task("collect", params=[{"name": "all", "value": "$(tasks.build.results.os[*])"},
                                {"name": "n", "value": "$(tasks.build.matrix.length)"},
                                {"name": "m", "value": "$(tasks.build.matrix.os.length)"}]),
    ], params=[{"name": "arches", "type": "array", "default": ["amd64", "arm64"]}],
        results=[{"name": "oses", "type": "array", "value": "$(tasks.build.results.os[*])"}])
    out, fake = run(pr, {"build": Behaviour(echo_params=True), "collect": Behaviour(echo_params=True)})
    builds = [c for c in fake.calls if c["metadata"]["labels"]["tekton.dev/pipelineTask"] == "build"]
    assert sorted(c["metadata"]["name"] for c in builds) == [f"pr-build-{i}" for i in range(4)]
    combos = [{p["name"]: p["value"] for p in c["spec"]["params"]} for c in
              sorted(builds, key=lambda c: c["metadata"]["name"])]
    assert combos[0] == {"tag": "v1", "os": "linux", "arch": "amd64"}
    assert combos[1] == {"tag": "v1", "os": "mac", "arch": "amd64"}   # Tekton: last param slowest
    collect = next(t for t in out.tasks if t.pipeline_task == "collect")
    assert collect.results == {"all": ["linux", "mac", "linux", "mac"], "n": "4", "m": "4"}
    assert out.results == {"oses": ["linux", "mac", "linux", "mac"]}


def test_matrix_include_extends_and_adds_combinations():
    combos = matrix.combinations({
        "params": [{"name": "platform", "value": ["linux", "mac"]},
                   {"name": "browser", "value": ["safari", "chrome"]}],
        "include": [{"name": "linux-url", "params": [{"name": "platform", "value": "linux"},
                                                     {"name": "url", "value": "some-url"}]},
                    {"name": "new", "params": [{"name": "browser", "value": "firefox"}]}]})
    assert {"platform": "linux", "browser": "safari", "url": "some-url"} in combos
    assert {"platform": "mac", "browser": "chrome"} in combos
    assert combos[-1] == {"browser": "firefox"}
    assert len(combos) == 5


def test_matrix_empty_array_skips_and_failed_combination_fails_task():
    pr = pipelinerun([task("none", matrix={"params": [{"name": "x", "value": []}]})])
    out, fake = run(pr)
    assert skips(out) == {"none": EMPTY_MATRIX_SKIP} and fake.calls == []

    class OneFails(FakeExecutor):
        def __call__(self, taskrun, cancel, log):
            out = super().__call__(taskrun, cancel, log)
            if taskrun["metadata"]["name"].endswith("-1"):
                out.status, out.reason = FALSE, "Failed"
            return out
    fake = OneFails()
    out = run_pipelinerun(pipelinerun([task("m", matrix={"params": [{"name": "x",
                                                                     "value": ["1", "2"]}]})]),
                          options=RunOptions(), executor=fake)
    assert out.reason == "Failed" and len(out.tasks) == 2


def test_matrix_param_given_twice_is_invalid():
    with pytest.raises(PipelineRunInvalid, match="both matrix and params"):
        run(pipelinerun([task("m", matrix={"params": [{"name": "x", "value": ["1"]}]},
                              params=[{"name": "x", "value": "2"}])]))


# ---- params, context, results, workspaces ----

def test_params_context_and_propagation_into_embedded_task_spec():
    t = {"name": "a", "params": [{"name": "own", "value": "$(params.greeting)"}],
         "taskSpec": {"params": [{"name": "own"}],
                      "steps": [{"name": "s", "image": "x",
                                 "args": ["$(params.greeting)", "$(params.own)",
                                          "$(context.pipelineRun.name)", "$(context.taskRun.name)"]}]}}
    pr = pipelinerun([t], params=[{"name": "greeting", "default": "hi"},
                                  {"name": "own", "default": "pipeline-level"}])
    pr["metadata"]["uid"] = "u-1"
    _, fake = run(pr)
    call = fake.calls[0]
    assert call["spec"]["params"] == [{"name": "own", "value": "hi"}]
    # propagated: greeting; the task's own param and task context stay for the TaskRun runner
    assert call["spec"]["taskSpec"]["steps"][0]["args"] == [
        "hi", "$(params.own)", "pr", "$(context.taskRun.name)"]
    assert call["metadata"]["name"] == "pr-a"
    assert call["metadata"]["annotations"]["interlock.dev/pipelinerun-uid"] == "u-1"


def test_pipeline_results_and_missing_ones_left_out():
    pr = pipelinerun([task("a", results=["d"]),
                      task("b", results=["r"], when=[{"input": "1", "operator": "in",
                                                      "values": ["2"]}])],
                     results=[{"name": "digest", "value": "$(tasks.a.results.d)-sha"},
                              {"name": "never", "value": "$(tasks.b.results.r)"}])
    out, _ = run(pr, {"a": Behaviour(results={"d": "abc"})})
    assert out.results == {"digest": "abc-sha"}
    # Tekton refuses text before the first reference (pipeline_validation.go taskContainsResult)
    pr["spec"]["pipelineSpec"]["results"][0]["value"] = "sha:$(tasks.a.results.d)"
    with pytest.raises(PipelineRunInvalid, match="referencing a nonexistent task"):
        run(pr)


def test_workspaces_are_mapped_to_task_names_with_sub_path(tmp_path):
    t = task("a", workspaces=[{"name": "src", "workspace": "shared", "subPath": "$(params.dir)"}])
    t["taskSpec"]["workspaces"] = [{"name": "src"}]
    (tmp_path / "app").mkdir()
    pr = pipelinerun([t], params=[{"name": "dir", "default": "app"}],
                     workspaces=[{"name": "shared"}])
    fake = FakeExecutor()
    run_pipelinerun(pr, options=RunOptions(workspaces={"shared": tmp_path}), executor=fake)
    assert fake.calls[0]["spec"]["workspaces"] == [
        {"name": "src", "hostPath": {"path": str(tmp_path)}, "subPath": "app"}]
    with pytest.raises(PipelineRunInvalid, match="requires workspace 'shared'"):
        run(pr)


def test_unsupported_fields_are_refused():
    with pytest.raises(PipelineRunInvalid, match="pipelineSpec"):  # pipelines in pipelines
        run(pipelinerun([task("a", pipelineSpec={"tasks": []})]))


def test_ctrl_c_cancels_running_tasks():
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    out, _ = run(pipelinerun([task("slow"), task("after", runAfter=["slow"])]),
                 {"slow": Behaviour(seconds=5)}, cancel=cancel)
    assert (out.status, out.reason) == (FALSE, "Cancelled")
    assert [t.reason for t in out.tasks] == ["TaskRunCancelled"]


# ---- every task is checked before the first one runs ----

def test_undeclared_result_and_task_param_errors_fail_before_anything_runs():
    fake = FakeExecutor()
    pr = pipelinerun([task("a", results=["digest"]),
                      task("b", params=[{"name": "x", "value": "$(tasks.a.results.nope)"}])])
    with pytest.raises(PipelineRunInvalid, match=r"tasks\[1\] \(b\).*tasks.a.results.nope.*"
                                                 "does not declare"):
        run_pipelinerun(pr, options=RunOptions(), executor=fake)
    needs = task("c")
    needs["taskSpec"]["params"] = [{"name": "required-one"}]
    with pytest.raises(ValueError, match=r"tasks\[1\] \(c\).*required-one"):
        run_pipelinerun(pipelinerun([task("a"), needs]), options=RunOptions(), executor=fake)
    assert fake.calls == []


def test_dry_run_plans_every_task_with_placeholder_results():
    pr = pipelinerun([task("a", results=["digest"]),
                      task("b", params=[{"name": "x", "value": "$(tasks.a.results.digest)"}],
                           when=[{"input": "$(params.go)", "operator": "in", "values": ["no"]}])],
                     params=[{"name": "go", "default": "yes"}])
    fake = FakeExecutor()
    out = run_pipelinerun(pr, options=RunOptions(dry_run=True), executor=fake)
    assert [c["metadata"]["name"] for c in fake.calls] == ["pr-a", "pr-b"]
    assert fake.calls[1]["spec"]["params"] == [{"name": "x", "value": "<tasks.a.results.digest>"}]
    assert (out.status, out.reason) == ("Unknown", "DryRun")


def test_task_run_template_reaches_every_taskrun_and_unknown_pipeline_fields_are_refused():
    pr = pipelinerun([task("a"), task("b")])
    pr["spec"]["taskRunTemplate"] = {"podTemplate": {"securityContext": {"runAsUser": 1000}}}
    _, fake = run(pr)
    assert [c["spec"]["podTemplate"] for c in fake.calls] == [
        {"securityContext": {"runAsUser": 1000}}] * 2
    pr = pipelinerun([task("a")])
    pr["spec"]["pipelineSpec"]["tasksTimeout"] = "1m"
    with pytest.raises(PipelineRunInvalid, match="tasksTimeout"):
        run(pr)


def test_index_past_an_array_result_fails_that_task_and_stops_the_run():
    pr = pipelinerun([task("list", results=[("items", "array")]),
                      task("third", params=[{"name": "x", "value": "$(tasks.list.results.items[2])"}]),
                      task("later", runAfter=["third"])],
                     final=[task("report", params=[{"name": "s", "value": "$(tasks.third.status)"}])])
    out, fake = run(pr, {"list": Behaviour(results={"items": ["a", "b"]}),
                         "report": Behaviour(echo_params=True)})
    third = next(t for t in out.tasks if t.pipeline_task == "third")
    assert third.reason == "TaskRunValidationFailed" and "out of range" in third.message
    assert skips(out) == {"later": STOPPING_SKIP}
    assert next(t for t in out.tasks if t.pipeline_task == "report").results == {"s": "Failed"}
    assert "third" not in fake.names() and out.reason == "Failed"


def test_matrix_over_the_combination_limit_is_invalid():
    many = [str(i) for i in range(17)]
    pr = pipelinerun([task("m", matrix={"params": [{"name": "a", "value": many},
                                                   {"name": "b", "value": many}]})])
    with pytest.raises(PipelineRunInvalid, match="289 combinations exceed the limit of 256"):
        run(pr)


def test_pipeline_result_from_a_finally_task():
    pr = pipelinerun([task("a")], final=[task("f", results=["summary"])],
                     results=[{"name": "summary", "value": "$(finally.f.results.summary)"}])
    out, _ = run(pr, {"f": Behaviour(results={"summary": "all good"})})
    assert out.results == {"summary": "all good"}
    # a finally task's results are `finally.`, not `tasks.`: Tekton refuses the latter
    pr["spec"]["pipelineSpec"]["results"][0]["value"] = "$(tasks.f.results.summary)"
    with pytest.raises(PipelineRunInvalid, match="referencing a nonexistent task"):
        run(pr)


def test_result_a_succeeded_task_never_wrote_fails_the_run():
    pr = pipelinerun([task("a", results=["digest"]),
                      task("b", params=[{"name": "d", "value": "$(tasks.a.results.digest)"}]),
                      task("slow")], final=[task("f")])
    out, fake = run(pr, {"a": Behaviour(results={}), "slow": Behaviour(seconds=5)})
    assert (out.status, out.reason) == (FALSE, "InvalidTaskResultReference")
    assert "tasks[1] (b): $(tasks.a.results.digest): task 'a' succeeded without" in out.message
    assert "b" not in fake.names() and "f" not in fake.names()
    assert next(t for t in out.tasks if t.pipeline_task == "slow").reason == "TaskRunCancelled"


def test_unknown_task_ref_is_invalid_before_anything_runs():
    fake = FakeExecutor()
    pr = pipelinerun([task("a"), {"name": "b", "runAfter": ["a"], "taskRef": {"name": "no-such-task"}}])
    with pytest.raises(PipelineRunInvalid, match=r"tasks\[1\] \(b\).taskRef.*no-such-task"):
        run_pipelinerun(pr, options=RunOptions(), executor=fake)
    assert fake.calls == []


def test_workspace_flag_for_an_undeclared_workspace_is_refused(tmp_path):
    pr = pipelinerun([task("a")], workspaces=[{"name": "shared", "optional": True}])
    with pytest.raises(PipelineRunInvalid, match="-w sahred: the pipeline declares no such"):
        run_pipelinerun(pr, options=RunOptions(workspaces={"sahred": tmp_path}),
                        executor=FakeExecutor())


def test_finally_timeout_cancels_finally_tasks_and_fails_the_run():
    pr = pipelinerun([task("a")], final=[task("slow-cleanup")],
                     timeouts={"pipeline": "10s", "finally": "300ms"})
    out, _ = run(pr, {"slow-cleanup": Behaviour(seconds=5)})
    cleanup = next(t for t in out.tasks if t.pipeline_task == "slow-cleanup")
    assert cleanup.reason == "TaskRunCancelled" and "timed out" in cleanup.message
    assert (out.status, out.reason) == (FALSE, "Failed")
    assert out.message == "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0"
    assert (out.finished - out.started).total_seconds() < 2
