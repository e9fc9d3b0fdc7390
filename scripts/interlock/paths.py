"""Where things are: the repository root and the folders the tools read."""
from __future__ import annotations

import os
from pathlib import Path

# scripts/interlock/paths.py -> repository root, unless INTERLOCK_ROOT says otherwise
ROOT = Path(os.environ.get("INTERLOCK_ROOT") or Path(__file__).resolve().parents[2])
TASKS = ROOT / "tasks"
PIPELINES = ROOT / "pipelines"
IMAGES = ROOT / "images"
CATALOG = ROOT / "catalog.yaml"
# Upstream contracts kept beside the repository (never copied into it); absent in users' clones.
REFERENCE = Path(os.environ.get("INTERLOCK_REFERENCE") or ROOT.parent / "shared" / "reference")
