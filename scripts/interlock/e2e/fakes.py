"""The fakes the kind e2e harness deploys, one entry each.

Every fake lives in tests/fakes/<name>/, runs from the one fakes image (tests/fakes/Containerfile)
as `python3 -m <module> --in-container --port <port>`, and serves the Tasks whose names start
with one of `tasks`. A sample for such a Task gets `params` (the fake's in-cluster URL filled in
for `{url}`), and the Secret `secret` holds the fake's credentials. Adding the Kubernetes/Istio or
Vertex AI fake is one more entry here.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fake:
    name: str                            # pod, Deployment and Service name: fake-<name>
    module: str                          # python -m <module>
    tasks: tuple[str, ...]               # Task name prefixes this fake answers for
    params: dict[str, str]               # sample param overrides; {url} = the fake's base URL
    secret: str = ""                     # the Secret samples read credentials from
    credentials: dict[str, str] = field(default_factory=dict)  # its keys (the fake's scenario)
    port: int = 8080

    def serves(self, task: str) -> bool:
        return task.startswith(self.tasks)


FAKES: list[Fake] = [
    # credentials: the first user of tests/fakes/looker/state.py default_state()
    Fake("looker", "tests.fakes.looker", ("looker-",), {"base-url": "{url}", "verify-ssl": "false"},
         secret="looker-credentials",
         credentials={"client_id": "fake-client-id", "client_secret": "fake-client-secret"}),
]


def fake_for(task: str) -> Fake | None:
    return next((f for f in FAKES if f.serves(task)), None)
