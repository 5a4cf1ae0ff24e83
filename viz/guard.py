"""What a visitor types, clicks or sends, checked before the page acts on it.

Every page callback (on_value, on_click, the play and comparison threads, file export) runs
through `guarded`: a refusal or a failure becomes a short message in the page's language
(`report(key, fields)`), never a traceback in Solara's error overlay, which would show server
paths to the room. The parsers below turn a widget's raw value into what the page uses, or
raise Refused with the message to show.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from fleetsim.scenarios import ScenarioError

log = logging.getLogger("fleetsim.viz")

SEED_MAX = 2**63 - 1  # numpy takes larger seeds; a room needs no more, and exports stay int64


class Refused(Exception):
    """A visitor's input the page refuses: the message key and its fields."""

    def __init__(self, key: str, **kw: Any):
        super().__init__(key)
        self.key, self.kw = key, kw


def guarded(action: Callable, report: Callable[[str | None, dict], None]) -> Callable:
    """`action` as a callback that reports, rather than raises, what a visitor can cause."""
    return functools.partial(call_guarded, action, report)


def call_guarded(action: Callable, report: Callable, *args, **kwargs):
    """Run `action`; on success clear the last message, on failure show one (and log it)."""
    try:
        result = action(*args, **kwargs)
    except Refused as err:
        report(err.key, err.kw)
    except ScenarioError as err:
        key, kw = getattr(err, "key", ""), getattr(err, "kw", {})
        report(key or "value_refused", kw if key else {"detail": "; ".join(err.problems[:3])})
    except Exception:  # noqa: BLE001  (a visitor must never see a traceback; the log keeps it)
        log.warning("page callback %s failed", getattr(action, "__name__", action),
                    exc_info=True)
        report("unexpected", {})
    else:
        report(None, {})
        return result
    return None


def parse_seed(value: Any) -> int:
    """A seed from the seed box: a whole number from 0 to SEED_MAX."""
    if isinstance(value, bool):
        raise Refused("seed_range", max=SEED_MAX)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 <= value <= SEED_MAX:
        raise Refused("seed_range", max=SEED_MAX)
    return value


def parse_choice(value: Any, allowed: Sequence) -> Any:
    """One of the options a list offered (a crafted message may send anything)."""
    if not isinstance(value, str | int | float) or value not in allowed:
        raise Refused("choice_refused")
    return value


def parse_number(value: Any, low: float, high: float) -> float:
    """A finite number from low to high (a slider's range, as shown)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise Refused("value_range", low=f"{low:g}", high=f"{high:g}") from None
    slack = (high - low) * 1e-9
    if not math.isfinite(number) or not low - slack <= number <= high + slack:
        raise Refused("value_range", low=f"{low:g}", high=f"{high:g}")
    return number
