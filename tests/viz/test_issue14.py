"""Issue 14's page items without a browser: the comparison's sources, reference and fleets;
events on the charts; each control's cap and source; scenario texts in both languages;
per-chart data; the projector's sizes."""

import io

import ipyvuetify as v
import pandas as pd
import pytest
import solara

from fleetsim.scenarios import Scenario, builtin_names, load, load_raw
from fleetsim.viz import charts, compare, controls, events, guard, i18n, livecharts, panels
from fleetsim.viz.runner import LiveRun


class Reports:
    def __init__(self):
        self.got = []

    def __call__(self, key, kw):
        if key:
            self.got.append((key, kw))


def table(pm, co2, spend, years=(2025, 2026)):
    n = len(years)
    return pd.DataFrame({"year": list(years), "pm25_t": [pm] * n, "bc_t": [0.0] * n,
                         "nox_t": [0.0] * n, "co2_ttw_t": [co2] * n,
                         "public_spending_mxn": [spend] * n, "share_zev": [0.1] * n,
                         "share_soot_free": [0.5] * n})


# ---- 1. compare ------------------------------------------------------------------------------
def test_the_comparison_measures_against_the_reference_chosen_and_names_it():
    runs = [("a", table(10.0, 1000.0, 0.0)), ("b", table(8.0, 500.0, 1e6))]
    rows = compare.totals("en", runs, reference="b")
    avoided = [k for k in rows[0] if k.startswith("Avoided against b")]
    assert len(avoided) == 2 and any("CO₂" in k for k in avoided)  # PM2.5 and CO2 columns
    assert rows[1]["Scenario"] == "b (reference)"
    assert rows[0][avoided[0]] == "-4.0"  # a emits 2 x 2 t more PM2.5 than b
    assert any(k.startswith("CO₂") and k.endswith("(kt)") for k in rows[0])  # totals too
    text = compare.horizon_text("en", load("baseline"), runs, 7, 0.05)
    assert "2025 to 2026 (2 years)" in text and "seed 7" in text and "5" in text


def test_the_room_s_settings_uploads_and_snapshots_are_offered_beside_the_presets():
    run = LiveRun("scrappage_2015", seed=1, sample_fraction=0.01)
    assert run.set_control("policy.scrappage.0.bonus_mxn", 500_000) == []
    snaps = solara.reactive({})
    compare.save_snapshot(snaps, run, "  bigger bonus ")
    upload = load("zev_strategy_2030").model_copy(update={"name": "my_file"})
    offered = compare.entries(snaps.value, compare.current_entry(run), upload)
    assert set(builtin_names()) < set(offered)
    current = offered["▶ scrappage_2015"]
    assert dict(current.settings) == {"policy.scrappage.0.bonus_mxn": 500_000}
    assert dict(offered["◆ bigger bonus"].settings) == dict(current.settings)
    assert offered["⬆ my_file"].source is upload
    # the same scenario with other settings is another entry in the results cache
    assert current.key() != compare.Entry("scrappage_2015", "scrappage_2015").key()


@pytest.mark.parametrize("name", ["", " ", "x" * 41, None, 5])
def test_a_snapshot_needs_a_name(name):
    run = LiveRun("baseline", seed=1, sample_fraction=0.01)
    snaps, report = solara.reactive({}), Reports()
    guard.call_guarded(compare.save_snapshot, report, snaps, run, name)
    assert snaps.value == {} and [k for k, _ in report.got] == ["snapshot_name_refused"]


def test_city_and_national_presets_are_not_mixed_and_the_reference_follows_the_pick():
    state, report = solara.reactive(compare.CompareState()), Reports()
    offered = compare.entries({}, None, None)
    guard.call_guarded(compare.pick_scenarios, report, state, offered, "en",
                       ["mexico_national", "scrappage_2015"])
    assert [k for k, _ in report.got] == ["compare_mixed"]
    assert state.value.picked == ["baseline", "clean_fleets_mix"]
    guard.call_guarded(compare.pick_scenarios, report, state, offered, "en",
                       ["baseline_national", "border_drayage_zev"])
    assert state.value.picked == ["baseline_national", "border_drayage_zev"]
    assert state.value.reference == "baseline_national"
    guard.call_guarded(compare.pick_reference, report, state, "border_drayage_zev")
    assert state.value.reference == "border_drayage_zev"
    guard.call_guarded(compare.pick_reference, report, state, "baseline")  # not picked
    assert state.value.reference == "border_drayage_zev" and report.got[-1][0] == "choice_refused"
    version = state.value.version
    guard.call_guarded(compare.pick_scenarios, report, state, offered, "en",
                       ["baseline", "scrappage_2015", "autorregulacion", "clean_fleets_mix"])
    assert report.got[-1][0] == "compare_too_many" and state.value.version == version + 1
    assert state.value.picked == ["baseline_national", "border_drayage_zev"]


