"""Extraction with merged /usr, prune rules and the reproducible tar, without podman."""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from interlock.images.prune import pruned, read_rules
from interlock.images.rootfs import RootfsError, extract_deb, merged_usr, write_tar
from interlock.paths import IMAGES


@pytest.mark.parametrize("name, expected", [
    ("./lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6"),
    ("./lib64/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2"),
    ("./bin/", "usr/bin"),
    ("./usr/bin/python3.11", "usr/bin/python3.11"),
    ("./library/x", "library/x"),
    ("./", ""),
    (".", ""),
])
def test_merged_usr(name: str, expected: str):
    assert merged_usr(name) == expected


RULES = ["usr/share/doc/*", "!usr/share/doc/*/copyright", "usr/share/man/",
         "usr/lib/python3.11/lib-dynload/_curses*"]


@pytest.mark.parametrize("name, dropped", [
    ("usr/share/doc/libc6/changelog.gz", True),
    ("usr/share/doc/libc6/copyright", False),
    ("usr/share/man", True),
    ("usr/share/man/man1/python3.11.1.gz", True),
    ("usr/share/manifest", False),
    ("usr/lib/python3.11/lib-dynload/_curses_panel.cpython-311-x86_64-linux-gnu.so", True),
    ("usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so", False),
])
def test_prune_rules(name: str, dropped: bool):
    assert pruned(name, RULES) is dropped


def test_the_base_rules_keep_what_python_needs():
    rules = read_rules(IMAGES / "base" / "prune.txt")
    for keep in ["usr/lib/python3.11/ssl.py", "usr/lib/python3.11/json/__init__.py",
                 "usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so",
                 "usr/lib/x86_64-linux-gnu/libssl.so.3", "usr/share/doc/libc6/copyright"]:
        assert not pruned(keep, rules), keep
    for drop in ["usr/lib/python3.11/test/test_ssl.py", "usr/lib/python3.11/idlelib/idle.py",
                 "usr/lib/x86_64-linux-gnu/gconv/BIG5.so", "usr/share/doc/libc6/NEWS.gz"]:
        assert pruned(drop, rules), drop


def _tree(root: Path, mtime: int) -> None:
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "home" / "nonroot").mkdir(parents=True)
    (root / "usr" / "bin" / "tool").write_text("#!/bin/sh\n")
    os.chmod(root / "usr" / "bin" / "tool", 0o4755)  # setuid must not survive
    (root / "usr" / "bin" / "b").write_text("same inode")
    os.link(root / "usr" / "bin" / "b", root / "usr" / "bin" / "a")
    os.symlink("usr/bin", root / "bin")
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            os.utime(Path(dirpath, n), (mtime, mtime), follow_symlinks=False)


def test_tar_is_byte_identical_whatever_the_mtimes(tmp_path: Path):
    _tree(tmp_path / "one", 1_000_000)
    _tree(tmp_path / "two", 2_000_000)
    write_tar(tmp_path / "one", tmp_path / "one.tar", 42, {"home/nonroot": 65532})
    write_tar(tmp_path / "two", tmp_path / "two.tar", 42, {"home/nonroot": 65532})
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()


def test_tar_entries_are_sorted_owned_and_timestamped(tmp_path: Path):
    _tree(tmp_path / "root", 1_000_000)
    count = write_tar(tmp_path / "root", tmp_path / "out.tar", 42, {"home/nonroot": 65532})
    with tarfile.open(tmp_path / "out.tar") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert count == len(members)
    assert names == sorted(names)
    assert {m.mtime for m in members} == {42}
    by_name = {m.name: m for m in members}
    assert by_name["home/nonroot"].uid == by_name["home/nonroot"].gid == 65532
    assert by_name["usr/bin/tool"].uid == 0 and by_name["usr/bin/tool"].uname == ""
    assert by_name["usr/bin/tool"].mode == 0o755
    assert by_name["bin"].issym() and by_name["bin"].linkname == "usr/bin"
    # the first name of a hard-linked pair carries the data, the second points at it
    assert by_name["usr/bin/a"].isfile()
    assert by_name["usr/bin/b"].islnk() and by_name["usr/bin/b"].linkname == "usr/bin/a"


def _deb(tmp_path: Path, files: dict[str, str], links: dict[str, str] | None = None) -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text(
        "Package: demo\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        "Description: test package\n")
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    for name, target in (links or {}).items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, pkg / name)
    out = tmp_path / "demo_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(pkg), str(out)], check=True,
                   capture_output=True)
    return out


needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None,
                                reason="dpkg-deb not installed (Debian's dpkg package)")


@needs_dpkg
def test_extract_merges_usr_and_prunes(tmp_path: Path):
    deb = _deb(tmp_path, {"lib/x86_64-linux-gnu/libdemo.so.1": "elf",
                          "usr/share/doc/demo/changelog": "long",
                          "usr/share/doc/demo/copyright": "licence"},
               {"lib64/ld.so": "/lib/x86_64-linux-gnu/libdemo.so.1"})
    root = tmp_path / "root"
    root.mkdir()
    extract_deb(deb, root, RULES)
    assert (root / "usr/lib/x86_64-linux-gnu/libdemo.so.1").read_text() == "elf"
    assert os.readlink(root / "usr/lib64/ld.so") == "/lib/x86_64-linux-gnu/libdemo.so.1"
    assert (root / "usr/share/doc/demo/copyright").is_file()
    assert not (root / "usr/share/doc/demo/changelog").exists()
    assert not (root / "lib").exists()


@needs_dpkg
def test_extract_refuses_to_write_through_a_symlink(tmp_path: Path):
    deb = _deb(tmp_path, {"etc/demo/x": "data"})
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o700)
    os.symlink(outside, root / "etc")
    mode_before = outside.stat().st_mode & 0o777
    with pytest.raises(RootfsError, match="symlink") as err:
        extract_deb(deb, root, [])
    assert not list(outside.iterdir())
    assert oct(outside.stat().st_mode & 0o777) == oct(mode_before)
    assert "etc" in str(err.value)
