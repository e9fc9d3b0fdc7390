"""`python -m tests.fakes.kubernetes` and `python -m tests.fakes.mesh` run on their own, as the
example pipelines and a kind harness will run them: URL on the first line, faults and objects from
the command line, a record of every call on exit; the mesh follows the weights set through the API."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest
import requests
import yaml

from interlock.paths import ROOT
from tests.fakes.mesh import wait_for
from tests.istio.objects import NAMESPACE, TOKEN, USER, virtual_service

VS_PATH = "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/reviews"


def _start(module: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    assert process.wait(timeout=10) == 0, process.stderr.read() if process.stderr else ""


def test_fake_kubernetes_standalone(tmp_path):
    objects = tmp_path / "objects.yaml"
    objects.write_text(yaml.safe_dump(virtual_service()))
    record, kubeconfig = tmp_path / "record.json", tmp_path / "kubeconfig"
    process, url = _start("tests.fakes.kubernetes", "--port", "0", "--object", str(objects), "--token", f"{TOKEN}={USER}",
                          "--allow", f"{USER}={NAMESPACE}", "--fault", "get:virtualservices:503x1",
                          "--kubeconfig", str(kubeconfig), "--record", str(record))
    try:
        assert url.startswith("http://127.0.0.1:")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(url + VS_PATH, headers=headers, timeout=5).status_code == 503
        answer = requests.get(url + VS_PATH, headers=headers, timeout=5)
        assert answer.status_code == 200 and answer.json()["metadata"]["name"] == "reviews"
        assert requests.get(url + VS_PATH, timeout=5).status_code == 401
        assert yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"] == url
    finally:
        _stop(process)
    recorded = json.loads(record.read_text())
    assert [c["status"] for c in recorded["calls"]] == [503, 200, 401]
    assert [r["verb"] for r in recorded["history"]["virtualservices.networking.istio.io/shop/reviews"]] == ["seed"]


@pytest.mark.parametrize(("args", "message"), [(["--fault", "patch:virtualservices:418"], "status 418"),
                                               (["--crds", "/nonexistent.yaml"], "CRD file not found")])
def test_fake_kubernetes_standalone_rejects_bad_input_clearly(args, message):
    process = subprocess.run([sys.executable, "-m", "tests.fakes.kubernetes", *args], cwd=ROOT, text=True,
                             capture_output=True, timeout=60)
    assert process.returncode == 2 and message in process.stderr and "Traceback" not in process.stderr


def test_mesh_standalone_follows_the_weights(kube):
    kube.put(virtual_service(stable=100, canary=0))
    process, url = _start("tests.fakes.mesh", "--api", kube.url, "--token", TOKEN, "--namespace", "shop",
                          "--virtualservice", "reviews", "--route", "primary", "--rps", "400", "--poll", "0.05",
                          "--destination", "stable=reviews-v1", "--destination", "canary=reviews-v2:errors=0.5")

    def state() -> dict:
        with urllib.request.urlopen(url + "/state", timeout=5) as response:
            return json.load(response)[0]

    try:
        assert wait_for(lambda: state()["served"]["stable"]["requests"] > 0, 20)
        assert state()["served"]["canary"]["requests"] == 0
        metrics = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
        assert 'destination_workload="reviews-v1"' in metrics and 'destination_workload="reviews-v2"' not in metrics
        kube.edit("virtualservices", "shop", "reviews", lambda vs: [d.update(weight=50) for d in vs["spec"]["http"][1]["route"]])
        assert wait_for(lambda: state()["shares"] == {"stable": 0.5, "canary": 0.5}, 20)
        before = state()["served"]
        time.sleep(1.0)
        after = state()["served"]
        canary = after["canary"]["requests"] - before["canary"]["requests"]
        stable = after["stable"]["requests"] - before["stable"]["requests"]
        assert canary > 100 and abs(canary - stable) <= 0.1 * (canary + stable)
        assert after["canary"]["errors"] * 2 == pytest.approx(after["canary"]["requests"], abs=2)
        metrics = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
        assert 'response_code="503"' in metrics and 'reporter="source"' in metrics
        assert "# TYPE istio_request_duration_milliseconds histogram" in metrics
    finally:
        _stop(process)


def test_mesh_standalone_rejects_a_bad_destination():
    process = subprocess.run([sys.executable, "-m", "tests.fakes.mesh", "--api", "http://127.0.0.1:1", "--namespace", "s",
                              "--virtualservice", "v", "--route", "r", "--destination", "stable=Bad_Name"],
                             cwd=ROOT, text=True, capture_output=True, timeout=60)
    assert process.returncode == 2 and "stable=Bad_Name" in process.stderr
