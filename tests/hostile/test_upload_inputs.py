"""Hostile uploads through scenarios.load_text (the page's seam): the same bounds as files, and
no server file is ever opened."""

from __future__ import annotations

import time

import pytest

from fleetsim.scenarios import ScenarioError, load_text
from fleetsim.scenarios.loader import MAX_EXTENDS
from fleetsim.scenarios.yaml_input import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

from .conftest import LAUGHS_TEXT, SECONDS, memory_cap

BUILTIN_OR_UPLOAD = "expected a built-in scenario"


def refused(text: str, uploads: dict[str, str] | None = None) -> list[str]:
    started = time.perf_counter()
    with memory_cap(), pytest.raises(ScenarioError) as info:
        load_text(text, "upload.yaml", uploads=uploads or {})
    assert time.perf_counter() - started < SECONDS
    assert all("\n" not in line for line in info.value.problems)
    return info.value.problems


@pytest.mark.parametrize(("text", "prefix"), [
    (LAUGHS_TEXT, "upload.yaml: line "),
    ("name: " + "[" * 1500 + "]" * 1500, "upload.yaml: line 1, column "),
    ("name: x\n" + "#" * (MAX_FILE_BYTES + 1), f"upload.yaml: got more than {MAX_FILE_BYTES}"),
    ("name: a\nname: b\n", "upload.yaml: line 2, column 1: got the key 'name' twice"),
    ("name: x\nextends: /etc/passwd\n", f"extends: got '/etc/passwd', {BUILTIN_OR_UPLOAD}"),
    ("name: x\nextends: ../../etc/passwd\n", f"extends: got '../../etc/passwd', "
     f"{BUILTIN_OR_UPLOAD}"),
    ("name: x\nextends: /dev/zero\n", f"extends: got '/dev/zero', {BUILTIN_OR_UPLOAD}"),
    ("name: x\nextends: mexico_city\nusage: {km_spread_sigma: .nan}\n",
     "usage.km_spread_sigma: got nan, expected a finite number"),
    ("- a\n- b\n", "upload.yaml: got list, expected a mapping"),
], ids=["billion_laughs", "deep", "too_big", "duplicate_key", "server_path", "traversal",
        "device", "nan", "list"])
def test_bad_upload(text, prefix):
    problems = refused(text)
    assert problems[0].startswith(prefix), problems
    if "laughs" in text or "[[" in text:
        assert str(MAX_NODES) in problems[0] or str(MAX_DEPTH) in problems[0]


def test_upload_cycle_is_refused():
    uploads = {"a.yaml": "name: a\nextends: b.yaml\n", "b.yaml": "name: b\nextends: a.yaml\n"}
    problems = refused(uploads["a.yaml"], uploads)  # upload.yaml -> b -> a -> b: refused
    assert problems == ["extends: got 'b.yaml', expected a built-in scenario (autorregulacion, "
                        + problems[0].split("(autorregulacion, ", 1)[1]]
    assert problems[0].endswith("or a file you uploaded")


def test_upload_chain_is_bounded():
    uploads = {f"u{i}.yaml": f"name: u{i}\nextends: u{i + 1}.yaml\n"
               for i in range(MAX_EXTENDS + 3)}
    problems = refused("name: top\nextends: u0.yaml\n", uploads)
    assert problems == [f"extends: got a chain of more than {MAX_EXTENDS} files, expected at "
                        f"most {MAX_EXTENDS}"]
