"""The built images themselves: reproducible digests, non-root, writable HOME, size, labels.

Needs podman, apt-get and dpkg-deb (Debian 12); the .deb cache in build/debs makes reruns fast.
"""
from __future__ import annotations

import json
import shutil

import pytest

from interlock.images.build import build
from interlock.podman import podman

pytestmark = pytest.mark.containers

MISSING = [tool for tool in ("podman", "apt-get", "dpkg-deb") if shutil.which(tool) is None]
if MISSING:
    pytestmark = [pytestmark, pytest.mark.skip(
        reason=f"image builds need {', '.join(MISSING)} (Debian packages podman, apt, dpkg)")]

MAX_BASE_BYTES = 45_000_000


def _run(ref: str, *argv: str, user: str | None = None) -> str:
    args = ["run", "--rm", "--network=none"] + (["--user", user] if user else []) + [ref, *argv]
    return podman(*args, timeout=120).stdout


@pytest.fixture(scope="module")
def base():
    # build() takes the checkout's build lock, so a concurrent `interlock images build` waits
    [first] = build(["base"], no_cache=False, log=lambda _: None)
    [again] = build(["base"], no_cache=True, log=lambda _: None)
    return first.image, again.image


def test_base_builds_to_the_same_digest_twice(base):
    first, again = base
    assert first.digest == again.digest
    assert first.id == again.id


def test_base_is_small_enough(base):
    image, _ = base
    assert image.size <= MAX_BASE_BYTES, f"base is {image.size / 1e6:.1f} MB"


