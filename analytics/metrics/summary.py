"""Every metric for a whole dataset at once, and the cohort summary.

:func:`compute` runs the metric pipeline on a loaded :class:`analytics.Dataset` and
returns a frozen :class:`CohortMetrics` holding each tidy table; reports, notebooks and
the ``adherence summary`` command read from it and never compute metrics themselves.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any

import pandas as pd

from analytics.catalog import Catalog
from analytics.dataset import Dataset
from analytics.metrics.adherence import (
    daily_adherence,
    patient_adherence,
    streaks,
    weekly_adherence,
)
from analytics.metrics.alerts import (
    combine_alerts,
    low_adherence_alerts,
    no_activity_alerts,
)
from analytics.metrics.association import adherence_pain_association
from analytics.metrics.calendar import (
    active_programs,
    as_of_date,
    patient_periods,
    prescribed_days,
)
from analytics.metrics.dose import dose_by_exercise, session_dose
from analytics.metrics.holds import hold_progression
from analytics.metrics.pain import (
    pain_alerts,
    pain_before_after,
    pain_change,
    pain_daily,
    pain_window,
    sorted_reports,
)
from analytics.metrics.pain import pain_variability as _pain_variability
from analytics.metrics.sessions import assign_sessions, session_table
from analytics.metrics.timing import session_timing
from analytics.settings import DEFAULT_SETTINGS, Settings
from analytics.vector import string_dtype, string_storage, with_string_storage

#: Columns of the cohort summary, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "patient_id", "period_start", "period_end", "sessions_prescribed", "sessions_done",
    "adherence_pct", "complete_sessions_pct", "adherent", "current_streak_days",
    "longest_streak_days", "days_since_last_session", "pain_baseline", "pain_recent",
    "pain_change", "pain_change_pct", "pain_status", "alerts",
)


#: Tables of :class:`CohortMetrics` derived from its other tables on first use (the
#: dashboards never show them, so a per-patient recomputation skips them).
DERIVED_TABLES: tuple[str, ...] = ("pain_variability", "association", "pain_before_after",
                                   "timing_sessions", "timing")


@dataclass(frozen=True)
class CohortMetrics:
    """All metric tables of one dataset (see each producing function for columns).

    :data:`DERIVED_TABLES` are not fields: each is computed from the fields the first
    time it is read and kept (``dataclasses.replace`` gives an object that computes them
    again from its own tables).
    """

    settings: Settings
    as_of: pd.Timestamp | None
    start: pd.Timestamp | None
    catalog: Catalog
    periods: pd.DataFrame
    calendar: pd.DataFrame
    active: pd.DataFrame
    rows: pd.DataFrame
    sessions: pd.DataFrame
    daily: pd.DataFrame
    weekly: pd.DataFrame
    adherence: pd.DataFrame
    streaks: pd.DataFrame
    dose: pd.DataFrame
    dose_by_exercise: pd.DataFrame
    holds_daily: pd.DataFrame
    holds: pd.DataFrame
    pain: pd.DataFrame
    pain_daily: pd.DataFrame
    pain_change: pd.DataFrame
    alerts: pd.DataFrame
    summary: pd.DataFrame

    def own_strings(self) -> AbstractContextManager[None]:
        """A block in which new strings take the storage of this object's tables: for
        anything computed from them later (derived tables, another threshold), wherever
        it runs, so that storages never mix."""
        dtype = self.summary["patient_id"].dtype if "patient_id" in self.summary else None
        storage = (dtype.storage if isinstance(dtype, pd.StringDtype)
                   else pd.StringDtype().storage)
        return string_storage(storage)

    @cached_property
    def pain_variability(self) -> pd.DataFrame:
        """:func:`analytics.metrics.pain.pain_variability` of ``pain_daily``."""
        with self.own_strings():
            return _pain_variability(self.pain_daily)

    @cached_property
    def association(self) -> pd.DataFrame:
        """:func:`analytics.metrics.association.adherence_pain_association` of
        ``weekly`` and ``pain_daily``."""
        with self.own_strings():
            return adherence_pain_association(self.weekly, self.pain_daily, self.settings)

    @cached_property
    def pain_before_after(self) -> pd.DataFrame:
        """:func:`analytics.metrics.pain.pain_before_after` of ``pain``."""
        with self.own_strings():
            return pain_before_after(self.pain)

    @cached_property
    def _timing(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        with self.own_strings():
            return session_timing(self.sessions, self.rows, self.catalog, self.settings)

    @cached_property
    def timing_sessions(self) -> pd.DataFrame:
        """Per session, from :func:`analytics.metrics.timing.session_timing`."""
        return self._timing[0]

    @cached_property
    def timing(self) -> pd.DataFrame:
        """Per patient, from :func:`analytics.metrics.timing.session_timing`."""
        return self._timing[1]


def _only(frame: pd.DataFrame, patients: frozenset[str] | None) -> pd.DataFrame:
    if patients is None:
        return frame
    return frame[frame["patient_id"].isin(list(patients))].reset_index(drop=True)


def compute(ds: Dataset, settings: Settings = DEFAULT_SETTINGS, *,
            start: pd.Timestamp | str | None = None, to: pd.Timestamp | str | None = None,
            patients: list[str] | None = None) -> CohortMetrics:
    """Compute every metric for ``ds``.

    Parameters
    ----------
    ds : Dataset
        From :func:`analytics.load`.
    settings : Settings
        Thresholds (defaults cite their sources).
    start, to : date-like, optional
        ``--from`` and ``--to``: the period starts no earlier than ``start``; ``to`` is
        the as-of day (default: the last day with any data in the whole dataset).
    patients : list of str, optional
        Restrict the outputs to these patients (the as-of day still comes from the
        whole dataset).

    String columns have :func:`analytics.vector.string_dtype` (pandas' default
    ``"string"``; Python-backed inside :func:`analytics.vector.python_strings`, which the
    dashboards use for one patient's small tables); string input columns are converted
    to that storage first. Derived tables read later are made in the same storage.
    """
    start_ts = pd.Timestamp(start).normalize() if start is not None else None
    as_of = as_of_date(ds.sessions, ds.pain, to)
    keep = frozenset(patients) if patients is not None else None
    # Inputs in the storage of the strings made here: mixing storages in a merge would
    # turn id columns into ``object``.
    storage = string_dtype().storage
    inputs = tuple(with_string_storage(_only(t, keep), storage)
                   for t in (ds.programs, ds.sessions, ds.pain))
    return _compute(inputs, _patient_ids(ds, keep), ds.catalog, settings, start_ts, as_of)


def _compute(inputs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], ids: list[str],
             catalog: Catalog, settings: Settings, start_ts: pd.Timestamp | None,
             as_of: pd.Timestamp | None) -> CohortMetrics:
    """The metric pipeline of :func:`compute` on one patient selection's rows."""
    programs, sessions_in, pain_in = inputs
    periods = patient_periods(programs, as_of, start_ts)
    active = active_programs(programs, periods)
    calendar = prescribed_days(programs, periods, active)
    rows = assign_sessions(sessions_in, settings)
    sessions = session_table(rows, active, calendar)
    daily = daily_adherence(calendar, sessions)
    weekly = weekly_adherence(daily, settings)
    adherence = patient_adherence(weekly, periods, settings)
    streak = streaks(daily, periods)
    dose = session_dose(rows, active)
    holds_daily, holds = hold_progression(rows, active)
    pain = pain_window(pain_in, start_ts, as_of)
    reports = sorted_reports(pain)
    p_daily = pain_daily(reports, presorted=True)
    p_change = pain_change(reports, settings, presorted=True)
    alerts = combine_alerts(
        pain_alerts(reports, p_daily, settings, presorted=True),
        no_activity_alerts(daily, settings),
        low_adherence_alerts(weekly, settings),
    )
    summary = cohort_summary(ids, periods, adherence, streak, p_change, alerts)
    return CohortMetrics(
        settings=settings, as_of=as_of, start=start_ts, catalog=catalog, periods=periods,
        calendar=calendar,
        active=active, rows=rows, sessions=sessions, daily=daily, weekly=weekly,
        adherence=adherence, streaks=streak, dose=dose, dose_by_exercise=dose_by_exercise(dose),
        holds_daily=holds_daily, holds=holds, pain=pain, pain_daily=p_daily,
        pain_change=p_change, alerts=alerts, summary=summary,
    )


def _patient_ids(ds: Dataset, keep: frozenset[str] | None) -> list[str]:
    """Patients of the summary: the patients table, else everyone named anywhere."""
    if not ds.patients.empty:
        ids = ds.patients["patient_id"]
    else:
        ids = pd.concat([ds.programs["patient_id"], ds.sessions["patient_id"],
                         ds.pain["patient_id"]], ignore_index=True)
    found = sorted(set(ids.dropna().astype(str)))
    return [i for i in found if keep is None or i in keep]


def cohort_summary(patient_ids: list[str], periods: pd.DataFrame, adherence: pd.DataFrame,
                   streak: pd.DataFrame, change: pd.DataFrame,
                   alerts: pd.DataFrame) -> pd.DataFrame:
    """One row per patient; columns :data:`SUMMARY_COLUMNS`.

    Adherence columns are null for a patient without a program; pain columns are
    null without pain reports (``pain_status`` is then ``insufficient_data``);
    ``alerts`` is a list of ``{"kind", "severity", "date", "message"}`` dicts.
    """
    ids = pd.Index(patient_ids, dtype=string_dtype(), name="patient_id")
    # Each table has at most one row per patient: aligned on the id (a left join).
    parts = [periods[["patient_id", "period_start", "period_end"]], adherence, streak,
             change[["patient_id", "pain_baseline", "pain_recent", "pain_change",
                     "pain_change_pct", "pain_status"]]]
    out = pd.concat([p.set_index(p["patient_id"].astype(string_dtype())).drop(columns="patient_id")
                     .reindex(ids) for p in parts], axis=1).reset_index()
    out["pain_status"] = out["pain_status"].fillna("insufficient_data")
    grouped: dict[str, list[dict[str, Any]]] = {}
    columns = (alerts["patient_id"].tolist(), alerts["kind"].tolist(),
               alerts["severity"].tolist(), alerts["date"].tolist(), alerts["message"].tolist())
    for patient, kind, severity, date, message in zip(*columns, strict=True):
        grouped.setdefault(str(patient), []).append(
            {"kind": kind, "severity": severity, "date": date.date().isoformat(),
             "message": message})
    out["alerts"] = [grouped.get(str(p), []) for p in out["patient_id"]]
    return out[list(SUMMARY_COLUMNS)]


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


def summary_records(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """The summary as JSON-ready dicts: ISO dates, plain numbers, ``None`` for null."""
    records = []
    for row in summary.to_dict(orient="records"):
        records.append({k: (v if k == "alerts" else _jsonable(v)) for k, v in row.items()})
    return records


def _split_frame(frame: pd.DataFrame, ids: list[str]) -> dict[str, pd.DataFrame]:
    if "patient_id" not in frame.columns:
        return dict.fromkeys(ids, frame)
    groups = {str(k): g for k, g in frame.groupby("patient_id", sort=False)}
    empty = frame.iloc[0:0]
    return {pid: groups.get(pid, empty) for pid in ids}


def split_by_patient(m: CohortMetrics, ds: Dataset, *, derived: bool = True
                     ) -> dict[str, tuple[Dataset, CohortMetrics]]:
    """Per-patient views of ``ds`` and ``m`` made in one pass over each table.

    Building many reports from the whole-cohort tables would filter every table once
    per patient (quadratic in cohort size); these small views keep it linear.
    ``derived``: compute :data:`DERIVED_TABLES` for the whole cohort now and split them
    too (reports read them); with ``False`` only those already computed are split and
    each view computes the others when read.
    """
    ids = [str(p) for p in m.summary["patient_id"]]
    m_parts = {f.name: _split_frame(getattr(m, f.name), ids) for f in fields(m)
               if isinstance(getattr(m, f.name), pd.DataFrame)}
    derived_parts = {name: _split_frame(getattr(m, name), ids) for name in DERIVED_TABLES
                     if derived or name in vars(m)}
    ds_parts = {name: _split_frame(getattr(ds, name), ids)
                for name in ("patients", "programs", "sessions", "pain", "rejects")}
    out: dict[str, tuple[Dataset, CohortMetrics]] = {}
    for pid in ids:
        sub_m = replace(m, **{name: parts[pid] for name, parts in m_parts.items()})
        for name, parts in derived_parts.items():
            vars(sub_m)[name] = parts[pid]  # where cached_property keeps its value
        sub_ds = replace(ds, **{name: parts[pid] for name, parts in ds_parts.items()})
        out[pid] = (sub_ds, sub_m)
    return out
