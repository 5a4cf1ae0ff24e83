"""Every kind of scenario error gives one clear line: "path.to.field: got VALUE, expected WHAT".

Bad files are built from the merged raw mapping of the built-in mexico_city scenario (with
`extends` dropped, so the file is self-contained), changed in one place, written to a temporary
YAML file and loaded like a user's file.
"""

from __future__ import annotations

import copy

import pytest

from fleetsim.scenarios import ScenarioError, load, load_raw
from fleetsim.scenarios.loader import MAX_FILE_BYTES
from tests.helpers import del_path, problems_of, set_path


def load_mutated(city_raw, write_scenario, mutate) -> list[str]:
    mutate(city_raw)
    return problems_of(write_scenario(city_raw))


def setter(path, value):
    return lambda raw: set_path(raw, path, value)


def deleter(path):
    return lambda raw: del_path(raw, path)


def with_partnership(mutate=None):
    """Give the mexico_city mapping the partnership scenario's named fleet, demonstration and
    partnership, then apply `mutate`."""
    extra = load_raw("mexico_city_partnership")

    def both(raw):
        for key in ("named_fleets", "demonstrations", "partnerships"):
            raw[key] = copy.deepcopy(extra[key])
        if mutate is not None:
            mutate(raw)
    return both


def _append_earlier_rule(field: str):
    def mutate(raw):
        rules = raw["regulation"][field]
        rules.append({**rules[0], "effective": "2020-01-01"})
    return mutate


