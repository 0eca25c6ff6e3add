"""Analytic gradients of the trainer against central finite differences, in float64."""

import numpy as np
import pytest
from scipy.special import expit

import gan8
from gan8 import nets

LEAK = 0.2


def _numeric_grad(f, array, eps=1e-6, samples=25, rng=None):
    """Central differences of scalar f() at `samples` random entries of `array` (changed in place)."""
    rng = rng or np.random.default_rng(0)
    flat = array.reshape(-1)
    picks = rng.choice(flat.size, size=min(samples, flat.size), replace=False)
    out = []
    for i in picks:
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        out.append((up - down) / (2 * eps))
    return picks, np.array(out)


@pytest.fixture
def small():
    rng = np.random.default_rng(1)
    g = nets.init_generator(rng, rng.uniform(0.2, 0.9, 784), 1e-5, dtype=np.float64)
    g["W2"] = rng.standard_normal((128, 784)) * 0.3
    d = nets.init_discriminator(rng, (16, 8), LEAK, dtype=np.float64)
    d["c1"] = rng.standard_normal(16) * 0.1
    d["c2"] = rng.standard_normal(8) * 0.1
    z = rng.standard_normal((5, 10))
    x = rng.uniform(0.05, 0.95, (5, 784))
    weights = rng.standard_normal(784)  # a fixed linear loss on the generator's output
    return g, d, z, x, weights


def test_generator_forward_is_the_formula(small):
    g, _, z, _, _ = small
    x, _ = nets.generator_forward(g, z)
    generator = nets.params_to_generator(g)
    upright = generator.generate(z)
    np.testing.assert_allclose(x.reshape(-1, 28, 28).transpose(0, 2, 1), upright, atol=1e-5)


@pytest.mark.parametrize("name", ["W1", "b1", "W2", "b2"])
def test_generator_gradients(small, name):
    g, _, z, _, w = small
    loss = lambda: float(np.sum(nets.generator_forward(g, z)[0] ** 2 @ w))  # noqa: E731
    x, cache = nets.generator_forward(g, z)
    analytic = nets.generator_backward(g, cache, 2 * x * w)[name].reshape(-1)
    picks, numeric = _numeric_grad(loss, g[name])
    np.testing.assert_allclose(analytic[picks], numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["V1", "c1", "V2", "c2", "v3", "c3"])
def test_discriminator_parameter_gradients(small, name):
    _, d, _, x, _ = small
    coef = np.arange(1.0, 6.0)
    loss = lambda: float(np.logaddexp(0, nets.discriminator_forward(d, x, LEAK)[0]) @ coef)  # noqa: E731
    out, cache = nets.discriminator_forward(d, x, LEAK)
    grads, _ = nets.discriminator_backward(d, cache, coef / (1 + np.exp(-out)))
    picks, numeric = _numeric_grad(loss, d[name])
    np.testing.assert_allclose(grads[name].reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-8)


def test_discriminator_input_gradient(small):
    _, d, _, x, _ = small
    loss = lambda: float(nets.discriminator_forward(d, x, LEAK)[0].sum())  # noqa: E731
    _, cache = nets.discriminator_forward(d, x, LEAK)
    _, dx = nets.discriminator_backward(d, cache, np.ones(len(x)))
    picks, numeric = _numeric_grad(loss, x)
    np.testing.assert_allclose(dx.reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["V1", "V2", "v3", "c1"])
