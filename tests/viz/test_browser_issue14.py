"""Issue 14's page items in a real browser (Debian's chromium), served by `fleetsim app`, no
network beyond the local server; screenshots to test-artifacts/ (looked at, not committed)."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, shot

pytestmark = pytest.mark.slow

SMALL = "?sample=0.01"  # the smallest fleet sample: whole runs in seconds


def open_page(page, url: str, query: str = SMALL) -> None:
    page.goto(url + query)
    page.locator(".fs-play").wait_for(timeout=60_000)


def play_until(page, pattern: str) -> None:
    # medium (3 months a frame) rather than full: on a loaded machine a full-speed play
    # starved the websocket (the page disconnected, load average 9 on 2 cores)
    page.get_by_role("button", name=re.compile("^(media|medium)$")).click()
    page.locator(".fs-play").click()
    expect(page.locator(".fs-date")).to_have_text(re.compile(pattern), timeout=120_000)
    # no_wait_after: on a loaded machine playwright waited 30 s for "scheduled navigations"
    # after the click (the page keeps its settings in the URL)
    page.locator(".fs-pause").click(no_wait_after=True)
    expect(page.locator(".fs-play")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)


def pick(page, select: str, option: str) -> None:
    """Open a vuetify select and click one of its options."""
    page.locator(select).click()
    page.locator(".v-menu__content .v-list-item").filter(has_text=option).first.click()
    page.keyboard.press("Escape")


def test_compare_takes_the_rooms_settings_and_a_snapshot_and_keeps_results(offline_page,
                                                                           page_url):
    page = offline_page
    open_page(page, page_url)
    # the room switches the scrappage bonus off and keeps that as a named snapshot
    page.locator(".fs-control-ctl_on_scrappage input").first.click(force=True)
    page.locator(".fs-snapshot input").fill("sin chatarrización")
    page.locator(".fs-snapshot-save").click()
    expect(page.get_by_text("Guardados para comparar: sin chatarrización")).to_be_visible()
    page.get_by_role("button", name="Comparar", exact=True).click()
    pick(page, ".fs-compare-pick", re.compile(r"^\s*clean_fleets_mix\s*$"))  # off
    pick(page, ".fs-compare-pick", "◆ sin chatarrización")
    pick(page, ".fs-compare-pick", "▶ clean_fleets_mix")
    # a national preset cannot join city ones: refused with a message, choice unchanged
    pick(page, ".fs-compare-pick", "baseline_national")
    expect(page.locator(".fs-notice")).to_contain_text("flotas distintas")
    expect(page.locator(".fs-compare-pick")).not_to_contain_text("baseline_national")
    page.locator(".fs-compare-run").click()
    horizon = page.get_by_text(re.compile(r"Totales de 2025 a 20\d\d"))
    expect(horizon).to_be_visible(timeout=180_000)
    table = page.locator("table").first
    expect(table).to_contain_text("baseline (referencia)")
    expect(table).to_contain_text("Evitado frente a baseline: CO₂")
    expect(table).to_contain_text("◆ sin chatarrización")
    shot(page, "i14_compare_es")
    # the results outlast a visit to another view
    page.get_by_role("button", name="En vivo", exact=True).click()
    expect(page.locator(".fs-play")).to_be_visible()
    page.get_by_role("button", name="Comparar", exact=True).click()
    expect(horizon).to_be_visible(timeout=5_000)
    # another reference: the avoided columns follow it and name it
    pick(page, ".fs-compare-ref", "◆ sin chatarrización")
    expect(table).to_contain_text("Evitado frente a ◆ sin chatarrización")
    shot(page, "i14_compare_reference_es")


def test_a_rule_firing_a_change_and_the_target_are_labelled(offline_page, page_url):
    page = offline_page
    open_page(page, page_url, SMALL + "&lang=en")
    play_until(page, r"20(3[1-9]|4\d)")
    emissions = page.locator(".fs-chart-emissions .js-plotly-plot")
    notes = emissions.evaluate("p => p.layout.annotations.map(a => a.hovertext || '')")
    assert any(n.startswith("Rule: Low-emission zone for trucks without a filter switched on "
                            "in Jan 2031") for n in notes), notes
    expect(emissions).to_contain_text("▲ rule: Low-emission zone")  # drawn, not only data
    lez = page.locator(".fs-control-ctl_on_lez").filter(has_text="without a filter")
    expect(lez.locator("input")).to_be_checked()
    expect(lez).to_contain_text("Switched on by rule soot_free_2030 in Jan 2031")
    shares = page.locator(".fs-chart-shares .js-plotly-plot")
    expect(shares).to_contain_text("target: soot-free at least 60")
    # a mid-run change: what and from when
    page.locator(".fs-control-ctl_on_scrappage input").first.click(force=True)
    page.locator(".fs-step").click()
    expect(emissions).to_contain_text("off: Scrappage", timeout=20_000)
    hover = emissions.evaluate("p => p.layout.annotations.map(a => a.hovertext || '')")
    assert any(re.search(r"off from \w+ 20[34]\d", h) for h in hover), hover
    shot(page, "i14_events_en")


def test_controls_show_cap_and_source_and_texts_follow_the_language(offline_page, page_url):
    page = offline_page
    open_page(page, page_url)
    amount = page.locator(".fs-control-ctl_retrofit_amount")
    expect(amount).to_contain_text("el pago se limita al 50")
    expect(amount).to_contain_text("Subsidio para instalar filtros")
    expect(page.locator(".fs-control-ctl_on_retrofit")).to_contain_text("fuente del escenario: [E]")
    expect(page.locator(".fs-description")).to_contain_text("El paquete completo")
    page.locator(".fs-side").screenshot(path=str(ARTIFACTS / "i14_controls_es.png"))
    page.locator(".fs-lang").get_by_text("EN").click()
    expect(page.locator(".fs-description")).to_contain_text("The partnership's full package")
    expect(amount).to_contain_text("payment capped at 50")
    expect(amount).to_contain_text("Filter retrofit subsidy")
    # the slider stops at the cap: its top is the largest payment that can act
    top = amount.locator("[role=slider]").get_attribute("aria-valuemax")
    assert float(top) < 300_000, top


def test_projector_fits_1080p_with_name_and_no_banner(offline_page, page_url):
    page = offline_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_page(page, page_url, SMALL + "&view=projector&lang=en")
    play_until(page, r"20(2[6-9]|3\d)")
    expect(page.locator(".fs-projector-name")).to_have_text("clean_fleets_mix")
    plots = page.locator(".js-plotly-plot")
    assert plots.count() == 2
    for i in range(2):
        box = plots.nth(i).bounding_box()
        assert box["y"] + box["height"] <= 1080, box  # the legend is inside the plot box
    legend = page.locator(".fs-chart-emissions .legend").bounding_box()
    assert legend["y"] + legend["height"] <= 1080, legend
    expect(page.get_by_text("This website runs on")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "i14_projector_1920x1080.png"))  # the fold only
    log = (ARTIFACTS / "page-server.log").read_text()
    assert "samesite" not in log.lower(), log[-2000:]


def test_each_chart_downloads_its_csv_and_png(offline_page, page_url):
    page = offline_page
    open_page(page, page_url, SMALL + "&lang=en")
    date = page.locator(".fs-date")
    for month in ["Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025", "May 2025", "Jun 2025",
                  "Jul 2025", "Aug 2025", "Sep 2025", "Oct 2025", "Nov 2025", "Dec 2025",
                  "Jan 2026"]:
        page.locator(".fs-step").click(no_wait_after=True)
        expect(date).to_have_text(month, timeout=30_000)
    with page.expect_download() as got:
        page.locator(".fs-csv-shares button").click()
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
    years = sorted(int(r["year"]) for r in rows if r["series"] == "soot-free")
    assert years == list(range(2025, years[-1] + 1)) and years[-1] >= 2026, years
    assert any(r["series"].startswith("target: soot-free at least 60") for r in rows)
    assert {r["scenario"] for r in rows} == {"clean_fleets_mix"}
    assert {r["seed"] for r in rows} == {"42"} and {r["sample"] for r in rows} == {"0.01"}
    assert any(r["series"] == "soot-free" for r in rows)
    chart = page.locator(".fs-chart-fleet .js-plotly-plot")
    chart.hover()
    with page.expect_download() as png:
        chart.locator("[data-title='Download plot as a png']").click()
    assert png.value.suggested_filename.endswith(".png")
    data = Path(png.value.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    (ARTIFACTS / "i14_chart_download.png").write_bytes(data)
