"""The built-in scenarios: listed, valid, reloadable from a dumped file, and every number in
them carries a source ("[S]" published or "[E]" estimate)."""

from __future__ import annotations

import numbers

import pytest

from fleetsim.scenarios import builtin_names, load, load_raw
from fleetsim.scenarios.schema import Scenario

# ---- the built-in scenarios ---------------------------------------------------------------------

BUILTINS = ["autorregulacion", "baseline", "baseline_national", "border_drayage_zev",
            "clean_fleets_mix", "contingency_curfew", "mexico_city", "mexico_city_partnership",
            "mexico_national", "mexico_national_2015", "partnership_finance", "scrappage_2015",
            "zev_strategy_2030"]


def test_builtins_are_listed():
    assert builtin_names() == BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_validates(name):
    spec = load(name)
    assert isinstance(spec, Scenario)
    assert spec.name == name


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_reloads_from_a_dumped_raw_file(name, write_scenario):
    """The merged raw mapping, written out without `extends`, is the same scenario."""
    raw = load_raw(name)
    raw.pop("extends", None)
    spec = load(write_scenario(raw))
    assert spec.model_dump(exclude={"extends"}) == load(name).model_dump(exclude={"extends"})


SETTINGS = {"simulation"}  # run settings, not data: they need no source


def unsourced_numbers(node, path="", covered=False) -> list[str]:
    """Paths of numbers with no source: a number is covered if a mapping on its path holds
    `source`, or its key has a sibling `<key>_source`, or it sits directly in a mapping with a
    group source `<topic>_source` whose topic is no key there (decisions.diffusion_source covers
    outside_p, peer_q and demonstration_weight; credit.scoring_source the scoring weights)."""
    if isinstance(node, dict):
        here = covered or "source" in node
        group = any(str(k).endswith("_source") and str(k)[: -len("_source")] not in node
                    for k in node)
        out = []
        for key, value in node.items():
            if not path and key in SETTINGS:
                continue
            child = here or f"{key}_source" in node
            if group and not isinstance(value, dict | list):
                child = True
            out += unsourced_numbers(value, f"{path}.{key}".lstrip("."), child)
        return out
    if isinstance(node, list):
        return [p for i, v in enumerate(node)
                for p in unsourced_numbers(v, f"{path}.{i}", covered)]
    if isinstance(node, numbers.Number) and not isinstance(node, bool) and not covered:
        return [path]
    return []


@pytest.mark.parametrize("name", BUILTINS)
def test_every_number_in_builtin_yaml_has_a_source(name):
    raw = load_raw(name)
    assert unsourced_numbers(raw) == []


def test_unsourced_number_walker_finds_a_bare_number():
    """The walker above must be able to fail."""
    raw = {"a": {"b": 1, "c": {"d": 2.5, "source": "[E] x"}}, "e": [{"f": 3}],
           "g": {"h": 1, "h_source": "[E] y", "i": 2}, "j": {"k": 1, "topic_source": "[E] z",
                                                         "l": {"m": 4}}}
    assert unsourced_numbers(raw) == ["a.b", "e.0.f", "g.i", "j.l.m"]


def sourced_models(model, path="scenario"):
    """(path, source text) of every model in a validated scenario that carries a `source`, and of
    every entry of its per-field `sources`."""
    from pydantic import BaseModel

    fields = type(model).model_fields
    if "source" in fields:
        yield path, model.source
        for key, text in getattr(model, "sources", {}).items():
            yield f"{path}.sources.{key}", text
    for name in fields:
        value = getattr(model, name)
        items = (value.items() if isinstance(value, dict)
                 else enumerate(value) if isinstance(value, list) else [(None, value)])
        for key, item in items:
            sub = f"{path}.{name}" + ("" if key is None else f".{key}")
            if isinstance(item, BaseModel):
                yield from sourced_models(item, sub)


@pytest.mark.parametrize("name", BUILTINS)
def test_every_sourced_model_has_a_real_source(name):
    found = list(sourced_models(load(name)))
    assert len(found) > 50
    bad = [(p, s) for p, s in found if not s or not s.strip() or s[:2] not in ("[S", "[E")]
    assert bad == []


def test_a_builtin_parsed_once_is_handed_out_as_a_copy():
    first = load_raw("mexico_city")
    first["market"]["growth_per_year"] = "changed"
    first["classes"].clear()
    again = load_raw("mexico_city")
    assert again["classes"] and again["market"]["growth_per_year"] != "changed"
    assert load("mexico_city") == load("mexico_city")
