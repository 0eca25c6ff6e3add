import numpy as np
import pytest

import gan8
from gan8.latents import keyframes_from_seeds


def test_same_seed_same_latents():
    a = gan8.sample_latents(100, 42)
    np.testing.assert_array_equal(a, gan8.sample_latents(100, 42))
    assert not np.array_equal(a, gan8.sample_latents(100, 43))
    assert a.shape == (100, 10) and a.flags.c_contiguous


def test_latents_are_columns_of_a_10_by_n_matrix_of_numpy_pcg64_draws():
    # Pinned to numpy's documented generator so that seeds mean the same on every machine, and
    # laid out as the original project's randn(10, n): sample i is column i.
    draws = np.random.Generator(np.random.PCG64(7)).standard_normal(30)
    expected = np.array([[draws[d * 3 + i] for d in range(10)] for i in range(3)])
    np.testing.assert_array_equal(gan8.sample_latents(3, 7), expected)


def test_generator_object_is_advanced_not_reset():
    rng = np.random.default_rng(5)
    first, second = gan8.sample_latents(4, rng), gan8.sample_latents(4, rng)
    again = np.random.default_rng(5)
    np.testing.assert_array_equal(first, again.standard_normal((10, 4)).T)
    np.testing.assert_array_equal(second, again.standard_normal((10, 4)).T)


def test_global_state_untouched():
    np.random.seed(123)  # noqa: NPY002 - the legacy global state is what must stay untouched
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    gan8.sample_latents(10, 0)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.mark.parametrize("psi", [0.0, 0.5, 1.0, 2.0])
def test_psi_scales(psi):
    np.testing.assert_allclose(gan8.sample_latents(20, 1, psi), psi * gan8.sample_latents(20, 1))


@pytest.mark.parametrize("psi", [-0.1, float("nan"), float("inf"), 100, "x"])
def test_absurd_psi_rejected(psi):
    with pytest.raises(ValueError, match="psi"):
        gan8.sample_latents(3, 0, psi)


@pytest.mark.parametrize("n", [-1, 2.5, True])
def test_bad_n_rejected(n):
    with pytest.raises(ValueError, match="n must"):
        gan8.sample_latents(n, 0)


@pytest.mark.parametrize("interp", [gan8.slerp, gan8.lerp])
def test_interpolation_hits_endpoints(interp):
    z0, z1 = gan8.sample_latents(2, 0)
    np.testing.assert_allclose(interp(z0, z1, 0.0), z0, atol=1e-12)
    np.testing.assert_allclose(interp(z0, z1, 1.0), z1, atol=1e-12)
    assert interp(z0, z1, np.linspace(0, 1, 5)).shape == (5, 10)


def test_slerp_keeps_unit_norm_and_matches_classic_formula():
    rng = np.random.default_rng(0)
    u0, u1 = rng.standard_normal((2, 10))
    u0, u1 = u0 / np.linalg.norm(u0), u1 / np.linalg.norm(u1)
    t = np.linspace(0, 1, 11)
    path = gan8.slerp(u0, u1, t)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-12)
    omega = np.arccos(u0 @ u1)
    classic = (np.sin((1 - t) * omega)[:, None] * u0 + np.sin(t * omega)[:, None] * u1) / np.sin(omega)
    np.testing.assert_allclose(path, classic, atol=1e-12)
    # constant angular speed
    angles = np.arccos(np.clip(np.sum(path[:-1] * path[1:], axis=1), -1, 1))
    np.testing.assert_allclose(angles, omega / 10, atol=1e-9)


def test_slerp_parallel_falls_back_to_line():
    z0 = np.arange(1.0, 11.0)
    z1 = 3 * z0
    np.testing.assert_allclose(gan8.slerp(z0, z1, 0.5), 2 * z0)


def test_slerp_antiparallel_is_finite_and_keeps_norm():
    z0 = np.arange(1.0, 11.0)
    path = gan8.slerp(z0, -z0, np.linspace(0, 1, 9))
    assert np.isfinite(path).all()
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0))
    np.testing.assert_allclose(path[-1], -z0, atol=1e-12)
    assert abs(path[4] @ z0) < 1e-9   # halfway is perpendicular


def test_slerp_zero_vector_falls_back_to_line():
    z1 = np.ones(10)
    np.testing.assert_allclose(gan8.slerp(np.zeros(10), z1, 0.25), 0.25 * z1)


def test_slerp_midpoint_norm_higher_than_linear():
    z = gan8.sample_latents(400, 0)
    mids_s = [np.linalg.norm(gan8.slerp(a, b, 0.5)) for a, b in zip(z[::2], z[1::2], strict=True)]
    mids_l = [np.linalg.norm(gan8.lerp(a, b, 0.5)) for a, b in zip(z[::2], z[1::2], strict=True)]
    assert np.mean(mids_s) > np.mean(mids_l) + 0.5


def test_latent_path_shapes_and_keyframes():
    keys = gan8.sample_latents(3, 0)
    path = gan8.latent_path(keys, steps=4)
    assert path.shape == (9, 10)
    np.testing.assert_allclose(path[[0, 4, 8]], keys, atol=1e-12)
    looped = gan8.latent_path(keys, steps=4, loop=True, method="linear")
    assert looped.shape == (12, 10)
    np.testing.assert_allclose(looped[[0, 4, 8]], keys, atol=1e-12)
    np.testing.assert_allclose(looped[10], 0.5 * (keys[2] + keys[0]))


def test_latent_path_errors():
    keys = gan8.sample_latents(3, 0)
    with pytest.raises(ValueError, match="k >= 2"):
        gan8.latent_path(keys[:1], 4)
    with pytest.raises(ValueError, match="method"):
        gan8.latent_path(keys, 4, method="cubic")
    with pytest.raises(ValueError, match="steps"):
        gan8.latent_path(keys, 0)


def test_keyframes_from_seeds():
    keys = keyframes_from_seeds([3, 9], psi=0.5)
    np.testing.assert_array_equal(keys[1], gan8.sample_latents(1, 9, 0.5)[0])


def test_caps_are_enforced_in_the_library():
    from gan8 import limits

    with pytest.raises(ValueError, match="at most 100,000"):
        gan8.sample_latents(limits.MAX_SAMPLES + 1, 0)
    with pytest.raises(ValueError, match="frames"):
        gan8.latent_path(gan8.sample_latents(8, 0), steps=100, loop=True)
    with pytest.raises(ValueError, match="cells"):
        gan8.tile(np.zeros((1, 2, 2)), 40, 40)
    with pytest.raises(ValueError, match="frames"):
        gan8.to_gif(np.zeros((limits.MAX_FRAMES + 1, 2, 2)))
