"""Consistency: sessions done against sessions prescribed, per day, week and patient,
and streaks.

Definitions (product definitions):

* On a day whose programs are done every day (``days_per_week`` 7), the day's
  prescription is ``prescribed`` sessions and ``done = min(counted sessions,
  prescribed)``.
* Days whose programs have ``days_per_week`` < 7 are judged per ISO week (Monday
  first): the week's quota is ``days_per_week x times_per_day``, any days count
  (each day capped at its ``times_per_day``), and a week only partly inside the period
  gets the quota prorated by the share of its days inside, rounded to the nearest
  whole session (halves up).
* ``adherence_pct = 100 x sessions_done / sessions_prescribed`` over the period, one
  decimal; the *complete* variant counts only sessions that contain every exercise
  prescribed that day. ``adherent`` is ``adherence_pct >= threshold`` (default 80%).
* **Streaks**: consecutive local days within the period with at least one counted
  session. ``current_streak_days`` is the streak that includes the period's last day
  or the day before it, else 0. ``days_since_last_session`` = period end minus the day
  of the last counted session (null if none).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.settings import Settings
from analytics.vector import first_of_runs, run_lengths, sort_frame


def daily_adherence(calendar: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per patient and day of the period.

    Parameters
    ----------
    calendar : DataFrame
        :func:`analytics.metrics.calendar.prescribed_days`.
    sessions : DataFrame
        :func:`analytics.metrics.sessions.session_table`.

    Returns
    -------
    pandas.DataFrame
        The calendar's columns plus ``counted`` (int, counted sessions that day),
        ``complete`` (int, complete sessions), ``done`` (int, ``min(counted,
        prescribed)``), ``done_complete`` (int, ``min(complete, prescribed)``) and
        ``weekly_mode`` (bool, the day is judged in its week's quota).
    """
    out = calendar.copy()
    if sessions.empty:
        out["counted"] = 0
        out["complete"] = 0
    else:
        counts = (sessions.assign(counted=sessions["counted"].astype("int64"),
                                  complete=sessions["complete"].astype("int64"))
                  .groupby(["patient_id", "day"], sort=False)[["counted", "complete"]]
                  .sum().reset_index())
        out = out.merge(counts, on=["patient_id", "day"], how="left")
    for c in ("counted", "complete"):
        out[c] = out[c].fillna(0).astype("int64")
    out["done"] = np.minimum(out["counted"], out["prescribed"]).astype("int64")
    out["done_complete"] = np.minimum(out["complete"], out["prescribed"]).astype("int64")
    out["weekly_mode"] = (out["days_per_week"] < 7) & (out["prescribed"] > 0)
    return out


