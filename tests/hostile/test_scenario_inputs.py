"""Hostile and broken scenario files, through `fleetsim validate` in-process (main()): each is
refused with exit 2 and one line per problem starting with its path, quickly and in bounded
memory, without a traceback and without echoing another file's text."""

from __future__ import annotations

import json

import pytest

from fleetsim.scenarios import load_raw
from fleetsim.scenarios.loader import MAX_EXTENDS, apply_override
from fleetsim.scenarios.schema_limits import MAX_SIMULATED_VEHICLES
from fleetsim.scenarios.yaml_input import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

from .conftest import LAUGHS_TEXT, SECRET_LINES, assert_refused, child, invoke

LAUGHS = LAUGHS_TEXT

# (id, bytes of case.yaml, the first line starts with, fragments some line holds)
FILE_CASES = [
    ("empty", b"", "case.yaml: got NoneType, expected a mapping", ()),
    ("scalar", b"42\n", "case.yaml: got int, expected a mapping of scenario fields", ()),
    ("string", b"just some words\n", "case.yaml: got str, expected a mapping", ()),
    ("list_at_top", b"- name: a\n- name: b\n", "case.yaml: got list, expected a mapping", ()),
    ("not_utf8", b"name: caf\xe9\n", "case.yaml: got a byte that is not UTF-8 at byte 9", ()),
    ("utf16", "name: x\n".encode("utf-16"), "case.yaml: got a byte that is not UTF-8", ()),
    ("nul_byte", b"name: x\x00y\n", "case.yaml: line 1, column 8: got the character #x0000",
     ("expected printable text",)),
    ("control_char", b"name: x\x07\n", "case.yaml: line 1, column 8: got the character #x0007",
     ()),
    ("bom_then_broken", b"\xef\xbb\xbfname: [x\n", "case.yaml: malformed YAML at line 2", ()),
    ("too_big_3mb", b"name: x\n" + b"# padding\n" * 300_000,
     f"case.yaml: got more than {MAX_FILE_BYTES} bytes, expected at most {MAX_FILE_BYTES}", ()),
    ("billion_laughs", LAUGHS.encode(), "case.yaml: line ",
     (f"got more than {MAX_NODES} values (aliases expanded), expected at most {MAX_NODES}",)),
    ("alias_bomb_bad_date", LAUGHS.replace("lol, lol, lol, lol, lol, lol, lol, lol, lol",
                                           "lol, 2025-13-01, lol, lol, lol, lol, lol, lol, lol"
                                           ).encode(),
     "case.yaml: line ", (f"got more than {MAX_NODES} values",)),
    ("merge_key_bomb", ("name: x\nextends: mexico_city\nbase: &b {p: 1, q: 2}\n"
                        + "".join(f"k{i}: &k{i} {{<<: *{'b' if i == 0 else f'k{i - 1}'}, "
                                  f"x{i}: [{', '.join(['*b'] * 40)}]}}\n" for i in range(40))
                        ).encode(), "case.yaml: line ", (f"got more than {MAX_NODES} values",)),
    ("recursive_alias", b"name: &n [1, *n]\n", "case.yaml: line 1, column 14: got an alias "
     "inside its own anchor", ()),
    ("undefined_alias", b"name: *nothing\n", "case.yaml: malformed YAML at line 1, column 7",
     ("found undefined alias",)),
    ("deep_flow_1500", ("name: " + "[" * 1500 + "]" * 1500 + "\n").encode(),
     "case.yaml: line 1, column ", (f"got nesting deeper than {MAX_DEPTH} levels",)),
    ("deep_block_1500", ("name:\n" + "".join(" " * i + "- \n" for i in range(1, 1500))).encode(),
     "case.yaml: line ", (f"got nesting deeper than {MAX_DEPTH} levels",)),
    ("deep_mapping_51", ("name: " + "{a: " * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)
                         + "\n").encode(), "case.yaml: line 1, column ",
     (f"got nesting deeper than {MAX_DEPTH} levels, expected at most {MAX_DEPTH}",)),
    ("deep_through_alias", ("a: &a " + "[" * 30 + "]" * 30 + "\nname: " + "[" * 25 + "*a"
                            + "]" * 25 + "\n").encode(), "case.yaml: line 2, column ",
     ("got nesting deeper than",)),
    ("many_values", ("name: [" + ", ".join(["1"] * (MAX_NODES + 10)) + "]\n").encode(),
     "case.yaml: line 1, column ", (f"got more than {MAX_NODES} values",)),
    ("duplicate_key", b"name: a\ndescription: d\nname: b\n",
     "case.yaml: line 3, column 1: got the key 'name' twice, expected each key once", ()),
    ("impossible_date", b"name: x\nregulation:\n  new_vehicle_standards:\n"
     b"    - effective: 2025-13-01\n",
     "case.yaml: line 4, column 18: got '2025-13-01', expected a valid value", ()),
    ("python_tag", b"name: !!python/object/apply:os.system ['true']\n",
     "case.yaml: malformed YAML at line 1, column 7", ("python/object/apply",)),
    ("unknown_tag", b"name: !shout x\n", "case.yaml: malformed YAML at line 1, column 7", ()),
    ("tab_indent", b"name: x\nclasses:\n\tC2: 1\n", "case.yaml: malformed YAML at line 3", ()),
    ("unclosed_flow", b"name: x\nclasses: [1, 2\nusage: 3\n",
     "case.yaml: malformed YAML at line 3, column 6", ()),
    ("extends_not_string", b"name: x\nextends: [mexico_city]\n",
     "extends: got ['mexico_city'], expected a scenario name or path", ()),
    ("extends_number", b"name: x\nextends: 12\n", "extends: got 12, expected a scenario name", ()),
    ("extends_mapping", b"name: x\nextends: {a: 1}\n", "extends: got {'a': 1}, expected", ()),
    ("extends_empty", b"name: x\nextends: ''\n", "extends: got '', expected a scenario name", ()),
    ("extends_missing", b"name: x\nextends: no_such_file.yaml\n",
     "extends: got 'no_such_file.yaml', expected a built-in name", ()),
    ("extends_nul_in_name", b'name: x\nextends: "a\\0b"\n', "extends: got 'a\\x00b', expected",
     ()),
    ("extends_very_long_name", b"name: x\nextends: " + b"a" * 5000 + b"\n",
     "extends: got 'aaaa", ("expected a built-in name",)),
    ("extends_etc_passwd", b"name: x\nextends: /etc/passwd\n",
     "extends: got 'passwd', which is not a scenario file", ()),
    ("extends_dev_zero", b"name: x\nextends: /dev/zero\n",
     "zero: got a device, expected a regular file", ()),
    ("extends_dev_null", b"name: x\nextends: /dev/null\n",
     "null: got a device, expected a regular file", ()),
    ("extends_directory", b"name: x\nextends: /tmp\n",
     "tmp: got a directory, expected a regular file", ()),
    ("extends_proc_file", b"name: x\nextends: /proc/self/status\n",
     "status: malformed YAML at line 1, column 6", ()),  # a tab; no text shown
]