# (id, mutation, path the line must start with, text naming the bad value)
FIELD_CASES = [
    ("unknown_top_level_key", setter("colour", "blue"), "colour", "unknown key"),
    ("unknown_nested_key", setter("classes.C2.survival.shape", 2),
     "classes.C2.survival.shape", "unknown key"),
    ("missing_required_field", deleter("classes.C2.survival.k"),
     "classes.C2.survival.k", "got nothing"),
    ("missing_required_section", deleter("usage"), "usage", "got nothing"),
    ("wrong_type_integer", setter("simulation.start_year", "soon"),
     "simulation.start_year", "'soon'"),
    ("wrong_type_boolean", setter("classes.C2.heavy", "maybe"), "classes.C2.heavy", "'maybe'"),
    ("wrong_type_mapping", setter("classes.C2.survival", 5), "classes.C2.survival", "got 5"),
    ("wrong_type_list", setter("regulation.new_vehicle_standards", {"a": 1}),
     "regulation.new_vehicle_standards", "got a dict"),
    ("bad_year_key", setter("market.growth_per_year.value", {"soon": 0.1}),
     "market.growth_per_year.value.soon", "'soon'"),
    ("bad_name", setter("name", "Mexico City"), "name", "'Mexico City'"),
    ("bad_enum", setter("fuels.diesel.unit", "gallon"), "fuels.diesel.unit", "'gallon'"),
    ("bad_date", setter("regulation.new_vehicle_standards.0.effective", "tomorrow"),
     "regulation.new_vehicle_standards.0.effective", "'tomorrow'"),
    ("negative_price", setter("technologies.diesel_epa2010.by_class.C2.price_mxn", -5),
     "technologies.diesel_epa2010.by_class.C2.price_mxn", "got -5"),
    ("negative_price_in_year_path",
     setter("technologies.battery_electric.by_class.C2.price_mxn.2030", -5),
     "technologies.battery_electric.by_class.C2.price_mxn.2030", "got -5"),
    ("negative_fuel_price", setter("fuels.natural_gas.price_mxn_per_unit", -1),
     "fuels.natural_gas.price_mxn_per_unit", "got -1"),
    ("negative_count", setter("classes.C2.initial_stock_units.value", -5),
     "classes.C2.initial_stock_units.value", "got -5"),
    ("negative_share", setter("usage.km_decline_per_year_of_age", -0.1),
     "usage.km_decline_per_year_of_age", "got -0.1"),
    ("zero_sample_fraction", setter("simulation.sample_fraction", 0),
     "simulation.sample_fraction", "got 0"),
    ("share_above_one", setter("market.resale_value_retained_per_year.value", 1.5),
     "market.resale_value_retained_per_year.value", "got 1.5"),
    ("partnership_share_above_one",
     with_partnership(setter("partnerships.0.large_fleet_share", 1.2)),
     "partnerships.0.large_fleet_share", "got 1.2"),
    ("region_share_above_one", setter("regions.zmvm.stock_share", 1.5),
     "regions.zmvm.stock_share", "got 1.5"),
    ("max_end_year_before_start_year", setter("simulation.max_end_year", 2020),
     "simulation", "max_end_year 2020"),
    ("default_years_past_max_end_year", setter("simulation.default_years", 100),
     "simulation", "= 2125"),
    ("overlapping_age_bins",
     setter("classes.C2.initial_age.shares_by_age_years", {"0-4": 0.5, "3-9": 0.5}),
     "classes.C2.initial_age", '"3-9"'),
    ("bad_age_bin_label",
     setter("classes.C2.initial_age.shares_by_age_years", {"0-4": 0.5, "old": 0.5}),
     "classes.C2.initial_age", '"old"'),
    ("max_units_below_min_units", setter("operators.bands.small.max_units", 1),
     "operators.bands.small", "got 1"),
    ("band_without_firms", setter("operators.bands.large.firms", 0),
     "operators.bands.large.firms", "got 0"),
    ("source_without_tag", setter("classes.C2.survival.source", "ICCT says so"),
     "classes.C2.survival.source", "'ICCT says so'"),
    ("source_with_unknown_tag", setter("market.growth_per_year.source", "[X] nope"),
     "market.growth_per_year.source", "'[X] nope'"),
    ("source_with_tag_only", setter("classes.C2.survival.source", "[E] "),
     "classes.C2.survival.source", "'[E] '"),
    ("bad_per_field_source", setter("classes.C2.survival.sources", {"k": "guess"}),
     "classes.C2.survival.sources.k", "'guess'"),
    ("per_field_source_for_unknown_field",
     setter("classes.C2.survival.sources", {"zzz": "[E] guess"}),
     "classes.C2.survival", "['zzz']"),
    ("unknown_fuel", setter("technologies.diesel_epa2010.fuel", "hydrogen"),
     "technologies.diesel_epa2010.fuel", "'hydrogen'"),
    ("unknown_class_in_technology",
     lambda raw: set_path(raw, "technologies.diesel_epa2010.by_class.C9",
                          raw["technologies"]["diesel_epa2010"]["by_class"]["C2"]),
     "technologies.diesel_epa2010.by_class", "'C9'"),
    ("unknown_technology_constant", setter("decisions.technology_constants.hydrogen", 1.0),
     "decisions.technology_constants", "'hydrogen'"),
    ("class_without_economics", deleter("classes.van.economics"), "classes.van.economics",
     "got nothing"),
    ("unknown_technology_in_retrofit",
     setter("retrofits.diesel_dpf_retrofit.applies_to", ["diesel_epa1998", "steam"]),
     "retrofits.diesel_dpf_retrofit.applies_to", "'steam'"),
    ("unknown_technology_in_initial_stock",
     setter("initial_stock.technology_by_model_year.1900", {"steam": 1.0}),
     "initial_stock.technology_by_model_year.1900", "'steam'"),
    ("unknown_technology_placed", setter("initial_stock.placed.0.technology", "warp"),
     "initial_stock.placed.0.technology", "'warp'"),
    ("unknown_region_placed", setter("initial_stock.placed.0.region", "atlantis"),
     "initial_stock.placed.0.region", "'atlantis'"),
    ("unknown_retrofit_fitted", setter("initial_stock.retrofitted.0.retrofit", "magic"),
     "initial_stock.retrofitted.0.retrofit", "'magic'"),
    ("unknown_import_technology",
     setter("market.used_imports.technology_by_model_year.2010", "fusion"),
     "market.used_imports.technology_by_model_year", "'fusion'"),
    ("unknown_used_price_reference", setter("market.used_price_reference_technology", "nope"),
     "market.used_price_reference_technology", "'nope'"),
    ("unknown_class_in_standard",
     setter("regulation.new_vehicle_standards.0.classes", ["C2", "B9"]),
     "regulation.new_vehicle_standards.0.classes", "'B9'"),
    ("unknown_technology_in_standard",
     setter("regulation.new_vehicle_standards.0.allowed_technologies",
            ["diesel_epa2010", "fusion"]),
     "regulation.new_vehicle_standards.0.allowed_technologies", "'fusion'"),
    # the sales mix is gone: operators decide, so a file that still has one is told so
    ("sales_mix_is_gone", setter("market.sales_mix", {"by_class": {}}), "market.sales_mix",
     "unknown key"),
    ("import_shares_by_band_are_gone",
     setter("market.used_imports.share_of_additions_by_band", {"micro": 0.5}),
     "market.used_imports.share_of_additions_by_band", "unknown key"),
    ("fallback_technology_is_gone",
     setter("regulation.new_vehicle_standards.0.fallback_technology", "diesel_epa2010"),
     "regulation.new_vehicle_standards.0.fallback_technology", "unknown key"),
    ("unknown_technology_in_import_rule",
     setter("regulation.used_import_rules.0.allowed_technologies", ["diesel_epa2010", "fusion"]),
     "regulation.used_import_rules.0.allowed_technologies", "'fusion'"),
    # the sections for agents that decide
    ("unknown_lender_technology",
     setter("credit.lenders.green_fund.technologies_served", ["battery_electric", "fusion"]),
     "credit.lenders.green_fund.technologies_served", "'fusion'"),
    ("unknown_lender_band", setter("credit.lenders.green_fund.bands_served", ["micro", "tiny"]),
     "credit.lenders.green_fund.bands_served.1", "'tiny'"),
    ("unknown_lender_key", setter("credit.lenders.green_fund.colour", "green"),
     "credit.lenders.green_fund.colour", "unknown key"),
    ("lender_without_min_score", deleter("credit.lenders.green_fund.min_score"),
     "credit.lenders.green_fund.min_score", "got nothing"),
    ("lender_term_zero", setter("credit.lenders.commercial_bank.term_months", 0),
     "credit.lenders.commercial_bank.term_months", "got 0"),
    ("lender_negative_quota", setter("credit.lenders.development_bank.yearly_loan_quota", -1),
     "credit.lenders.development_bank.yearly_loan_quota", "got -1"),
    ("lender_max_rate_above_one", setter("credit.lenders.development_bank.max_rate", 1.5),
     "credit.lenders.development_bank.max_rate", "got 1.5"),
    ("lender_prior_weight_zero",
     setter("credit.lenders.development_bank.prior_weight_loans", 0),
     "credit.lenders.development_bank.prior_weight_loans", "got 0"),
    ("default_after_zero_months", setter("credit.default_after_negative_months", 0),
     "credit.default_after_negative_months", "got 0"),
    ("demonstration_of_an_unnamed_fleet",
     with_partnership(setter("demonstrations.0.fleet", "Nobody")),
     "demonstrations.0.fleet", "'Nobody'"),
    ("demonstration_unknown_technology",
     with_partnership(setter("demonstrations.0.technology", "warp")),
     "demonstrations.0.technology", "'warp'"),
    ("demonstration_unknown_class",
     with_partnership(setter("demonstrations.0.vehicle_class", "B9")),
     "demonstrations.0.vehicle_class", "'B9'"),
    ("demonstration_of_no_units", with_partnership(setter("demonstrations.0.units", 0)),
     "demonstrations.0.units", "got 0"),
    ("partnership_ends_before_it_starts",
     with_partnership(setter("partnerships.0.end", "2025-06-30")),
     "partnerships.0", "2025-06-30"),
    ("partnership_unknown_retrofit",
     with_partnership(setter("partnerships.0.retrofit_technologies", ["scr"])),
     "partnerships.0.retrofit_technologies", "'scr'"),
    ("partnership_unknown_replacement",
     with_partnership(setter("partnerships.0.replacement_technologies", ["warp"])),
     "partnerships.0.replacement_technologies", "'warp'"),
    ("named_fleets_twice",
     with_partnership(lambda raw: raw["named_fleets"].append(dict(raw["named_fleets"][0]))),
     "named_fleets", "'Demonstration fleet A'"),
    ("tastes_for_an_unknown_band",
     lambda raw: set_path(raw, "decisions.bands.huge", raw["decisions"]["bands"]["large"]),
     "decisions.bands.huge", "'huge'"),
    ("horizon_zero", setter("decisions.bands.micro.horizon_years", 0),
     "decisions.bands.micro.horizon_years", "got 0"),
    ("payout_share_above_one", setter("decisions.bands.micro.payout_share", 1.5),
     "decisions.bands.micro.payout_share", "got 1.5"),
    ("unknown_network_generator", setter("network.generator", "ring"), "network.generator",
     "'ring'"),
    ("missing_network", deleter("network"), "network", "got nothing"),
    ("used_market_without_a_value_factor",
     deleter("used_market.technology_value_factor.natural_gas"),
     "used_market.technology_value_factor", "'natural_gas'"),
    ("used_market_multiplier_zero", setter("used_market.price_multiplier_min", 0),
     "used_market.price_multiplier_min", "got 0"),
    ("bad_ulsd_date", setter("regions.zmvm.ulsd_available_from", "soon"),
     "regions.zmvm.ulsd_available_from", "'soon'"),
    ("bad_family_name", setter("technologies.battery_electric.family", "Electric Cars"),
     "technologies.battery_electric.family", "'Electric Cars'"),
    ("negative_retrofit_max_age", setter("retrofits.diesel_dpf_retrofit.max_age_years", -1),
     "retrofits.diesel_dpf_retrofit.max_age_years", "got -1"),
    ("bad_needs_ulsd", setter("retrofits.diesel_dpf_retrofit.needs_ulsd", "perhaps"),
     "retrofits.diesel_dpf_retrofit.needs_ulsd", "'perhaps'"),
    ("negative_maintenance_growth", setter("usage.maintenance_growth_per_year_of_age", -0.1),
     "usage.maintenance_growth_per_year_of_age", "got -0.1"),
    ("negative_scrap_value", setter("classes.C2.economics.scrap_value_mxn", -1),
     "classes.C2.economics.scrap_value_mxn", "got -1"),
    ("missing_tastes_for_a_band", deleter("decisions.bands.medium"), "decisions.bands",
     "'medium'"),
    ("missing_operator_band", deleter("operators.bands.medium"), "operators.bands",
     "'medium'"),
    ("named_fleet_unknown_region",
     with_partnership(setter("named_fleets.0.region", "atlantis")), "named_fleets.0.region",
     "'atlantis'"),
    ("value_factor_for_an_unknown_technology",
     setter("used_market.technology_value_factor.warp", 0.5),
     "used_market.technology_value_factor", "'warp'"),
]


