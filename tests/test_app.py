"""The page, server side, through Streamlit's AppTest."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from test_weights import BROKEN

import gan8
from conftest import ROOT, random_weights

APP = str(ROOT / "app.py")


@pytest.fixture
def media(monkeypatch):
    """Every file the page hands to the browser, by media id: (data, mimetype, filename)."""
    files: dict[str, tuple] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files[file_id] = (path_or_data, mimetype, filename)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return files


@pytest.fixture
def app(monkeypatch, weights_file):
    # A known weights file stands in for the bundled one, so that the tests do not depend on it.
    monkeypatch.setenv("GAN8_WEIGHTS", str(weights_file))
    return AppTest.from_file(APP, default_timeout=60)


def _download(at, media, key):
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key))
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    return media[file_id]


def _sidebar_text(at) -> str:
    return _unescape(" ".join(m.value for m in at.sidebar.markdown))


def _unescape(markdown: str) -> str:
    """The page escapes file names and messages (app.plain); read them back as text."""
    return markdown.replace("\\", "")


def _errors(elements) -> list[str]:
    return [_unescape(e.value) for e in elements]


def _ok(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def test_defaults_grid_and_downloads(app, media, generator):
    at = app.run()
    _ok(at)
    assert generator.fingerprint in _sidebar_text(at)
    assert "102,544" in _sidebar_text(at)
    png, mime, name = _download(at, media, "download_grid_png")
    assert (mime, name) == ("image/png", "gan8_grid_seed0_10x10.png")
    assert Image.open(io.BytesIO(png)).size == (604, 604)
    npz, mime, name = _download(at, media, "download_grid_npz")
    assert (mime, name) == ("application/octet-stream", "gan8_grid_seed0_10x10.npz")
    with np.load(io.BytesIO(npz), allow_pickle=False) as data:
        np.testing.assert_array_equal(data["latents"], gan8.sample_latents(100, 0))
        np.testing.assert_array_equal(data["images"], generator.generate(data["latents"]))


def test_grid_controls_change_output(app, media, generator):
    at = app.run()
    at.slider(key="grid_rows").set_value(3)
    at.slider(key="grid_cols").set_value(4)
    at.number_input(key="seed").set_value(7)
    at.slider(key="grid_scale").set_value(1)
    at.run()
    _ok(at)
    png, _, name = _download(at, media, "download_grid_png")
    assert name == "gan8_grid_seed7_3x4.png"
    picture = np.asarray(Image.open(io.BytesIO(png)))
    assert picture.shape == (3 * 28 + 4 * 2, 4 * 28 + 5 * 2)
    grid = gan8.tile(generator.generate(gan8.sample_latents(12, 7)), 3, 4)
    np.testing.assert_array_equal(picture, np.asarray(Image.open(io.BytesIO(gan8.to_png(grid)))))
    at.selectbox(key="grid_style").set_value("mnist")
    at.run()
    inverted = np.asarray(Image.open(io.BytesIO(_download(at, media, "download_grid_png")[0])))
    np.testing.assert_array_equal(inverted, np.asarray(Image.open(io.BytesIO(gan8.to_png(1.0 - grid)))))
    assert np.abs(inverted.astype(int) - (255 - picture.astype(int))).max() <= 1  # 8-bit rounding of ties


def test_new_seed_button(app):
    at = app.run()
    at.button(key="seed_new").click()
    at.run()
    _ok(at)
    assert at.number_input(key="seed").value != 0


def test_seed_and_tab_from_query_string(app, media):
    app.query_params["seed"] = "42"
    at = app.run()
    _ok(at)
    assert at.number_input(key="seed").value == 42
    assert _download(at, media, "download_grid_png")[2] == "gan8_grid_seed42_10x10.png"


def _open_tab(at, name):
    at.session_state["tab"] = name
    return at.run()


def test_interpolation_tab(app, media):
    at = _open_tab(app.run(), "Interpolation")
    _ok(at)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(chart["frames"]) == 4 * 12      # 4 keyframes, looping, 12 frames each
    assert chart["layout"]["updatemenus"][0]["buttons"][0]["args"][1]["frame"]["duration"] == round(1000 / 12)
    gif, mime, name = _download(at, media, "download_gif")
    assert (mime, name) == ("image/gif", "gan8_interpolation_slerp_seeds0-1-2-3.gif")
    assert Image.open(io.BytesIO(gif)).n_frames == 48
    at.slider(key="interp_steps").set_value(5)
    at.checkbox(key="interp_loop").set_value(False)
    at.text_input(key="keys").set_value("3, 9")
    at.radio(key="interp_method").set_value("linear")
    at.run()
    _ok(at)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(chart["frames"]) == 6
    assert _download(at, media, "download_gif")[2] == "gan8_interpolation_linear_seeds3-9.gif"


@pytest.mark.parametrize("text,message", [("1", "2 to 8"), ("a, b", "whole numbers"),
                                          ("1,2,3,4,5,6,7,8,9", "2 to 8")])
def test_interpolation_bad_seeds_show_error(app, text, message):
    at = _open_tab(app.run(), "Interpolation")
    at.text_input(key="keys").set_value(text)
    at.run()
    _ok(at)
    assert any(message in e for e in _errors(at.error))


def test_statistics_tab(app, media, generator):
    at = app.run()
    at.session_state["tab"] = "Statistics"
    at.run()
    at.number_input(key="stats_n").set_value(1000)
    at.run()
    _ok(at)
    expected = gan8.pixel_stats(generator, 1000, 0)
    table = at.table[0].value
    assert f"{expected.ink_fraction_mean:.4f}" in table["value"].tolist()
    npz, mime, name = _download(at, media, "download_stats_npz")
    assert (mime, name) == ("application/octet-stream", "gan8_stats_n1000_seed0.npz")
    with np.load(io.BytesIO(npz)) as data:
        np.testing.assert_allclose(data["mean"], expected.mean)
    csv, mime, name = _download(at, media, "download_stats_csv")
    assert (mime, name) == ("text/csv", "gan8_stats_n1000_seed0.csv")
    at.slider(key="stats_psi").set_value(0.5)
    at.run()
    _ok(at)
    assert at.table[0].value["value"].tolist() != table["value"].tolist()


def test_upload_switches_generator(app, tmp_path):
    at = app.run()
    other = gan8.Generator(**random_weights(7))
    path = tmp_path / "other.mat"
    gan8.save_weights(path, other)
    at.sidebar.file_uploader[0].set_value(("other.mat", path.read_bytes(), "application/octet-stream"))
    at.run()
    _ok(at)
    assert other.fingerprint in _sidebar_text(at)
    assert not at.sidebar.error


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_bad_upload_shows_error_and_keeps_generator(app, weights, generator, case):
    make, words = BROKEN[case]
    at = app.run()
    at.sidebar.file_uploader[0].set_value(("broken.mat", make(weights), "application/octet-stream"))
    at.run()
    _ok(at)
    message = " ".join(_errors(at.sidebar.error))
    assert "broken.mat" in message and all(w in message for w in words)
    assert generator.fingerprint in _sidebar_text(at)
    assert at.get("download_button")   # the grid still renders on the previous weights


def test_missing_env_weights_shows_error_not_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN8_WEIGHTS", str(tmp_path / "nope.mat"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    _ok(at)
    assert any("cannot read" in e for e in _errors(at.sidebar.error))


def test_explorer_sliders_randomise_reset_and_nearest(app, media, generator):
    at = _open_tab(app.run(), "Explorer")
    _ok(at)
    sliders = [at.slider(key=f"z{i}") for i in range(10)]
    assert all(s.value == 0.0 for s in sliders)
    at.slider(key="z3").set_value(2.0)
    at.run()
    _ok(at)
    z = np.zeros(10)
    z[3] = 2.0
    image = generator.generate(z[None])[0]
    shown = np.asarray(Image.open(io.BytesIO(_image_bytes(at, media, 0))))[::8, ::8]
    np.testing.assert_array_equal(shown, np.asarray(Image.open(io.BytesIO(gan8.to_png(image)))))
    reference = gan8.data.load_reference_eights()
    index, _ = gan8.evaluate.nearest_neighbours(image[None], reference.train)
    assert f"#{index[0]}" in at.main.get("image")[1].proto.imgs[0].caption
    at.button(key="z_random").click()
    at.run()
    assert any(at.slider(key=f"z{i}").value != 0.0 for i in range(10))
    at.button(key="z_reset").click()
    at.run()
    assert all(at.slider(key=f"z{i}").value == 0.0 for i in range(10))


def _image_bytes(at, media, index):
    """Bytes behind the index-th st.image of the main area, from the media store spy."""
    url = at.main.get("image")[index].proto.imgs[0].url
    return media[url.rsplit("/", 1)[-1].split(".")[0]][0]


def test_compare_needs_a_second_file_then_shows_both(app, tmp_path):
    at = _open_tab(app.run(), "Compare")
    _ok(at)
    # the app's weights (GAN8_WEIGHTS) differ from the bundled ones, so both sides show at once
    other = gan8.Generator(**random_weights(5))
    path = tmp_path / "other.mat"
    gan8.save_weights(path, other)
    at.file_uploader(key="compare_upload").set_value(("other.mat", path.read_bytes(), "application/octet-stream"))
    at.number_input(key="compare_seed").set_value(3)
    at.select_slider(key="compare_n").set_value(2_000)
    at.run()
    _ok(at)
    captions = [img.proto.imgs[0].caption for img in at.main.get("image")]
    assert any("bundled" in c for c in captions) and any(other.fingerprint in c for c in captions)
    table = at.table[0].value
    expected = gan8.pixel_stats(other, 2000, 3).summary()["ink fraction mean"]
    assert f"{expected:.4f}" in table["other.mat"].tolist()
    at.file_uploader(key="compare_upload").set_value(("bad.mat", b"not a mat file", "application/octet-stream"))
    at.run()
    _ok(at)
    assert any("bad.mat" in e and "not a MAT file" in e for e in _errors(at.error))


def test_quality_on_demand(app, generator):
    at = _open_tab(app.run(), "Quality")
    _ok(at)
    assert any("Press Evaluate" in i.value for i in at.info)
    at.select_slider(key="quality_n").set_value(500)
    at.button(key="quality_run").click()
    at.run()
    _ok(at)
    table = at.table[0].value
    expected = gan8.evaluate.evaluate(generator, n=500, seed=0)
    rows = dict(zip(table["measure"], table["these weights"], strict=True))
    for key, _, description in gan8.evaluate.MEASURES:
        assert rows[description] == f"{expected.samples[key]:.4f}"
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(chart["data"][0]["x"]) == 6   # precision/recall at six values of psi


def test_statistics_show_real_reference(app):
    at = _open_tab(app.run(), "Statistics")
    at.number_input(key="stats_n").set_value(500)
    at.run()
    _ok(at)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert any("generated − real" in t for t in titles)
    overlay = next(c for c in charts if "generated and real" in c["layout"]["title"]["text"])
    real = gan8.stats.image_stats(gan8.data.load_reference_eights().train)
    np.testing.assert_allclose(_plotly_array(overlay["data"][1]["y"]), real.hist_counts / real.hist_counts.sum())


def _plotly_array(value) -> np.ndarray:
    """Plotly sends numpy arrays as {"dtype", "bdata"} (base64); lists stay lists."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def test_failure_in_one_tab_leaves_others_working_and_recovers(app, monkeypatch):
    at = _open_tab(app.run(), "Statistics")
    real_pixel_stats = gan8.pixel_stats

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(gan8, "pixel_stats", broken)
    at.number_input(key="stats_n").set_value(700)
    at.run()
    _ok(at)
    assert any("disk on fire" in e and "other tabs keep working" in e for e in _errors(at.error))
    at = _open_tab(at, "Grid")
    _ok(at)
    assert not at.error and at.get("download_button")
    monkeypatch.setattr(gan8, "pixel_stats", real_pixel_stats)
    at = _open_tab(at, "Statistics")
    _ok(at)
    assert not at.error and at.table


def test_file_names_and_metadata_are_not_rendered_as_markdown(app, tmp_path):
    at = app.run()
    at.sidebar.file_uploader[0].set_value(("[x](http://example.invalid).mat", b"junk", "application/octet-stream"))
    at.run()
    _ok(at)
    raw = " ".join(e.value for e in at.sidebar.error)
    assert "\\[x\\]\\(http" in raw   # escaped: shown as text, not as a link
