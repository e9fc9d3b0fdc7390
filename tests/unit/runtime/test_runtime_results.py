"""Results: Tekton's 4096-byte termination message, counted as Tekton encodes it."""

from __future__ import annotations

import json

import pytest

from interlock_steps.runtime import Redactor, Results, ResultsRejected, termination_message_size
from interlock_steps.runtime.results import go_json


def results_in(tmp_path, *secrets: str) -> Results:
    return Results(tmp_path, redactor=Redactor(secrets))


def filler_for(name: str, budget: int) -> str:
    """A value that makes {name: value} take exactly `budget` bytes of message."""
    empty = termination_message_size({name: ""})
    return "x" * (budget - empty)


def test_size_matches_the_message_tekton_writes():
    # What the entrypoint marshals: StartedAt first, then each result file as a string.
    expected = (
        '[{"key":"StartedAt","value":"2006-01-02T15:04:05.000+07:00","type":3},'
        '{"key":"url","value":"https://x","type":1}]'
    )
    assert termination_message_size({"url": "https://x"}) == len(expected)


def test_go_escapes_html_characters_so_they_cost_six_bytes():
    assert go_json("<a&b>") == '"\\u003ca\\u0026b\\u003e"'
    assert termination_message_size({"r": "<"}) - termination_message_size({"r": "a"}) == 5
    assert termination_message_size({"r": "é"}) - termination_message_size({"r": "a"}) == 1  # UTF-8, not \u00e9


def test_exactly_at_the_limit_is_written(tmp_path):
    value = filler_for("report", 4096)
    results_in(tmp_path).write(report=value)
    assert (tmp_path / "report").read_text() == value


def test_one_byte_over_is_refused_naming_the_results(tmp_path):
    value = filler_for("report", 4097)
    with pytest.raises(ResultsRejected) as raised:
        results_in(tmp_path).write(report=value, url="u")
    message = str(raised.value)
    assert "4096-byte termination message" in message
    assert "report=" in message and "url=" in message
    assert not list(tmp_path.iterdir())  # nothing written, nothing truncated


def test_one_byte_over_alone_is_refused(tmp_path):
    with pytest.raises(ResultsRejected, match=r"need 4097 bytes .* \(1 over\)"):
        results_in(tmp_path).write(report=filler_for("report", 4097))


def test_results_written_by_earlier_steps_count(tmp_path):
    (tmp_path / "earlier").write_text("e" * 2000)
    big = "x" * 2100
    with pytest.raises(ResultsRejected, match=r"earlier=\d+B \(already written\)"):
        results_in(tmp_path).write(now=big)
    results_in(tmp_path).write(now="x" * 1900)
    assert (tmp_path / "now").exists()


def test_rewriting_a_result_replaces_its_old_size(tmp_path):
    results_in(tmp_path).write(report=filler_for("report", 4096))
    results_in(tmp_path).write(report=filler_for("report", 4096))  # not counted twice


def test_array_and_object_results_are_json(tmp_path):
    results_in(tmp_path).write(ids=["1", "2"], urls={"a": "https://a"}, name="plain")
    assert json.loads((tmp_path / "ids").read_text()) == ["1", "2"]
    assert json.loads((tmp_path / "urls").read_text()) == {"a": "https://a"}
    assert (tmp_path / "name").read_text() == "plain"


@pytest.mark.parametrize(
    ("value", "message"),
    [([1, 2], "array result 'r' must hold strings only"), ({"a": 1}, "object result 'r' must map strings"), (3, "got int")],
)
def test_badly_typed_results_are_refused(tmp_path, value, message):
    with pytest.raises(ResultsRejected, match=message):
        results_in(tmp_path).write(r=value)


def test_invalid_result_name_is_refused(tmp_path):
    with pytest.raises(ResultsRejected, match="not a valid Tekton result name"):
        results_in(tmp_path).write({"bad name": "x"})


def test_a_result_holding_a_secret_is_refused_without_echoing_it(tmp_path):
    with pytest.raises(ResultsRejected) as raised:
        results_in(tmp_path, "hunter2-secret").write(summary="login with hunter2-secret ok")
    assert "hunter2-secret" not in str(raised.value)
    assert "'summary'" in str(raised.value)
    with pytest.raises(ResultsRejected, match="credential pattern"):
        results_in(tmp_path).write(header="Authorization: Bearer abc.def.ghi")
    assert not list(tmp_path.iterdir())
