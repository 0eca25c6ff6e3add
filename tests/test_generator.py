import numpy as np
import pytest
import scipy.io

import gan8
from conftest import formula_loop, random_weights


@pytest.mark.parametrize("n", [1, 7, 256, 3000])
@pytest.mark.parametrize("psi", [0.0, 0.7, 1.0, 2.5])
def test_generate_matches_per_sample_formula(weights, generator, n, psi):
    z = gan8.sample_latents(n, n, psi)
    images = generator.generate(z)
    assert images.shape == (n, 28, 28) and images.dtype == np.float32
    np.testing.assert_allclose(images, formula_loop(weights, z), atol=1e-5, rtol=0)


def test_orientation_is_upright_not_transposed_or_mirrored():
    # A_2 = 0, so the image is 1 / (1 + exp(B_2)): B_2 draws a known, asymmetric "L".
    picture = np.ones((28, 28))                # paper
    picture[4:24, 6:9] = 0.0                   # vertical stroke on the left
    picture[21:24, 6:20] = 0.0                 # foot at the bottom, pointing right
    target = np.clip(picture, 1e-6, 1 - 1e-6)
    b2 = np.log(1.0 / target - 1.0).reshape(28, 28).ravel(order="F")  # inverse of X = sigmoid(-W2)
    g = gan8.Generator(A_1=np.zeros((128, 10)), B_1=np.zeros(128), A_2=np.zeros((784, 128)), B_2=b2)
    image = g.generate(np.zeros((1, 10)))[0]
    np.testing.assert_allclose(image, picture, atol=1e-5)
    assert image[22, 18] < 0.01 and image[22, 2] > 0.99   # foot points right, not left
    assert image[5, 7] < 0.01 and image[7, 5] > 0.99      # not transposed


def test_reference_weights_match_independent_formula(reference_weights):
    raw = scipy.io.loadmat(reference_weights)
    g = gan8.load_weights(reference_weights)
    z = gan8.sample_latents(500, rng=3)
    np.testing.assert_allclose(g.generate(z), formula_loop(raw, z), atol=1e-5, rtol=0)
    assert g.n_params == 128 * 10 + 128 + 784 * 128 + 784


def test_generator_is_read_only_and_fingerprinted(weights):
    g = gan8.Generator(**weights)
    for array in (g.A_1, g.B_1, g.A_2, g.B_2):
        with pytest.raises(ValueError):
            array[0] = 1.0
    with pytest.raises(AttributeError):
        g.A_1 = np.zeros((128, 10))
    assert g.fingerprint == gan8.Generator(**weights).fingerprint
    assert g.fingerprint != gan8.Generator(**random_weights(1)).fingerprint
    assert len(g.fingerprint) == 12


def test_generate_does_not_depend_on_caller_array_after_construction(weights):
    a1 = weights["A_1"].copy()
    g = gan8.Generator(**{**weights, "A_1": a1})
    before = g.generate(np.ones((1, 10)))
    a1[:] = 0.0
    np.testing.assert_array_equal(g.generate(np.ones((1, 10))), before)


def test_generate_into_buffers(generator):
    z = np.random.default_rng(0).standard_normal((5, 10))
    out = np.empty((5, 28, 28), np.float32)
    result = generator.generate(z, out=out, hidden=np.empty((5, 129), np.float32))
    assert result is out
    np.testing.assert_array_equal(out, generator.generate(z))


@pytest.mark.parametrize("shape", [(10,), (3, 9), (2, 10, 1)])
def test_generate_rejects_wrong_latent_shape(generator, shape):
    with pytest.raises(ValueError, match=r"shape \(n, 10\)"):
        generator.generate(np.zeros(shape))


def test_extreme_latents_saturate_without_nan(generator):
    images = generator.generate(np.full((2, 10), 1e6) * np.array([[1], [-1]]))
    assert np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1
