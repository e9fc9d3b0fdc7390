"""`interlock images build` keeps the layer cache of the current build and removes the one an
earlier build recorded, and nothing else: rebuilding must not grow podman's store."""
from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest

from interlock.images import cache
from interlock.images.spec import SPECS


def test_named_stages_are_found():
    text = "ARG BASE=x\nFROM ${BASE} AS install\nRUN true\nfrom ${BASE}\nCOPY --from=install / /\n"
    assert cache.stages(text) == ["install"]
    assert cache.stages((SPECS["looker"].containerfile).read_text()) == ["install"]
    assert cache.stages((SPECS["base"].containerfile).read_text()) == []


class FakeStore:
    """podman's image list (id -> parent) and the rmi calls made on it."""

    def __init__(self, parents: dict[str, str]):
        self.parents, self.removed = dict(parents), []

    def __call__(self, *args, check=True, **kwargs):
        if args[0] == "images":
            listed = [{"Id": i, "ParentId": p} for i, p in self.parents.items()]
            return SimpleNamespace(stdout=json.dumps(listed), returncode=0)
        assert args[0] == "rmi" and not check
        children = [i for i, p in self.parents.items() if p == args[1]]
        if children:
            return SimpleNamespace(stdout="", returncode=2)  # podman refuses: it has children
        self.removed.append(args[1])
        del self.parents[args[1]]
        return SimpleNamespace(stdout="", returncode=0)


def test_the_earlier_builds_cache_is_removed_children_first_and_nothing_else(tmp_path, monkeypatch):
    store = FakeStore({"b0": "", "b1": "b0", "base": "b1",                 # the base and its layers
                       "old1": "base", "old2": "old1", "oldstage": "base",   # an earlier looker build
                       "new1": "base", "new2": "new1", "stage1": "base",    # this build
                       "theirs": "base"})                                   # a user's own image
    monkeypatch.setattr(cache, "podman", store)
    monkeypatch.setattr(cache, "BUILD", tmp_path)
    record = tmp_path / "looker" / "cache-ids.txt"
    record.parent.mkdir()
    record.write_text("b0\nb1\nbase\nold1\nold2\noldstage\n")
    logged: list[str] = []
    cache.keep_only(SPECS["looker"], ["new2", "stage1"], logged.append)
    assert store.removed == ["old2", "old1", "oldstage"] or store.removed == ["old2", "oldstage", "old1"]
    assert set(store.parents) == {"b0", "b1", "base", "new1", "new2", "stage1", "theirs"}
    assert record.read_text().split() == ["b0", "b1", "base", "new1", "new2", "stage1"]
    assert logged == ["looker: removed 3 cached layer image(s) of an earlier build"]
    cache.keep_only(SPECS["looker"], ["new2", "stage1"], logged.append)  # nothing changed: nothing removed
    assert len(store.removed) == 3 and len(logged) == 1


@pytest.mark.containers
@pytest.mark.skipif(shutil.which("podman") is None or shutil.which("apt-get") is None,
                    reason="needs podman and apt-get (Debian packages)")
def test_rebuilding_at_another_revision_does_not_grow_the_store(monkeypatch):
    # looker: a multi-stage build whose install stage (~50 MB of layers) is no parent of the image,
    # so removing the old image alone would leave it behind
    from interlock.images.build import build
    from interlock.images.spec import BUILD
    from interlock.podman import podman

    def images() -> set[str]:
        return {i.removeprefix("sha256:") for i in podman("images", "--all", "--quiet", "--no-trunc").stdout.split()}

    if not (BUILD / "looker" / "cache-ids.txt").exists():  # `make test` has built it just before
        build(["base", "looker"], no_cache=False, log=lambda _: None)
    before = images()
    try:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # another revision: new labels, new layers
        other = build(["looker"], no_cache=False, log=lambda _: None)[-1].image
        after = images()
    finally:
        monkeypatch.delenv("SOURCE_DATE_EPOCH")
        build(["looker"], no_cache=False, log=lambda _: None)  # back to this revision for the other tests
    assert other.id not in before and len(after) <= len(before)
    assert len(images()) <= len(before)
