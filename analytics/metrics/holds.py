"""Hold progression: how long static holds last, day by day, against their target.

Definitions (product definitions):

* Only exercises with a **hold prescription** (prescribed ``hold_s`` > 0) count, and only
  logged holds on days the hold is prescribed. A row belongs to its **session's** day
  (``session_day`` of :func:`analytics.metrics.sessions.assign_sessions`); when several
  programs prescribe the exercise that day the longest hold is the target.
* **Daily best**: the longest logged hold of the day (seconds).
* **First/last 7**: means of the daily best over the first and last 7 *logged* days
  (fewer when fewer were logged).
* **Trend**: the Theil-Sen slope (Sen 1968): the median of the slopes
  ``(y_j - y_i) / (x_j - x_i)`` over all pairs of logged days ``x_i < x_j`` with
  ``y`` the daily best, in seconds per day, times 7. Robust to a mistyped outlier
  (up to ~29% of points) where a least-squares line is not.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from analytics.vector import (
    first_of_runs,
    first_positions,
    group_ids,
    joint_keys,
    named_agg,
    sorted_group_ids,
)

DAILY_COLUMNS = ("patient_id", "exercise_id", "key", "day", "hold_s_best", "hold_s_mean",
                 "target_s", "pct_of_target")
SUMMARY_COLUMNS = ("patient_id", "exercise_id", "key", "target_s", "n_days", "first7_mean_s",
                   "last7_mean_s", "slope_s_per_week", "personal_best_s", "personal_best_day",
                   "target_reached_day", "pct_of_target_last7")
#: Logged days in the "first" and "last" windows.
WINDOW_DAYS = 7


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})


def theil_sen_slope(x: np.ndarray, y: np.ndarray) -> float:
    """The Theil-Sen slope of ``y`` against ``x``: the median of all pairwise slopes.

    Parameters
    ----------
    x, y : numpy.ndarray
        Equal-length float arrays (``x`` need not be sorted).

    Returns
    -------
    float
        Units of ``y`` per unit of ``x``; NaN when fewer than two distinct ``x``.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    i, j = _pairs(len(x))
    dx = x[j] - x[i]
    keep = dx != 0
    if keep.all():
        return float(np.median((y[j] - y[i]) / dx)) if len(dx) else float("nan")
    if not keep.any():
        return float("nan")
    return float(np.median((y[j] - y[i])[keep] / dx[keep]))


