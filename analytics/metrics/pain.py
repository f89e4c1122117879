"""Pain reports: daily summaries, change from baseline, before/after sessions, alerts.

Definitions (shared by every function here):

* A report's **day** is its ``local_day``: the patient's local calendar day, so a
  report at 23:30 local time belongs to that evening's day whatever its UTC date.
* **Daily mean**: the mean of all reports of a patient on one local day.
* **7-day rolling mean** on day *d*: the mean of the daily means of the report days in
  the calendar window [*d* - 6, *d*]; days without reports are skipped (never zero);
  missing when the window holds no report day.
* **Baseline** / **recent**: the mean of *all reports* (not of daily means) in the
  first / last ``Settings.pain_window_days`` (7) local calendar days of a patient's
  reports.
* A clinically important change on the 0-10 numeric rating scale is a fall of at
  least 2 points or 30% (Farrar JT et al. 2001, Pain 94:149-158; Ostelo RW et al.
  2008, Spine 33:90-94); a rise of 2 points is reported as worse (same sources,
  applied symmetrically). A rating of 7-10 is "severe" (Serlin RC et al. 1995, Pain
  61:277-284). Every threshold comes from :class:`analytics.settings.Settings`.

All functions are pure (inputs are never modified), work on a whole cohort at once and
give the same result whatever the order of the input rows. Alert messages describe
what was reported and what the exercise guidance advises; they never diagnose.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from analytics.metrics.alerts import ALERT_COLUMNS, SEVERITY_ORDER
from analytics.settings import Settings
from analytics.vector import first_of_runs, named_agg, sort_frame, string_dtype

#: Calendar days in the rolling mean of daily means (``rolling_7d_mean``).
ROLLING_DAYS = 7

#: Symptoms after which the exercise guidance says to stop and contact a professional.
NERVE_SYMPTOMS: tuple[str, ...] = ("numbness", "tingling", "weakness")
#: Symptoms that need medical attention now.
URGENT_SYMPTOMS: tuple[str, ...] = ("bladder_bowel", "saddle_numbness")
#: Plain words used in messages for each red-flag symptom.
SYMPTOM_WORDS: dict[str, str] = {
    "numbness": "numbness",
    "tingling": "tingling",
    "weakness": "weakness",
    "bladder_bowel": "changes in bladder or bowel control",
    "saddle_numbness": "numbness in the groin/inner thighs (saddle area)",
}

#: Advice quoted from the article "Video Series: Exercises to Keep a Healthy Back".
STOP_ADVICE = ("The exercise guidance says to stop and contact your spine professional if "
               "you notice pain, weakness, tingling or numbness.")
URGENT_ADVICE = ("These symptoms need medical attention now. Seek medical care now "
                 "(emergency department or urgent care).")

DAILY_COLUMNS = ("patient_id", "day", "pain_mean", "pain_min", "pain_max", "pain_range",
                 "n_reports", "rolling_7d_mean")
CHANGE_COLUMNS = ("patient_id", "first_day", "last_day", "pain_baseline", "n_baseline",
                  "pain_recent", "n_recent", "pain_change", "pain_change_pct", "pain_status")
BEFORE_AFTER_COLUMNS = ("patient_id", "n_days", "before_mean", "after_mean", "mean_diff")
VARIABILITY_COLUMNS = ("patient_id", "mean_daily_range", "max_daily_range")

_STRING_COLUMNS = frozenset({"patient_id", "pain_status", "kind", "severity", "message"})
_DTYPES: dict[str, str] = {
    "day": "datetime64[ns]", "first_day": "datetime64[ns]",
    "last_day": "datetime64[ns]", "date": "datetime64[ns]", "n_reports": "int64",
    "n_baseline": "int64", "n_recent": "int64", "n_days": "int64",
}


def _dtype(column: str) -> Any:
    """The dtype of ``column`` in this module's tables (float64 unless listed)."""
    return string_dtype() if column in _STRING_COLUMNS else _DTYPES.get(column, "float64")


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=_dtype(c)) for c in columns})


