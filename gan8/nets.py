"""Hand-written forward and backward passes for GAN training (numpy, float32 or float64).

Images travel as flat vectors in the MAT file's column-major pixel order (shape (B, 784)), so
the generator's parameters are exactly the file's A_1, B_1, A_2, B_2 up to a transpose:
W1 = A_1.T, W2 = A_2.T.

Generator:     a1 = z W1 + b1,  h = relu(a1),  o = h W2 + b2,  x = 1 / (1 + exp(o))
Discriminator: u = 1 - x (ink),  h1 = lrelu(u V1 + c1),  h2 = lrelu(h1 V2 + c2),  d = h2 v3 + c3
               (or, with a convolution table, layer 1 is the convolution of u with kernels K1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.special import expit

__all__ = ["init_generator", "init_discriminator", "generator_forward", "generator_backward",
           "discriminator_forward", "conv_table", "dropout_masks", "discriminator_backward", "r1_penalty",
           "lecam_penalty", "smoothness_penalty",
           "total_variation", "mode_seeking", "mmd_penalty", "real_loss",
           "translation_tables", "translate", "translate_backward", "cutout_masks", "cutout", "cutout_backward",
           "affine_table", "elastic_displacement", "warp_tables", "warp", "warp_backward",
           "params_to_generator", "generator_to_params"]

Params = dict[str, np.ndarray]


def init_generator(rng: np.random.Generator, mean_image_flat: np.ndarray, bias_clip: float,
                   dtype=np.float32) -> Params:
    """He-initialised first layer; a small second layer; the output bias set so that the
    initial output is the mean training image m: with x = sigmoid(-o), b2 = log((1 - m) / m).

    mean_image_flat : ndarray, shape (784,), column-major, 1 = paper.
    """
    m = np.clip(mean_image_flat, bias_clip, 1.0 - bias_clip)
    return {
        "W1": (rng.standard_normal((10, 128)) * np.sqrt(2.0 / 10)).astype(dtype),
        "b1": np.zeros(128, dtype),
        "W2": (rng.standard_normal((128, 784)) * 0.01).astype(dtype),
        "b2": np.log((1.0 - m) / m).astype(dtype),
    }


def init_discriminator(rng: np.random.Generator, hidden: tuple[int, int], leak: float,
                       dtype=np.float32, mbstd: bool = False, conv: np.ndarray | None = None,
                       channels: int = 0) -> Params:
    """He-initialised layers; with ``mbstd``, also the minibatch-std feature's weights ``ws``
    (H2,), starting at 0 so that the feature comes in as the discriminator learns to use it.

    With a ``conv`` table (``conv_table``, shape (P, k*k)), layer 1 is a convolution with
    ``channels`` kernels: K1 (k*k, channels) and c1 (channels,), and H1 = P * channels
    (``hidden[0]`` is not used).
    """
    gain = np.sqrt(2.0 / (1.0 + leak**2))
    h1, h2 = hidden
    if conv is None:
        first = {"V1": (rng.standard_normal((784, h1)) * gain / np.sqrt(784)).astype(dtype),
                 "c1": np.zeros(h1, dtype)}
    else:
        positions, taps = conv.shape
        h1 = positions * channels
        first = {"K1": (rng.standard_normal((taps, channels)) * gain / np.sqrt(taps)).astype(dtype),
                 "c1": np.zeros(channels, dtype)}
    p = {
        **first,
        "V2": (rng.standard_normal((h1, h2)) * gain / np.sqrt(h1)).astype(dtype),
        "c2": np.zeros(h2, dtype),
        "v3": (rng.standard_normal(h2) / np.sqrt(h2)).astype(dtype),
        "c3": np.zeros(1, dtype),
    }
    if mbstd:
        p["ws"] = np.zeros(h2, dtype)
    return p


@dataclass
class GeneratorCache:
    z: np.ndarray
    a1: np.ndarray
    h: np.ndarray
    x: np.ndarray


def generator_forward(p: Params, z: np.ndarray) -> tuple[np.ndarray, GeneratorCache]:
    """z (B, 10) -> x (B, 784) column-major, in (0, 1)."""
    a1 = z @ p["W1"] + p["b1"]
    h = np.maximum(a1, 0)
    x = expit(-(h @ p["W2"] + p["b2"]))
    return x, GeneratorCache(z, a1, h, x)


def generator_backward(p: Params, cache: GeneratorCache, dx: np.ndarray) -> Params:
    """Gradients of the generator's parameters given dL/dx (B, 784)."""
    do = -dx * cache.x * (1.0 - cache.x)  # d/do of 1 / (1 + exp(o)) is -x (1 - x)
    dh = do @ p["W2"].T
    da1 = dh * (cache.a1 > 0)
    return {"W1": cache.z.T @ da1, "b1": da1.sum(0), "W2": cache.h.T @ do, "b2": do.sum(0)}