def test_r1_penalty_gradients(small, name):
    _, d, _, x, _ = small
    gamma = 0.7

    def penalty():
        _, cache = nets.discriminator_forward(d, x, LEAK)
        return nets.r1_penalty(d, cache, gamma)[0]

    _, cache = nets.discriminator_forward(d, x, LEAK)
    value, grads = nets.r1_penalty(d, cache, gamma)
    # the penalty is gamma/2 * mean |dD/dx|^2, with dD/dx from the backward pass
    _, dx = nets.discriminator_backward(d, cache, np.ones(len(x)), need_params=False)
    assert value == pytest.approx(0.5 * gamma * np.sum(dx**2) / len(x), rel=1e-10)
    picks, numeric = _numeric_grad(penalty, d[name], eps=1e-5)
    np.testing.assert_allclose(grads[name].reshape(-1)[picks], numeric, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("name", ["V1", "c1", "V2", "c2", "v3", "x"])
def test_gradients_through_dropout(small, name):
    """With the masks fixed, the thinned network's loss, input gradient and R1 penalty all differentiate
    like any other network's."""
    _, d, _, x, _ = small
    masks = nets.dropout_masks(np.random.default_rng(3), len(x), (16, 8), 0.4, dtype=np.float64)
    array = x if name == "x" else d[name]
    coef = np.arange(1.0, 6.0)
    loss = lambda: float(np.logaddexp(0, nets.discriminator_forward(d, x, LEAK, masks)[0]) @ coef)  # noqa: E731
    out, cache = nets.discriminator_forward(d, x, LEAK, masks)
    grads, dx = nets.discriminator_backward(d, cache, coef / (1 + np.exp(-out)))
    analytic = dx if name == "x" else grads[name]
    picks, numeric = _numeric_grad(loss, array)
    np.testing.assert_allclose(analytic.reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-8)
    if name == "x":
        return

    def penalty():
        return nets.r1_penalty(d, nets.discriminator_forward(d, x, LEAK, masks)[1], 0.7)[0]

    _, r1_grads = nets.r1_penalty(d, cache, 0.7)
    picks, numeric = _numeric_grad(penalty, array, eps=1e-5)
    np.testing.assert_allclose(r1_grads[name].reshape(-1)[picks], numeric, rtol=1e-4, atol=1e-8)


def test_dropout_thins_the_network_by_hand(small):
    _, d, _, x, _ = small
    keep1, keep2 = np.ones((5, 16)), np.ones((5, 8))
    keep1[:, :6] = 0.0   # units 0-5 of layer 1 and 0-2 of layer 2 dropped for every sample
    keep2[:, :3] = 0.0
    thinned = dict(d, V1=d["V1"][:, 6:], c1=d["c1"][6:], V2=d["V2"][6:, 3:], c2=d["c2"][3:], v3=d["v3"][3:])
    expected, _ = nets.discriminator_forward(thinned, x, LEAK)
    out, _ = nets.discriminator_forward(d, x, LEAK, (keep1, keep2))
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    same, _ = nets.discriminator_forward(d, x, LEAK, (np.ones((5, 16)), np.ones((5, 8))))
    np.testing.assert_array_equal(same, nets.discriminator_forward(d, x, LEAK)[0])


def test_dropout_masks_rate_and_scale():
    m1, m2 = nets.dropout_masks(np.random.default_rng(0), 400, (256, 128), 0.25)
    assert m1.shape == (400, 256) and m2.shape == (400, 128) and m1.dtype == np.float32
    assert set(np.unique(m1)) == {0.0, np.float32(1 / 0.75)}
    assert (m1 == 0).mean() == pytest.approx(0.25, abs=0.01)
    assert m1.mean() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\), found 1.0"):
        nets.dropout_masks(np.random.default_rng(0), 4, (8, 8), 1.0)


@pytest.fixture
def with_mbstd():
    rng = np.random.default_rng(2)
    d = nets.init_discriminator(rng, (16, 8), LEAK, dtype=np.float64, mbstd=True)
    d["ws"] = rng.standard_normal(8)
    d["c2"] = rng.standard_normal(8) * 0.1
    x = rng.uniform(0.05, 0.95, (8, 784))
    return d, x


