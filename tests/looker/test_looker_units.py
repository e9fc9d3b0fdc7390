"""Pure logic of the Looker steps: PDT status parsing and the fail-on rule."""
from __future__ import annotations

import pytest

from interlock_steps.looker.pdt import UnreadableStatus, parse_status
from interlock_steps.looker.report import fail_on, too_many


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
