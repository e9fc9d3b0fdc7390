"""Root filesystems from .deb files: extract (merged /usr), prune, and write a reproducible tar.

Reproducible means the tar depends only on the files' contents, modes and names: entries are
sorted, every mtime is SOURCE_DATE_EPOCH, owners are numeric (root unless told otherwise) and
user/group names are empty, so two builds from the same .debs give the same bytes.
"""
from __future__ import annotations

import os
import stat
import subprocess
import tarfile
from pathlib import Path

from interlock.images.prune import pruned

# Debian 12 systems have merged /usr; the .debs still ship /lib, /bin, …, so map them.
MERGED = ("bin", "sbin", "lib", "lib64")


class RootfsError(RuntimeError):
    pass


def merged_usr(name: str) -> str:
    """`./lib/x86_64-linux-gnu/libc.so.6` -> `usr/lib/x86_64-linux-gnu/libc.so.6`."""
    name = name.removeprefix("./").strip("/")
    if name == ".":
        return ""
    top, _, rest = name.partition("/")
    if top in MERGED:
        return f"usr/{top}/{rest}".rstrip("/")
    return name


def _inside(root: Path, name: str) -> Path:
    """The destination of `name` under root, refusing `..` and symlinked parents, so a package
    can never write outside the staging folder."""
    if not name or name.startswith("/") or ".." in name.split("/"):
        raise RootfsError(f"unsafe path in package: {name!r}")
    dest = root / name
    for parent in dest.relative_to(root).parents:
        if (root / parent).is_symlink():
            raise RootfsError(f"{name}: a parent folder is a symlink in the staging tree")
    return dest


def extract_deb(deb: Path, root: Path, rules: list[str]) -> int:
    """Extract a .deb's files into root with merged /usr, skipping pruned paths.
    Returns the number of entries written."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    count = 0
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            name = merged_usr(member.name)
            if not name or pruned(name, rules):
                continue
            dest = _inside(root, name)
            if member.isdir():
                if dest.is_symlink():
                    raise RootfsError(f"{deb.name}: {name}: folder would replace a symlink")
                dest.mkdir(parents=True, exist_ok=True)
                os.chmod(dest, member.mode & 0o7777)
            elif member.issym():
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.is_symlink() or dest.exists():
                    dest.unlink()
                os.symlink(member.linkname, dest)
            elif member.islnk():
                target = _inside(root, merged_usr(member.linkname))
                if dest.exists():
                    dest.unlink()
                os.link(target, dest)
            elif member.isfile():
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                if dest.is_symlink() or dest.exists():
                    dest.unlink()
                with dest.open("wb") as out:
                    while block := src.read(1 << 20):
                        out.write(block)
                os.chmod(dest, member.mode & 0o7777)
            else:
                raise RootfsError(f"{deb.name}: {member.name}: unsupported tar entry type")
            count += 1
    if proc.wait() != 0:
        raise RootfsError(f"{deb}: dpkg-deb --fsys-tarfile failed (exit {proc.returncode})")
    return count


def write_tar(root: Path, out: Path, epoch: int, owners: dict[str, int] | None = None) -> int:
    """Write root as a tar with sorted entries, fixed mtimes and numeric owners.

    owners maps a path (relative, no leading slash) to the uid=gid that owns it; everything
    else belongs to root. setuid/setgid bits are dropped (nothing here needs them).
    Returns the number of entries.
    """
    owners = owners or {}
    seen_inodes: dict[tuple[int, int], str] = {}
    names: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = Path(dirpath).relative_to(root).as_posix()
        for n in dirnames + filenames:
            names.append(n if rel == "." else f"{rel}/{n}")
    names.sort()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            path = root / name
            st = path.lstat()
            info = tarfile.TarInfo(name)
            info.mtime = epoch
            info.uid = info.gid = owners.get(name, 0)
            info.uname = info.gname = ""
            info.mode = stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID)
            if stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen_inodes:
                    info.type = tarfile.LNKTYPE
                    info.linkname = seen_inodes[key]
                    tar.addfile(info)
                    continue
                seen_inodes[key] = name
                info.size = st.st_size
                with path.open("rb") as f:
                    tar.addfile(info, f)
            else:
                raise RootfsError(f"{path}: unsupported file type for the image")
    return len(names)
