"""The page's logic without a browser: number formats, the controls table, the session's run
(baseline alongside, changes, headline) and the files it reads and writes."""

import io
import threading

import pandas as pd
import pytest
import solara
from typer.testing import CliRunner

from fleetsim.experiments.cli import app
from fleetsim.scenarios import load_raw
from fleetsim.sim import FleetModel
from fleetsim.viz import app as page
from fleetsim.viz import charts, controls, i18n, panels, scenario_io, urlstate
from fleetsim.viz.controls import Control
from fleetsim.viz.runner import LiveRun, headline


def test_numbers_follow_the_language():
    assert i18n.number("es", 1234567.5, 1) == "1\u00a0234\u00a0567,5"
    assert i18n.number("en", 1234567.25, 2) == "1,234,567.25"
    assert i18n.percent("es", 0.125) == "12,5\u00a0%"
    assert i18n.compact("en", 2.5e9) == "2.5\u00a0billion"
    assert i18n.compact("es", 2.5e6) == "2,5\u00a0millones"
    assert i18n.number("es", float("nan")) == "n/d"


def test_every_message_has_both_languages():
    missing = [k for k, v in i18n.MESSAGES.items() if set(v) != set(i18n.LANGS)]
    assert missing == []


def test_controls_only_for_paths_the_scenario_has():
    city = {c.path for c, _ in controls.available(load_raw("mexico_city"))}
    partner = {c.path for c, _ in controls.available(load_raw("mexico_city_partnership"))}
    assert "fuels.diesel.price_mxn_per_unit" in city
    assert "partnerships.0.large_fleet_share" not in city
    assert "partnerships.0.large_fleet_share" in partner


def test_star_paths_expand_per_instrument_with_its_name():
    raw = {"policy": {"scrappage": [{"name": "a", "bonus_mxn": 1.0},
                                    {"name": "b", "bonus_mxn": 2.0}]}}
    table = [Control("ctl_scrappage_bonus", "policy.scrappage.*.bonus_mxn"),
             Control("ctl_on_scrappage", "policy.scrappage.*.enabled", "toggle")]
    found = controls.available(raw, table)
    # grouped by instrument; a switch left to its default (enabled) is still shown
    assert [(c.path, c.item, v) for c, v in found] == [
        ("policy.scrappage.0.bonus_mxn", "a", 1.0), ("policy.scrappage.0.enabled", "a", True),
        ("policy.scrappage.1.bonus_mxn", "b", 2.0), ("policy.scrappage.1.enabled", "b", True)]
    assert controls.baseline_overrides(raw, table) == {"policy": {}}
    assert controls.label("en", found[2][0]) == "Bonus per unit (b)"


@pytest.fixture(scope="module")
def partnership_run():
    run = LiveRun("mexico_city_partnership", seed=3, sample_fraction=0.02)
    run.step(14)
    return run


def test_baseline_is_the_same_seed_with_instruments_off(partnership_run):
    run = partnership_run
    alone = FleetModel("mexico_city_partnership", rng=3, sample_fraction=0.02,
                       overrides={"partnerships.0.large_fleet_share": 0.0})
    alone.run(years=14 / 12)
    _, base = run.monthly()
    assert base["pm25_t"].tolist() == pytest.approx(alone.results()["pm25_t"].tolist())


def test_yearly_tables_sum_flows_and_annualise_a_partial_year(partnership_run):
    pol, _ = partnership_run.monthly()
    yearly, _ = partnership_run.yearly()
    assert yearly["months"].tolist() == [12, 2]
    assert yearly["pm25_t"].iloc[0] == pytest.approx(pol["pm25_t"].iloc[:12].sum())
    assert yearly["pm25_t"].iloc[1] == pytest.approx(pol["pm25_t"].iloc[12:].sum() * 6)
    assert yearly["vehicles"].iloc[0] == pol["vehicles"].iloc[11]


def test_a_bad_value_is_refused_and_changes_nothing(partnership_run):
    run = partnership_run
    model, done = run.model, run.months_done
    problems = run.set_control("partnerships.0.large_fleet_share", 1.5)
    assert problems == ["partnerships.0.large_fleet_share: got 1.5, expected less than or "
                        "equal to 1"]
    assert run.model is model and run.months_done == done and run.pending == {}


def test_a_change_before_the_first_month_rebuilds_the_run():
    run = LiveRun("mexico_city", seed=1, sample_fraction=0.01)
    old = run.model
    assert run.set_control("fuels.diesel.price_mxn_per_unit", 40.0) == []
    assert run.model is not old and run.value("fuels.diesel.price_mxn_per_unit") == 40.0
    assert run.model.spec.fuels["diesel"].price_mxn_per_unit == 40.0


