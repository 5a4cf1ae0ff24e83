"""Hostile input to the workshop page, through the handlers its widgets call: uploads (the
upload thread's `take_files`), the seed box, the sample list, sliders, switches, the view,
language and comparison pickers. Each must end in a short message in the page's language
(es and en), with no traceback, no server path and nothing of a planted secret file, within
CASE_S seconds, while the server process keeps answering (a heartbeat thread)."""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pytest
import solara

from fleetsim.scenarios import builtin_names
from fleetsim.viz import app, compare, guard, i18n, panels, upload_check
from fleetsim.viz.controls import CONTROLS
from fleetsim.viz.runner import LiveRun

CASE_S = 15.0  # the page answers every input within this (a check is killed at 10 s)
HEARTBEAT_GAP_S = 3.0  # the server process's longest pause while a check runs (2 busy cores)

SECRET = "TOPSECRET-7f3a91"  # planted in a server file that uploads try to reach


@dataclass
class Case:
    id: str
    name: str
    data: bytes | None = None  # None: made by `make(folder)`
    make: object = None
    size: object = None  # the size the browser announces (None: the real one)
    expect: str = ""  # a message key, or text that a problem line must contain
    slow: bool = False


def plant_secret(folder: Path) -> Path:
    path = folder / "secret.yaml"
    path.write_text(f"name: {SECRET}\ndescription: {SECRET}\nextends: mexico_city\n"
                    f"market:\n  growth: {SECRET}\n")
    return path


def extends(target: str) -> bytes:
    return f"name: visitor\ndescription: x\nextends: {target}\n".encode()


def fifo(folder: Path) -> bytes:
    path = folder / "pipe.yaml"
    if not path.exists():
        os.mkfifo(path)
    return extends(str(path))


