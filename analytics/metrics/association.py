"""Weekly adherence versus the next week's change in pain (an association, not a cause).

Definitions:

* **Weekly pain** of an ISO week (Monday to Sunday, local days): the mean of the
  week's daily mean ratings (:func:`analytics.metrics.pain.pain_daily`); weeks without
  reports have none.
* **Next week's pain change** for week *w*: ``pain(w + 1) - pain(w)``, only when both
  weeks have reports (the weeks are consecutive, 7 days apart).
* Each week with an ``adherence_pct`` (weeks with nothing prescribed have none and are
  skipped) and a next week's pain change is one **pair**. Spearman's rho is the Pearson
  correlation of the two sides' average ranks, computed for patients with at least
  ``Settings.min_weeks_association`` (4) pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.settings import Settings
from analytics.vector import named_agg, string_dtype

ASSOCIATION_COLUMNS = ("patient_id", "n_weeks", "spearman_rho", "caveat")
WEEKLY_PAIN_COLUMNS = ("patient_id", "week_start", "pain_mean", "n_days")

CAVEAT = ("An association between weekly adherence and the next week's pain change, not a "
          "cause: other things change pain too.")


def weekly_pain(daily: pd.DataFrame) -> pd.DataFrame:
    """Mean pain per patient and ISO week.

    Parameters
    ----------
    daily : pandas.DataFrame
        :func:`analytics.metrics.pain.pain_daily` output.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``; ``week_start`` (the Monday of the ISO week, midnight
        ``datetime64``); ``pain_mean`` (0-10 points, mean of the week's daily means,
        not rounded); ``n_days`` (int, days with reports in the week). Only weeks with
        reports; sorted by patient and week.
    """
    if daily.empty:
        return pd.DataFrame({
            "patient_id": pd.Series([], dtype=string_dtype()),
            "week_start": pd.Series([], dtype="datetime64[ns]"),
            "pain_mean": pd.Series([], dtype="float64"),
            "n_days": pd.Series([], dtype="int64"),
        })
    day = daily["day"].astype("datetime64[ns]")
    frame = pd.DataFrame({
        "patient_id": daily["patient_id"].astype(string_dtype()),
        "week_start": day - pd.to_timedelta(day.dt.day_of_week, unit="D"),
        "day": day,
        "pain_mean": daily["pain_mean"].astype("float64"),
    }).sort_values(["patient_id", "day"], kind="stable")
    out = named_agg(frame.groupby(["patient_id", "week_start"], sort=True),
                    pain_mean=("pain_mean", "mean"), n_days=("day", "size")).reset_index()
    out["n_days"] = out["n_days"].astype("int64")
    return out[list(WEEKLY_PAIN_COLUMNS)]


def _pairs(weekly: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    """``patient_id, week_start, adherence_pct, pain_change_next`` for every week with
    an adherence value and a next week's pain change."""
    pain = weekly_pain(daily)
    following = pain.assign(week_start=pain["week_start"] - pd.Timedelta(days=7))
    pain = pain.merge(following[["patient_id", "week_start", "pain_mean"]],
                      on=["patient_id", "week_start"], suffixes=("", "_next"))
    pain["pain_change_next"] = pain["pain_mean_next"] - pain["pain_mean"]
    adherence = pd.DataFrame({
        "patient_id": weekly["patient_id"].astype(string_dtype()),
        "week_start": weekly["week_start"].astype("datetime64[ns]").dt.normalize(),
        "adherence_pct": weekly["adherence_pct"].astype("float64"),
    }).dropna(subset=["adherence_pct"])
    pairs = adherence.merge(pain[["patient_id", "week_start", "pain_change_next"]],
                            on=["patient_id", "week_start"])
    return pairs.sort_values(["patient_id", "week_start"], kind="stable").reset_index(drop=True)


def adherence_pain_association(weekly: pd.DataFrame, daily: pd.DataFrame,
                               settings: Settings) -> pd.DataFrame:
    """Spearman correlation of weekly adherence with the next week's pain change.

    Parameters
    ----------
    weekly : pandas.DataFrame
        ``patient_id``, ``week_start`` (Monday, midnight), ``adherence_pct`` (0-100 %,
        NaN for weeks with nothing prescribed; those weeks are skipped).
    daily : pandas.DataFrame
        :func:`analytics.metrics.pain.pain_daily` output.
    settings : Settings
        Uses ``min_weeks_association`` (4; a product choice: fewer pairs give no
        meaningful rank correlation).

    Returns
    -------
    pandas.DataFrame
        One row per patient in ``weekly`` or ``daily``: ``patient_id``; ``n_weeks``
        (int, pairs of a week's adherence and the next week's pain change);
        ``spearman_rho`` (-1 to 1, rounded to 2 decimals; positive = higher adherence
        goes with a larger rise in pain the next week, negative = with a larger fall;
        null with fewer than ``min_weeks_association`` pairs, or when either side
        never varies); ``caveat`` (plain words: "fewer than 4 weeks of data", or that
        this is an association and not a cause). Sorted by patient.
    """
    patients = pd.Index(pd.concat([weekly["patient_id"].astype(string_dtype()),
                                   daily["patient_id"].astype(string_dtype())]).dropna().unique(),
                        dtype=string_dtype()).sort_values()
    pairs = _pairs(weekly, daily)
    by = pairs.groupby("patient_id", sort=True)
    x = by["adherence_pct"].rank(method="average")
    y = by["pain_change_next"].rank(method="average")
    dx = x - x.groupby(pairs["patient_id"]).transform("mean")
    dy = y - y.groupby(pairs["patient_id"]).transform("mean")
    sums = pd.DataFrame({"sxy": dx * dy, "sxx": dx * dx, "syy": dy * dy}).groupby(
        pairs["patient_id"], sort=True).sum()
    denominator = np.sqrt(sums["sxx"] * sums["syy"])
    rho = (sums["sxy"] / denominator.where(denominator > 0)).clip(-1, 1)
    n_weeks = by.size().reindex(patients, fill_value=0).astype("int64")
    enough = n_weeks >= settings.min_weeks_association
    rho = rho.reindex(patients).where(enough).round(2)
    caveat = np.where(enough.to_numpy(), CAVEAT,
                      f"fewer than {settings.min_weeks_association} weeks of data")
    return pd.DataFrame({
        "patient_id": pd.array(patients, dtype=string_dtype()),
        "n_weeks": n_weeks.to_numpy(),
        "spearman_rho": rho.to_numpy(dtype="float64", na_value=np.nan),
        "caveat": pd.array(caveat, dtype=string_dtype()),
    })[list(ASSOCIATION_COLUMNS)]