@pytest.mark.parametrize("name", ["V1", "c1", "V2", "c2", "ws", "v3", "c3", "x"])
def test_gradients_through_minibatch_std(with_mbstd, name):
    d, x = with_mbstd
    coef = np.arange(1.0, 9.0)
    loss = lambda: float(np.logaddexp(0, nets.discriminator_forward(d, x, LEAK, mbstd_group=4)[0]) @ coef)  # noqa: E731
    out, cache = nets.discriminator_forward(d, x, LEAK, mbstd_group=4)
    grads, dx = nets.discriminator_backward(d, cache, coef / (1 + np.exp(-out)))
    analytic = dx if name == "x" else grads[name]
    picks, numeric = _numeric_grad(loss, x if name == "x" else d[name], samples=40)
    np.testing.assert_allclose(analytic.reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-8)
    if name in ("V1", "V2", "v3", "ws"):  # R1 along each sample's own path, the feature fixed
        def penalty():
            return nets.r1_penalty(d, nets.discriminator_forward(d, x, LEAK, mbstd_group=4)[1], 0.7)[0]

        _, r1_grads = nets.r1_penalty(d, cache, 0.7)
        picks, numeric = _numeric_grad(penalty, d[name], eps=1e-5)
        np.testing.assert_allclose(r1_grads[name].reshape(-1)[picks], numeric, rtol=1e-4, atol=1e-8)


def test_minibatch_std_feature_by_hand(with_mbstd):
    d, x = with_mbstd
    x[:4] = x[0]  # the first group of 4 is one image four times: no spread
    _, cache = nets.discriminator_forward(d, x, LEAK, mbstd_group=4)
    _, plain = nets.discriminator_forward(d, x, LEAK)
    np.testing.assert_array_equal(cache.h1, plain.h1)
    spread = np.std(plain.h1[4:], axis=0).mean()  # population std over the second group, per feature
    np.testing.assert_allclose(cache.mbstd.feature, [1e-4] * 4 + [spread] * 4, rtol=1e-6)
    a2 = plain.h1 @ d["V2"] + d["c2"] + cache.mbstd.feature[:, None] * d["ws"]
    np.testing.assert_allclose(cache.h2, np.where(a2 > 0, a2, LEAK * a2), rtol=1e-12)
    with pytest.raises(ValueError, match="multiple of the minibatch-std group 3, found 8"):
        nets.discriminator_forward(d, x, LEAK, mbstd_group=3)


@pytest.fixture
def with_conv():
    rng = np.random.default_rng(4)
    conv = nets.conv_table(5, 3)  # padding 1, a 9 x 9 grid of positions
    d = nets.init_discriminator(rng, (None, 8), LEAK, dtype=np.float64, mbstd=True, conv=conv, channels=3)
    d["c1"] = rng.standard_normal(3) * 0.1
    d["c2"] = rng.standard_normal(8) * 0.1
    d["ws"] = rng.standard_normal(8)
    x = rng.uniform(0.05, 0.95, (8, 784))
    return d, x, conv


def test_conv_table_by_hand():
    table = nets.conv_table(3, 1)  # padding 1: one position per pixel
    assert table.shape == (784, 9)
    # position 0 is pixel (0, 0); its patch lists rows -1..1 of column -1, then column 0, then column 1
    np.testing.assert_array_equal(table[0], [784, 784, 784, 784, 0, 1, 784, 28, 29])
    # the position of pixel (5, 7) (column-major 7 * 28 + 5) is centred on it
    np.testing.assert_array_equal(table[7 * 28 + 5], [6 * 28 + 4, 6 * 28 + 5, 6 * 28 + 6, 7 * 28 + 4, 7 * 28 + 5,
                                                      7 * 28 + 6, 8 * 28 + 4, 8 * 28 + 5, 8 * 28 + 6])
    assert nets.conv_table(4, 2).shape == (196, 16) and nets.conv_table(5, 3).shape == (81, 25)
    with pytest.raises(ValueError, match="found kernel 0, stride 2"):
        nets.conv_table(0, 2)


