"""gan8: draw handwritten eights with a small, already-trained GAN generator.

The generator is the 10-128-784 network of the original MATLAB course project; its weights live in
a MAT file with the layout of ``data21.mat``. Everything here is plain numpy and scipy.

>>> import gan8
>>> g = gan8.load_weights()                      # the bundled weights, or a path to data21.mat
>>> images = g.generate(gan8.sample_latents(100, rng=0))   # (100, 28, 28), 1 = paper
>>> png = gan8.to_png(gan8.tile(images, 10, 10), scale=2)
"""

from .generator import Generator
from .latents import keyframes_from_seeds, latent_path, lerp, sample_latents, slerp
from .render import colorize, tile, to_gif, to_png
from .stats import PixelStats, image_stats, pixel_stats
from .weights import WeightsError, bundled_weights_path, load_weights, save_weights

__all__ = [
    "Generator", "WeightsError", "load_weights", "save_weights", "bundled_weights_path",
    "sample_latents", "keyframes_from_seeds", "lerp", "slerp", "latent_path",
    "tile", "to_png", "to_gif", "colorize",
    "PixelStats", "pixel_stats", "image_stats",
]
__version__ = "0.1.0"
