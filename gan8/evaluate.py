"""How good are a generator's eights? Measures against real MNIST eights, each beside the floor
that real data reaches (held-out eights scored against the training eights).

Set-against-set measures compare a candidate set of the held-out set's size (100) with the 400
training eights, averaged over disjoint subsets of the samples, so that generated and real
candidates are scored on equal terms. Feature-space measures use the hidden layer of the shipped
digit classifier; cleanliness and memorisation are measured on pixels.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import linalg, ndimage
from scipy.spatial.distance import cdist
from scipy.stats import mannwhitneyu, wasserstein_distance

from .classifier import DigitClassifier, load_classifier
from .data import ReferenceEights, load_reference_eights
from .generator import Generator
from .latents import sample_latents

__all__ = ["evaluate", "evaluate_command", "nearest_neighbours", "precision_recall_over_psi", "kid", "fid",
           "precision_recall", "density_coverage", "one_nn_accuracy", "memorisation_z", "nearest_is_training",
           "background_mask", "speckle", "ink_fragments", "markdown_table", "parse_markdown_table", "Scores",
           "MEASURES"]

# name, better direction, description
MEASURES = [
    ("eight_rate", "higher", "share classified as 8"),
    ("kid_heldout", "lower", "KID x 1e3 against held-out eights"),
    ("fid_heldout", "lower", "FID against held-out eights"),
    ("precision_heldout", "higher", "precision against held-out eights"),
    ("recall_heldout", "higher", "recall against held-out eights"),
    ("kid", "lower", "KID x 1e3 (cubic kernel, unbiased)"),
    ("fid", "lower", "FID (all vs 400; floor n=100)"),
    ("precision", "higher", "improved precision (k=3)"),
    ("recall", "higher", "improved recall (k=3)"),
    ("density", "higher", "density (k=5)"),
    ("coverage", "higher", "coverage (k=5)"),
    ("one_nn", "lower", "1-NN accuracy (0.5 ideal)"),
    ("memorisation_z", "near 0", "data-copying Z (< -3: copies)"),
    ("nearest_training", "near 0.8", "nearest real eight is a training one"),
    ("intensity_w1", "lower", "pixel-intensity W1 distance"),
    ("speckle", "lower", "background speckle (share < 0.9)"),
    ("background_ink", "lower", "mean ink on background"),
    ("stray_blobs", "lower", "stray ink blobs per image"),
    ("isolated_dots", "lower", "isolated ink pixels per image"),
]
SUBSET = 100          # candidates per subset: the held-out set's size
SPECKLE_LEVEL = 0.9   # a background pixel darker than this is visible grey dust


def kid(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel k(a, b) = (a.b / d + 1)^3 (the KID of Binkowski et al.)."""
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.mean())


def fid(x: np.ndarray, y: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets."""
    mx, my = x.mean(0), y.mean(0)
    cx, cy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    with warnings.catch_warnings():  # rank-deficient covariances (few rows) are expected
        warnings.simplefilter("ignore")
        root = np.real(linalg.sqrtm(cx @ cy))
    return float(np.sum((mx - my) ** 2) + np.trace(cx + cy - 2.0 * root))


def _kth_radius(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of x to its k-th nearest other row."""
    dist = cdist(x, x)
    return np.sort(dist, axis=1)[:, k]  # column 0 is the point itself


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019)."""
    d = cdist(fake, real)
    precision = np.mean((d <= _kth_radius(real, k)[None, :]).any(axis=1))
    recall = np.mean((d.T <= _kth_radius(fake, k)[None, :]).any(axis=1))
    return float(precision), float(recall)


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020)."""
    radius = _kth_radius(real, k)
    inside = cdist(real, fake) <= radius[:, None]
    return float(inside.sum() / (k * fake.shape[0])), float(inside.any(axis=1).mean())


