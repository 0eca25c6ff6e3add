"""Caps on what one request may ask for, and the checks that enforce them.

A public page serves many people from one small machine; these bounds keep any single request
(through the page, the CLI or the API) inside a predictable time and memory budget.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["MAX_GRID_SIDE", "MAX_FRAMES", "MAX_STATS_SAMPLES", "MAX_SAMPLES", "MAX_PSI",
           "MAX_SCALE", "check_count", "check_psi"]

MAX_GRID_SIDE = 32            # rows and cols of a grid (tile allows any shape of at most 32^2 cells)
MAX_FRAMES = 600              # interpolation frames: 20 s at 30 fps
MAX_STATS_SAMPLES = 10_000_000  # streamed, so memory is flat; about 10 s per 1,000,000 on 2 cores
MAX_SAMPLES = 100_000         # samples returned as one array: 100,000 x 784 float32 = 314 MB
MAX_PSI = 4.0                 # |z| beyond 4 sigma in every direction is never seen in training
MAX_SCALE = 16                # PNG enlargement factor


def check_count(name: str, value, minimum: int = 0, maximum: int | None = None) -> int:
    """Return ``value`` as an int if it is a whole number in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, found {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum:,}" if maximum is not None else ""
        raise ValueError(f"{name} must be at least {minimum}{upper}, found {value:,}")
    return value


def check_psi(psi) -> float:
    """Return the truncation factor as a float if it is finite and in [0, MAX_PSI]."""
    try:
        value = float(psi)
    except (TypeError, ValueError):
        raise ValueError(f"psi must be a number, found {psi!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= MAX_PSI:
        raise ValueError(f"psi must be between 0 and {MAX_PSI}, found {psi!r}")
    return value
