"""Hand-computed cases for the pain metrics and alerts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import load
from analytics.metrics.pain import (
    ALERT_COLUMNS,
    BEFORE_AFTER_COLUMNS,
    CHANGE_COLUMNS,
    DAILY_COLUMNS,
    VARIABILITY_COLUMNS,
    pain_alerts,
    pain_before_after,
    pain_change,
    pain_daily,
    pain_variability,
    pain_window,
)
from analytics.settings import Settings

SETTINGS = Settings()
Row = tuple  # (patient, "YYYY-MM-DD HH:MM", pain, context, symptoms)


def make_pain(rows: list[Row]) -> pd.DataFrame:
    """A validated-looking pain frame from (patient, local time, pain, context,
    symptoms) tuples; times are local wall clock, read as UTC for simplicity."""
    full = [tuple(r) + ("other", None)[len(r) - 3:] for r in rows]
    local = pd.Series(pd.to_datetime([r[1] for r in full]), dtype="datetime64[ns]")
    return pd.DataFrame({
        "patient_id": pd.array([r[0] for r in full], dtype="string"),
        "reported_at": local,
        "reported_at_utc": local.dt.tz_localize("UTC"),
        "local_day": local.dt.normalize(),
        "pain": pd.Series([r[2] for r in full], dtype="float64"),
        "context": pd.array([r[3] for r in full], dtype="string"),
        "symptoms": pd.array([r[4] for r in full], dtype="string"),
        "notes": pd.array([None] * len(full), dtype="string"),
        "line": pd.Series(range(2, len(full) + 2), dtype="int64"),
    })


def day(n: int, time: str = "08:00") -> str:
    """Local time on day ``n`` (day 1 = Monday 2025-03-03)."""
    return (pd.Timestamp("2025-03-03") + pd.Timedelta(days=n - 1)).strftime("%Y-%m-%d ") + time


def change_row(rows: list[Row], settings: Settings = SETTINGS) -> dict:
    out = pain_change(make_pain(rows), settings)
    assert len(out) == 1
    return out.iloc[0].to_dict()


def two_windows(before: list[float], after: list[float], span: int = 14) -> list[Row]:
    """Reports ``before`` on day 1 and ``after`` on day ``1 + span``."""
    return ([("P1", day(1, f"0{i}:00"), v) for i, v in enumerate(before)]
            + [("P1", day(1 + span, f"0{i}:00"), v) for i, v in enumerate(after)])


# --- pain_window ---------------------------------------------------------------------

def test_window_bounds_are_inclusive_local_days():
    pain = make_pain([("P1", day(1), 1), ("P1", day(2, "23:59"), 2), ("P1", day(3), 3)])
    assert pain_window(pain, start=day(2), as_of=day(2))["pain"].tolist() == [2.0]
    assert pain_window(pain, start=day(2))["pain"].tolist() == [2.0, 3.0]
    assert pain_window(pain, as_of=pd.Timestamp(day(2)))["pain"].tolist() == [1.0, 2.0]
    assert len(pain_window(pain)) == 3


# --- pain_daily ----------------------------------------------------------------------

def test_daily_summary_and_rolling_mean_skips_days_without_reports():
    pain = make_pain([
        ("P1", day(1, "08:00"), 2), ("P1", day(1, "20:00"), 6),  # mean 4, range 4
        ("P1", day(3), 6),
        ("P1", day(9), 8),  # window [3, 9] holds days 3 and 9 only
        ("P2", day(1), 5),
    ])
    daily = pain_daily(pain)
    assert tuple(daily.columns) == DAILY_COLUMNS
    p1 = daily[daily["patient_id"] == "P1"]
    assert p1["day"].tolist() == [pd.Timestamp(day(n)).normalize() for n in (1, 3, 9)]
    assert p1["pain_mean"].tolist() == [4.0, 6.0, 8.0]
    assert p1["pain_min"].tolist() == [2.0, 6.0, 8.0]
    assert p1["pain_max"].tolist() == [6.0, 6.0, 8.0]
    assert p1["pain_range"].tolist() == [4.0, 0.0, 0.0]
    assert p1["n_reports"].tolist() == [2, 1, 1]
    assert p1["rolling_7d_mean"].tolist() == pytest.approx([4.0, 5.0, 7.0])
    assert daily[daily["patient_id"] == "P2"]["rolling_7d_mean"].tolist() == [5.0]


def test_late_evening_report_lands_on_its_local_day(make_folder):
    folder = make_folder({
        "patients.csv": "patient_id,name,timezone\nP2,Bob,America/New_York\n",
        "pain.csv": "patient_id,reported_at,pain\nP2,2025-03-02T04:30:00Z,5\n",
    })
    ds = load(folder, now=NOW)
    assert ds.pain["reported_at"].tolist() == [pd.Timestamp("2025-03-01 23:30")]
    daily = pain_daily(ds.pain)
    assert daily["day"].tolist() == [pd.Timestamp("2025-03-01")]
    assert pain_change(ds.pain, SETTINGS)["first_day"].tolist() == [pd.Timestamp("2025-03-01")]


def test_empty_input_gives_empty_frames_with_columns():
    empty = make_pain([])
    assert tuple(pain_daily(empty).columns) == DAILY_COLUMNS
    assert tuple(pain_change(empty, SETTINGS).columns) == CHANGE_COLUMNS
    assert tuple(pain_before_after(empty).columns) == BEFORE_AFTER_COLUMNS
    assert tuple(pain_variability(pain_daily(empty)).columns) == VARIABILITY_COLUMNS
    assert tuple(pain_alerts(empty, pain_daily(empty), SETTINGS).columns) == ALERT_COLUMNS


# --- pain_change ---------------------------------------------------------------------

def test_baseline_is_mean_of_all_reports_not_of_daily_means():
    rows = [("P1", day(1, "08:00"), 6), ("P1", day(1, "20:00"), 8), ("P1", day(2), 4),
            ("P1", day(8), 0),  # day 8 is outside the 7-day baseline window
            ("P1", day(15), 5), ("P1", day(16), 5)]
    row = change_row(rows)
    assert row["pain_baseline"] == 6.0  # (6 + 8 + 4) / 3, not (7 + 4) / 2 = 5.5
    assert row["n_baseline"] == 3
    # recent window is [day 10, day 16]
    assert (row["pain_recent"], row["n_recent"]) == (5.0, 2)
    assert row["first_day"] == pd.Timestamp(day(1)).normalize()
    assert row["last_day"] == pd.Timestamp(day(16)).normalize()
    assert (row["pain_change"], row["pain_change_pct"]) == (-1.0, -16.67)
    assert row["pain_status"] == "no_change"


@pytest.mark.parametrize(("before", "after", "change", "pct", "status"), [
    pytest.param([6, 6], [4, 4], -2.0, -33.33, "improved", id="6-to-4"),
    pytest.param([5, 5], [4.5, 4.5], -0.5, -10.0, "no_change", id="5-to-4.5"),
    pytest.param([3, 3], [5, 5], 2.0, 66.67, "worse", id="3-to-5"),
    pytest.param([2.3, 2.3], [0.3, 0.3], -2.0, -86.96, "improved",
                 id="exactly-minus-2-despite-float-noise"),
    pytest.param([10, 10], [7, 7], -3.0, -30.0, "improved", id="10-to-7"),
    pytest.param([5, 5], [3.5, 3.5], -1.5, -30.0, "improved", id="minus-30pct-only"),
    pytest.param([5, 5], [3.6, 3.6], -1.4, -28.0, "no_change", id="minus-28pct"),
    pytest.param([3, 3], [4.9, 5.1], 2.0, 66.67, "worse", id="plus-2-exactly"),
    pytest.param([0, 0], [1, 1], 1.0, None, "no_change", id="zero-baseline-pct-null"),
])
def test_status_thresholds(before, after, change, pct, status):
    row = change_row(two_windows(before, after))
    assert row["pain_change"] == change
    if pct is None:
        assert pd.isna(row["pain_change_pct"])
    else:
        assert row["pain_change_pct"] == pct
    assert row["pain_status"] == status


def test_thirteen_day_span_is_insufficient_but_numbers_are_given():
    row = change_row(two_windows([8, 8], [2, 2], span=13))
    assert row["pain_status"] == "insufficient_data"
    assert (row["pain_baseline"], row["pain_recent"], row["pain_change"]) == (8.0, 2.0, -6.0)


def test_one_report_in_a_window_is_insufficient():
    assert change_row(two_windows([8], [2, 2]))["pain_status"] == "insufficient_data"
    assert change_row(two_windows([8, 8], [2]))["pain_status"] == "insufficient_data"
    single = change_row([("P1", day(1), 4)])
    assert single["pain_status"] == "insufficient_data"
    assert (single["n_baseline"], single["n_recent"], single["pain_change"]) == (1, 1, 0.0)


def test_thresholds_come_from_settings():
    rows = two_windows([5, 5], [4, 4])
    assert change_row(rows)["pain_status"] == "no_change"
    relaxed = dataclasses.replace(SETTINGS, pain_improved_points=1.0)
    assert change_row(rows, relaxed)["pain_status"] == "improved"
    short = dataclasses.replace(SETTINGS, pain_min_span_days=30)
    assert change_row(rows, short)["pain_status"] == "insufficient_data"


def test_change_is_per_patient_and_sorted():
    rows = two_windows([6, 6], [3, 3]) + [("P0", day(1), 2), ("P0", day(2), 2)]
    out = pain_change(make_pain(rows), SETTINGS)
    assert out["patient_id"].tolist() == ["P0", "P1"]
    assert out["pain_status"].tolist() == ["insufficient_data", "improved"]
    assert out["n_baseline"].dtype == "int64"


# --- before / after ------------------------------------------------------------------

def test_before_after_pairs_days_with_both_contexts():
    pain = make_pain([
        ("P1", day(1, "07:00"), 6, "before_session", None),
        ("P1", day(1, "07:10"), 4, "before_session", None),  # day 1 before mean 5
        ("P1", day(1, "09:00"), 3, "after_session", None),
        ("P1", day(2, "07:00"), 7, "before_session", None),  # unpaired day
        ("P1", day(3, "07:00"), 5, "before_session", None),
        ("P1", day(3, "09:00"), 5, "after_session", None),
        ("P1", day(3, "19:00"), 7, "after_session", None),  # day 3 after mean 6
        ("P1", day(3, "20:00"), 10, "evening", None),  # other contexts are ignored
        ("P2", day(1, "07:00"), 5, "before_session", None),  # never paired
    ])
    out = pain_before_after(pain)
    assert out.to_dict("records") == [{"patient_id": "P1", "n_days": 2, "before_mean": 5.0,
                                       "after_mean": 4.5, "mean_diff": -0.5}]


# --- variability ---------------------------------------------------------------------

def test_variability_uses_days_with_two_or_more_reports():
    pain = make_pain([
        ("P1", day(1, "08:00"), 2), ("P1", day(1, "20:00"), 6),  # range 4
        ("P1", day(2), 9),  # single report: ignored
        ("P1", day(3, "08:00"), 3), ("P1", day(3, "12:00"), 5), ("P1", day(3, "20:00"), 4),
        ("P2", day(1), 5),
    ])
    out = pain_variability(pain_daily(pain)).set_index("patient_id")
    assert out.loc["P1"].tolist() == [3.0, 4.0]
    assert out.loc["P2"].isna().all()


# --- alerts --------------------------------------------------------------------------

def _alerts(rows: list[Row], settings: Settings = SETTINGS) -> pd.DataFrame:
    pain = make_pain(rows)
    return pain_alerts(pain, pain_daily(pain), settings)


def test_red_flag_severities_and_messages():
    alerts = _alerts([
        ("P1", day(1, "08:00"), 3, "other", "numbness;tingling"),
        ("P1", day(2, "08:00"), 3, "other", "bladder_bowel"),
        ("P1", day(3, "08:00"), 3, "other", "numbness;saddle_numbness;weakness"),
        ("P1", day(4, "08:00"), 3, "other", "fever;night_pain"),  # not a red flag here
    ])
    assert tuple(alerts.columns) == ALERT_COLUMNS
    assert (alerts["kind"] == "red_flag").all()
    assert alerts["severity"].tolist() == ["warning", "urgent", "urgent"]
    assert alerts["date"].tolist() == [pd.Timestamp(day(n)).normalize() for n in (1, 2, 3)]
    first, second, third = alerts["message"].tolist()
    assert "numbness and tingling" in first and "2025-03-03" in first
    assert ("The exercise guidance says to stop and contact your spine professional if you "
            "notice pain, weakness, tingling or numbness.") in first
    assert "changes in bladder or bowel control" in second
    assert "Seek medical care now (emergency department or urgent care)" in second
    # one urgent alert for the mixed report, naming every symptom
    assert ("numbness in the groin/inner thighs (saddle area), numbness and weakness"
            in third)
    assert "Seek medical care now" in third


def test_messages_never_diagnose():
    alerts = _alerts([("P1", day(1), 9, "other", "bladder_bowel;saddle_numbness"),
                      ("P1", day(2), 9, "other", "numbness")])
    text = " ".join(alerts["message"]).lower()
    for word in ("cauda equina", "sciatica", "radiculopathy", "herniat", "diagnos",
                 "you have"):
        assert word not in text


def test_pain_high_once_per_day_using_the_days_max():
    alerts = _alerts([
        ("P1", day(1, "08:00"), 7), ("P1", day(1, "12:00"), 9), ("P1", day(1, "20:00"), 8),
        ("P1", day(2), 6.9),
        ("P1", day(3), 7),
    ])
    high = alerts[alerts["kind"] == "pain_high"]
    assert high["date"].tolist() == [pd.Timestamp(day(n)).normalize() for n in (1, 3)]
    assert high["severity"].tolist() == ["warning", "warning"]
    assert high["message"].iloc[0] == "Pain rated 9/10 on 2025-03-03 (7 or more is severe)."


def test_pain_high_threshold_from_settings():
    alerts = _alerts([("P1", day(1), 6)], dataclasses.replace(SETTINGS, pain_high=6))
    assert alerts["message"].tolist() == ["Pain rated 6/10 on 2025-03-03 (6 or more is severe)."]


def test_pain_rise_one_alert_per_episode_dated_its_first_day():
    # Daily reports: 2/10 on days 1-14, then 6/10 on days 15-42, then 9/10 on days 43-60.
    values = [2] * 14 + [6] * 28 + [9] * 18
    alerts = _alerts([("P1", day(n), v) for n, v in enumerate(values, start=1)])
    rise = alerts[alerts["kind"] == "pain_rise"]
    # Day 18: window [12, 18] = (3x2 + 4x6)/7 = 4.29 against 2.0 in [5, 11] -> +2.29.
    # The episode holds up to day 24 and ends on day 25 (+1.71).
    # Day 47: window [41, 47] = (2x6 + 5x9)/7 = 8.14 against 6.0 in [34, 40] -> +2.14.
    assert rise["date"].tolist() == [pd.Timestamp(day(n)).normalize() for n in (18, 47)]
    assert rise["severity"].tolist() == ["warning", "warning"]
    assert rise["message"].iloc[0] == (
        "Average pain over the 7 days to 2025-03-20 was 4.3/10, 2.3 points higher than over "
        "the 7 days before (2.0/10).")


def test_pain_rise_needs_a_report_in_both_windows_and_skips_empty_days():
    # Only two reports 8 days apart: on day 9 the window [3, 9] holds day 9 only and the
    # earlier window [-4, 2] holds day 1, so the rise (8 - 2 = 6) is flagged.
    assert _alerts([("P1", day(1), 2), ("P1", day(9), 8)])["kind"].tolist() == [
        "pain_high", "pain_rise"]
    # 14 days apart: the earlier window [2, 8] for day 15 is empty -> no rise alert.
    assert "pain_rise" not in _alerts([("P1", day(1), 2), ("P1", day(15), 6)])["kind"].tolist()


def test_pain_rise_episode_continues_over_days_without_reports():
    rows = [("P1", day(1), 1), ("P1", day(8), 5), ("P1", day(10), 5)]
    rise = _alerts(rows).query("kind == 'pain_rise'")
    # Day 8: 5 vs 1 -> start; day 9 (no report) and day 10 still hold -> one alert.
    assert rise["date"].tolist() == [pd.Timestamp(day(8)).normalize()]


def test_pain_rise_episode_ends_on_a_day_without_data():
    rows = [("P1", day(1), 1), ("P1", day(8), 5), ("P1", day(16), 7)]
    rise = _alerts(rows).query("kind == 'pain_rise'")
    # Day 8: 5 vs 1. Days 15 (window [9, 15] empty) break the episode; day 16: 7 vs 5.
    assert rise["date"].tolist() == [pd.Timestamp(day(n)).normalize() for n in (8, 16)]


def test_alerts_sorted_by_patient_date_then_urgent_first():
    alerts = _alerts([
        ("P2", day(1), 8, "other", "numbness"),
        ("P1", day(2, "08:00"), 9, "other", None),
        ("P1", day(2, "09:00"), 3, "other", "saddle_numbness"),
        ("P1", day(1), 3, "other", "tingling"),
    ])
    assert list(zip(alerts["patient_id"], alerts["date"].dt.day, alerts["severity"],
                    alerts["kind"], strict=True)) == [
        ("P1", 3, "warning", "red_flag"),
        ("P1", 4, "urgent", "red_flag"),
        ("P1", 4, "warning", "pain_high"),
        ("P2", 3, "warning", "pain_high"),
        ("P2", 3, "warning", "red_flag"),
    ]


def test_inputs_are_not_modified():
    pain = make_pain([("P1", day(1), 8, "before_session", "numbness"),
                      ("P1", day(1, "10:00"), 6, "after_session", None),
                      ("P1", day(16), 2)])
    before = pain.copy()
    daily = pain_daily(pain)
    daily_before = daily.copy()
    pain_change(pain, SETTINGS)
    pain_before_after(pain)
    pain_variability(daily)
    pain_alerts(pain, daily, SETTINGS)
    pain_window(pain, start=day(2))
    pd.testing.assert_frame_equal(pain, before)
    pd.testing.assert_frame_equal(daily, daily_before)


# --- properties ----------------------------------------------------------------------

SYMPTOM_CHOICES = [None, "numbness", "tingling;weakness", "bladder_bowel",
                   "numbness;saddle_numbness", "fever"]
report = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.integers(min_value=0, max_value=40),  # day offset
    st.integers(min_value=0, max_value=23),  # hour
    st.one_of(st.integers(0, 10).map(float),
              st.floats(0, 10, allow_nan=False).map(lambda v: round(v, 1))),
    st.sampled_from(["before_session", "after_session", "morning", "evening", "other"]),
    st.sampled_from(SYMPTOM_CHOICES),
)


def _frame(reports: list[tuple]) -> pd.DataFrame:
    return make_pain([(p, day(1 + d, f"{h:02d}:00"), v, c, s) for p, d, h, v, c, s in reports])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(report, max_size=40), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(reports, rnd):
    pain = _frame(reports)
    order = list(range(len(pain)))
    rnd.shuffle(order)
    shuffled = pain.iloc[order].reset_index(drop=True)
    daily = pain_daily(pain)
    pd.testing.assert_frame_equal(pain_daily(shuffled), daily)
    pd.testing.assert_frame_equal(pain_change(shuffled, SETTINGS), pain_change(pain, SETTINGS))
    pd.testing.assert_frame_equal(pain_before_after(shuffled), pain_before_after(pain))
    pd.testing.assert_frame_equal(pain_variability(pain_daily(shuffled)),
                                  pain_variability(daily))
    shuffled_daily = daily.sample(frac=1, random_state=rnd.randint(0, 10**6))
    pd.testing.assert_frame_equal(pain_alerts(shuffled, shuffled_daily, SETTINGS),
                                  pain_alerts(pain, daily, SETTINGS))


@settings(max_examples=60, deadline=None)
@given(st.lists(report, min_size=1, max_size=40))
def test_baseline_and_recent_stay_on_the_scale(reports):
    pain = _frame(reports)
    out = pain_change(pain, SETTINGS)
    assert out["patient_id"].tolist() == sorted(set(pain["patient_id"]))
    for column in ("pain_baseline", "pain_recent"):
        assert out[column].between(0, 10).all()
    assert (out["n_baseline"] >= 1).all() and (out["n_recent"] >= 1).all()
    daily = pain_daily(pain)
    assert daily["rolling_7d_mean"].between(-1e-9, 10 + 1e-9).all()
    assert daily["n_reports"].sum() == len(pain)
    np.testing.assert_allclose(daily["pain_range"], daily["pain_max"] - daily["pain_min"])


def test_a_day_with_only_missing_ratings_counts_as_no_report():
    """Called directly (loading rejects a missing rating), a day whose ratings are all
    missing gets no rolling mean and starts no pain-rise episode."""
    pain = make_pain([("P1", day(1), 4), ("P1", day(2), float("nan")), ("P1", day(3), 6)])
    daily = pain_daily(pain)
    assert daily["rolling_7d_mean"].tolist()[0] == 4.0
    assert pd.isna(daily["rolling_7d_mean"].tolist()[1])
    assert daily["rolling_7d_mean"].tolist()[2] == 5.0