def weekly_adherence(daily: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """One row per patient and ISO week touching the period.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``week_start`` (Monday), ``days_in_period`` (int),
        ``prescribed`` (int sessions, quota rules in the module docstring),
        ``done`` (int), ``done_complete`` (int), ``adherence_pct`` and
        ``complete_sessions_pct`` (0-100, one decimal; null when nothing was
        prescribed), ``below_threshold`` (bool; False when nothing was prescribed).
    """
    keys = ["patient_id", "week_start"]
    # Sorted by patient and day, each (patient, week) is one run of rows.
    d = sort_frame(daily, ["patient_id", "day"]).reset_index(drop=True)
    first = np.flatnonzero(first_of_runs(d, keys))
    weekly_mode = d["weekly_mode"].to_numpy(dtype=bool)

    def per_week(values: pd.Series, rows: np.ndarray, how: np.ufunc) -> np.ndarray:
        """``how`` (add or maximum) of ``values`` over ``rows`` of each week (0 when the
        week has none of those rows; the values are counts, never negative)."""
        masked = np.where(rows, values.to_numpy(dtype="int64"), 0)
        return how.reduceat(masked, first) if len(first) else masked[:0]

    # Daily-mode days: sum each day's own prescription and capped count.
    daily_mode = ~weekly_mode
    prescribed = per_week(d["prescribed"], daily_mode, np.add)
    done = per_week(d["done"], daily_mode, np.add)
    done_complete = per_week(d["done_complete"], daily_mode, np.add)
    # Weekly-mode days: a prorated quota per week, capped done.
    n_days = per_week(pd.Series(weekly_mode), weekly_mode, np.add)
    dpw = per_week(d["days_per_week"], weekly_mode, np.maximum)
    tpd = per_week(d["prescribed"], weekly_mode, np.maximum)
    quota = np.floor(dpw * tpd * n_days / 7 + 0.5).astype("int64")
    prescribed += quota
    done += np.minimum(per_week(d["done"], weekly_mode, np.add), quota)
    done_complete += np.minimum(per_week(d["done_complete"], weekly_mode, np.add), quota)
    out = d[keys].take(first).reset_index(drop=True)
    out["days_in_period"] = np.diff(np.append(first, len(d))).astype("int64")
    out["prescribed"] = prescribed
    out["done"] = done
    out["done_complete"] = done_complete
    out["adherence_pct"] = _pct(out["done"], out["prescribed"])
    out["complete_sessions_pct"] = _pct(out["done_complete"], out["prescribed"])
    out["below_threshold"] = (out["adherence_pct"] < settings.adherence_threshold_pct).fillna(
        False).astype(bool)
    return out


def _pct(done: pd.Series, prescribed: pd.Series) -> pd.Series:
    ratio = done.astype("float64") / prescribed.astype("float64").where(prescribed > 0)
    return (100 * ratio).round(1)


def patient_adherence(weekly: pd.DataFrame, periods: pd.DataFrame,
                      settings: Settings) -> pd.DataFrame:
    """One row per patient with a period.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``sessions_prescribed`` (int), ``sessions_done`` (int),
        ``complete_sessions_done`` (int), ``adherence_pct``, ``complete_sessions_pct``
        (0-100, one decimal, null when nothing was prescribed), ``adherent`` (bool,
        ``adherence_pct >= settings.adherence_threshold_pct``; False when null).
    """
    totals = weekly.groupby("patient_id", sort=False)[["prescribed", "done",
                                                        "done_complete"]].sum()
    out = periods[["patient_id"]].merge(totals, left_on="patient_id", right_index=True,
                                        how="left").fillna(0)
    out = out.rename(columns={"prescribed": "sessions_prescribed", "done": "sessions_done",
                              "done_complete": "complete_sessions_done"})
    for c in ("sessions_prescribed", "sessions_done", "complete_sessions_done"):
        out[c] = out[c].astype("int64")
    out["adherence_pct"] = _pct(out["sessions_done"], out["sessions_prescribed"])
    out["complete_sessions_pct"] = _pct(out["complete_sessions_done"], out["sessions_prescribed"])
    out["adherent"] = (out["adherence_pct"] >= settings.adherence_threshold_pct).fillna(
        False).astype(bool)
    return out.reset_index(drop=True)


def streaks(daily: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """Streaks of days with at least one counted session, per patient.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``longest_streak_days`` (int), ``current_streak_days`` (int),
        ``last_session_day`` (local day of the last counted session, null if none),
        ``days_since_last_session`` (int days from it to the period end, null if none).
    """
    d = sort_frame(daily, ["patient_id", "day"]).reset_index(drop=True)
    # ``daily`` holds every day of each period: consecutive rows are consecutive days.
    active = d["counted"].to_numpy(dtype="int64") > 0
    new_patient = first_of_runs(d, ["patient_id"])
    first = np.flatnonzero(new_patient)
    run_len = run_lengths(active, new_patient)
    last = np.append(first[1:], len(d)) - 1
    day = d["day"].to_numpy(dtype="datetime64[ns]").view("int64")
    nat = np.iinfo(np.int64).min
    if len(d):
        longest = np.maximum.reduceat(run_len, first)
        # The streak still counts when today has no session yet: then it ends yesterday.
        before = np.where(last > first, run_len[np.maximum(last - 1, 0)], 0)
        current = np.where(run_len[last] > 0, run_len[last], before)
        last_day = np.maximum.reduceat(np.where(active, day, nat), first)
    else:
        longest = current = last_day = np.zeros(0, dtype="int64")
    at = pd.Index(d["patient_id"].take(first)).get_indexer(periods["patient_id"])

    def per_period(values: np.ndarray, missing: int) -> np.ndarray:
        """``values`` of each period's patient (``missing`` for a patient without days)."""
        taken = values[np.maximum(at, 0)] if len(values) else np.zeros(len(at), "int64")
        return np.where(at >= 0, taken, missing).astype("int64")

    out = periods[["patient_id", "period_end"]].reset_index(drop=True)
    out["longest_streak_days"] = per_period(longest, 0)
    out["current_streak_days"] = per_period(current, 0)
    out["last_session_day"] = per_period(last_day, nat).view("datetime64[ns]")
    since = (out["period_end"] - out["last_session_day"]).dt.days
    out["days_since_last_session"] = since.astype("Int64")
    return out.drop(columns="period_end").reset_index(drop=True)
