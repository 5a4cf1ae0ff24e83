"""The `fleetsim` command line: run, validate, scenarios, sweep, report, app.

User mistakes (a bad scenario value, an unknown --set path, too many years) exit with status 2
and one line per problem, "path: got VALUE, expected WHAT"; they never print a traceback. A bug
exits with status 1 and one line naming the file its traceback was written to (see main).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fleetsim.scenarios import ScenarioError, describe_builtins, load, parse_assignment
from fleetsim.scenarios.schema_limits import MAX_HORIZON_YEARS
from fleetsim.sim import FleetModel, ModelRangeError
from fleetsim.sim.checks import NonFiniteResult, check_finite
from fleetsim.sim.comparison import HEALTH_AND_MONEY, POLLUTANTS, check_comparable, intervals
from fleetsim.sim.comparison import compare as comparison
from fleetsim.sim.output import OutError, discard_staging, prepare_run, summary, write_run

app = typer.Typer(
    help="fleetsim: agent-based simulation of commercial fleet transition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
out_console = Console()
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


def print_comparison(name: str, cmp: dict) -> None:
    table = Table(title=f"{name} against {cmp['baseline']} (same seed {cmp['seed']}, "
                        f"{cmp['months']} months)")
    table.add_column("")
    table.add_column("avoided, t", justify="right")
    table.add_column("public cost, MXN per t", justify="right")
    for key, label in POLLUTANTS.items():
        per_t = cmp["public_cost_mxn_per_t_avoided"][key]
        table.add_row(label, f"{cmp['avoided_t'][key]:,.1f}",
                      "-" if per_t is None else f"{per_t:,.0f}")
    table.add_section()
    table.add_row("public spending, MXN", "", f"{cmp['public_spending_mxn']:,.0f}")
    if cmp["fuel_tax_revenue_mxn"]:
        table.add_row("fuel tax revenue, MXN", "", f"{cmp['fuel_tax_revenue_mxn']:,.0f}")
    table.add_section()
    for key, label in HEALTH_AND_MONEY.items():
        table.add_row(label, "", f"{cmp['health_and_money'][key]:,.1f}")
    out_console.print(table)
    if len(cmp["seeds"]) > 1:
        print_intervals(cmp)


def print_intervals(cmp: dict) -> None:
    """Every comparison figure over the paired seeds: mean and 90% interval."""
    seeds = cmp["seeds"]
    table = Table(title=f"over {len(seeds)} paired seeds ({seeds[0]}-{seeds[-1]})")
    for col in ("", "mean", "5%", "95%"):
        table.add_column(col, justify="right" if col else "left")
    labels = {**{f"avoided_t.{k}": f"{v} avoided, t" for k, v in POLLUTANTS.items()},
              **{f"health_and_money.{k}": v for k, v in HEALTH_AND_MONEY.items()}}
    for key, x in cmp["intervals"].items():
        table.add_row(labels.get(key, key), *(f"{x[k]:,.1f}" for k in ("mean", "low", "high")))
    out_console.print(table)


def print_summary(info: dict) -> None:
    h = info["headline"]
    first, last = h["emissions_first_year"], h["emissions_last_year"]
    table = Table(title=f"{info['scenario']}  {info['start']} to {info['end']}  "
                        f"(seed {info['seed']}, sample {info['sample_fraction']:g})")
    table.add_column("")
    table.add_column("start", justify="right")
    table.add_column("end", justify="right")
    table.add_row("vehicles", f"{h['vehicles_start']:,.0f}", f"{h['vehicles_end']:,.0f}")
    table.add_row("soot-free share (end)", "", f"{h['share_soot_free_end']:.1%}")
    table.add_row("zero-emission share (end)", "", f"{h['share_zev_end']:.1%}")
    table.add_row("mean age, years (end)", "", f"{h['mean_age_years_end']:.1f}")
    table.add_section()
    table.add_row("emissions, t/year", f"{first['year']}", f"{last['year']}"
                  + (f" ({last['months']} mo)" if last["months"] < 12 else ""))
    for key, label in (("pm25_t", "PM2.5"), ("bc_t", "black carbon"), ("nox_t", "NOx"),
                       ("co2_ttw_t", "CO2 tank-to-wheel"), ("co2_wtw_t", "CO2 well-to-wheel")):
        table.add_row(label, f"{first[key]:,.0f}", f"{last[key]:,.0f}")
    pol = info["policy"]
    if pol["instruments"]:
        table.add_section()
        table.add_row("public spending, MXN (run)", "", f"{pol['public_spending_mxn']:,.0f}")
        for name, x in pol["instruments"].items():
            if "spent_mxn" in x:
                left = ("" if x["budget_left_mxn"] is None
                        else f" ({x['budget_left_mxn']:,.0f} left)")
                table.add_row(f"  {name}", "", f"{x['spent_mxn']:,.0f}{left}")
                units = (f" of {x['units_per_year']:,} a year" if "units_per_year" in x
                         else "")
                table.add_row("    vehicles paid for", "", f"{x['granted']:,.0f}{units}")
        for rule, when in pol["adaptive_fired"].items():
            table.add_row(f"  adaptive rule {rule}", "", f"fired {when}")
    out_console.print(table)


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


def usage_line(err: Exception, command, argv: list[str] | None) -> str:
    """click's complaint about the command line in the "path: got, expected" form."""
    kind, param = type(err).__name__, getattr(err, "param", None)
    if kind == "NoSuchOption":
        close = sorted(err.possibilities)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"{err.option_name}: got an unknown option, expected one listed by --help{hint}"
    if kind == "BadOptionUsage" and "requires" in err.format_message():
        return f"{err.option_name}: got nothing, expected a value after it"
    if kind == "MissingParameter" and param is not None:
        name = param.opts[0] if param.param_type_name == "option" else param.name.upper()
        return f"{name}: got nothing, expected a value"
    if param is not None:
        return f"{param.opts[0]}: got a bad value, expected {err.format_message()}"
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    names = sorted(getattr(command, "commands", {}))
    if words and words[0] not in names:
        return f"command: got {words[0]!r}, expected one of: {', '.join(names)}"
    where = err.ctx.command_path if getattr(err, "ctx", None) else "fleetsim"
    return f"{where}: got {err.format_message()!r}, expected what `{where} --help` shows"


def error_log_dir() -> Path:
    """Where tracebacks of bugs go: $FLEETSIM_ERROR_DIR, else ~/.cache/fleetsim/errors."""
    if os.environ.get("FLEETSIM_ERROR_DIR"):
        return Path(os.environ["FLEETSIM_ERROR_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "fleetsim" / "errors"


def report_bug(err: BaseException, argv: list[str] | None) -> int:
    """One line on stderr naming the bug, where it happened and the log holding its traceback."""
    frame = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
    where = f"{Path(frame.filename).name}:{frame.lineno} ({frame.name})" if frame else "?"
    text = (f"fleetsim {' '.join(sys.argv[1:] if argv is None else argv)}\n"
            f"{datetime.now(UTC).isoformat()}\n\n{''.join(traceback.format_exception(err))}")
    log = None
    for folder in (error_log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=folder, prefix="fleetsim-error-",
                                             suffix=".log", delete=False) as fh:
                fh.write(text)
            log = fh.name
            break
        except OSError:
            continue
    details = f"details written to {log}" if log else "the details could not be written"
    typer.echo(f"fleetsim: internal error (a bug, not your input): {type(err).__name__} at "
               f"{where}; {details}", err=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
