"""Grouping logged rows into sessions and deciding which sessions count.

* **Session**: rows of one patient whose ``performed_at`` times are within
  ``Settings.session_gap_min`` (90) minutes of the previous row form one session.
  Gaps are measured in real (UTC) time, so a DST change never splits or merges a
  session; the session's day is the local day of its first row.
* A session **counts** toward the program if it contains at least one exercise
  prescribed on its day; it is **complete** if it contains all of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.metrics.calendar import exercise_key
from analytics.settings import Settings
from analytics.vector import first_positions, group_ids, joint_keys, named_agg, sort_frame

SESSION_COLUMNS = ("patient_id", "session_id", "day", "start_local", "start_utc", "end_utc",
                   "n_rows", "n_exercises", "n_prescribed_done", "n_active", "counted",
                   "complete")


def assign_sessions(sessions: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Return the logged rows sorted by patient and time with ``session_id`` (int,
    unique in the dataset), ``session_day`` (local day of the session's first row) and
    ``key`` (exercise key) added."""
    rows = sort_frame(sessions.assign(key=exercise_key(sessions)),
                      ["patient_id", "performed_at_utc", "line"]).reset_index(drop=True)
    new_patient = (rows["patient_id"] != rows["patient_id"].shift()).fillna(True).astype(bool)
    gap = rows["performed_at_utc"].diff() > pd.Timedelta(minutes=settings.session_gap_min)
    rows["session_id"] = (new_patient | gap).cumsum().astype("int64") - 1
    rows["session_day"] = rows.groupby("session_id")["local_day"].transform("first")
    return rows


def session_table(rows: pd.DataFrame, active: pd.DataFrame,
                  calendar: pd.DataFrame) -> pd.DataFrame:
    """One row per session (rows from :func:`assign_sessions`).

    Parameters
    ----------
    rows : DataFrame
        Output of :func:`assign_sessions`.
    active : DataFrame
        :func:`analytics.metrics.calendar.active_programs`.
    calendar : DataFrame
        :func:`analytics.metrics.calendar.prescribed_days`.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``session_id``, ``day`` (local day), ``start_local`` (local wall
        time of the first row), ``start_utc``, ``end_utc``, ``n_rows``, ``n_exercises``
        (distinct exercises), ``n_prescribed_done`` (distinct exercises prescribed that
        day that the session contains), ``n_active`` (exercises prescribed that day;
        0 outside the period), ``counted`` (bool), ``complete`` (bool).
    """
    if rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in SESSION_COLUMNS})
    grouped = rows.groupby("session_id", sort=True)
    table = named_agg(grouped, patient_id=("patient_id", "first"),
                      day=("session_day", "first"), start_local=("performed_at", "first"),
                      start_utc=("performed_at_utc", "first"),
                      end_utc=("performed_at_utc", "last"), n_rows=("line", "size"),
                      n_exercises=("key", "nunique")).reset_index()
    done_cols = ["session_id", "patient_id", "session_day", "key"]
    # A session has one patient and one day: grouping on (session, key) gives the same
    # groups as on all four columns, without factorising the long id and day columns.
    ids, n_groups = group_ids(rows, ["session_id", "key"])
    done = rows[done_cols].iloc[first_positions(ids, n_groups)]
    if not active.empty:
        # The distinct exercises of each session that are prescribed on its day: an
        # integer-key membership test instead of a three-column merge.
        done_key, active_key = joint_keys(done, active, ["patient_id", "session_day", "key"],
                                          ["patient_id", "day", "key"])
        hit = pd.Index(done_key).isin(active_key)
        n_done = done.loc[hit, "session_id"].value_counts(sort=False)
    else:
        n_done = pd.Series(dtype="int64")
    table["n_prescribed_done"] = table["session_id"].map(n_done).fillna(0).astype("int64")
    table_key, calendar_key = joint_keys(table, calendar, ["patient_id", "day"],
                                         ["patient_id", "day"])
    position = pd.Index(calendar_key).get_indexer(table_key)
    n_active = np.full(len(table), np.nan)
    found = position >= 0
    n_active[found] = calendar["n_active"].to_numpy(dtype="float64")[position[found]]
    table["n_active"] = pd.Series(n_active, index=table.index).fillna(0).astype("int64")
    table["counted"] = table["n_prescribed_done"] > 0
    table["complete"] = table["counted"] & (table["n_prescribed_done"] >= table["n_active"])
    return table[list(SESSION_COLUMNS)]
