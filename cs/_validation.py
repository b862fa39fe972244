"""Argument checks shared by every public function (scikit-learn style).

Each check names the argument, what was expected and what was received, and
returns the normalised value, so a public function reads as a list of checks
followed by a call to its kernel.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _kernels


def check_int(value, name, *, low=None, high=None, high_what=None):
    """Return ``value`` as an int in [low, high], else raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
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
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name}={value} must be {'>' if low_open else '>='} {low}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name}={value} must be {'<' if high_open else '<='} {high}")
    return value


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def is_all_finite(x):
    """True when the array holds no NaN and no infinity (one pass, no temporaries)."""
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        return True
    if x.dtype.kind == "c":
        x = x.view(x.real.dtype)
    if x.dtype not in (np.float32, np.float64):
        return bool(np.isfinite(x).all())
    return _kernels.all_finite(np.ravel(x))


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
                        "legacy RandomState is not accepted")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as err:
        raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {rng!r}") from err


def check_dtype(dtype, name="dtype"):
    """float32 or float64 only (the two precisions every kernel supports)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {dtype}")
    return dtype


def check_problem(A, b, *, input_shape=None, b_name="b"):
    """Return ``(operator, b)`` after checking that they fit together.

    ``A`` is anything :func:`cs.operators.as_operator` accepts; ``b`` must be a
    finite vector with one entry per measurement.
    """
    from .operators import as_operator  # operators imports this module

    A = as_operator(A, input_shape)
    b = check_array(b, b_name, ndim=1)
    if b.size != A.n_measurements:
        raise ValueError(f"{b_name} has {b.size} entries but the operator makes "
                         f"{A.n_measurements} measurements")
    return A, b


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
