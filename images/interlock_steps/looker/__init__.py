"""Looker steps: looker-refresh, looker-run-schedule and looker-validate.

Each step module is a thin `main(step)` over plain functions that take a `LookerClient`
(client.py), so the logic is unit-testable against the fake Looker without containers.
"""
