"""Plain-text and CSV rendering shared by the command line (no metric is computed here).

Both are made safe for where they end up: text tables never pass a control character
to the terminal (:func:`printable`), CSV never holds a cell a spreadsheet would run as
a formula (:func:`neutralise_formula`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

import pandas as pd

#: Characters that make a spreadsheet treat a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def fixed_width(frame: pd.DataFrame) -> str:
    """Render ``frame`` as an aligned text table with a header line."""
    cells = [[printable(str(c)) for c in frame.columns]] + [[_cell(v) for v in row]
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
    return printable(str(value))


#: Control characters (C0 and C1, DEL), which a terminal may obey (``ESC [`` sequences
#: can recolour, retitle or clear it), plus line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Lone UTF-16 surrogates: a Python ``str`` can hold them (from a JSON ``"\ud800"``
#: escape, or bytes that are not UTF-8 on a command line) but no UTF-8 file can.
_SURROGATE = re.compile("[\ud800-\udfff]")


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 day"``, ``"3 days"`` (``words``: an irregular plural).

    >>> plural(1, "day"), plural(2, "day"), plural(2, "entry", "entries")
    ('1 day', '2 days', '2 entries')
    """
    return f"{n} {word if n == 1 else (words or word + 's')}"


def fmt_or_dash(value: float | int | None, spec: str = "{:.1f}") -> str:
    """``value`` formatted with ``spec``, or ``"-"`` when unknown.

    >>> fmt_or_dash(2.345), fmt_or_dash(None)
    ('2.3', '-')
    """
    return "-" if value is None else spec.format(value)


def to_json_text(obj: Any) -> str:
    """``obj`` as indented JSON for a terminal (non-ASCII kept, other types as text)."""
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


def valid_text(value: Any) -> Any:
    """``value`` with lone surrogates replaced by U+FFFD (the replacement character), so
    it can be stored and written as UTF-8; other values are returned unchanged.

    >>> valid_text("a\\ud800b") == "a\\ufffdb", valid_text(3)
    (True, 3)
    """
    if isinstance(value, str) and _SURROGATE.search(value):
        return _SURROGATE.sub("\ufffd", value)
    return value


def valid_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`valid_text` applied to its text columns (a new frame; the
    same one when nothing needed replacing)."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not isinstance(values.dtype, pd.StringDtype):
            continue
        cleaned = values.map(valid_text)
        if not cleaned.equals(values):
            out = out.copy() if out is frame else out
            out[column] = cleaned.astype(values.dtype)
    return out


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (escape sequences, line
    breaks, tabs...) are shown as Python escapes (``\\x1b``, ``\\n``).

    >>> printable("P1\\x1b[2J")
    'P1\\\\x1b[2J'
    """
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def is_formula_like(value: Any) -> bool:
    """True for text that a spreadsheet would run as a formula: it starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return and is not a number (``-3`` and
    ``+1.5`` are numbers, not formulas).

    >>> is_formula_like('=HYPERLINK("http://x")'), is_formula_like("-3"), is_formula_like(3)
    (True, False, False)
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def neutralise_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with ``'`` (OWASP CSV
    injection advice); numbers and other values are returned unchanged.

    The result is what the package writes and what loading it gives back: a ``'``
    already at the start is kept, so neutralising twice changes nothing.

    >>> neutralise_formula("=1+2"), neutralise_formula("-3"), neutralise_formula("'=1+2")
    ("'=1+2", '-3', "'=1+2")
    """
    return "'" + value if is_formula_like(value) else value


def to_safe_csv(records: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV text of ``records`` with formula-like text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else neutralise_formula(record.get(c))
                         for c in columns])
    return buffer.getvalue()