def test_conv_layer_is_a_convolution(with_conv):
    """Against scipy's 2-D correlation of each upright, paper-padded image with each kernel."""
    from scipy.signal import correlate2d

    d, x, conv = with_conv
    _, cache = nets.discriminator_forward(d, x, LEAK, conv=conv)
    a1 = cache.h1 / cache.s1  # undo the leaky ReLU (no dropout here)
    for b in (0, 5):
        ink = np.pad(1.0 - x[b].reshape(28, 28, order="F"), 1)  # upright, 1 pixel of paper around
        for ch in range(3):
            kernel = d["K1"][:, ch].reshape(5, 5).T                # [row offset, column offset]
            expected = correlate2d(ink, kernel, mode="valid")[::3, ::3] + d["c1"][ch]
            got = a1[b].reshape(81, 3)[:, ch].reshape(9, 9, order="F")
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["K1", "c1", "V2", "c2", "ws", "v3", "x"])
def test_gradients_through_the_conv_layer(with_conv, name):
    """Loss, input gradient and R1 through a convolution, minibatch std and dropout together."""
    d, x, conv = with_conv
    masks = nets.dropout_masks(np.random.default_rng(3), len(x), (243, 8), 0.3, dtype=np.float64)
    coef = np.arange(1.0, 9.0)

    def forward():
        return nets.discriminator_forward(d, x, LEAK, masks, mbstd_group=4, conv=conv)

    loss = lambda: float(np.logaddexp(0, forward()[0]) @ coef)  # noqa: E731
    out, cache = forward()
    grads, dx = nets.discriminator_backward(d, cache, coef / (1 + np.exp(-out)))
    array = x if name == "x" else d[name]
    picks, numeric = _numeric_grad(loss, array, samples=40)
    np.testing.assert_allclose((dx if name == "x" else grads[name]).reshape(-1)[picks], numeric,
                               rtol=1e-5, atol=1e-8)
    if name in ("K1", "V2", "v3"):
        _, r1_grads = nets.r1_penalty(d, cache, 0.7)
        picks, numeric = _numeric_grad(lambda: nets.r1_penalty(d, forward()[1], 0.7)[0], array, eps=1e-5)
        np.testing.assert_allclose(r1_grads[name].reshape(-1)[picks], numeric, rtol=1e-4, atol=1e-8)


def test_translation_shifts_and_fills_with_paper():
    tables = nets.translation_tables(1)
    image = np.ones((28, 28))
    image[10, 20] = 0.0
    flat = image.ravel(order="F")[None, :]
    shift = {(dr, dc): k for k, (dr, dc) in enumerate((a, b) for a in (-1, 0, 1) for b in (-1, 0, 1))}
    moved = nets.translate(flat, tables[[shift[(1, -1)]]]).reshape(28, 28, order="F")
    expected = np.ones((28, 28))
    expected[11, 19] = 0.0
    np.testing.assert_array_equal(moved, expected)
    edge = np.zeros((1, 784))
    moved = nets.translate(edge, tables[[shift[(-1, 0)]]]).reshape(28, 28, order="F")
    assert (moved[-1] == 1.0).all() and (moved[:-1] == 0.0).all()   # bottom row filled with paper


def test_translation_gradient_is_the_adjoint():
    rng = np.random.default_rng(0)
    tables = nets.translation_tables(2)
    x, g = rng.standard_normal((2, 3, 784))
    index = tables[rng.integers(len(tables), size=3)]
    zero_fill = nets.translate(x, index) - (index < 0)   # remove the constant paper fill
    assert np.sum(zero_fill * g) == pytest.approx(np.sum(x * nets.translate_backward(g, index)))


def test_cutout_squares_by_hand():
    masks = nets.cutout_masks(4)
    image = np.zeros((28, 28))
    centre = 5 * 28 + 10                                   # column-major pixel: row 10, column 5
    cut = nets.cutout(image.ravel(order="F")[None], masks[[centre]]).reshape(28, 28, order="F")
    expected = np.zeros((28, 28))
    expected[8:12, 3:7] = 1.0                              # side 4 from centre - 2: filled with paper
    np.testing.assert_array_equal(cut, expected)
    corner = masks[0].reshape(28, 28, order="F")           # centred on (0, 0): clipped to 2 x 2
    assert (corner[:2, :2] == 0).all() and corner.sum() == 784 - 4
    assert masks.shape == (784, 784) and masks.dtype == np.float32


