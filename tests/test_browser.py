"""End to end: `streamlit run app.py` in a real headless Chromium, used as a person would.

Screenshots of each tab go to test-artifacts/. Locally the test is skipped when Chromium or
Playwright is missing; in CI (CI=true) it never is.
"""

from __future__ import annotations

import io
import os
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


@pytest.fixture(scope="module")
def server():
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
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"streamlit did not become healthy:\n{output}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


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


def _settle(page) -> None:
    """Wait for the script run to finish (the status widget disappears)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_grid_tab_and_png_download(page):
    _settle(page)
    _no_exception(page)
    assert page.get_by_role("tab").count() == 3
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
    assert page.get_by_role("button", name="Download animation (GIF)").count() == 1


def test_statistics_with_small_n(page):
    page.get_by_role("tab", name="Statistics").click()
    _settle(page)
    box = page.get_by_role("spinbutton", name="Samples")
    box.fill("2000")
    box.press("Enter")
    _settle(page)
    page.wait_for_selector(".js-plotly-plot")
    assert page.locator(".js-plotly-plot").count() >= 5   # mean, std, histogram, ink, one pixel
    assert page.get_by_text("ink fraction mean").count() >= 1
    _no_exception(page)
    _screenshot(page, "statistics")
