"""End to end: `streamlit run app.py` in a real headless Chromium, used as a person would.

Screenshots of each tab go to test-artifacts/. Locally the test is skipped when Chromium or
Playwright is missing; in CI (CI=true) it never is.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import IN_CI, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _require(condition: bool, why: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server():
    """`streamlit run app.py` on a free port with the bundled weights; yields (process, url) once
    /_stcore/health answers. Also used by benchmarks/app_memory.py."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GAN8_WEIGHTS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise RuntimeError(f"streamlit did not become healthy:\n{output}")
            time.sleep(0.3)
        yield process, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as (_, url):
        yield url


@pytest.fixture(scope="module")
def browser():
    _require(Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
             f"Debian's chromium is not installed at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.sync_api") if not IN_CI else __import__(
        "playwright.sync_api", fromlist=["sync_playwright"])
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(server)
    page.wait_for_selector('[data-testid="stImage"] img')
    yield page
    context.close()


def _settle(page, timeout_ms: int = 60_000) -> None:
    """Wait for the script run to finish (the status widget disappears)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the viewport to fit."""
    ARTIFACTS.mkdir(exist_ok=True)
    viewport = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 1000")
    page.set_viewport_size({"width": viewport["width"], "height": min(max(int(height), 1000), 4000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size(viewport)


def test_grid_tab_and_png_download(page):
    _settle(page)
    _no_exception(page)
    assert page.get_by_role("tab").count() == 6
    image = page.locator('[data-testid="stImage"] img').first
    size = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [604, 604]
    _screenshot(page, "grid")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download grid (PNG)").click()
    download = download_info.value
    assert download.suggested_filename == "gan8_grid_seed0_10x10.png"
    data = Path(download.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    picture = np.asarray(Image.open(io.BytesIO(data)))
    assert picture.shape == (604, 604)


def test_new_seed_changes_grid_and_url(page):
    _settle(page)
    before = page.locator('[data-testid="stImage"] img').first.get_attribute("src")
    page.get_by_role("button", name="New seed").first.click()
    _settle(page)
    page.wait_for_function(
        "(before) => document.querySelector('[data-testid=\"stImage\"] img').src !== before", arg=before)
    assert "seed=" in page.url
    _no_exception(page)


def test_interpolation_plays(page):
    page.get_by_role("tab", name="Interpolation").click()
    _settle(page)
    page.wait_for_selector(".js-plotly-plot .layer-above image, .js-plotly-plot image")
    _no_exception(page)
    assert "tab=Interpolation" in page.url
    frame = page.locator(".js-plotly-plot image").first
    first = frame.get_attribute("href")
    _screenshot(page, "interpolation")
    page.locator(".js-plotly-plot .updatemenu-button").first.click()   # play
    page.wait_for_function(
        "(first) => document.querySelector('.js-plotly-plot image').getAttribute('href') !== first",
        arg=first, timeout=10_000)
    seen = {frame.get_attribute("href") for _ in range(5) if not page.wait_for_timeout(150)}
    assert len(seen - {first}) >= 1
    label = page.locator(".js-plotly-plot .slider-container text").filter(has_text=re.compile(r"^Frame \d+$"))
    assert label.count() == 1
    assert page.get_by_role("button", name="Download animation (GIF)").count() == 1


def test_statistics_with_small_n(page):
    page.get_by_role("tab", name="Statistics").click()
    _settle(page)
    box = page.get_by_role("spinbutton", name="Samples")
    box.fill("2000")
    box.press("Enter")
    _settle(page)
    # the summary table of the new run: its sample count, then its rows (a cold server can be slow here)
    page.get_by_text("2,000", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("ink fraction mean").first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 7")
    # mean, std, histogram, ink per sample, one pixel, difference from real, real overlay
    _no_exception(page)
    _screenshot(page, "statistics")


def _upload(page, data_or_path, name: str, index: int = 0) -> None:
    """Put a file into the index-th file uploader on the page."""
    files = {"name": name, "mimeType": "application/octet-stream",
             "buffer": Path(data_or_path).read_bytes() if isinstance(data_or_path, (str, Path)) else data_or_path}
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(index).set_input_files(files=[files])
    _settle(page)


def _sidebar_fingerprint_shown(page, fingerprint: str) -> bool:
    return page.locator('[data-testid="stSidebar"]').get_by_text(fingerprint).count() > 0


def test_upload_reference_and_broken_files(page, tmp_path):
    import gan8
    from conftest import REFERENCE_WEIGHTS

    _require(REFERENCE_WEIGHTS.is_file(), "../shared/reference/data21.mat is not beside this checkout")
    bundled = gan8.load_weights().fingerprint
    _settle(page)
    assert _sidebar_fingerprint_shown(page, bundled)
    _upload(page, b"this is not a mat file", "broken.mat")
    error = page.locator('[data-testid="stSidebar"] [data-testid="stAlertContentError"]')
    error.wait_for()
    assert "broken.mat" in error.inner_text() and "not a MAT file" in error.inner_text()
    assert _sidebar_fingerprint_shown(page, bundled)
    _no_exception(page)
    reference = gan8.load_weights(REFERENCE_WEIGHTS)
    _upload(page, REFERENCE_WEIGHTS, "data21.mat")
    page.wait_for_function("(fp) => document.querySelector('[data-testid=\"stSidebar\"]').innerText.includes(fp)",
                           arg=reference.fingerprint)
    _settle(page)
    assert page.locator('[data-testid="stSidebar"] [data-testid="stAlertContentError"]').count() == 0
    _screenshot(page, "grid-data21")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download grid (PNG)").click()
    expected = gan8.to_png(gan8.tile(reference.generate(gan8.sample_latents(100, 0)), 10, 10), scale=2)
    assert Path(download_info.value.path()).read_bytes() == expected


def test_explorer_compare_and_quality(page):
    from conftest import REFERENCE_WEIGHTS

    page.get_by_role("tab", name="Explorer").click()
    _settle(page)
    image = page.locator('[data-testid="stImage"] img').first
    before = image.get_attribute("src")
    page.get_by_role("button", name="Randomise").click()
    _settle(page)
    page.wait_for_function(
        "(before) => document.querySelector('[data-testid=\"stImage\"] img').src !== before", arg=before)
    assert page.get_by_text("nearest training eight").count() >= 1
    _no_exception(page)
    _screenshot(page, "explorer")

    page.get_by_role("tab", name="Compare").click()
    _settle(page)
    if REFERENCE_WEIGHTS.is_file():
        _upload(page, REFERENCE_WEIGHTS, "data21.mat", index=1)
        page.get_by_text("Difference (right − left)").wait_for()
        assert page.locator('[data-testid="stImage"] img').count() >= 2
        _no_exception(page)
        _screenshot(page, "compare")

    page.get_by_role("tab", name="Quality").click()
    _settle(page)
    page.get_by_role("button", name="Evaluate").click()
    _settle(page)
    page.get_by_text("share classified as 8").wait_for(timeout=120_000)
    page.wait_for_selector(".js-plotly-plot")
    _no_exception(page)
    _screenshot(page, "quality")


def test_parallel_sessions_do_not_mix(browser, server, tmp_path):
    """Four sessions at once, two on other seeds and two on their own uploaded weights."""
    import gan8
    from conftest import random_weights

    uploads = {name: gan8.Generator(**random_weights(seed)) for name, seed in (("a.mat", 11), ("b.mat", 12))}
    for name, generator in uploads.items():
        gan8.save_weights(tmp_path / name, generator)
    bundled = gan8.load_weights()
    plans = [("seed", 5, bundled), ("seed", 9, bundled), ("a.mat", 0, uploads["a.mat"]),
             ("b.mat", 0, uploads["b.mat"])]
    contexts, pages = [], []
    for kind, seed, _ in plans:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server}/?seed={seed}" if kind == "seed" else server)
        contexts.append(context)
        pages.append(page)
    try:
        for page, (kind, _, _) in zip(pages, plans, strict=True):
            page.wait_for_selector('[data-testid="stImage"] img')
            if kind != "seed":
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
                    str(tmp_path / kind))
        for page, (kind, seed, generator) in zip(pages, plans, strict=True):
            page.wait_for_function(
                "(fp) => document.querySelector('[data-testid=\"stSidebar\"]').innerText.includes(fp)",
                arg=generator.fingerprint)
            _settle(page)
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Download grid (PNG)").click()
            expected = gan8.to_png(gan8.tile(generator.generate(gan8.sample_latents(100, seed)), 10, 10), 2)
            assert Path(download_info.value.path()).read_bytes() == expected, (kind, seed)
            _no_exception(page)
    finally:
        for context in contexts:
            context.close()