ALIAS_BOMB = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
name: *i
description: x
extends: mexico_city
"""

# mappings made of mappings by alias: deep_merge copies each path afresh (no sharing kept)
MERGE_BOMB = b"""\
name: merged
description: x
extends: mexico_city
k0: &k0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}
k1: &k1 {a: *k0, b: *k0, c: *k0, d: *k0, e: *k0, f: *k0, g: *k0, h: *k0}
k2: &k2 {a: *k1, b: *k1, c: *k1, d: *k1, e: *k1, f: *k1, g: *k1, h: *k1}
k3: &k3 {a: *k2, b: *k2, c: *k2, d: *k2, e: *k2, f: *k2, g: *k2, h: *k2}
k4: &k4 {a: *k3, b: *k3, c: *k3, d: *k3, e: *k3, f: *k3, g: *k3, h: *k3}
k5: &k5 {a: *k4, b: *k4, c: *k4, d: *k4, e: *k4, f: *k4, g: *k4, h: *k4}
k6: &k6 {a: *k5, b: *k5, c: *k5, d: *k5, e: *k5, f: *k5, g: *k5, h: *k5}
k7: &k7 {a: *k6, b: *k6, c: *k6, d: *k6, e: *k6, f: *k6, g: *k6, h: *k6}
k8: &k8 {a: *k7, b: *k7, c: *k7, d: *k7, e: *k7, f: *k7, g: *k7, h: *k7}
market: {<<: *k8}
"""

# one impossible date before the bomb: the loader's search for the bad value walks every path
DATE_BOMB = b"when: 2025-13-01\n" + ALIAS_BOMB

DEEP_LISTS = b"name: deep\ndescription: x\nmarket: " + b"[" * 1500 + b"]" * 1500 + b"\n"
DEEP_MAPS = b"name: deep\ndescription: x\nmarket: " + b"{a: " * 1500 + b"1" + b"}" * 1500 + b"\n"

UPLOADS = [
    Case("absolute-secret", "a.yaml", make=lambda d: extends(str(plant_secret(d))),
         expect="or a file you uploaded"),
    Case("etc-shadow", "a.yaml", extends("/etc/shadow"), expect="or a file you uploaded"),
    Case("etc-passwd", "a.yaml", extends("/etc/passwd"), expect="or a file you uploaded"),
    Case("traversal", "a.yaml", extends("../../../../../../etc/passwd"),
         expect="or a file you uploaded"),
    Case("traversal-to-secret", "a.yaml", make=lambda d: extends(
        "../" * 12 + str(plant_secret(d)).lstrip("/")), expect="or a file you uploaded"),
    Case("relative-secret", "a.yaml", make=lambda d: (plant_secret(d), extends("secret.yaml"))[1],
         expect="or a file you uploaded"),
    Case("dev-zero", "a.yaml", extends("/dev/zero"), expect="or a file you uploaded"),
    Case("dev-urandom", "a.yaml", extends("/dev/urandom"), expect="or a file you uploaded"),
    Case("fifo", "a.yaml", make=fifo, expect="or a file you uploaded"),
    Case("proc-environ", "a.yaml", extends("/proc/self/environ"),
         expect="or a file you uploaded"),
    Case("extends-a-list", "a.yaml", b"name: v\ndescription: x\nextends: [/etc/passwd]\n",
         expect="expected a scenario name"),
    Case("extends-missing-upload", "a.yaml", extends("never_uploaded"),
         expect="or a file you uploaded"),
    Case("extends-itself", "self.yaml", extends("self.yaml"), expect="or a file you uploaded"),
    Case("alias-bomb", "bomb.yaml", ALIAS_BOMB, expect="values (aliases expanded)"),
    Case("merge-bomb", "merge.yaml", MERGE_BOMB, expect="values (aliases expanded)"),
    Case("date-in-alias-bomb", "date.yaml", DATE_BOMB, expect="values (aliases expanded)"),
    Case("deep-lists-1500", "deep.yaml", DEEP_LISTS, expect="nesting deeper than"),
    Case("deep-maps-1500", "deep.yaml", DEEP_MAPS, expect="nesting deeper than"),
    Case("3-MB", "big.yaml", b"#" * 3_000_000, expect="upload_too_big"),
    Case("20-MB", "huge.yaml", b"#" * 20_000_000, expect="upload_too_big"),
    Case("size-announced-huge", "huge.yaml", b"name: x\n", size=2**62, expect="upload_too_big"),
    Case("size-negative", "neg.yaml", b"name: x\n", size=-1, expect="upload_unreadable"),
    Case("size-not-a-number", "s.yaml", b"name: x\n", size="12", expect="upload_unreadable"),
    # only the announced bytes are asked for: the rest of the file is never read
    Case("size-understated", "s.yaml", b"name: x\ndescription: y\n" * 10, size=10,
         expect="malformed YAML"),
    Case("binary", "img.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
         expect="upload_not_text"),
    Case("non-utf8", "latin.yaml", "name: x\ndescription: descripción\n".encode("latin-1"),
         expect="upload_not_text"),
    Case("nul-byte", "nul.yaml", b"name: x\x00\ndescription: y\n", expect="upload_not_text"),
    Case("nan", "nan.yaml", b"name: v\ndescription: x\nextends: mexico_city\n"
         b"simulation:\n  sample_fraction: .nan\n", expect="simulation.sample_fraction"),
    Case("empty", "empty.yaml", b"", expect="expected a mapping of scenario fields"),
    Case("a-list", "list.yaml", b"- name\n- description\n",
         expect="expected a mapping of scenario fields"),
    Case("a-scalar", "s.yaml", b"hello\n", expect="expected a mapping of scenario fields"),
    Case("malformed", "m.yaml", b"name: [unclosed\ndescription: x\n", expect="malformed YAML"),
    Case("python-tag", "p.yaml", b"name: !!python/object/apply:os.system ['cat /etc/passwd']\n",
         expect="malformed YAML"),
    Case("impossible-date", "d.yaml", b"name: v\ndescription: 2025-13-01\n",
         expect="expected a valid value"),
    Case("long-value", "long.yaml", b"name: " + b"A" * 1_900_000 + b"\ndescription: x\n",
         expect="name"),
    Case("name-traversal", "../../../etc/passwd", b"- 1\n", expect="passwd: got list"),
    Case("name-windows-path", "C:\\Users\\x\\..\\secret.yaml", b"- 1\n",
         expect="secret.yaml: got list"),
    Case("name-control-chars", "a\x1b[31m\n.yaml", b"- 1\n", expect="got list"),
]


# ---- helpers ---------------------------------------------------------------------------------
def shown(status: dict, lang: str) -> list[str]:
    """The lines the page's upload box shows for a status (as panels.UploadStatus does)."""
    if status.get("kind") == "refused":
        return [i18n.t(lang, "import_error"), i18n.t(lang, status["key"], **status["kw"])]
    if status.get("kind") == "problems":
        return [i18n.t(lang, "import_error"), *status["lines"]]
    return [str(status)]


