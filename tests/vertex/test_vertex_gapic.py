"""gapic.py imports the four services the steps use without running aiplatform_v1's package
__init__ (which imports all of its services): in a fresh process, as a step starts."""
from __future__ import annotations

import json
import subprocess
import sys

from interlock.paths import ROOT

PROBE = """
import json, sys
from interlock_steps.vertex import gapic
classes = [gapic.client_class(s).__name__ for s in gapic.SERVICES]
job = gapic.from_json("custom_job", "CustomJob", {"displayName": "x", "jobSpec": {"workerPoolSpecs": [
    {"machineSpec": {"machineType": "n1", "acceleratorType": "NVIDIA_TESLA_T4"}, "replicaCount": "2"}]}})
package = sys.modules["google.cloud.aiplatform_v1"]
print(json.dumps({
    "classes": classes,
    "accelerator": job.job_spec.worker_pool_specs[0].machine_spec.accelerator_type.name,
    "init_ran": hasattr(package, "DatasetServiceClient"),
    "services": sorted(m.split(".")[4] for m in sys.modules
                       if m.startswith("google.cloud.aiplatform_v1.services.") and m.count(".") == 4),
}))
"""


def test_only_the_four_services_are_imported():
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["classes"] == ["JobServiceClient", "ModelServiceClient", "EndpointServiceClient",
                                "PredictionServiceClient"]
    assert found["accelerator"] == "NVIDIA_TESLA_T4"
    assert found["init_ran"] is False
    assert found["services"] == ["endpoint_service", "job_service", "model_service", "prediction_service"]