def test_headline_counts_what_the_policy_avoided_and_cost():
    base = pd.DataFrame({"pm25_t": [10.0, 10.0], "co2_ttw_t": [100.0, 100.0],
                         "public_spending_mxn": [0.0, 0.0], "share_zev": [0, 0],
                         "share_soot_free": [0, 0]})
    pol = base.assign(pm25_t=[9.0, 8.0], co2_ttw_t=[90.0, 80.0],
                      public_spending_mxn=[1e6, 2e6], share_zev=[0.1, 0.2])
    h = headline(pol, base)
    assert h["avoided_pm25"] == 3.0 and h["avoided_co2"] == 30.0
    assert h["cost_per_t_pm25"] == 1e6 and h["cost_per_t_co2"] == 1e5
    assert h["share_zev"] == 0.2


def test_exported_yaml_reproduces_the_page_with_fleetsim_run(tmp_path):
    run = LiveRun("mexico_city", seed=5, sample_fraction=0.01)
    run.set_control("fuels.diesel.price_mxn_per_unit", 35.0)
    run.step(6)
    path = tmp_path / "exported.yaml"
    path.write_text(scenario_io.export_yaml(run))
    again = FleetModel(str(path), rng=5)
    again.run(years=0.5)
    pol, _ = run.monthly()
    assert again.results()["pm25_t"].tolist() == pytest.approx(pol["pm25_t"].tolist())
    assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0
    csv = scenario_io.export_csv(run)
    assert csv.splitlines()[0].startswith("run,year,month") and len(csv.splitlines()) == 13
    read = pd.read_csv(io.StringIO(csv))  # as pandas (and Excel) open it, with no options
    assert read["year"].dtype == "int64" and read["year"].iloc[0] == run.spec.simulation.start_year
    assert ",2025.0," not in csv
    assert (read["scenario"].unique().tolist(), read["seed"].unique().tolist()) == \
        ([run.spec.name], [run.seed])
    assert read["sample"].iloc[0] == run.sample_fraction
    assert "fuels.diesel.price_mxn_per_unit=35.0" in read["settings"].iloc[0]


def test_an_upload_is_checked_like_fleetsim_validate(tmp_path):
    text = "name: Bad Name\ndescription: x\nextends: mexico_city\nmarket:\n  growth: 3\n"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    cli = CliRunner().invoke(app, ["validate", str(path)])
    with pytest.raises(scenario_io.ScenarioError) as err:
        scenario_io.read_upload("bad.yaml", text.encode())
    assert cli.exit_code == 2
    assert err.value.problems == cli.output.strip().splitlines()


def test_an_upload_over_the_size_limit_is_refused_unread():
    big = b"#" * (scenario_io.MAX_FILE_BYTES + 1)
    with pytest.raises(scenario_io.UploadRefused) as err:
        scenario_io.read_upload("big.yaml", big)
    assert err.value.key == "upload_too_big"
    assert i18n.t("en", err.value.key, **err.value.kw).endswith("the limit is 2000000 bytes.")


class FakeFileInput:
    """The upload widget's seams (file_info, version, get_files, clear), logging into `log`."""

    def __init__(self, data: bytes, log: list, change_while_reading=False):
        self.file_info = [{"name": "bad.yaml", "size": len(data)}]
        self.version, self.data, self.log = 1, data, log
        self.change_while_reading = change_while_reading

    def get_files(self, timeout):
        if self.change_while_reading:  # the visitor picks another file during the read
            self.version += 1
        return [{**self.file_info[0], "file_obj": io.BytesIO(self.data)}]

    def clear(self):
        self.log.append("clear")


class Holder:
    def __init__(self, current):
        self.current = current


def test_the_upload_widget_is_cleared_before_its_answer_shows():
    # a clear sent after the answer could wipe the next file the visitor (or a test) chose
    log = []
    widget = FakeFileInput(b"name: x\nmarket: [", log)
    panels.check_chosen(Holder(widget), {}, log.append, lambda s: log.append(s.get("kind")),
                        lambda key, kw: key and log.append(key), None)
    assert log == ["checking", "clear", "problems"]


def test_a_file_replaced_while_read_leaves_the_answer_to_the_next_one():
    log = []
    widget = FakeFileInput(b"name: x\n", log, change_while_reading=True)
    panels.check_chosen(Holder(widget), {}, log.append, lambda s: log.append(s.get("kind")),
                        lambda key, kw: key and log.append(key), None)
    assert log == ["checking"]  # no clear (it would wipe the new choice), no answer


