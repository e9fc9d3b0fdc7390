"""Istio steps: istio-set-weights, istio-canary-shift and istio-rollback.

Each entry point (set_weights.py, canary_shift.py, rollback.py) is a thin `main(step)` over plain
modules: weights.py (routes, keys, the JSON Patch), kube.py (credentials and the API calls),
virtualservice.py (apply with optimistic concurrency, DestinationRule checks), prometheus.py
(PromQL templates and queries), statistics.py (the sequential test), judge.py (one look at the
metrics), canary.py (the step-by-step state machine).
"""
