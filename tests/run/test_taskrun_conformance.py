"""TaskRun conformance: Tekton v1 semantics, run in real containers of the tools image.

Each test runs a TaskRun from tests/run/taskruns/ and asserts on result values, statuses and
reasons as Tekton reports them.
"""
from __future__ import annotations

import threading
import time

import pytest

from run_support import TASKRUNS, leftover_containers

pytestmark = pytest.mark.containers
ENUM = {"enable-param-enum": "true"}  # params.yaml uses `enum`, off by default in Tekton v1.15


def steps_by_name(outcome):
    return {s.name: s for s in outcome.steps}


def test_params_string_array_object_enum_and_propagation(run_file):
    out, _ = run_file("params", params={"level": "warn"}, feature_flags=ENUM)
    assert (out.status, out.reason) == ("True", "Succeeded"), out.message
    # greeting, 3 words expanded in place, then the extras default
    assert out.results["joined"] == "hello|one|two words|three|x|"
    assert out.results["count"] == "5"
    assert out.results["url"] == "https://example.test:8443/"
    assert out.results["level"] == "warn"
    assert out.results["dotted"] == "dot-value"
    assert out.results["propagated"] == "from-the-taskrun"


def test_array_param_from_the_command_line_as_json(run_file):
    out, _ = run_file("params", params={"words": '["solo"]'}, feature_flags=ENUM)
    assert out.results["joined"] == "hello|solo|x|"


def test_context_variables(run_file):
    out, _ = run_file("context")
    assert out.succeeded, out.message
    assert out.results["name"] == "context-run"
    assert out.results["namespace"] == "ci"
    assert len(out.results["uid"]) == 36 and out.results["uid"].count("-") == 4
    assert out.results["task"] == "context-run"
    assert out.results["retry"] == "0"


def test_steps_share_workspace_and_home_and_honour_script_env_template_user(run_file):
    out, lines = run_file("steps")
    assert out.succeeded, out.message
    assert out.results["shell"] == "bash-3"
    assert out.results["shared"] == "in home+in workspace"
    assert out.results["env"] == "template/step//home/nonroot"  # the tools image's ENV HOME
    assert out.results["pwd"] == "/tmp"
    assert out.results["new-dir"] == "/workspace/build/out"
    assert out.results["uid"] == "4321"
    # no shebang -> `sh` with set -e: the line after `false` did not run
    assert "set-e" not in out.results
    s = steps_by_name(out)
    assert (s["default-shell"].reason, s["default-shell"].exit_code) == ("Continued", 1)
    assert "[steps/write] written by steps" in lines
    assert [st.name for st in out.steps] == ["write", "read", "workdir", "new-dir", "user",
                                             "default-shell"]


def test_on_error_continue_records_the_exit_code(run_file):
    out, lines = run_file("onerror-continue")
    assert (out.status, out.reason) == ("True", "Succeeded")
    fail = steps_by_name(out)["fail"]
    assert (fail.status, fail.reason, fail.exit_code) == ("Failed", "Continued", 3)
    assert out.results["seen-exit-code"] == "3"
    assert "[onerror-continue/fail] failing on purpose" in lines


def test_stop_and_fail_fails_the_taskrun_and_skips_later_steps(run_file):
    out, lines = run_file("onerror-stop")
    assert (out.status, out.reason) == ("False", "Failed")
    assert out.message == '"step-fail" exited with code 2'
    s = steps_by_name(out)
    assert (s["ok"].reason, s["fail"].reason, s["fail"].exit_code) == ("Completed", "Error", 2)
    assert (s["never"].status, s["never"].reason) == ("Skipped", "Skipped")
    assert not any("must not run" in line for line in lines)


def test_step_timeout(run_file):
    started = time.monotonic()
    out, _ = run_file("step-timeout")
    assert time.monotonic() - started < 25
    assert (out.status, out.reason) == ("False", "Failed")
    s = steps_by_name(out)
    assert s["slow"].reason == "TimeoutExceeded"
    assert s["never"].reason == "Skipped"
    assert "timeout" in out.message
    assert leftover_containers(out) == []


def test_taskrun_timeout(run_file):
    started = time.monotonic()
    out, _ = run_file("taskrun-timeout")
    assert time.monotonic() - started < 25
    assert (out.status, out.reason) == ("False", "TaskRunTimeout")
    assert out.message == 'TaskRun "taskrun-timeout" failed to finish within "4s"'
    s = steps_by_name(out)
    assert (s["quick"].reason, s["slow"].reason, s["never"].reason) == \
        ("Completed", "TaskRunTimeout", "TaskRunTimeout")
    assert leftover_containers(out) == []