@pytest.mark.parametrize(("mutate", "prefix", "value"),
                         [pytest.param(*case[1:], id=case[0]) for case in FIELD_CASES])
def test_field_error_is_one_clear_line(city_raw, write_scenario, mutate, prefix, value):
    problems = load_mutated(city_raw, write_scenario, mutate)
    assert len(problems) == 1, problems
    line = problems[0]
    assert line.startswith(prefix + ":"), line
    assert "got" in line and "expected" in line, line
    assert value in line, line


# Shares that must sum to 1, and rules that must be in date order. These lines name the path and
# what was expected (and, for sums, the sum), but not in the "got VALUE, expected WHAT" form.
SUM_CASES = [
    ("age_shares", setter("classes.C2.initial_age.shares_by_age_years.0-4", 0.5),
     "classes.C2.initial_age", "1.36"),
    ("import_age_shares", setter("market.used_imports.age.shares_by_age_years.1-5", 0.5),
     "market.used_imports.age", "1.28"),
    ("region_stock_shares", setter("regions.zmvm.stock_share", 0.5), "regions", "0.5"),
    ("band_power_unit_share", setter("operators.bands.micro.power_unit_share", 0.5),
     "operators", "1.24"),
    ("initial_technology_shares",
     setter("initial_stock.technology_by_model_year.2008.diesel_epa2004", 0.9),
     "initial_stock", "1.2"),
]
ORDER_CASES = [
    ("new_vehicle_standards_out_of_order", _append_earlier_rule("new_vehicle_standards"),
     "regulation.new_vehicle_standards.1.effective", "2020-01-01"),
    ("used_import_rules_out_of_order", _append_earlier_rule("used_import_rules"),
     "regulation.used_import_rules.1.effective", "2020-01-01"),
]


