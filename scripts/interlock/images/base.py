"""Root filesystem layers made from .debs: the `base` image and the `tools` layer on top of it.

Steps: resolve images/<name>/packages.txt with apt, fetch the .debs into build/debs (reused,
hash-checked), extract them with merged /usr, drop what images/base/prune.txt lists, add the
finishing touches (users, certificates, byte-code), then write a reproducible rootfs.tar that
images/<name>/Containerfile ADDs.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from interlock.images import debs, rootfs
from interlock.images.prune import read_rules
from interlock.images.spec import BUILD, SPECS, ImageSpec

UID = 65532
HOME = "home/nonroot"
TEKTON_HOME = "tekton/home"
PYTHON = "python3.11"
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
MANIFEST = "usr/share/interlock"

Log = Callable[[str], None]


@dataclass(frozen=True)
class Layer:
    tar: Path
    packages: list[debs.Deb]
    downloaded: int
    entries: int


def assemble(spec: ImageSpec, epoch: int, log: Log) -> Layer:
    """Build build/<name>/context/rootfs.tar for a "debs" image."""
    names = debs.read_package_list(spec.folder / "packages.txt")
    if spec.parent:
        inherited = set(debs.read_package_list(SPECS[spec.parent].folder / "packages.txt"))
        twice = sorted(inherited & set(names))
        if twice:
            raise debs.DebError(f"{spec.folder / 'packages.txt'}: already in {spec.parent}: "
                                + ", ".join(twice))
    resolved = debs.resolve(names)
    paths, downloaded = debs.fetch(resolved, BUILD / "debs")
    log(f"{spec.name}: {len(resolved)} .debs ready ({downloaded} downloaded, "
        f"{len(resolved) - downloaded} from build/debs)")

    tar = BUILD / spec.name / "context" / "rootfs.tar"
    stamp = tar.with_name("rootfs.key")
    key = layer_key(spec, resolved, epoch)
    if tar.is_file() and stamp.is_file() and stamp.read_text() == key:
        log(f"{spec.name}: rootfs.tar unchanged (same .debs, rules, builder and timestamp)")
        return Layer(tar, resolved, downloaded, 0)
    stamp.unlink(missing_ok=True)

    stage = BUILD / spec.name / "rootfs"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    rules = read_rules(SPECS["base"].folder / "prune.txt")
    for path in paths:
        rootfs.extract_deb(path, stage, rules)

    owners: dict[str, int] = {}
    if spec.name == "base":
        owners = finish_base(stage, paths, resolved, log)
    else:
        finish_tools(stage)
    write_manifest(stage, spec.name, resolved)

    entries = rootfs.write_tar(stage, tar, epoch, owners)
    stamp.write_text(key)
    log(f"{spec.name}: rootfs.tar {tar.stat().st_size / 1e6:.1f} MB, {entries} entries")
    return Layer(tar, resolved, downloaded, entries)


def layer_key(spec: ImageSpec, resolved: list[debs.Deb], epoch: int) -> str:
    """Everything rootfs.tar is made from; the tar is rebuilt only when this changes (the
    output is deterministic, so reusing it gives the same bytes as rebuilding it)."""
    digest = hashlib.sha256()
    digest.update(f"{spec.name}\n{epoch}\n{debs.manifest(resolved)}".encode())
    code = Path(__file__).parent
    for path in [spec.folder / "packages.txt", SPECS["base"].folder / "prune.txt",
                 code / "base.py", code / "rootfs.py", code / "debs.py", code / "prune.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def write_manifest(stage: Path, name: str, resolved: list[debs.Deb]) -> None:
    """The package list with versions and hashes, inside the image, for audits."""
    folder = stage / MANIFEST
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}-packages.txt").write_text(debs.manifest(resolved))


def finish_base(stage: Path, paths: list[Path], resolved: list[debs.Deb], log: Log) -> dict[str, int]:
    """Merged-/usr links, python3, users, writable homes, CA bundle, byte-code.
    Returns the paths owned by the non-root user."""
    for top in rootfs.MERGED:
        (stage / "usr" / top).mkdir(parents=True, exist_ok=True)
        os.symlink(f"usr/{top}", stage / top)
    for alias in ("python3", "python"):
        os.symlink(PYTHON, stage / "usr" / "bin" / alias)

    etc = stage / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                f"nonroot:x:{UID}:{UID}:nonroot:/{HOME}:/usr/sbin/nologin\n")
    (etc / "group").write_text(f"root:x:0:\nnonroot:x:{UID}:\n")
    # glibc's default would also try NIS; name look-ups need only files and DNS
    (etc / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")
    for folder, mode in (("root", 0o700), ("tmp", 0o1777), (HOME, 0o755), (TEKTON_HOME, 0o755)):
        (stage / folder).mkdir(parents=True, exist_ok=True)
        os.chmod(stage / folder, mode)

    ca = next((p for p in paths if p.name.startswith("ca-certificates_")), None)
    if ca is None:
        raise debs.DebError("images/base/packages.txt must list ca-certificates")
    bundle = stage / CA_BUNDLE
    bundle.parent.mkdir(parents=True, exist_ok=True)
    count = write_ca_bundle(ca, bundle)
    # OpenSSL's compiled-in defaults (OPENSSLDIR=/usr/lib/ssl) point here on Debian
    ssl_dir = stage / "usr" / "lib" / "ssl"
    ssl_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(f"/{CA_BUNDLE}", ssl_dir / "cert.pem")
    os.symlink("/etc/ssl/certs", ssl_dir / "certs")
    log(f"base: CA bundle with {count} certificates")

    byte_compile(stage)
    log("base: standard library byte-compiled (unchecked-hash)")
    return {HOME: UID, TEKTON_HOME: UID}


def finish_tools(stage: Path) -> None:
    """Tekton runs a `script` without a shebang with /bin/sh: make it bash."""
    os.symlink("bash", stage / "usr" / "bin" / "sh")


def write_ca_bundle(deb: Path, bundle: Path) -> int:
    """Concatenate the Mozilla certificates of the ca-certificates .deb, sorted by name, as
    update-ca-certificates would (without needing openssl or a maintainer script)."""
    certs: dict[str, bytes] = {}
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".crt") and "/mozilla/" in member.name:
                data = tar.extractfile(member)
                assert data is not None
                certs[member.name] = data.read()
    if proc.wait() != 0 or not certs:
        raise debs.DebError(f"{deb}: no certificates found in the package")
    bundle.write_bytes(b"".join(certs[name].rstrip(b"\n") + b"\n" for name in sorted(certs)))
    return len(certs)


def byte_compile(stage: Path) -> None:
    """Compile the standard library with the image's own python, inside the staging tree.

    unchecked-hash pycs carry a hash of the source instead of its mtime, so they are the same
    bytes on every build, and python never rewrites them (the image is read-only for uid 65532).
    """
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    cmd = [chroot, str(stage), f"/usr/bin/{PYTHON}", "-m", "compileall", "-q",
           "--invalidation-mode", "unchecked-hash", f"/usr/lib/{PYTHON}"]
    if os.geteuid() != 0:
        cmd = [shutil.which("unshare") or "unshare", "--map-root-user", "--", *cmd]
    # no stray timestamp-based pycs from the modules compileall itself imports
    env = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip().splitlines()
        raise rootfs.RootfsError("byte-compiling the standard library failed: "
                                 + (out[-1] if out else f"exit {proc.returncode}"))