def test_timeout_option_overrides_the_default(run_file):
    out, _ = run_file("cancel", timeout=1.0)
    assert (out.status, out.reason) == ("False", "TaskRunTimeout")
    assert out.message == 'TaskRun "cancel" failed to finish within "1s"'


def test_results_string_array_object_and_step_results(run_file):
    out, _ = run_file("results")
    assert out.succeeded, out.message
    assert out.results["digest"] == "sha256:abc\n"
    assert out.results["tags"] == ["v1", "latest"]
    assert out.results["image"] == {"repo": "demo", "tag": "v1"}
    assert out.results["from-step"] == "1.2.3"
    assert out.results["echoed"] == "1.2.3-1"  # $0=version, $1=first item of the array
    produce = steps_by_name(out)["produce"]
    assert produce.results == {"version": "1.2.3", "parts": ["1", "2", "3"]}


def test_results_above_the_termination_message_limit_fail_the_taskrun(run_file):
    out, _ = run_file("results-too-large")
    assert (out.status, out.reason) == ("False", "TaskRunResultLargerThanAllowedLimit")
    assert "Termination message is above max allowed size 4096, caused by large task result." \
        in out.message
    assert steps_by_name(out)["never"].reason == "Skipped"


def test_result_of_the_wrong_type_fails_validation(run_file):
    out, _ = run_file("results-wrong-type")
    assert (out.status, out.reason) == ("False", "TaskRunValidationFailed")
    assert "'list'" in out.message and "array" in out.message


