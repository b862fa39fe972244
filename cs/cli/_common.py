"""What every ``cs`` sub-command shares: flag types that reject bad values
before any work starts (argparse turns their errors into one usage line and
exit code 2), output-path checks, and an output folder that appears whole or
not at all."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["CLIError", "Formatter", "positive_int", "nonnegative_int", "finite_float", "fraction",
           "unit_interval", "float_list", "choice", "shape", "output_file", "output_dir",
           "staged_dir"]


class CLIError(Exception):
    """An expected failure of a sub-command: printed as one line, exit code 2."""


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help, and descriptions kept as written."""


def _number(text, kind):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text):
    """An integer >= 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def nonnegative_int(text):
    """An integer >= 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def finite_float(text):
    """Any finite number."""
    return _number(text, float)


def fraction(text):
    """A number in (0, 1], e.g. delta = p / N."""
    value = _number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def unit_interval(text):
    """A number in [0, 1], e.g. rho or a sparsity fraction."""
    value = _number(text, float)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def float_list(text):
    """``0.1,0.2,0.5`` or ``start:stop:step`` (stop included when the steps reach it)."""
    text = text.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise argparse.ArgumentTypeError(f"expected start:stop:step, got {text!r}")
        start, stop, step = (_number(p, float) for p in parts)
        if step <= 0 or stop < start:
            raise argparse.ArgumentTypeError(f"expected start <= stop and step > 0 in {text!r}")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        return [round(start + i * step, 12) for i in range(count)]
    values = [_number(p, float) for p in text.split(",") if p.strip()]
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def choice(names):
    """A flag type accepting one of ``names`` (the error lists them)."""
    names = sorted(names)

    def parse(text):
        if text not in names:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(names)}; got {text!r}")
        return text

    parse.__name__ = "name"
    return parse


def shape(text):
    """``N`` or ``MxN`` (positive integers)."""
    try:
        dims = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or MxN, got {text!r}") from None
    if not 1 <= len(dims) <= 2 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected N or MxN of positive integers, got {text!r}")
    return dims


def output_file(path, flag="--out"):
    """Check, before any work, that ``path`` can be written as a file; return it as a Path."""
    path = Path(path)
    if path.is_dir():
        raise CLIError(f"{flag} {path} is a directory; expected a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"{flag} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CLIError(f"{flag} {path} is not writable")
    return path


def output_dir(path, flag="--out"):
    """Check, before any work, that ``path`` is (or can be created as) a writable folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CLIError(f"{flag} {path} exists and is not a folder")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        raise CLIError(f"{flag} {path} is not writable")
    return path


@contextlib.contextmanager
def staged_dir(path, flag="--out"):
    """Yield a temporary folder beside ``path``; on success its files are moved
    into ``path`` (created if needed), on any failure nothing is left there."""
    path = output_dir(path, flag)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-partial-", dir=path.parent))
    try:
        yield tmp
        path.mkdir(exist_ok=True)
        for item in tmp.iterdir():
            os.replace(item, path / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