def one_nn_accuracy(x: np.ndarray, y: np.ndarray) -> float:
    """Leave-one-out 1-NN two-sample accuracy on equal-sized sets (0.5: indistinguishable)."""
    both = np.concatenate([x, y])
    labels = np.r_[np.zeros(len(x)), np.ones(len(y))]
    dist = cdist(both, both)
    np.fill_diagonal(dist, np.inf)
    return float(np.mean(labels[np.argmin(dist, axis=1)] == labels))


def memorisation_z(samples: np.ndarray, heldout: np.ndarray, train: np.ndarray) -> float:
    """Data-copying test (Meehan et al. 2020): Mann-Whitney Z of the nearest-training-image
    distances of samples against those of held-out real images. Near 0 for fresh data; strongly
    negative when samples sit closer to the training images than new real images do."""
    flat = lambda a: np.asarray(a, dtype=np.float64).reshape(len(a), -1)  # noqa: E731
    d_samples = cdist(flat(samples), flat(train)).min(axis=1)
    d_heldout = cdist(flat(heldout), flat(train)).min(axis=1)
    m, n = len(d_samples), len(d_heldout)
    u = mannwhitneyu(d_samples, d_heldout, alternative="two-sided").statistic
    return float((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))


def nearest_is_training(samples: np.ndarray, train: np.ndarray, heldout: np.ndarray) -> float:
    """Share of samples whose nearest real image (pixel L2) is a training image, not a held-out one.

    A generator that never saw either set treats them alike, so the share is
    len(train) / (len(train) + len(heldout)) (0.8 for 400 and 100); copies of training images
    push it to 1. Unlike the data-copying Z, this does not move when samples are smoother or
    more typical than real digits, since that brings them nearer to both sets at once.
    """
    index, _ = nearest_neighbours(samples, np.concatenate([train, heldout]))
    return float(np.mean(index < len(train)))


def nearest_neighbours(images: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each image, the index of the nearest reference image (pixel L2) and the distance.

    images : (n, 28, 28); reference : (m, 28, 28). Returns ((n,) int, (n,) float).
    """
    dist = cdist(np.asarray(images, np.float64).reshape(len(images), -1),
                 np.asarray(reference, np.float64).reshape(len(reference), -1))
    index = np.argmin(dist, axis=1)
    return index, dist[np.arange(len(images)), index]


def precision_recall_over_psi(generator: Generator, psis, n: int = 1000, seed: int = 0,
                              reference: ReferenceEights | None = None,
                              classifier: DigitClassifier | None = None) -> list[tuple[float, float, float]]:
    """(psi, precision, recall) for each truncation psi, averaged over subsets as in ``evaluate``."""
    reference = reference or load_reference_eights()
    classifier = classifier or load_classifier()
    train_f = classifier.features(reference.train)
    curve = []
    for psi in psis:
        features = classifier.features(generator.generate(sample_latents(n, seed, psi)))
        pairs = [precision_recall(train_f, subset) for subset in _subsets(features)]
        curve.append((float(psi), float(np.mean([p for p, _ in pairs])), float(np.mean([r for _, r in pairs]))))
    return curve


def background_mask(real: np.ndarray) -> np.ndarray:
    """Pixels that are pure paper (1.0) in every real image, shape (28, 28) bool."""
    return np.all(np.asarray(real) >= 1.0, axis=0)


def speckle(images: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Share of background pixels darker than SPECKLE_LEVEL, and their mean ink (1 - value)."""
    values = np.asarray(images)[:, mask]
    return float(np.mean(values < SPECKLE_LEVEL)), float(np.mean(1.0 - values))


# 8-connectivity inside each image of an (n, 28, 28) stack, never across images.
_IN_IMAGE = np.zeros((3, 3, 3), dtype=bool)
_IN_IMAGE[1] = True


def ink_fragments(images: np.ndarray, threshold: float = 0.5) -> tuple[float, float]:
    """Dust and grain that feature-space scores miss, counted on the ink mask (value < threshold).

    Returns the mean number of stray blobs per image (8-connected ink components beyond the
    first; a clean digit has none) and the mean number of isolated ink pixels per image (ink
    with no ink among its 8 neighbours).

    images : ndarray, shape (n, 28, 28), 1 = paper.
    """
    ink = np.asarray(images) < threshold
    if len(ink) == 0:
        return float("nan"), float("nan")
    labels, _ = ndimage.label(ink, structure=_IN_IMAGE)
    # Labels are given in scan order, so image i holds a contiguous run of them: its count is
    # the rise of the running maximum label.
    last = np.maximum.accumulate(labels.reshape(len(ink), -1).max(axis=1))
    components = np.diff(last, prepend=0)
    neighbours = ndimage.convolve(ink.astype(np.uint8), _IN_IMAGE.astype(np.uint8), mode="constant") - ink
    isolated = (ink & (neighbours == 0)).sum(axis=(1, 2))
    return float(np.mean(np.maximum(components - 1, 0))), float(np.mean(isolated))


@dataclass(frozen=True)
class Scores:
    samples: dict[str, float]
    floor: dict[str, float]
    n: int
    seed: int

    def table(self) -> str:
        lines = [f"{'measure':<38} {'samples':>10} {'real floor':>11}  better"]
        for key, better, description in MEASURES:
            lines.append(f"{description:<38} {self.samples[key]:>10.4f} {self.floor[key]:>11.4f}  {better}")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"n": self.n, "seed": self.seed, "samples": self.samples, "floor": self.floor}, indent=2)