def test_comparison_results_outlast_the_view():
    """The results live in the page's CompareState: a view rendered anew shows them."""
    runs = [("baseline", table(10.0, 1000.0, 0.0)), ("clean_fleets_mix", table(8, 900, 5.0))]
    state = solara.reactive(compare.CompareState(
        results={(("baseline", "clean_fleets_mix"), 42, 0.05): runs}))
    offered = compare.entries({}, None, None)
    view = compare.CompareView("en", 42, 0.05, lambda k, kw: None, offered, state)
    _, rc = solara.render(view, handle_error=False)
    shown = " ".join(str(w.widget.children) for w in rc.find(v.Html))
    assert "Totals from 2025 to 2026" in shown


# ---- 2. events -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rule_run():
    """clean_fleets_mix to Feb 2031: its soot-free target (60% by end 2030) is missed at a
    1% sample, so the rule switches the low-emission zone on in January 2031."""
    run = LiveRun("clean_fleets_mix", seed=42, sample_fraction=0.01)
    run.step(6 * 12 + 2)
    return run


def test_an_adaptive_rule_firing_is_labelled_on_the_charts(rule_run):
    fired = events.fired(rule_run)
    assert fired == {"soot_free_2030": 2031 * 12}  # January 2031, from the regulator
    (event,) = events.rules(rule_run, "en")
    assert event.x == 2031.0 and event.kind == "rule"
    assert "Low-emission zone for trucks without a filter switched on in Jan 2031" in event.text
    assert "soot-free at least 60\u00a0%" in event.text
    es = events.rules(rule_run, "es")[0].text
    assert "Zona de bajas emisiones para camiones sin filtro se activa en ene de 2031" in es
    figs = livecharts.live_figures(rule_run, "en")
    notes = [a.get("hovertext") for a in figs["emissions"]["layout"]["annotations"]]
    assert event.text in notes  # the whole note on hover, a short one up the line
    assert "▲ rule: Low-emission zone for tru…" in [
        a["text"] for a in figs["emissions"]["layout"]["annotations"]]
    assert len(figs["emissions"]["layout"]["shapes"]) == 4  # one line per pollutant panel


def test_the_target_is_drawn_on_the_shares_chart(rule_run):
    fig = livecharts.live_figures(rule_run, "en")["shares"]
    target = [d for d in fig["data"] if d["name"].startswith("target")]
    assert len(target) == 1 and target[0]["y"] == [60.0, 60.0]
    assert target[0]["x"][-1] == pytest.approx(2030 + 11 / 12)
    assert target[0]["name"] == "target: soot-free at least 60\u00a0% by 2030"


def test_the_switch_a_rule_turned_on_shows_on_with_its_note(rule_run):
    lez = [c for c, _ in rule_run.controls if c.key == "ctl_on_lez" and "filter" in c.item][0]
    _, rc = solara.render(panels.ControlWidget(rule_run, lez, "en", lambda: None,
                                               lambda p: None, rule_run.value(lez.path),
                                               lambda k, kw: None), handle_error=False)
    switch = rc.find(v.Switch).widget
    assert switch.v_model is True and switch.disabled is True
    note = " ".join(str(w.widget.children) for w in rc.find(v.Html, class_="fs-rule-note"))
    assert "Switched on by rule soot_free_2030 in Jan 2031" in note


def test_a_mid_run_change_says_what_and_from_when():
    run = LiveRun("scrappage_2015", seed=2, sample_fraction=0.01)
    run.step(15)
    assert run.set_control("policy.scrappage.0.bonus_mxn", 200_000) == []
    (event,) = events.changes(run, "en")
    assert event.text == "Bonus per unit (Scrappage bonus (2015 decree)): 200,000 MXN from Apr 2026"
    assert event.x == pytest.approx(2026.25)
    run.set_control("policy.scrappage.0.enabled", False)
    assert events.changes(run, "es")[1].text.endswith(": desactivado desde abr de 2026")


# ---- 3. caps and sources ---------------------------------------------------------------------
def test_the_subsidy_slider_shows_and_stops_at_its_payment_cap():
    run = LiveRun("clean_fleets_mix", seed=1, sample_fraction=0.01)
    amount = [c for c, _ in run.controls if c.key == "ctl_retrofit_amount"][0]
    share, cap = controls.payment_cap(run.raw, amount)
    prices = [r["price_mxn"] for r in run.raw["retrofits"]["diesel_dpf_retrofit"]
              ["by_class"].values()]
    assert share == 0.5 and cap == pytest.approx(0.5 * max(p if isinstance(p, float | int)
                                                           else p["value"] for p in prices))
    top = panels.slider_top(run, amount, run.value(amount.path))
    assert cap <= top < cap + amount.step and top < amount.max
    _, rc = solara.render(panels.ControlNote(run, amount, "en", top, 0, "MXN"),
                          handle_error=False)
    note = rc.find(v.Html, class_="fs-control-note").widget.children[0]
    assert "payment capped at 50\u00a0% of the price" in note and "range 0 to" in note