def test_sessions_share_one_baseline_model():
    first = LiveRun("mexico_city", seed=11, sample_fraction=0.01)
    first.step(5)
    second = LiveRun("mexico_city", seed=11, sample_fraction=0.01,
                     settings={"fuels.diesel.price_mxn_per_unit": 30.0})
    second.step(5)
    assert second.shared is first.shared and len(first.shared.rows) == 5  # read, not stepped
    second.step(3)  # now ahead: steps the one shared baseline model on
    assert len(first.shared.rows) == 8
    alone = FleetModel("mexico_city", rng=11, sample_fraction=0.01)
    alone.run(years=8 / 12)
    _, base = second.monthly()
    assert base["co2_ttw_t"].tolist() == pytest.approx(alone.results()["co2_ttw_t"].tolist())


def test_a_policy_change_mid_run_acts_from_the_next_month_and_is_marked():
    run = LiveRun("scrappage_2015", seed=2, sample_fraction=0.02)
    run.step(15)
    before = run.model
    assert run.set_control("policy.scrappage.0.enabled", False) == []
    assert run.model is before and run.pending == {}
    assert [(c.month, c.path, c.value) for c in run.changes] == [
        (16, "policy.scrappage.0.enabled", False)]
    assert run.set_control("fuels.diesel.price_mxn_per_unit", 30.0) == []  # not a policy term
    assert run.pending == {"fuels.diesel.price_mxn_per_unit": 30.0}
    run.step(12)
    pol, _ = run.monthly()
    spend = pol["spend_scrappage_2015_mxn"]
    assert spend.iloc[15:].sum() == 0 and spend.iloc[:15].sum() > 0


def test_fleetsim_app_user_errors_exit_2_with_one_line():
    import socket

    bad_port = CliRunner().invoke(app, ["app", "--port", "70000", "--no-open"])
    assert bad_port.exit_code == 2
    assert bad_port.output.strip() == "--port: got 70000, expected a port number from 1 to 65535"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = CliRunner().invoke(app, ["app", "--port", str(port), "--no-open"])
    assert busy.exit_code == 2 and len(busy.output.strip().splitlines()) == 1
    assert busy.output.startswith(f"--host/--port: could not listen on 127.0.0.1:{port}")


def test_pause_at_full_speed_stops_at_the_next_month_and_the_date_follows():
    run = LiveRun("mexico_city", seed=1, sample_fraction=0.01)
    playing, dates, frames = solara.reactive(True), [], []

    def clock():  # the date redraws; the facilitator clicks Pause when it reads month 5
        dates.append(run.months_done)
        if run.months_done == 5:
            playing.set(False)

    full = len(panels.SPEEDS) - 1
    page.play_loop(run, playing, full, lambda: frames.append(run.months_done), clock,
                  threading.Event())
    assert run.months_done == 5 and dates == [1, 2, 3, 4, 5]
    assert frames == [5]  # the charts catch up with the month the run stopped at


@pytest.mark.parametrize("search", ["seed=-3", "seed=1e400", "sample=nan", "sample=0.03",
                                    "scenario=/etc/passwd", "lang=de", "view=<script>",
                                    "&".join(f"x{i}=1" for i in range(50))])
def test_a_hostile_url_gives_the_defaults(search):
    values, refused = urlstate.read(search)
    assert refused and values == urlstate.DEFAULTS


def test_the_url_keeps_the_token_and_reads_back():
    values, refused = urlstate.read("token=abcdefgh&lang=en&scenario=baseline&seed=7")
    assert not refused and (values["lang"], values["scenario"], values["seed"]) == \
        ("en", "baseline", 7)
    text = urlstate.query(values, "token=abcdefgh&lang=es")
    assert text.startswith("token=abcdefgh&") and urlstate.read(text) == (values, False)


def test_instruments_are_shown_by_label_with_the_id_only_to_tell_two_apart():
    items = [{"name": "dpf_retrofit_subsidy", "label": "DPF retrofit grant"},
             {"name": "scrap_a", "label": "Scrappage"}, {"name": "scrap_b", "label": "Scrappage"},
             {"name": "no_label"}]
    assert controls.item_names(items) == ["DPF retrofit grant", "Scrappage · scrap_a",
                                          "Scrappage · scrap_b", "no_label"]


def test_spending_legends_show_the_instruments_labels():
    run = LiveRun("clean_fleets_mix", seed=1, sample_fraction=0.01)
    run.step(1)
    labels = controls.instrument_labels(run.spec.model_dump())
    fig = charts.spending([("p", run.yearly()[0])], "en", labels=labels)
    names = [d.get("name") for d in fig["data"] if d.get("type") == "bar"]
    assert "Scrappage bonus for hombre-camion" in names
    assert not any("_" in str(n) for n in names), names
