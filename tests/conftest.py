"""Shared fixtures: small random weights, files holding them, and the reference data21.mat."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import gan8

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_WEIGHTS = ROOT.parent / "shared" / "reference" / "data21.mat"
REFERENCE_GRID = ROOT.parent / "shared" / "reference" / "data21_grid_seed0.png"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def random_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Weights in the file layout, scaled so that outputs span ink and paper."""
    rng = np.random.default_rng(seed)
    return {
        "A_1": rng.normal(0, 0.5, (128, 10)),
        "B_1": rng.normal(0, 0.5, (128, 1)),
        "A_2": rng.normal(0, 0.3, (784, 128)),
        "B_2": rng.normal(0, 1.0, (784, 1)),
    }


@pytest.fixture
def weights() -> dict[str, np.ndarray]:
    return random_weights(0)


@pytest.fixture
def generator(weights) -> gan8.Generator:
    return gan8.Generator(**weights)


@pytest.fixture
def weights_file(tmp_path, generator) -> Path:
    path = tmp_path / "weights.mat"
    gan8.save_weights(path, generator, source="random test weights")
    return path


@pytest.fixture
def reference_weights() -> Path:
    """The original data21.mat from ../shared; CI always has it, so there it is never skipped."""
    if not REFERENCE_WEIGHTS.is_file():
        if IN_CI:
            pytest.fail(f"CI must have the reference weights at {REFERENCE_WEIGHTS}")
        pytest.skip("../shared/reference/data21.mat is not beside this checkout")
    return REFERENCE_WEIGHTS


def formula_loop(weights: dict[str, np.ndarray], z: np.ndarray) -> np.ndarray:
    """The original MATLAB formula, one column vector at a time, in float64.

    z : (n, 10) -> images (n, 28, 28), upright.
    """
    images = []
    for zi in z:
        col = zi.reshape(10, 1)
        w1 = weights["A_1"] @ col + weights["B_1"].reshape(-1, 1)
        z1 = np.maximum(w1, 0)
        w2 = weights["A_2"] @ z1 + weights["B_2"].reshape(-1, 1)
        x = 1.0 / (1.0 + np.exp(w2))
        images.append(x.reshape(28, 28, order="F"))
    return np.array(images)