def assert_clean(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert "Traceback" not in text and 'File "' not in text
    assert SECRET not in text
    for path in upload_check.server_paths():
        assert path not in text, path


class Heartbeat:
    """A thread in the server's process ticking every 50 ms; `gap` is its longest pause."""

    def __init__(self):
        self.gap, self.stop = 0.0, threading.Event()
        self.thread = threading.Thread(target=self.beat, daemon=True)

    def beat(self):
        last = time.monotonic()
        while not self.stop.wait(0.05):
            now = time.monotonic()
            self.gap, last = max(self.gap, now - last), now

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


class NeverRead(io.BytesIO):
    """A file whose bytes the test forbids reading (an oversize upload is refused unread)."""

    def read(self, *args):
        raise AssertionError("an oversize upload was read")


def upload(case: Case, folder: Path, uploads=None) -> tuple[dict, float, float]:
    data = case.data if case.data is not None else case.make(folder)
    size = len(data) if case.size is None else case.size
    oversize = isinstance(size, int) and size > upload_check.MAX_RESULT_BYTES // 4
    f = {"name": case.name, "size": size,
         "file_obj": NeverRead(data) if oversize else io.BytesIO(data)}
    statuses, taken = [], []
    started = time.monotonic()
    with Heartbeat() as beat:
        panels.take_files([f], OrderedDict() if uploads is None else uploads, taken.append,
                          statuses.append)
    assert taken == [] or case.expect == "ok"
    return statuses[-1], time.monotonic() - started, beat.gap


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative `extends:` would find the planted file here
    plant_secret(tmp_path)
    return tmp_path


# ---- uploads ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] * c.slow)
                                  for c in UPLOADS])
def test_a_hostile_upload_ends_in_a_short_message(case, folder):
    status, took, gap = upload(case, folder)
    assert took < CASE_S and gap < HEARTBEAT_GAP_S
    assert status["kind"] in ("refused", "problems"), status
    for lang in i18n.LANGS:
        lines = shown(status, lang)
        assert_clean(lines)
        assert len(lines) <= upload_check.MAX_LINES + 2
        assert all(len(line) <= upload_check.MAX_LINE_CHARS + 1 for line in lines)
    if status["kind"] == "refused":
        assert status["key"].startswith(case.expect)
        assert shown(status, "es")[1] != shown(status, "en")[1]  # worded in each language
    else:
        assert any(case.expect in line for line in status["lines"]), status["lines"]


def test_an_existing_and_a_missing_server_file_read_the_same(folder):
    """No oracle: a path that exists and one that does not give the same answer."""
    there = upload(Case("x", "a.yaml", extends(str(folder / "secret.yaml"))), folder)[0]
    gone = upload(Case("x", "a.yaml", extends(str(folder / "nothing.yaml"))), folder)[0]
    assert there["lines"] == [line.replace("nothing.yaml", "secret.yaml")
                              for line in gone["lines"]]


@pytest.mark.slow
def test_an_upload_may_extend_the_same_visitors_earlier_upload(folder):
    mine = OrderedDict()
    base = b"name: base_part\ndescription: my base\nextends: mexico_city\n"
    first = upload(Case("base", "my_base.yaml", base, expect="ok"), folder, mine)[0]
    assert first == {"kind": "ok", "name": "base_part"}
    child = b"name: my_child\ndescription: mine\nextends: my_base\n"
    second = upload(Case("child", "child.yaml", child, expect="ok"), folder, mine)[0]
    assert second == {"kind": "ok", "name": "my_child"}
    # another visitor (another session's dict) cannot extend it
    other = upload(Case("other", "child.yaml", child), folder, OrderedDict())[0]
    assert any("or a file you uploaded" in line for line in other["lines"])


def test_two_uploads_extending_each_other_end(folder):
    mine = OrderedDict()
    upload(Case("a", "a.yaml", extends("b")), folder, mine)
    status = upload(Case("b", "b.yaml", extends("a")), folder, mine)[0]
    assert status["kind"] == "problems"
    assert any("or a file you uploaded" in line for line in status["lines"])


@pytest.mark.slow
def test_a_check_over_the_memory_limit_is_killed_with_a_message(folder, monkeypatch):
    # the loader refuses bombs before they grow; a valid fleet built at the page's largest
    # sample needs more than 300 MB (the child's libraries alone map ~700 MB)
    monkeypatch.setattr(upload_check, "MEMORY_BYTES", 300 << 20)
    status, took, gap = upload(Case("m", "m.yaml", extends("mexico_city")), folder)
    assert status == {"kind": "refused", "key": "check_memory", "kw": {}}
    assert took < CASE_S and gap < HEARTBEAT_GAP_S
    assert i18n.t("en", "check_memory").startswith("The file needs too much memory")


@pytest.mark.slow
def test_a_check_over_the_time_limit_is_killed_with_a_message(folder, monkeypatch):
    # building the national fleet at the page's largest sample takes longer than a second
    monkeypatch.setattr(upload_check, "TIME_S", 1.0)
    status, took, gap = upload(Case("t", "t.yaml", extends("mexico_national")), folder)
    assert status == {"kind": "refused", "key": "check_slow", "kw": {}}
    assert took < CASE_S and gap < HEARTBEAT_GAP_S


