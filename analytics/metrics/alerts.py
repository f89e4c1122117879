"""Adherence alerts and the combined alert table.

Alerts report and flag; they never diagnose. Every alert row has ``patient_id``,
``kind``, ``severity`` (``info``, ``warning``, ``urgent``), ``date`` (the local day it
refers to) and ``message`` (plain words).

* ``no_activity`` (info): every run of at least ``Settings.no_activity_days`` (3)
  consecutive program days (days in the period with something prescribed) without a
  counted session, past runs included, dated the day the run reached that length.
* ``low_adherence`` (warning): at least ``Settings.low_adherence_weeks`` (2)
  consecutive ISO weeks below the adherence threshold, one alert per episode, dated
  the last day of the week in which the episode reached that length.

Pain and red-flag alerts come from :func:`analytics.metrics.pain.pain_alerts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.settings import Settings
from analytics.vector import first_of_runs, sort_frame, string_dtype, true_runs

ALERT_COLUMNS: tuple[str, ...] = ("patient_id", "kind", "severity", "date", "message")
SEVERITY_ORDER: dict[str, int] = {"urgent": 0, "warning": 1, "info": 2}


def empty_alerts() -> pd.DataFrame:
    """An alert table with no rows."""
    text = string_dtype()
    return pd.DataFrame({
        "patient_id": pd.Series([], dtype=text), "kind": pd.Series([], dtype=text),
        "severity": pd.Series([], dtype=text), "date": pd.Series([], dtype="datetime64[ns]"),
        "message": pd.Series([], dtype=text),
    })


def no_activity_alerts(daily: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """``no_activity`` alerts from :func:`analytics.metrics.adherence.daily_adherence`."""
    n = settings.no_activity_days
    d = sort_frame(daily, ["patient_id", "day"]).reset_index(drop=True)
    idle = ((d["prescribed"] > 0) & (d["counted"] == 0)).to_numpy(dtype=bool)
    first, last = true_runs(idle, first_of_runs(d, ["patient_id"]))
    length = last - first + 1
    keep = length >= n
    if not keep.any():
        return empty_alerts()
    first, last, length = first[keep], last[keep], length[keep]
    day = d["day"].to_numpy(dtype="datetime64[ns]")
    reached = day[first] + np.timedelta64(n - 1, "D")
    messages = [
        f"No exercise session logged on {k} program days in a row "
        f"({pd.Timestamp(a):%Y-%m-%d} to {pd.Timestamp(b):%Y-%m-%d})."
        for a, b, k in zip(day[first], day[last], length, strict=True)
    ]
    return _frame(d["patient_id"].take(first), "no_activity", "info", reached, messages)


def low_adherence_alerts(weekly: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """``low_adherence`` alerts from :func:`analytics.metrics.adherence.weekly_adherence`."""
    n = settings.low_adherence_weeks
    w = sort_frame(weekly[weekly["prescribed"] > 0], ["patient_id", "week_start"])
    w = w.reset_index(drop=True)
    if w.empty:
        return empty_alerts()
    week = w["week_start"].to_numpy(dtype="datetime64[ns]")
    gap = np.ones(len(w), dtype=bool)
    gap[1:] = (week[1:] - week[:-1]) != np.timedelta64(7, "D")
    below = w["below_threshold"].to_numpy(dtype=bool)
    first, last = true_runs(below, first_of_runs(w, ["patient_id"]) | gap)
    length = last - first + 1
    keep = length >= n
    if not keep.any():
        return empty_alerts()
    # The lowest week of each run: rows between runs are left out with +inf.
    pct = np.where(below, w["adherence_pct"].to_numpy(dtype="float64", na_value=np.nan),
                   np.inf)
    lowest = np.minimum.reduceat(pct, first)[keep]
    first, length = first[keep], length[keep]
    dated = week[first] + np.timedelta64(7 * (n - 1) + 6, "D")
    threshold = f"{settings.adherence_threshold_pct:g}%"
    messages = [
        f"Adherence below {threshold} for {k} weeks in a row from the week of "
        f"{pd.Timestamp(a):%Y-%m-%d} (lowest week {low:.1f}%)."
        for a, k, low in zip(week[first], length, lowest, strict=True)
    ]
    return _frame(w["patient_id"].take(first), "low_adherence", "warning", dated, messages)


def _frame(patients: pd.Series, kind: str, severity: str, dates: np.ndarray,
           messages: list[str]) -> pd.DataFrame:
    text = string_dtype()
    return pd.DataFrame({
        "patient_id": patients.to_numpy(),
        "kind": kind, "severity": severity,
        "date": np.asarray(dates, dtype="datetime64[ns]"),
        "message": messages,
    }).astype({"patient_id": text, "kind": text, "severity": text, "message": text})


def combine_alerts(*tables: pd.DataFrame) -> pd.DataFrame:
    """All alerts in one table: per patient, urgent first, then by date and kind."""
    parts = [t[list(ALERT_COLUMNS)] for t in tables if t is not None and not t.empty]
    if not parts:
        return empty_alerts()
    out = pd.concat(parts, ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    rank = out["severity"].map(SEVERITY_ORDER).astype("int64")
    return (out.assign(_rank=rank)
            .pipe(sort_frame, ["patient_id", "_rank", "date", "kind"])
            .drop(columns="_rank").reset_index(drop=True))


def patient_alerts(alerts: pd.DataFrame,
                   patient_id: str) -> list[tuple[str, str, pd.Timestamp, str]]:
    """One patient's alerts as ``(kind, severity, date, message)``, in reading order:
    red flags first, then by severity (urgent first), date and kind (a stable order;
    reports and dashboards list them this way). A few dozen rows: plain Python."""
    columns = [alerts[c].tolist() for c in ALERT_COLUMNS]
    rows = [(str(kind), str(severity), pd.Timestamp(date), str(message))
            for pid, kind, severity, date, message in zip(*columns, strict=True)
            if pid == patient_id]
    rows.sort(key=lambda r: (r[0] != "red_flag", SEVERITY_ORDER.get(r[1], len(SEVERITY_ORDER)),
                             r[2], r[0]))
    return rows

