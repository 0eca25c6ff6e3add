"""Turning images into pictures: grids, ink styles, PNG and GIF bytes.

Images follow the generator's convention: float in [0, 1], 1 = white paper, 0 = black ink.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

from .limits import MAX_FRAMES, MAX_GRID_SIDE, MAX_SCALE, check_count

__all__ = ["tile", "to_png", "to_gif", "colorize", "INK_STYLES", "GAP_GREY"]

GAP_GREY = 0.75  # the thin grey lines between digits in the original project's grid
# "paper": black ink on white paper (the original look); "mnist": white ink on black, as MNIST
# stores digits; any other name is a matplotlib colour map applied to the amount of ink.
INK_STYLES = ("paper", "mnist", "viridis", "magma", "cividis", "Blues")


def tile(images: np.ndarray, rows: int, cols: int, pad: int = 2, pad_value: float = GAP_GREY) -> np.ndarray:
    """Lay ``images`` out row by row in a ``rows`` x ``cols`` grid with ``pad``-pixel gaps.

    Parameters
    ----------
    images : ndarray, shape (n, h, w), n <= rows * cols
        Cells past n are left at ``pad_value``.

    Returns
    -------
    grid : ndarray, shape (rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad), float32
        Gaps surround every cell, the outer border included.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, h, w), found {images.shape}")
    rows = check_count("rows", rows, minimum=1, maximum=None)
    cols = check_count("cols", cols, minimum=1, maximum=None)
    pad = check_count("pad", pad)
    n, h, w = images.shape
    if n > rows * cols:
        raise ValueError(f"{n} images do not fit in a {rows} x {cols} grid")
    if rows * cols > MAX_GRID_SIDE**2:
        raise ValueError(f"a {rows} x {cols} grid has more than {MAX_GRID_SIDE**2} cells")
    grid = np.full((rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad), pad_value, dtype=np.float32)
    # A strided view of the cells: cells[r, c] is the (h, w) window of grid cell (r, c).
    inner = grid[pad:, pad:]
    cells = np.lib.stride_tricks.as_strided(
        inner, shape=(rows, cols, h, w),
        strides=((h + pad) * grid.strides[0], (w + pad) * grid.strides[1], *grid.strides),
        writeable=True)
    full_rows, rest = divmod(n, cols)
    cells[:full_rows] = images[:full_rows * cols].reshape(full_rows, cols, h, w)
    if rest:
        cells[full_rows, :rest] = images[full_rows * cols:]
    return grid


def colorize(image: np.ndarray, style: str = "paper") -> np.ndarray:
    """Apply an ink style.

    Parameters
    ----------
    image : ndarray, shape (..., h, w), values in [0, 1] (1 = paper)
    style : str
        "paper" (unchanged), "mnist" (inverted) or a matplotlib colour map name, which maps the
        amount of ink (1 - value) to colour.

    Returns
    -------
    ndarray, shape (..., h, w) for grey styles or (..., h, w, 3) for colour maps, float32
    """
    image = np.asarray(image, dtype=np.float32)
    if style == "paper":
        return image
    if style == "mnist":
        return 1.0 - image
    import matplotlib  # lazy: only colour maps need it

    try:
        cmap = matplotlib.colormaps[style]
    except KeyError:
        raise ValueError(f"unknown ink style {style!r}; expected 'paper', 'mnist' or a "
                         "matplotlib colour map name such as 'viridis'") from None
    return cmap(1.0 - image)[..., :3].astype(np.float32)


def to_png(image: np.ndarray, scale: int = 1) -> bytes:
    """Encode an image as PNG bytes, enlarged ``scale`` times by nearest neighbour.

    Parameters
    ----------
    image : ndarray, shape (h, w) (grey) or (h, w, 3) (RGB)
        Floats in [0, 1] (rounded to 8 bits) or uint8.
    scale : int
        Each pixel becomes a ``scale`` x ``scale`` block, so digits stay crisp.
    """
    pixels = _to_uint8(image)
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3) or 0 in pixels.shape:
        raise ValueError(f"image must have shape (h, w) or (h, w, 3), found {pixels.shape}")
    pixels = _enlarge(pixels, scale)
    h, w = pixels.shape[:2]
    color_type = 0 if pixels.ndim == 2 else 2
    # Each scanline starts with filter byte 0 (no filter).
    raw = np.zeros((h, 1 + w * (1 if color_type == 0 else 3)), dtype=np.uint8)
    raw[:, 1:] = pixels.reshape(h, -1)
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return b"".join([b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header),
                     _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)), _chunk(b"IEND", b"")])


def to_gif(frames: np.ndarray, fps: float = 12.0, scale: int = 1, loop: bool = True) -> bytes:
    """Encode frames as an animated GIF.

    Parameters
    ----------
    frames : ndarray, shape (m, h, w) or (m, h, w, 3)
        Floats in [0, 1] or uint8.
    fps : float
        Frames per second (GIF stores delays in hundredths of a second).
    """
    from PIL import Image  # lazy: Pillow comes with matplotlib and streamlit

    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or frames.shape[0] == 0:
        raise ValueError(f"frames must have shape (m, h, w) or (m, h, w, 3), found {frames.shape}")
    if frames.shape[0] > MAX_FRAMES:
        raise ValueError(f"at most {MAX_FRAMES} frames, found {frames.shape[0]}")
    if not 0.5 <= fps <= 60:
        raise ValueError(f"fps must be between 0.5 and 60, found {fps}")
    pictures = [Image.fromarray(_enlarge(_to_uint8(f), scale)) for f in frames]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=max(20, round(1000 / fps)), loop=0 if loop else 1, disposal=1)
    return buffer.getvalue()


def _to_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind != "f":
        raise ValueError(f"image must be float in [0, 1] or uint8, found {image.dtype}")
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _enlarge(pixels: np.ndarray, scale: int) -> np.ndarray:
    scale = check_count("scale", scale, minimum=1, maximum=MAX_SCALE)
    if scale == 1:
        return pixels
    return np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
