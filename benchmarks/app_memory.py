"""Peak memory of the Streamlit server while a browser uses every tab, the heaviest settings included
(Streamlit Community Cloud gives an app about 690 MB).

    python benchmarks/app_memory.py [--sessions 3]

Starts `streamlit run app.py`, opens the page in headless Chromium (Debian's /usr/bin/chromium),
visits each tab in each of several sessions (a 32 x 32 grid, a 480-frame interpolation, statistics of
1,000,000 samples, the explorer, the comparison with data21.mat when it is beside the checkout, and
the quality view), and reports the server's resident memory after each step and its peak (VmHWM).
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import REFERENCE, ROOT
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(ROOT / "tests"))
from test_browser import CHROMIUM, CHROMIUM_ARGS, _settle, streamlit_server  # noqa: E402


def settle(page) -> None:
    _settle(page, timeout_ms=300_000)  # 1,000,000 samples take a while on a busy machine


def memory_mib(pid: int) -> tuple[float, float]:
    """(resident, peak resident) of a process, in MiB."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def use_every_tab(page, url: str) -> list[tuple[str, callable]]:
    def grid():
        page.goto(f"{url}/?tab=Grid")
        page.wait_for_selector('[data-testid="stImage"] img')
        for key in ("Rows", "Columns"):
            slider = page.get_by_role("slider", name=key)
            slider.focus()
            page.keyboard.press("End")
            settle(page)

    def interpolation():
        page.goto(f"{url}/?tab=Interpolation&keys=0,1,2,3,4,5,6,7")
        settle(page)
        slider = page.get_by_role("slider", name="Frames per segment")
        slider.focus()
        page.keyboard.press("End")  # 8 keyframes x 60 frames, looping: 480 frames
        settle(page)

    def statistics():
        page.goto(f"{url}/?tab=Statistics")
        settle(page)
        box = page.get_by_role("spinbutton", name="Samples")
        box.fill("1000000")
        box.press("Enter")
        settle(page)

    def explorer():
        page.goto(f"{url}/?tab=Explorer")
        settle(page)
        page.get_by_role("button", name="Randomise").click()
        settle(page)

    def compare():
        page.goto(f"{url}/?tab=Compare")
        settle(page)
        if REFERENCE.is_file():
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(1).set_input_files(str(REFERENCE))
            page.get_by_text("Difference (right − left)").wait_for(timeout=120_000)
            settle(page)

    def quality():
        page.goto(f"{url}/?tab=Quality")
        settle(page)
        page.get_by_role("button", name="Evaluate").click()
        page.get_by_text("share classified as 8").wait_for(timeout=300_000)
        settle(page)

    return [("grid 32 x 32", grid), ("interpolation, 480 frames", interpolation),
            ("statistics, 1,000,000 samples", statistics), ("explorer", explorer),
            ("compare with data21.mat", compare), ("quality", quality)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3, help="browser sessions, one after another (default: 3)")
    args = parser.parse_args()
    with streamlit_server() as (server, url):
        print(f"server started: {memory_mib(server.pid)[0]:.0f} MiB resident")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for session in range(1, args.sessions + 1):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.set_default_timeout(300_000)
                for name, step in use_every_tab(page, url):
                    start = time.perf_counter()
                    step()
                    rss, _ = memory_mib(server.pid)
                    print(f"  session {session}, {name:<32} {rss:6.0f} MiB resident "
                          f"({time.perf_counter() - start:5.1f} s)")
                context.close()
            browser.close()
        rss, peak = memory_mib(server.pid)
        print(f"after {args.sessions} sessions: {rss:.0f} MiB resident, peak {peak:.0f} MiB (limit about 690 MB)")

if __name__ == "__main__":
    main()
