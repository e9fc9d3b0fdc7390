"""What the kind e2e harness gives each integration's samples, and what in it is real.

Real in the kind cluster: the Kubernetes API server (RBAC, ServiceAccount tokens, CRD schema
validation), Tekton, Istio's CRDs from a pinned Istio release (no istiod, no sidecars: nothing
routes traffic; the API server checks every VirtualService against Istio's schemas), and a
Prometheus (the upstream image) scraping the mesh simulator. Fake, as pods behind Services, all from
the one fakes image (tests/fakes/Containerfile), each run as
`python3 -m <module> --in-container --port <port> <args>`:

| Tasks      | real in the cluster                                           | fake (tests/fakes/…)                                    |
|------------|---------------------------------------------------------------|---------------------------------------------------------|
| looker-*   | —                                                             | the Looker API (`looker`)                               |
| istio-*    | API server + Istio CRDs, the samples' Role and RoleBinding, the runs' ServiceAccount, Prometheus | the mesh (`mesh`): traffic split by the VirtualService's live weights, Istio's metrics |
| vertex-*   | projected ServiceAccount tokens (Workload Identity Federation)  | Vertex AI (`vertex`, scenario `samples`), the GKE metadata server and STS (`google_auth`) |

A sample run of an integration gets its `params` (those its Task, or its Pipeline, declares), its
`env` in the podTemplate (every pod on GKE reaches the metadata server), and, in the run's
namespace, its Secrets and ConfigMaps. `<url:NAME>` in a value is the base URL of the fake or
service NAME, `<host:NAME>` its host:port. The Kubernetes objects in the samples folders of the
integration's Tasks (a Role, a RoleBinding, the VirtualService and DestinationRule the samples
shift) are applied before every one of its runs, so each sample finds them as the samples give
them; what the fakes hold (a Vertex AI endpoint's deployments, Looker's datagroups) is as the runs
before it left it (tests/e2e/expectations.yaml says where a result depends on that).
Adding a fake is one more entry in FAKES; an integration, one more in INTEGRATIONS.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fake:
    name: str                            # ServiceAccount, Deployment and Service name: fake-<name>
    module: str                          # python3 -m <module>
    args: tuple[str, ...] = ()           # after --in-container --port <port>
    port: int = 8080
    # (namespace, API group, resource) the fake reads from the API server as its ServiceAccount
    reads: tuple[str, str, str] | None = None

    @property
    def command(self) -> list[str]:
        return ["python3", "-m", self.module, "--in-container", "--port", str(self.port), *self.args]


@dataclass(frozen=True)
class Integration:
    prefix: str                                   # the Tasks whose names start with it
    fakes: tuple[str, ...]                        # FAKES entries its samples reach
    params: dict[str, str]                        # sample param overrides
    env: dict[str, str] = field(default_factory=dict)               # podTemplate env of its runs
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    configmaps: dict[str, dict[str, str]] = field(default_factory=dict)
    crds: tuple[str, ...] = ()                    # CRD manifests (URLs) applied server-side first
    scraped: tuple[str, ...] = ()                 # fakes a Prometheus scrapes (service `prometheus`)

    def serves(self, task: str) -> bool:
        return task.startswith(self.prefix)


# Istio 1.28 supports Kubernetes 1.29 to 1.34 (its release notes), the kind node is 1.34. The URL
# is the release tag's CRD file, as Istio's base chart ships it: never copied into this repository.
ISTIO_VERSION = "1.28.1"
ISTIO_CRDS = (f"https://raw.githubusercontent.com/istio/istio/{ISTIO_VERSION}/manifests/charts/base/files/"
              "crd-all.gen.yaml")
# the churn endpoint's golden set: scenario `samples` serves 2 x sum(instance) + 0.5
GOLDEN = {"instances": [[1.0, 2.0], [0.5, 0.5]], "predictions": [6.5, 2.5]}
# `gcloud iam workload-identity-pools create-cred-config` output for the samples' pool, with STS
# at the fake and the token where the gcp-credentials workspace mounts it
WIF_CONFIG = {
    "universe_domain": "googleapis.com", "type": "external_account",
    "audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/tekton/"
                "providers/kubernetes",
    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "<url:google-auth>/v1/token",
    "credential_source": {"file": "/workspace/gcp-credentials/token", "format": {"type": "text"}},
}

FAKES: list[Fake] = [
    Fake("looker", "tests.fakes.looker"),
    # the route `primary` of shop/reviews (the VirtualService in istio-set-weights' samples):
    # 400 requests/s, so a 10 % canary serves min-requests (100) within a 5 s interval
    Fake("mesh", "tests.fakes.mesh", ("--namespace", "shop", "--virtualservice", "reviews", "--route", "primary",
                                      "--rps", "400", "--destination", "stable=reviews-v1",
                                      "--destination", "canary=reviews-v2"),
         reads=("shop", "networking.istio.io", "virtualservices")),
    Fake("vertex", "tests.fakes.vertex", ("--scenario", "samples")),
    Fake("google-auth", "tests.fakes.google_auth"),
]

INTEGRATIONS: list[Integration] = [
    # credentials: the first user of tests/fakes/looker/state.py default_state()
    Integration("looker-", ("looker",), {"base-url": "<url:looker>", "verify-ssl": "false"},
                secrets={"looker-credentials": {"client_id": "fake-client-id",
                                                "client_secret": "fake-client-secret"}}),
    # interval and check-every scaled from minutes to seconds: the decision is the same
    Integration("istio-", ("mesh",), {"prometheus-url": "<url:prometheus>", "interval": "5s", "check-every": "1s"},
                crds=(ISTIO_CRDS,), scraped=("mesh",)),
    Integration("vertex-", ("vertex", "google-auth"), {"api-endpoint": "<url:vertex>", "poll-interval": "1"},
                env={"GCE_METADATA_HOST": "<host:google-auth>", "GCE_METADATA_IP": "<host:google-auth>"},
                configmaps={"vertex-wif": {"credential-config.json": json.dumps(WIF_CONFIG, separators=(",", ":"))},
                            "churn-golden": {"golden.json": json.dumps(GOLDEN)}}),
]

_PLACEHOLDER = re.compile(r"<(url|host):([a-z0-9-]+)>")


def fake_named(name: str) -> Fake:
    return next(f for f in FAKES if f.name == name)


def integration_for(task: str) -> Integration | None:
    return next((i for i in INTEGRATIONS if i.serves(task)), None)


def fill(text: str, url_for: Callable[[str], str]) -> str:
    """`text` with each <url:NAME> and <host:NAME> replaced (url_for(NAME) is NAME's base URL)."""
    def value(m: re.Match[str]) -> str:
        url = url_for(m[2])
        return url if m[1] == "url" else urllib.parse.urlsplit(url).netloc
    return _PLACEHOLDER.sub(value, text)