@dataclass
class MinibatchStd:
    """What the backward pass needs of the minibatch-std feature: group size, deviations from the
    group mean (B, H1), per-feature group std (B // group, H1) and the feature itself (B,)."""
    group: int
    centred: np.ndarray
    std: np.ndarray
    feature: np.ndarray


@dataclass
class DiscriminatorCache:
    u: np.ndarray    # ink (B, 784); with a convolution, its patches (B, P, k*k)
    s1: np.ndarray   # leaky-ReLU slopes of layer 1, (B, H1)
    h1: np.ndarray
    s2: np.ndarray
    h2: np.ndarray
    mbstd: MinibatchStd | None = None
    conv: np.ndarray | None = None  # the convolution table, (P, k*k)


def conv_table(kernel: int, stride: int) -> np.ndarray:
    """Patch gather indices of a ``kernel`` x ``kernel`` convolution with ``stride`` over the
    28 x 28 image, padded by ``(kernel - stride) // 2`` pixels of paper on each side.

    Returns ndarray, shape (P, kernel * kernel), int64, P = side^2 with side =
    (28 + 2 pad - kernel) // stride + 1: row p lists the column-major pixels of output position p's
    patch (rows within columns), with 784 standing for the paper outside the image.
    """
    if kernel < 1 or stride < 1 or kernel > 28:
        raise ValueError(f"convolution needs 1 <= kernel <= 28 and stride >= 1, found kernel {kernel}, "
                         f"stride {stride}")
    pad = max(kernel - stride, 0) // 2
    side = (28 + 2 * pad - kernel) // stride + 1
    start = np.arange(side) * stride - pad
    dr, dc = np.meshgrid(np.arange(kernel), np.arange(kernel), indexing="xy")  # rows vary fastest
    dr, dc = dr.ravel(), dc.ravel()
    top, left = np.meshgrid(start, start, indexing="xy")
    r = top.ravel()[:, None] + dr[None, :]
    c = left.ravel()[:, None] + dc[None, :]
    inside = (r >= 0) & (r < 28) & (c >= 0) & (c < 28)
    return np.where(inside, c * 28 + r, 784).astype(np.int64)


def _patches(u: np.ndarray, conv: np.ndarray) -> np.ndarray:
    """u (B, 784) -> (B, P, k*k), 0 (no ink) outside the image."""
    padded = np.concatenate([u, np.zeros((len(u), 1), u.dtype)], axis=1)
    return padded[:, conv]