def test_every_control_shows_its_range_and_a_source():
    run = LiveRun("clean_fleets_mix", seed=1, sample_fraction=0.01)
    for c, _ in run.controls:
        note = controls.source_note(run.raw, c.path)
        assert note.startswith(("[S]", "[E]")), (c.path, note)
    _, rc = solara.render(panels.PolicyControls(run, "es", lambda: None, lambda: None,
                                                solara.reactive(0), lambda k, kw: None),
                          handle_error=False)
    notes = [w.widget.children[0] for w in rc.find(v.Html, class_="fs-control-note")]
    assert sum("rango" in n for n in notes) == sum(c.kind == "slider" for c, _ in run.controls)
    assert sum("fuente del escenario" in n for n in notes) >= len(run.raw["policy"]) - 1


# ---- 4. both languages -----------------------------------------------------------------------
def test_every_built_in_scenario_has_its_texts_in_both_languages():
    for name in builtin_names():
        spec = load(name)
        assert spec.description and spec.description_es, name
        for _, x in spec.policy.instruments():
            assert x.label and x.label_es, (name, x.name)


def test_the_page_shows_the_scenario_text_of_its_language():
    raw = load_raw("clean_fleets_mix")
    items = raw["policy"]["retrofit_subsidies"]
    assert controls.item_names(items, "es") == ["Subsidio para instalar filtros"]
    assert controls.item_names(items, "en") == ["Filter retrofit subsidy"]
    spec = load("clean_fleets_mix")
    assert controls.text_in("es", spec.description, spec.description_es).startswith(
        "El paquete completo")
    assert controls.text_in("en", spec.description, spec.description_es).startswith(
        "The partnership")


def test_a_single_language_scenario_still_validates_and_shows_its_one_text():
    raw = load("scrappage_2015").model_dump(mode="json", exclude_none=True)
    raw.pop("description_es")
    for x in raw["policy"]["scrappage"]:
        x.pop("label_es")
    spec = Scenario.model_validate(raw)
    assert spec.description_es is None
    assert controls.text_in("es", spec.description, spec.description_es) == spec.description
    assert controls.item_names(raw["policy"]["scrappage"], "es") == [
        "Scrappage bonus (2015 decree)"]


def test_every_new_message_has_both_languages():
    for key in ("compare_mixed", "compare_horizon", "event_rule", "event_change", "rule_note",
                "control_cap", "control_range", "control_source", "chart_csv",
                "snapshot_name_refused", "target_line"):
        assert set(i18n.MESSAGES[key]) == {"es", "en"}, key
        assert i18n.MESSAGES[key]["es"] != i18n.MESSAGES[key]["en"], key


# ---- 6. per-chart data -----------------------------------------------------------------------
def test_each_chart_s_csv_holds_its_data_and_the_run_s_metadata():
    run = LiveRun("scrappage_2015", seed=5, sample_fraction=0.01)
    run.step(14)
    run.set_control("policy.scrappage.0.bonus_mxn", 100_000)
    for kind in livecharts.KINDS:
        text = livecharts.chart_csv(run, "en", kind)
        if kind == "budget" and not text:
            continue
        frame = pd.read_csv(io.StringIO(text))
        assert list(frame.columns) == ["series", "year", "value", "chart", "scenario", "seed",
                                       "sample", "settings"], kind
        assert frame["year"].dtype.kind == "i" and set(frame["year"]) == {2025, 2026}, kind
        assert (frame["scenario"] == "scrappage_2015").all() and (frame["seed"] == 5).all()
        assert "month 15: policy.scrappage.0.bonus_mxn=100000" in frame["settings"].iloc[0]
    emissions = pd.read_csv(io.StringIO(livecharts.chart_csv(run, "en", "emissions")))
    assert "PM2.5 (t/year): with policy" in set(emissions["series"])
    pol, _ = run.yearly()
    got = emissions[emissions["series"] == "PM2.5 (t/year): with policy"]["value"].tolist()
    assert got == pytest.approx(pol["pm25_t"].tolist())


# ---- 5. projector ----------------------------------------------------------------------------
def test_projector_charts_are_sized_to_fit_1080p():
    run = LiveRun("clean_fleets_mix", seed=1, sample_fraction=0.01)
    run.step(1)
    figs = livecharts.live_figures(run, "en", big=True)
    assert livecharts.PROJECTOR_CHART_PX < 1080 - 64 - 300  # app bar, name strip, headline
    assert figs["emissions"]["layout"]["font"]["size"] == 22  # still read from the back
    assert charts.emissions([("a", run.yearly()[0])], None, "en", big=True)["layout"]["height"]


def test_an_upload_that_rewrites_only_the_english_description_shows_its_own_text():
    from fleetsim.scenarios.loader import load_text

    spec = load_text("name: my_city\ndescription: uploaded\nextends: mexico_city\n")
    assert spec.description_es  # inherited from mexico_city by the merge
    assert controls.description("es", spec) == "uploaded"
    assert controls.description("es", load("mexico_city")).startswith("Unos 125 mil")
