"""Checks on a run's results before they are written: no number may be NaN or infinite
without an error saying where."""

from __future__ import annotations

import numpy as np
import pandas as pd

# NaN in these columns is by design: "no budget" / "no quota" (see Regulator.budget_left)
NAN_MEANS_NO_LIMIT = ("budget_left_", "units_left_")


class NonFiniteResult(ValueError):
    """A results column holds NaN or infinity: some input was out of range."""


def check_finite(frame: pd.DataFrame, inputs: str = "the scenario's values") -> None:
    """Raise NonFiniteResult naming the first numeric column (in column order) with a NaN or
    infinite value and the first month it has one; `inputs` names what the user gave."""
    dates = frame["date"].astype(str).to_numpy() if "date" in frame else None
    for name in frame.columns:
        values = frame[name]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        data = values.to_numpy(dtype=float)
        bad = np.isinf(data) if name.startswith(NAN_MEANS_NO_LIMIT) else ~np.isfinite(data)
        if bad.any():
            row = int(np.argmax(bad))
            when = dates[row] if dates is not None else f"row {row}"
            raise NonFiniteResult(
                f"results.{name}: got {data[row]} in {when}, expected a finite number (an "
                f"input out of range made it: check {inputs})")