def _layer1(p: Params, u: np.ndarray, conv: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Layer 1 without its bias: u (B, 784) -> (B, H1), and what its weight gradient needs."""
    if conv is None:
        return u @ p["V1"], u
    patches = _patches(u, conv)
    return (patches @ p["K1"]).reshape(len(u), -1), patches


def _layer1_transpose(p: Params, y: np.ndarray, conv: np.ndarray | None) -> np.ndarray:
    """The adjoint of layer 1: y (B, H1) -> (B, 784)."""
    if conv is None:
        return y @ p["V1"].T
    b, positions = len(y), conv.shape[0]
    dpatches = y.reshape(b, positions, -1) @ p["K1"].T               # (B, P, k*k)
    return _scatter_to_pixels(conv[None], dpatches)


def _scatter_to_pixels(index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` (B, m, k) into images (B, 784) at pixel ``index`` (B or 1, m, k); index 784
    stands for the paper outside the image and is dropped."""
    b = len(values)
    flat = (index + 785 * np.arange(b)[:, None, None]).ravel()
    out = np.bincount(flat, weights=values.ravel(), minlength=785 * b)
    return out.reshape(b, 785)[:, :784].astype(values.dtype, copy=False)


def _layer1_grads(inputs: np.ndarray, y: np.ndarray, conv: np.ndarray | None) -> Params:
    """Gradients of sum(y * layer1(u)) for the weights, given ``inputs`` from ``_layer1``."""
    if conv is None:
        return {"V1": inputs.T @ y}
    taps = conv.shape[1]
    return {"K1": inputs.reshape(-1, taps).T @ y.reshape(inputs.shape[0] * conv.shape[0], -1)}


def _add_bias1(a1: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """a1 (B, H1) + the layer-1 biases c1 (C,), one per unit (C = H1) or per channel (H1 = P * C)."""
    return (a1.reshape(len(a1), -1, len(c1)) + c1).reshape(len(a1), -1)


def _bias1_grad(da1: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """The gradient of ``_add_bias1`` for c1, given dL/da1 (B, H1)."""
    return da1.reshape(-1, len(c1)).sum(0)


def discriminator_forward(p: Params, x: np.ndarray, leak: float, dropout: tuple[np.ndarray, np.ndarray] | None = None,
                          mbstd_group: int = 0,
                          conv: np.ndarray | None = None) -> tuple[np.ndarray, DiscriminatorCache]:
    """x (B, 784), 1 = paper -> logits (B,), high = real.

    dropout : optional (B, H1) and (B, H2) multipliers of the hidden units (``dropout_masks``). They
        scale the leaky-ReLU slopes, so the backward pass and the R1 penalty see the thinned network.
    mbstd_group : if > 0, the minibatch standard deviation (Karras et al. 2018) of ProGAN/StyleGAN:
        for each group of ``mbstd_group`` consecutive samples (B must be a multiple), the std of
        each layer-1 feature over the group, averaged over features, enters layer 2 as one more
        input with weights ``p["ws"]`` (H2,). A generator that draws too alike a batch shows a low
        value, which the discriminator can learn to tell from real batches.
    conv : optional ``conv_table``: layer 1 is then a convolution with kernels ``p["K1"]`` (k*k, C)
        and per-channel biases ``p["c1"]`` (C,); its (B, P, C) output is flattened to H1 = P * C.
    """
    u = 1.0 - x
    a1, inputs = _layer1(p, u, conv)
    a1 = _add_bias1(a1, p["c1"])
    s1 = np.where(a1 > 0, 1.0, leak).astype(x.dtype)
    if dropout is not None:
        s1 *= dropout[0]
    h1 = a1 * s1
    a2 = h1 @ p["V2"] + p["c2"]
    mbstd = None
    if mbstd_group:
        b, h = h1.shape
        if b % mbstd_group:
            raise ValueError(f"batch must be a multiple of the minibatch-std group {mbstd_group}, found {b}")
        grouped = h1.reshape(b // mbstd_group, mbstd_group, h)
        centred = grouped - grouped.mean(axis=1, keepdims=True)
        std = np.sqrt(np.mean(centred * centred, axis=1) + 1e-8)
        feature = np.repeat(std.mean(axis=1), mbstd_group)
        a2 += feature[:, None] * p["ws"]
        mbstd = MinibatchStd(mbstd_group, centred.reshape(b, h), std, feature)
    s2 = np.where(a2 > 0, 1.0, leak).astype(x.dtype)
    if dropout is not None:
        s2 *= dropout[1]
    h2 = a2 * s2
    return h2 @ p["v3"] + p["c3"][0], DiscriminatorCache(inputs, s1, h1, s2, h2, mbstd, conv)


def dropout_masks(rng: np.random.Generator, batch: int, hidden: tuple[int, int], rate: float,
                  dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Inverted-dropout multipliers for the discriminator's two hidden layers: each unit of each
    sample is dropped (0) with probability ``rate`` and otherwise kept at 1 / (1 - rate), so a
    unit's expected output is unchanged. Returns (batch, H1) and (batch, H2) arrays."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), found {rate}")
    scale = 1.0 / (1.0 - rate)
    return tuple(np.where(rng.random((batch, h)) >= rate, scale, 0.0).astype(dtype) for h in hidden)


def discriminator_backward(p: Params, cache: DiscriminatorCache, dout: np.ndarray,
                           need_params: bool = True) -> tuple[Params | None, np.ndarray]:
    """Given dL/dlogits (B,), the parameter gradients (or None) and dL/dx (B, 784)."""
    da2 = np.outer(dout, p["v3"]) * cache.s2
    dh1 = da2 @ p["V2"].T
    m = cache.mbstd
    if m is not None:  # d feature_i / d h1_jf = (h1_jf - group mean_f) / (G * H1 * std_f) within i's group
        b, h = dh1.shape
        dfeature = (da2 @ p["ws"]).reshape(b // m.group, m.group).sum(axis=1)
        scale = dfeature[:, None] / (m.group * h * m.std)
        dh1 += m.centred * np.repeat(scale, m.group, axis=0)
    da1 = dh1 * cache.s1
    dx = -_layer1_transpose(p, da1, cache.conv)
    if not need_params:
        return None, dx
    grads = {**_layer1_grads(cache.u, da1, cache.conv), "c1": _bias1_grad(da1, p["c1"]),
             "V2": cache.h1.T @ da2, "c2": da2.sum(0),
             "v3": cache.h2.T @ dout, "c3": np.array([dout.sum()], dtype=dout.dtype)}
    if m is not None:
        grads["ws"] = m.feature @ da2
    return grads, dx


def r1_penalty(p: Params, cache: DiscriminatorCache, gamma: float) -> tuple[float, Params]:
    """R1 = gamma / 2 * mean over the batch of |d logit / d x|^2, and its parameter gradients.

    With the slopes s1, s2 fixed (they are piecewise constant in the parameters), the input
    gradient is g = V1 (s1 * (V2 (s2 * v3))): multilinear, so its gradient is closed form and no
    second-order differentiation is needed. A convolutional layer 1 is linear in the ink and in its
    kernels too, so the same holds with V1 read as the convolution's adjoint. With a minibatch-std
    feature, g is the gradient along each sample's own path, the feature held fixed (it couples the
    samples of a group, and its input gradient is not multilinear); the feature's weights ``ws``
    get no gradient from R1.
    """
    n = cache.u.shape[0]
    q2 = cache.s2 * p["v3"]            # (B, H2)
    q1 = cache.s1 * (q2 @ p["V2"].T)   # (B, H1)
    g = _layer1_transpose(p, q1, cache.conv)  # (B, 784)
    value = 0.5 * gamma * float(np.sum(g * g)) / n
    dg = (gamma / n) * g
    dq1, dg_inputs = _layer1(p, dg, cache.conv)
    dp1 = dq1 * cache.s1
    dq2 = dp1 @ p["V2"]
    zeros = {k: np.zeros_like(p[k]) for k in ("c1", "c2", "c3", "ws") if k in p}
    return value, {**_layer1_grads(dg_inputs, q1, cache.conv), "V2": dp1.T @ q2,
                   "v3": np.sum(dq2 * cache.s2, axis=0), **zeros}


def lecam_penalty(out_real: np.ndarray, out_fake: np.ndarray, anchor_real: float, anchor_fake: float,
                  weight: float) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    """LeCam regulariser (Tseng et al. 2021) on discriminator logits out_real (B,) and out_fake (B',):
    weight * (mean (out_real - anchor_fake)^2 + mean (out_fake - anchor_real)^2), where the anchors
    are moving averages of the mean logits, held constant here.

    Returns the value and its gradients for out_real and out_fake.
    """
    to_fake, to_real = out_real - anchor_fake, out_fake - anchor_real
    value = weight * float(np.mean(to_fake**2) + np.mean(to_real**2))
    return value, (2 * weight * to_fake / len(out_real), 2 * weight * to_real / len(out_fake))


def smoothness_penalty(W2: np.ndarray, weight: float) -> tuple[float, np.ndarray]:
    """weight * mean over hidden units of the sum of squared differences between neighbouring
    pixels of the unit's output pattern, and its gradient.

    W2 : (H, 784) column-major patterns. Grainy patterns make salt-and-pepper speckle in every
    sample; this prior prefers smooth strokes and costs nothing at generation time.
    """
    h = W2.shape[0]
    m = W2.reshape(h, 28, 28)  # (unit, column, row): transposed images, which is fine for a symmetric penalty
    d0 = np.diff(m, axis=1)
    d1 = np.diff(m, axis=2)
    value = weight * float(np.sum(d0 * d0) + np.sum(d1 * d1)) / h
    return value, (2.0 * weight / h) * _differences_adjoint(d0, d1)


def total_variation(x: np.ndarray, weight: float) -> tuple[float, np.ndarray]:
    """weight * mean over the batch of the anisotropic total variation of each image, and dL/dx.

    x : (B, 784) column-major images. Total variation is the sum of absolute differences between
    neighbouring pixels: an isolated dot of ink costs four times its ink, a stroke's edge only its
    length, so the penalty removes dust and grain without blurring edges as a squared penalty does.
    """
    b = x.shape[0]
    m = x.reshape(b, 28, 28)
    d0 = np.diff(m, axis=1)
    d1 = np.diff(m, axis=2)
    value = weight * float(np.abs(d0).sum() + np.abs(d1).sum()) / b
    return value, (weight / b) * _differences_adjoint(np.sign(d0), np.sign(d1))


def mode_seeking(x: np.ndarray, z: np.ndarray, weight: float,
                 distance: str = "l1") -> tuple[float, np.ndarray]:
    """The mode-seeking term of MSGAN (Mao et al. 2019), -weight * mean over pairs of
    d(x_i, x_j) / d_z(z_i, z_j), and dL/dx.

    x : (B, 784) images of the latents z : (B, 10); sample i is paired with sample i + B // 2 (an
    odd last sample is left out). d_z is the mean absolute difference of the latents; d is that of
    the images ("l1", as in MSGAN) or their root-mean-square difference ("rms"). Minimising the
    term pushes apart the images of distinct latents. The L1 distance pushes every pixel with
    the same force, nearly equal paper included; the RMS distance pushes each pixel in proportion
    to how much it already differs, so it moves strokes rather than adding dust.
    """
    if distance not in ("l1", "rms"):
        raise ValueError(f"distance must be 'l1' or 'rms', found {distance!r}")
    half, pixels = x.shape[0] // 2, x.shape[1]
    difference = x[:half] - x[half:2 * half]
    distance_z = np.abs(z[:half] - z[half:2 * half]).mean(axis=1, keepdims=True)
    if distance == "l1":  # d and its gradient times the number of pixels, per pair
        d = np.abs(difference).mean(axis=1, keepdims=True)
        direction = np.sign(difference)
    else:
        d = np.sqrt(np.square(difference).mean(axis=1, keepdims=True))
        direction = np.divide(difference, d, out=np.zeros_like(difference), where=d > 0)
    grad = np.zeros_like(x)
    grad[:half] = (-weight / (half * pixels)) * direction / distance_z
    grad[half:2 * half] = -grad[:half]
    value = -weight * float((d / distance_z).mean())
    return value, grad


def mmd_penalty(x: np.ndarray, y: np.ndarray, weight: float, scales: tuple[float, ...] = (0.5, 1.0, 2.0),
                bandwidth: float | None = None) -> tuple[float, np.ndarray]:
    """weight * the unbiased squared MMD between generated images x (n, D) and real images y (m, D),
    and its gradient for x (the real images are constants).

    The kernel is a sum of Gaussians exp(-|a - b|^2 / (2 s^2)), one for each s^2 = scale *
    ``bandwidth``; by default the bandwidth is the median squared distance between all n + m images
    (the median heuristic, held constant in the gradient). An MMD term pulls the whole batch
    towards the real distribution, covering modes the discriminator lets the generator drop
    (MMD GAN, Li et al. 2017).
    """
    n, m = x.shape[0], y.shape[0]
    if n < 2 or m < 2:
        raise ValueError(f"mmd needs at least 2 images on each side, found {n} generated and {m} real")
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    sq_x, sq_y = np.sum(xd * xd, axis=1), np.sum(yd * yd, axis=1)
    d_xx = np.maximum(sq_x[:, None] + sq_x[None, :] - 2 * xd @ xd.T, 0.0)
    d_xy = np.maximum(sq_x[:, None] + sq_y[None, :] - 2 * xd @ yd.T, 0.0)
    d_yy = np.maximum(sq_y[:, None] + sq_y[None, :] - 2 * yd @ yd.T, 0.0)
    if bandwidth is None:
        pooled = np.concatenate([d_xx[np.triu_indices(n, 1)], d_xy.ravel(), d_yy[np.triu_indices(m, 1)]])
        bandwidth = float(np.median(pooled)) or 1.0
    widths = [s * bandwidth for s in scales]
    k_xx, k_xy, k_yy = np.zeros_like(d_xx), np.zeros_like(d_xy), np.zeros_like(d_yy)
    w_xx, w_xy = np.zeros_like(d_xx), np.zeros_like(d_xy)
    for width in widths:
        # dk/da for a Gaussian of width s^2: -k (a - b) / s^2, so each scale's kernel is weighted by 1 / s^2.
        e_xx, e_xy = np.exp(-d_xx / (2 * width)), np.exp(-d_xy / (2 * width))
        k_xx += e_xx
        k_xy += e_xy
        k_yy += np.exp(-d_yy / (2 * width))
        w_xx += e_xx / width
        w_xy += e_xy / width
    np.fill_diagonal(k_xx, 0.0)
    np.fill_diagonal(w_xx, 0.0)
    np.fill_diagonal(k_yy, 0.0)
    value = k_xx.sum() / (n * (n - 1)) - 2 * k_xy.mean() + k_yy.sum() / (m * (m - 1))
    grad_xx = -(w_xx.sum(axis=1)[:, None] * xd - w_xx @ xd) * (2 / (n * (n - 1)))
    grad_xy = (w_xy.sum(axis=1)[:, None] * xd - w_xy @ yd) * (2 / (n * m))
    return weight * float(value), (weight * (grad_xx + grad_xy)).astype(x.dtype)


def real_loss(out: np.ndarray, target: float = 1.0) -> tuple[float, np.ndarray]:
    """The discriminator's mean cross-entropy on real logits out (B,) against the label ``target``
    (1: the plain non-saturating loss; 0.9: one-sided label smoothing, Salimans et al. 2016):
    mean of target * softplus(-out) + (1 - target) * softplus(out), and its gradient for out."""
    if not 0.5 < target <= 1.0:
        raise ValueError(f"the real label must be in (0.5, 1], found {target}")
    value = float(np.mean(target * np.logaddexp(0, -out) + (1 - target) * np.logaddexp(0, out)))
    # target * (-expit(-out)) + (1 - target) * expit(out), written so that target 1 is bit for bit
    # the plain loss's -expit(-out)
    return value, (target * -expit(-out) + (1 - target) * expit(out)) / len(out)


def _differences_adjoint(g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
    """Pull gradients with respect to ``np.diff(m, axis=1)`` and ``np.diff(m, axis=2)`` of a
    (n, 28, 28) stack back to the stack, flattened to (n, 784)."""
    grad = np.zeros((g0.shape[0], 28, 28), dtype=g0.dtype)
    grad[:, 1:, :] += g0
    grad[:, :-1, :] -= g0
    grad[:, :, 1:] += g1
    grad[:, :, :-1] -= g1
    return grad.reshape(-1, 784)


def translation_tables(max_shift: int) -> np.ndarray:
    """Gather indices for every shift (dr, dc) in [-max_shift, max_shift]^2.

    Returns ndarray, shape ((2 max_shift + 1)^2, 784), int64: entry k of a table is the source
    pixel of output pixel k (column-major), or -1 where the shifted image is filled with paper.
    """
    rows, cols = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    tables = []
    for dr in range(-max_shift, max_shift + 1):
        for dc in range(-max_shift, max_shift + 1):
            src_r, src_c = rows - dr, cols - dc
            valid = (src_r >= 0) & (src_r < 28) & (src_c >= 0) & (src_c < 28)
            index = np.where(valid, src_c * 28 + src_r, -1)  # column-major source index
            tables.append(index.ravel(order="F"))            # column-major output order
    return np.array(tables)


def translate(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Shift each image: x (B, 784), index (B, 784) rows of a translation table."""
    out = np.take_along_axis(x, np.maximum(index, 0), axis=1)
    out[index < 0] = 1.0  # paper
    return out


def translate_backward(dout: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Gradient of ``translate`` (a partial permutation, so plain scatter is exact)."""
    dx = np.zeros_like(dout)
    rows = np.broadcast_to(np.arange(dout.shape[0])[:, None], index.shape)
    valid = index >= 0
    dx[rows[valid], index[valid]] = dout[valid]
    return dx


def cutout_masks(size: int) -> np.ndarray:
    """Keep-masks of a ``size`` x ``size`` square cut out around every pixel (DiffAugment cutout).

    Returns ndarray, shape (784, 784), float32: row k keeps (1) every column-major pixel except
    those of the square centred on pixel k (clipped at the border), which are 0.
    """
    rows, cols = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    r, c = rows.ravel(order="F"), cols.ravel(order="F")      # column-major pixel coordinates
    low = size // 2
    inside_r = (r[None, :] >= r[:, None] - low) & (r[None, :] < r[:, None] - low + size)
    inside_c = (c[None, :] >= c[:, None] - low) & (c[None, :] < c[:, None] - low + size)
    return (~(inside_r & inside_c)).astype(np.float32)


def cutout(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Fill the cut squares with paper: x (B, 784), keep (B, 784) rows of ``cutout_masks``."""
    return x * keep + (1.0 - keep)


def cutout_backward(dout: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Gradient of ``cutout`` with respect to x."""
    return dout * keep


def affine_table(matrix: np.ndarray, displacement: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear resampling table of an affine map about the image centre (13.5, 13.5).

    Output pixel (r, c) takes the input at ``matrix @ (r - 13.5, c - 13.5) + 13.5``, plus
    ``displacement`` (2, 784) (rows, then columns; column-major pixels) if given. Returns
    ``index`` (784, 4) int64 and ``weight`` (784, 4) float32: output pixel k (column-major) is the
    weighted sum of the 4 source pixels ``index[k]``, where index 784 stands for paper outside
    the image.
    """
    rows, cols = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    out = np.stack([rows.ravel(order="F"), cols.ravel(order="F")]) - 13.5  # (2, 784), column-major
    src = np.asarray(matrix, dtype=np.float64) @ out + 13.5
    if displacement is not None:
        src = src + displacement
    base = np.floor(src)
    frac = src - base
    index = np.empty((784, 4), np.int64)
    weight = np.empty((784, 4), np.float32)
    for j, (dr, dc) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        r, c = base[0] + dr, base[1] + dc
        inside = (r >= 0) & (r < 28) & (c >= 0) & (c < 28)
        index[:, j] = np.where(inside, c * 28 + r, 784).astype(np.int64)
        weight[:, j] = (frac[0] if dr else 1 - frac[0]) * (frac[1] if dc else 1 - frac[1])
    return index, weight


def elastic_displacement(rng: np.random.Generator, rms: float, sigma: float) -> np.ndarray:
    """A random smooth displacement field (Simard et al. 2003): uniform noise in [-1, 1] per pixel
    and direction, Gaussian-smoothed with ``sigma`` pixels, scaled so that the root-mean-square
    displacement is ``rms`` pixels.

    Returns ndarray, shape (2, 784): row and column displacements of the column-major pixels.
    """
    field = np.stack([ndimage.gaussian_filter(rng.uniform(-1.0, 1.0, (28, 28)), sigma) for _ in range(2)])
    field *= rms / np.sqrt(np.mean(np.sum(field**2, axis=0)))
    return field.reshape(2, 784, order="F")


def warp_tables(rng: np.random.Generator, count: int, rotate: float, scale: float, shear: float,
                elastic: float = 0.0, elastic_sigma: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """``affine_table`` of ``count`` random small warps, stacked: (count, 784, 4) each; table 0
    is the identity.

    Rotation (degrees), scale and shear are drawn uniformly from [-rotate, rotate],
    [1 - scale, 1 + scale] and [-shear, shear]. With ``elastic`` > 0, each warp also moves the
    pixels by an ``elastic_displacement`` of that many pixels RMS, smoothed over ``elastic_sigma``.
    """
    tables = [affine_table(np.eye(2))]
    for _ in range(count - 1):
        angle = np.deg2rad(rng.uniform(-rotate, rotate))
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shearing = np.array([[1.0, rng.uniform(-shear, shear)], [0.0, 1.0]])
        matrix = rotation @ shearing / rng.uniform(1.0 - scale, 1.0 + scale)
        displacement = elastic_displacement(rng, elastic, elastic_sigma) if elastic else None
        tables.append(affine_table(matrix, displacement))
    return np.stack([t[0] for t in tables]), np.stack([t[1] for t in tables])


def warp(x: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Resample each image: x (B, 784), index and weight (B, 784, 4) rows of ``warp_tables``."""
    padded = np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)  # column 784 is paper
    taps = np.take_along_axis(padded, index.reshape(len(x), 784 * 4), axis=1).reshape(index.shape)
    return np.einsum("bkj,bkj->bk", taps, weight.astype(x.dtype, copy=False))


def warp_backward(dout: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Gradient of ``warp`` with respect to x (its adjoint; the paper column has no gradient)."""
    return _scatter_to_pixels(index, dout[:, :, None] * weight)


def params_to_generator(p: Params, **metadata: str):
    from .generator import Generator

    return Generator(A_1=p["W1"].T, B_1=p["b1"], A_2=p["W2"].T, B_2=p["b2"], metadata=metadata)


def generator_to_params(generator, dtype=np.float64) -> Params:
    return {"W1": generator.A_1.T.astype(dtype), "b1": generator.B_1.astype(dtype),
            "W2": generator.A_2.T.astype(dtype), "b2": generator.B_2.astype(dtype)}
