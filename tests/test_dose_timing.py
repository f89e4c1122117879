"""Hand-computed dose-fidelity and session-timing cases."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import NOW

from analytics import load
from analytics.dataset import Dataset
from analytics.metrics.calendar import (
    active_programs,
    as_of_date,
    patient_periods,
    prescribed_days,
)
from analytics.metrics.dose import dose_by_exercise, session_dose
from analytics.metrics.sessions import assign_sessions, session_table
from analytics.metrics.timing import TIMING_ADVICE, session_timing
from analytics.settings import Settings

PROGRAM_HEADER = (
    "patient_id,exercise,start_date,end_date,sets,reps,hold_s,times_per_day,days_per_week\n"
)
SESSION_HEADER = "patient_id,performed_at,exercise,sets,reps,hold_s\n"


def _load(make_folder, programs: str, sessions: str) -> Dataset:
    return load(make_folder({"programs.csv": PROGRAM_HEADER + programs,
                             "sessions.csv": SESSION_HEADER + sessions}), now=NOW)


def _pipeline(ds: Dataset) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``rows``, ``active`` and the session table, as the report builds them."""
    settings = Settings()
    periods = patient_periods(ds.programs, as_of_date(ds.sessions, ds.pain))
    active = active_programs(ds.programs, periods)
    calendar = prescribed_days(ds.programs, periods)
    rows = assign_sessions(ds.sessions, settings)
    return rows, active, session_table(rows, active, calendar)


# ----------------------------------------------------------------------------- dose

DOSE_PROGRAMS = (
    "P1,pelvic tilt,2025-03-01,,1,10,5,1,7\n"
    "P1,bridge,2025-03-01,,2,10,,1,7\n"
    "P1,foo thing,2025-03-01,,,,,1,7\n"  # unlinked, no reps prescribed
)
DOSE_SESSIONS = (
    # Session 1 (03-01): 2 x 10 pelvic tilts held 4 s; bridge as two 1 x 10 rows;
    # foo thing; cat cow (not prescribed).
    "P1,2025-03-01T08:00,pelvic tilt,2,10,4\n"
    "P1,2025-03-01T08:05,bridge,1,10,\n"
    "P1,2025-03-01T08:07,bridge,1,10,\n"
    "P1,2025-03-01T08:10,foo thing,1,10,\n"
    "P1,2025-03-01T08:12,cat cow,1,10,\n"
    # Session 2 (03-02): 1 x 5 pelvic tilts held 5 s.
    "P1,2025-03-02T08:00,pelvic tilt,1,5,5\n"
)


@pytest.fixture
def dose(make_folder) -> pd.DataFrame:
    rows, active, _ = _pipeline(_load(make_folder, DOSE_PROGRAMS, DOSE_SESSIONS))
    return session_dose(rows, active)


def test_dose_columns_and_matching(dose):
    assert list(dose.columns) == [
        "patient_id", "session_id", "day", "exercise_id", "key", "reps_done",
        "reps_prescribed", "dose_pct", "dose_pct_uncapped", "hold_s_mean",
        "hold_s_prescribed", "hold_fidelity"]
    # cat cow is not prescribed: left out.
    assert list(zip(dose["session_id"], dose["key"], strict=True)) == [
        (0, "?foo thing"), (0, "bridge"), (0, "pelvic_tilt"), (1, "pelvic_tilt")]


def test_more_than_prescribed_is_capped_and_hold_fidelity(dose):
    d = dose.set_index(["session_id", "key"])
    tilt = d.loc[(0, "pelvic_tilt")]
    # 2 sets x 10 reps done vs 1 x 10 prescribed.
    assert (tilt["reps_done"], tilt["reps_prescribed"]) == (20, 10)
    assert (tilt["dose_pct"], tilt["dose_pct_uncapped"]) == (100.0, 200.0)
    # 4 s held vs 5 s prescribed.
    assert (tilt["hold_s_mean"], tilt["hold_s_prescribed"]) == (4.0, 5.0)
    assert tilt["hold_fidelity"] == pytest.approx(0.8)
    assert tilt["day"] == pd.Timestamp("2025-03-01")


def test_sets_logged_as_rows_are_summed_and_missing_doses_are_null(dose):
    d = dose.set_index(["session_id", "key"])
    bridge = d.loc[(0, "bridge")]
    assert (bridge["reps_done"], bridge["reps_prescribed"], bridge["dose_pct"]) == (20, 20, 100.0)
    assert pd.isna(bridge["hold_fidelity"])  # no hold prescribed, none logged
    foo = d.loc[(0, "?foo thing")]
    assert pd.isna(foo["exercise_id"])
    assert foo["reps_done"] == 10
    assert pd.isna(foo["reps_prescribed"])
    assert pd.isna(foo["dose_pct"]) and pd.isna(foo["dose_pct_uncapped"])


