"""The ``cs`` command.

Each sub-command lives in its own module of this package and registers itself
with ``register(subparsers)``; :func:`main` runs it and turns every expected
failure (bad flag values, unreadable or unwritable paths) into one line on
standard error and exit code 2, never a traceback.  The shared flag types and
output helpers are in :mod:`cs.cli._common`.

``cs demo``    recover a synthetic low-rank plus sparse matrix (see ``cs demo --help``)
``cs video``   background and foreground of a video from compressive measurements
``cs phase``   phase-transition studies: run, status, plot, export, curve
``cs ric``     estimate restricted isometry constants (see ``cs ric --help``)
``cs dcsc``    layered-thresholding sweeps for deep convolutional sparse coding
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._common import CLIError

__all__ = ["main", "build_parser", "CLIError"]

#: Sub-command modules of this package, in the order ``cs --help`` lists them.
COMMANDS = ("demo", "video", "phase", "ric", "dcsc")


def build_parser():
    parser = argparse.ArgumentParser(prog="cs", description="Compressed sensing and sparse recovery.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


def main(argv=None):
    """Run ``cs`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ValueError, TypeError, OSError, MemoryError) as err:
        print(f"cs {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cs {args.command}: interrupted", file=sys.stderr)
        return 130
