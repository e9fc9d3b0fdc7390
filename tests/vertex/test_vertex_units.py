"""The pure parts of the Vertex AI steps: traffic arithmetic, golden comparison, percentiles,
labels and the poll schedule."""
from __future__ import annotations

import itertools

import pytest

from interlock_steps.runtime import BadInput, Deadline, DeadlineExceeded
from interlock_steps.vertex import endpoints, labels, predictions
from interlock_steps.vertex.waiting import Backoff, wait_until


@pytest.mark.parametrize(("current", "percent", "expected"), [
    ({}, 10, {"new": 100}),
    ({"a": 100}, 10, {"new": 10, "a": 90}),
    ({"a": 60, "b": 40}, 10, {"new": 10, "a": 54, "b": 36}),
    ({"a": 50, "b": 50}, 25, {"new": 25, "a": 38, "b": 37}),       # largest remainder, ties by id
    ({"a": 34, "b": 33, "c": 33}, 1, {"new": 1, "a": 33, "b": 33, "c": 33}),   # 33.66, 32.67, 32.67
    ({"a": 100}, 100, {"new": 100}),
    ({"a": 70, "b": 30}, 0, {"a": 70, "b": 30}),
])
def test_the_new_share_and_the_rest_in_proportion(current, percent, expected):
    assert endpoints.shifted(current, "new", percent) == expected


def test_every_shift_adds_up_to_100_and_is_undone_by_without():
    splits = [{"a": a, "b": 100 - a} for a in range(1, 100, 7)] + [{"a": 20, "b": 30, "c": 50}]
    for current, percent in itertools.product(splits, range(0, 100, 9)):
        split = endpoints.shifted(current, "new", percent)
        assert sum(split.values()) == 100
        back = endpoints.without(split, "new")
        assert sum(back.values()) == 100
        # rounding can move a percent or so; never more
        assert all(abs(back.get(k, 0) - v) <= 1 + 100 // max(1, 100 - percent) for k, v in current.items())


@pytest.mark.parametrize(("split", "message"), [
    ({"a": 60, "b": 30}, "add up to 90"),
    ({"a": 101, "b": -1}, "from 0 to 100"),
    ({"a": 50.5, "b": 49.5}, "whole numbers"),
])
def test_invalid_splits_are_refused(split, message):
    with pytest.raises(BadInput, match=message):
        endpoints.checked(split, "split")


def test_splits_must_name_deployed_models():
    with pytest.raises(BadInput, match=r"deployed models \['c'\] are not on the endpoint"):
        endpoints.checked({"a": 50, "c": 50}, "split", {"a", "b"})
    assert endpoints.checked({"a": 100, "b": 0}, "split", {"a", "b"}) == {"a": 100}
    assert endpoints.checked({}, "split") == {}


def test_golden_comparison():
    diff = predictions.differences
    assert diff({"p": [0.1, 0.9], "label": "yes"}, {"p": [0.1000001, 0.9], "label": "yes"}, atol=1e-6, rtol=0) == []
    assert diff([1.0, 2.5], [1, 2], atol=0.1, rtol=0) == ["[1]: got 2.5, want 2 (±0.1)"]
    assert diff(110.0, 100, atol=0, rtol=0.1) == []
    assert diff("no", "yes", atol=1, rtol=1) == ["<prediction>: got 'no', want 'yes'"]
    assert diff(True, 1, atol=0, rtol=0) == ["<prediction>: got True, want the number 1"]
    assert diff({"a": 1}, {"a": 1, "b": 2}, atol=0, rtol=0) == ["<prediction>: got keys ['a'], want ['a', 'b']"]
    assert diff([1], [1, 2], atol=0, rtol=0) == ["<prediction>: got [1], want a list of 2"]


def test_nearest_rank_percentile():
    assert predictions.percentile([5, 1, 3, 2, 4], 95) == 5
    assert predictions.percentile(list(range(1, 101)), 95) == 95
    assert predictions.percentile([7], 95) == 7


def test_labels():
    assert labels.parse("team=ml, env=prod") == {"team": "ml", "env": "prod"}
    assert labels.parse('{"team": "ml"}') == {"team": "ml"}
    with pytest.raises(ValueError):
        labels.parse("team")
    with pytest.raises(BadInput, match="label key 'Team'"):
        labels.user_labels({"Team": "ml"})
    with pytest.raises(BadInput, match="at most 63"):
        labels.user_labels({"team": "x" * 64})


def test_polls_notice_the_end_within_max_30s_or_10_percent_and_stay_few():
    """The schedule alone, for jobs of many lengths: when a job ends between two polls, the next
    poll comes at most max(30 s, 10 % of the elapsed time) later."""
    backoff = Backoff(initial=5.0)
    for duration in (1, 29, 61, 300, 1799, 1800, 3 * 3600, 24 * 3600):
        t, interval, polls = 0.0, None, 0
        while t < duration:
            interval = backoff.after(interval, t)
            t += interval
            polls += 1
        assert t - duration <= max(30.0, 0.1 * duration), duration
        if duration == 1800:
            assert polls <= 60


def test_wait_until_keeps_the_margin_of_the_deadline():
    now = [0.0]
    deadline = Deadline(100, clock=lambda: now[0])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(DeadlineExceeded, match="reached while waiting for the thing"):
        wait_until(lambda: False, bool, current=False, backoff=Backoff(initial=1), clock=lambda: now[0], sleep=sleep,
                   deadline=deadline, margin=20, what="the thing")
    assert now[0] == pytest.approx(80)