def test_base_labels(base):
    image, _ = base
    labels = image.labels
    for key in ("source", "revision", "version", "description", "created"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    assert labels["org.opencontainers.image.version"] == image.ref.rsplit(":", 1)[1]
    assert labels["org.opencontainers.image.revision"] != "unknown"
    # --timestamp: the image's own creation time is the label's, not the time of the build
    assert image.created.startswith(labels["org.opencontainers.image.created"][:19])


PROBE = """
import json, os, pathlib, ssl, sqlite3, decimal, lzma, bz2, zlib, uuid, ctypes, hashlib, socket
home = pathlib.Path(os.environ["HOME"])
(home / "probe.txt").write_text("ok")
ctx = ssl.create_default_context()
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "home": str(home),
    "home_ok": (home / "probe.txt").read_text() == "ok",
    "sqlite": sqlite3.connect(":memory:").execute("select 1").fetchone()[0],
    "certs": ctx.cert_store_stats()["x509_ca"],
    "https_port": socket.getservbyname("https"),
    "tekton_home_writable": os.access("/tekton/home", os.W_OK),
    "pip": __import__("importlib.util").util.find_spec("pip") is not None,
}))
"""


def test_base_runs_python_as_nonroot_with_a_writable_home(base):
    image, _ = base
    facts = json.loads(_run(image.pinned, "python3", "-c", PROBE))
    assert facts["uid"] == facts["gid"] == 65532
    assert facts["home"] == "/home/nonroot" and facts["home_ok"]
    assert facts["sqlite"] == 1
    assert facts["certs"] > 100
    assert facts["https_port"] == 443
    assert facts["tekton_home_writable"]
    assert facts["pip"] is False


def test_base_has_no_shell(base):
    image, _ = base
    proc = podman("run", "--rm", "--network=none", image.pinned, "/bin/sh", "-c", "true",
                  check=False, timeout=60)
    assert proc.returncode != 0


def test_tools_adds_a_shell_and_coreutils(base):
    tools = build(["tools"], no_cache=False, log=lambda _: None)[-1].image
    out = _run(tools.pinned, "sh", "-c",
               'id -u; echo "$HOME"; printf "a\\nb\\n" | sed s/a/x/ | grep -c x; '
               'find /usr/share/interlock -name "*-packages.txt" | sort | xargs -n1 basename')
    assert out.split() == ["65532", "/home/nonroot", "1", "base-packages.txt", "tools-packages.txt"]
    assert tools.labels["org.opencontainers.image.title"] == "interlock-tools"


INTEGRATION_PROBE = """
import importlib.util, json, os, sys
print(json.dumps({
    "uid": os.getuid(),
    "looker_sdk": importlib.util.find_spec("looker_sdk") is not None,
    "steps": importlib.util.find_spec("interlock_steps") is not None,
    "pip": importlib.util.find_spec("pip") is not None,
    "cli": importlib.util.find_spec("interlock") is not None,
    "wheels": os.path.exists("/wheels"),
    "site": sys.path[1],
}))
"""


def test_looker_image_has_its_extra_and_nothing_of_the_build(base):
    looker = build(["looker"], no_cache=False, log=lambda _: None)[-1].image
    facts = json.loads(_run(looker.pinned, "python3", "-c", INTEGRATION_PROBE))
    assert facts == {"uid": 65532, "looker_sdk": True, "steps": True, "pip": False, "cli": False,
                     "wheels": False, "site": "/opt/interlock/site"}
    assert looker.labels["org.opencontainers.image.title"] == "interlock-looker"


# Stands in for a registry's python:3.11 image: python present, running as root, no uid 65532
# in /etc/passwd and no /home/nonroot.
REGISTRY_LIKE = """\
FROM {base}
USER 0
RUN ["python3", "-c", "import shutil; shutil.rmtree('/home/nonroot'); open('/etc/passwd', 'w').write('root:x:0:0:root:/root:/bin/sh\\\\n')"]
ENV HOME=/root
"""


def test_integration_containerfile_builds_on_another_python_base(base, tmp_path):
    from interlock.images.spec import BUILD, SPECS
    build(["looker"], no_cache=False, log=lambda _: None)  # prepares build/wheels/looker
    (tmp_path / "Containerfile").write_text(REGISTRY_LIKE.format(base=base[0].pinned))
    other = "localhost/interlock-test/registry-like:1"
    looker = "localhost/interlock-test/looker-on-registry-like:1"
    # --layers=false: no intermediate images (the install stage alone is ~200 MB) outlive the test
    podman("build", "--quiet", "--pull=never", "--layers=false", "-t", other, str(tmp_path), timeout=300)
    try:
        podman("build", "--quiet", "--pull=never", "--layers=false", "--build-arg", f"BASE={other}",
               "-f", str(SPECS["looker"].containerfile), "-t", looker, str(BUILD / "wheels" / "looker"),
               timeout=600)
        out = _run(looker, "python3", "-c",
                   "import os, pathlib, looker_sdk, interlock_steps; "
                   "p = pathlib.Path.home() / 'x'; p.write_text('ok'); "
                   "print(os.getuid(), p, p.read_text())")
        assert out.split() == ["65532", "/home/nonroot/x", "ok"]
    finally:
        podman("rmi", "--force", looker, other, check=False)


MAX_ISTIO_BYTES = 120_000_000
ISTIO_PROBE = """
import importlib.util, json
import kubernetes, kubernetes.config
from kubernetes.client import ApiClient, Configuration, CustomObjectsApi
from interlock_steps.istio import canary_shift, rollback, set_weights
print(json.dumps({name: importlib.util.find_spec(name) is not None for name in (
    "kubernetes.aio", "aiohttp", "yarl", "kubernetes.client.api.core_v1_api", "kubernetes.client.api.custom_objects_api",
    "pydantic", "requests", "pip")}))
"""


def test_istio_image_is_pruned_to_what_the_steps_use(base):
    """images/istio/prune.txt: the kubernetes client's asyncio twin and the unused API classes go,
    everything the steps import stays (the task-level tests run every step in this image)."""
    istio = build(["istio"], no_cache=False, log=lambda _: None)[-1].image
    assert istio.size <= MAX_ISTIO_BYTES, f"istio is {istio.size / 1e6:.1f} MB"
    assert json.loads(_run(istio.pinned, "python3", "-c", ISTIO_PROBE)) == {
        "kubernetes.aio": False, "aiohttp": False, "yarl": False, "kubernetes.client.api.core_v1_api": False,
        "kubernetes.client.api.custom_objects_api": True, "pydantic": True, "requests": True, "pip": False}
