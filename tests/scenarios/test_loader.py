"""Scenario loading: `extends:` layering (JSON Merge Patch), dotted overrides, safe YAML."""

from __future__ import annotations

import pytest
import yaml

from fleetsim.scenarios import ScenarioError, describe_builtins, load, load_raw, parse_assignment
from fleetsim.scenarios.loader import OVERRIDE_SOURCE, apply_override, deep_merge

# ---- extends ------------------------------------------------------------------------------------

def test_deep_merge_is_json_merge_patch():
    base = {"a": {"b": 1, "c": 2, "d": {"e": 3}}, "f": [1, 2], "g": 4}
    top = {"a": {"c": None, "d": {"x": 5}}, "f": [9], "g": None, "h": {"i": None, "j": 6}}
    merged = deep_merge(base, top)
    assert merged == {"a": {"b": 1, "d": {"e": 3, "x": 5}}, "f": [9], "h": {"j": 6}}
    # the inputs are not changed
    assert base == {"a": {"b": 1, "c": 2, "d": {"e": 3}}, "f": [1, 2], "g": 4}
    assert top["a"]["c"] is None


def test_child_overrides_a_nested_value(tmp_path):
    (tmp_path / "child.yaml").write_text(
        "name: child\nextends: mexico_city\n"
        "classes:\n  C2:\n    survival:\n      lambda_years: 40\n")
    child, parent = load(tmp_path / "child.yaml"), load("mexico_city")
    assert child.name == "child"
    assert child.based_on == "mexico_city <- mexico_national"
    assert child.classes["C2"].survival.lambda_years == 40
    # siblings of the changed value come from the parent
    assert child.classes["C2"].survival.k == parent.classes["C2"].survival.k
    assert child.classes["C2"].survival.source == parent.classes["C2"].survival.source
    assert child.classes["C3"] == parent.classes["C3"]


def test_null_removes_a_key(tmp_path):
    (tmp_path / "child.yaml").write_text(
        "name: child\nextends: mexico_city\nregulation:\n  used_import_rules: null\n")
    raw = load_raw(tmp_path / "child.yaml")
    assert "used_import_rules" not in raw["regulation"]
    assert "new_vehicle_standards" in raw["regulation"]
    assert load(tmp_path / "child.yaml").regulation.used_import_rules == []


def test_builtin_city_removes_national_regions():
    """mexico_city sets the national regions to null: only zmvm is left."""
    assert list(load("mexico_city").regions) == ["zmvm"]
    assert len(load("mexico_national").regions) == 5


