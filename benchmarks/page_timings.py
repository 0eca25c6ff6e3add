"""Server-side page timings with Streamlit's AppTest: cold start, and warm reruns of each tab.

    python benchmarks/page_timings.py
"""

from __future__ import annotations

import statistics
import time

from _common import ROOT
from streamlit.testing.v1 import AppTest


def timed(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    assert not at.exception, [e.message for e in at.exception]
    return seconds


def main() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    cold = timed(at)
    grid = []
    for seed in range(1, 8):
        at.number_input(key="seed").set_value(seed)
        grid.append(timed(at))
    at.session_state["tab"] = "Interpolation"
    timed(at)
    interp = []
    for steps in (10, 11, 12, 13, 14):
        at.slider(key="interp_steps").set_value(steps)
        interp.append(timed(at))
    at.session_state["tab"] = "Statistics"
    timed(at)
    at.number_input(key="stats_n").set_value(100_000)
    stats_cold = []
    for seed in (11, 12, 13):
        at.number_input(key="stats_seed").set_value(seed)
        stats_cold.append(timed(at))
    stats_warm = [timed(at) for _ in range(5)]
    print("server time per run (AppTest, medians):")
    print(f"  cold start (imports, weights, first grid)     {cold * 1000:8.0f} ms")
    print(f"  grid tab, new seed                            {statistics.median(grid) * 1000:8.0f} ms")
    print(f"  interpolation tab, new frames per segment     {statistics.median(interp) * 1000:8.0f} ms")
    print(f"  statistics tab, 100,000 new samples           {statistics.median(stats_cold) * 1000:8.0f} ms")
    print(f"  statistics tab, cached rerun                  {statistics.median(stats_warm) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
