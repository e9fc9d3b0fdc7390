"""`make demo`: the main job, end to end on one machine.

Builds the Looker step image, starts the fake Looker on loopback (the same fixture the
tests use), and runs the real looker-refresh Task with `interlock run`: datagroups, then
PDTs, then dashboard warming. Prints the Task's results, the report it wrote, and the
order of the calls Looker received.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from interlock import paths
from interlock.images.spec import SPECS

TASKRUN = textwrap.dedent("""\
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata:
      name: looker-refresh-demo
    spec:
      taskRef:
        name: looker-refresh
      params:
        - {name: base-url, value: "%(url)s"}
        - {name: verify-ssl, value: "false"}
        - {name: datagroups, value: "ecommerce::orders_datagroup, 12"}
        - {name: pdt-model, value: ecommerce}
        - {name: pdt-views, value: orders_rollup}
        - {name: dashboard-ids, value: "7"}
    """)


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def main() -> int:
    interlock = str(Path(sys.executable).parent / "interlock")
    say("building the step images (base, looker); cached layers make this quick after the first time")
    subprocess.run([interlock, "images", "build", "looker"], check=True)
    sys.path.insert(0, str(paths.SOURCE))  # the fake Looker is a test fixture, not part of the package
    from tests.fakes.looker import FakeLooker

    with FakeLooker() as looker, tempfile.TemporaryDirectory(prefix="interlock-demo-") as tmp:
        say(f"fake Looker listening on {looker.url} (loopback only)")
        secret = Path(tmp, "looker-credentials")
        secret.mkdir()
        secret.joinpath("client_id").write_text(looker.client_id)
        secret.joinpath("client_secret").write_text(looker.client_secret)
        report = Path(tmp, "report")
        report.mkdir(mode=0o777)
        report.chmod(0o777)  # the step runs as uid 65532
        taskrun = Path(tmp, "taskrun.yaml")
        taskrun.write_text(TASKRUN % {"url": looker.url})
        image = SPECS["looker"].ref
        say("interlock run looker-refresh (real Task YAML, real image, --network host to reach the fake)")
        proc = subprocess.run([interlock, "run", str(taskrun), "--network", "host",
                               "--secret", f"looker-credentials={secret}", "-w", f"report={report}",
                               "--image-map", f"localhost/interlock/looker={image}"])
        calls = [c.operation for c in looker.calls if c.operation not in ("login", "logout")]
        say("calls Looker received, in order (data before warming):")
        print("   " + " -> ".join(_squash(calls)))
        path = report / "looker-refresh.json"
        if path.exists():
            say(f"report written to the report workspace: summary = {json.loads(path.read_text())['summary']}")
        for violation in looker.spec_violations:  # the fake checks every exchange against Looker's OpenAPI document
            say(f"outside Looker's API: {violation.operation} {violation.status}: {'; '.join(violation.problems[:3])}")
        return proc.returncode or (1 if looker.spec_violations else 0)


def _squash(ops: list[str]) -> list[str]:
    """Collapse repeats: a, a, a, b -> a×3, b."""
    out: list[str] = []
    for op in ops:
        if out and out[-1].split("×")[0] == op:
            name, _, n = out[-1].partition("×")
            out[-1] = f"{name}×{int(n or 1) + 1}"
        else:
            out.append(op)
    return out


if __name__ == "__main__":
    sys.exit(main())
