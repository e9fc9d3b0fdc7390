"""`interlock docs` and `interlock index` read what lint reports as broken without a traceback:
entries that are not mappings are left out (lint's `schema` rule names them)."""
from __future__ import annotations

import datetime

from interlock import catalog, docs, index

BROKEN = {"apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": ["not", "a", "mapping"],
          "spec": {"params": ["x", 3, None, {"name": "ok", "default": datetime.date(2026, 1, 1)}],
                   "results": "text", "workspaces": {"name": "w"}, "steps": [7, {"image": 5}],
                   "stepTemplate": "none"}}


def test_render_skips_entries_that_are_not_mappings():
    text = docs.render(BROKEN)
    assert "| `ok` | string | `\"2026-01-01\"` |" in text
    assert text.count("None.") == 2  # results and workspaces
    assert docs.render({"spec": "nothing"}) == docs.render({})


def test_index_entry_skips_entries_that_are_not_mappings(tmp_path):
    resource = catalog.Resource("Task", "t", "0.1", tmp_path, _doc=BROKEN)
    entry = index.entry(resource)
    assert [p["name"] for p in entry["params"]] == ["ok"]
    assert (entry["results"], entry["workspaces"], entry["images"]) == ([], [], ["5"])