def test_dose_by_exercise_means(dose):
    by = dose_by_exercise(dose).set_index("key")
    assert list(by.reset_index().columns) == [
        "key", "patient_id", "exercise_id", "n_sessions", "dose_pct_mean",
        "dose_pct_uncapped_mean", "hold_fidelity_mean"]
    tilt = by.loc["pelvic_tilt"]
    # Session doses 100 (capped from 200) and 50; holds 4/5 and 5/5.
    assert tilt["n_sessions"] == 2
    assert tilt["dose_pct_mean"] == pytest.approx(75.0)
    assert tilt["dose_pct_uncapped_mean"] == pytest.approx(125.0)
    assert tilt["hold_fidelity_mean"] == pytest.approx(0.9)
    assert pd.isna(by.loc["?foo thing", "dose_pct_mean"])


def test_dose_inputs_not_modified(make_folder):
    rows, active, _ = _pipeline(_load(make_folder, DOSE_PROGRAMS, DOSE_SESSIONS))
    before = rows.copy(), active.copy()
    dose_by_exercise(session_dose(rows, active))
    pd.testing.assert_frame_equal(rows, before[0])
    pd.testing.assert_frame_equal(active, before[1])


# --------------------------------------------------------------------------- timing

TIMING_PROGRAMS = (
    "P1,knee to chest,2025-03-01,,1,10,20,2,7\n"
    "P1,plank,2025-03-01,,1,1,20,2,7\n"
    "P2,plank,2025-03-01,,1,1,20,1,7\n"
)
TIMING_SESSIONS = (
    "P1,2025-03-01T07:30,knee to chest,1,10,20\n"  # stretch, early
    "P1,2025-03-01T07:35,plank,1,1,20\n"
    "P1,2025-03-01T18:00,plank,1,1,20\n"  # plank only: not a stretch session
    "P1,2025-03-02T09:00,knee to chest,1,10,20\n"  # stretch, not early
    "P2,2025-03-02T12:00:00Z,plank,1,1,20\n"  # 07:00 in New York (EST)
)


@pytest.fixture
def timing(make_folder) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = _load(make_folder, TIMING_PROGRAMS, TIMING_SESSIONS)
    assert ds.rejects.empty
    rows, _, sessions = _pipeline(ds)
    return session_timing(sessions, rows, ds.catalog, Settings())


def test_session_start_hour_stretch_and_early(timing):
    per_session, _ = timing
    assert list(per_session.columns) == ["patient_id", "session_id", "day", "start_local",
                                         "start_hour", "has_stretch", "early"]
    got = list(per_session[["patient_id", "start_hour", "has_stretch", "early"]]
               .itertuples(index=False, name=None))
    assert got == [("P1", 7.5, True, True), ("P1", 18.0, False, False),
                   ("P1", 9.0, True, False), ("P2", 7.0, False, True)]


def test_utc_timestamp_gets_local_start_hour(timing):
    per_session, _ = timing
    ny = per_session[per_session["patient_id"] == "P2"].iloc[0]
    assert ny["start_local"] == pd.Timestamp("2025-03-02 07:00")
    assert ny["start_hour"] == 7.0
    assert ny["day"] == pd.Timestamp("2025-03-02")


def test_patient_early_stretch_share(timing):
    _, per_patient = timing
    assert list(per_patient.columns) == ["patient_id", "n_sessions", "median_start_hour",
                                         "n_stretch_sessions", "early_stretch_share_pct"]
    p = per_patient.set_index("patient_id")
    assert (p.loc["P1", "n_sessions"], p.loc["P1", "n_stretch_sessions"]) == (3, 2)
    assert p.loc["P1", "median_start_hour"] == 9.0
    assert p.loc["P1", "early_stretch_share_pct"] == 50.0  # 1 of 2 stretch sessions early
    assert p.loc["P2", "n_stretch_sessions"] == 0
    assert pd.isna(p.loc["P2", "early_stretch_share_pct"])


def test_early_hour_is_a_setting(make_folder):
    ds = _load(make_folder, TIMING_PROGRAMS, TIMING_SESSIONS)
    rows, _, sessions = _pipeline(ds)
    _, per_patient = session_timing(sessions, rows, ds.catalog, Settings(early_hour=10))
    assert per_patient.set_index("patient_id").loc["P1", "early_stretch_share_pct"] == 100.0


def test_timing_advice_gives_both_articles():
    assert len(TIMING_ADVICE) == 2
    assert all(set(a) == {"source", "advice"} for a in TIMING_ADVICE)
    kim, video = TIMING_ADVICE
    assert "Ben Kim" in kim["source"] and "later on in the day" in kim["advice"]
    assert "first thing in the morning" in kim["advice"]
    assert "Healthy Back" in video["source"] and "first get up every day" in video["advice"]
