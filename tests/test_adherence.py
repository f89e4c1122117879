"""Hand-computed adherence, session and streak cases."""

from __future__ import annotations

import pandas as pd
from conftest import NOW
from hypothesis import given, settings
from hypothesis import strategies as st
from metrics_helpers import run

from analytics import load
from analytics.metrics.adherence import streaks, weekly_adherence
from analytics.settings import Settings

PROGRAM_HEADER = "patient_id,exercise,start_date,end_date,reps,hold_s,times_per_day,days_per_week\n"
SESSION_HEADER = "patient_id,performed_at,exercise,reps,hold_s\n"


def _rows(patient: str, days: list[str], times: list[str], exercise: str = "pelvic tilt") -> str:
    return "".join(f"{patient},{d}T{t},{exercise},10,5\n" for d in days for t in times)


def _days(start: str, n: int) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(start, periods=n)]


def twice_daily(make_folder):
    # 14-day twice-daily program, Monday 2025-03-03 to Sunday 2025-03-16.
    programs = PROGRAM_HEADER + "P1,pelvic tilt,2025-03-03,2025-03-16,10,5,2,7\n"
    days = _days("2025-03-03", 10)
    sessions = (SESSION_HEADER + _rows("P1", days[:5], ["08:00", "13:00", "19:00"])
                + _rows("P1", days[5:], ["08:00"]))
    return load(make_folder({"programs.csv": programs, "sessions.csv": sessions}), now=NOW)


def test_twice_daily_capped_per_day_and_as_of_is_last_data_day(make_folder):
    ds = twice_daily(make_folder)
    r = run(ds)
    # As-of = last day with data (03-12): 10 days x 2 = 20 prescribed;
    # 5 days x min(3, 2) + 5 days x 1 = 15 done -> 75.0 %.
    p = r.patients.loc["P1"]
    assert (p["sessions_prescribed"], p["sessions_done"], p["adherence_pct"]) == (20, 15, 75.0)
    assert not p["adherent"]
    assert r.periods.set_index("patient_id").loc["P1", "period_end"] == pd.Timestamp("2025-03-12")


def test_to_date_extends_period_and_weekly_series(make_folder):
    ds = twice_daily(make_folder)
    r = run(ds, to="2025-03-16")
    p = r.patients.loc["P1"]
    assert (p["sessions_prescribed"], p["sessions_done"], p["adherence_pct"]) == (28, 15, 53.6)
    weeks = r.weekly.set_index("week_start")
    # Week 1 (Mon 03-03..Sun 03-09): 5 x 2 + 2 x 1 = 12 of 14; week 2: 3 x 1 = 3 of 14.
    assert weeks.loc[pd.Timestamp("2025-03-03"), ["done", "prescribed"]].tolist() == [12, 14]
    assert weeks.loc[pd.Timestamp("2025-03-10"), ["done", "prescribed"]].tolist() == [3, 14]
    assert weeks["adherence_pct"].tolist() == [85.7, 21.4]
    assert weeks["below_threshold"].tolist() == [False, True]


def test_from_date_later_than_program_start(make_folder):
    ds = twice_daily(make_folder)
    r = run(ds, start="2025-03-08", to="2025-03-16")
    # 9 days x 2 = 18; done: 03-08..03-12 one each = 5.
    p = r.patients.loc["P1"]
    assert (p["sessions_prescribed"], p["sessions_done"]) == (18, 5)


def test_days_per_week_quota_prorated_for_partial_week(make_folder):
    # 3 days a week from Wednesday 03-05 to Sunday 03-16: week 1 has 5 of its days inside
    # -> quota round(3 x 5/7 = 2.14) = 2; week 2 -> 3. Total 5.
    programs = PROGRAM_HEADER + "P1,bridge,2025-03-05,2025-03-16,10,3,1,3\n"
    sessions = SESSION_HEADER + _rows("P1", ["2025-03-05", "2025-03-06", "2025-03-07",
                                            "2025-03-08", "2025-03-16"], ["09:00"], "bridge")
    ds = load(make_folder({"programs.csv": programs, "sessions.csv": sessions}), now=NOW)
    r = run(ds)
    assert r.weekly["prescribed"].tolist() == [2, 3]
    assert r.weekly["done"].tolist() == [2, 1]
    p = r.patients.loc["P1"]
    assert (p["sessions_prescribed"], p["sessions_done"], p["adherence_pct"]) == (5, 3, 60.0)


