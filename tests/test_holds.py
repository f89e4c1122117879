"""Hand-computed hold-progression cases (daily best, Theil-Sen trend, targets)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import load
from analytics.metrics.calendar import active_programs, as_of_date, patient_periods
from analytics.metrics.holds import hold_progression, theil_sen_slope
from analytics.metrics.sessions import assign_sessions
from analytics.settings import Settings

PROGRAM_HEADER = (
    "patient_id,exercise,start_date,end_date,sets,reps,hold_s,times_per_day,days_per_week\n"
)
SESSION_HEADER = "patient_id,performed_at,exercise,sets,reps,hold_s\n"


def _inputs(make_folder, programs: str, sessions: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = load(make_folder({"programs.csv": PROGRAM_HEADER + programs,
                           "sessions.csv": SESSION_HEADER + sessions}), now=NOW)
    assert ds.rejects.empty
    periods = patient_periods(ds.programs, as_of_date(ds.sessions, ds.pain))
    return assign_sessions(ds.sessions, Settings()), active_programs(ds.programs, periods)


def _holds(patient: str, day_holds: dict[str, list[float]], exercise: str = "plank") -> str:
    """One row per hold, 10 minutes apart from 08:00 on each day."""
    return "".join(f"{patient},{day}T08:{10 * i:02d},{exercise},1,1,{h:g}\n"
                   for day, holds in day_holds.items() for i, h in enumerate(holds))


@pytest.mark.parametrize(("x", "y", "expected"), [
    pytest.param([0, 1, 2, 3, 4], [10, 12, 14, 100, 18], 2.0, id="one-outlier-in-five"),
    # Pairwise slopes 2, 2, 30, 2, 44, 86: the median of six is (2 + 30) / 2 = 16.
    pytest.param([0, 1, 2, 3], [10, 12, 14, 100], 16.0, id="one-outlier-in-four"),
    pytest.param([3, 0, 2, 1], [16, 10, 14, 12], 2.0, id="unsorted"),
    pytest.param([5], [10], np.nan, id="one-point"),
    pytest.param([2, 2], [10, 20], np.nan, id="no-distinct-x"),
])
def test_theil_sen_slope(x, y, expected):
    got = theil_sen_slope(np.array(x), np.array(y))
    assert got == pytest.approx(expected, nan_ok=True)


def test_theil_sen_resists_outlier_on_daily_best(make_folder):
    # Daily best 10, 12, 14, 100, 18 s on five days: slope 2 s/day = 14 s/week, where a
    # least-squares line would give 12.8 s/day.
    rows, active = _inputs(
        make_folder, "P1,plank,2025-03-01,,1,1,20,1,7\n",
        _holds("P1", {"2025-03-01": [10], "2025-03-02": [12], "2025-03-03": [14],
                      "2025-03-04": [100], "2025-03-05": [18]}))
    _, summary = hold_progression(rows, active)
    s = summary.set_index(["patient_id", "key"]).loc[("P1", "plank")]
    assert s["slope_s_per_week"] == pytest.approx(14.0)
    assert s["personal_best_s"] == 100.0
    assert s["personal_best_day"] == pd.Timestamp("2025-03-04")


def test_four_points_with_outlier_follow_the_median_definition(make_folder):
    # The brief's example: with only four days the median of the six pairwise slopes
    # averages 2 and 30 -> 16 s/day = 112 s/week (the outlier is one in four).
    rows, active = _inputs(
        make_folder, "P1,plank,2025-03-01,,1,1,20,1,7\n",
        _holds("P1", {"2025-03-01": [10], "2025-03-02": [12], "2025-03-03": [14],
                      "2025-03-04": [100]}))
    daily, summary = hold_progression(rows, active)
    s = summary.iloc[0]
    assert s["slope_s_per_week"] == pytest.approx(112.0)
    assert daily["pct_of_target"].tolist() == pytest.approx([50.0, 60.0, 70.0, 500.0])
    assert s["target_reached_day"] == pd.Timestamp("2025-03-04")


@pytest.fixture
def nine_days(make_folder):
    bests = [10, 12, 15, 20, 18, 22, 22, 19, 21]
    days = pd.date_range("2025-03-01", periods=9).strftime("%Y-%m-%d")
    logged = {d: [b] for d, b in zip(days, bests, strict=True)}
    logged["2025-03-01"] = [6, 10]  # best 10, mean 8
    sessions = (_holds("P1", logged)
                + _holds("P1", {"2025-02-27": [60]})  # before the program: ignored
                + _holds("P1", {"2025-03-02": [90]}, exercise="bridge"))  # no hold target
    programs = "P1,plank,2025-03-01,,1,1,20,1,7\nP1,bridge,2025-03-01,,1,10,,1,7\n"
    return _inputs(make_folder, programs, sessions)


def test_daily_best_mean_and_pct_of_target(nine_days):
    daily, summary = hold_progression(*nine_days)
    assert list(daily.columns) == ["patient_id", "exercise_id", "key", "day", "hold_s_best",
                                   "hold_s_mean", "target_s", "pct_of_target"]
    assert set(daily["key"]) == {"plank"}
    assert daily["day"].min() == pd.Timestamp("2025-03-01")
    first = daily.iloc[0]
    assert (first["hold_s_best"], first["hold_s_mean"], first["target_s"],
            first["pct_of_target"]) == (10.0, 8.0, 20.0, 50.0)
    assert len(daily) == 9


def test_summary_windows_best_and_target(nine_days):
    _, summary = hold_progression(*nine_days)
    assert len(summary) == 1
    s = summary.iloc[0]
    assert (s["patient_id"], s["exercise_id"], s["key"]) == ("P1", "plank", "plank")
    assert s["n_days"] == 9
    assert s["target_s"] == 20.0
    # First 7 logged days: 10, 12, 15, 20, 18, 22, 22 -> 119 / 7 = 17.
    assert s["first7_mean_s"] == pytest.approx(17.0)
    # Last 7: 15, 20, 18, 22, 22, 19, 21 -> 137 / 7.
    assert s["last7_mean_s"] == pytest.approx(137 / 7)
    assert s["pct_of_target_last7"] == pytest.approx(100 * 137 / 7 / 20)
    # 22 s is first reached on day 6 (and again on day 7).
    assert s["personal_best_s"] == 22.0
    assert s["personal_best_day"] == pd.Timestamp("2025-03-06")
    assert s["target_reached_day"] == pd.Timestamp("2025-03-04")


def test_target_reached_uses_that_days_target_and_summary_the_latest(make_folder):
    programs = ("P2,plank,2025-03-01,2025-03-05,1,1,20,1,7\n"
                "P2,plank,2025-03-06,,1,1,30,1,7\n")
    sessions = _holds("P2", {"2025-03-04": [18], "2025-03-05": [21], "2025-03-06": [25],
                             "2025-03-07": [31]})
    daily, summary = hold_progression(*_inputs(make_folder, programs, sessions))
    assert daily["target_s"].tolist() == [20.0, 20.0, 30.0, 30.0]
    s = summary.iloc[0]
    assert s["target_s"] == 30.0
    assert s["target_reached_day"] == pd.Timestamp("2025-03-05")
    assert s["n_days"] == 4


def test_never_reached_and_single_day(make_folder):
    daily, summary = hold_progression(*_inputs(
        make_folder, "P1,plank,2025-03-01,,1,1,20,1,7\n", _holds("P1", {"2025-03-02": [5, 7]})))
    s = summary.iloc[0]
    assert pd.isna(s["target_reached_day"])
    assert pd.isna(s["slope_s_per_week"])
    assert s["first7_mean_s"] == s["last7_mean_s"] == 7.0


def test_no_hold_prescription_gives_empty_frames(make_folder):
    daily, summary = hold_progression(*_inputs(
        make_folder, "P1,bridge,2025-03-01,,1,10,,1,7\n",
        _holds("P1", {"2025-03-02": [5]}, exercise="bridge")))
    assert daily.empty and summary.empty
    assert "slope_s_per_week" in summary.columns


def test_inputs_not_modified(nine_days):
    rows, active = nine_days
    before = rows.copy(), active.copy()
    hold_progression(rows, active)
    pd.testing.assert_frame_equal(rows, before[0])
    pd.testing.assert_frame_equal(active, before[1])


def test_unchanged_when_rows_are_shuffled(make_folder):
    programs = ("P1,plank,2025-03-01,,1,1,20,1,7\nP1,side plank,2025-03-01,,1,1,15,1,7\n"
                "P2,plank,2025-03-01,,1,1,30,1,7\n")
    days = pd.date_range("2025-03-01", periods=12).strftime("%Y-%m-%d")
    sessions = "".join(_holds(p, {d: [1, 1]}, exercise=e)
                       for p, e in (("P1", "plank"), ("P1", "side plank"), ("P2", "plank"))
                       for d in days)
    rows, active = _inputs(make_folder, programs, sessions)

    @settings(max_examples=50, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(holds=st.lists(st.one_of(st.none(), st.integers(0, 120)),
                          min_size=len(rows), max_size=len(rows)),
           order=st.permutations(range(len(rows))))
    def check(holds, order):
        data = rows.assign(hold_s=pd.Series([np.nan if h is None else float(h) for h in holds],
                                            dtype="float64"))
        expected = hold_progression(data, active)
        shuffled = data.iloc[list(order)].reset_index(drop=True)
        got = hold_progression(shuffled, active)
        for e, g in zip(expected, got, strict=True):
            pd.testing.assert_frame_equal(g, e)

    check()