@pytest.mark.parametrize(("mutate", "prefix", "value"),
                         [pytest.param(*case[1:], id=case[0]) for case in SUM_CASES])
def test_shares_not_summing_to_one(city_raw, write_scenario, mutate, prefix, value):
    problems = load_mutated(city_raw, write_scenario, mutate)
    assert len(problems) == 1, problems
    line = problems[0]
    assert line.startswith(prefix + ":"), line
    assert "expected" in line and "sum to 1" in line, line
    assert f"summing to {value}," in line, line


@pytest.mark.parametrize(("mutate", "prefix", "value"),
                         [pytest.param(*case[1:], id=case[0]) for case in ORDER_CASES])
def test_rules_out_of_date_order(city_raw, write_scenario, mutate, prefix, value):
    problems = load_mutated(city_raw, write_scenario, mutate)
    assert len(problems) == 1, problems
    assert problems[0].startswith(prefix + ":"), problems
    assert "expected" in problems[0] and "order" in problems[0], problems


@pytest.mark.parametrize(("mutate", "prefix", "value"),
                         [pytest.param(*case[1:], id=case[0])
                          for case in SUM_CASES + ORDER_CASES])
def test_sum_and_order_errors_say_got_and_value(city_raw, write_scenario, mutate, prefix, value):
    line = load_mutated(city_raw, write_scenario, mutate)[0]
    assert "got" in line and value in line, line