def test_checks_beyond_the_concurrency_limit_wait_then_give_up(folder, monkeypatch):
    monkeypatch.setattr(upload_check, "QUEUE_WAIT_S", 0.2)
    taken = [upload_check.SLOTS.acquire() for _ in range(upload_check.CONCURRENT)]
    try:
        status = upload(Case("q", "q.yaml", extends("mexico_city")), folder)[0]
    finally:
        for _ in taken:
            upload_check.SLOTS.release()
    assert status == {"kind": "refused", "key": "check_busy", "kw": {}}


# ---- the other widgets -----------------------------------------------------------------------
class Reports:
    """The page's `report`: the messages shown, rendered in both languages."""

    def __init__(self):
        self.got: list[tuple] = []

    def __call__(self, key, kw):
        if key:
            self.got.append((key, kw))

    def texts(self) -> list[str]:
        return [i18n.t(lang, key, **kw) for key, kw in self.got for lang in i18n.LANGS]


SEEDS = [-1, 2**64, 2**63, -(2**63), float("nan"), float("inf"), 1.5, "abc", None, True,
         [1], "-3"]


@pytest.mark.parametrize("value", SEEDS, ids=repr)
def test_a_bad_seed_is_refused_with_a_message(value):
    seed, report = solara.reactive(42), Reports()
    guard.call_guarded(app.choose_seed, report, seed, value)
    assert seed.value == 42 and [k for k, _ in report.got] == ["seed_range"]
    es, en = report.texts()
    assert es.startswith("La semilla debe ser") and en.startswith("The seed must be")
    assert str(2**63 - 1) in en


@pytest.mark.parametrize("value", [0, 7, 2**63 - 1, "12", 3.0])
def test_a_good_seed_is_taken(value):
    seed, report = solara.reactive(42), Reports()
    guard.call_guarded(app.choose_seed, report, seed, value)
    assert seed.value == int(value) and report.got == []


SHARES = [i18n.percent("es", f, 0) for f in panels.SAMPLES]
PICKS = [  # (handler, its reactive's start, options, bad value)
    ("sample", 0.05, SHARES, "37\u00a0%"), ("sample", 0.05, SHARES, None),
    ("sample", 0.05, SHARES, float("nan")),
    ("view", "live", ["En vivo", "Comparar", "Proyector"], "admin"),
    ("lang", "es", list(i18n.LANGS), "xx"), ("lang", "es", list(i18n.LANGS), ["es"]),
    ("scenario", "mexico_city", builtin_names(), "/etc/passwd"),
    ("scenario", "mexico_city", builtin_names(), "../secret"),
    ("speed", 1, i18n.options("es", "speed_levels"), "warp"),
]


@pytest.mark.parametrize("which,start,options,value", PICKS, ids=lambda x: repr(x)[:20])
def test_a_value_no_list_offered_is_refused(which, start, options, value):
    target, report = solara.reactive(start), Reports()
    if which == "sample":
        guard.call_guarded(app.choose_sample, report, target, options, value)
    elif which == "speed":
        guard.call_guarded(panels.choose_speed, report, target, options, value)
    else:
        guard.call_guarded(app.choose_from, report, target, options, value)
    assert target.value == start
    assert report.texts() == ["Opción no válida; no se cambió nada.",
                              "Not a valid option; nothing was changed."]


@pytest.fixture(scope="module")
def small_run():
    return LiveRun("scrappage_2015", seed=1, sample_fraction=0.01)


DIESEL = next(c for c in CONTROLS if c.path == "fuels.diesel.price_mxn_per_unit")
SCRAP = next(c for c in CONTROLS if c.key == "ctl_on_scrappage")
SLIDERS = [-5, 1e308, float("nan"), float("-inf"), "abc", None, [1], 46]


@pytest.mark.parametrize("value", SLIDERS, ids=repr)
def test_a_slider_value_out_of_its_range_is_refused(small_run, value):
    report, bumped, problems = Reports(), [], []
    before = small_run.value(DIESEL.path)
    guard.call_guarded(panels.change_control, report, small_run, DIESEL, before,
                       lambda: bumped.append(1), problems.append, value)
    assert small_run.value(DIESEL.path) == before and bumped == []
    es, en = report.texts()
    assert es.startswith("Valor fuera del rango") and en.startswith("Value outside")


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_switch_takes_only_true_or_false(small_run, value):
    report = Reports()
    control = SCRAP.__class__(**{**SCRAP.__dict__, "path": "policy.scrappage.0.enabled"})
    guard.call_guarded(panels.change_control, report, small_run, control, True,
                       lambda: None, lambda p: None, value)
    assert [k for k, _ in report.got] == ["choice_refused"]


