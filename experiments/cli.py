"""The `fleetsim` command line: run, validate, scenarios, sweep, report, app.

User mistakes (a bad scenario value, an unknown --set path, too many years) exit with status 2
and one line per problem; they never print a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fleetsim.scenarios import ScenarioError, describe_builtins, load, parse_assignment
from fleetsim.sim import FleetModel, ModelRangeError
from fleetsim.sim.comparison import POLLUTANTS, check_comparable
from fleetsim.sim.comparison import compare as comparison
from fleetsim.sim.output import summary, write_run

app = typer.Typer(
    help="fleetsim: agent-based simulation of commercial fleet transition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
out_console = Console()
err_console = Console(stderr=True)


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


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario or preset name, or a YAML "
                                            "path.")],
    years: Annotated[float | None, typer.Option(help="Years to simulate "
                                                "(default: the scenario's).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a scenario value: dotted.path=value (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder "
                                             "(default: out/<scenario>).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    compare: Annotated[str | None, typer.Option(
        help="Also run this scenario (e.g. baseline) with the same seed and report emissions "
             "avoided and public cost per tonne.")] = None,
) -> None:
    """Run a scenario month by month and write its results."""
    if fmt not in ("parquet", "csv"):
        fail([f"--format: got '{fmt}', expected parquet or csv"])
    try:
        overrides = parse_sets(set_)
        spec = load(scenario, overrides)
        # the baseline shares every override but the preset's own policy terms
        shared = {k: v for k, v in overrides.items() if not k.startswith("policy.")}
        base_spec = load(compare, shared) if compare else None
        started = time.perf_counter()
        model = simulate(spec, seed, years)
        wall = time.perf_counter() - started
        extra = {}
        if base_spec is not None:
            base = FleetModel(base_spec, rng=seed, sample_fraction=model.sample_fraction)
            check_comparable(model, base)
            simulate(base_spec, seed, years, base)
            extra["comparison"] = comparison(model, base)
        folder = out or Path("out") / spec.name
        paths = write_run(model, folder, fmt, wall, extra)
    except ScenarioError as err:
        fail(err.problems)
    except ModelRangeError as err:
        fail([str(err)])
    except OSError as err:
        fail([f"--out: could not write results ({err})"])
    print_summary(summary(model, wall))
    if extra:
        print_comparison(spec.name, extra["comparison"])
    typer.echo(f"Wrote {', '.join(str(p) for p in paths)} in {time.perf_counter() - started:.1f} s")


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
    from fleetsim.experiments.executors import SchedulerError
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
    except ScenarioError as err:
        fail(err.problems)
    except SchedulerError as err:
        fail([str(err)])
    except OSError as err:
        fail([f"--out: could not write the sweep ({err})"])
    typer.echo(f"{job.spec.name}: {result.total} runs, {result.skipped} already done, "
               f"{result.ok} ok, {result.failed} failed in {result.wall_time_s:.1f} s -> {out}")
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
    from fleetsim.experiments.report import build_report

    try:
        written = build_report(folder, out)
    except ScenarioError as err:
        fail(err.problems)
    typer.echo(f"Wrote {len(written)} files to {written[0].parent}; open {written[-1]}")


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


def main() -> None:
    app(prog_name="fleetsim")


if __name__ == "__main__":
    sys.exit(main())
