"""The page in a real browser (Debian's chromium), served by `fleetsim app`, with no network
beyond the local server. Screenshots of the main views go to test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect
from typer.testing import CliRunner

from fleetsim.experiments.cli import app

from .conftest import shot

pytestmark = pytest.mark.slow

EMISSION_TRACES = """() => Array.from(
    document.querySelectorAll('.fs-chart-emissions .js-plotly-plot'))
    .map(p => p.data.map(t => Array.from(t.y || [])))"""


def upload(page, name: str, data: bytes) -> None:
    """Choose a file in the page's upload field, as a visitor does with the file dialog."""
    page.locator(".fs-upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/yaml", "buffer": data}])


def step(page, months: int) -> None:
    for _ in range(months):
        page.locator(".fs-step").click()
        page.wait_for_timeout(80)


def test_the_page_loads_offline_and_play_advances_the_year(offline_page):
    page = offline_page
    expect(page.locator(".fs-date")).to_have_text("Sin iniciar: pulse Reproducir")
    page.get_by_role("button", name="máxima").click()
    page.locator(".fs-play").click()
    expect(page.locator(".fs-date")).to_have_text(re.compile(r"20(2[6-9]|[3-5]\d)"),
                                                  timeout=60_000)
    page.locator(".fs-pause").click()
    shot(page, "live_es")


def test_switching_an_instrument_changes_the_emissions_chart(offline_page):
    page = offline_page
    # click the diesel price slider near its top end, before the first month
    page.get_by_text("Precios y crédito").click()
    track = page.locator(".fs-control-ctl_diesel_price .v-slider").first
    box = track.bounding_box()
    track.click(position={"x": box["width"] * 0.95, "y": box["height"] / 2}, force=True)
    expect(page.locator(".fs-control-ctl_diesel_price")).not_to_contain_text("26,3 MXN/L")
    step(page, 14)
    expect(page.locator(".fs-date")).to_have_text("feb de 2026")
    page.wait_for_timeout(1000)
    traces = page.evaluate(EMISSION_TRACES)[0]
    # PM2.5 panel: the policy run, then the baseline (same seed, the scenario's price)
    policy, baseline = traces[0], traces[1]
    assert len(policy) == 2 and policy != baseline
    # mid-run: switch the scrappage programme off; the change is marked on every panel
    page.locator(".fs-control-ctl_on_scrappage input").first.click(force=True)
    step(page, 1)
    page.wait_for_timeout(1000)
    shapes = page.evaluate("""() => document.querySelector(
        '.fs-chart-emissions .js-plotly-plot').layout.shapes.length""")
    assert shapes == 4
    shot(page, "instrument_changed_es")


def test_the_language_switch(offline_page):
    page = offline_page
    page.locator(".fs-lang").get_by_text("EN").click()
    expect(page.locator(".fs-date")).to_have_text("Not started: press Play")
    expect(page.get_by_text("Fleet by technology").first).to_be_visible()
    step(page, 2)
    expect(page.locator(".fs-date")).to_have_text("Feb 2025")
    shot(page, "live_en")
    page.get_by_text("Projector").click()
    expect(page.locator(".fs-date")).to_be_visible()
    shot(page, "projector_en")


def test_a_bad_upload_shows_its_error_and_keeps_the_run(offline_page, tmp_path):
    page = offline_page
    step(page, 1)
    text = b"name: Bad Name\ndescription: x\nextends: mexico_city\nmarket:\n  growth: 3\n"
    (tmp_path / "bad.yaml").write_bytes(text)
    expected = CliRunner().invoke(app, ["validate", str(tmp_path / "bad.yaml")])
    upload(page, "bad.yaml", text)
    errors = page.locator(".fs-import-error")
    # the check runs in a fresh, limited interpreter: its imports alone take seconds
    expect(errors).to_be_visible(timeout=20_000)
    for line in expected.output.strip().splitlines():
        expect(errors).to_contain_text(line)
    errors.scroll_into_view_if_needed()
    expect(page.locator(".fs-date")).to_have_text("ene de 2025")
    shot(page, "import_error_es")