def test_workspaces(run_file, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    source.chmod(0o777)
    (source / "input.txt").write_text("from the host\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "password").write_text("s3cret")
    settings = tmp_path / "settings"
    settings.mkdir()
    (settings / "mode").write_text("fast\n")
    out, lines = run_file("workspaces", workspaces={"source": source},
                          secrets={"registry-creds": creds}, configmaps={"app-settings": settings})
    assert out.succeeded, out.message
    assert "[workspaces/use] password is ***" in lines  # a secret workspace's values are masked
    r = out.results
    assert r["source-path"] == "/workspace/source"
    assert r["input"] == "from the host"
    assert (source / "output.txt").read_text() == "written by the task\n"
    assert r["creds-write"] == "read-only"
    assert not (creds / "new").exists()
    assert r["setting"] == "fast"
    assert (r["reference-bound"], r["reference-path"]) == ("false", "[]")
    assert r["scratch"] == "scratch"
    assert r["private-seen"] == "secret-data"
    assert r["private-hidden"] == "hidden"  # isolated: only the step that lists it sees it
    assert "reference-write" not in r


def test_read_only_workspace_bound_to_a_host_folder(run_file, tmp_path):
    folders = {}
    for name in ("source", "creds", "settings", "reference"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        folders[name].chmod(0o777)
    (folders["source"] / "input.txt").write_text("x")
    (folders["settings"] / "mode").write_text("m")
    out, _ = run_file("workspaces", workspaces={"source": folders["source"],
                                                "reference": folders["reference"]},
                      secrets={"registry-creds": folders["creds"]},
                      configmaps={"app-settings": folders["settings"]})
    assert out.succeeded, out.message
    assert (out.results["reference-bound"], out.results["reference-path"]) == \
        ("true", "[/workspace/reference]")
    assert out.results["reference-write"] == "read-only"
    assert list(folders["reference"].iterdir()) == []


def test_env_from_secret_and_configmap_stand_ins_with_masked_logs(run_file, tmp_path):
    api = tmp_path / "api"
    api.mkdir()
    (api / "token").write_text("tok-123456")
    settings = tmp_path / "settings"
    settings.mkdir()
    (settings / "region").write_text("eu-west")
    (settings / "mode").write_text("fast")
    out, lines = run_file("secrets-env", secrets={"api": api}, configmaps={"app-settings": settings})
    assert out.succeeded, out.message
    assert out.results == {"token-length": "10", "region": "eu-west", "prefixed": "fast",
                           "optional": "unset"}
    assert "[secrets-env/env] token is ***" in lines
    assert not any("tok-123456" in line for line in lines)


def test_volumes_and_volume_mounts(run_file, tmp_path):
    settings = tmp_path / "settings"
    settings.mkdir()
    (settings / "mode").write_text("slow")
    tls = tmp_path / "tls"
    tls.mkdir()
    (tls / "tls.crt").write_text("CERT\n")
    out, _ = run_file("volumes", configmaps={"app-settings": settings}, secrets={"tls-cert": tls})
    assert out.succeeded, out.message
    assert out.results == {"cached": "warm", "mode": "slow", "cert": "CERT", "tls-write": "read-only"}


def test_sidecar_runs_beside_the_steps_and_is_stopped(run_file):
    out, _ = run_file("sidecar")
    assert out.succeeded, out.message
    assert out.results == {"heard": "ready", "netns": "shared"}
    assert leftover_containers(out) == []


def test_missing_image_fails_like_an_image_pull(run_file):
    out, _ = run_file("missing-image")
    assert (out.status, out.reason) == ("False", "TaskRunImagePullFailed")
    assert "localhost/interlock/does-not-exist:0.0.0" in out.message


def test_image_map_runs_a_reference_with_a_local_image(run_file, tools_image):
    out, _ = run_file("missing-image",
                      image_map={"localhost/interlock/does-not-exist": tools_image})
    assert out.succeeded, out.message


def test_cancel_removes_the_running_container(run_file):
    cancel = threading.Event()
    timer = threading.Timer(1.5, cancel.set)
    timer.start()
    started = time.monotonic()
    out, lines = run_file("cancel", cancel=cancel)
    assert time.monotonic() - started < 25
    assert (out.status, out.reason) == ("False", "TaskRunCancelled")
    assert steps_by_name(out)["long"].reason == "TaskRunCancelled"
    assert leftover_containers(out) == []


def test_task_ref_by_git_resolver_and_by_task_file(run_file):
    out, _ = run_file("taskref-git")
    assert (out.task, out.results) == ("task-echo", {"said": "resolved"})
    out, _ = run_file("taskref-name", task_file=TASKRUNS / "task-echo.yaml")
    assert out.results == {"said": "by-name"}


def test_keep_saves_logs_results_and_the_resolved_spec(run_file, tmp_path):
    out, _ = run_file("onerror-continue", keep=True, run_dir=tmp_path / "kept")
    from pathlib import Path
    folder = Path(out.run_dir)
    assert (folder / "logs" / "fail.log").read_text() == "failing on purpose\n"
    assert (folder / "results" / "seen-exit-code").read_text() == "3"
    assert "/tekton/steps/step-fail/exitCode" in (folder / "spec.yaml").read_text()
    assert '"reason": "Continued"' in (folder / "outcome.json").read_text()




def test_ctrl_c_on_the_command_cancels_and_removes_containers(tools_image):
    import json
    import os
    import signal
    import subprocess
    import sys

    from interlock import podman
    proc = subprocess.Popen([sys.executable, "-m", "interlock", "run", str(TASKRUNS / "cancel.yaml"),
                             "--image-map", f"interlock-tools={tools_image}", "-o", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # logs go to stderr with -o json
    assert line.strip() == "[cancel/long] started"
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 1
    outcome = json.loads(out)
    assert outcome["condition"]["reason"] == "TaskRunCancelled"
    assert podman.podman("ps", "-a", "--filter", f"label=interlock.run={outcome['runId']}",
                         "--format", "{{.Names}}").stdout.strip() == ""


def test_network_none_by_default_and_host_on_request(run_file):
    import os
    out, _ = run_file("network")
    assert out.results["interfaces"] == "lo "
    host, _ = run_file("network", network="host")
    assert host.results["interfaces"] == "".join(f"{n} " for n in sorted(os.listdir("/sys/class/net")))


def test_run_as_non_root_is_checked_against_the_image_user(run_file, tools_image, root_image):
    from interlock import podman
    out, _ = run_file("run-as-non-root", image_map={"interlock-tools": root_image})
    assert (out.status, out.reason) == ("False", "CreateContainerConfigError")
    assert "container has runAsNonRoot and image will run as root" in out.message
    assert [s.reason for s in out.steps] == ["CreateContainerConfigError"]
    user = podman.podman("image", "inspect", "--format", "{{.Config.User}}", tools_image).stdout.strip()
    out, _ = run_file("run-as-non-root")
    if user.split(":")[0] not in ("", "0", "root"):
        assert out.succeeded, out.message
        assert out.results["uid"] == user.split(":")[0]
    else:
        assert out.reason == "CreateContainerConfigError"


def test_steps_wait_for_sidecar_readiness_probes(run_file):
    out, _ = run_file("sidecar-ready")
    assert out.succeeded, out.message
    assert out.results["body"] == "served by the sidecar"
    assert leftover_containers(out) == []


def test_stdout_and_stderr_config_copy_the_streams_to_files(run_file):
    out, lines = run_file("stdout-config", feature_flags={"enable-api-fields": "alpha"})
    assert out.succeeded, out.message
    assert out.results == {"version": "1.4.2", "warnings": "careful"}
    assert "[stdout-config/emit] careful" in lines
