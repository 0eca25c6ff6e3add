import io
import zlib

import numpy as np
import pytest
from PIL import Image

import gan8
from conftest import REFERENCE_GRID


def test_tile_hand_written():
    images = np.array([[[0.0]], [[0.1]], [[0.2]]])           # three 1 x 1 images
    grid = gan8.tile(images, rows=2, cols=2, pad=1, pad_value=9)
    expected = np.array([
        [9, 9, 9, 9, 9],
        [9, 0.0, 9, 0.1, 9],
        [9, 9, 9, 9, 9],
        [9, 0.2, 9, 9, 9],
        [9, 9, 9, 9, 9],
    ], dtype=np.float32)
    np.testing.assert_array_equal(grid, expected)


def test_tile_no_pad_rectangular_images():
    images = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    grid = gan8.tile(images, rows=1, cols=2, pad=0)
    np.testing.assert_array_equal(grid, np.hstack([images[0], images[1]]))


def test_tile_errors():
    with pytest.raises(ValueError, match="do not fit"):
        gan8.tile(np.zeros((5, 2, 2)), 2, 2)
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        gan8.tile(np.zeros((2, 2)), 1, 1)


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("scale", [1, 3])
def test_png_round_trip_grey(scale):
    image = np.array([[0.0, 0.5, 1.0], [1.0, 0.25, 0.0]])
    decoded = _decode(gan8.to_png(image, scale))
    assert decoded.shape == (2 * scale, 3 * scale)
    expected = np.array([[0, 128, 255], [255, 64, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(decoded, np.kron(expected, np.ones((scale, scale), np.uint8)))


def test_png_round_trip_rgb():
    image = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(_decode(gan8.to_png(image, 2))[::2, ::2], image)


def test_png_is_valid_with_crc():
    png = gan8.to_png(np.ones((2, 2)))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length = int.from_bytes(png[8:12], "big")
    tag_data = png[12:16 + length]
    assert int.from_bytes(png[16 + length:20 + length], "big") == zlib.crc32(tag_data)


def test_png_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        gan8.to_png(np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match="scale"):
        gan8.to_png(np.zeros((2, 2)), scale=0)


def test_colorize_styles():
    image = np.array([[0.0, 1.0]])
    np.testing.assert_array_equal(gan8.colorize(image, "paper"), image)
    np.testing.assert_array_equal(gan8.colorize(image, "mnist"), 1 - image)
    rgb = gan8.colorize(image, "viridis")
    assert rgb.shape == (1, 2, 3)
    with pytest.raises(ValueError, match="ink style"):
        gan8.colorize(image, "no-such-map")


def test_gif_has_all_frames():
    frames = np.linspace(0, 1, 5)[:, None, None] * np.ones((5, 4, 4))
    gif = gan8.to_gif(frames, fps=10, scale=2)
    picture = Image.open(io.BytesIO(gif))
    assert picture.format == "GIF" and picture.n_frames == 5 and picture.size == (8, 8)
    assert picture.info["duration"] == 100


def test_pipeline_reproduces_reference_picture(reference_weights):
    if not REFERENCE_GRID.is_file():
        pytest.fail("reference picture missing beside the reference weights")
    g = gan8.load_weights(reference_weights)
    z = np.random.default_rng(0).standard_normal((10, 100)).T   # the picture's latent convention
    png = gan8.to_png(gan8.tile(g.generate(z), 10, 10), scale=2)
    ours, reference = _decode(png), np.asarray(Image.open(REFERENCE_GRID).convert("L"))
    assert ours.shape == reference.shape == (604, 604)
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= 1