def test_cutout_gradient_is_the_adjoint():
    rng = np.random.default_rng(0)
    masks = nets.cutout_masks(7)
    x, g = rng.standard_normal((2, 3, 784))
    keep = masks[rng.integers(784, size=3)]
    linear = nets.cutout(x, keep) - (1.0 - keep)        # remove the constant paper fill
    assert np.sum(linear * g) == pytest.approx(np.sum(x * nets.cutout_backward(g, keep)))


def test_params_round_trip(generator):
    p = nets.generator_to_params(generator)
    assert nets.params_to_generator(p).fingerprint == generator.fingerprint
    assert isinstance(generator, gan8.Generator)


def test_smoothness_penalty_gradient_and_value():
    rng = np.random.default_rng(3)
    w2 = rng.standard_normal((4, 784))
    value, grad = nets.smoothness_penalty(w2, 0.3)
    image = w2[0].reshape(28, 28)
    by_hand = sum(np.sum(np.diff(w.reshape(28, 28), axis=a) ** 2) for w in w2 for a in (0, 1))
    assert value == pytest.approx(0.3 * by_hand / 4)
    assert image.shape == (28, 28)
    picks, numeric = _numeric_grad(lambda: nets.smoothness_penalty(w2, 0.3)[0], w2)
    np.testing.assert_allclose(grad.reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-7)
    assert nets.smoothness_penalty(np.ones((2, 784)), 1.0)[0] == 0.0


def test_total_variation_gradient_and_value():
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 1.0, (3, 784))
    value, grad = nets.total_variation(x, 0.2)
    by_hand = sum(np.abs(np.diff(image.reshape(28, 28), axis=a)).sum() for image in x for a in (0, 1))
    assert value == pytest.approx(0.2 * by_hand / 3)
    picks, numeric = _numeric_grad(lambda: nets.total_variation(x, 0.2)[0], x, eps=1e-7)
    np.testing.assert_allclose(grad.reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-7)
    dot = np.ones((1, 784))
    dot[0, 14 * 28 + 14] = 0.0  # one dark pixel away from the border costs 4 times its ink
    assert nets.total_variation(dot, 1.0)[0] == pytest.approx(4.0)


@pytest.mark.parametrize("distance", ["l1", "rms"])
def test_mode_seeking_gradient_and_value(distance):
    rng = np.random.default_rng(5)
    x = rng.uniform(0.0, 1.0, (5, 784))   # an odd batch: the last sample is in no pair
    z = rng.standard_normal((5, 10))
    value, grad = nets.mode_seeking(x, z, 0.5, distance)
    image_distance = {"l1": lambda a: np.abs(a).mean(), "rms": lambda a: np.sqrt(np.mean(a * a))}[distance]
    by_hand = np.mean([image_distance(x[i] - x[i + 2]) / np.abs(z[i] - z[i + 2]).mean() for i in (0, 1)])
    assert value == pytest.approx(-0.5 * by_hand)
    picks, numeric = _numeric_grad(lambda: nets.mode_seeking(x, z, 0.5, distance)[0], x, eps=1e-7, samples=60)
    np.testing.assert_allclose(grad.reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-9)
    assert not grad[4].any()
    same = np.tile(x[:1], (4, 1))          # identical images: the term is 0, and so is its subgradient
    value, grad = nets.mode_seeking(same, z[:4], 1.0, distance)
    assert value == 0.0 and not grad.any()


