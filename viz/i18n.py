"""The page's words and number formats in Spanish and English.

Spanish numbers follow the RAE / SI rule: a comma for decimals and a space (no-break, so a
number never wraps) between groups of three digits: 1 234 567,5. English uses 1,234,567.5.
Charts get the same separators through plotly's `separators` setting.
"""

from __future__ import annotations

import math

LANGS = ("es", "en")
NBSP = "\u00a0"

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"es": "fleetsim: renovación de la flota de carga",
              "en": "fleetsim: freight fleet transition"},
    "language": {"es": "Idioma", "en": "Language"},
    "view_live": {"es": "En vivo", "en": "Live"},
    "view_compare": {"es": "Comparar", "en": "Compare"},
    "view_projector": {"es": "Proyector", "en": "Projector"},
    "scenario": {"es": "Escenario", "en": "Scenario"},
    "seed": {"es": "Semilla", "en": "Seed"},
    "sample": {"es": "Muestra de la flota", "en": "Fleet sample"},
    "play": {"es": "Reproducir", "en": "Play"},
    "pause": {"es": "Pausa", "en": "Pause"},
    "step": {"es": "Un mes", "en": "Step"},
    "reset": {"es": "Reiniciar", "en": "Reset"},
    "speed": {"es": "Velocidad", "en": "Speed"},
    "speed_levels": {"es": "lenta|media|rápida|máxima", "en": "slow|medium|fast|full"},
    "policy": {"es": "Instrumentos de política", "en": "Policy instruments"},
    "market_credit": {"es": "Precios y crédito", "en": "Prices and credit"},
    "no_controls": {"es": "Este escenario no tiene instrumentos ajustables.",
                    "en": "This scenario has no adjustable instruments."},
    "pending_reset": {"es": "Cambios pendientes: se aplican al reiniciar.",
                      "en": "Pending changes: they apply at reset."},
    "month_of": {"es": "{month} de {year}", "en": "{month} {year}"},
    "months": {"es": "ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic",
               "en": "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"},
    "not_started": {"es": "Sin iniciar: pulse Reproducir", "en": "Not started: press Play"},
    "finished": {"es": "Fin de la corrida", "en": "End of run"},
    # headline figures
    "avoided_pm25": {"es": "PM2.5 evitado hasta ahora", "en": "PM2.5 avoided so far"},
    "avoided_co2": {"es": "CO₂ evitado hasta ahora", "en": "CO₂ avoided so far"},
    "public_cost": {"es": "Gasto público acumulado", "en": "Public spending so far"},
    "cost_per_t_pm25": {"es": "Costo público por t de PM2.5 evitada",
                        "en": "Public cost per t PM2.5 avoided"},
    "cost_per_t_co2": {"es": "Costo público por t de CO₂ evitada",
                       "en": "Public cost per t CO₂ avoided"},
    "zev_share_now": {"es": "Flota cero emisiones", "en": "Zero-emission fleet"},
    "soot_free_now": {"es": "Flota libre de hollín", "en": "Soot-free fleet"},
    "not_applicable": {"es": "n/d", "en": "n/a"},
    # charts
    "chart_fleet_tech": {"es": "Flota por tecnología", "en": "Fleet by technology"},
    "chart_fleet_band": {"es": "Flota por tamaño de empresa", "en": "Fleet by firm size"},
    "chart_emissions": {"es": "Emisiones por año (línea punteada: referencia)",
                        "en": "Emissions per year (dotted: baseline)"},
    "chart_emissions_runs": {"es": "Emisiones por año", "en": "Emissions per year"},
    "chart_shares": {"es": "Participación en la flota", "en": "Share of the fleet"},
    "chart_spending": {"es": "Gasto público por año", "en": "Public spending per year"},
    "chart_budget": {"es": "Presupuesto restante de programas", "en": "Programme budget left"},
    "chart_loans": {"es": "Créditos", "en": "Loans"},
    "chart_network": {"es": "Red de empresas (muestra), por tecnología",
                      "en": "Firm network (sample), by technology"},
    "chart_compare": {"es": "Comparación de escenarios", "en": "Scenario comparison"},
    "chart_csv": {"es": "Datos de la gráfica (CSV)", "en": "Chart data (CSV)"},
    "vehicles": {"es": "vehículos", "en": "vehicles"},
    "year": {"es": "Año", "en": "Year"},
    "t_per_year": {"es": "t/año", "en": "t/year"},
    "kt_per_year": {"es": "kt/año", "en": "kt/year"},
    "share_pct": {"es": "% de la flota", "en": "% of fleet"},
    "mxn_millions": {"es": "millones de MXN", "en": "MXN million"},
    "policy_run": {"es": "con política", "en": "with policy"},
    "baseline_run": {"es": "referencia", "en": "baseline"},
    "soot_free": {"es": "libre de hollín", "en": "soot-free"},
    "zev": {"es": "cero emisiones", "en": "zero-emission"},
    "conventional": {"es": "convencional", "en": "conventional"},
    "loans_approved": {"es": "créditos aprobados/año", "en": "loans approved/year"},
    "loans_active": {"es": "créditos vigentes", "en": "active loans"},
    "loans_declined": {"es": "solicitudes rechazadas/año", "en": "applications declined/year"},
    "subsidy": {"es": "subsidios", "en": "subsidies"},
    "scrap_bonus": {"es": "bono de chatarrización", "en": "scrappage bonus"},
    "public_spending": {"es": "gasto público total", "en": "total public spending"},
    "control_range": {"es": "rango {low} a {high} {unit}", "en": "range {low} to {high} {unit}"},
    "control_cap": {"es": "el pago se limita al {share} del precio: hasta {cap} {unit}, un monto "
                          "mayor no cambia nada",
                    "en": "payment capped at {share} of the price: up to {cap} {unit}, a larger "
                          "amount changes nothing"},
    "control_source": {"es": "fuente del escenario: {note}", "en": "scenario source: {note}"},
    "change_marker": {"es": "cambio a mitad de corrida", "en": "mid-run change"},
    "rule_marker": {"es": "regla adaptativa activada", "en": "adaptive rule fired"},
    "on": {"es": "activado", "en": "on"},
    "off": {"es": "desactivado", "en": "off"},
    "event_change": {"es": "{what}: {value} desde {when}", "en": "{what}: {value} from {when}"},
    "event_rule": {"es": "Regla: {what} se activa en {when} (no se cumplió {target} en {by})",
                   "en": "Rule: {what} switched on in {when} ({target} missed by {by})"},
    "event_rule_short": {"es": "▲ regla: {what}", "en": "▲ rule: {what}"},
    "rule_note": {"es": "Activado por la regla {rule} en {when}: no se cumplió {target} en {by}.",
                  "en": "Switched on by rule {rule} in {when}: {target} missed by {by}."},
    "target_at_least": {"es": "{what} de al menos {value}", "en": "{what} at least {value}"},
    "target_at_most": {"es": "{what} de a lo más {value}", "en": "{what} at most {value}"},
    "target_line": {"es": "meta: {target} en {by}", "en": "target: {target} by {by}"},
    "pm25": {"es": "PM2.5", "en": "PM2.5"},
    "bc": {"es": "carbono negro", "en": "black carbon"},
    "nox": {"es": "NOx", "en": "NOx"},
    "co2": {"es": "CO₂ (escape)", "en": "CO₂ (tailpipe)"},
    "band_micro": {"es": "hombre-camión", "en": "owner-operator"},
    "band_small": {"es": "pequeña", "en": "small"},
    "band_medium": {"es": "mediana", "en": "medium"},
    "band_large": {"es": "grande", "en": "large"},
    # import / export
    "files": {"es": "Archivos", "en": "Files"},
    "export_yaml": {"es": "Exportar escenario (YAML)", "en": "Export scenario (YAML)"},
    "export_csv": {"es": "Exportar resultados (CSV)", "en": "Export results (CSV)"},
    "import_yaml": {"es": "Importar un archivo de escenario:",
                    "en": "Import a scenario file:"},
    "import_error": {"es": "El archivo no es un escenario válido; la corrida sigue igual:",
                     "en": "The file is not a valid scenario; the run is unchanged:"},
    "import_ok": {"es": "Escenario cargado: {name}", "en": "Scenario loaded: {name}"},
    "change_error": {"es": "Valor rechazado:", "en": "Value rejected:"},
    "import_limit": {"es": "Archivos .yaml de hasta 2 MB.", "en": ".yaml files up to 2 MB."},
    "import_checking": {"es": "Revisando el archivo…", "en": "Checking the file…"},
    "upload_too_big": {"es": "El archivo tiene {size} bytes; el límite es {limit} bytes.",
                       "en": "The file has {size} bytes; the limit is {limit} bytes."},
    "upload_not_text": {"es": "El archivo no es texto UTF-8 (¿es un archivo binario?).",
                        "en": "The file is not UTF-8 text (is it a binary file?)."},
    "upload_unreadable": {"es": "No se pudo leer el archivo enviado.",
                          "en": "The file sent could not be read."},
    "check_slow": {"es": "El archivo tardó demasiado en revisarse; la corrida sigue igual.",
                   "en": "The file took too long to check; the run is unchanged."},
    "check_memory": {"es": "El archivo requiere demasiada memoria para revisarse; la corrida "
                           "sigue igual.",
                     "en": "The file needs too much memory to check; the run is unchanged."},
    "check_busy": {"es": "El servidor está revisando otros archivos; intente de nuevo en un "
                         "momento.",
                   "en": "The server is checking other files; try again in a moment."},
    "check_failed": {"es": "No se pudo revisar el archivo; la corrida sigue igual.",
                     "en": "The file could not be checked; the run is unchanged."},
    "check_deep": {"es": "El archivo está anidado demasiado profundamente.",
                   "en": "The file is nested too deeply."},
    "check_large": {"es": "El escenario es demasiado grande una vez expandido.",
                    "en": "The scenario is too large once expanded."},
    "check_model": {"es": "El escenario es válido pero el modelo no se puede construir con él.",
                    "en": "The scenario is valid but the model cannot be built from it."},
    "seed_range": {"es": "La semilla debe ser un número entero de 0 a {max}.",
                   "en": "The seed must be a whole number from 0 to {max}."},
    "url_refused": {"es": "Un valor del enlace no es válido; se usaron los valores por defecto.",
                    "en": "A value in the link is not valid; the defaults were used."},
    "choice_refused": {"es": "Opción no válida; no se cambió nada.",
                       "en": "Not a valid option; nothing was changed."},
    "value_range": {"es": "Valor fuera del rango del control ({low} a {high}); no se cambió "
                          "nada.",
                    "en": "Value outside the control's range ({low} to {high}); nothing was "
                          "changed."},
    "value_refused": {"es": "Valor rechazado: {detail}", "en": "Value rejected: {detail}"},
    "unexpected": {"es": "Algo falló; la corrida sigue igual.",
                   "en": "Something went wrong; the run is unchanged."},
    "run_stopped": {"es": "La corrida no pudo continuar; pulse Reiniciar.",
                    "en": "The run could not go on; press Reset."},
    "run_unbuilt": {"es": "Ese escenario no se pudo construir; se muestra el de omisión.",
                    "en": "That scenario could not be built; the default one is shown."},
    "export_failed": {"es": "No se pudo exportar.", "en": "Could not export."},
    # comparison
    "compare_pick": {"es": "Escenarios a comparar (2 o 3)",
                     "en": "Scenarios to compare (2 or 3)"},
    "avoided_vs": {"es": "Evitado frente a {ref}", "en": "Avoided against {ref}"},
    "compare_run": {"es": "Calcular comparación", "en": "Run comparison"},
    "compare_running": {"es": "Calculando {done} de {total}…",
                        "en": "Running {done} of {total}…"},
    "compare_reference": {"es": "Referencia (lo evitado se mide frente a ella)",
                          "en": "Reference (what is avoided is measured against it)"},
    "reference": {"es": "referencia", "en": "reference"},
    "compare_horizon": {"es": "Totales de {first} a {last} ({years} años), semilla {seed}, "
                              "muestra {sample} de la flota; flota: {fleet}.",
                        "en": "Totals from {first} to {last} ({years} years), seed {seed}, "
                              "{sample} fleet sample; fleet: {fleet}."},
    "compare_too_many": {"es": "Se comparan a lo más {max} escenarios; quite uno antes de "
                               "agregar otro.",
                         "en": "At most {max} scenarios are compared; remove one before adding "
                               "another."},
    "compare_mixed": {"es": "Esos escenarios cubren flotas distintas y sus totales no se "
                            "pueden comparar ({fleets}); elija escenarios de la misma flota.",
                      "en": "Those scenarios cover different fleets and their totals cannot "
                            "be compared ({fleets}); pick scenarios on the same fleet."},
    "snapshot_name": {"es": "Nombre para guardar estos ajustes",
                      "en": "Name for these settings"},
    "snapshot_save": {"es": "Guardar para comparar", "en": "Save to compare"},
    "snapshots_kept": {"es": "Guardados para comparar: {names}",
                       "en": "Saved to compare: {names}"},
    "snapshot_name_refused": {"es": "Escriba un nombre de 1 a {max} caracteres.",
                      "en": "Type a name of 1 to {max} characters."},
    "compare_hint": {"es": "Elija dos o tres escenarios y pulse Calcular.",
                     "en": "Pick two or three scenarios and press Run."},
    # units
    "unit_share": {"es": "%", "en": "%"},
    "unit_mxn_per_l": {"es": "MXN/L", "en": "MXN/L"},
    "unit_mxn_per_kwh": {"es": "MXN/kWh", "en": "MXN/kWh"},
    "unit_mxn": {"es": "MXN", "en": "MXN"},
    "unit_loans_per_year": {"es": "créditos/año", "en": "loans/year"},
    "unit_years": {"es": "años", "en": "years"},
    "unit_hours": {"es": "h", "en": "h"},
    "unit_units_per_year": {"es": "unidades/año", "en": "units/year"},
    "unit_mxn_per_vehicle_year": {"es": "MXN/vehículo/año", "en": "MXN/vehicle/year"},
    "unit_mxn_per_t": {"es": "MXN/t", "en": "MXN/t"},
    "unit_t": {"es": "t", "en": "t"},
}


