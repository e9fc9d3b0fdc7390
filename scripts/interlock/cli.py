"""Entry point of the `interlock` command.

Each sub-command lives in its own module and is imported only when it runs, so that
`interlock --help` stays fast and one broken integration never breaks the others.

No input may end in a traceback: an error no command expected is reported as one line with
a hint to re-run with `--debug`, which shows the traceback.
"""
from __future__ import annotations

import importlib
import os
import sys

import click

# name -> "module:attribute" of a click command
COMMANDS = {
    "lint": "interlock.lint.command:lint",
    "index": "interlock.index:index",
    "docs": "interlock.docs:docs",
    "images": "interlock.images.command:images",
    "run": "interlock.run.command:run",
}
EXIT_INTERNAL = 1  # as an uncaught Python exception would exit


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def main(self, args=None, **extra):
        args = list(sys.argv[1:] if args is None else args)
        # `--debug` anywhere before `--`: tracebacks are shown (and no longer caught)
        end = args.index("--") if "--" in args else len(args)
        debug = "--debug" in args[:end]
        if debug:
            args = [a for i, a in enumerate(args) if a != "--debug" or i >= end]
        try:
            return super().main(args=args, **extra)
        except BrokenPipeError:  # output piped into `head` and the like: not an error to report
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (no flush error at exit)
            sys.exit(EXIT_INTERNAL)
        except Exception as e:  # noqa: BLE001 (the last line of defence, by design)
            if debug:
                raise
            detail = " ".join(str(e).split())[:300]
            click.echo(f"error: internal error ({type(e).__name__}{': ' + detail if detail else ''}); "
                       "re-run with --debug for the traceback and report it", err=True)
            sys.exit(EXIT_INTERNAL)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="interlock")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error "
              "(accepted anywhere on the command line).")
def cli(debug):
    """Lint, index, document, build and run the Interlock catalog of Tekton Tasks."""


def main():
    cli(prog_name="interlock")
