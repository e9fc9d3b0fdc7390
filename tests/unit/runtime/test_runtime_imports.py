"""Each image installs only its own extra: the runtime core must import and run a
step without requests, looker-sdk, kubernetes or google-api-core."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCKED = ("requests", "looker_sdk", "kubernetes", "google")

SCRIPT = textwrap.dedent(
    f"""
    import importlib.abc, sys, json

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {BLOCKED!r}:
                raise ModuleNotFoundError(f"blocked for this test: {{name}}")
            return None

    for name in list(sys.modules):
        if name.split(".")[0] in {BLOCKED!r}:
            del sys.modules[name]
    sys.meta_path.insert(0, Block())

    from interlock_steps import runtime as rt

    def main(step):
        calls = []
        def poll():
            calls.append(1)
            if len(calls) < 2:
                raise ConnectionResetError("reset")
            return "ready"
        step.results.write(state=step.retrying()(poll))

    code = rt.run_step(main, task="t", step="s", argv=["--results-dir", sys.argv[1]], environ={{}}, sleep=lambda s: None)
    print(json.dumps({{"code": code, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in {BLOCKED!r})}}))
    """
)


def test_core_runs_without_the_optional_clients(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}
    assert (tmp_path / "state").read_text() == "ready"