def test_a_refused_mid_run_policy_change_shows_its_problem(small_run):
    problems = []
    small_run.step(2)
    control = DIESEL.__class__(**{**DIESEL.__dict__, "path": "policy.scrappage.0.bonus_mxn",
                                  "min": -1e9, "max": 1e9})
    guard.call_guarded(panels.change_control, Reports(), small_run, control, 0.0,
                       lambda: None, problems.append, -5e8)
    assert problems and problems[-1] and "policy.scrappage.0.bonus_mxn" in problems[-1][0]


@pytest.mark.parametrize("value", [["../../etc/passwd"], "baseline", 123, [None]], ids=repr)
def test_the_comparison_takes_only_the_scenarios_it_offers(value):
    state, report = solara.reactive(compare.CompareState(["baseline"])), Reports()
    offered = compare.entries({}, None, None)
    guard.call_guarded(compare.pick_scenarios, report, state, offered, "es", value)
    assert state.value.picked == ["baseline"] and [k for k, _ in report.got] == ["choice_refused"]


def test_the_comparison_refuses_a_city_and_the_nation_together():
    state, report = solara.reactive(compare.CompareState(["baseline"])), Reports()
    offered = compare.entries({}, None, None)
    guard.call_guarded(compare.pick_scenarios, report, state, offered, "es",
                       ["baseline", "baseline_national"])
    assert state.value.picked == ["baseline"] and [k for k, _ in report.got] == ["compare_mixed"]
    assert "Rest of Mexico" in report.texts()[1]


def test_an_unexpected_failure_is_a_message_not_a_traceback(capsys):
    report = Reports()

    def broken():
        raise OSError(f"{sys.prefix}/secret: boom")

    guard.call_guarded(broken, report)
    assert report.texts() == ["Algo falló; la corrida sigue igual.",
                              "Something went wrong; the run is unchanged."]


def test_every_message_the_page_adds_has_both_languages():
    assert [k for k, v in i18n.MESSAGES.items() if set(v) != set(i18n.LANGS)] == []


class BrokenRun:
    """A run whose next month fails (e.g. a model error in an odd uploaded scenario)."""
    finished = False

    def step(self, months):
        raise ArithmeticError("month failed")


def test_a_failing_month_while_playing_stops_the_run_with_a_message():
    playing, report = solara.reactive(True), Reports()
    guard.call_guarded(app.play_or_stop, report, BrokenRun(), playing, 0, lambda: None,
                       lambda: None, threading.Event())
    assert playing.value is False
    assert report.texts() == ["La corrida no pudo continuar; pulse Reiniciar.",
                              "The run could not go on; press Reset."]


def test_a_step_click_that_fails_is_a_message():
    report = Reports()
    guard.call_guarded(panels.step_once, report, BrokenRun(), lambda: None)
    assert [k for k, _ in report.got] == ["unexpected"]


def test_a_run_that_cannot_be_built_falls_back_to_the_default():
    run, built = app.build_run("no_such_scenario", 1, 0.01)
    assert not built and run.spec.name == app.DEFAULT_SCENARIO


def test_an_export_that_fails_downloads_a_line_saying_so(small_run, monkeypatch):
    report = Reports()

    def broken(run):
        raise ValueError(f"{sys.prefix} cannot")

    monkeypatch.setattr(panels.scenario_io, "export_yaml", broken)
    data = panels.export_bytes(small_run, "yaml", "es", report)
    assert data == b"# No se pudo exportar.\n" and sys.prefix.encode() not in data
    assert [k for k, _ in report.got] == ["unexpected"]
    assert panels.export_bytes(small_run, "csv", "es", report).startswith(b"run,year,month")


def test_a_visitors_kept_uploads_are_bounded():
    from fleetsim.viz import scenario_io

    kept = OrderedDict()
    for i in range(30):
        scenario_io.remember(kept, f"part{i}.yaml", "#" * 1_500_000)
    assert len(kept) <= 2 * scenario_io.MAX_KEPT_UPLOADS
    assert sum(map(len, kept.values())) <= scenario_io.MAX_KEPT_BYTES
    assert "part29" in kept and "part29.yaml" in kept and "part0" not in kept


def test_a_message_missing_a_field_still_shows_its_words():
    assert i18n.t("en", "seed_range").startswith("The seed must be a whole number")
    assert i18n.t("es", "value_range", low="15", high="45").startswith(
        "Valor fuera del rango del control (15 a 45)")
