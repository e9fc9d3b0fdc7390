"""The runner's own reads and writes on the host, in folders that containers can change.

A step runs as any user it likes, root included, in folders the runner (often root) reads and
writes afterwards: a step can leave a symlink where the runner expects a folder, a result file
or its stdoutConfig file, pointing anywhere on the host. So:
- `inside()` proves a host path stays inside its root (the run folder, or a `-w` folder the
  user gave) after symlinks, before the path is mounted;
- `make_dirs()`, `open_write()` and `read_bounded()` walk from the root one component at a
  time with O_NOFOLLOW, so they never follow a symlink at all (what a container planted cannot
  lead the runner elsewhere, and there is no window between a check and its use);
- `read_bounded()` reads at most a given number of bytes, and only regular files (a FIFO
  would block the runner, a 10 GB file would fill its memory).
"""
from __future__ import annotations

import errno
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class HostPathError(OSError):
    """A host path that leaves its root, or that a container turned into a symlink/non-folder."""


@dataclass(frozen=True)
class Under:
    """root/rel: `root` is a folder the runner trusts (the run folder, a `-w` folder), `rel` is
    reached from it one component at a time, never through a symlink."""
    root: Path
    rel: str = ""

    @property
    def path(self) -> Path:
        return self.root.joinpath(*_parts(self.rel))


@dataclass(frozen=True)
class NewFile:
    """A file the runner writes when a run starts (a Secret or ConfigMap key of a volume)."""
    place: Under
    content: bytes = field(repr=False)
    mode: int = 0o644


def inside(path: Path, roots: Path | tuple[Path, ...]) -> Path:
    """`path` with every symlink resolved, if it lies in one of `roots` (each resolved too);
    HostPathError otherwise. The path need not exist."""
    real = Path(os.path.realpath(path))
    for root in (roots,) if isinstance(roots, Path) else roots:
        if real.is_relative_to(os.path.realpath(root)):
            return real
    raise HostPathError(errno.EPERM, f"{path} resolves to {real}, outside "
                        + " and ".join(str(r) for r in ((roots,) if isinstance(roots, Path) else roots)))


def _parts(rel: str | PurePosixPath) -> list[str]:
    parts = [p for p in PurePosixPath(rel).parts if p not in ("/", ".")]
    if ".." in parts:
        raise HostPathError(errno.EPERM, f"{rel}: '..' is not allowed")
    return parts


def _open_dir(root: Path, parts: list[str], create_mode: int | None) -> int:
    """An fd of root/parts..., each component opened without following symlinks; missing ones
    are created with `create_mode` (None: FileNotFoundError)."""
    fd = os.open(os.path.realpath(root), _DIR_FLAGS)  # the root itself is the runner's or the user's
    try:
        for part in parts:
            if create_mode is not None:
                try:
                    os.mkdir(part, 0o700, dir_fd=fd)
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                    os.fchmod(child, create_mode)  # not umask's: emptyDir folders are 0777
                except FileExistsError:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            else:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        return fd
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise HostPathError(e.errno, f"{root.joinpath(*parts)}: a component is a symlink or "
                                         "not a folder (left by a container?)") from None
        raise


def make_dirs(place: Under, mode: int = 0o777) -> Path:
    """Create root/rel (and missing parents, with `mode`) without following any symlink."""
    os.close(_open_dir(place.root, _parts(place.rel), mode))
    return place.path


def open_write(place: Under, *, append: bool = False, dir_mode: int = 0o777):
    """A binary file object writing root/rel (parents created), never through a symlink."""
    root, parts = place.root, _parts(place.rel)
    if not parts:
        raise HostPathError(errno.EISDIR, f"{root}: not a file")
    dir_fd = _open_dir(root, parts[:-1], dir_mode)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    flags |= os.O_APPEND if append else os.O_TRUNC
    try:
        fd = os.open(parts[-1], flags, 0o666, dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise HostPathError(e.errno, f"{root.joinpath(*parts)} is a symlink (left by a "
                                         "container?): not written") from None
        raise
    finally:
        os.close(dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise HostPathError(errno.EINVAL, f"{root.joinpath(*parts)} is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "ab" if append else "wb")


def write_text(place: Under, text: str) -> None:
    with open_write(place) as f:
        f.write(text.encode("utf-8"))


def write_new(new: NewFile) -> None:
    """Write a planned file (parents 0755) with its mode, never through a symlink."""
    with open_write(new.place, dir_mode=0o755) as f:
        f.write(new.content)
        os.fchmod(f.fileno(), new.mode)


def read_bounded(place: Under, limit: int) -> bytes | None:
    """At most limit + 1 bytes of the regular file root/rel (more than `limit` means "too
    large"), None when it does not exist; HostPathError for a symlink or another kind of file."""
    root, parts = place.root, _parts(place.rel)
    try:
        dir_fd = _open_dir(root, parts[:-1], None)
    except FileNotFoundError:
        return None
    try:
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise HostPathError(e.errno, f"{root.joinpath(*parts)} is a symlink") from None
        raise
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HostPathError(errno.EINVAL, f"{root.joinpath(*parts)} is not a regular file")
        return f.read(limit + 1)


def folder_candidate(parent: Path | None, name: str, attempt: int) -> Path:
    """A path for a new run folder named after `name` (created by claim_folder): `name` under
    --run-dir, with a random suffix when taken; `interlock-<name>-<random>` in the temp folder."""
    if parent is None:
        return Path(tempfile.gettempdir()) / f"interlock-{name}-{secrets.token_hex(4)}"
    return Path(parent) / (name if attempt == 0 else f"{name}-{secrets.token_hex(3)}")


def claim_folder(path: Path) -> bool:
    """Create the run folder `path` (0700) atomically: False when another run has it already
    (runs may share --run-dir); HostPathError when its parent cannot hold run folders."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700)
        return True
    except FileExistsError:
        if path.parent.is_dir():
            return False
        raise HostPathError(errno.ENOTDIR, f"{path.parent}: not a folder") from None
    except OSError as e:
        raise HostPathError(e.errno, f"{path.parent}: cannot create a run folder there "
                                     f"({e.strerror or e})") from None
