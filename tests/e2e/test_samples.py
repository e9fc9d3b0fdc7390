"""What the kind e2e harness asserts, proven here: the fakes image it deploys serves the fakes
(built and started as the plan does, reached through a published port as a Service would), and
every sample, as the plan rewrites it (bundles resolver, the fake's URL), produces the expected
result values when `interlock run` runs it in the real step image."""
from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from interlock import catalog, paths
from interlock.e2e import plan
from interlock.e2e.fakes import FAKES, fake_for
from interlock.images.spec import SPECS
from interlock.podman import podman
from tests.conftest import INTERLOCK

pytestmark = pytest.mark.containers
TAG = "localhost/interlock/fakes:test-e2e"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fakes_running():
    """{fake name: base URL} of the fakes, each in the fakes image as the harness's pod runs it."""
    subprocess.run([INTERLOCK, "images", "build", "base", "looker"], check=True, capture_output=True)
    podman(*plan.fakes_build(TAG, paths.ROOT)[1:])
    containers, urls = [], {}
    try:
        for fake in FAKES:
            deployment = next(m for m in plan.fake_manifests(fake) if m["kind"] == "Deployment")
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            port = _free_port()
            started = podman("run", "-d", "--rm", "--user", "65532:65532", "--cap-drop", "ALL",
                             "--security-opt", "no-new-privileges", "-p", f"127.0.0.1:{port}:{fake.port}",
                             TAG, *container["command"])
            containers.append(started.stdout.strip())
            _wait_for(port)
            urls[fake.name] = f"http://127.0.0.1:{port}"
        yield urls
    finally:
        for cid in containers:
            podman("rm", "-f", cid, check=False)
        podman("rmi", TAG, check=False)


def _wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the fake did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


SAMPLES = [p.relative_to(paths.ROOT).as_posix() for p in plan.samples()]


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_sample_produces_its_expected_results(sample, fakes_running, tmp_path):
    expected = plan.expectations()[sample]
    path = paths.ROOT / sample
    run, fakes = plan.cluster_run(path, catalog.load_yaml(path), url_for=lambda f: fakes_running[f.name])
    assert run["spec"]["taskRef"]["resolver"] == "bundles"  # interlock run answers it from the catalog
    file = tmp_path / "run.yaml"
    file.write_text(yaml.safe_dump(run))
    args = [INTERLOCK, "run", str(file), "-o", "json", "--network", "host",
            "--image-map", f"localhost/interlock/looker={SPECS['looker'].ref}"]
    for fake in fakes:
        secret = tmp_path / fake.secret
        secret.mkdir()
        for key, value in fake.credentials.items():
            (secret / key).write_text(value)
        args += ["--secret", f"{fake.secret}={secret}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=paths.ROOT)
    outcome = json.loads(proc.stdout) if proc.stdout.strip() else {}
    assert proc.returncode == 0 and outcome["condition"]["status"] == "True", proc.stderr
    results = {k: v if isinstance(v, str) else json.dumps(v) for k, v in outcome["results"].items()}
    assert {k: results.get(k) for k in expected} == expected
    assert fake_for(Path(sample).parts[1]) in fakes
