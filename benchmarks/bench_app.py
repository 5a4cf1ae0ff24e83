"""The page's speed, server side (what Solara's process does for each session):

1. play: a 30-year Mexico City run (the page's default preset, and plain mexico_city) at full
   speed with its baseline alongside, refreshing every chart after each frame as the page
   does (frames of FULL_SPEED_FRAME_S of stepping), cold (this session computes the baseline)
   and warm (another session already did);
2. room: 20 sessions in one process (threads, as Solara serves them), each pressing Step
   (one month + every chart refreshed) over and over with no pause, all at once: the latency
   of each step's update. Twice: everyone on the default seed (they share one baseline, as a
   workshop room does) and every session on its own seed (each computes its own baseline).

Browser drawing happens on each laptop and is not counted. Run:
    .venv/bin/python benchmarks/bench_app.py   -> benchmarks/results/app_speed.json
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from pathlib import Path

from plotly.graph_objs import FigureWidget

from fleetsim.viz import app, charts, panels, runner
from fleetsim.viz.network import NetworkSample
from fleetsim.viz.runner import LiveRun
from fleetsim.viz.widgets import update_widget

SAMPLE = app.DEFAULT_SAMPLE


class Session:
    """One page's run and its chart widgets."""

    def __init__(self, seed: int, scenario: str = app.DEFAULT_SCENARIO):
        self.run = LiveRun(scenario, seed=seed, sample_fraction=SAMPLE)
        self.net = NetworkSample(self.run.model)
        self.widgets = [FigureWidget() for _ in range(7)]

    def refresh(self) -> None:
        r, lang = self.run, "es"
        pol, base = r.yearly()
        marks = app.change_marks(r)
        runs = [("x", pol)]
        self.net.update(r.model)
        r.headline()
        figs = [charts.fleet_by_tech(pol, r.model.tables.reported_names, lang, marks),
                charts.emissions(runs, base, lang, marks), charts.shares(runs, lang, marks),
                charts.fleet_by_band(pol, lang, marks), charts.spending(runs, lang, marks),
                charts.loans(pol, lang, marks), charts.network(self.net, lang)]
        for w, f in zip(self.widgets, figs, strict=True):
            update_widget(w, f)


def play_30_years(seed: int, scenario: str) -> dict:
    started = time.perf_counter()
    s = Session(seed, scenario)
    frames = 0
    while not s.run.finished:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < panels.FULL_SPEED_FRAME_S and not s.run.finished:
            s.run.step(1)
        s.refresh()
        frames += 1
    return {"seconds": time.perf_counter() - started, "frames": frames,
            "months": s.run.months_done}


def room(same_seed: bool, n_sessions: int = 20, steps: int = 24) -> dict:
    runner._BASELINES.clear()
    sessions = [Session(42 if same_seed else 100 + i) for i in range(n_sessions)]
    for s in sessions:  # the page draws its charts when it opens, before any step
        s.refresh()
    latencies: list[float] = []
    lock = threading.Lock()

    def press_step(s: Session):
        for _ in range(steps):
            t0 = time.perf_counter()
            s.run.step(1)
            s.refresh()
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=press_step, args=(s,)) for s in sessions]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    latencies.sort()
    return {"sessions": n_sessions, "steps_each": steps, "same_seed": same_seed,
            "median_s": statistics.median(latencies),
            "p95_s": latencies[int(0.95 * len(latencies))], "max_s": latencies[-1]}


def main() -> None:
    load_before = os.getloadavg()
    play = {}
    for scenario in (app.DEFAULT_SCENARIO, "mexico_city"):
        cold, warm = [], []
        for i in range(3):
            runner._BASELINES.clear()
            cold.append(play_30_years(1 + i, scenario))
            warm.append(play_30_years(1 + i, scenario))  # the baseline is now shared
        play[scenario] = {
            "cold_median_s": statistics.median(r["seconds"] for r in cold),
            "warm_median_s": statistics.median(r["seconds"] for r in warm),
            "runs": {"cold": cold, "warm": warm}}
    out = {
        "command": ".venv/bin/python benchmarks/bench_app.py",
        "machine": f"{platform.processor() or platform.machine()}, 2 cores",
        "sample_fraction": SAMPLE,
        # other work on the machine slows every figure: the 1-minute load before and after
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "play_30y_full_speed": play,
        "room_20_sessions_step_same_seed": room(same_seed=True),
        "room_20_sessions_step_own_seeds": room(same_seed=False),
    }
    path = Path(__file__).parent / "results" / "app_speed.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