def test_mode_seeking_rms_leaves_equal_pixels_alone():
    x = np.ones((2, 784))
    x[0, :10] = 0.0                          # the pair differs in 10 pixels only
    z = np.array([[1.0] * 10, [-1.0] * 10])
    grad = {d: nets.mode_seeking(x, z, 1.0, d)[1] for d in ("l1", "rms")}
    assert not grad["rms"][:, 10:].any() and grad["rms"][:, :10].all()
    assert not grad["l1"][:, 10:].any()      # sign(0) = 0 here too, but any tiny difference gets full force
    x[1, 10:] -= 1e-6
    assert np.abs(nets.mode_seeking(x, z, 1.0, "l1")[1][0, 10:]).min() == pytest.approx(1 / 784 / 2)
    assert np.abs(nets.mode_seeking(x, z, 1.0, "rms")[1][0, 10:]).max() < 1e-8
    with pytest.raises(ValueError, match="'l1' or 'rms'"):
        nets.mode_seeking(x, z, 1.0, "l2")


def test_warp_identity_table_and_paper_fill():
    index, weight = nets.warp_tables(np.random.default_rng(0), 5, rotate=10, scale=0.1, shear=0.1)
    assert index.shape == weight.shape == (5, 784, 4)
    np.testing.assert_allclose(weight.sum(axis=2), 1.0, atol=1e-6)   # bilinear weights are a partition of one
    x = np.random.default_rng(1).uniform(0, 1, (5, 784))
    np.testing.assert_allclose(nets.warp(x[:1], index[:1], weight[:1]), x[:1], atol=1e-6)  # table 0: identity
    assert nets.warp(x[:0], index[:0], weight[:0]).shape == (0, 784)          # an empty batch is fine
    assert nets.warp_backward(x[:0], index[:0], weight[:0]).shape == (0, 784)
    paper = nets.warp(np.ones((5, 784)), index, weight)
    np.testing.assert_allclose(paper, 1.0, atol=1e-6)   # paper stays paper, outside the image included


@pytest.mark.parametrize(("matrix", "expected"), [
    ([[0.0, -1.0], [1.0, 0.0]], lambda im: np.rot90(im, k=-1)),   # output (r, c) reads input (27 - c, r)
    ([[1.0, 0.0], [0.0, -1.0]], lambda im: im[:, ::-1]),           # a mirror
    ([[0.5, 0.0], [0.0, 0.5]], None),                             # a 2x zoom, checked pixel by pixel
])
def test_affine_table_geometry(matrix, expected):
    image = np.ones((28, 28))
    image[4:20, 6] = 0.0
    image[19, 6:14] = 0.0                                # an "L", so that any wrong turn shows
    index, weight = nets.affine_table(np.array(matrix))
    moved = nets.warp(image.ravel(order="F")[None], index[None], weight[None])[0].reshape(28, 28, order="F")
    if expected is not None:
        np.testing.assert_allclose(moved, expected(image), atol=1e-6)
    else:  # output (r, c) samples (r/2 + 6.75, c/2 + 6.75): bilinear between the 4 neighbours, by hand
        for r, c in [(0, 0), (10, 3), (27, 27), (13, 14)]:
            y, x = r / 2 + 6.75, c / 2 + 6.75
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            fy, fx = y - y0, x - x0
            by_hand = ((1 - fy) * (1 - fx) * image[y0, x0] + fy * (1 - fx) * image[y0 + 1, x0]
                       + (1 - fy) * fx * image[y0, x0 + 1] + fy * fx * image[y0 + 1, x0 + 1])
            assert moved[r, c] == pytest.approx(by_hand, abs=1e-6)


def test_lecam_penalty_by_hand_and_by_finite_differences():
    value, (d_real, d_fake) = nets.lecam_penalty(np.array([3.0, 1.0]), np.array([-2.0]), anchor_real=2.0,
                                                 anchor_fake=-1.0, weight=0.5)
    assert value == pytest.approx(0.5 * ((16 + 4) / 2 + 16))       # (3 + 1)^2, (1 + 1)^2; (-2 - 2)^2
    np.testing.assert_allclose(d_real, [0.5 * 2 * 4 / 2, 0.5 * 2 * 2 / 2])
    np.testing.assert_allclose(d_fake, [0.5 * 2 * -4])
    rng = np.random.default_rng(5)
    real, fake = rng.standard_normal(6), rng.standard_normal(4)
    _, (d_real, d_fake) = nets.lecam_penalty(real, fake, 0.7, -0.3, 0.2)
    for array, analytic in ((real, d_real), (fake, d_fake)):
        picks, numeric = _numeric_grad(lambda: nets.lecam_penalty(real, fake, 0.7, -0.3, 0.2)[0], array)
        np.testing.assert_allclose(analytic[picks], numeric, rtol=1e-6, atol=1e-9)


