"""The `fleetsim` command line: run, validate, scenarios, sweep, report, calibrate, app.

User mistakes (a bad scenario value, an unknown --set path, too many years) exit with status 2
and one line per problem, "path: got VALUE, expected WHAT"; they never print a traceback. A bug
exits with status 1 and one line naming the file its traceback was written to (see main).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from fleetsim.experiments.cli_errors import report_bug, usage_line
from fleetsim.experiments.cli_tables import print_comparison, print_summary
from fleetsim.scenarios import ScenarioError, describe_builtins, load, parse_assignment
from fleetsim.scenarios.schema_limits import MAX_HORIZON_YEARS
from fleetsim.sim import FleetModel, ModelRangeError
from fleetsim.sim.checks import NonFiniteResult, check_finite
from fleetsim.sim.comparison import check_comparable, intervals
from fleetsim.sim.comparison import compare as comparison
from fleetsim.sim.output import OutError, discard_staging, prepare_run, summary, write_run

app = typer.Typer(
    help="fleetsim: agent-based simulation of commercial fleet transition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
err_console = Console(stderr=True)
MAX_SEED = 2**63  # numpy's seeds are below this
MAX_SEEDS = 1000  # paired seeds in one comparison
# typer vendors click and exports only BadParameter; the command-line errors share this base
UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def fail(problems: list[str]) -> None:
    for line in problems:
        typer.echo(line, err=True)
    raise typer.Exit(2)


def parse_sets(sets: list[str] | None) -> dict:
    overrides = {}
    for text in sets or []:
        key, value = parse_assignment(text)
        overrides[key] = value
    return overrides


def parse_years(text: str | None) -> float | None:
    """--years as a number: finite, above 0 and at most MAX_HORIZON_YEARS."""
    if text is None:
        return None
    try:
        years = float(text)
    except ValueError:
        years = math.nan
    if not (math.isfinite(years) and 0 < years <= MAX_HORIZON_YEARS):
        fail([f"--years: got {text!r}, expected a finite number of years above 0 and at most "
              f"{MAX_HORIZON_YEARS}"])
    return years


def parse_seed(text: str) -> int:
    """--seed as a whole number numpy accepts: 0 <= seed < 2**63."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if not 0 <= seed < MAX_SEED:
        fail([f"--seed: got {text!r}, expected a whole number from 0 to {MAX_SEED - 1}"])
    return seed