def _subsets(rows: np.ndarray, size: int = SUBSET) -> list[np.ndarray]:
    """Consecutive, disjoint blocks of ``size`` rows (a short remainder is dropped)."""
    return [rows[i:i + size] for i in range(0, len(rows) - size + 1, size)]


def _set_scores(candidates_f: np.ndarray, train_f: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """Feature-space measures of one candidate set (SUBSET rows) against the training set."""
    precision, recall = precision_recall(train_f, candidates_f)
    density, coverage = density_coverage(train_f, candidates_f)
    matched = train_f[rng.choice(len(train_f), len(candidates_f), replace=False)]
    return {"kid": 1e3 * kid(candidates_f, train_f),
            "precision": precision, "recall": recall, "density": density, "coverage": coverage,
            "one_nn": one_nn_accuracy(candidates_f, matched)}


def _score(images: np.ndarray, features: np.ndarray, reference: ReferenceEights, classifier: DigitClassifier,
           train_f: np.ndarray, mask: np.ndarray, seed: int, memorisation: bool) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    per_subset = [_set_scores(subset, train_f, rng) for subset in _subsets(features)]
    scores = {key: float(np.mean([s[key] for s in per_subset])) for key in per_subset[0]}
    # FID needs more rows than its 256 feature dimensions: all candidates at once. The floor's
    # 100 held-out eights bias it upwards (FID falls as n grows); read it as an upper bound.
    scores["fid"] = fid(features, train_f)
    scores["eight_rate"] = float(np.mean(classifier.predict(images) == 8))
    real_values = reference.train.ravel()
    scores["intensity_w1"] = float(wasserstein_distance(np.asarray(images, np.float64).ravel(), real_values))
    scores["speckle"], scores["background_ink"] = speckle(images, mask)
    scores["stray_blobs"], scores["isolated_dots"] = ink_fragments(images)
    if memorisation:
        scores["memorisation_z"] = memorisation_z(images, reference.heldout, reference.train)
        scores["nearest_training"] = nearest_is_training(images, reference.train, reference.heldout)
    else:  # real floor: one half of the held-out eights against the other
        half = len(reference.heldout) // 2
        first, second = reference.heldout[:half], reference.heldout[half:]
        scores["memorisation_z"] = memorisation_z(first, second, reference.train)
        # Both halves in turn, each against the other half and a training subset of 4 times its size
        # (so that chance is 0.8, as for samples), over several subsets.
        k = len(reference.train) * len(second) // len(reference.heldout)
        shares = [nearest_is_training(a, reference.train[rng.choice(len(reference.train), k, replace=False)], b)
                  for _ in range(8) for a, b in ((first, second), (second, first))]
        scores["nearest_training"] = float(np.mean(shares))
    return scores


def _heldout_scores(candidates_f: np.ndarray, heldout_f: np.ndarray) -> dict[str, float]:
    """Measures against the held-out eights, which no generator trained here has seen: they reward
    generalising, where measures against the training eights also reward fitting those 400."""
    subsets = _subsets(candidates_f, len(heldout_f))
    pairs = [precision_recall(heldout_f, s) for s in subsets]
    return {"kid_heldout": float(np.mean([1e3 * kid(s, heldout_f) for s in subsets])),
            "fid_heldout": fid(candidates_f, heldout_f),
            "precision_heldout": float(np.mean([p for p, _ in pairs])),
            "recall_heldout": float(np.mean([r for _, r in pairs]))}


def evaluate(generator: Generator, n: int = 5000, seed: int = 0, reference: ReferenceEights | None = None,
             classifier: DigitClassifier | None = None, psi: float = 1.0) -> Scores:
    """Score ``n`` samples of ``generator`` (n >= 100) and, as the floor, real eights: the held-out
    eights against the training eights, and the training eights against the held-out ones."""
    if n < SUBSET:
        raise ValueError(f"n must be at least {SUBSET}, found {n}")
    reference = reference or load_reference_eights()
    classifier = classifier or load_classifier()
    images = generator.generate(sample_latents(n, seed, psi))
    train_f = classifier.features(reference.train)
    mask = background_mask(reference.train)
    features, heldout_f = classifier.features(images), classifier.features(reference.heldout)
    samples = _score(images, features, reference, classifier, train_f, mask, seed, memorisation=True)
    samples |= _heldout_scores(features, heldout_f)
    floor = _score(reference.heldout, heldout_f, reference, classifier, train_f, mask, seed, memorisation=False)
    floor |= _heldout_scores(train_f, heldout_f)  # the training eights, 100 at a time, as candidates
    return Scores(samples=samples, floor=floor, n=n, seed=seed)


def markdown_table(columns: dict[str, Scores]) -> str:
    """One row per measure, one column per named set of scores, and the real floor last."""
    names = list(columns)
    first = columns[names[0]]
    lines = ["| measure | better | " + " | ".join(names) + " | real floor |",
             "|---|---|" + "---:|" * (len(names) + 1)]
    for key, better, description in MEASURES:
        values = " | ".join(f"{columns[name].samples[key]:.4f}" for name in names)
        lines.append(f"| {description} | {better} | {values} | {first.floor[key]:.4f} |")
    return "\n".join(lines)


def parse_markdown_table(text: str, column: str) -> dict[str, float]:
    """The values of one column of the first table written by ``markdown_table`` in ``text``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| measure |"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    index = table[0].index(column)
    by_description = {cells[0]: float(cells[index]) for cells in table[2:]}
    return {key: by_description[description] for key, _, description in MEASURES}


def evaluate_command(weights, n: int, seed: int, json_out: Path | None, compare: Path | None = None,
                     markdown: bool = False) -> None:
    from .weights import BUNDLED_WEIGHTS_FILE, load_weights

    reference, classifier = load_reference_eights(), load_classifier()
    columns = {}
    for path in [weights] + ([compare] if compare is not None else []):
        generator = load_weights(path)
        label = Path(path).name if path is not None else BUNDLED_WEIGHTS_FILE
        columns[label] = evaluate(generator, n=n, seed=seed, reference=reference, classifier=classifier)
        print(f"evaluated {path or 'the bundled weights'} ({generator.fingerprint}), n = {n}, seed = {seed}")
    first = next(iter(columns.values()))
    print(markdown_table(columns) if markdown or compare is not None else first.table())
    if json_out is not None:
        json_out.write_text(first.to_json())
        print(f"wrote {json_out}")