def test_elastic_displacement_has_the_asked_size_and_is_smooth():
    field = nets.elastic_displacement(np.random.default_rng(0), rms=1.5, sigma=4.0)
    assert field.shape == (2, 784)
    assert np.sqrt(np.mean(np.sum(field**2, axis=0))) == pytest.approx(1.5)
    rows = field.reshape(2, 28, 28, order="F")           # neighbours move nearly together
    assert np.abs(np.diff(rows, axis=1)).mean() < 0.2 * 1.5 and np.abs(np.diff(rows, axis=2)).mean() < 0.2 * 1.5
    rough = nets.elastic_displacement(np.random.default_rng(0), rms=1.5, sigma=0.5).reshape(2, 28, 28, order="F")
    assert np.abs(np.diff(rough, axis=1)).mean() > 3 * np.abs(np.diff(rows, axis=1)).mean()
    again = nets.elastic_displacement(np.random.default_rng(0), rms=1.5, sigma=4.0)
    np.testing.assert_array_equal(field, again)


def test_a_constant_displacement_is_a_shift_by_hand():
    image = np.ones((28, 28))
    image[4:20, 6] = 0.0
    image[19, 6:14] = 0.0
    down = np.zeros((2, 784))
    down[0] = 1.0                                       # every output pixel reads the one below it
    index, weight = nets.affine_table(np.eye(2), down)
    moved = nets.warp(image.ravel(order="F")[None], index[None], weight[None])[0].reshape(28, 28, order="F")
    expected = np.ones((28, 28))
    expected[:27] = image[1:]                           # the bottom row reads paper from outside the image
    np.testing.assert_allclose(moved, expected, atol=1e-6)
    half = np.zeros((2, 784))
    half[1] = 0.5                                       # half a pixel to the right: the mean of two columns
    index, weight = nets.affine_table(np.eye(2), half)
    moved = nets.warp(image.ravel(order="F")[None], index[None], weight[None])[0].reshape(28, 28, order="F")
    assert moved[10, 5] == pytest.approx(0.5) and moved[10, 6] == pytest.approx(0.5)
    assert moved[10, 7] == pytest.approx(1.0)


def test_elastic_warp_tables_add_to_the_affine_ones():
    affine = nets.warp_tables(np.random.default_rng(3), 4, rotate=10, scale=0.1, shear=0.1)
    again = nets.warp_tables(np.random.default_rng(3), 4, rotate=10, scale=0.1, shear=0.1, elastic=0.0)
    elastic = nets.warp_tables(np.random.default_rng(3), 4, rotate=10, scale=0.1, shear=0.1, elastic=1.0)
    np.testing.assert_array_equal(affine[0], again[0])   # elastic 0 draws nothing extra
    np.testing.assert_array_equal(elastic[0][0], affine[0][0])   # table 0 is still the identity
    assert not np.array_equal(elastic[0][1:], affine[0][1:])
    np.testing.assert_allclose(elastic[1].sum(axis=2), 1.0, atol=1e-6)
    rng = np.random.default_rng(4)
    x, g = rng.standard_normal((2, 3, 784))
    index, weight = elastic[0][1:], elastic[1][1:]
    linear = nets.warp(x, index, weight) - nets.warp(np.zeros_like(x), index, weight)
    assert np.sum(linear * g) == pytest.approx(np.sum(x * nets.warp_backward(g, index, weight)))


