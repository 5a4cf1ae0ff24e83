"""Hostile uploads in a real browser (Debian's chromium, the page served by `fleetsim app`):
nothing of a server file reaches the page, and a second session keeps answering (its Step
button moves its month) while the first one uploads hostile files."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from ..viz.conftest import browser_type_launch_args, offline_page, page_url, shot  # noqa: F401
from ..viz.test_browser import step, upload
from .test_page_inputs import DATE_BOMB, SECRET, extends, plant_secret

MONTH = re.compile(r"^(ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic) de \d{4}$")


@pytest.fixture
def second(browser, page_url):  # noqa: F811
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(page_url)
    page.locator(".fs-play").wait_for(timeout=60_000)
    yield page
    context.close()


def months_move(page, seconds: float) -> float:
    """Click Step on a page and wait for its month to change; how long that took."""
    before = page.locator(".fs-date").inner_text()
    started = time.monotonic()
    step(page, 1)
    expect(page.locator(".fs-date")).not_to_have_text(before, timeout=seconds * 1000)
    expect(page.locator(".fs-date")).to_have_text(MONTH)
    return time.monotonic() - started


@pytest.mark.slow
def test_hostile_uploads_show_nothing_of_the_server_and_the_room_keeps_working(
        offline_page, second, tmp_path):  # noqa: F811
    page = offline_page
    secret = plant_secret(tmp_path)
    files = [("absolute.yaml", extends(str(secret))),
             ("traversal.yaml", extends("../" * 12 + str(secret).lstrip("/"))),
             ("zero.yaml", extends("/dev/zero")),
             ("bomb.yaml", DATE_BOMB)]
    errors = page.locator(".fs-import-error")
    for name, data in files:
        upload(page, name, data)
        assert months_move(second, 5) < 5  # the other session answers
        expect(errors).to_be_visible(timeout=20_000)
        text = page.locator("body").inner_text()
        assert SECRET not in text and "Traceback" not in text
        assert "/work/" not in text and "site-packages" not in text
        if name == "bomb.yaml":  # the bounded loader refuses it before it grows (in the child)
            expect(errors).to_contain_text("values (aliases expanded)")
        else:
            expect(errors).to_contain_text("or a file you uploaded")  # the loader's line
    assert months_move(page, 5) < 5  # the uploading session itself still runs
    shot(page, "hostile_upload_es")


@pytest.fixture(scope="module")
def gated_url():
    """`fleetsim app --token ...` on loopback: the gate on, as for a room."""
    from .test_page_server import free_port, start

    port, token = free_port(), "room-token-2026"
    base = f"http://127.0.0.1:{port}/"
    server = start(["--token", token], port, base)
    yield base, token
    server.terminate()
    server.communicate(timeout=10)


@pytest.mark.slow
def test_the_page_works_through_its_join_link_and_not_without(browser, gated_url):
    base, token = gated_url
    context = browser.new_context()
    try:
        page = context.new_page()
        answer = page.goto(base)
        assert answer.status == 403 and "token" in page.locator("body").inner_text()
        page.goto(f"{base}?token={token}")  # sets the cookie; assets and websocket follow
        page.locator(".fs-play").wait_for(timeout=60_000)
        assert months_move(page, 10) < 10
        page.goto(base)  # the cookie now stands for the token
        page.locator(".fs-play").wait_for(timeout=60_000)
    finally:
        context.close()
    stranger = browser.new_context()
    try:
        assert stranger.new_page().goto(base).status == 403
    finally:
        stranger.close()


def test_a_bad_seed_typed_in_the_page_shows_a_message_not_a_traceback(offline_page):  # noqa: F811
    page = offline_page
    box = page.locator(".fs-seed input")
    for typed in ("-1", str(2**64)):
        box.fill(typed)
        box.press("Enter")
        expect(page.locator(".fs-notice")).to_contain_text(
            f"La semilla debe ser un número entero de 0 a {2**63 - 1}")
        assert "Traceback" not in page.locator("body").inner_text()
    assert months_move(page, 5) < 5  # the run goes on with its last good seed
    expect(page.locator(".fs-notice")).to_have_count(0)  # an accepted action clears it


@pytest.mark.slow
def test_an_upload_over_the_websocket_limit_gets_a_message_not_a_silent_drop(offline_page):  # noqa: F811, E501
    page = offline_page
    size = 20 * 1024 * 1024  # above uvicorn's 16 MiB websocket message limit
    upload(page, "huge.yaml", b"#" * size)
    expect(page.locator(".fs-import-error")).to_contain_text(
        f"El archivo tiene {size} bytes; el límite es 2000000 bytes.", timeout=20_000)
    assert months_move(page, 5) < 5  # the session was not cut off