def test_unknown_lender_technology_exact_line(city_raw, write_scenario):
    mutate = setter("credit.lenders.green_fund.technologies_served", ["fusion"])
    problems = load_mutated(city_raw, write_scenario, mutate)
    known = sorted([*city_raw["technologies"], *city_raw["retrofits"]])
    assert problems == [f"credit.lenders.green_fund.technologies_served: expected a technology "
                        f"or retrofit among {known}, got 'fusion'"]


def test_missing_value_factor_exact_line(city_raw, write_scenario):
    problems = load_mutated(city_raw, write_scenario,
                            deleter("used_market.technology_value_factor.battery_electric"))
    assert problems == ["used_market.technology_value_factor: expected a factor for "
                        "'battery_electric', got none"]


def test_partnership_dates_exact_line(city_raw, write_scenario):
    problems = load_mutated(city_raw, write_scenario,
                            with_partnership(setter("partnerships.0.end", "2025-06-30")))
    assert problems == ["partnerships.0: expected end after start 2026-01-01, got 2025-06-30"]


def test_demonstration_of_unnamed_fleet_exact_line(city_raw, write_scenario):
    problems = load_mutated(city_raw, write_scenario,
                            with_partnership(setter("demonstrations.0.fleet", "Fleet B")))
    assert problems == ["demonstrations.0.fleet: expected a named fleet among "
                        "['Demonstration fleet A'], got 'Fleet B'"]


def test_demonstration_without_named_fleets(city_raw, write_scenario):
    def mutate(raw):
        with_partnership()(raw)
        raw["named_fleets"] = []
    (line,) = load_mutated(city_raw, write_scenario, mutate)
    assert line.startswith("demonstrations.0.fleet: expected a named fleet among []")
    assert "got 'Demonstration fleet A'" in line


def test_several_problems_are_all_reported(city_raw, write_scenario):
    set_path(city_raw, "simulation.start_year", "soon")
    set_path(city_raw, "fuels.diesel.unit", "gallon")
    problems = problems_of(write_scenario(city_raw))
    assert len(problems) == 2
    assert {p.split(":")[0] for p in problems} == {"simulation.start_year", "fuels.diesel.unit"}


# ---- file-level problems ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "line", "column"), [
    ("name: x\nclasses: [1, 2\nusage: 3\n", 3, 6),
    ("name: x\nclasses:\n\tC2: 1\n", 3, 1),
    ("name: x\n  description: y\n", 2, 14),
])
def test_malformed_yaml_names_line_and_column(tmp_path, text, line, column):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith("broken.yaml: malformed YAML at ")
    assert f"line {line}, column {column}" in problems[0], problems