def test_chain_of_three_and_relative_paths(tmp_path, monkeypatch):
    """A relative `extends` is read from the extending file's folder, not the working one."""
    folder = tmp_path / "scen"
    folder.mkdir()
    (folder / "mid.yaml").write_text(
        "name: mid\nextends: mexico_city\nusage:\n  km_spread_sigma: 0.5\n"
        "  km_min_share_of_new: 0.4\n")
    (folder / "top.yaml").write_text(
        "name: top\nextends: mid.yaml\nusage:\n  km_spread_sigma: 0.1\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    spec = load(folder / "top.yaml")
    assert spec.name == "top"
    assert spec.usage.km_spread_sigma == 0.1
    assert spec.usage.km_min_share_of_new == 0.4
    city = load("mexico_city")
    assert spec.usage.km_decline_per_year_of_age == city.usage.km_decline_per_year_of_age


def test_city_growth_path_is_the_city_file_s_own():
    assert load("mexico_city").market.growth_per_year.value == {2025: 0.02, 2040: 0.015,
                                                                2060: 0.01}


def test_merged_raw_round_trips_through_yaml(tmp_path):
    path = tmp_path / "resolved.yaml"
    path.write_text(yaml.safe_dump(load_raw("mexico_city"), sort_keys=False))
    assert load(path) == load("mexico_city")


def test_describe_builtins():
    described = describe_builtins()
    assert {"mexico_city", "mexico_city_partnership", "mexico_national", "baseline",
            "clean_fleets_mix"} <= set(described)
    assert all(text.strip() and "\n" not in text for text in described.values())


def test_partnership_scenario_extends_the_city():
    city, spec = load("mexico_city"), load("mexico_city_partnership")
    assert spec.based_on == "mexico_city <- mexico_national"
    assert city.partnerships == [] and city.demonstrations == [] and city.named_fleets == []
    assert len(spec.partnerships) == 1 and len(spec.demonstrations) == 1
    assert spec.demonstrations[0].fleet == spec.named_fleets[0].name
    # everything else is the city's
    assert spec.classes == city.classes and spec.credit == city.credit
    assert spec.decisions == city.decisions and spec.network == city.network


def test_city_lender_quotas_are_the_city_s_own():
    city, national = load("mexico_city"), load("mexico_national")
    for name in ("development_bank", "green_fund"):
        assert (city.credit.lenders[name].yearly_loan_quota
                < national.credit.lenders[name].yearly_loan_quota)
        # the rest of the lender comes from the national file
        assert city.credit.lenders[name].base_rate == national.credit.lenders[name].base_rate


def test_child_removes_a_lender_and_changes_a_partnership(tmp_path):
    (tmp_path / "child.yaml").write_text(
        "name: child\nextends: mexico_city_partnership\n"
        "credit:\n  lenders:\n    green_fund: null\n"
        "decisions:\n  bands:\n    micro:\n      keep_constant: 1.0\n")
    spec = load(tmp_path / "child.yaml")
    assert list(spec.credit.lenders) == [
        x for x in load("mexico_city").credit.lenders if x != "green_fund"]
    assert spec.decisions.bands["micro"].keep_constant == 1.0
    parent = load("mexico_city_partnership")
    assert spec.decisions.bands["micro"].discount_rate == parent.decisions.bands[
        "micro"].discount_rate
    assert spec.partnerships == parent.partnerships


def test_overrides_reach_the_new_sections():
    spec = load("mexico_city_partnership", {
        "partnerships.0.large_fleet_share": 0.0, "network.generator": "complete",
        "credit.lenders.development_bank.yearly_loan_quota": None,
        "decisions.bands.large.cost_sensitivity_per_million_mxn": 0,
        "decisions.technology_constants": {}})
    assert spec.partnerships[0].large_fleet_share == 0.0
    assert spec.network.generator == "complete"
    assert spec.credit.lenders["development_bank"].yearly_loan_quota is None
    assert spec.decisions.bands["large"].cost_sensitivity_per_million_mxn == 0
    assert spec.decisions.technology_constants == {}


# ---- overrides ----------------------------------------------------------------------------------

def test_override_on_sourced_number_sets_value_and_marks_source():
    spec = load("mexico_city", {"market.growth_per_year": 0.0,
                                "classes.C2.initial_stock_units": 60000})
    assert spec.market.growth_per_year.value == 0.0
    assert spec.market.growth_per_year.source == OVERRIDE_SOURCE
    assert spec.classes["C2"].initial_stock_units.value == 60000
    assert spec.classes["C2"].initial_stock_units.source == OVERRIDE_SOURCE
    assert OVERRIDE_SOURCE == "[E] set by the user as an override"
    # the rest keeps its sources
    assert spec.classes["C3"].initial_stock_units.source != OVERRIDE_SOURCE


def test_override_on_year_keyed_path():
    base = load("mexico_city").market.growth_per_year.value
    spec = load("mexico_city", {"market.growth_per_year.value.2025": 0.07})
    assert spec.market.growth_per_year.value[2025] == 0.07
    assert {y: v for y, v in spec.market.growth_per_year.value.items() if y != 2025} == {
        y: v for y, v in base.items() if y != 2025}


def test_override_on_year_keyed_path_marks_source():
    spec = load("mexico_city", {"market.growth_per_year.value.2025": 0.07})
    assert spec.market.growth_per_year.source == OVERRIDE_SOURCE


def test_override_on_list_item_and_date():
    spec = load("mexico_city", {"regulation.new_vehicle_standards.0.effective": "2040-01-01"})
    assert str(spec.regulation.new_vehicle_standards[0].effective) == "2040-01-01"


def test_override_on_loaded_scenario_leaves_it_unchanged():
    spec = load("mexico_city")
    changed = load(spec, {"market.growth_per_year": 0.01})
    assert changed.market.growth_per_year.value == 0.01
    assert spec.market.growth_per_year.value != 0.01
    assert load(spec) is spec
    assert changed.classes == spec.classes


def test_apply_override_replaces_plain_values_in_place():
    raw = {"a": {"b": 1, "years": {2025: 1.0}}, "rows": [{"x": 1}, {"x": 2}]}
    apply_override(raw, "a.b", 5)
    apply_override(raw, "a.years.2025", 2.0)
    apply_override(raw, "rows.1.x", 7)
    assert raw == {"a": {"b": 5, "years": {2025: 2.0}}, "rows": [{"x": 1}, {"x": 7}]}


@pytest.mark.parametrize(("text", "expected"), [
    ("a.b=0.5", ("a.b", 0.5)),
    ("a.b = 3", ("a.b", 3)),
    ("a=[1, 2]", ("a", [1, 2])),
    ("a=hello", ("a", "hello")),
    ("a=x=y", ("a", "x=y")),
    ("a={b: 1}", ("a", {"b": 1})),
    ("a=", ("a", None)),
])
def test_parse_assignment(text, expected):
    assert parse_assignment(text) == expected


def test_parse_assignment_without_equals():
    with pytest.raises(ScenarioError) as info:
        parse_assignment("simulation.sample_fraction")
    assert info.value.problems == [
        "--set: got 'simulation.sample_fraction', expected dotted.path=value"]


# ---- safe YAML ----------------------------------------------------------------------------------

@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/name:os.system",
])
def test_python_tags_are_rejected_not_executed(tmp_path, tag):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"name: evil\ndescription: {tag.format(marker=marker)}\n")
    with pytest.raises(ScenarioError) as info:
        load(path)
    (line,) = info.value.problems
    assert line.startswith("evil.yaml: malformed YAML at line 2, column 14")
    assert "python/" in line
    assert not marker.exists()


def test_python_object_tag_is_rejected(tmp_path):
    path = tmp_path / "obj.yaml"
    path.write_text("name: !!python/object:collections.OrderedDict {}\n")
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert "could not determine a constructor" in info.value.problems[0]
