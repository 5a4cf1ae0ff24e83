"""The inputs that hung or blew up the real executable, run as the installed `fleetsim` in a
child process with a timeout and a 4 GB address-space limit: a FIFO, /dev/zero, a file over
the size limit, alias bombs and deep nesting."""

from __future__ import annotations

import os

import pytest

from fleetsim.scenarios.yaml_input import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

from .conftest import LAUGHS_TEXT, SECRET_LINES, assert_refused, child, invoke_subprocess


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_fifo_as_the_scenario_does_not_hang(fifo):
    assert_refused(invoke_subprocess("validate", str(fifo)),
                   "pipe.yaml: got a FIFO, expected a regular file")


def test_fifo_through_extends_does_not_hang(scen_dir, fifo):
    path = child(scen_dir, "", extends=str(fifo))
    assert_refused(invoke_subprocess("run", str(path), "--years", "1"),
                   "pipe.yaml: got a FIFO, expected a regular file")


def test_dev_zero_through_extends(scen_dir):
    path = child(scen_dir, "", extends="/dev/zero")
    assert_refused(invoke_subprocess("validate", str(path)),
                   "zero: got a device, expected a regular file")


def test_dev_zero_as_the_scenario():
    assert_refused(invoke_subprocess("run", "/dev/zero"),
                   "zero: got a device, expected a regular file")


def test_file_over_the_limit_is_not_read_whole(scen_dir):
    path = scen_dir / "big.yaml"
    with open(path, "wb") as fh:  # 600 MB, mostly a hole: reading it all would show
        fh.write(b"name: big\n")
        fh.truncate(600 * 2**20)
    assert_refused(invoke_subprocess("validate", str(path)),
                   f"big.yaml: got more than {MAX_FILE_BYTES} bytes")


def test_alias_bomb_with_a_bad_date(scen_dir):
    path = scen_dir / "bomb.yaml"
    path.write_text(LAUGHS_TEXT.replace("lol, lol, lol", "lol, 2025-13-01, lol"))
    assert_refused(invoke_subprocess("validate", str(path)), "bomb.yaml: line ",
                   f"got more than {MAX_NODES} values")


def test_alias_bomb_in_a_file_extended_by_another(scen_dir):
    (scen_dir / "bomb.yaml").write_text(LAUGHS_TEXT)
    path = child(scen_dir, "", extends="bomb.yaml")
    assert_refused(invoke_subprocess("validate", str(path)), "bomb.yaml: line ",
                   f"got more than {MAX_NODES} values", forbidden=("lol",))


def test_nesting_1500_deep(scen_dir):
    path = scen_dir / "deep.yaml"
    path.write_text("name: " + "{a: " * 1500 + "1" + "}" * 1500 + "\n")
    assert_refused(invoke_subprocess("validate", str(path)), "deep.yaml: line 1, column ",
                   f"got nesting deeper than {MAX_DEPTH} levels")


def test_secret_through_extends_in_the_real_executable(scen_dir, secret_file):
    path = child(scen_dir, "", extends=str(secret_file))
    assert_refused(invoke_subprocess("validate", str(path)), "extends: got 'passwd', which is "
                   "not a scenario file", forbidden=tuple(SECRET_LINES))


def test_usage_error_in_the_real_executable_is_one_line():
    lines = assert_refused(invoke_subprocess("run", "mexico_city", "--seed", "-1"),
                           "--seed: got '-1', expected a whole number")
    assert len(lines) == 1
