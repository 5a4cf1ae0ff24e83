"""The page's settings in its URL query (`?lang=en&scenario=baseline&seed=7&sample=0.05`), so
that a link shares a scenario and a reload restores it. Every value read is checked as its
widget's value is; `token` (serve.TokenGate's) is kept as it came."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from fleetsim.scenarios import builtin_names

from . import guard, i18n
from .panels import SAMPLES

VIEWS = ["live", "compare", "projector"]
MAX_FIELDS = 20  # a longer query is refused whole (parse_qs raises past it)
DEFAULTS = {"lang": "es", "view": "live", "scenario": "clean_fleets_mix", "seed": 42,
            "sample": 0.05}


def parse_sample(value) -> float:
    return guard.parse_choice(guard.parse_number(value, min(SAMPLES), max(SAMPLES)), SAMPLES)


PARSERS = {
    "lang": lambda v: guard.parse_choice(v, list(i18n.LANGS)),
    "view": lambda v: guard.parse_choice(v, VIEWS),
    "scenario": lambda v: guard.parse_choice(v, builtin_names()),  # never a path or an upload
    "seed": guard.parse_seed,
    "sample": parse_sample,
}


def read(search: str | None) -> tuple[dict, bool]:
    """The settings a URL query asks for (defaults for the rest), and whether any was refused."""
    values = dict(DEFAULTS)
    try:
        query = parse_qs(search or "", max_num_fields=MAX_FIELDS)
    except ValueError:
        return values, True
    refused = False
    for name, parse in PARSERS.items():
        if name in query:
            try:
                values[name] = parse(query[name][-1])
            except guard.Refused:
                refused = True
    return values, refused


def query(values: dict, search: str | None) -> str:
    """The query for `values`, with the access token of `search` (if any) kept."""
    try:
        token = parse_qs(search or "", max_num_fields=MAX_FIELDS).get("token", [])
    except ValueError:
        token = []
    pairs = [("token", token[-1])] if token else []
    return urlencode(pairs + [(k, values[k]) for k in PARSERS])
