"""What `fleetsim run` prints: the run's summary table and, with --compare, the comparison
and its intervals over paired seeds (rich tables on the terminal)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from fleetsim.sim.comparison import HEALTH_AND_MONEY, POLLUTANTS

out_console = Console()


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
