"""The page's server against a room it cannot trust: bounded caches, the access token of
`fleetsim app` (http and websocket), and the host warnings."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import websockets
from typer.testing import CliRunner
from websockets.sync.client import connect

from fleetsim.experiments.cli import app
from fleetsim.viz import compare, runner, serve
from fleetsim.viz.runner import BoundedCache, LiveRun


# ---- caches ----------------------------------------------------------------------------------
def test_a_bounded_cache_evicts_the_least_recently_used():
    cache = BoundedCache(3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # used: now the most recent
    cache.put("d", "D")
    assert "b" not in cache and len(cache) == 3 and cache.get("a") == "A"


def test_the_shared_baseline_cache_is_bounded_and_a_live_session_keeps_its_own(monkeypatch):
    monkeypatch.setattr(runner, "BASELINES", BoundedCache(2))
    first = LiveRun("mexico_city", seed=101, sample_fraction=0.01)
    first.step(2)
    others = [LiveRun("mexico_city", seed=s, sample_fraction=0.01) for s in (102, 103)]
    assert len(runner.BASELINES) == 2 and first.shared not in runner.BASELINES.entries.values()
    first.step(2)  # evicted from the cache, still stepped and read by its session
    _, base = first.monthly()
    assert len(base) == 4 and len(first.shared.rows) == 4
    assert all(o.shared is not first.shared for o in others)


def test_the_comparison_results_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(compare, "DONE", BoundedCache(2))
    monkeypatch.setattr(compare, "LiveRun", TinyRun)
    for seed in range(5):
        compare.run_to_end(compare.Entry("baseline", "baseline"), seed, 0.01)
    assert len(compare.DONE) == 2 and ("baseline", "()", 4, 0.01) in compare.DONE
    assert ("baseline", "()", 0, 0.01) not in compare.DONE


class TinyRun:
    """A stand-in for LiveRun: the cache, not the model, is under test."""

    def __init__(self, name, seed, sample_fraction, settings, with_baseline):
        self.horizon, self.seed = 1, seed

    def step(self, months):
        pass

    def yearly(self):
        return f"table {self.seed}", None


def test_the_bounds_are_stated():
    assert runner.BASELINES.size == runner.BASELINES_KEPT == 8
    assert compare.DONE.size == compare.RESULTS_KEPT == 8


# ---- host and token --------------------------------------------------------------------------
@pytest.mark.parametrize("host,local", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                        ("127.0.0.2", True), ("", False), ("0.0.0.0", False),
                                        ("::", False), ("192.168.1.5", False),
                                        ("example.org", False)])
def test_loopback_hosts(host, local):
    assert serve.is_loopback(serve.bind_host(host)) is local


def test_an_empty_host_is_never_shown_as_http_colon_port():
    url = serve.join_url(serve.bind_host(""), 8765, "tok12345")
    assert not url.startswith("http://:") and url.endswith(":8765/?token=tok12345")
    assert serve.join_url("::1", 80, None) == "http://[::1]:80/"


@pytest.mark.parametrize("args", [["--token", "short"], ["--token", "has space 12345"],
                                  ["--token", "abcdefgh12", "--no-token"]])
def test_a_bad_token_option_exits_2_with_one_line(args):
    result = CliRunner().invoke(app, ["app", "--no-open", *args])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("--token: got")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], port: int, url: str) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "fleetsim.experiments.cli", "app",
                               "--port", str(port), "--no-open", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=1)
            return server
        except urllib.error.HTTPError:
            return server  # answering (403 is an answer)
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise AssertionError("the server did not start")


def status(url: str, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            ours = [c for c in answer.headers.get_all("set-cookie") or []
                    if c.startswith("fleetsim_token_")]
            return answer.status, ours[0] if ours else ""
    except urllib.error.HTTPError as err:
        return err.code, ""


def websocket_status(url: str, cookie: str | None) -> int | str:
    """The websocket's answer ("open" or the HTTP status); a sync client, as playwright's
    sync API may hold an event loop in this thread."""
    try:
        with connect(url, additional_headers={"Cookie": cookie} if cookie else {},
                     open_timeout=30):
            return "open"
    except websockets.InvalidStatus as err:
        return err.response.status_code


@pytest.fixture(scope="module")
def gated():
    """`fleetsim app` on loopback with --token given: the gate on, as off-machine."""
    port, token = free_port(), "workshop-2026-abc"
    base = f"http://127.0.0.1:{port}/"
    server = start(["--token", token], port, base)
    yield base, token, port
    server.terminate()
    out, err = server.communicate(timeout=10)
    assert f"{base}?token={token}" in out


@pytest.mark.slow
def test_without_the_token_http_gets_403_and_with_it_200(gated):
    base, token, port = gated
    assert status(base)[0] == 403
    assert status(base + "?token=wrong-token-xyz")[0] == 403
    assert status(base + "static/main-vuetify.js")[0] == 403
    code, cookie = status(f"{base}?token={token}")
    assert code == 200 and cookie.startswith(f"fleetsim_token_{port}={token}")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert status(base, cookie=f"fleetsim_token_{port}={token}")[0] == 200
    assert status(base, cookie=f"fleetsim_token_{port}=nope")[0] == 403


@pytest.mark.slow
def test_without_the_token_the_websocket_is_refused(gated):
    base, token, port = gated
    ws = base.replace("http", "ws") + "jupyter/api/kernels/k1/channels?session_id=s1"
    assert (websocket_status(ws, None)) == 403
    assert (websocket_status(ws, f"fleetsim_token_{port}=nope")) == 403
    assert (websocket_status(ws, f"fleetsim_token_{port}={token}")) == "open"


def non_loopback_address() -> str | None:
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True,
                               timeout=5).stdout.split()
    except OSError:
        return None
    return next((a for a in found if "." in a and not a.startswith("127.")), None)


@pytest.mark.slow
def test_a_non_loopback_host_warns_and_needs_a_generated_token():
    address = non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    port = free_port()
    base = f"http://{address}:{port}/"
    server = start(["--host", address], port, base)
    try:
        assert status(base)[0] == 403
    finally:
        server.terminate()
        out, err = server.communicate(timeout=10)
    assert "reachable by other machines" in err and "token" in err
    url = next(w for w in out.split() if w.startswith("http://"))
    assert url.startswith(base + "?token=") and len(url) > len(base) + 20


@pytest.mark.slow
def test_no_token_is_explicit_and_warned():
    address = non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    port = free_port()
    base = f"http://{address}:{port}/"
    server = start(["--host", address, "--no-token"], port, base)
    try:
        assert status(base)[0] == 200
    finally:
        server.terminate()
        out, err = server.communicate(timeout=10)
    assert "ANYONE" in err and "?token=" not in out


@pytest.mark.slow
def test_an_empty_host_warns_and_shows_a_real_address():
    port = free_port()
    server = start(["--host", ""], port, f"http://127.0.0.1:{port}/")
    try:
        assert status(f"http://127.0.0.1:{port}/")[0] == 403  # every interface: token needed
    finally:
        server.terminate()
        out, err = server.communicate(timeout=10)
    assert "reachable by other machines" in err
    assert "http://:" not in out and "?token=" in out
