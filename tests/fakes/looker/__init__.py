"""A fake Looker API 4.0 server for tests (loopback only, never shipped in images).

    from tests.fakes.looker import FakeLooker
    with FakeLooker() as looker:
        os.environ.update(looker.sdk_env())
        sdk = looker_sdk.init40()
"""
from .clock import ManualClock
from .faults import Fault, Faults, FaultSpecError, TokenRules
from .lifecycle import PER_USER_QUERY_LIMIT
from .routes import ROUTES, Route
from .server import Call, FakeLooker, SpecViolation
from .spec import LookerSpec
from .state import LookerState, ScenarioError, default_state, load_scenario

__all__ = [
    "Call", "FakeLooker", "ManualClock", "Fault", "FaultSpecError", "Faults", "LookerSpec", "LookerState", "PER_USER_QUERY_LIMIT",
    "ROUTES", "Route", "ScenarioError", "SpecViolation", "TokenRules", "default_state", "load_scenario",
]