def sorted_reports(pain: pd.DataFrame) -> pd.DataFrame:
    """The reports in a fixed order (patient, time, line) with ``local_day`` as
    ``datetime64[ns]``, so that results never depend on the input row order.

    Every function here sorts its input this way; one that is given ``presorted=True``
    trusts that its input already comes from this function (a caller computing several
    tables sorts once)."""
    keys = [c for c in ("patient_id", "reported_at_utc", "reported_at", "line", "pain")
            if c in pain.columns]
    out = sort_frame(pain, keys).reset_index(drop=True)
    out["patient_id"] = out["patient_id"].astype(string_dtype())
    out["local_day"] = out["local_day"].astype("datetime64[ns]")
    out["pain"] = out["pain"].astype("float64")
    return out


def pain_window(pain: pd.DataFrame, start: pd.Timestamp | str | None = None,
                as_of: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """The reports whose local day is in [``start``, ``as_of``] (each bound optional,
    both inclusive; a time part of a bound is ignored).

    Returns
    -------
    pandas.DataFrame
        The rows of ``pain`` in the window, same columns, index reset.
    """
    keep = pd.Series(True, index=pain.index)
    if start is not None:
        keep &= pain["local_day"] >= pd.Timestamp(start).normalize()
    if as_of is not None:
        keep &= pain["local_day"] <= pd.Timestamp(as_of).normalize()
    return pain.loc[keep].reset_index(drop=True)


_DAY_NS = 86_400_000_000_000


def _window_mean(values: np.ndarray, block_start: np.ndarray) -> np.ndarray:
    """Mean of the non-missing ``values[i - ROLLING_DAYS + 1 .. i]`` that lie in the same
    block as ``i`` (``block_start[i]``: first position of that block); NaN when there
    are none. Equals ``groupby(block).rolling(ROLLING_DAYS, min_periods=1).mean()``."""
    n = len(values)
    total = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    position = np.arange(n)
    for lag in range(ROLLING_DAYS):
        src = position - lag
        ok = src >= block_start
        v = values[np.where(ok, src, 0)]
        ok &= ~np.isnan(v)
        total += np.where(ok, v, 0.0)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _day_grid(daily: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Every calendar day from each patient's first to last report day, with the day's
    mean (NaN on days without reports), ``has_report``, the 7-day rolling mean
    ``current`` (window [d-6, d]) and ``prior`` (the rolling mean at d-7, i.e. window
    [d-13, d-7]). Sorted by patient and day.

    ``daily`` must be sorted by patient and day with one row per pair (as
    :func:`pain_daily` makes it); the second result is each ``daily`` row's position in
    the grid."""
    day = daily["day"].to_numpy(dtype="datetime64[ns]").view("int64") // _DAY_NS
    m = len(day)
    starts = np.flatnonzero(first_of_runs(daily, ["patient_id"]))
    sizes = np.diff(np.append(starts, m))
    first_day = day[starts]
    last_day = day[np.append(starts[1:], m) - 1]
    span = last_day - first_day + 1
    offsets = np.cumsum(span) - span
    block = np.repeat(np.arange(len(starts)), span)
    grid_day = first_day[block] + (np.arange(span.sum()) - offsets[block])
    pos = np.repeat(offsets - first_day, sizes) + day
    mean = np.full(len(grid_day), np.nan)
    mean[pos] = daily["pain_mean"].to_numpy(dtype="float64", na_value=np.nan)
    has = np.zeros(len(grid_day), dtype=bool)
    has[pos] = ~np.isnan(mean[pos])  # a day whose ratings are all missing has no report
    block_start = offsets[block]
    current = _window_mean(mean, block_start)
    lagged = np.arange(len(grid_day)) - ROLLING_DAYS
    prior = np.where(lagged >= block_start, current[np.maximum(lagged, 0)], np.nan)
    grid = pd.DataFrame({
        "patient_id": pd.array(daily["patient_id"].to_numpy(dtype=object)[starts][block],
                               dtype=string_dtype()),
        "day": (grid_day * _DAY_NS).view("datetime64[ns]"),
        "pain_mean": mean, "has_report": has, "current": current, "prior": prior,
    })
    return grid, pos


def pain_daily(pain: pd.DataFrame, *, presorted: bool = False) -> pd.DataFrame:
    """One row per patient and local day with at least one report.

    Parameters
    ----------
    pain : pandas.DataFrame
        Validated pain reports (``analytics.load(...).pain``).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``; ``day`` (local calendar day, midnight ``datetime64``);
        ``pain_mean``, ``pain_min``, ``pain_max`` (0-10 points, over the day's reports);
        ``pain_range`` (``pain_max - pain_min``, points: within-day variability, 0 for
        a single report); ``n_reports`` (int); ``rolling_7d_mean`` (points, the mean of
        the daily means over the calendar window [day - 6, day]; days without reports
        are skipped). Values are not rounded. Sorted by patient and day.
    """
    if pain.empty:
        return _empty(DAILY_COLUMNS)
    reports = pain if presorted else sorted_reports(pain)
    daily = named_agg(
        reports.groupby(["patient_id", "local_day"], sort=True),
        pain_mean=("pain", "mean"), pain_min=("pain", "min"), pain_max=("pain", "max"),
        n_reports=("pain", "size")).reset_index().rename(columns={"local_day": "day"})
    daily["pain_range"] = daily["pain_max"] - daily["pain_min"]
    daily["n_reports"] = daily["n_reports"].astype("int64")
    grid, pos = _day_grid(daily)
    # Only days with a report get a rolling mean (a day whose ratings are all missing
    # has none).
    daily["rolling_7d_mean"] = np.where(grid["has_report"].to_numpy()[pos],
                                        grid["current"].to_numpy()[pos], np.nan)
    return daily[list(DAILY_COLUMNS)].reset_index(drop=True)


def pain_change(pain: pd.DataFrame, settings: Settings, *,
                presorted: bool = False) -> pd.DataFrame:
    """Change in pain from the first to the last week of reports, one row per patient.

    Parameters
    ----------
    pain : pandas.DataFrame
        Validated pain reports.
    settings : Settings
        Uses ``pain_window_days`` (7), ``pain_min_span_days`` (14),
        ``pain_min_reports`` (2), ``pain_improved_points`` (2), ``pain_improved_pct``
        (30) and ``pain_worse_points`` (2).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``; ``first_day``, ``last_day`` (local days of the first and last
        report); ``pain_baseline`` (points, mean of all reports whose local day is in
        [first_day, first_day + pain_window_days - 1]); ``n_baseline`` (int, reports in
        that window); ``pain_recent`` (points, mean of all reports in [last_day -
        pain_window_days + 1, last_day]); ``n_recent`` (int); ``pain_change`` (points,
        recent - baseline; negative = less pain); ``pain_change_pct`` (%, 100 x
        change / baseline; null when the baseline is 0); ``pain_status``:

        * ``insufficient_data`` when ``last_day - first_day`` is fewer than
          ``pain_min_span_days`` days or either window holds fewer than
          ``pain_min_reports`` reports (the numbers are still given);
        * ``improved`` when the change is <= -``pain_improved_points`` or the
          percentage <= -``pain_improved_pct`` (a clinically important improvement:
          Farrar et al. 2001, Pain 94:149-158; Ostelo et al. 2008, Spine 33:90-94);
        * ``worse`` when the change is >= +``pain_worse_points`` (same sources, applied
          symmetrically);
        * ``no_change`` otherwise.

        Change and percentage are compared after rounding to two decimals (so a fall
        of exactly 2.0 points is ``improved``). Numbers are rounded to 2 decimals.
        Sorted by patient.
    """
    if pain.empty:
        return _empty(CHANGE_COLUMNS)
    reports = pain if presorted else sorted_reports(pain)
    by_patient = reports.groupby("patient_id", sort=True)["local_day"]
    first = by_patient.transform("min")
    last = by_patient.transform("max")
    width = pd.Timedelta(days=settings.pain_window_days - 1)
    in_base = reports["local_day"] <= first + width
    in_recent = reports["local_day"] >= last - width
    out = pd.DataFrame({
        "first_day": by_patient.min(),
        "last_day": by_patient.max(),
        "pain_baseline": reports["pain"].where(in_base).groupby(reports["patient_id"]).mean(),
        "n_baseline": in_base.groupby(reports["patient_id"]).sum(),
        "pain_recent": reports["pain"].where(in_recent).groupby(reports["patient_id"]).mean(),
        "n_recent": in_recent.groupby(reports["patient_id"]).sum(),
    })
    out.index.name = "patient_id"
    out = out.reset_index()
    change = out["pain_recent"] - out["pain_baseline"]
    pct = 100 * change / out["pain_baseline"].where(out["pain_baseline"] != 0)
    out["pain_change"] = change.round(2)
    out["pain_change_pct"] = pct.round(2)
    improved = ((out["pain_change"] <= -settings.pain_improved_points)
                | (out["pain_change_pct"] <= -settings.pain_improved_pct))
    worse = out["pain_change"] >= settings.pain_worse_points
    span = (out["last_day"] - out["first_day"]).dt.days
    insufficient = ((span < settings.pain_min_span_days)
                    | (out["n_baseline"] < settings.pain_min_reports)
                    | (out["n_recent"] < settings.pain_min_reports))
    status = np.select([insufficient.to_numpy(), improved.to_numpy(), worse.to_numpy()],
                       ["insufficient_data", "improved", "worse"], default="no_change")
    out["pain_status"] = pd.array(status, dtype=string_dtype())
    for column in ("pain_baseline", "pain_recent"):
        out[column] = out[column].round(2)
    for column in ("n_baseline", "n_recent"):
        out[column] = out[column].astype("int64")
    out["patient_id"] = out["patient_id"].astype(string_dtype())
    return out[list(CHANGE_COLUMNS)]


def pain_before_after(pain: pd.DataFrame, *, presorted: bool = False) -> pd.DataFrame:
    """Pain before versus after exercising, over days with both kinds of report.

    Returns
    -------
    pandas.DataFrame
        One row per patient with at least one local day holding both a
        ``before_session`` and an ``after_session`` report: ``patient_id``;
        ``n_days`` (int, such paired days); ``before_mean``, ``after_mean`` (points,
        the mean over paired days of that day's mean before / after rating);
        ``mean_diff`` (points, ``after_mean - before_mean``; negative = less pain after
        exercising). Rounded to 2 decimals; sorted by patient.
    """
    if pain.empty:
        return _empty(BEFORE_AFTER_COLUMNS)
    reports = pain if presorted else sorted_reports(pain)
    reports = reports[reports["context"].isin(["before_session", "after_session"])]
    per_day = reports.groupby(["patient_id", "local_day", "context"], sort=True)["pain"].mean()
    wide = per_day.unstack("context")
    for column in ("before_session", "after_session"):
        if column not in wide.columns:
            wide[column] = np.nan
    wide = wide.dropna(subset=["before_session", "after_session"])
    if wide.empty:
        return _empty(BEFORE_AFTER_COLUMNS)
    grouped = wide.groupby(level="patient_id", sort=True)
    out = pd.DataFrame({
        "n_days": grouped.size().astype("int64"),
        "before_mean": grouped["before_session"].mean(),
        "after_mean": grouped["after_session"].mean(),
    })
    out["mean_diff"] = (out["after_mean"] - out["before_mean"]).round(2)
    out["before_mean"] = out["before_mean"].round(2)
    out["after_mean"] = out["after_mean"].round(2)
    out.index.name = "patient_id"
    out = out.reset_index()
    out["patient_id"] = out["patient_id"].astype(string_dtype())
    return out[list(BEFORE_AFTER_COLUMNS)]


def pain_variability(daily: pd.DataFrame) -> pd.DataFrame:
    """Within-day variability of pain, one row per patient in ``daily``.

    Parameters
    ----------
    daily : pandas.DataFrame
        :func:`pain_daily` output.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``; ``mean_daily_range``, ``max_daily_range`` (points, mean and
        largest ``pain_range`` over the patient's days with at least 2 reports; null
        when there is no such day). Rounded to 2 decimals; sorted by patient.
    """
    if daily.empty:
        return _empty(VARIABILITY_COLUMNS)
    ranges = daily["pain_range"].where(daily["n_reports"] >= 2)
    grouped = ranges.groupby(daily["patient_id"].astype(string_dtype()), sort=True)
    out = pd.DataFrame({"mean_daily_range": grouped.mean().round(2),
                        "max_daily_range": grouped.max().round(2)})
    out.index.name = "patient_id"
    return out.reset_index()[list(VARIABILITY_COLUMNS)]


def _plain_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _red_flag_words(symptoms: str) -> tuple[str, str]:
    """(severity, plain words) for one ``;``-joined symptom list ("" when none)."""
    items = set(symptoms.split(";"))
    flagged = [s for s in (*URGENT_SYMPTOMS, *NERVE_SYMPTOMS) if s in items]
    if not flagged:
        return "", ""
    severity = "urgent" if items & set(URGENT_SYMPTOMS) else "warning"
    return severity, _plain_list([SYMPTOM_WORDS[s] for s in flagged])


def _red_flags(reports: pd.DataFrame) -> pd.DataFrame:
    listed = reports[reports["symptoms"].notna()]
    if listed.empty:
        return _empty(ALERT_COLUMNS)
    lookup = {v: _red_flag_words(str(v)) for v in listed["symptoms"].unique()}
    severity = listed["symptoms"].map({k: v[0] for k, v in lookup.items()}).astype(string_dtype())
    words = listed["symptoms"].map({k: v[1] for k, v in lookup.items()}).astype(string_dtype())
    keep = severity != ""
    listed, severity, words = listed[keep], severity[keep], words[keep]
    when = (listed["local_day"].dt.strftime("%Y-%m-%d") + " at "
            + listed["reported_at"].dt.strftime("%H:%M")).astype(string_dtype())
    advice = severity.map({"urgent": URGENT_ADVICE, "warning": STOP_ADVICE}).astype(string_dtype())
    return pd.DataFrame({
        "patient_id": listed["patient_id"], "kind": "red_flag", "severity": severity,
        "date": listed["local_day"], "message": "Reported " + words + " on " + when + ". "
        + advice,
    })


def _pain_high(daily: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    high = daily[daily["pain_max"] >= settings.pain_high]
    rating = high["pain_max"].map("{:g}".format).astype(string_dtype())
    return pd.DataFrame({
        "patient_id": high["patient_id"], "kind": "pain_high", "severity": "warning",
        "date": high["day"],
        "message": "Pain rated " + rating + "/10 on " + high["day"].dt.strftime("%Y-%m-%d")
        + f" ({settings.pain_high:g} or more is severe).",
    })


def _one_decimal(value: float) -> str:
    """``value`` with one decimal, halves rounded up as people do (a mean of 4.55 is
    "4.6"), after dropping binary noise below 1e-9 (4.55 is stored as 4.5499999...).

    >>> _one_decimal(18.2 / 4), _one_decimal(4.549), _one_decimal(-0.05)
    ('4.6', '4.5', '-0.1')
    """
    exact = Decimal(f"{value:.9f}")
    return f"{exact.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}"


def _pain_rise(daily: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    grid, _ = _day_grid(sort_frame(daily, ["patient_id", "day"]))
    rise = (grid["current"] - grid["prior"]).round(2)
    holds = (rise >= settings.pain_rise_points).fillna(False).astype(bool)
    ids = grid["patient_id"].to_numpy(dtype=object)
    flags = holds.to_numpy(dtype=bool)
    starts_run = np.ones(len(grid), dtype=bool)
    starts_run[1:] = (ids[1:] != ids[:-1]) | (flags[1:] != flags[:-1])
    episode = np.cumsum(starts_run)
    grid = grid.assign(rise=rise, episode=episode)
    starts = grid[holds & grid["has_report"]].groupby("episode", sort=False).head(1)

    def fmt(values: pd.Series) -> pd.Series:
        return values.map(_one_decimal).astype(string_dtype())

    return pd.DataFrame({
        "patient_id": starts["patient_id"], "kind": "pain_rise", "severity": "warning",
        "date": starts["day"],
        "message": "Average pain over the 7 days to " + starts["day"].dt.strftime("%Y-%m-%d")
        + " was " + fmt(starts["current"]) + "/10, " + fmt(starts["rise"])
        + " points higher than over the 7 days before (" + fmt(starts["prior"]) + "/10).",
    })


def pain_alerts(pain: pd.DataFrame, daily: pd.DataFrame, settings: Settings, *,
                presorted: bool = False) -> pd.DataFrame:
    """Pain alerts for the whole cohort.

    Parameters
    ----------
    pain : pandas.DataFrame
        Validated pain reports.
    daily : pandas.DataFrame
        :func:`pain_daily` of the same reports.
    settings : Settings
        Uses ``pain_high`` (7) and ``pain_rise_points`` (2).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``; ``kind``; ``severity`` (``urgent`` or ``warning``); ``date``
        (local day); ``message`` (plain words, never a diagnosis). Kinds:

        * ``red_flag`` - one per report listing numbness, tingling or weakness
          (``warning``; the message names the symptoms, the date and time, and quotes
          the exercise guidance: stop and contact your spine professional - article
          "Video Series: Exercises to Keep a Healthy Back"), or listing bladder/bowel
          changes or saddle numbness (``urgent``: seek medical care now). A report
          listing both kinds gives one ``urgent`` alert naming all of them.
        * ``pain_high`` - one per patient and day whose highest report is at least
          ``pain_high`` (7-10 is "severe"; Serlin et al. 1995, Pain 61:277-284),
          ``warning``.
        * ``pain_rise`` - ``warning`` when the 7-day rolling mean of daily means on day
          *d* (window [d-6, d]) is at least ``pain_rise_points`` above the rolling mean
          at day *d* - 7 (window [d-13, d-7]); both windows need a report day, and the
          difference is rounded to 2 decimals first. The condition is evaluated on
          every calendar day between a patient's first and last report; an episode is
          a run of consecutive days on which it holds, and gets one alert dated the
          first report day of the run (the 2-point change of Farrar et al. 2001 and
          Ostelo et al. 2008).

        Sorted by patient, date, severity (urgent first), kind and message.
    """
    if pain.empty:
        return _empty(ALERT_COLUMNS)
    reports = pain if presorted else sorted_reports(pain)
    daily = daily.assign(patient_id=daily["patient_id"].astype(string_dtype()),
                         day=daily["day"].astype("datetime64[ns]"))
    parts = [_red_flags(reports)]
    if not daily.empty:
        parts += [_pain_high(daily, settings), _pain_rise(daily, settings)]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty(ALERT_COLUMNS)
    alerts = pd.concat(parts, ignore_index=True)
    alerts = alerts.astype({c: _dtype(c) for c in ALERT_COLUMNS})
    alerts["_rank"] = alerts["severity"].map(SEVERITY_ORDER)
    alerts = alerts.sort_values(["patient_id", "date", "_rank", "kind", "message"],
                                kind="stable")
    return alerts[list(ALERT_COLUMNS)].reset_index(drop=True)
