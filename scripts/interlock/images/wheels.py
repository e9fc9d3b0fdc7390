"""The wheelhouse an integration image installs from, prepared on the host.

The base image has no pip and the build container has no network, so everything is fetched
here, with hashes checked, into build/wheels/<name>/ — which is then the build context:

    requirements.txt   a copy of requirements/<name>.txt (hashed pins of the image's extra)
    wheels/            one wheel per pin (binary only, for CPython 3.11 on manylinux x86_64)
    project/           the Interlock wheel itself (step runtime and step code)
    installer/pip.whl  pip, run from its wheel inside the build, never installed
    installer/prune.py the prune rules' matcher (interlock.images.prune), run inside the build
    prune.txt          images/<name>/prune.txt: installed files the image leaves out (may be empty)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from interlock.images.spec import BUILD, ImageSpec
from interlock.paths import IMAGES, SOURCE

INSTALLER = Path(__file__).with_name("installer.txt")
# The images run CPython 3.11 on Debian 12 (glibc 2.36, x86_64), whatever the host is. pip does
# not widen an explicit --platform to older manylinux tags, so list every compatible one.
GLIBC_MINOR = 36
TARGET = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "--abi", "abi3",
          "--abi", "none",
          *[arg for minor in range(GLIBC_MINOR, 4, -1)
            for arg in ("--platform", f"manylinux_2_{minor}_x86_64")],
          "--platform", "manylinux2014_x86_64", "--platform", "manylinux2010_x86_64",
          "--platform", "manylinux1_x86_64", "--platform", "any"]
# What the project wheel is built from. Only the step code: the `interlock` CLI (scripts/) is a
# developer tool, changes often and needs click, so images leave it out (its folder stays empty).
# pyproject.toml names README.md as the long description: the wheel gets a fixed one, so editing
# the repository's README changes no image (README.md is not among an image's inputs).
PROJECT_FILES = ["pyproject.toml"]
WHEEL_README = "Interlock's step runtime and step code, as the step images install it.\n"
PROJECT_PACKAGES = [("images", "interlock_steps")]
EMPTY_FOLDERS = ["scripts"]
# The project wheel's file dates: a constant (1980-01-01, the earliest a zip holds), so the wheel
# depends on the step code alone, not on when or from which commit it was built
WHEEL_EPOCH = 315532800


class WheelError(RuntimeError):
    pass


def _pip(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, cwd=cwd, env=env)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise WheelError(f"pip {args[0]} failed: " + (lines[-1] if lines else f"exit {proc.returncode}"))


def _download(lock: Path, dest: Path) -> None:
    """The wheels `lock` pins, hashes checked, into dest: from dest alone when every one is there
    (a rebuild needs no index), else from the index (already-present wheels are kept)."""
    args = ["download", "--quiet", "--require-hashes", "--no-deps", "--only-binary=:all:", *TARGET,
            "--dest", str(dest), "-r", str(lock)]
    if dest.is_dir():
        try:
            _pip(*args, "--no-index", "--find-links", str(dest))
            return
        except WheelError:
            pass  # a wheel is missing (a lock changed): fetch what is missing
    _pip(*args)


def installer_dir() -> Path:
    """pip and setuptools wheels, downloaded once with their hashes checked."""
    dest = BUILD / "wheels" / "_installer"
    _download(INSTALLER, dest)
    return dest


def project_wheel(dest: Path, installer: Path) -> Path:
    """Build the Interlock wheel from a clean copy of its sources (no build/ or egg-info
    left in the working tree), with the pinned setuptools and no index."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="interlock-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in PROJECT_FILES:
            shutil.copy2(SOURCE / name, src / name)
        (src / "README.md").write_text(WHEEL_README)
        for folder in EMPTY_FOLDERS:
            (src / folder).mkdir()
        for parent, package in PROJECT_PACKAGES:
            shutil.copytree(SOURCE / parent / package, src / parent / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        # setuptools' bdist_wheel dates every zip entry SOURCE_DATE_EPOCH: the same sources give
        # the same wheel bytes, so the image's install stage stays cached
        _pip("wheel", "--quiet", "--no-deps", "--no-index", "--find-links", str(installer),
             "--wheel-dir", str(dest), str(src), env=os.environ | {"SOURCE_DATE_EPOCH": str(WHEEL_EPOCH)})
    built = sorted(dest.glob("interlock-*.whl"))
    if len(built) != 1:
        raise WheelError(f"{dest}: expected one interlock wheel, found {len(built)}")
    return built[0]


def prepare(spec: ImageSpec) -> Path:
    """Fill build/wheels/<name>/ and return it (the build context)."""
    lock = SOURCE / "requirements" / f"{spec.name}.txt"
    if not lock.is_file():
        raise WheelError(f"{lock}: hashed lock for image {spec.name!r} not found")
    if not (IMAGES / "interlock_steps").is_dir():
        raise WheelError(f"{IMAGES / 'interlock_steps'}: step code not found")
    context = BUILD / "wheels" / spec.name
    context.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(lock, context / "requirements.txt")
    _download(lock, context / "wheels")
    installer = installer_dir()
    pips = sorted(installer.glob("pip-*.whl"))
    if not pips:
        raise WheelError(f"{installer}: pip wheel missing after download")
    (context / "installer").mkdir(exist_ok=True)
    shutil.copyfile(pips[-1], context / "installer" / "pip.whl")
    shutil.copyfile(Path(__file__).with_name("prune.py"), context / "installer" / "prune.py")
    rules = spec.prune_rules
    (context / "prune.txt").write_text(rules.read_text() if rules.is_file() else "# nothing to prune\n")
    project_wheel(context / "project", installer)
    return context
