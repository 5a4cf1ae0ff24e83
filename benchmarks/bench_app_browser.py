"""The page under a room's load, end to end: `fleetsim app` serving 20 browser sessions
(headless Debian chromium, every tab on this same 2-core machine, so the browsers' drawing
competes with the server: pessimistic against a room of laptops).

- load: seconds from opening the page to its controls showing, per session;
- step: 20 sessions press Step together, again and again; seconds from each click to that
  page showing the next month (model month, charts and headline refreshed);
- step_while_playing: 10 sessions play at full speed while 10 others press Step.

Run: .venv/bin/python benchmarks/bench_app_browser.py -> benchmarks/results/app_room_browser.json
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright, expect

SESSIONS = 20
STEPS = 6
MONTHS_ES = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"]


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "fleetsim.experiments.cli", "app", "--port",
                             str(port), "--no-open"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the page server did not start")


async def open_page(browser, url: str, loads: list[float]):
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    t0 = time.perf_counter()
    await page.goto(url)
    await page.locator(".fs-play").wait_for(timeout=180_000)
    loads.append(time.perf_counter() - t0)
    return page


async def press_steps(page, latencies: list[float], steps: int = STEPS) -> None:
    """Press Step and wait for the next month to show; a page still not showing it after
    60 s counts as lost (recorded as inf) and the next press waits for the month after."""
    start = MONTHS_ES.index((await page.locator(".fs-date").inner_text()).split()[0]) + 1 \
        if "de 2025" in await page.locator(".fs-date").inner_text() else 0
    for k in range(start + 1, start + steps + 1):
        t0 = time.perf_counter()
        try:
            await page.locator(".fs-step").click(timeout=60_000)
            await expect(page.locator(".fs-date")).to_have_text(
                f"{MONTHS_ES[k - 1]} de 2025", timeout=60_000)
            latencies.append(time.perf_counter() - t0)
        except (AssertionError, PlaywrightTimeout):  # e.g. Solara's reconnecting overlay
            latencies.append(float("inf"))


def summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    ok = [x for x in xs if x != float("inf")]
    p95 = xs[int(0.95 * (len(xs) - 1))]
    return {"n": len(xs), "lost": len(xs) - len(ok), "median_s": statistics.median(xs),
            "p95_s": None if p95 == float("inf") else p95,  # None: a lost update
            "max_s": max(ok) if ok else None}


async def main() -> None:
    load_before = os.getloadavg()[0]
    proc, url = start_server()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"),
                                               args=["--no-sandbox"])
            loads: list[float] = []
            pages = [await open_page(browser, url, loads) for _ in range(SESSIONS)]
            print(f"opened {SESSIONS} pages: {summary(loads)}", flush=True)
            steps: list[float] = []
            await asyncio.gather(*(press_steps(p, steps) for p in pages))
            print(f"steps: {summary(steps)}", flush=True)
            players, steppers = pages[:10], pages[10:]
            for p in players:
                await p.locator(".fs-play").click()
            busy: list[float] = []
            await asyncio.gather(*(press_steps(p, busy) for p in steppers))
            await browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    out = {"command": ".venv/bin/python benchmarks/bench_app_browser.py",
           "load_average_before_after": [load_before, os.getloadavg()[0]],
           "sessions": SESSIONS, "load": summary(loads), "step": summary(steps),
           "step_while_10_play": summary(busy)}
    path = Path(__file__).parent / "results" / "app_room_browser.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
