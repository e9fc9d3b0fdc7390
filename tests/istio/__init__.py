"""Istio step tests: unit, in-process against the fake Kubernetes API, and scenarios with a real Prometheus."""
