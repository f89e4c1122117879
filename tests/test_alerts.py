"""Hand-computed adherence alerts: no_activity runs and low_adherence episodes."""

from __future__ import annotations

import pandas as pd
from conftest import NOW
from metrics_helpers import run
from test_adherence import PROGRAM_HEADER, SESSION_HEADER, _rows

from analytics import load
from analytics.metrics.alerts import (
    combine_alerts,
    low_adherence_alerts,
    no_activity_alerts,
    patient_alerts,
)
from analytics.settings import Settings


def _ds(make_folder, days: list[int], end: str = "2025-03-20"):
    programs = PROGRAM_HEADER + f"P1,bridge,2025-03-01,{end},10,3,1,7\n"
    sessions = SESSION_HEADER + _rows("P1", [f"2025-03-{d:02d}" for d in days], ["09:00"],
                                      "bridge")
    return load(make_folder({"programs.csv": programs, "sessions.csv": sessions}), now=NOW)


def test_no_activity_every_run_dated_when_it_reached_three(make_folder):
    # Sessions on 1, 2, 6, 7, 9, 14; runs without: 3-5 (3 days), 8 (1), 10-13 (4).
    ds = _ds(make_folder, [1, 2, 6, 7, 9, 14], end="2025-03-14")
    r = run(ds)
    alerts = no_activity_alerts(r.daily, Settings())
    assert alerts["date"].tolist() == [pd.Timestamp("2025-03-05"), pd.Timestamp("2025-03-12")]
    assert "4 program days in a row (2025-03-10 to 2025-03-13)" in alerts["message"].iloc[1]
    assert set(alerts["severity"]) == {"info"}
    assert len(no_activity_alerts(r.daily, Settings(no_activity_days=4))) == 1


def test_low_adherence_two_consecutive_weeks_one_alert_per_episode(make_folder):
    # Weeks (Mon): 02-24 (1 day inside: 03-01..03-02 -> Sat+Sun), 03-03, 03-10, 03-17.
    # Full weeks 03-03 and 03-10 have 2 of 7 sessions; 03-17 is good (Mon-Thu all done).
    days = [1, 2, 3, 4, 10, 11, 17, 18, 19, 20]
    ds = _ds(make_folder, days)
    r = run(ds)
    alerts = low_adherence_alerts(r.weekly, Settings())
    assert len(alerts) == 1
    assert alerts["date"].iloc[0] == pd.Timestamp("2025-03-16")
    assert "below 80% for 2 weeks in a row from the week of 2025-03-03" in alerts["message"].iloc[0]


def test_combined_alerts_put_urgent_first():
    a = pd.DataFrame({"patient_id": ["P1", "P1"], "kind": ["no_activity", "red_flag"],
                      "severity": ["info", "urgent"],
                      "date": pd.to_datetime(["2025-03-01", "2025-03-09"]),
                      "message": ["a", "b"]})
    assert combine_alerts(a)["kind"].tolist() == ["red_flag", "no_activity"]


def test_patient_alerts_reading_order():
    """Red flags first, then urgent before warning before info, then date and kind;
    ties keep their table order; other patients left out."""
    a = pd.DataFrame({
        "patient_id": ["P1", "P1", "P2", "P1", "P1", "P1", "P1"],
        "kind": ["no_activity", "pain_high", "red_flag", "red_flag", "pain_rise",
                 "low_adherence", "pain_high"],
        "severity": ["info", "warning", "urgent", "warning", "warning", "warning", "warning"],
        "date": pd.to_datetime(["2025-03-01", "2025-03-05", "2025-03-01", "2025-03-09",
                                "2025-03-05", "2025-03-05", "2025-03-05"]),
        "message": ["a", "b", "c", "d", "e", "f", "g"],
    })
    assert [m for _, _, _, m in patient_alerts(a, "P1")] == ["d", "f", "b", "g", "e", "a"]