def parse_seeds(text: str, seed: int, compare: str | None) -> list[int]:
    """--seeds N: the seeds seed .. seed + N - 1, N from 1 to MAX_SEEDS; more than one only
    with --compare (there is nothing to pair otherwise)."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_SEEDS:
        fail([f"--seeds: got {text!r}, expected a whole number from 1 to {MAX_SEEDS}"])
    if n > 1 and compare is None:
        fail([f"--seeds: got {n}, expected 1 without --compare (seeds are paired with a "
              "baseline)"])
    if seed + n > MAX_SEED:
        fail([f"--seeds: got {n}, expected at most {MAX_SEED - seed} from --seed {seed}"])
    return list(range(seed, seed + n))


def check_years(spec, years: float | None) -> None:
    """The run must fit the scenario's dates (the model's own check, made before building it)."""
    sim = spec.simulation
    wanted = sim.default_years if years is None else years
    months_left = (sim.max_end_year - sim.start_year + 1) * 12
    if not 1 <= round(wanted * 12) <= months_left:
        fail([f"years: got {wanted}, expected a number of years from 1/12 to "
              f"{months_left / 12:g} (the scenario ends with {sim.max_end_year})"])


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario or preset name, or a YAML "
                                            "path.")],
    years: Annotated[str | None, typer.Option(
        metavar="YEARS", help="Years to simulate (default: the scenario's).")] = None,
    seed: Annotated[str, typer.Option(metavar="INTEGER", help="Random seed.")] = "42",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a scenario value: dotted.path=value (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder "
                                             "(default: out/<scenario>).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    compare: Annotated[str | None, typer.Option(
        help="Also run this scenario (e.g. baseline) with the same seed and report emissions "
             "avoided, public cost per tonne, deaths avoided and the net benefit.")] = None,
    seeds: Annotated[str, typer.Option(
        metavar="N", help="With --compare: run N paired seeds (--seed, --seed + 1, ...) in "
                          "parallel and report each figure's mean and 90% interval.")] = "1",
) -> None:
    """Run a scenario month by month and write its results."""
    if fmt not in ("parquet", "csv"):
        fail([f"--format: got '{fmt}', expected parquet or csv"])
    run_years, run_seed = parse_years(years), parse_seed(seed)
    seed_list = parse_seeds(seeds, run_seed, compare)
    staging, folder = None, out
    try:
        overrides = parse_sets(set_)
        spec = load(scenario, overrides)
        check_years(spec, run_years)
        # the baseline shares every override but the preset's own policy terms
        shared = {k: v for k, v in overrides.items() if not k.startswith("policy.")}
        base_spec = load(compare, shared) if compare else None
        if base_spec is not None:
            check_years(base_spec, run_years)
        folder = out or Path("out") / spec.name
        months = round((spec.simulation.default_years if run_years is None else run_years) * 12)
        staging = prepare_run(folder, fmt, min(max(months, 0), 2400))
        started = time.perf_counter()
        with np.errstate(all="ignore"):  # a NaN or infinity is reported by check_finite below
            model, extra = run_models(spec, base_spec, seed_list, run_years)
        wall = time.perf_counter() - started
        check_finite(model.results(), "the scenario's values and --set overrides")
        paths = write_run(model, folder, fmt, wall, extra, staging=staging)
    except ScenarioError as err:
        fail(err.problems)
    except (ModelRangeError, NonFiniteResult) as err:
        fail([str(err)])
    except OSError as err:
        fail([str(err) if isinstance(err, OutError) else
              f"--out: got {folder}, expected a writable folder ({err.strerror or err})"])
    finally:
        discard_staging(staging)
    print_summary(summary(model, wall))
    if extra:
        print_comparison(spec.name, extra["comparison"])
    typer.echo(f"Wrote {', '.join(str(p) for p in paths)} in {time.perf_counter() - started:.1f} s")


def run_models(spec, base_spec, seeds: list[int], years: float | None
               ) -> tuple[FleetModel, dict]:
    """The scenario's run on the first seed and, with a baseline, the baseline's and their
    comparison; the other seeds' pairs run in worker processes meanwhile, and every figure gets
    its mean and 90% interval over all the seeds."""
    from fleetsim.experiments.paired import PairedSeeds  # the pool only when comparing

    seed = seeds[0]
    if base_spec is None:
        return simulate(spec, seed, years), {}
    with PairedSeeds(spec, base_spec, seeds[1:], years) as others:
        model = simulate(spec, seed, years)
        base = FleetModel(base_spec, rng=seed, sample_fraction=model.sample_fraction)
        check_comparable(model, base)
        simulate(base_spec, seed, years, base)
        check_finite(base.results(), f"the baseline {base_spec.name!r}")
        first = comparison(model, base)
        rest = others.results()
    return model, {"comparison": {**first, "seeds": seeds,
                                  "intervals": intervals([first, *rest])}}


def simulate(spec, seed: int, years: float | None, model: FleetModel | None = None) -> FleetModel:
    """Run with a progress bar (on a terminal)."""
    model = model or FleetModel(spec, rng=seed)
    months = round((spec.simulation.default_years if years is None else years) * 12)
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} months"), TimeRemainingColumn(),
                  console=err_console, disable=not err_console.is_terminal,
                  transient=True) as bar:
        task = bar.add_task(spec.name, total=months)
        model.run(years=years, progress=lambda k: bar.advance(task, k))
    return model


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="Scenario YAML file (or built-in name).")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a value before validating: dotted.path=value.")] = None,
) -> None:
    """Check a scenario file: exit 0 if valid, else 2 with one line per problem."""
    try:
        spec = load(file, parse_sets(set_))
    except ScenarioError as err:
        fail(err.problems)
    typer.echo(f"{file}: valid scenario '{spec.name}' ({len(spec.classes)} classes, "
               f"{len(spec.technology_names)} technologies)")


def sweep_failure(err: Exception, out: Path) -> None:
    """A sweep's or a calibration's failure as the one-line answer (exit 2), for the errors a
    user can cause (a bad spec, scheduler or --out); anything else goes on up as a bug."""
    from fleetsim.experiments.executors import SchedulerError

    if isinstance(err, ScenarioError):
        fail(err.problems)
    if isinstance(err, SchedulerError | OutError):
        fail([str(err)])
    if isinstance(err, OSError):
        fail([f"--out: got {out}, expected a writable folder ({err.strerror or err})"])
    raise err


@app.command()
def sweep(
    spec: Annotated[str, typer.Argument(help="Sweep spec: a YAML file or a built-in name.")],
    out: Annotated[Path, typer.Option(help="Output folder (a Parquet dataset and manifest).")],
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: all cores).", min=1)] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://host:8786): run on that cluster.")] = None,
    resume: Annotated[bool, typer.Option(
        help="Run only what is missing in --out.")] = False,
    retry_failed: Annotated[bool, typer.Option(
        help="With --resume, also run again the runs that failed.")] = False,
) -> None:
    """Run a sweep: every preset x parameter point x seed, one Parquet file per run."""
    from fleetsim.experiments.sweep import Sweep

    try:
        job = Sweep.from_file(spec)
        columns = (TextColumn("{task.description}"), BarColumn(),
                   TextColumn("{task.completed}/{task.total} runs, {task.fields[failed]} failed"),
                   TimeRemainingColumn())
        with Progress(*columns, console=err_console, disable=not err_console.is_terminal,
                      transient=True) as bar:
            task = bar.add_task(job.spec.name, total=job.total, failed=0)
            first_failure: list[dict] = []

            def show(rec, progress):
                bar.update(task, completed=progress.done, failed=progress.failed)
                if rec["status"] != "ok" and not first_failure:
                    first_failure.append(rec)

            result = job.run(out, workers=workers, scheduler=scheduler, resume=resume,
                             retry_failed=retry_failed, on_result=show)
    except Exception as err:  # noqa: BLE001  (sweep_failure re-raises what it does not word)
        sweep_failure(err, out)
    retry = (f", {result.retry} to retry (disk or machine errors; --resume runs them again)"
             if result.retry else "")
    typer.echo(f"{job.spec.name}: {result.total} runs, {result.skipped} already done, "
               f"{result.ok} ok, {result.failed} failed{retry} in {result.wall_time_s:.1f} s "
               f"-> {out}")
    if first_failure:
        rec = first_failure[0]
        typer.echo(f"first failure: run {rec['run_id']} ({rec['preset']}, point {rec['point']}, "
                   f"seed {rec['seed']}): {rec['error']}; all failures are in "
                   f"{out / 'manifest.parquet'}")


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="A sweep's output folder.")],
    out: Annotated[Path | None, typer.Option(
        help="Report folder (default: FOLDER/report).")] = None,
) -> None:
    """Summarise a sweep: tables, sensitivity indices, PNG charts and an HTML report."""
    from fleetsim.experiments.report import build_report, completeness

    try:
        written = build_report(folder, out)
        state = completeness(folder)
    except ScenarioError as err:
        fail(err.problems)
    except OSError as err:
        fail([str(err) if isinstance(err, OutError) else
              f"--out: got {out or folder / 'report'}, expected a writable folder "
              f"({err.strerror or err})"])
    if state["partial"]:
        typer.echo(f"partial sweep: {state['text']}; the report covers the finished runs only")
    typer.echo(f"Wrote {len(written)} files to {written[0].parent}; open {written[-1]}")


@app.command()
def calibrate(
    targets: Annotated[str, typer.Argument(help="Targets file (YAML): the scenario, its [E] "
                                           "parameters with ranges, the observed series.")],
    out: Annotated[Path, typer.Option(help="Output folder: runs/ (the design's sweep), "
                                      "overlay.yaml, report.md, CSV tables, a PNG.")],
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: all cores).", min=1)] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://host:8786): run on that cluster.")] = None,
) -> None:
    """Calibrate a scenario's estimated parameters against observed series (rejection ABC
    over a Latin hypercube); run again with the same --out to resume a stopped calibration."""
    from fleetsim.experiments.calibrate import calibrate as run_calibration

    try:
        written = run_calibration(targets, out, workers=workers, scheduler=scheduler)
    except Exception as err:  # noqa: BLE001  (sweep_failure re-raises what it does not word)
        sweep_failure(err, out)
    typer.echo(f"Wrote {len(written)} files to {out}; open {written[-1]}")


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    found = describe_builtins()
    width = max(map(len, found)) + 2
    for name, text in found.items():
        typer.echo(f"{name:<{width}}{text}")


@app.command("app")
def serve_app(
    host: Annotated[str, typer.Option(help="Address to serve on (0.0.0.0: the whole room; "
                                      "then the join link carries an access token).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open/--no-open",
                                               help="Open the page in a browser.")] = True,
    token: Annotated[str | None, typer.Option(
        help="Access token of the join link (default: a random one when --host is not "
             "loopback; given here, it is required on loopback too).")] = None,
    no_token: Annotated[bool, typer.Option(
        "--no-token", help="Serve beyond this machine without a token: anyone who can "
                           "reach the address can use the page.")] = False,
) -> None:
    """Serve the workshop page (Solara): every front-end file is served locally."""
    import socket

    from fleetsim.viz import serve

    if not 0 < port < 65536:
        fail([f"--port: got {port}, expected a port number from 1 to 65535"])
    if token is not None and (no_token or not serve.valid_token(token)):
        fail([f"--token: got '{token}', expected 8 to 200 letters, digits or -_.~ "
              "(and not with --no-token)"])
    bind = serve.bind_host(host)
    try:
        with socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET) as probe:
            probe.bind((bind, port))
    except OSError as err:
        fail([f"--host/--port: could not listen on {host}:{port} ({err.strerror or err})"])
    local = serve.is_loopback(bind)
    if token is None and not local and not no_token:
        token = serve.new_token()
    if not local:
        typer.echo(f"warning: serving on {bind or host} ('{host}'): the page is reachable by "
                   "other machines on the network; "
                   + ("ONLY the join link's token lets them in." if token else
                      "--no-token: ANYONE who can reach this address can use it."), err=True)
    typer.echo(f"fleetsim page on {serve.join_url(bind, port, token)}  (Ctrl+C to stop)")
    serve.serve(bind, port, token, open_browser)


def main(argv: list[str] | None = None) -> int:
    """The `fleetsim` executable (returns its exit status). A user mistake, even one click
    catches (an unknown option, a missing argument), is one line and status 2; any other
    exception is a bug: one line and status 1, its traceback written to a log file."""
    command = typer.main.get_command(app)
    try:
        status = command.main(args=argv, prog_name="fleetsim", standalone_mode=False)
    except UsageError as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # `fleetsim` alone: the help
            err.show()
        else:
            typer.echo(usage_line(err, command, argv), err=True)
        return 2
    except typer.Abort:
        typer.echo("fleetsim: stopped", err=True)
        return 130
    except Exception as err:  # everything else is a bug, reported in one line
        return report_bug(err, argv)
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
