"""Errors of `interlock run` that mean "bad input": reported with the file and field, exit 2."""
from __future__ import annotations


class InvalidRun(ValueError):
    """Invalid input found before any container starts. `where` names the file and field."""

    def __init__(self, where: str, message: str):
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class Unsupported(InvalidRun):
    """A Tekton feature this runner does not implement: refused, never silently ignored."""

    def __init__(self, where: str, feature: str):
        self.feature = feature
        super().__init__(where, f"not supported locally: {feature} (see "
                                "scripts/interlock/run/README.md, 'Not supported')")
