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

import pandas as pd

from analytics.settings import Settings
from analytics.vector import named_agg, sort_frame, string_dtype

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


def _runs(flag: pd.Series, patient: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Run ids and 1-based positions of consecutive True values within each patient."""
    new_patient = (patient != patient.shift()).fillna(True).astype(bool)
    run_id = (new_patient | ~flag).cumsum()
    pos = flag.astype("int64").groupby(run_id.to_numpy()).cumsum()
    return run_id, pos.where(flag, 0)


def no_activity_alerts(daily: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """``no_activity`` alerts from :func:`analytics.metrics.adherence.daily_adherence`."""
    n = settings.no_activity_days
    d = sort_frame(daily, ["patient_id", "day"]).reset_index(drop=True)
    idle = (d["prescribed"] > 0) & (d["counted"] == 0)
    run_id, pos = _runs(idle, d["patient_id"])
    d = d.assign(run_id=run_id, pos=pos)
    runs = named_agg(d[idle].groupby("run_id"), patient_id=("patient_id", "first"),
                     first=("day", "min"), last=("day", "max"), length=("day", "size"))
    runs = runs[runs["length"] >= n]
    if runs.empty:
        return empty_alerts()
    reached = runs["first"] + pd.Timedelta(days=n - 1)
    messages = [
        f"No exercise session logged on {length} program days in a row "
        f"({first:%Y-%m-%d} to {last:%Y-%m-%d})."
        for first, last, length in zip(runs["first"], runs["last"], runs["length"], strict=True)
    ]
    return _frame(runs["patient_id"], "no_activity", "info", reached, messages)


def low_adherence_alerts(weekly: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """``low_adherence`` alerts from :func:`analytics.metrics.adherence.weekly_adherence`."""
    n = settings.low_adherence_weeks
    w = weekly[weekly["prescribed"] > 0].sort_values(["patient_id", "week_start"],
                                                     kind="stable").reset_index(drop=True)
    if w.empty:
        return empty_alerts()
    gap = (w["week_start"].diff() != pd.Timedelta(days=7)).fillna(True).astype(bool)
    below = w["below_threshold"].astype(bool)
    new_patient = (w["patient_id"] != w["patient_id"].shift()).fillna(True).astype(bool)
    run_id = (new_patient | gap | ~below).cumsum()
    w = w.assign(run_id=run_id)
    runs = named_agg(
        w[below].groupby("run_id"), patient_id=("patient_id", "first"), first=("week_start", "min"),
        length=("week_start", "size"), lowest=("adherence_pct", "min"))
    runs = runs[runs["length"] >= n]
    if runs.empty:
        return empty_alerts()
    dated = runs["first"] + pd.Timedelta(days=7 * (n - 1) + 6)
    threshold = f"{settings.adherence_threshold_pct:g}%"
    messages = [
        f"Adherence below {threshold} for {length} weeks in a row from the week of "
        f"{first:%Y-%m-%d} (lowest week {lowest:.1f}%)."
        for first, length, lowest in zip(runs["first"], runs["length"], runs["lowest"],
                                         strict=True)
    ]
    return _frame(runs["patient_id"], "low_adherence", "warning", dated, messages)


def _frame(patients: pd.Series, kind: str, severity: str, dates: pd.Series,
           messages: list[str]) -> pd.DataFrame:
    text = string_dtype()
    return pd.DataFrame({
        "patient_id": patients.to_numpy(),
        "kind": kind, "severity": severity,
        "date": pd.to_datetime(dates.to_numpy()).astype("datetime64[ns]"),
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
