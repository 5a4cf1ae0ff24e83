"""The page's speed on the server, through the real page component (solara.render: the same
Python work as `fleetsim app` does for a browser session, minus the websocket):

1. play: a 30-year run of the page's default preset (and of plain mexico_city) at full speed,
   from pressing Play to the end, the baseline computed alongside (cold: no other session has
   computed it) or already shared by another session (warm);
2. room: 20 pages in one process (threads, as Solara serves them), each pressing Step; the
   seconds from each click to its page redrawn. Twice: at a workshop's pace (each person
   presses again 1-3 s after seeing the result) and saturated (everyone presses again at once,
   the worst case). Everyone keeps the default seed, so they share one baseline.

Browser drawing happens on each laptop and is not counted here (see bench_app_browser.py).
Other work on the machine slows every figure: the load average is recorded.
Run: .venv/bin/python benchmarks/bench_app.py -> benchmarks/results/app_speed.json
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import threading
import time
from pathlib import Path

import ipyvuetify as v
import solara

from fleetsim.viz import app, runner


def open_page(scenario: str | None = None):
    _, rc = solara.render(app.Page(), handle_error=False)
    if scenario is not None:
        rc.find(v.Select, label="Escenario").widget.v_model = scenario
    return rc


def play_30_years(scenario: str) -> float:
    rc = open_page(scenario)
    started = time.perf_counter()
    rc.find(v.Btn, class_="fs-play").widget.click()
    while True:  # Play turns disabled at the run's end (looked for 4 times a second)
        time.sleep(0.25)
        button = rc.find(v.Btn, class_="fs-play")
        if button.widgets and button.widget.disabled:
            return time.perf_counter() - started


def room(pace: bool, sessions: int = 20, steps: int = 12) -> dict:
    runner._BASELINES.clear()
    pages = [open_page() for _ in range(sessions)]
    latencies: list[float] = []
    lock = threading.Lock()
    rng = random.Random(1)
    waits = [[rng.uniform(1, 3) for _ in range(steps)] for _ in pages]

    def press(rc, wait):
        button = rc.find(v.Btn, class_="fs-step").widget
        for k in range(steps):
            t0 = time.perf_counter()
            button.click()  # returns once the page has redrawn
            with lock:
                latencies.append(time.perf_counter() - t0)
            if pace:
                time.sleep(wait[k])

    threads = [threading.Thread(target=press, args=(rc, w)) for rc, w in zip(pages, waits,
                                                                             strict=True)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    latencies.sort()
    return {"sessions": sessions, "steps_each": steps,
            "pause_between_presses_s": [1, 3] if pace else 0,
            "median_s": statistics.median(latencies),
            "p95_s": latencies[int(0.95 * (len(latencies) - 1))], "max_s": latencies[-1]}


def main() -> None:
    load_before = os.getloadavg()[0]
    play = {}
    for scenario in (app.DEFAULT_SCENARIO, "mexico_city"):
        cold, warm = [], []
        for _ in range(3):
            runner._BASELINES.clear()
            cold.append(play_30_years(scenario))
            warm.append(play_30_years(scenario))  # the baseline is now shared
        play[scenario] = {"cold_median_s": statistics.median(cold),
                          "warm_median_s": statistics.median(warm),
                          "cold_s": cold, "warm_s": warm}
    out = {
        "command": ".venv/bin/python benchmarks/bench_app.py",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_before_after": [load_before, os.getloadavg()[0]],
        "sample_fraction": app.DEFAULT_SAMPLE,
        "play_30y_full_speed": play,
        "room_20_sessions_step_workshop_pace": room(pace=True),
        "room_20_sessions_step_saturated": room(pace=False),
    }
    path = Path(__file__).parent / "results" / "app_speed.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
