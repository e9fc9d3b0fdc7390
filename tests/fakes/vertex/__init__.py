"""A fake Vertex AI (REST, v1) for contract, task-level and pipeline-level tests; see README.md."""
from .errors import VertexError
from .faults import Fault, Faults, FaultSpecError
from .routes import ROUTES, Route
from .server import Call, FakeVertex
from ..reference import REQUIRE_REFERENCE_ENV
from .spec import SPEC_RELATIVE_PATH, DiscoverySpec, reference_spec
from .state import JobPlan, OperationPlan, Predictor, VertexState

__all__ = ["REQUIRE_REFERENCE_ENV", "ROUTES", "SPEC_RELATIVE_PATH", "Call", "DiscoverySpec", "FakeVertex", "Fault", "FaultSpecError", "Faults",
           "JobPlan", "OperationPlan", "Predictor", "Route", "VertexError", "VertexState", "reference_spec"]
