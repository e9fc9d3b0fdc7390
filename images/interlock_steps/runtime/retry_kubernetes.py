"""The kubernetes client's Configuration with the policy's urllib3 Retry.

The client hands `Configuration.retries` to its urllib3 PoolManager, so 429/5xx,
Retry-After and connection errors are retried there. The client has no default
request timeout: pass `_request_timeout=step.policy.timeout` (or
`deadline.cap(policy.timeout)`) on each API call.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Callable

from .deadline import Deadline
from .retry_policy import RetryPolicy
from .retry_urllib3 import urllib3_retry

if typing.TYPE_CHECKING:
    from kubernetes.client import Configuration


def kubernetes_configuration(
    policy: RetryPolicy,
    deadline: Deadline | None = None,
    *,
    idempotent: bool = False,
    base: Configuration | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Configuration:
    """`base` (or a fresh default Configuration) with retries set from the policy.

    Load kubeconfig or in-cluster config into `base` first, e.g.
    `base = Configuration(); kubernetes.config.load_incluster_config(client_configuration=base)`.
    """
    from kubernetes.client import Configuration

    configuration = base if base is not None else Configuration()
    configuration.retries = urllib3_retry(
        policy, deadline or Deadline(policy.deadline), idempotent=idempotent, sleep=sleep
    )
    return configuration
