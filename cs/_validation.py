"""Argument checks shared by every public function (scikit-learn style).

Each check names the argument, what was expected and what was received, and
returns the normalised value, so a public function reads as a list of checks
followed by a call to its kernel.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from . import _kernels


def check_int(value, name, *, low=None, high=None, high_what=None):
    """Return ``value`` as an int in [low, high], else raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {name}={value!r} of type {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name}={value} must be >= {low}")
    if high is not None and value > high:
        bound = f"{high_what} ({high})" if high_what else str(high)
        raise ValueError(f"{name}={value} exceeds {bound}")
    return value


def check_real(value, name, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a finite float inside the given (half-)open range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {name}={value!r} of type "
                        f"{type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {name}={value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name}={value} must be {'>' if low_open else '>='} {low}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name}={value} must be {'<' if high_open else '<='} {high}")
    return value


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices, key=str)}, got {name}={value!r}")
    return value


def is_all_finite(x):
    """True when the array holds no NaN and no infinity (one pass, no temporaries)."""
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        return True
    if x.dtype.kind == "c":
        return is_all_finite(x.real) and is_all_finite(x.imag)
    if x.dtype not in (np.float32, np.float64):
        return bool(np.isfinite(x).all())
    return bool(_kernels.all_finite(np.ravel(x, order="K")))


def check_array(x, name, *, ndim=None, finite=True, float_only=True, allow_complex=True):
    """Return ``x`` as an ndarray of float32/float64 (or complex), checking it.

    Integer and boolean arrays become float64; float16 becomes float32.  With
    ``finite`` a NaN or infinity raises a ValueError naming ``name``.
    """
    x = np.asarray(x)
    if x.dtype.kind == "c":
        if not allow_complex:
            raise TypeError(f"{name} must be real, got dtype {x.dtype}")
    elif x.dtype.kind in "iub":
        x = x.astype(np.float64)
    elif x.dtype.kind == "f":
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float32 if x.dtype.itemsize < 4 else np.float64)
    elif float_only:
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                             f"got shape {x.shape}")
    if finite and not is_all_finite(x):
        raise ValueError(f"{name} contains NaN or infinity")
    return x


def check_axis(axis, ndim, name="axis"):
    axis = check_int(axis, name)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array of {ndim} dimension(s)")
    return axis % ndim


def as_rng(rng):
    """Normalise ``rng`` (None, int seed, SeedSequence or Generator) to a Generator."""
    if isinstance(rng, np.random.RandomState):
        raise TypeError("rng must be a numpy.random.Generator, an int seed or None; "
                        "legacy RandomState is not accepted (got rng=RandomState(...))")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as err:
        raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got rng={rng!r}") from err


def check_dtype(dtype, name="dtype"):
    """float32 or float64 only (the two precisions every kernel supports)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}={dtype!r} is not a NumPy dtype") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {name}={dtype}")
    return dtype



def check_shape(shape, name="input_shape", *, ndim=(1, 2)):
    """A shape: an int or a tuple of positive ints (no floats, no booleans) of ``ndim`` entries."""
    items = (shape,) if isinstance(shape, (numbers.Integral, np.integer)) else shape
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {name}={shape!r}") from None
    for s in items:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{name} must hold integers, got {name}={shape!r} ({s!r} is a "
                            f"{type(s).__name__})")
    if len(items) not in ((ndim,) if isinstance(ndim, int) else tuple(ndim)) or any(s < 1 for s in items):
        want = " or ".join({1: "(n,)", 2: "a pair (m, n)"}.get(d, f"{d} sizes") for d in
                           ((ndim,) if isinstance(ndim, int) else ndim))
        raise ValueError(f"{name} must be {want} with positive sizes, got {name}={shape!r}")
    return tuple(int(s) for s in items)


def check_callback(callback, name="callback"):
    """None or a callable."""
    if callback is not None and not callable(callback):
        raise TypeError(f"{name} must be callable or None, got {name}={callback!r}")
    return callback


def check_like(value, name, shape, *, what="the unknown", flat_ok=True, dtype=None):
    """None, or a finite array of ``shape`` (or its flat form): a truth, a start ``x0``/``init``.

    The message names ``name`` (``X_true``, ``x0``...), not the parameter of some
    inner function, so that a user sees which of their arguments is wrong.
    """
    if value is None:
        return None
    value = check_array(value, name, allow_complex=False)
    size = int(np.prod(shape))
    if value.shape != tuple(shape) and not (flat_ok and value.shape == (size,)):
        raise ValueError(f"{name} has shape {value.shape} but {what} has shape {tuple(shape)}")
    value = value.reshape(shape)
    return value if dtype is None else value.astype(dtype, copy=False)


def check_safeguard(safeguard, name="safeguard"):
    """NIHT's step safeguard ``(c, kappa)``: 0 < c < 1 and kappa > 1/(1 - c).

    The backtracking divides the step by ``kappa (1 - c)`` each time; it must
    shrink (Blumensath & Davies 2010, Sec. III), else it never ends.
    """
    try:
        c, kappa = safeguard
    except (TypeError, ValueError):
        raise TypeError(f"{name}={safeguard!r} must be a pair (c, kappa)") from None
    c = check_real(c, f"{name}[0]", low=0.0, high=1.0, low_open=True, high_open=True)
    kappa = check_real(kappa, f"{name}[1]")
    if not kappa > 1.0 / (1.0 - c):
        raise ValueError(f"{name}={tuple(safeguard)!r} must have kappa > 1/(1 - c) = {1.0 / (1.0 - c):.6g}, "
                         "so that each backtracking step shrinks the step size")
    return c, kappa


def check_rank(rank, shape, name="rank"):
    """A rank in [0, min(m, n)] for an unknown of ``shape`` (must be a matrix)."""
    if len(shape) != 2:
        raise ValueError(f"{name} needs a matrix unknown, but the operator's input_shape is {shape}")
    return check_int(rank, name, low=0, high=min(shape),
                     high_what=f"min(m, n) of the {shape[0]} x {shape[1]} unknown")


def check_sparsity(sparsity, size, name="sparsity"):
    """A number of nonzeros in [0, size]."""
    return check_int(sparsity, name, low=0, high=size,
                     high_what="the number of entries of the unknown")


def available_memory():
    """Bytes of memory available now (MemAvailable on Linux, else physical)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def check_memory(n_entries, dtype, what, *, hint=""):
    """Raise a MemoryError naming ``what`` and its size when ``n_entries`` of ``dtype``
    would take more than 80 % of the memory available now."""
    need = int(n_entries) * np.dtype(dtype).itemsize
    have = available_memory()
    if need > 0.8 * have:
        raise MemoryError(f"{what} needs {need / 2**30:.3g} GiB ({int(n_entries)} {np.dtype(dtype)} "
                          f"entries) but only {have / 2**30:.3g} GiB is available{hint}")
