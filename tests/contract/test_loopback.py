"""The HTTP side every fake shares (tests/fakes/loopback.py): what a client receives."""
from __future__ import annotations

import pytest
import requests

from tests.fakes.loopback import Reply, Request, Served


class Echo(Served):
    def __init__(self) -> None:
        self._listen("echo")

    def handle(self, request: Request) -> Reply:
        if request.path == "/crash":
            raise KeyError("boom")
        if request.path == "/empty":
            return Reply(204, {"dropped": True})
        return Reply(201, {"method": request.method, "path": request.path, "query": request.query,
                           "body": request.json()}, headers={"X-Seen": "yes"})


def test_a_request_reaches_handle_decoded_and_the_reply_goes_back_as_given() -> None:
    with Echo() as echo:
        answer = requests.post(f"{echo.url}/a%20b?x=1&x=2&empty=", json={"k": "v"}, timeout=5)
        assert answer.status_code == 201 and answer.headers["X-Seen"] == "yes"
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
        assert answer.json() == {"method": "POST", "path": "/a b", "query": {"x": "2", "empty": ""}, "body": {"k": "v"}}
        empty = requests.delete(f"{echo.url}/empty", timeout=5)
        assert empty.status_code == 204 and empty.content == b""


def test_a_crash_of_a_fake_is_a_500_in_googles_shape_not_a_hang() -> None:
    with Echo() as echo:
        answer = requests.get(f"{echo.url}/crash", timeout=5)
    assert answer.status_code == 500
    assert answer.json() == {"error": {"code": 500, "message": "echo crashed: KeyError: 'boom'", "status": "INTERNAL"}}


def test_a_fake_listens_on_loopback_only() -> None:
    class Everywhere(Echo):
        def __init__(self) -> None:
            self._listen("everywhere", host="0.0.0.0")
    with pytest.raises(ValueError, match="only listen on loopback"):
        Everywhere()


def test_a_stopped_fake_has_no_url() -> None:
    with pytest.raises(RuntimeError, match="Echo is not started"):
        Echo().url
