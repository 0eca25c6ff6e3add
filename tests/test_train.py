"""The trainer: dry run, determinism, and learning a problem it must learn."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import gan8
from gan8 import nets
from gan8.cli import main
from gan8.train import Adam, TrainConfig, train


def _tiny_images(n=16, seed=0):
    rng = np.random.default_rng(seed)
    images = np.ones((n, 28, 28), np.float32)
    for i, (r, c) in enumerate(rng.integers(6, 16, (n, 2))):
        images[i, r:r + 8, c:c + 4] = 0.0   # a bar of ink, somewhere in the middle
    return images


def test_dry_run_writes_loadable_weights(tmp_path, monkeypatch, capsys):
    import gan8.data

    monkeypatch.setattr(gan8.data, "load_digits", lambda: gan8.data.Digits(
        train_eights=_tiny_images(32), heldout_eights=_tiny_images(4, 1), others=_tiny_images(4, 2),
        other_labels=np.zeros(4, np.int64)))
    out = tmp_path / "w.mat"
    assert main(["train", "--out", str(out), "--seed", "3", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "step" in text and "loss_d" in text and "left" in text
    g = gan8.load_weights(out)
    assert g.metadata["seed"] == "3" and g.metadata["source"] == "gan8.train"


@pytest.mark.parametrize("options", [{}, {"d_conv": None}, {"cutout": 8, "cutout_p": 0.5, "cutout_fade": True,
                                                "instance_noise": 0.1, "d_dropout": 0.3, "mbstd_group": 4,
                                                "d_conv": (5, 3, 4), "lecam": 0.1, "warp_elastic": 1.0,
                                                "real_elastic": 1.0, "real_label": 0.9, "mmd": 1.0}])
def test_training_is_deterministic_for_a_seed(options):
    config = dataclasses.replace(TrainConfig(), steps=30, batch=8, d_hidden=(16, 8), log_every=10, **options)
    a, history_a = train(_tiny_images(), config, seed=5, log=None)
    b, history_b = train(_tiny_images(), config, seed=5, log=None)
    c, _ = train(_tiny_images(), config, seed=6, log=None)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert history_a == [dict(h, seconds=h2["seconds"]) for h, h2 in zip(history_b, history_a, strict=True)]


def test_every_training_option_changes_the_training():
    base = dataclasses.replace(TrainConfig(), steps=30, batch=8, d_hidden=(16, 8))
    options = ({}, {"cutout": 8}, {"cutout": 8, "cutout_fade": True}, {"instance_noise": 0.1},
               {"mode_seeking": 0.1}, {"mode_seeking": 0.1, "mode_seeking_distance": "rms"},
               {"mode_seeking": 0.1, "mode_seeking_distance": "rms", "mode_seeking_fade": True},
               {"d_dropout": 0.3}, {"mbstd_group": 4}, {"mbstd_group": 0}, {"d_conv": (5, 3, 4)}, {"d_conv": (4, 2, 4)},
               {"d_conv": None}, {"warp_elastic": 1.0}, {"real_elastic": 1.0},
               {"real_elastic": 1.0, "real_elastic_p": 1.0}, {"warp_elastic": 1.0, "elastic_sigma": 2.0},
               {"lecam": 0.1}, {"lecam": 0.1, "lecam_decay": 0.5}, {"topk": 0.5}, {"real_label": 0.9},
               {"mmd": 1.0}, {"mmd": 3.0})
    runs = [train(_tiny_images(), dataclasses.replace(base, **o), seed=5, log=None)[0].fingerprint for o in options]
    assert len(set(runs)) == len(options)


def test_negative_data_changes_the_training_deterministically_and_needs_negatives():
    base = dataclasses.replace(TrainConfig(), steps=30, batch=8, d_hidden=(16, 8), log_every=10)
    negatives = _tiny_images(12, seed=9).transpose(0, 2, 1)  # bars lying on their side
    plain, _ = train(_tiny_images(), base, seed=5, log=None, others=negatives)
    config = dataclasses.replace(base, negative_data=0.5)
    a, history_a = train(_tiny_images(), config, seed=5, log=None, others=negatives)
    b, history_b = train(_tiny_images(), config, seed=5, log=None, others=negatives)
    heavier, _ = train(_tiny_images(), dataclasses.replace(base, negative_data=2.0), seed=5, log=None,
                       others=negatives)
    assert a.fingerprint == b.fingerprint
    assert len({plain.fingerprint, a.fingerprint, heavier.fingerprint}) == 3
    assert [h["loss_d"] for h in history_a] == [h["loss_d"] for h in history_b]
    with pytest.raises(ValueError, match="needs images of other digits; got none"):
        train(_tiny_images(), config, seed=5, log=None)
    with pytest.raises(ValueError, match="negative_data must be >= 0, got -1"):
        train(_tiny_images(), dataclasses.replace(base, negative_data=-1.0), seed=5, log=None, others=negatives)


def test_pretraining_on_other_digits_changes_the_training_deterministically_and_is_checked():
    base = dataclasses.replace(TrainConfig(), steps=30, batch=8, d_hidden=(16, 8), log_every=10)
    others = _tiny_images(12, seed=9).transpose(0, 2, 1)
    plain, _ = train(_tiny_images(), base, seed=5, log=None, others=others)
    runs = [train(_tiny_images(), dataclasses.replace(base, pretrain_steps=p), seed=5, log=None, others=others)[0]
            for p in (10, 10, 20)]
    assert runs[0].fingerprint == runs[1].fingerprint
    assert len({plain.fingerprint, runs[0].fingerprint, runs[2].fingerprint}) == 3
    with pytest.raises(ValueError, match="pretrain_steps = 10 needs images of other digits"):
        train(_tiny_images(), dataclasses.replace(base, pretrain_steps=10), seed=5, log=None)
    with pytest.raises(ValueError, match=r"pretrain_steps must be in \[0, steps = 30\), got 30"):
        train(_tiny_images(), dataclasses.replace(base, pretrain_steps=30), seed=5, log=None, others=others)
    with pytest.raises(ValueError, match="opposite roles"):
        train(_tiny_images(), dataclasses.replace(base, pretrain_steps=10, negative_data=0.5), seed=5, log=None,
              others=others)


@pytest.mark.parametrize(("option", "message"), [
    ({"warp_elastic": -1.0}, r"elastic distortions need RMS >= 0 and sigma > 0 pixels, got warp_elastic -1.0"),
    ({"real_elastic": -0.5}, r"got warp_elastic 0.0, real_elastic -0.5, sigma 4.0"),
    ({"warp_elastic": 1.0, "elastic_sigma": 0.0}, r"real_elastic 0.0, sigma 0.0"),
    ({"mbstd_group": -1}, r"mbstd_group must be 0 \(none\) or a size that divides the batch; got batch 8, "
                          r"mbstd_group -1"),
    ({"mbstd_group": 3}, r"got batch 8, mbstd_group 3"),
    ({"lecam": -0.1}, r"lecam needs a weight >= 0 and a decay in \[0, 1\); got -0.1, 0.99"),
    ({"lecam": 0.1, "lecam_decay": 1.0}, r"got 0.1, 1.0"),
    ({"real_elastic": 1.0, "real_elastic_p": 1.5}, r"real_elastic_p is a share of images, in \[0, 1\]; got 1.5"),
    ({"topk": 0.0}, r"topk is a share of the generator's batch, in \(0, 1\]; got 0.0"),
    ({"real_label": 0.4}, r"real_label must be in \(0.5, 1\] and mmd >= 0; got real_label 0.4, mmd 0.0"),
    ({"mmd": -1.0}, r"got real_label 1.0, mmd -1.0"),
])
def test_bad_options_are_refused(option, message):
    config = dataclasses.replace(TrainConfig(), steps=5, batch=8, **option)
    with pytest.raises(ValueError, match=message):
        train(_tiny_images(), config, seed=0, log=None)


def test_elastic_options_at_zero_leave_the_run_unchanged_and_are_deterministic():
    base = dataclasses.replace(TrainConfig(), steps=30, batch=8, d_hidden=(16, 8), log_every=10)
    plain, _ = train(_tiny_images(), base, seed=5, log=None)
    zero, _ = train(_tiny_images(), dataclasses.replace(base, real_elastic_p=0.9, elastic_sigma=2.0), seed=5,
                    log=None)
    assert zero.fingerprint == plain.fingerprint          # no distortion: no extra random draws either
    config = dataclasses.replace(base, warp_elastic=1.0, real_elastic=1.0)
    a, b = (train(_tiny_images(), config, seed=5, log=None)[0] for _ in range(2))
    assert a.fingerprint == b.fingerprint != plain.fingerprint


@pytest.mark.parametrize("d_conv", [(5, 3), (5, 3, 0), (0, 3, 4)])
def test_a_malformed_convolution_is_refused(d_conv):
    config = dataclasses.replace(TrainConfig(), steps=5, batch=8, d_conv=d_conv)
    with pytest.raises(ValueError, match=r"d_conv must be \(kernel, stride, channels\), each >= 1, or None; got"):
        train(_tiny_images(), config, seed=0, log=None)


def test_paper_mask_keeps_never_inked_pixels_paper():
    config = dataclasses.replace(TrainConfig(), steps=40, batch=8, d_hidden=(16, 8), paper_mask=True)
    images = _tiny_images()
    g, _ = train(images, config, seed=0, log=None)
    blank = np.all(images >= 1.0, axis=0)
    samples = g.generate(gan8.sample_latents(50, 0, psi=2.0))
    assert samples[:, blank].min() > 0.999


def test_generator_learns_a_fixed_target_with_adam():
    """Regression through the hand-written backward pass: the loss must fall by 100x."""
    rng = np.random.default_rng(0)
    target = _tiny_images(1)[0].T.reshape(1, 784)          # column-major, like the trainer
    p = nets.init_generator(rng, np.full(784, 0.9), 1e-5, dtype=np.float64)
    opt = Adam(p, 1e-2, 0.9, 0.999)
    z = rng.standard_normal((8, 10))
    losses = []
    for _ in range(300):
        x, cache = nets.generator_forward(p, z)
        losses.append(float(np.mean((x - target) ** 2)))
        opt.step(p, nets.generator_backward(p, cache, 2 * (x - target) / x.size))
    assert losses[-1] < losses[0] / 100


def test_feature_discriminator_changes_the_training_deterministically_and_needs_features():
    from gan8.feature_disc import FrozenFeatures

    rng = np.random.default_rng(2)
    features = FrozenFeatures(W=(rng.standard_normal((784, 12)) * 0.05).astype(np.float32),
                              b=np.zeros(12, np.float32))
    base = dataclasses.replace(TrainConfig(), steps=30, batch=8, d_hidden=(16, 8), log_every=10)
    plain, _ = train(_tiny_images(), base, seed=5, log=None, features=features)
    config = dataclasses.replace(base, feature_d=1.0, feature_d_hidden=8)
    a, b = (train(_tiny_images(), config, seed=5, log=None, features=features)[0] for _ in range(2))
    lighter, _ = train(_tiny_images(), dataclasses.replace(config, feature_d=0.3), seed=5, log=None,
                       features=features)
    assert a.fingerprint == b.fingerprint
    assert len({plain.fingerprint, a.fingerprint, lighter.fingerprint}) == 3
    with pytest.raises(ValueError, match="got feature_d 1.0, features none"):
        train(_tiny_images(), config, seed=5, log=None)
    with pytest.raises(ValueError, match="feature_d must be >= 0"):
        train(_tiny_images(), dataclasses.replace(base, feature_d=-1.0), seed=5, log=None, features=features)


def test_top_k_gradient_keeps_the_best_share_of_the_batch():
    from gan8.train import _top_k_gradient

    out = np.array([0.5, -1.0, 2.0, 0.0])
    full = -1 / (1 + np.exp(out)) / 4                    # d/dout of mean softplus(-out)
    np.testing.assert_allclose(_top_k_gradient(out, 1.0), full)
    half = _top_k_gradient(out, 0.5)                     # the two highest logits, 2.0 and 0.5, averaged
    np.testing.assert_allclose(half, [-1 / (1 + np.exp(0.5)) / 2, 0, -1 / (1 + np.exp(2.0)) / 2, 0])
    assert np.count_nonzero(_top_k_gradient(out, 0.01)) == 1   # at least one sample
