"""Pure logic of the Looker steps: PDT status parsing, the derived-table graph, the fail-on rule."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from interlock_steps.looker import pdt
from interlock_steps.looker.client import LookerClient
from interlock_steps.looker.pdt import UnreadableStatus, dot_nodes, parse_status
from interlock_steps.looker.report import fail_on, too_many
from interlock_steps.runtime import Deadline


@pytest.mark.parametrize("text, status", [
    ('{"status": "running", "message": "Materialize x"}', "running"),
    ('{"status":"COMPLETE","runtime":1.2}', "complete"),
    ("Status: killed by user", "killed"),
    ("pending", "pending"),
])
def test_parse_status_reads_json_and_plain_text(text, status):
    assert parse_status(text)[0] == status


@pytest.mark.parametrize("text", ["", "{}", '{"status": "exploded"}', "running or complete", "<html>502</html>"])
def test_parse_status_refuses_what_it_cannot_read(text):
    with pytest.raises(UnreadableStatus, match="cannot understand the PDT build status"):
        parse_status(text)


@pytest.mark.parametrize("rule, failed, total, breaks", [
    ("any", 0, 10, False), ("any", 1, 10, True), ("none", 10, 10, False),
    ("3", 3, 10, False), ("3", 4, 10, True), ("10%", 1, 10, False), ("10%", 2, 10, True),
])
def test_fail_on(rule, failed, total, breaks):
    assert too_many(failed, total, fail_on(rule)) is breaks


def test_fail_on_rejects_nonsense():
    with pytest.raises(ValueError, match="any, none"):
        fail_on("sometimes")


@pytest.mark.parametrize("text, nodes", [
    # the shape Looker sends (digraph named after the model, one subgraph per PDT, dashed edges to tables)
    ("digraph ecommerce {\n  subgraph {\n    <orders_rollup> -> <raw.orders> [style=dashed]\n  }\n"
     "  subgraph {\n    <user_facts> -> <orders_rollup>\n  }\n}", {"orders_rollup", "raw.orders", "user_facts"}),
    # quoted model/view names, graph attributes and a node without edges
    ('digraph g {\n rankdir=LR; node [shape=box, label="x"];\n "m/view_a" -> "m/upstream"\n'
     ' "m/view_a" -> "schema.table" [style=dashed]\n lonely;\n}', {"view_a", "upstream", "schema.table", "lonely"}),
    ("", set()),
    ("digraph empty_model {\n}", set()),
])
def test_dot_nodes(text, nodes):
    assert dot_nodes(text) == nodes


def test_a_start_answer_without_materialization_id_is_a_failed_build():
    sdk = SimpleNamespace(start_pdt_build=lambda *a, **k: SimpleNamespace(materialization_id=None, resp_text=None))
    [build] = pdt.rebuild(LookerClient(sdk), "m", ["v"], force_full_incremental=False, deadline=Deadline(60))
    assert (build.status, build.message) == ("error", "Looker's start answer carried no materialization_id")
