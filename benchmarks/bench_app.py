"""The page's speed, server side (what Solara's process does for each session):

1. play: a 30-year Mexico City run at full speed with its baseline alongside, refreshing every
   chart after each frame exactly as the page does (frames of FULL_SPEED_FRAME_S of stepping),
   cold (no shared baseline) and warm (a baseline another session already computed);
2. room: 20 sessions in one process (threads, as Solara serves them), each pressing Step
   (one month + every chart refreshed) over and over; the latency of each step's update.

Browser drawing happens on each laptop and is not counted. Run:
    .venv/bin/python benchmarks/bench_app.py   -> benchmarks/results/app_speed.json
"""

from __future__ import annotations

import json
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

    def __init__(self, seed: int):
        self.run = LiveRun("mexico_city", seed=seed, sample_fraction=SAMPLE)
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


def play_30_years(seed: int) -> dict:
    started = time.perf_counter()
    s = Session(seed)
    frames = 0
    while not s.run.finished:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < panels.FULL_SPEED_FRAME_S and not s.run.finished:
            s.run.step(1)
        s.refresh()
        frames += 1
    return {"seconds": time.perf_counter() - started, "frames": frames,
            "months": s.run.months_done}


def room(n_sessions: int = 20, steps: int = 24) -> dict:
    sessions = [Session(100 + i) for i in range(n_sessions)]
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
    return {"sessions": n_sessions, "steps_each": steps,
            "median_s": statistics.median(latencies),
            "p95_s": latencies[int(0.95 * len(latencies))], "max_s": latencies[-1]}


def main() -> None:
    cold = []
    for i in range(3):
        runner._BASELINES.clear()
        cold.append(play_30_years(1 + i))
    warm = [play_30_years(1) for _ in range(2)]
    runner._BASELINES.clear()
    crowd = room()
    out = {
        "command": ".venv/bin/python benchmarks/bench_app.py",
        "machine": f"{platform.processor() or platform.machine()}, 2 cores",
        "sample_fraction": SAMPLE,
        "play_30y_cold_median_s": statistics.median(r["seconds"] for r in cold),
        "play_30y_warm_median_s": statistics.median(r["seconds"] for r in warm),
        "play_runs": {"cold": cold, "warm": warm},
        "room_20_sessions_step": crowd,
    }
    path = Path(__file__).parent / "results" / "app_speed.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