def test_warp_gradient_is_the_adjoint():
    rng = np.random.default_rng(2)
    index, weight = nets.warp_tables(rng, 4, rotate=15, scale=0.15, shear=0.2)
    pick = rng.integers(0, 4, 6)
    x = rng.standard_normal((6, 784))
    g = rng.standard_normal((6, 784))
    constant = nets.warp(np.zeros_like(x), index[pick], weight[pick])   # the paper fill alone
    linear = nets.warp(x, index[pick], weight[pick]) - constant
    assert np.sum(linear * g) == pytest.approx(np.sum(x * nets.warp_backward(g, index[pick], weight[pick])))


def _mmd_by_loops(x, y, scales, bandwidth):
    """The unbiased squared MMD written out pair by pair, as in Gretton et al. (2012), eq. 3."""
    def k(a, b):
        d = float(np.sum((a - b) ** 2))
        return sum(np.exp(-d / (2 * s * bandwidth)) for s in scales)
    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd_penalty_against_pairwise_loops_and_finite_differences():
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 1, (6, 30)), rng.uniform(0.2, 1, (5, 30))
    pooled = [np.sum((a - b) ** 2) for i, a in enumerate(np.vstack([x, y]))
              for b in np.vstack([x, y])[i + 1:]]
    median = float(np.median(pooled))
    value, _ = nets.mmd_penalty(x, y, 0.7)
    assert value == pytest.approx(0.7 * _mmd_by_loops(x, y, (0.5, 1.0, 2.0), median), rel=1e-10)
    # The gradient holds the bandwidth constant, so finite differences must too.
    _, grad = nets.mmd_penalty(x, y, 0.7, scales=(0.3, 1.0), bandwidth=median)
    picks, numeric = _numeric_grad(lambda: nets.mmd_penalty(x, y, 0.7, (0.3, 1.0), median)[0], x, samples=40)
    np.testing.assert_allclose(grad.reshape(-1)[picks], numeric, rtol=1e-6, atol=1e-10)


def test_mmd_penalty_tells_one_distribution_from_another():
    rng = np.random.default_rng(6)
    same = [nets.mmd_penalty(rng.normal(0, 1, (64, 8)), rng.normal(0, 1, (64, 8)), 1.0)[0] for _ in range(20)]
    apart = nets.mmd_penalty(rng.normal(0, 1, (64, 8)), rng.normal(3, 1, (64, 8)), 1.0)[0]
    assert abs(np.mean(same)) < 0.02  # unbiased: about 0 for samples of one distribution
    assert apart > 0.5
    with pytest.raises(ValueError, match="at least 2 images on each side, found 1 generated and 64 real"):
        nets.mmd_penalty(np.zeros((1, 8)), np.zeros((64, 8)), 1.0)


def test_real_loss_by_hand_finite_differences_and_plain_loss():
    out = np.array([2.0, -1.0, 0.5])
    value, grad = nets.real_loss(out, 0.9)
    softplus = np.log1p(np.exp(out))
    by_hand = np.mean(0.9 * (softplus - out) + 0.1 * softplus)  # softplus(-a) = softplus(a) - a
    assert value == pytest.approx(by_hand, rel=1e-12)
    picks, numeric = _numeric_grad(lambda: nets.real_loss(out, 0.9)[0], out)
    np.testing.assert_allclose(grad[picks], numeric, rtol=1e-7)
    # Label 1 is the plain non-saturating loss, bit for bit (so a default run is unchanged).
    wide = np.random.default_rng(7).normal(0, 8, 100).astype(np.float32)
    np.testing.assert_array_equal(nets.real_loss(wide)[1], -expit(-wide) / 100)
    assert nets.real_loss(wide)[0] == pytest.approx(float(np.mean(np.logaddexp(0, -wide))), rel=1e-7)
    with pytest.raises(ValueError, match=r"real label must be in \(0.5, 1\], found 0.4"):
        nets.real_loss(out, 0.4)
