"""Helpers shared by the benchmark scripts: weights to time, and medians of repeated timings."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gan8  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference" / "data21.mat"


def benchmark_generator() -> gan8.Generator:
    """The reference data21.mat when it is beside the checkout, else the bundled weights."""
    return gan8.load_weights(REFERENCE if REFERENCE.is_file() else None)


def interleaved_seconds(fns: dict, repeats: int = 7, warmup: int = 1) -> dict[str, list[float]]:
    """Time each of ``fns`` once per round, in turn, for ``repeats`` rounds.

    Returns the per-round times of each function. On a noisy machine a ratio of two
    functions is best taken per round (both saw the same load) and then its median.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of numerator / denominator (lists from ``interleaved_seconds``)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))