def t(lang: str, key: str, **kw) -> str:
    """The message `key` in `lang`; a missing key shows itself, so a gap is seen, not hidden."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    try:
        return text.format(**kw) if kw else text
    except (KeyError, IndexError, ValueError):  # a field missing: the words still show
        return text


def options(lang: str, key: str) -> list[str]:
    """A '|'-separated message as a list (month names, speed levels)."""
    return t(lang, key).split("|")


def number(lang: str, x: float | None, digits: int = 0) -> str:
    """1234567.5 -> '1 234 567,5' (es) or '1,234,567.5' (en)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return t(lang, "not_applicable")
    text = f"{x:,.{digits}f}"
    if lang == "es":
        text = text.replace(",", NBSP).replace(".", ",")
    return text


def percent(lang: str, share: float, digits: int = 1) -> str:
    return f"{number(lang, 100 * share, digits)}{NBSP}%"


def compact(lang: str, x: float | None) -> str:
    """Large amounts in words a room reads at a glance: 12,3 mil millones / 12.3 billion."""
    if x is None or not math.isfinite(x):
        return t(lang, "not_applicable")
    words = {"es": [(1e9, "mil millones"), (1e6, "millones"), (1e3, "mil")],
             "en": [(1e9, "billion"), (1e6, "million"), (1e3, "thousand")]}[lang]
    for size, word in words:
        if abs(x) >= size:
            return f"{number(lang, x / size, 1)}{NBSP}{word}"
    return number(lang, x, 0)


def month_label(lang: str, year: int, month: int) -> str:
    return t(lang, "month_of", month=options(lang, "months")[month - 1], year=year)


def plotly_separators(lang: str) -> str:
    """plotly's `separators`: the decimal mark, then the thousands mark."""
    return "," + NBSP if lang == "es" else ".,"