@pytest.mark.parametrize(("content", "prefix", "fragments"),
                         [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_bad_scenario_file(scen_dir, content, prefix, fragments):
    path = scen_dir / "case.yaml"
    path.write_bytes(content)
    assert_refused(invoke("validate", str(path)), prefix, *fragments)


# ---- numbers ------------------------------------------------------------------------------------

NUMBER_CASES = [
    ("inf_1e400_dotted", "usage:\n  km_spread_sigma: 1.0e+400\n",
     "usage.km_spread_sigma: got inf, expected a finite number"),
    ("minus_inf", "usage:\n  km_spread_sigma: -1.0e+400\n",
     "usage.km_spread_sigma: got -inf, expected a finite number"),
    ("plain_1e400", "usage:\n  km_spread_sigma: 1e400\n",
     "usage.km_spread_sigma: got '1e400', expected a finite number"),
    ("nan_share", "usage:\n  km_min_share_of_new: .nan\n",
     "usage.km_min_share_of_new: got nan, expected a finite number"),
    ("inf_fuel_price", "fuels:\n  diesel:\n    price_mxn_per_unit: .inf\n",
     "fuels.diesel.price_mxn_per_unit: got inf, expected a finite number"),
    ("nan_in_year_path", "market:\n  growth_per_year:\n    value: {2025: .nan, 2040: 0.01}\n",
     "market.growth_per_year.value.2025: got nan, expected a finite number"),
    ("nan_year_key", "market:\n  growth_per_year:\n    value: {.nan: 0.01}\n",
     "market.growth_per_year.value"),
    ("nan_count", "classes:\n  C2:\n    initial_stock_units: {value: .nan}\n",
     "classes.C2.initial_stock_units.value: got nan, expected a finite number"),
    ("inf_sample_fraction", "simulation:\n  sample_fraction: .inf\n",
     "simulation.sample_fraction: got inf, expected a finite number"),
    ("nan_policy_amount", "policy:\n  purchase_subsidies:\n    - {name: s, start: 2025-01-01, "
     "end: 2030-12-31, technologies: [battery_electric], amount_mxn: .nan, source: '[E] x'}\n",
     "policy.purchase_subsidies.0.amount_mxn: got nan, expected a finite number"),
    ("huge_firms", "operators:\n  bands:\n    micro:\n      firms: 1000000000000\n",
     "operators.bands.micro.firms: got 1000000000000, expected a whole number of at most"),
    ("negative_firms", "operators:\n  bands:\n    micro:\n      firms: -3\n",
     "operators.bands.micro.firms: got -3, expected greater than or equal to 0"),
    ("negative_stock", "classes:\n  C2:\n    initial_stock_units: {value: -5}\n",
     "classes.C2.initial_stock_units.value: got -5, expected greater than or equal to 0"),
    ("huge_age", "retrofits:\n  diesel_dpf_retrofit:\n    max_age_years: 99999999999999\n",
     "retrofits.diesel_dpf_retrofit.max_age_years: got 99999999999999, expected a whole"),
    ("horizon_200_years", "simulation:\n  max_end_year: 2200\n",
     "simulation.max_end_year: got 2200, expected at most start_year + 100 (2125)"),
    ("default_years_150", "simulation:\n  max_end_year: 2125\n  default_years: 150\n",
     "simulation.default_years: got 150, expected less than or equal to 100"),
    ("runaway_growth", "market:\n  growth_per_year:\n    value: 0.9\n",
     f"market.growth_per_year: got growth taking the 155,000 simulated vehicles past "
     f"{MAX_SIMULATED_VEHICLES:,}"),
    ("growth_below_minus_one", "market:\n  growth_per_year:\n    value: -2\n",
     "market.growth_per_year: got -2, expected more than -1"),
    ("huge_mean_degree", "network:\n  mean_degree: 100000\n",
     "network.mean_degree: got 100000 for "),
]


@pytest.mark.parametrize(("body", "prefix"), [c[1:] for c in NUMBER_CASES],
                         ids=[c[0] for c in NUMBER_CASES])
def test_bad_number_in_a_file(scen_dir, body, prefix):
    assert_refused(invoke("validate", str(child(scen_dir, body))), prefix)


def test_more_vehicles_than_the_machine_holds(scen_dir):
    """Ten national fleets at 100%: consistent, but past the ceiling before anything is built."""
    raw = load_raw("mexico_national")
    body = {"classes": {c: {"initial_stock_units": {"value": v["initial_stock_units"]["value"]
                                                    * 10}} for c, v in raw["classes"].items()},
            "operators": {"bands": {b: {"firms": v["firms"] * 10}
                                    for b, v in raw["operators"]["bands"].items()}},
            "simulation": {"sample_fraction": 1.0}}
    path = scen_dir / "ten.json"
    path.write_text(json.dumps({"name": "ten", "extends": "mexico_national", **body}))
    assert_refused(invoke("validate", str(path)), "classes: got ",
                   f"expected at most {MAX_SIMULATED_VEHICLES:,}")


# ---- extends: what it may open and what it may say ----------------------------------------------

def test_extends_planted_secret_by_absolute_path(scen_dir, secret_file):
    path = child(scen_dir, "", extends=str(secret_file))
    assert_refused(invoke("validate", str(path)),
                   "extends: got 'passwd', which is not a scenario file",
                   forbidden=tuple(SECRET_LINES) + ("SECRET",))


def test_extends_secret_by_traversal(scen_dir, secret_file):
    path = child(scen_dir, "", extends="../private/passwd")
    assert_refused(invoke("validate", str(path)), "extends: got 'passwd', which is not a "
                   "scenario file", forbidden=("SECRET",))


@pytest.mark.parametrize(("name", "text"), [
    ("creds.yaml", "password: hunter2-SECRET\napi_key: SECRET-KEY\n"),
    ("config.json", '{"token": "SECRET-TOKEN", "users": ["SECRET-USER"]}'),
    ("list.yaml", "- SECRET-ITEM\n- SECRET-OTHER\n"),
    ("almost.yaml", "name: ok\nSECRET_KEY: SECRET-VALUE\n"),  # one key is not a scenario field
    ("nameless.yaml", "description: SECRET-DESCRIPTION\n"),
])
def test_extends_a_mapping_that_is_not_a_scenario(scen_dir, name, text):
    (scen_dir / name).write_text(text)
    path = child(scen_dir, "", extends=name)
    assert_refused(invoke("validate", str(path)),
                   f"extends: got '{name}', which is not a scenario file",
                   forbidden=("SECRET", "hunter2", "password", "token"))


@pytest.mark.parametrize(("text", "prefix"), [
    ("name: x\ndescription: [SECRET-TEXT\n", "base.yaml: malformed YAML at line 3, column 1"),
    ("name: x\ndescription: !SECRET-TAG y\n", "base.yaml: malformed YAML at line 2, column 14"),
    ("name: x\nregulation: {SECRET-KEY: 2025-13-01}\n",
     "base.yaml: line 2, column 26: got a value YAML cannot read, expected a valid value"),
    ("name: x\nname: SECRET-NAME\n",
     "base.yaml: line 2, column 1: got a key twice, expected each key once"),
    ("name: x\ndescription: SECRET\x01\n", "base.yaml: line 2, column 20: got the character"),
])
def test_parse_error_in_an_extended_file_shows_no_text(scen_dir, text, prefix):
    """A malformed extended file is named with its line and column, never its text."""
    (scen_dir / "base.yaml").write_text(text)
    path = child(scen_dir, "", extends="base.yaml")
    assert_refused(invoke("validate", str(path)), prefix, forbidden=("SECRET",))


def test_relative_extends_does_not_fall_back_to_the_working_folder(scen_dir, tmp_path,
                                                                   monkeypatch):
    """parent.yaml exists in the working folder but not next to the child: not found."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "parent.yaml").write_text("name: parent\nextends: mexico_city\n")
    monkeypatch.chdir(work)
    path = child(scen_dir, "", extends="parent.yaml")
    assert_refused(invoke("validate", str(path)), "extends: got 'parent.yaml', expected a "
                   "built-in name")


def test_relative_extends_next_to_the_file_is_read(scen_dir, tmp_path, monkeypatch):
    (scen_dir / "parent.yaml").write_text("name: parent\nextends: mexico_city\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", str(child(scen_dir, "", extends="parent.yaml")))
    assert result.code == 0, result.stderr


def test_extends_cycle(scen_dir):
    (scen_dir / "a.yaml").write_text("name: a\nextends: b.yaml\n")
    (scen_dir / "b.yaml").write_text("name: b\nextends: a.yaml\n")
    assert_refused(invoke("validate", str(scen_dir / "a.yaml")),
                   "extends: got a cycle a.yaml -> b.yaml -> a.yaml, expected a chain that ends")


def test_extends_chain_too_long(scen_dir):
    for i in range(MAX_EXTENDS + 2):
        parent = f"f{i + 1}.yaml" if i < MAX_EXTENDS + 1 else "mexico_city"
        (scen_dir / f"f{i}.yaml").write_text(f"name: f{i}\nextends: {parent}\n")
    assert_refused(invoke("validate", str(scen_dir / "f0.yaml")),
                   f"extends: got a chain of more than {MAX_EXTENDS} files")


def test_extends_a_too_big_file(scen_dir):
    (scen_dir / "big.yaml").write_bytes(b"name: x\n" + b"#" * (MAX_FILE_BYTES + 10))
    assert_refused(invoke("validate", str(child(scen_dir, "", extends="big.yaml"))),
                   f"big.yaml: got more than {MAX_FILE_BYTES} bytes")


def test_extends_a_merge_bomb(scen_dir):
    """Each layer is small; a bomb in the child is refused while composing, before the merge."""
    body = LAUGHS.replace("name: x\n", "").replace("description: *i", "usage: {x: *i}")
    assert_refused(invoke("validate", str(child(scen_dir, body))), "child.yaml: line ",
                   f"got more than {MAX_NODES} values")


@pytest.mark.parametrize("target", ["scen", "device", "missing"])
def test_top_level_file_that_is_not_a_regular_file(scen_dir, target):
    path = {"scen": str(scen_dir), "device": "/dev/urandom", "missing": str(scen_dir / "nope")}
    expected = {"scen": "scen: got a directory, expected a regular file",
                "device": "urandom: got a device, expected a regular file",
                "missing": "scenario: got "}
    assert_refused(invoke("validate", path[target]), expected[target])


# ---- accepted on purpose ------------------------------------------------------------------------

def test_bom_is_accepted(scen_dir):
    path = scen_dir / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: bom\nextends: mexico_city\n")
    result = invoke("validate", str(path))
    assert result.code == 0, result.stderr


def test_aliases_within_bounds_are_accepted(scen_dir):
    """yaml.safe_dump writes shared objects as anchors and aliases: such files still load, and
    an override of one copy leaves the other alone."""
    path = scen_dir / "shared.yaml"
    path.write_text("name: shared\nextends: mexico_city\nnamed_fleets:\n"
                    "  - &f {name: a, band: large, source: '[E] x'}\n  - *f\n")
    raw = load_raw(path)
    assert raw["named_fleets"][0] == raw["named_fleets"][1]
    apply_override(raw, "named_fleets.1.name", "b")
    assert [f["name"] for f in raw["named_fleets"]] == ["a", "b"]
