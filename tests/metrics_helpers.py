"""Run the adherence pipeline on a loaded dataset (shared by metric tests)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.dataset import Dataset
from analytics.metrics.adherence import (
    daily_adherence,
    patient_adherence,
    streaks,
    weekly_adherence,
)
from analytics.metrics.calendar import (
    active_programs,
    as_of_date,
    patient_periods,
    prescribed_days,
)
from analytics.metrics.sessions import assign_sessions, session_table
from analytics.settings import Settings


@dataclass(frozen=True)
class Run:
    periods: pd.DataFrame
    sessions: pd.DataFrame
    daily: pd.DataFrame
    weekly: pd.DataFrame
    patients: pd.DataFrame
    streaks: pd.DataFrame


def run(ds: Dataset, settings: Settings | None = None, to=None, start=None) -> Run:
    settings = settings or Settings()
    as_of = as_of_date(ds.sessions, ds.pain, to)
    periods = patient_periods(ds.programs, as_of, start)
    active = active_programs(ds.programs, periods)
    calendar = prescribed_days(ds.programs, periods)
    rows = assign_sessions(ds.sessions, settings)
    sessions = session_table(rows, active, calendar)
    daily = daily_adherence(calendar, sessions)
    weekly = weekly_adherence(daily, settings)
    return Run(periods, sessions, daily, weekly,
               patient_adherence(weekly, periods, settings).set_index("patient_id"),
               streaks(daily, periods).set_index("patient_id"))


def renumbered(frame: pd.DataFrame) -> pd.DataFrame:
    """Session ids numbered from 0 in their order (a per-patient view split from the
    whole cohort keeps the cohort's numbers; a per-patient computation starts at 0)."""
    if "session_id" not in frame.columns or frame.empty:
        return frame
    ids = frame["session_id"]
    return frame.assign(session_id=(ids.rank(method="dense") - 1).astype(ids.dtype))