def test_two_sessions_stay_apart(context, browser, page_url, offline_page):
    first = offline_page
    other_context = browser.new_context(viewport={"width": 1200, "height": 900})
    second = other_context.new_page()
    second.goto(page_url)
    second.locator(".fs-play").wait_for(timeout=60_000)
    step(first, 3)
    first.locator(".fs-lang").get_by_text("EN").click()
    expect(first.locator(".fs-date")).to_have_text("Mar 2025")
    expect(second.locator(".fs-date")).to_have_text("Sin iniciar: pulse Reproducir")
    other_context.close()


def test_the_comparison_view(offline_page):
    page = offline_page
    page.get_by_role("button", name="Comparar", exact=True).click()
    page.locator(".fs-compare-run").click()
    expect(page.locator(".fs-compare-charts .js-plotly-plot").first).to_be_visible(
        timeout=90_000)
    shot(page, "compare_es")


def months_of(text: str) -> int:
    """'mar de 2026' -> months since year 0 (the page's Spanish date)."""
    name, year = re.fullmatch(r"(\w+) de (\d{4})", text.strip()).groups()
    names = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov",
             "dic"]
    return int(year) * 12 + names.index(name)


def test_pause_at_full_speed_stops_near_the_month_shown(offline_page):
    page = offline_page
    page.get_by_role("button", name="máxima").click()
    page.locator(".fs-play").click()
    date = page.locator(".fs-date")
    expect(date).to_have_text(re.compile(r"de 20(2[7-9]|[3-5]\d)"), timeout=60_000)
    # the date the facilitator sees as the button goes down, read in the browser itself
    page.evaluate("""() => document.querySelector('.fs-pause').addEventListener(
        'mousedown', () => { window.shownAtClick =
            document.querySelector('.fs-date').innerText; }, {capture: true})""")
    page.locator(".fs-pause").click()
    expect(page.locator(".fs-play")).to_be_visible()
    page.wait_for_timeout(1500)
    shown, stopped = page.evaluate("window.shownAtClick"), date.inner_text()
    # the run stops at the month after the click reaches the server; a chart update still
    # in flight can delay the click by a month or two more (measured 0-3 at 1 s frames)
    assert 0 <= months_of(stopped) - months_of(shown) <= 3, (shown, stopped)


def test_a_link_opens_its_settings_and_a_reload_keeps_them(offline_page, page_url):
    page = offline_page
    page.goto(page_url + "?lang=en&scenario=baseline&seed=7")
    expect(page.locator(".fs-date")).to_have_text("Not started: press Play", timeout=60_000)
    expect(page.locator(".fs-seed input")).to_have_value("7")
    expect(page).to_have_url(re.compile(r"scenario=baseline"))
    page.reload()
    expect(page.locator(".fs-date")).to_have_text("Not started: press Play", timeout=60_000)
    expect(page.locator(".fs-seed input")).to_have_value("7")
    assert "baseline" in page.locator(".fs-side").inner_text()


@pytest.mark.parametrize("width,height", [(390, 844), (1400, 900)])
def test_the_layout_stacks_on_a_phone(offline_page, width, height):
    page = offline_page
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(1000)
    chart = page.locator(".fs-chart-fleet").bounding_box()
    if width < 900:
        assert chart["width"] > width * 0.8, chart  # a chart as wide as the phone
        lang = page.locator(".fs-lang").bounding_box()
        assert lang["x"] + lang["width"] <= width + 1, lang  # the language switch on screen
        bar = page.locator("header").first.bounding_box()
        label = page.locator(".fs-side .v-select").first.bounding_box()
        assert label["y"] >= bar["y"] + bar["height"], (bar, label)  # the bar covers nothing
    else:
        assert chart["width"] < width * 0.5, chart  # side by side
    shot(page, f"layout_{width}x{height}")
