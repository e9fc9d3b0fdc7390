"""Params: argument, then env var, then default; clear errors naming the param."""

from __future__ import annotations

import pytest

from interlock_steps.runtime import BadInput, boolean, integer_list, param, parse_params, string_list

PARAMS = [
    param("dashboard-ids", integer_list, required=True),
    param("mode", default="full"),
    param("notify", boolean, default=False),
    param("client-secret", secret=True),
]


def parse(argv, environ=None):
    values, secrets = parse_params(PARAMS, argv, environ or {})
    return values, secrets


def test_argument_wins_over_env():
    values, _ = parse(["--dashboard-ids", "1,2"], {"DASHBOARD_IDS": "9", "MODE": "quick"})
    assert values.dashboard_ids == [1, 2]
    assert values.mode == "quick"
    assert values.notify is False


def test_empty_env_counts_as_unset():
    values, _ = parse([], {"DASHBOARD_IDS": "3 4", "MODE": ""})
    assert values.dashboard_ids == [3, 4] and values.mode == "full"


def test_missing_required_param_names_flag_and_env():
    with pytest.raises(BadInput, match="missing required param 'dashboard-ids': pass --dashboard-ids or set env DASHBOARD_IDS"):
        parse([], {"DASHBOARD_IDS": ""})


def test_invalid_value_names_param_source_and_value():
    with pytest.raises(BadInput, match=r"param 'dashboard-ids' \(env DASHBOARD_IDS\): invalid value '1,x'"):
        parse([], {"DASHBOARD_IDS": "1,x"})
    with pytest.raises(BadInput, match=r"param 'notify' \(--notify\): invalid value 'maybe': expected true or false"):
        parse(["--dashboard-ids", "1", "--notify", "maybe"])


def test_secret_param_value_is_returned_for_redaction_and_never_shown():
    _, secrets = parse(["--dashboard-ids", "1"], {"CLIENT_SECRET": "abc"})
    assert secrets == ["abc"]
    strict = [param("client-secret", integer_list, secret=True)]
    with pytest.raises(BadInput) as raised:
        parse_params(strict, [], {"CLIENT_SECRET": "not-a-number-secret"})
    assert "not-a-number-secret" not in str(raised.value)
    assert "value not shown" in str(raised.value)


def test_unknown_argument_is_bad_input_not_a_usage_exit():
    with pytest.raises(BadInput, match="unrecognized arguments: --nope"):
        parse(["--dashboard-ids", "1", "--nope", "x"])


@pytest.mark.parametrize(("text", "value"), [("true", True), ("Yes", True), ("0", False), ("off", False)])
def test_boolean(text, value):
    assert boolean(text) is value


def test_string_list_forms():
    assert string_list("a, b  c") == ["a", "b", "c"]
    assert string_list('["a b", "c"]') == ["a b", "c"]
    with pytest.raises(ValueError):
        string_list("[1, 2]")
