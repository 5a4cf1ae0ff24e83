"""`fleetsim report` on hostile folders: missing, damaged or partial sweeps and unusable --out.
A damaged input exits 2 with one line in the `path: got VALUE, expected WHAT` form and leaves no
report folder (nor changes an earlier one); a partial sweep is reported as partial."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fleetsim.experiments import Sweep
from tests.experiments.hostile_support import (
    SMALL_SWEEP,
    assert_clean_error,
    cli,
    fleetsim,
    mounted,
)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small") / "sweep"
    result = Sweep.from_dict(SMALL_SWEEP).run(out, workers=2)
    assert (result.ok, result.failed) == (12, 0)
    return out


@pytest.fixture
def sweep(finished, tmp_path) -> Path:
    """A copy of the finished sweep this test may damage."""
    return Path(shutil.copytree(finished, tmp_path / "sweep"))


def first_run(sweep: Path) -> Path:
    return sorted((sweep / "data").glob("preset=*/run-*.parquet"))[0]


def test_a_missing_folder(tmp_path):
    assert_clean_error(cli("report", tmp_path / "nope"), "nope: got no such folder")


def test_a_file_for_a_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    assert_clean_error(cli("report", tmp_path / "f"), "f: got a file, expected the output")


def test_an_empty_folder(tmp_path):
    assert_clean_error(cli("report", tmp_path), "got a folder without sweep.json")
    assert not (tmp_path / "report").exists()


def test_a_corrupt_sweep_json(sweep):
    (sweep / "sweep.json").write_text('{"name": "small", "spec": ')
    assert_clean_error(cli("report", sweep), "sweep.json: got a corrupt file")
    assert not (sweep / "report").exists()


def test_a_sweep_json_that_is_not_a_sweeps(sweep):
    (sweep / "sweep.json").write_text("[1, 2]\n")
    assert_clean_error(cli("report", sweep), "sweep.json: got a file without a valid spec")


def test_a_sweep_json_with_runs_as_words(sweep):
    meta = json.loads((sweep / "sweep.json").read_text())
    (sweep / "sweep.json").write_text(json.dumps({**meta, "runs": "many"}))
    assert_clean_error(cli("report", sweep), "sweep.json: got a file without a valid runs")


def test_a_manifest_record_of_the_wrong_shape(sweep):
    lines = (sweep / "manifest.jsonl").read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "params": [1, 2]})
    (sweep / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    (sweep / "manifest.parquet").unlink()
    assert_clean_error(cli("report", sweep), "manifest.jsonl: got a corrupt line 1")


def test_a_corrupt_manifest_line(sweep):
    lines = (sweep / "manifest.jsonl").read_text().splitlines()
    lines[1] = lines[1][: len(lines[1]) // 2]
    (sweep / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    (sweep / "manifest.parquet").unlink()
    assert_clean_error(cli("report", sweep), "manifest.jsonl: got a corrupt line 2")
    assert not (sweep / "report").exists()


def test_a_binary_manifest(sweep):
    (sweep / "manifest.jsonl").write_bytes(b"\xff\xfe\x00\x01")
    (sweep / "manifest.parquet").unlink()
    assert_clean_error(cli("report", sweep), "manifest.jsonl: got bytes that are not text")


def test_a_corrupt_compacted_manifest_is_read_from_its_lines(sweep):
    (sweep / "manifest.parquet").write_bytes(b"PAR1 not really")
    result = cli("report", sweep, limit_s=60)
    assert result.exit_code == 0, result.output
    assert "partial" not in result.stdout


def test_a_truncated_run_file_leaves_no_report(sweep):
    run = first_run(sweep)
    run.write_bytes(run.read_bytes()[:1000])
    lines = assert_clean_error(cli("report", sweep), f"{run}: got a corrupt Parquet file")
    assert "fleetsim sweep --resume" in lines[0]
    assert not (sweep / "report").exists()
    assert not list(sweep.glob(".report.*"))


def test_a_run_file_of_garbage_leaves_an_earlier_report_as_it_was(sweep):
    assert cli("report", sweep, limit_s=60).exit_code == 0
    before = {p.name: p.read_bytes() for p in (sweep / "report").iterdir()}
    first_run(sweep).write_bytes(b"garbage" * 100)
    assert_clean_error(cli("report", sweep), "got a corrupt Parquet file")
    assert {p.name: p.read_bytes() for p in (sweep / "report").iterdir()} == before


def test_a_corrupt_design(sweep):
    (sweep / "design.parquet").write_bytes(b"nope")
    assert_clean_error(cli("report", sweep, limit_s=60), "design.parquet: got a corrupt")


def test_a_sweep_without_ok_runs(sweep):
    for f in (sweep / "data").glob("preset=*/run-*.parquet"):
        f.unlink()
    assert_clean_error(cli("report", sweep), "got no finished runs, expected at least one")


def test_a_partial_sweep_says_so(sweep):
    runs = sorted((sweep / "data").glob("preset=*/run-*.parquet"))
    for f in runs[-5:]:
        f.unlink()
    result = cli("report", sweep, limit_s=60)
    assert result.exit_code == 0, result.output
    assert "partial sweep: 7 of 12 runs finished (7 ok, 0 failed), 5 missing" in result.stdout
    assert f" files to {(sweep / 'report').resolve()}; open" in result.stdout  # says where
    html = (sweep / "report" / "report.html").read_text()
    assert "Partial sweep:" in html and "5 missing" in html
    assert "missing" in (sweep / "report" / "completeness.csv").read_text()


def test_an_unwritable_out(sweep, tmp_path):
    with mounted(tmp_path / "ro", "ro,size=64k") as ro:
        assert_clean_error(cli("report", sweep, "--out", ro / "rep"),
                           f"--out: got {ro / 'rep'}, expected a writable folder")
    assert not (sweep / "report").exists()


def test_an_out_inside_a_file(sweep, tmp_path):
    (tmp_path / "f").write_text("x")
    assert_clean_error(cli("report", sweep, "--out", tmp_path / "f" / "rep"),
                       "which is inside the file")


def test_an_out_that_is_a_file(sweep, tmp_path):
    (tmp_path / "f").write_text("x")
    assert_clean_error(cli("report", sweep, "--out", tmp_path / "f"), "which is a file")


def test_an_out_holding_other_files(sweep, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    assert_clean_error(cli("report", sweep, "--out", tmp_path / "mine"),
                       "which holds other files (thesis.tex)")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "x"


@pytest.mark.slow
def test_a_damaged_sweep_through_the_executable(sweep):
    meta = json.loads((sweep / "sweep.json").read_text())
    (sweep / "sweep.json").write_text(json.dumps(meta)[:40])
    assert_clean_error(fleetsim("report", sweep, limit_s=60), "sweep.json: got a corrupt file")
