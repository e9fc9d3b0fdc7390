"""How a container's environment reaches podman, with nothing interpreted and no value on a
command line.

Every variable goes into one env-file per container (`--env-file`, mode 0600, in the run
folder's `env/`, deleted when the container ends). podman reads it line by line as
`NAME=VALUE`; only a line without `=` is special (it imports host variables, `NAME*` by glob),
and names follow Kubernetes' rules (kubernetes_rules.env_name: no `=`, no `*`, no space), so no
line the runner writes is one. Two kinds of value cannot be written as one line: a value with a
line break (its next line would be read as a name) and a line of 64 KiB or more (podman 4 reads
the file with Go's bufio.Scanner, whose token limit is 64 KiB). Those go as `-e NAME` with the
value in podman's own process environment (readable only by the runner's user and root),
which podman looks up by exact name; a name podman or its helpers read themselves (PATH,
HOME, TMPDIR, …) cannot travel that way and is refused before anything runs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from interlock.run.errors import Unsupported

MAX_LINE = 60_000  # bytes of NAME=VALUE: under bufio.MaxScanTokenSize (64 KiB), with margin
_PODMAN_OWN = {"PATH", "HOME", "TMPDIR", "TZ", "LANG", "USER", "SHELL", "NOTIFY_SOCKET"}
_PODMAN_OWN_PREFIXES = ("LD_", "LC_", "XDG_", "CONTAINERS_", "CONTAINER_", "STORAGE_",
                        "REGISTRIES_", "PODMAN_", "BUILDAH_", "_CONTAINERS_", "DBUS_", "GO")


def fits_file(name: str, value: str) -> bool:
    """Whether NAME=VALUE can be one line of an env-file."""
    return ("\n" not in value and "\r" not in value
            and len(f"{name}={value}".encode()) < MAX_LINE)


def check(env: Mapping[str, str], where: str) -> None:
    """Refuse a variable that must travel in podman's environment under a name podman reads."""
    for name, value in env.items():
        if not fits_file(name, value) and (name in _PODMAN_OWN
                                           or name.startswith(_PODMAN_OWN_PREFIXES)):
            raise Unsupported(f"{where}.env", f"a multi-line or 60 KB+ value in a variable named "
                              f"{name} (podman reads that variable itself; rename it)")


def write(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    """Write the env-file (0600, never through a symlink) and return the variables that go
    through podman's environment instead."""
    lines = [f"{k}={v}\n" for k, v in env.items() if fits_file(k, v)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return {k: v for k, v in env.items() if not fits_file(k, v)}
