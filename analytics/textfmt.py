"""Plain-text and CSV rendering shared by the command line (no metric is computed here)."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import pandas as pd

#: Characters that make a spreadsheet treat a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def fixed_width(frame: pd.DataFrame) -> str:
    """Render ``frame`` as an aligned text table with a header line."""
    cells = [[str(c) for c in frame.columns]] + [[_cell(v) for v in row]
                                                 for row in frame.itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(frame.columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    if len(lines) > 1:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:g}"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def neutralise_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with ``'`` (OWASP CSV
    injection advice); numbers and other values are returned unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def to_safe_csv(records: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV text of ``records`` with formula-like text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else neutralise_formula(record.get(c))
                         for c in columns])
    return buffer.getvalue()
