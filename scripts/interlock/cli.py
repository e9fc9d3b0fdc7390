"""Entry point of the `interlock` command.

Each sub-command lives in its own module and is imported only when it runs, so that
`interlock --help` stays fast and one broken integration never breaks the others.
"""
from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command
COMMANDS = {
    "lint": "interlock.lint.command:lint",
    "index": "interlock.index:index",
    "docs": "interlock.docs:docs",
    "images": "interlock.images.command:images",
    "bundle": "interlock.bundles.command:bundle",
    "stepactions": "interlock.stepactions:stepactions",
    "versions": "interlock.versions:versions",
    "e2e": "interlock.e2e.command:e2e",
    "run": "interlock.run.command:run",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="interlock")
def cli():
    """Lint, index, document, build, publish and run the Interlock catalog of Tekton Tasks."""


def main():
    cli(prog_name="interlock")
