"""Browser tests: a page server the tests start, Debian's chromium driven by playwright (no
browser download), every request that is not to the local server aborted and recorded."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": chromium, "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def page_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "page-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "fleetsim.experiments.cli", "app",
                               "--port", str(port), "--no-open"], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(10)
    log.close()


@pytest.fixture
def offline_page(context, page_url):
    """A page that may reach only the local server; `page.outside` lists what it tried."""
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_viewport_size({"width": 1600, "height": 1100})
    page.outside = outside
    page.goto(page_url)
    page.locator(".fs-play").wait_for(timeout=60_000)
    yield page
    assert outside == []


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    time.sleep(1.0)  # let plotly finish drawing
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