def test_sessions_gap_counted_and_complete(make_folder):
    programs = (PROGRAM_HEADER + "P1,pelvic tilt,2025-03-03,,10,5,1,7\n"
                "P1,bridge,2025-03-03,,10,3,1,7\n")
    sessions = SESSION_HEADER + (
        "P1,2025-03-03T08:00,pelvic tilt,10,5\n"
        "P1,2025-03-03T09:30,bridge,10,3\n"        # 90 min later: same session, complete
        "P1,2025-03-04T08:00,pelvic tilt,10,5\n"
        "P1,2025-03-04T09:31,bridge,10,3\n"        # 91 min later: a second session
        "P1,2025-03-05T08:00,bench press,10,\n"    # nothing prescribed: not counted
    )
    ds = load(make_folder({"programs.csv": programs, "sessions.csv": sessions}), now=NOW)
    r = run(ds)
    s = r.sessions
    assert s["day"].dt.day.tolist() == [3, 4, 4, 5]
    assert s["counted"].tolist() == [True, True, True, False]
    assert s["complete"].tolist() == [True, False, False, False]
    p = r.patients.loc["P1"]
    assert (p["sessions_prescribed"], p["sessions_done"], p["complete_sessions_done"]) == (3, 2, 1)
    assert p["complete_sessions_pct"] == 33.3


def test_session_logged_in_utc_lands_on_local_day(make_folder):
    programs = PROGRAM_HEADER + "P2,bridge,2025-03-03,2025-03-04,10,3,1,7\n"
    # 04:30 UTC on 03-05 is 23:30 on 03-04 in New York.
    sessions = SESSION_HEADER + "P2,2025-03-05T04:30:00Z,bridge,10,3\n"
    ds = load(make_folder({"programs.csv": programs, "sessions.csv": sessions}), now=NOW)
    r = run(ds)
    assert r.sessions["day"].tolist() == [pd.Timestamp("2025-03-04")]
    assert r.patients.loc["P2", "sessions_done"] == 1


def test_streaks(make_folder):
    programs = (PROGRAM_HEADER + "P1,bridge,2025-03-01,2025-03-10,10,3,1,7\n"
                "P2,bridge,2025-03-01,2025-03-10,10,3,1,7\n")
    p1 = _rows("P1", [f"2025-03-{d:02d}" for d in (1, 2, 3, 5, 6, 9)], ["09:00"], "bridge")
    p2 = _rows("P2", [f"2025-03-{d:02d}" for d in (6, 7)], ["09:00"], "bridge")
    pain = "patient_id,reported_at,pain\nP1,2025-03-10T20:00,3\n"
    ds = load(make_folder({"programs.csv": programs, "sessions.csv": SESSION_HEADER + p1 + p2,
                           "pain.csv": pain}), now=NOW)
    r = run(ds)
    st = r.streaks
    assert st.loc["P1", ["longest_streak_days", "current_streak_days"]].tolist() == [3, 1]
    assert st.loc["P1", "days_since_last_session"] == 1
    assert st.loc["P2", ["longest_streak_days", "current_streak_days"]].tolist() == [2, 0]
    assert st.loc["P2", "days_since_last_session"] == 3


def test_threshold_is_configurable(make_folder):
    ds = twice_daily(make_folder)
    assert bool(run(ds, Settings(adherence_threshold_pct=70)).patients.loc["P1", "adherent"])


