"""The .deb list, apt's answer and the manifest: pure parsing, no apt or network."""
from __future__ import annotations

from pathlib import Path

import pytest

from interlock.images.debs import Deb, DebError, manifest, parse_print_uris, read_package_list
from interlock.paths import IMAGES

PRINT_URIS = """\
'http://mirror.invalid/pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb' libc6_2.36-9+deb12u14_amd64.deb 2759320 SHA256:ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf
'http://mirror.invalid/pool/main/libx/libxcrypt/libcrypt1_4.4.33-2_amd64.deb' libcrypt1_1%3a4.4.33-2_amd64.deb 89464 SHA256:f5f60a5cdfd4e4eaa9438ade5078a57741a7a78d659fcb0c701204f523e8bd29
Reading package lists...
"""


def test_print_uris_gives_file_size_hash_and_decodes_the_epoch():
    debs = parse_print_uris(PRINT_URIS)
    assert [d.package for d in debs] == ["libc6", "libcrypt1"]
    assert debs[0].version == "2.36-9+deb12u14"
    assert debs[1].version == "1:4.4.33-2"
    assert debs[1].size == 89464
    assert debs[0].sha256.startswith("ba4f88f7")


def test_manifest_is_sorted_by_package_and_names_version_and_hash():
    debs = parse_print_uris(PRINT_URIS)
    text = manifest(list(reversed(debs)))
    lines = text.splitlines()
    assert lines[0].startswith("libc6 2.36-9+deb12u14 sha256:ba4f88f7")
    assert lines[1].startswith("libcrypt1 1:4.4.33-2 sha256:f5f60a5c")
    assert text.endswith("\n")


def test_package_list_skips_comments(tmp_path: Path):
    path = tmp_path / "packages.txt"
    path.write_text("# header\nlibc6\n\nzlib1g  # why\n")
    assert read_package_list(path) == ["libc6", "zlib1g"]


@pytest.mark.parametrize("text, message", [
    ("libc6\nlibc6\n", "listed twice"),
    ("Not_A_Name\n", "not a Debian package name"),
    ("# nothing\n", "lists no packages"),
])
def test_package_list_errors_name_the_file_and_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "packages.txt"
    path.write_text(text)
    with pytest.raises(DebError, match=message) as err:
        read_package_list(path)
    assert str(path) in str(err.value)


def test_missing_package_list_is_a_clear_error(tmp_path: Path):
    with pytest.raises(DebError, match="package list not found"):
        read_package_list(tmp_path / "nope.txt")


def test_the_real_lists_parse_and_tools_does_not_repeat_base():
    base = read_package_list(IMAGES / "base" / "packages.txt")
    tools = read_package_list(IMAGES / "tools" / "packages.txt")
    assert "python3.11-minimal" in base and "ca-certificates" in base
    assert "bash" in tools
    assert not set(base) & set(tools)


def test_deb_properties_from_a_file_name():
    deb = Deb("zlib1g_1%3a1.2.13.dfsg-1_amd64.deb", 1, "0" * 64)
    assert (deb.package, deb.version) == ("zlib1g", "1:1.2.13.dfsg-1")
    assert deb.manifest_line() == f"zlib1g 1:1.2.13.dfsg-1 sha256:{'0' * 64}"


def test_missing_apt_is_named(monkeypatch: pytest.MonkeyPatch):
    import interlock.images.debs as debs_module
    monkeypatch.setattr(debs_module.shutil, "which", lambda tool: None)
    with pytest.raises(DebError, match="apt-get and dpkg-deb not found"):
        debs_module.resolve(["libc6"])