def test_yaml_list_is_not_a_scenario(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- name: x\n- name: y\n")
    assert problems_of(path) == ["list.yaml: got list, expected a mapping of scenario fields"]


def test_empty_file_is_not_a_scenario(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    (line,) = problems_of(path)
    assert line.startswith("empty.yaml: got ") and "expected a mapping" in line


def test_impossible_date_in_yaml_is_a_scenario_error(tmp_path):
    path = tmp_path / "date.yaml"
    path.write_text("name: x\nregulation:\n  new_vehicle_standards:\n"
                    "    - effective: 2025-13-01\n")
    (line,) = problems_of(path)
    assert line.startswith("date.yaml:") and "line 4" in line


def test_extends_cycle(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("name: b\nextends: a.yaml\n")
    problems = problems_of(tmp_path / "a.yaml")
    assert problems == ["extends: got a cycle a.yaml -> b.yaml -> a.yaml, "
                        "expected a chain that ends"]


def test_extends_itself(tmp_path):
    (tmp_path / "self.yaml").write_text("name: s\nextends: self.yaml\n")
    (line,) = problems_of(tmp_path / "self.yaml")
    assert line.startswith("extends: got a cycle self.yaml -> self.yaml")


def test_extends_missing_scenario_names_the_value(tmp_path):
    (tmp_path / "child.yaml").write_text("name: c\nextends: no_such_scenario\n")
    (line,) = problems_of(tmp_path / "child.yaml")
    assert "got 'no_such_scenario'" in line and "expected a built-in name" in line
    assert "mexico_city" in line


def test_extends_missing_scenario_names_the_extends_field(tmp_path):
    (tmp_path / "child.yaml").write_text("name: c\nextends: no_such_scenario\n")
    (line,) = problems_of(tmp_path / "child.yaml")
    assert line.startswith("extends:")


def test_extends_not_a_string(tmp_path):
    (tmp_path / "child.yaml").write_text("name: c\nextends: [mexico_city]\n")
    assert problems_of(tmp_path / "child.yaml") == [
        "extends: got ['mexico_city'], expected a scenario name or path"]


def test_missing_scenario_file():
    with pytest.raises(ScenarioError) as info:
        load("/nonexistent/scenario.yaml")
    (line,) = info.value.problems
    assert line.startswith("scenario: got '/nonexistent/scenario.yaml', expected")


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"market.nope": 1}, "market.nope: got an unknown path, expected one of: growth_per_year"),
    ({"nope": 1}, "nope: got an unknown path, expected one of: name, description"),
    ({"regulation.new_vehicle_standards.5.effective": "2030-01-01"},
     "regulation.new_vehicle_standards.5: got an unknown path, expected an index below 1"),
    ({"simulation.start_year.x": 1},
     "simulation.start_year.x: got an unknown path, expected simulation.start_year to have"),
    ({"market.growth_per_year.value.2031": 0.1},
     "market.growth_per_year.value.2031: got an unknown path, expected one of: 2025"),
])
def test_set_unknown_path(overrides, expected):
    with pytest.raises(ScenarioError) as info:
        load("mexico_city", overrides)
    (line,) = info.value.problems
    assert line.startswith(expected), line


def test_set_bad_value_is_reported_at_its_path():
    with pytest.raises(ScenarioError) as info:
        load("mexico_city", {"simulation.sample_fraction": 2})
    assert info.value.problems == [
        "simulation.sample_fraction: got 2, expected less than or equal to 1"]


def test_file_too_large(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: x\n" + ("#" * 99 + "\n") * (MAX_FILE_BYTES // 100 + 1))
    size = path.stat().st_size
    assert size > MAX_FILE_BYTES
    # the reader stops after MAX_FILE_BYTES + 1 bytes: it never learns (or says) the exact size
    assert problems_of(path) == [
        f"huge.yaml: got more than {MAX_FILE_BYTES} bytes, expected at most {MAX_FILE_BYTES}"]
