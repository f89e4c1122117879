"""Parsing and checking every value of a raw table, collecting every failure at once.

Input: a :class:`analytics.io.RawTable` (cells as written). Output: a
:class:`Validated` pair - the parsed rows that passed every check, and a *rejects*
frame with one row per problem (``table, file, line, column, value, reason``). A row
with several problems appears once per problem; it is rejected once. For every table
``read == loaded + rejected`` holds, where ``rejected`` counts distinct lines.

Rules (each reason below is what the user reads):

* required value missing -> ``"<column> is empty"``;
* numbers: ``sets``/``reps``/``set_index``/``times_per_day``/``days_per_week`` are
  whole numbers >= 0 (``days_per_week`` 1-7, ``times_per_day`` 1-10); ``hold_s`` is
  seconds >= 0, written ``45``, ``45.5``, ``0:45``/``1:30`` (mm:ss), ``1:02:00``
  (h:mm:ss), ``30s``, ``30 sec`` or ``1 min``; values beyond :data:`LIMITS` are
  rejected as implausible; in ``;``-separated files a decimal comma is accepted;
* ``pain`` is a 0-10 numeric rating (``7/10`` reads as 7); ``rpe`` is 0-10;
* dates and timestamps are ISO 8601; naive timestamps are local to the patient's time
  zone, offset-aware ones are converted to it. A local time that does not exist (the
  hour skipped when clocks go forward) is shifted forward by the gap; a local time that
  occurs twice (clocks go back) is read as the first occurrence (daylight time). The
  same rule is used everywhere in the package;
* timestamps later than *now* (plus :data:`FUTURE_TOLERANCE`) or before
  :data:`EARLIEST` are rejected;
* rows naming a patient missing from the patients table are rejected when a patients
  table exists;
* an exact duplicate (equal parsed values in every contract column, ``set_index``
  included) is rejected as ``"duplicate of line N"``; the first is kept.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.io import RawTable
from analytics.schema import PAIN_CONTEXTS, SET_TYPES, SYMPTOMS, Column, Table
from analytics.vector import Distinct, map_distinct

#: Largest plausible values; larger ones are rejected as typing errors.
LIMITS: dict[str, float] = {
    "sets": 100, "reps": 1000, "hold_s": 3600, "set_index": 1000,
    "times_per_day": 10, "days_per_week": 7,
}
#: Tolerance for clocks that run a little ahead before a timestamp counts as future.
FUTURE_TOLERANCE = pd.Timedelta(minutes=5)
#: Timestamps and dates before this are rejected as implausible.
EARLIEST = pd.Timestamp("2000-01-01")

#: Columns of a rejects table. ``patient_id`` is the row's patient id as written (empty
#: when the row has none), so a patient's report can show what was rejected for them.
REJECT_COLUMNS: tuple[str, ...] = ("table", "file", "line", "column", "value", "reason",
                                   "patient_id")

_AWARE = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$")
_MMSS = re.compile(r"^(?:(\d+):)?(\d{1,3}):([0-5]\d(?:\.\d+)?)$")
_UNIT = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes)$")
_OUT_OF_TEN = re.compile(r"^(-?\d+(?:\.\d+)?)\s*/\s*10$")

_SIDE_WORDS: dict[str, str] = {
    "left": "left", "l": "left", "right": "right", "r": "right", "both": "both",
    "bilateral": "both", "each_side": "each_side", "each": "each_side",
    "each_leg": "each_side", "alternating": "each_side", "both_sides": "each_side",
}
_SET_TYPE_WORDS: dict[str, str] = {
    "normal": "normal", "warmup": "warmup", "warm_up": "warmup", "w": "warmup",
    "failure": "failure", "f": "failure", "dropset": "dropset", "drop_set": "dropset",
    "d": "dropset",
}


@dataclass(frozen=True)
class Validated:
    """Result of :func:`validate_table`.

    Attributes
    ----------
    frame : pandas.DataFrame
        Loaded rows: contract columns parsed (see module docstring), extra columns kept
        as written, and ``line`` (int, the row's line in its file). Timestamp tables
        also get ``<col>_utc`` (UTC) and ``local_day`` (the patient's local calendar
        day, midnight timestamps); ``<col>`` itself is the local wall-clock time.
    rejects : pandas.DataFrame
        One row per problem, columns :data:`REJECT_COLUMNS`.
    read : int
        Records read from the file.
    instants : tuple
        ``(latest, earliest_future)``: the latest parsed timestamp (UTC) that was not
        "in the future" and the earliest one that was (``None`` when there is none).
        Validating the same rows again gives the same result for any *now* with
        ``latest <= now + FUTURE_TOLERANCE < earliest_future`` (used by
        :mod:`analytics.cache`).
    """

    frame: pd.DataFrame
    rejects: pd.DataFrame
    read: int
    instants: tuple[pd.Timestamp | None, pd.Timestamp | None] = (None, None)

    @property
    def rejected(self) -> int:
        return int(self.rejects["line"].nunique()) if len(self.rejects) else 0


class _Collector:
    """Accumulates (mask, column, reason) problems for one table."""

    def __init__(self, raw: pd.DataFrame) -> None:
        self.raw = raw
        self.parts: list[pd.DataFrame] = []
        self.bad = pd.Series(False, index=raw.index)
        self._by_column: dict[str, pd.Series] = {}
        self.latest: pd.Timestamp | None = None
        self.earliest_future: pd.Timestamp | None = None

    def instants(self, utc: pd.Series, future: pd.Series) -> None:
        """Remember the latest present and earliest future instant of ``utc``."""
        present = utc[~future & utc.notna()]
        ahead = utc[future]
        if len(present):
            latest = present.max()
            self.latest = latest if self.latest is None else max(self.latest, latest)
        if len(ahead):
            first = ahead.min()
            self.earliest_future = first if self.earliest_future is None else min(
                self.earliest_future, first)

    def add(self, mask: pd.Series, column: str, reason: str | pd.Series) -> None:
        """Record ``reason`` for rows in ``mask``; one problem per cell is enough (the
        first reason found for a column wins)."""
        mask = mask.fillna(False).astype(bool)
        seen = self._by_column.get(column)
        if seen is not None:
            mask = mask & ~seen
        if not mask.any():
            return
        values = self.raw[column][mask] if column in self.raw.columns else ""
        reasons = reason[mask] if isinstance(reason, pd.Series) else reason
        self.parts.append(pd.DataFrame({
            "line": self.raw["_line"][mask].astype("int64"),
            "column": column,
            "value": pd.Series(values, index=mask[mask].index, dtype=object).map(_show),
            "reason": reasons,
            "patient_id": (self.raw["patient_id"][mask].map(_show)
                           if "patient_id" in self.raw.columns else ""),
        }))
        self._by_column[column] = mask if seen is None else (seen | mask)
        self.bad = self.bad | mask


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."


def as_text(series: pd.Series) -> pd.Series:
    """Strip cells and turn blanks into missing values (pandas ``string`` dtype)."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _is_typed_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def parse_number(series: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse numbers; return (float values, mask of cells that are not numbers)."""
    if _is_typed_number(series):
        values = series.astype("float64")
        return values, pd.Series(False, index=series.index) | ~np.isfinite(values.fillna(0))
    text = as_text(series)
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    values = _floats(text)
    bad = text.notna() & (values.isna() | ~np.isfinite(values.fillna(0)))
    return values.where(~bad), bad


def _floats(series: pd.Series) -> pd.Series:
    """Strings -> plain float64 (NaN where not a number)."""
    values = pd.to_numeric(series, errors="coerce")
    return pd.Series(np.asarray(values.to_numpy(dtype="float64", na_value=np.nan)),
                     index=series.index)


def parse_hold(series: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse hold durations in seconds: ``45``, ``0:45``, ``1:02:00``, ``30s``, ``1 min``."""
    values, bad = parse_number(series, decimal_comma)
    if not bad.any():
        return values, bad
    text = as_text(series)[bad].str.lower()
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    clock = text.str.extract(_MMSS)
    clock_s = (_floats(clock[0]).fillna(0) * 3600 + _floats(clock[1]) * 60
               + _floats(clock[2]))
    unit = text.str.extract(_UNIT)
    factor = np.where(unit[1].fillna("s").str.startswith("m").to_numpy(dtype=bool), 60.0, 1.0)
    unit_s = _floats(unit[0]) * factor
    recovered = clock_s.fillna(unit_s)
    values = values.copy()
    values.loc[recovered.index] = recovered
    bad = bad & values.isna()
    return values, bad


def parse_pain(series: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse a 0-10 rating, accepting ``7/10`` as 7 (range is checked by the caller)."""
    values, bad = parse_number(series, decimal_comma)
    if not bad.any():
        return values, bad
    text = as_text(series)[bad]
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    out_of_ten = _floats(text.str.extract(_OUT_OF_TEN)[0])
    values = values.copy()
    values.loc[out_of_ten.index] = out_of_ten
    return values, bad & values.isna()


def _canon_word(series: pd.Series) -> pd.Series:
    return as_text(series).str.lower().str.replace(r"[\s\-]+", "_", regex=True)


def parse_date(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse ISO 8601 dates (a time part is dropped; with an offset, the date as
    written); return (midnight timestamps, bad)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values, bad = _typed_in_range(series)
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        return values.dt.normalize().astype("datetime64[ns]"), bad
    text = as_text(series)
    values = _parse_iso(_iso_shaped(text), offsets="wall")
    bad = text.notna() & values.isna()
    return values.dt.normalize().astype("datetime64[ns]"), bad


#: ISO dates the parser may see: years 1700-2199. Earlier or later ones are rejected
#: anyway (as "not a valid date"), and only years 1678-2261 fit pandas' nanosecond
#: timestamps in every time zone.
_ISO_SHAPE = re.compile(r"^(?:1[7-9]\d{2}|2[01]\d{2})-\d{2}-\d{2}")
#: Typed (Parquet/xlsx) date-times accepted, as for text (see ``_ISO_SHAPE``).
_TYPED_RANGE = (pd.Timestamp("1700-01-01"), pd.Timestamp("2200-01-01"))


def _typed_in_range(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A datetime column (any unit, naive or aware) as nanoseconds, with values outside
    :data:`_TYPED_RANGE` blanked and marked bad (a Parquet ``timestamp[ms]`` can hold
    the year 1000 or 9999, which no nanosecond timestamp can)."""
    tz = getattr(series.dt, "tz", None)
    lo, hi = (t.tz_localize(tz) for t in _TYPED_RANGE) if tz is not None else _TYPED_RANGE
    ok = ((series >= lo) & (series < hi)).fillna(False).astype(bool)
    bad = series.notna() & ~ok
    unit = "datetime64[ns]" if tz is None else pd.DatetimeTZDtype("ns", tz)
    values = series.where(ok).astype(unit)
    return values, bad


def _parse_iso(text: pd.Series, *, offsets: str) -> pd.Series:
    """``pd.to_datetime(text, format="ISO8601", errors="coerce")`` as naive
    ``datetime64[ns]`` that never raises.

    Cells with a UTC offset are expected to be parsed elsewhere; one the caller's check
    missed (``2025-03-01T08Z``) or a column mixing offsets makes pandas return aware
    values or raise, and then each distinct cell is parsed alone: with an offset it is
    blanked (``offsets="drop"``: the row is rejected) or kept as the wall time written
    (``offsets="wall"``, for dates).
    """
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if getattr(parsed.dt, "tz", None) is None:
            return parsed.astype("datetime64[ns]")
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        pass

    def one(cell: object) -> pd.Timestamp:
        if not isinstance(cell, str):
            return pd.NaT
        try:
            stamp = pd.to_datetime(cell, format="ISO8601")
            if stamp.tzinfo is not None:
                if offsets == "drop":
                    return pd.NaT
                stamp = stamp.tz_localize(None)
            return stamp.as_unit("ns")
        except (ValueError, TypeError, OverflowError):
            return pd.NaT

    return map_distinct(text, one, dtype="datetime64[ns]")


def _iso_shaped(text: pd.Series) -> pd.Series:
    """``text`` with cells that cannot be an ISO date in range blanked (they stay bad:
    callers compare with the original text)."""
    return text.where(text.str.match(_ISO_SHAPE, na=False))


def localize(naive: pd.Series, tz: str) -> pd.Series:
    """Naive local wall times -> UTC, with the package's DST rule (see module doc)."""
    if naive.empty:
        return pd.Series(pd.DatetimeIndex([], tz="UTC"), index=naive.index)
    ambiguous = np.ones(len(naive), dtype=bool)  # True = daylight time = first occurrence
    localized = naive.dt.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward")
    return localized.dt.tz_convert("UTC")


#: ``YYYY-MM-DDTHH:MM:SS`` (or a space for ``T``): byte positions of the digits.
_ISO_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_ISO_WIDTH = 19
#: Years parsed in bulk: instants that fit pandas' nanosecond timestamps in any time zone,
#: and within the years the general path accepts (see ``_ISO_SHAPE``).
_FAST_YEARS = (1700, 2199)


def _arrow_chunks(text: pd.Series) -> list[pa.Array]:
    """The cells of a ``string`` Series as Arrow string arrays, in order (no copy when
    the Series is Arrow-backed)."""
    arr = pa.array(text.array) if isinstance(text.dtype, pd.StringDtype) else None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array(text.astype("string").to_numpy(dtype=object, na_value=None),
                       type=pa.large_string())
    return list(arr.chunks) if isinstance(arr, pa.ChunkedArray) else [arr]


def _fast_iso_naive(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse the plain ``YYYY-MM-DDTHH:MM:SS`` cells of ``text`` without pandas' general
    ISO 8601 parser.

    Returns ``(ok, nanoseconds)``: ``ok`` marks the cells written exactly in that form
    (``T`` or a space between date and time) with a valid calendar date and time of day
    (years 1700-2199); ``nanoseconds`` holds their naive value as int64 nanoseconds
    since 1970-01-01 (0 elsewhere). Every other cell is left to
    :func:`pandas.to_datetime`, which gives the same value for the cells parsed here.
    """
    oks, nanos = [], []
    for chunk in _arrow_chunks(text):
        ok, ns = _fast_iso_chunk(chunk)
        oks.append(ok)
        nanos.append(ns)
    if not oks:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype="int64")
    return np.concatenate(oks), np.concatenate(nanos)


def _fast_iso_chunk(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fast_iso_naive` for one Arrow string array."""
    n = len(arr)
    ok = np.zeros(n, dtype=bool)
    nanos = np.zeros(n, dtype="int64")
    if n == 0 or arr.null_count == n:
        return ok, nanos
    offsets_type = "int64" if pa.types.is_large_string(arr.type) else "int32"
    offsets = np.frombuffer(arr.buffers()[1], dtype=offsets_type)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    fits = np.diff(offsets) == _ISO_WIDTH
    if arr.null_count:
        fits &= np.asarray(arr.is_valid())
    cand = np.flatnonzero(fits)
    m = len(cand)
    if m == 0:
        return ok, nanos
    starts = offsets[cand].astype("int64")
    if starts[-1] - starts[0] == _ISO_WIDTH * (m - 1) and (np.diff(starts) == _ISO_WIDTH).all():
        block = data[starts[0]:starts[0] + _ISO_WIDTH * m].reshape(m, _ISO_WIDTH)

        def char(j: int) -> np.ndarray:
            return block[:, j]
    else:
        def char(j: int) -> np.ndarray:
            return data[starts + j]

    shape = (char(4) == 45) & (char(7) == 45)  # "-"
    shape &= (char(10) == 84) | (char(10) == 32)  # "T" or " "
    shape &= (char(13) == 58) & (char(16) == 58)  # ":"
    digit: dict[int, np.ndarray] = {}
    for j in _ISO_DIGITS:
        d = char(int(j)) - np.uint8(48)  # wraps around below "0": not a digit
        shape &= d <= 9
        digit[int(j)] = d.astype("int32")

    def number(*positions: int) -> np.ndarray:
        value = np.zeros(m, dtype="int32")
        for j in positions:
            value = value * 10 + digit[j]
        return value.astype("int64")

    year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
    hour, minute, second = number(11, 12), number(14, 15), number(17, 18)
    good = (shape & (year >= _FAST_YEARS[0]) & (year <= _FAST_YEARS[1]) & (month >= 1)
            & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60))
    months = np.where(good, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    days_in_month = ((months + 1).astype("datetime64[D]") - first).astype("int64")
    good &= day <= days_in_month
    days = first.astype("int64") + day - 1
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second
    ok[cand] = good
    nanos[cand] = np.where(good, seconds * 1_000_000_000, 0)
    return ok, nanos


def _parse_naive(text: pd.Series, fast: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> pd.Series:
    """``pd.to_datetime(text, format="ISO8601", errors="coerce")`` as naive
    ``datetime64[ns]``, with plain ``YYYY-MM-DDTHH:MM:SS`` cells parsed in bulk
    (``fast``: :func:`_fast_iso_naive` of ``text`` when already known)."""
    ok, nanos = _fast_iso_naive(text) if fast is None else fast
    values = nanos.view("datetime64[ns]")
    values[~ok] = np.datetime64("NaT")
    rest = ~ok & text.notna().to_numpy(dtype=bool)
    if rest.any():
        values[rest] = _parse_iso(_iso_shaped(text[rest]), offsets="drop").to_numpy()
    return pd.Series(values, index=text.index, dtype="datetime64[ns]")


def _by_zone(tz_names: pd.Series, rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``(zone, positions)`` for the rows in ``rows`` (a bool mask), per distinct zone."""
    codes, zones = pd.factorize(tz_names, use_na_sentinel=True)
    codes = np.where(rows, codes, -1)
    out = []
    for k, zone in enumerate(zones):
        positions = np.flatnonzero(codes == k)
        if len(positions):
            out.append((str(zone), positions))
    return out


def parse_timestamps(series: pd.Series, tz_names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse ISO 8601 timestamps read in each row's time zone.

    Returns ``(utc, bad)``: ``utc`` is a ``datetime64[ns, UTC]`` series (NaT where bad
    or blank) and ``bad`` marks unparseable or impossible values.
    """
    index = series.index
    nat = np.datetime64("NaT", "ns")
    utc_values = np.full(len(series), nat, dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(series):
        typed, bad = _typed_in_range(series)
        if getattr(typed.dt, "tz", None) is not None:
            return typed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]"), bad
        naive_values = typed
        aware = pd.Series(False, index=index)
    else:
        text = as_text(series)
        ok, nanos = _fast_iso_naive(text)
        # A plain YYYY-MM-DDTHH:MM:SS cell carries no offset: only test the others.
        maybe = ~ok & text.notna().to_numpy(dtype=bool)
        aware = pd.Series(False, index=index)
        if maybe.any():
            found = text[maybe].str.contains(_AWARE.pattern, regex=True, na=False)
            aware[maybe] = found.to_numpy(dtype=bool)
        if aware.any():
            naive_values = _parse_naive(text.where(~aware))
        else:
            naive_values = _parse_naive(text, (ok, nanos))
        if aware.any():
            aware_values = pd.to_datetime(_iso_shaped(text[aware]), format="ISO8601",
                                          errors="coerce", utc=True)
            utc_values[aware.to_numpy()] = aware_values.astype(
                "datetime64[ns, UTC]").dt.tz_localize(None).to_numpy()
        bad = text.notna() & naive_values.isna() & ~aware
        bad = bad | (aware & pd.Series(np.isnat(utc_values), index=index))
    todo = (~aware & naive_values.notna()).to_numpy(dtype=bool)
    for tz, pos in _by_zone(tz_names, todo):
        part = naive_values.iloc[pos]
        utc_values[pos] = localize(part, tz).dt.tz_localize(None).to_numpy()
    utc = pd.Series(utc_values, index=index).dt.tz_localize("UTC")
    return utc, bad


def to_local(utc: pd.Series, tz_names: pd.Series) -> pd.Series:
    """UTC instants -> naive local wall-clock times in each row's time zone."""
    local = np.full(len(utc), np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    ok = utc.notna().to_numpy(dtype=bool)
    for tz, pos in _by_zone(tz_names, ok):
        local[pos] = utc.iloc[pos].dt.tz_convert(tz).dt.tz_localize(None).to_numpy()
    return pd.Series(local, index=utc.index, dtype="datetime64[ns]")


def _valid_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        # OSError: a tzdata folder ("Europe") or a name too long for a file name.
        return False
    return True


def validate_table(
    raw: RawTable,
    spec: Table,
    *,
    timezones: Mapping[str, str] | None = None,
    known_patients: frozenset[str] | None = None,
    now: pd.Timestamp | None = None,
) -> Validated:
    """Parse and check every cell of ``raw`` according to ``spec``.

    Parameters
    ----------
    raw : RawTable
        The table as read by :func:`analytics.io.read_table`.
    spec : Table
        The contract table (:mod:`analytics.schema`).
    timezones : mapping, optional
        ``patient_id -> IANA zone``; patients not in it are read in UTC.
    known_patients : frozenset, optional
        When given, rows naming any other patient are rejected.
    now : pandas.Timestamp, optional
        The present instant (UTC); defaults to the real clock. Later timestamps are
        rejected.
    """
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if now.tzinfo is None:
        now = now.tz_localize("UTC")
    df = raw.frame.reset_index(drop=True)
    out = pd.DataFrame(index=df.index)
    col = _Collector(df)
    tz_names = pd.Series("UTC", index=df.index, dtype="string")
    if "patient_id" in df.columns and timezones:
        ids = Distinct(df["patient_id"])
        zones = dict(timezones)
        tz_names = ids.expand(as_text(ids.values).map(zones).fillna("UTC").astype("category"))

    for column in spec.columns:
        _parse_column(column, df, out, col, raw, tz_names, known_patients, now)

    # Extra columns are kept as written.
    for extra in df.columns:
        if extra not in out.columns and extra != "_line":
            out[extra] = df[extra]
    out["line"] = df["_line"].astype("int64")

    checks_ok = ~col.bad
    _cross_checks(spec, out, col, checks_ok)
    _duplicates(spec, out, col)

    rejects = _rejects_frame(raw, col)
    frame = out[~col.bad] if col.bad.any() else out
    frame = frame.reset_index(drop=True)
    return Validated(frame, rejects, raw.read, (col.latest, col.earliest_future))


def _parse_column(
    column: Column,
    df: pd.DataFrame,
    out: pd.DataFrame,
    col: _Collector,
    raw: RawTable,
    tz_names: pd.Series,
    known_patients: frozenset[str] | None,
    now: pd.Timestamp,
) -> None:
    name, kind = column.name, column.kind
    series = df[name]
    if kind in ("id", "text"):
        if kind == "id" and pd.api.types.is_float_dtype(series):
            # Parquet/xlsx ids read as floats (e.g. 7.0) mean "7".
            values = map_distinct(series, lambda v: None if v != v else
                                  _show(int(v)) if math.isfinite(v) else str(v),
                                  dtype="string")
            distinct = Distinct(values)
        else:
            distinct = Distinct(series)
            values = distinct.expand(as_text(distinct.values))
        out[name] = values
        if column.required:
            col.add(values.isna(), name, f"{name} is empty")
        if name == "patient_id" and known_patients is not None:
            known = as_text(distinct.values) if distinct.codes is not None else values
            unknown = known.notna() & ~known.isin(known_patients)
            col.add(distinct.expand(unknown) if distinct.codes is not None else unknown, name,
                    "unknown patient (not in the patients table)")
        return
    if kind in ("int", "number", "rating"):
        values, bad = parse_number(series, raw.decimal_comma)
        col.add(bad, name, f"{name} is not a number")
        col.add(values < 0, name, f"{name} is negative")
        if kind == "int":
            col.add((values % 1 != 0) & values.notna(), name, f"{name} must be a whole number")
        if kind == "rating":
            col.add(values > 10, name, f"{name} must be between 0 and 10")
        limit = LIMITS.get(name)
        if limit is not None:
            col.add(values > limit, name, f"{name} above {limit:g} is implausible")
        if name in ("times_per_day", "days_per_week"):
            col.add(values == 0, name, f"{name} must be at least 1")
        if kind == "int":
            # Beyond 2**53 a float holds no exact whole number (and 1e100 does not fit
            # int64 at all): such rows are rejected as implausible or negative above
            # (every whole-number column has a limit in LIMITS, tested), so their cell
            # is left empty.
            too_big = (values.abs() >= 2.0 ** 53).fillna(False)
            out[name] = values.where(~too_big).round().astype("Int64")
        else:
            out[name] = values
        if column.required:
            col.add(values.isna() & ~bad, name, f"{name} is empty")
        return
    if kind == "hold":
        values, bad = parse_hold(series, raw.decimal_comma)
        col.add(bad, name, "hold_s is not a duration (use seconds such as 45, or mm:ss)")
        col.add(values < 0, name, "hold_s is negative")
        col.add(values > LIMITS["hold_s"], name,
                f"hold_s above {LIMITS['hold_s']:g} s is implausible")
        out[name] = values
        return
    if kind == "pain":
        values, bad = parse_pain(series, raw.decimal_comma)
        col.add(bad, name, "pain is not a number (use 0-10)")
        col.add((values < 0) | (values > 10), name, "pain must be between 0 and 10")
        col.add(values.isna() & ~bad, name, "pain is empty")
        out[name] = values
        return
    if kind == "date":
        values, bad = parse_date(series)
        col.add(bad, name, f"{name} is not a valid date (use YYYY-MM-DD)")
        col.add(values < EARLIEST, name, f"{name} is before {EARLIEST.date()}")
        if column.required:
            col.add(values.isna() & ~bad, name, f"{name} is empty")
        out[name] = values
        return
    if kind == "timestamp":
        utc, bad = parse_timestamps(series, tz_names)
        col.add(bad, name, f"{name} is not a valid date and time (use ISO 8601, "
                           "e.g. 2025-03-01T08:30)")
        col.add(values_missing(utc, bad) & column.required, name, f"{name} is empty")
        future = (utc > now + FUTURE_TOLERANCE).fillna(False).astype(bool)
        col.instants(utc, future)
        col.add(future, name, f"{name} is in the future")
        col.add(utc < EARLIEST.tz_localize("UTC"), name, f"{name} is before {EARLIEST.date()}")
        local = to_local(utc, tz_names)
        out[name] = local
        out[f"{name}_utc"] = utc
        out["local_day"] = local.dt.normalize()
        return
    if kind == "timezone":
        text = as_text(series)
        valid = {z: _valid_zone(z) for z in text.dropna().unique()}
        col.add(text.notna() & ~text.map(valid).fillna(True).astype(bool), name,
                "unknown time zone (use an IANA name such as Europe/London)")
        out[name] = text.fillna("UTC")
        return
    if kind in ("context", "side", "set_type"):
        # Computed once per distinct cell, then spread back to the rows.
        distinct = Distinct(series)
        words = _canon_word(distinct.values)
        if kind == "context":
            mapped = words.where(words.isin(PAIN_CONTEXTS)).fillna(
                words.map({"before": "before_session", "after": "after_session"}))
            allowed, default = PAIN_CONTEXTS, "other"
        elif kind == "side":
            mapped = words.map(_SIDE_WORDS)
            allowed, default = ("left", "right", "both", "each_side"), None
        else:
            mapped = words.map(_SET_TYPE_WORDS)
            allowed, default = SET_TYPES, "normal"
        col.add(distinct.expand(words.notna() & mapped.isna()), name,
                f"{name} must be one of: {', '.join(allowed)}")
        mapped = mapped.astype("string")
        out[name] = distinct.expand(mapped.fillna(default) if default is not None else mapped)
        return
    if kind == "symptoms":
        distinct = Distinct(series)
        text = as_text(distinct.values).str.lower()
        parsed = {v: _parse_symptoms(v) for v in text.dropna().unique()}
        normal = distinct.expand(text.map({k: v[0] for k, v in parsed.items()}))
        problem = distinct.expand(text.map({k: v[1] for k, v in parsed.items()}))
        col.add(problem.notna(), name, problem)
        out[name] = normal.astype("string")
        return
    raise ValueError(f"unknown column kind {kind!r}")  # a programming error, not user input


def values_missing(utc: pd.Series, bad: pd.Series) -> pd.Series:
    """Cells that are blank (not merely unparseable)."""
    return utc.isna() & ~bad


def _parse_symptoms(text: str) -> tuple[str | None, str | None]:
    items = [re.sub(r"[\s\-/]+", "_", s.strip()) for s in re.split(r"[;,]", text)]
    items = [s for s in items if s]
    unknown = [s for s in items if s not in SYMPTOMS]
    if unknown:
        return None, (f"unknown symptom {unknown[0]!r} (allowed: {', '.join(SYMPTOMS)})")
    ordered = [s for s in SYMPTOMS if s in items]
    return (";".join(ordered) if ordered else None), None


def _cross_checks(spec: Table, out: pd.DataFrame, col: _Collector, ok: pd.Series) -> None:
    if spec.name == "programs":
        col.add(out["end_date"] < out["start_date"], "end_date", "end_date is before start_date")
    if spec.name == "sessions":
        # A timed hold logged without reps is one repetition (data contract).
        out["reps"] = out["reps"].mask(out["reps"].isna() & out["hold_s"].notna(), 1)
        out["sets"] = out["sets"].fillna(1)
    if spec.name == "programs":
        out["times_per_day"] = out["times_per_day"].fillna(1)
        out["days_per_week"] = out["days_per_week"].fillna(7)
    if spec.name == "patients":
        ids = out["patient_id"]
        first = out["line"].groupby(ids).transform("first")
        dup = ids.notna() & ids.duplicated(keep="first") & ~col.bad
        col.add(dup, "patient_id",
                "duplicate patient_id (first on line " + first.astype("string") + ")")


def _int_codes(values: pd.Series) -> np.ndarray:
    """uint64 codes with equal codes for equal values (a timestamp's own nanoseconds)."""
    if values.dtype == "datetime64[ns]":
        return values.to_numpy().view("int64").astype("uint64")
    return pd.factorize(values, use_na_sentinel=True)[0].astype("int64").astype("uint64")


def _duplicates(spec: Table, out: pd.DataFrame, col: _Collector) -> None:
    if spec.name == "patients":
        return
    keep = ~col.bad
    if not keep.any():
        return
    subset = [c for c in spec.column_names if c in out.columns]
    kept = keep.to_numpy(dtype=bool)
    if kept.sum() > 10_000 and len(subset) > 2:
        # Equal rows share their first two contract columns (patient and time for the
        # timestamped tables): hash every column only for rows whose first two collide
        # (a collision of the cheap key only makes a row a candidate).
        key = np.zeros(int(kept.sum()), dtype="uint64")
        for c in subset[:2]:
            key = key * np.uint64(0x9E3779B97F4A7C15) + _int_codes(out[c][kept])
        ordered = np.sort(key)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if len(repeated) == 0:
            return
        maybe = np.isin(key, np.unique(repeated))
        rows = out.iloc[np.flatnonzero(kept)[maybe]][subset]
    else:
        rows = out.loc[keep, subset]
    hashes = pd.util.hash_pandas_object(rows, index=False)
    dup = hashes.duplicated(keep="first")
    if not dup.any():
        return
    first_line = out.loc[rows.index, "line"].groupby(hashes.to_numpy()).transform("first")
    mask = pd.Series(False, index=out.index)
    mask.loc[dup.index] = dup.to_numpy()
    reason = pd.Series("", index=out.index, dtype="string")
    reason.loc[first_line.index] = "duplicate of line " + first_line.astype("string")
    col.add(mask, "(row)", reason)


def _rejects_frame(raw: RawTable, col: _Collector) -> pd.DataFrame:
    parts = list(col.parts)
    if raw.raw_rejects:
        parts.append(pd.DataFrame({
            "line": [r.line for r in raw.raw_rejects],
            "column": "(row)",
            "value": [r.value for r in raw.raw_rejects],
            "reason": [r.reason for r in raw.raw_rejects],
        }))
    if not parts:
        return empty_rejects()
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "file", raw.file or f"{raw.name}.csv")
    frame.insert(0, "table", raw.name)
    frame["line"] = frame["line"].astype("int64")
    if "patient_id" not in frame.columns:
        frame["patient_id"] = ""
    frame["patient_id"] = frame["patient_id"].fillna("")
    for c in ("table", "file", "column", "value", "reason", "patient_id"):
        frame[c] = frame[c].astype("string")
    return frame.sort_values(["line"], kind="stable").reset_index(drop=True)[list(REJECT_COLUMNS)]


def empty_rejects() -> pd.DataFrame:
    """An empty rejects frame with the right columns and dtypes."""
    return pd.DataFrame({
        "table": pd.Series([], dtype="string"), "file": pd.Series([], dtype="string"),
        "line": pd.Series([], dtype="int64"), "column": pd.Series([], dtype="string"),
        "value": pd.Series([], dtype="string"), "reason": pd.Series([], dtype="string"),
        "patient_id": pd.Series([], dtype="string"),
    })
