"""Dose fidelity: what was done in a session against the prescribed dose.

Definitions (product definitions):

* A logged row is matched to the prescription of its patient, its **session's** day
  (:func:`analytics.metrics.sessions.assign_sessions` ``session_day``) and its exercise
  key. Rows of exercises not prescribed that day are left out.
* When several programs prescribe the same exercise on the same day, the largest dose
  (``reps x sets``, then ``hold_s``) is the prescription.
* **Repetitions done** in a session: the sum over its rows of ``reps x sets``
  (``sets`` defaults to 1 on loading). **Prescribed**: ``reps x sets`` of the
  prescription (a missing prescribed ``sets`` counts as 1).
* ``dose_pct = 100 x done / prescribed`` capped at 100 (the adherence view: more than
  prescribed is not "more adherent"); ``dose_pct_uncapped`` is the same uncapped (the
  "did more" view). Null when the prescription has no reps (or 0 reps), or when no row
  logged reps.
* ``hold_fidelity = mean logged hold / prescribed hold`` (a ratio, 1.0 = as
  prescribed). Null when no hold is prescribed (or it is 0 s) or none was logged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.vector import (
    first_positions,
    group_ids,
    joint_keys,
    named_agg,
    sort_order,
    sorted_runs,
)

DOSE_COLUMNS = ("patient_id", "session_id", "day", "exercise_id", "key", "reps_done",
                "reps_prescribed", "dose_pct", "dose_pct_uncapped", "hold_s_mean",
                "hold_s_prescribed", "hold_fidelity")
DOSE_BY_EXERCISE_COLUMNS = ("patient_id", "exercise_id", "key", "n_sessions", "dose_pct_mean",
                            "dose_pct_uncapped_mean", "hold_fidelity_mean")


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})


def prescription_per_day(active: pd.DataFrame) -> pd.DataFrame:
    """One prescription per patient, day and exercise key.

    Parameters
    ----------
    active : DataFrame
        :func:`analytics.metrics.calendar.active_programs`.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``day``, ``key``, ``exercise_id``, ``sets`` (Int64),
        ``reps`` (Int64), ``hold_s`` (float seconds) and ``reps_prescribed``
        (Int64, ``reps x sets`` with a missing ``sets`` counted as 1; null without
        reps). Where several programs prescribe the exercise that day, the row with the
        largest ``reps_prescribed`` (then ``hold_s``) is kept.
    """
    a, winners = _prescription_rows(active)
    return a.take(winners).reset_index(drop=True)


def _prescription_rows(active: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The prescription columns of every active row, and the positions of the rows
    :func:`prescription_per_day` keeps, in its (sorted) order."""
    cols = ["patient_id", "day", "key", "exercise_id", "sets", "reps", "hold_s"]
    a = active[cols]  # copy-on-write: the columns set below never touch ``active``
    a["sets"] = a["sets"].astype("Int64")
    a["reps"] = a["reps"].astype("Int64")
    a["hold_s"] = a["hold_s"].astype("float64")
    reps = a["reps"].where((a["reps"] > 0).fillna(False))
    a["reps_prescribed"] = (reps * a["sets"].fillna(1)).astype("Int64")
    a = a.reset_index(drop=True)
    order, first = sorted_runs(a, ["patient_id", "day", "key", "reps_prescribed", "hold_s"],
                               [True, True, True, False, False], 3)
    return a, order[first]