def test_patient_without_sessions_has_zero_and_null_streak_day(make_folder):
    programs = PROGRAM_HEADER + "P1,bridge,2025-03-01,,10,3,1,7\n"
    pain = "patient_id,reported_at,pain\nP2,2025-03-05T20:00,3\n"
    ds = load(make_folder({"programs.csv": programs, "pain.csv": pain}), now=NOW)
    r = run(ds)
    assert r.patients.loc["P1", ["sessions_prescribed", "sessions_done"]].tolist() == [5, 0]
    assert r.patients.loc["P1", "adherence_pct"] == 0.0
    assert pd.isna(r.streaks.loc["P1", "days_since_last_session"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3"]),
                          st.lists(st.integers(min_value=0, max_value=2), max_size=12)),
                max_size=3, unique_by=lambda t: t[0]))
def test_streaks_match_a_day_by_day_count(patients):
    """Streaks equal a plain loop over each patient's days (any row order)."""
    rows, periods = [], []
    for pid, counts in patients:
        end = pd.Timestamp("2025-03-01") + pd.Timedelta(days=max(len(counts) - 1, 0))
        periods.append({"patient_id": pid, "period_end": end})
        rows += [{"patient_id": pid, "day": pd.Timestamp("2025-03-01") + pd.Timedelta(days=i),
                  "counted": c} for i, c in enumerate(counts)]
    daily = pd.DataFrame(rows, columns=["patient_id", "day", "counted"]).astype(
        {"patient_id": "string", "day": "datetime64[ns]", "counted": "int64"})
    daily = daily.sample(frac=1, random_state=0)
    period_frame = pd.DataFrame(periods, columns=["patient_id", "period_end"]).astype(
        {"patient_id": "string", "period_end": "datetime64[ns]"})
    out = streaks(daily, period_frame).set_index("patient_id")
    for pid, counts in patients:
        run, runs = 0, []
        for c in counts:
            run = run + 1 if c > 0 else 0
            runs.append(run)
        current = runs[-1] if runs and runs[-1] else (runs[-2] if len(runs) > 1 else 0)
        done = [i for i, c in enumerate(counts) if c > 0]
        assert out.loc[pid, "longest_streak_days"] == max(runs, default=0)
        assert out.loc[pid, "current_streak_days"] == current
        if done:
            assert out.loc[pid, "days_since_last_session"] == len(counts) - 1 - done[-1]
        else:
            assert pd.isna(out.loc[pid, "days_since_last_session"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["P1", "P2"]), st.integers(0, 20),
                          st.integers(0, 3), st.integers(0, 3), st.integers(1, 7)),
                max_size=40, unique_by=lambda t: (t[0], t[1])))
def test_weekly_adherence_matches_the_quota_rules(days):
    """Each (patient, ISO week): daily-mode days add their own prescription and capped
    count; weekly-mode days share a quota of round(days_per_week x per-day x days / 7)."""
    start = pd.Timestamp("2025-03-03")  # a Monday
    rows = []
    for pid, offset, prescribed, counted, dpw in days:
        day = start + pd.Timedelta(days=offset)
        done = min(counted, prescribed)
        rows.append({"patient_id": pid, "day": day,
                     "week_start": day - pd.Timedelta(days=day.day_of_week),
                     "prescribed": prescribed, "days_per_week": dpw, "done": done,
                     "done_complete": min(done, 1), "weekly_mode": dpw < 7 and prescribed > 0})
    daily = pd.DataFrame(rows, columns=["patient_id", "day", "week_start", "prescribed",
                                        "days_per_week", "done", "done_complete",
                                        "weekly_mode"]).astype({"patient_id": "string"})
    out = weekly_adherence(daily, Settings())
    expected = []
    for (pid, week), g in sorted(daily.groupby(["patient_id", "week_start"]),
                                 key=lambda kv: (str(kv[0][0]), kv[0][1])):
        plain, shared = g[~g["weekly_mode"]], g[g["weekly_mode"]]
        quota = (int(shared["days_per_week"].max() * shared["prescribed"].max() * len(shared)
                     / 7 + 0.5) if len(shared) else 0)
        expected.append((pid, week, len(g), int(plain["prescribed"].sum()) + quota,
                         int(plain["done"].sum()) + min(int(shared["done"].sum()), quota)))
    got = list(zip(out["patient_id"], out["week_start"], out["days_in_period"],
                   out["prescribed"], out["done"], strict=True))
    assert got == expected