@functools.lru_cache(maxsize=512)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.triu_indices(n, k=1)`` (cached: groups of the same size share it)."""
    i, j = np.triu_indices(n, k=1)
    i.setflags(write=False)
    j.setflags(write=False)
    return i, j


def _slopes(daily: pd.DataFrame, group: np.ndarray) -> np.ndarray:
    """Theil-Sen slope (seconds per day) of ``hold_s_best`` vs day for each group
    (``group``: 0, 1, ... per row, the rows of a group next to each other)."""
    x = ((daily["day"] - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy("float64")
    y = daily["hold_s_best"].to_numpy("float64")
    n_groups = int(group.max()) + 1 if len(group) else 0
    bounds = np.append(np.searchsorted(group, np.arange(n_groups)), len(group))
    return np.array([theil_sen_slope(x[a:b], y[a:b])
                     for a, b in zip(bounds[:-1], bounds[1:], strict=True)], dtype="float64")


def hold_progression(rows: pd.DataFrame,
                     active: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily hold results and a per-exercise progression summary.

    Parameters
    ----------
    rows : DataFrame
        :func:`analytics.metrics.sessions.assign_sessions` (any row order; not modified).
    active : DataFrame
        :func:`analytics.metrics.calendar.active_programs` (not modified).

    Returns
    -------
    daily : pandas.DataFrame
        One row per patient, exercise and local day with a logged hold on a day the
        hold is prescribed, sorted by ``patient_id``, ``key``, ``day``:
        ``patient_id``; ``exercise_id`` (missing when unlinked); ``key`` (exercise
        key); ``day`` (local day, midnight timestamp); ``hold_s_best`` (float seconds,
        longest hold logged that day); ``hold_s_mean`` (float seconds, mean logged
        hold that day); ``target_s`` (float seconds, the hold prescribed that day);
        ``pct_of_target`` (float %, ``100 x hold_s_best / target_s``).
    summary : pandas.DataFrame
        One row per patient and exercise in ``daily``, sorted by ``patient_id``,
        ``key``: ``patient_id``; ``exercise_id``; ``key``; ``target_s`` (float seconds,
        prescribed on the latest day of the period the hold is prescribed);
        ``n_days`` (int, logged days); ``first7_mean_s`` and ``last7_mean_s`` (float
        seconds, mean daily best over the first / last 7 logged days);
        ``slope_s_per_week`` (float seconds per week, Theil-Sen slope of the daily best
        against the day; null with fewer than 2 days); ``personal_best_s`` (float
        seconds, longest daily best); ``personal_best_day`` (first day it was
        reached); ``target_reached_day`` (first day the daily best reached that day's
        target; NaT if never); ``pct_of_target_last7`` (float %, ``100 x
        last7_mean_s / target_s``).
    """
    if rows.empty or active.empty:
        return _empty(DAILY_COLUMNS), _empty(SUMMARY_COLUMNS)
    # Only rows with a positive hold can give a positive target: the others are left out
    # before grouping (a key's rows share one exercise_id, so "first" is unchanged).
    holds = active.loc[(active["hold_s"].astype("float64") > 0).fillna(False).to_numpy(
        dtype=bool), ["patient_id", "day", "key", "exercise_id", "hold_s"]]
    # groupby(["patient_id", "day", "key"], sort=False) on integer group numbers.
    gid, n_presc = group_ids(holds, ["patient_id", "day", "key"])
    kept = gid >= 0
    presc = holds[["patient_id", "day", "key"]].iloc[first_positions(gid, n_presc)]
    presc = presc.reset_index(drop=True)
    presc["exercise_id"] = holds["exercise_id"].array.take(first_positions(gid, n_presc))
    presc["target_s"] = (holds["hold_s"].astype("float64")[kept]
                         .groupby(gid[kept], sort=True).max().to_numpy())
    presc = presc[(presc["target_s"] > 0).fillna(False)]
    # Intermediates are deleted as soon as they are used: at 2,000 patients x 365 days
    # each is 100-450 MB, and together they set the pipeline's peak memory.
    del holds, gid, kept
    keys = ["patient_id", "key"]
    # The target on each (patient, key)'s latest prescribed day (days are unique in a
    # group): the last row of each group once sorted by group and day.
    pk, n_pk = sorted_group_ids(presc, keys)
    day = presc["day"].to_numpy(dtype="datetime64[ns]").view("int64")
    order = np.lexsort((day, pk))
    order = order[pk[order] >= 0]
    last = order[np.append(pk[order][1:] != pk[order][:-1], True)] if len(order) else order
    latest = np.full(n_pk, np.nan)
    latest[pk[last]] = presc["target_s"].to_numpy(dtype="float64")[last]

    logged = rows.loc[rows["hold_s"].notna(), ["patient_id", "session_day", "key", "hold_s"]]
    logged = logged.rename(columns={"session_day": "day"}).reset_index(drop=True)
    # Inner join with the prescriptions, unique per (patient, day, key): integer keys.
    logged_key, presc_key = joint_keys(logged, presc, ["patient_id", "day", "key"],
                                       ["patient_id", "day", "key"])
    position = pd.Index(presc_key).get_indexer(logged_key)
    del logged_key, presc_key
    found = position >= 0
    logged = logged[found].reset_index(drop=True)
    logged["exercise_id"] = presc["exercise_id"].array.take(position[found])
    logged["target_s"] = presc["target_s"].to_numpy()[position[found]]
    logged_pk = pk[position[found]]  # each logged row's (patient, key) number
    del presc, position, found, pk, day, order, last
    if logged.empty:
        return _empty(DAILY_COLUMNS), _empty(SUMMARY_COLUMNS)
    logged["hold_s"] = logged["hold_s"].astype("float64")

    # Grouped on integer group numbers in sorted key order (the same groups and order as
    # grouping on the keys with sort=True); keys, exercise id and target are constant in
    # a group and taken from its first row.
    day_keys = ["patient_id", "key", "day"]
    ids, n_groups = sorted_group_ids(logged, day_keys)
    kept = ids >= 0
    stats = logged.loc[kept, ["hold_s"]].groupby(ids[kept], sort=True)["hold_s"].agg(
        ["max", "mean"])
    firsts = first_positions(ids, n_groups)
    daily = logged[day_keys].iloc[firsts].reset_index(drop=True)
    daily["exercise_id"] = logged["exercise_id"].array.take(firsts)
    daily["hold_s_best"] = stats["max"].to_numpy()
    daily["hold_s_mean"] = stats["mean"].to_numpy()
    daily["target_s"] = logged["target_s"].to_numpy()[firsts].astype("float64")
    daily["pct_of_target"] = 100.0 * daily["hold_s_best"] / daily["target_s"]
    daily = daily[list(DAILY_COLUMNS)]
    daily_pk = logged_pk[firsts]
    del logged, logged_pk, ids, kept, stats, firsts

    # ``daily`` is sorted by patient and key: each group is one run of rows.
    group = np.cumsum(first_of_runs(daily, keys)) - 1
    g = daily.groupby(group, sort=True)
    rank = g.cumcount()
    n = g["day"].transform("size")
    best = daily["hold_s_best"]
    is_pb = best == g["hold_s_best"].transform("max")
    reached = best >= daily["target_s"]
    helper = pd.DataFrame({
        "first7": best.where(rank < WINDOW_DAYS), "last7": best.where(rank >= n - WINDOW_DAYS),
        "pb_day": daily["day"].where(is_pb), "reached_day": daily["day"].where(reached)})
    summary = named_agg(helper.groupby(group, sort=True),
                        n_days=("first7", "size"), first7_mean_s=("first7", "mean"),
                        last7_mean_s=("last7", "mean"), personal_best_day=("pb_day", "min"),
                        target_reached_day=("reached_day", "min"))
    starts = np.flatnonzero(first_of_runs(daily, keys))
    summary = summary.reset_index(drop=True)
    for column in keys:
        summary[column] = daily[column].take(starts).array
    summary["exercise_id"] = g["exercise_id"].first().array
    summary["personal_best_s"] = g["hold_s_best"].max().to_numpy()
    summary["slope_s_per_week"] = _slopes(daily, group) * 7.0

    summary["target_s"] = latest[daily_pk[starts]]
    summary["pct_of_target_last7"] = 100.0 * summary["last7_mean_s"] / summary["target_s"]
    summary["n_days"] = summary["n_days"].astype("int64")
    return daily.reset_index(drop=True), summary[list(SUMMARY_COLUMNS)]
