"""As-of date, each patient's period, and what is prescribed on each day of it.

Definitions (product definitions, shared by every metric):

* **As-of date**: ``to`` if given, else the last local day with any session or pain
  data in the whole dataset (not per patient, so that a patient who stopped logging
  does not look adherent).
* **Period** of a patient: from the earliest program ``start_date`` (or ``start`` if
  later) to the earlier of the latest program ``end_date`` and the as-of date;
  open-ended programs run to the as-of date.
* **Prescribed sessions** on a day: the largest ``times_per_day`` among the programs
  active that day (0 if none). ``days_per_week`` of the day is the largest among them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.names import normalize_name
from analytics.vector import map_distinct, named_agg, sort_frame, string_dtype


def exercise_key(frame: pd.DataFrame) -> pd.Series:
    """The key that matches logged rows to programs: the catalog id when linked, else
    ``"?" + normalised name`` (so an unlinked program can still be matched by name)."""
    ids = frame["exercise_id"].astype(string_dtype())
    need = ids.isna()
    if not need.any():
        return ids
    # Normalise each distinct unlinked name once, not once per row.
    names = frame["exercise"].where(need)
    fallback = "?" + map_distinct(names, normalize_name, dtype=string_dtype())
    return ids.fillna(fallback)


def as_of_date(sessions: pd.DataFrame, pain: pd.DataFrame,
               to: pd.Timestamp | str | None = None) -> pd.Timestamp | None:
    """The as-of day (midnight timestamp), or ``None`` when there is no data at all."""
    if to is not None:
        return pd.Timestamp(to).normalize()
    days = pd.concat([sessions["local_day"], pain["local_day"]], ignore_index=True).dropna()
    return None if days.empty else pd.Timestamp(days.max()).normalize()


def patient_periods(programs: pd.DataFrame, as_of: pd.Timestamp | None,
                    start: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """One row per patient with a program.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``; ``period_start``, ``period_end`` (local days, midnight
        timestamps); ``period_days`` (int, days in the period, 0 when it is empty).
    """
    if programs.empty or as_of is None:
        return pd.DataFrame({
            "patient_id": pd.Series([], dtype=string_dtype()),
            "period_start": pd.Series([], dtype="datetime64[ns]"),
            "period_end": pd.Series([], dtype="datetime64[ns]"),
            "period_days": pd.Series([], dtype="int64"),
        })
    grouped = programs.groupby("patient_id", sort=True)
    first = grouped["start_date"].min()
    open_ended = grouped["end_date"].apply(lambda s: s.isna().any())
    last = grouped["end_date"].max().where(~open_ended, as_of)
    period_start = first if start is None else first.clip(lower=pd.Timestamp(start).normalize())
    period_end = last.clip(upper=as_of)
    days = ((period_end - period_start).dt.days + 1).clip(lower=0).astype("int64")
    return pd.DataFrame({
        "patient_id": first.index.astype(string_dtype()),
        "period_start": period_start.to_numpy(),
        "period_end": period_end.to_numpy(),
        "period_days": days.to_numpy(),
    })


def _expand_days(frame: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """Repeat each row once per day from ``frame[start]`` to ``frame[end]`` (inclusive),
    adding ``day``. Rows with an empty range vanish."""
    n = ((frame[end] - frame[start]).dt.days + 1).clip(lower=0).fillna(0).astype("int64")
    pos = np.repeat(np.arange(len(frame)), n.to_numpy())
    out = frame.iloc[pos].reset_index(drop=True)
    offsets = np.arange(len(out)) - np.repeat(np.cumsum(n.to_numpy()) - n.to_numpy(),
                                              n.to_numpy())
    out["day"] = out[start].to_numpy() + pd.to_timedelta(offsets, unit="D")
    return out


def active_programs(programs: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """One row per program and day it is active inside its patient's period.

    Returns ``patient_id, day, key`` (exercise key, see :func:`exercise_key`),
    ``exercise_id``, ``times_per_day``, ``days_per_week``, ``sets``, ``reps``,
    ``hold_s`` (the prescribed dose).
    """
    cols = ["patient_id", "day", "key", "exercise_id", "times_per_day", "days_per_week",
            "sets", "reps", "hold_s"]
    if programs.empty or periods.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    p = programs.assign(key=exercise_key(programs)).merge(
        periods[["patient_id", "period_start", "period_end"]], on="patient_id")
    p["from"] = p[["start_date", "period_start"]].max(axis=1)
    p["until"] = p["end_date"].fillna(p["period_end"]).clip(upper=p["period_end"])
    # Only the output columns are repeated once per day (not the programs' text columns).
    keep = [c for c in cols if c != "day"] + ["from", "until"]
    out = _expand_days(p[keep], "from", "until")
    return out[cols]


def prescribed_days(programs: pd.DataFrame, periods: pd.DataFrame,
                    active: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per patient and local day of the period.

    ``active`` is :func:`active_programs` of the same arguments when already computed
    (it is then not computed again).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``day``; ``week_start`` (the Monday of the ISO week);
        ``prescribed`` (int, sessions prescribed that day: the largest
        ``times_per_day`` of the active programs, 0 if none); ``days_per_week``
        (int, the largest among active programs, 7 when none); ``n_active`` (int,
        distinct exercises prescribed that day).
    """
    if periods.empty:
        return pd.DataFrame({
            "patient_id": pd.Series([], dtype=string_dtype()),
            "day": pd.Series([], dtype="datetime64[ns]"),
            "week_start": pd.Series([], dtype="datetime64[ns]"),
            "prescribed": pd.Series([], dtype="int64"),
            "days_per_week": pd.Series([], dtype="int64"),
            "n_active": pd.Series([], dtype="int64"),
        })
    cal = _expand_days(periods, "period_start", "period_end")[["patient_id", "day"]]
    if active is None:
        active = active_programs(programs, periods)
    if not active.empty:
        per_day = named_agg(
            active.groupby(["patient_id", "day"], sort=False),
            prescribed=("times_per_day", "max"), days_per_week=("days_per_week", "max"),
            n_active=("key", "nunique")).reset_index()
        cal = cal.merge(per_day, on=["patient_id", "day"], how="left")
    for column, default in (("prescribed", 0), ("days_per_week", 7), ("n_active", 0)):
        if column not in cal:
            cal[column] = default
        cal[column] = cal[column].fillna(default).astype("int64")
    cal["week_start"] = cal["day"] - pd.to_timedelta(cal["day"].dt.day_of_week, unit="D")
    return sort_frame(cal[["patient_id", "day", "week_start", "prescribed", "days_per_week",
                           "n_active"]], ["patient_id", "day"]).reset_index(drop=True)
