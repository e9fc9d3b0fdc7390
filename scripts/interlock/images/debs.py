"""Debian packages for the offline images: which ones, fetched once into a cache, verified.

No container registry is reachable, so the root filesystems are assembled from Debian's
own .deb files. apt resolves each name to the candidate version of the host's package lists
(run `apt-get update` to pick up security fixes; that changes the image digest, as it should)
and gives the SHA256 that its signed index promises, so a cached .deb is reused only when its
bytes still match.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class DebError(RuntimeError):
    pass


@dataclass(frozen=True)
class Deb:
    """One .deb as apt describes it: file name in the pool, size and expected SHA256."""

    filename: str
    size: int
    sha256: str

    @property
    def package(self) -> str:
        return self.filename.split("_", 1)[0]

    @property
    def version(self) -> str:
        # pool file names escape the epoch colon as %3a
        return self.filename.split("_")[1].replace("%3a", ":")

    def manifest_line(self) -> str:
        return f"{self.package} {self.version} sha256:{self.sha256}"


def read_package_list(path: Path) -> list[str]:
    """Package names from a packages.txt: one per line, `#` comments, no duplicates."""
    if not path.is_file():
        raise DebError(f"{path}: package list not found")
    names: list[str] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", name):
            raise DebError(f"{path}:{number}: {name!r} is not a Debian package name")
        if name in names:
            raise DebError(f"{path}:{number}: {name!r} is listed twice")
        names.append(name)
    if not names:
        raise DebError(f"{path}: lists no packages")
    return names


_URI_LINE = re.compile(r"^'(?P<uri>[^']+)' (?P<file>\S+\.deb) (?P<size>\d+) SHA256:(?P<sha>[0-9a-f]{64})$")


def parse_print_uris(text: str) -> list[Deb]:
    """Parse `apt-get download --print-uris` output (the URI itself is not kept)."""
    debs = []
    for line in text.splitlines():
        match = _URI_LINE.match(line.strip())
        if match:
            debs.append(Deb(match["file"], int(match["size"]), match["sha"]))
    return debs


def require_tools() -> None:
    """The .deb path needs Debian's apt-get and dpkg-deb; say so instead of failing later."""
    missing = [tool for tool in ("apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        raise DebError(f"{' and '.join(missing)} not found: the base and tools images are "
                       "assembled from Debian packages, so build them on Debian 12")


def resolve(packages: list[str]) -> list[Deb]:
    """Ask apt which .deb each package resolves to now (no download)."""
    require_tools()
    # --print-uris skips files already in the working directory, so run it in an empty one
    proc = subprocess.run(["apt-get", "download", "--print-uris", *packages], capture_output=True,
                          text=True, cwd="/")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise DebError(f"apt-get cannot resolve the package list: {last}")
    debs = parse_print_uris(proc.stdout)
    missing = set(packages) - {d.package for d in debs}
    if missing:
        raise DebError(f"apt-get gave no .deb for: {', '.join(sorted(missing))}")
    return sorted(debs, key=lambda d: d.package)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(debs: list[Deb], cache: Path) -> tuple[list[Path], int]:
    """Make sure every .deb is in `cache` with the expected hash; return paths and how many were
    downloaded."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = [d for d in debs if not (cache / d.filename).is_file()
              or sha256_file(cache / d.filename) != d.sha256]
    if wanted:
        specs = [f"{d.package}={d.version}" for d in wanted]
        # apt drops to the _apt user for downloads, which cannot write into root's cache folder
        proc = subprocess.run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", *specs],
                              cwd=cache, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise DebError(f"apt-get download failed: {last}")
    paths = []
    for d in debs:
        path = cache / d.filename
        if not path.is_file():
            raise DebError(f"{path}: apt-get download did not produce it")
        actual = sha256_file(path)
        if actual != d.sha256:
            raise DebError(f"{path}: sha256 {actual} does not match apt's index ({d.sha256})")
        paths.append(path)
    return paths, len(wanted)


def manifest(debs: list[Deb]) -> str:
    """The base image's bill of materials: `package version sha256:…`, sorted by package."""
    return "".join(d.manifest_line() + "\n" for d in sorted(debs, key=lambda d: d.package))
