import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import gan8
from conftest import REFERENCE_GRID, ROOT
from gan8.cli import main


def test_grid(tmp_path, weights_file, generator, capsys):
    out = tmp_path / "g.png"
    assert main(["grid", "--weights", str(weights_file), "--rows", "3", "--cols", "4",
                 "--scale", "2", "--seed", "5", "--out", str(out)]) == 0
    picture = np.asarray(Image.open(out))
    assert picture.shape == (2 * (3 * 28 + 4 * 2), 2 * (4 * 28 + 5 * 2))
    expected = gan8.to_png(gan8.tile(generator.generate(gan8.sample_latents(12, 5)), 3, 4), 2)
    np.testing.assert_array_equal(picture, np.asarray(Image.open(io.BytesIO(expected))))
    assert generator.fingerprint in capsys.readouterr().out


def test_grid_defaults_draw_the_reference_picture(tmp_path, reference_weights):
    """`grid --weights data21.mat` with every default (seed 0, 10 x 10, scale 2) is the original
    project's result: the reference picture, pixel for pixel up to 8-bit rounding."""
    out = tmp_path / "g.png"
    assert main(["grid", "--weights", str(reference_weights), "--out", str(out)]) == 0
    picture = np.asarray(Image.open(out)).astype(int)
    reference = np.asarray(Image.open(REFERENCE_GRID).convert("L")).astype(int)
    assert picture.shape == reference.shape == (604, 604)
    assert picture[0, 0] == reference[0, 0] == round(0.75 * 255)
    assert np.abs(picture - reference).max() <= 1


def test_sample(tmp_path, weights_file, generator):
    out, lat = tmp_path / "s.npy", tmp_path / "z.npy"
    assert main(["sample", "--weights", str(weights_file), "--n", "7", "--seed", "2",
                 "--psi", "0.7", "--out", str(out), "--latents-out", str(lat)]) == 0
    samples, z = np.load(out), np.load(lat)
    assert samples.shape == (7, 28, 28) and samples.dtype == np.float32
    np.testing.assert_array_equal(z, gan8.sample_latents(7, 2, 0.7))
    np.testing.assert_array_equal(samples, generator.generate(z))


def test_stats(tmp_path, weights_file, generator, capsys):
    out = tmp_path / "s.npz"
    assert main(["stats", "--weights", str(weights_file), "--n", "500", "--seed", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ink fraction mean" in text and "500" in text
    with np.load(out) as data:
        expected = gan8.pixel_stats(generator, 500, 1)
        np.testing.assert_allclose(data["mean"], expected.mean)


def test_info(weights_file, generator, capsys):
    assert main(["info", "--weights", str(weights_file)]) == 0
    text = capsys.readouterr().out
    assert "128 x 10" in text and "784 x 128" in text and f"{generator.n_params:,}" in text
    assert generator.fingerprint in text and "random test weights" in text


@pytest.mark.parametrize("args,words", [
    (["grid", "--rows", "0"], "--rows must be at least 1"),
    (["grid", "--rows", "1000"], "at most 32"),
    (["sample", "--n", "100000000"], "at most"),
    (["stats", "--psi", "nan"], "psi"),
])
def test_absurd_parameters_exit_with_one_line(tmp_path, weights_file, capsys, args, words):
    assert main([*args, "--weights", str(weights_file)]) == 1
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_unwritable_output_names_the_path(tmp_path, weights_file, capsys):
    out = tmp_path / "missing-folder" / "g.png"
    assert main(["grid", "--weights", str(weights_file), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"gan8 grid: error: {out}: No such file or directory"


@pytest.mark.parametrize("command", ["grid", "sample", "stats", "info"])
def test_bad_file_exits_nonzero_with_one_line_no_traceback(tmp_path, command):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(50))
    result = subprocess.run([sys.executable, "-m", "gan8", command, "--weights", str(bad)],
                            capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(bad) in lines[0] and "MAT file" in lines[0]


def test_grid_from_latents_reproduces_reference_picture(tmp_path, reference_weights):
    z = tmp_path / "z.npy"
    np.save(z, np.random.default_rng(0).standard_normal((10, 100)).T)   # the picture's convention
    out = tmp_path / "g.png"
    assert main(["grid", "--weights", str(reference_weights), "--latents", str(z), "--out", str(out)]) == 0
    ours = np.asarray(Image.open(out)).astype(int)
    reference = np.asarray(Image.open(REFERENCE_GRID).convert("L")).astype(int)
    assert np.abs(ours - reference).max() <= 1


def test_grid_rejects_bad_latents(tmp_path, weights_file, capsys):
    z = tmp_path / "z.npy"
    np.save(z, np.zeros((5, 9)))
    assert main(["grid", "--weights", str(weights_file), "--latents", str(z)]) == 1
    assert "shape (n, 10)" in capsys.readouterr().err


def test_evaluate_writes_the_scores_of_evaluate_and_compares_two_files(tmp_path, weights_file, reference_weights,
                                                                       capsys):
    import json

    from gan8.evaluate import MEASURES, evaluate

    out = tmp_path / "scores.json"
    assert main(["evaluate", "--weights", str(weights_file), "--n", "200", "--seed", "4", "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    expected = evaluate(gan8.load_weights(weights_file), n=200, seed=4)
    assert (written["n"], written["seed"]) == (200, 4)
    assert written["samples"] == pytest.approx(expected.samples) and written["floor"] == pytest.approx(expected.floor)
    capsys.readouterr()
    assert main(["evaluate", "--weights", str(weights_file), "--n", "200", "--compare", str(reference_weights)]) == 0
    table = capsys.readouterr().out
    assert f"| measure | better | {weights_file.name} | {reference_weights.name} | real floor |" in table
    assert all(f"| {description} |" in table for _, _, description in MEASURES)


def test_evaluate_refuses_too_few_samples_in_one_line(weights_file, capsys):
    assert main(["evaluate", "--weights", str(weights_file), "--n", "50"]) == 1
    err = capsys.readouterr().err.strip()
    assert "n must be at least 100, found 50" in err and len(err.splitlines()) == 1
