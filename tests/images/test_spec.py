"""Image names, build order and provenance."""
from __future__ import annotations

import pytest

from interlock.images import provenance
from interlock.images.spec import SPECS, build_order, version
from interlock.paths import SOURCE


def test_parents_come_first_once():
    assert build_order(["vertex", "looker"]) == ["base", "vertex", "looker"]
    assert build_order(["tools", "base"]) == ["base", "tools"]
    assert build_order(list(SPECS)) == ["base", "tools", "looker", "istio", "vertex"]


def test_references_use_the_project_version():
    assert SPECS["looker"].ref == f"localhost/interlock/looker:{version()}"


def test_every_image_has_a_containerfile_with_a_base_argument():
    for spec in SPECS.values():
        text = spec.containerfile.read_text()
        if spec.parent:
            assert "ARG BASE=" in text and "FROM ${BASE}" in text, spec.name
        assert "USER 65532" in text, spec.name
        for label in ("source", "revision", "version", "description", "created"):
            assert f"org.opencontainers.image.{label}=" in text, (spec.name, label)


def test_base_inputs_leave_out_task_yaml_and_integration_code():
    inputs = SPECS["base"].inputs()
    assert SOURCE / "images" / "base" in inputs
    assert not any("tasks" in p.parts or "interlock_steps" in p.parts for p in inputs)
    assert SOURCE / "images" / "interlock_steps" in SPECS["looker"].inputs()


def test_source_date_epoch_wins(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    prov = provenance.of(SPECS["base"].inputs())
    assert prov.epoch == 86400
    assert prov.created == "1970-01-02T00:00:00Z"


def test_missing_containerfile_is_a_clear_error(tmp_path, monkeypatch: pytest.MonkeyPatch):
    from interlock.images import build as build_module
    from interlock.images.spec import ImageSpec

    spec = ImageSpec("ghost", "debs", "base", "no such image")
    with pytest.raises(build_module.BuildError, match=r"images/ghost/Containerfile: Containerfile missing"):
        build_module.build_one(spec, no_cache=False, log=lambda _: None)


def test_render_writes_the_metadata_into_the_opening_label(tmp_path, monkeypatch: pytest.MonkeyPatch):
    from interlock.images import build as build_module
    monkeypatch.setattr(build_module, "BUILD", tmp_path)
    meta = {"created": "2024-01-02T03:04:05Z", "version": "9.9.9", "revision": "abc123-dirty",
            "source": "https://example.org/interlock.git"}
    text = build_module.render(SPECS["looker"], meta).read_text()
    for key, value in meta.items():
        assert f'org.opencontainers.image.{key}="{value}"' in text
    assert '"unknown"' not in text and "1970-01-01" not in text
    # the label opens the final stage, before any layer that carries files
    final = text[text.rindex("\nFROM "):]
    assert final.index("LABEL ") < final.index("COPY ")


def test_render_refuses_values_that_would_break_the_containerfile(tmp_path, monkeypatch):
    from interlock.images import build as build_module
    monkeypatch.setattr(build_module, "BUILD", tmp_path)
    meta = {"created": "x", "version": "1", "revision": 'a" b', "source": "s"}
    with pytest.raises(build_module.BuildError, match="may not contain"):
        build_module.render(SPECS["base"], meta)


def test_integration_images_share_one_containerfile_and_get_their_own_labels(tmp_path, monkeypatch):
    from interlock.images import build as build_module
    monkeypatch.setattr(build_module, "BUILD", tmp_path)
    assert len({SPECS[n].containerfile for n in ("looker", "istio", "vertex")}) == 1
    meta = {"title": "interlock-istio", "description": SPECS["istio"].description}
    text = build_module.render(SPECS["istio"], meta).read_text()
    assert 'org.opencontainers.image.title="interlock-istio"' in text
    assert f'org.opencontainers.image.description="{SPECS["istio"].description}"' in text