def session_dose(rows: pd.DataFrame, active: pd.DataFrame) -> pd.DataFrame:
    """One row per session and prescribed exercise done in it.

    Parameters
    ----------
    rows : DataFrame
        :func:`analytics.metrics.sessions.assign_sessions` (not modified).
    active : DataFrame
        :func:`analytics.metrics.calendar.active_programs` (not modified).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``patient_id``, ``session_id``, ``key``:

        ``patient_id``; ``session_id`` (int); ``day`` (local day of the session,
        midnight timestamp); ``exercise_id`` (catalog id, missing when unlinked);
        ``key`` (exercise key); ``reps_done`` (Int64 repetitions, sum of
        ``reps x sets`` over the session's rows; null when no row logged reps);
        ``reps_prescribed`` (Int64 repetitions, prescribed ``reps x sets``; null when
        the prescription has no reps); ``dose_pct`` (float %, ``100 x done /
        prescribed`` capped at 100); ``dose_pct_uncapped`` (float %, not capped);
        ``hold_s_mean`` (float seconds, mean logged hold; null when none logged);
        ``hold_s_prescribed`` (float seconds; null when none prescribed);
        ``hold_fidelity`` (float ratio, ``hold_s_mean / hold_s_prescribed``; null when
        either is missing or the prescribed hold is 0).
    """
    if rows.empty or active.empty:
        return _empty(DOSE_COLUMNS)
    table, winners = _prescription_rows(active)
    presc = table[["patient_id", "day", "key"]].take(winners).reset_index(drop=True)
    r = rows[["patient_id", "session_id", "session_day", "key", "sets", "reps", "hold_s"]]
    r = r.assign(reps_x_sets=(r["reps"].astype("Int64") * r["sets"].astype("Int64").fillna(1)),
                 hold_s=r["hold_s"].astype("float64"))
    keys = ["patient_id", "session_id", "session_day", "key"]
    # Grouped on one integer group number (same groups and order as grouping on the
    # four keys with sort=False), then the keys are taken from each group's first row.
    # A session has one patient and one day: (session, key) makes the same groups.
    ids, n_groups = group_ids(r, ["session_id", "key"])
    kept = ids >= 0
    stats = named_agg(r.loc[kept, ["reps_x_sets", "hold_s"]].groupby(ids[kept], sort=True),
                      reps_sum=("reps_x_sets", "sum"), reps_n=("reps_x_sets", "count"),
                      hold_s_mean=("hold_s", "mean"))
    per = r[keys].iloc[first_positions(ids, n_groups)].reset_index(drop=True)
    for c in ("reps_sum", "reps_n", "hold_s_mean"):
        per[c] = stats[c].array
    per["reps_done"] = per["reps_sum"].astype("Int64").where(per["reps_n"] > 0)
    # Intermediates are deleted as soon as they are used: at 2,000 patients x 365 days
    # each is 100-450 MB, and together they set the pipeline's peak memory.
    del r, ids, kept, stats
    # Inner join on (patient, day, key), unique in ``presc``: integer keys and a lookup.
    per_key, presc_key = joint_keys(per, presc, ["patient_id", "session_day", "key"],
                                    ["patient_id", "day", "key"])
    position = pd.Index(presc_key).get_indexer(per_key)
    del per_key, presc_key, presc
    # The kept rows in the output order (patient, session, key; one row each), taken once.
    order = sort_order(per[["patient_id", "session_id", "key"]],
                       ["patient_id", "session_id", "key"])
    order = order[position[order] >= 0]
    out = per.take(order).reset_index(drop=True)
    del per
    matched = table.drop(columns=["patient_id", "day", "key"]).iloc[winners[position[order]]]
    del table, winners, position, order
    for c in matched.columns:
        out[c] = matched[c].array
    out = out.rename(columns={"session_day": "day", "hold_s": "hold_s_prescribed"})
    out["reps_done"] = out["reps_done"].astype("Int64")
    done = out["reps_done"].astype("float64")
    prescribed = out["reps_prescribed"].astype("float64")
    out["dose_pct_uncapped"] = (100.0 * done / prescribed).astype("float64")
    out["dose_pct"] = out["dose_pct_uncapped"].clip(upper=100.0)
    target = out["hold_s_prescribed"].where(out["hold_s_prescribed"] > 0)  # NaN -> NaN
    out["hold_fidelity"] = (out["hold_s_mean"] / target).astype("float64")
    return out[list(DOSE_COLUMNS)]


def dose_by_exercise(dose: pd.DataFrame) -> pd.DataFrame:
    """Dose fidelity per patient and exercise.

    Parameters
    ----------
    dose : DataFrame
        :func:`session_dose`.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``patient_id``, ``key``: ``patient_id``; ``exercise_id`` (missing
        when unlinked); ``key``; ``n_sessions`` (int, sessions containing the
        exercise on a day it was prescribed); ``dose_pct_mean`` (float %, mean of the
        capped session ``dose_pct``, nulls skipped); ``dose_pct_uncapped_mean`` (float
        %); ``hold_fidelity_mean`` (float ratio, mean session ``hold_fidelity``). A mean
        is null when no session has a value.
    """
    if dose.empty:
        return _empty(DOSE_BY_EXERCISE_COLUMNS)
    out = named_agg(dose.groupby(["patient_id", "key"], sort=True),
                    exercise_id=("exercise_id", "first"), n_sessions=("session_id", "nunique"),
                    dose_pct_mean=("dose_pct", "mean"),
                    dose_pct_uncapped_mean=("dose_pct_uncapped", "mean"),
                    hold_fidelity_mean=("hold_fidelity", "mean")).reset_index()
    out["n_sessions"] = out["n_sessions"].astype(np.int64)
    return out[list(DOSE_BY_EXERCISE_COLUMNS)]
