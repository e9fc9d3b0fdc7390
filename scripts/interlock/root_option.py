"""`--root`, shared by the commands that act on a catalog (lint, docs, index)."""
from __future__ import annotations

from pathlib import Path

import click

from interlock import paths

root_option = click.option(
    "--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
    help=f"Catalog root holding tasks/, pipelines/ or stepactions/ (default: {paths.ROOT_ENV}, else the "
         "nearest such folder at or above the current one, as git finds a repository).")


def resolve(root: Path | None) -> Path:
    """The catalog to act on, or a usage error (exit 2) saying where it looked."""
    try:
        return paths.catalog_root(root)
    except paths.NoCatalog as error:
        raise click.UsageError(str(error)) from None
