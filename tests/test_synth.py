"""Tests for the synthetic cohort generator (:mod:`analytics.synth`)."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from rapidfuzz import fuzz

from analytics.catalog import load_catalog
from analytics.names import fold_plurals, normalize_name
from analytics.synth import (
    ADHERENCE_PATTERNS,
    DEFAULT_END_DATE,
    PAIN_COLUMNS,
    PATIENT_COLUMNS,
    PROGRAM_COLUMNS,
    SESSION_COLUMNS,
    Cohort,
    generate_cohort,
    write_cohort,
)

SYMPTOMS = {"numbness", "tingling", "weakness", "bladder_bowel", "saddle_numbness", "fever",
            "night_pain", "other"}
CONTEXTS = {"before_session", "after_session", "morning", "evening", "other"}
TABLES = ("patients", "programs", "sessions", "pain")


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort()


@pytest.fixture(scope="module")
def catalog_keys() -> dict[str, set[str]]:
    """Normalised id / name / alias -> exercise ids."""
    keys: dict[str, set[str]] = {}
    for ex in load_catalog():
        for text in (ex.id, ex.name, *ex.aliases):
            keys.setdefault(normalize_name(text), set()).add(ex.id)
    return keys


def _linkable(text: str, keys: dict[str, set[str]]) -> bool:
    """Exact normalised alias, or ``fuzz.ratio`` >= 85 on normalised names."""
    norm = normalize_name(text)
    if not norm:
        return False
    if norm in keys:
        return True
    return max(fuzz.ratio(norm, k) for k in keys) >= 85


def _patterns(cohort: Cohort) -> pd.Series:
    """patient_id -> adherence pattern (from ``notes``)."""
    found = cohort.patients["notes"].str.extract(r"Synthetic profile: (\w+)\.")[0]
    return pd.Series(found.to_numpy(), index=cohort.patients["patient_id"].to_numpy())


def _session_days(cohort: Cohort) -> pd.DataFrame:
    """One row per patient and local day with a session: ``patient_id, day, hours``."""
    s = cohort.sessions
    ts = pd.to_datetime(s["performed_at"], format="%Y-%m-%dT%H:%M:%S")
    frame = pd.DataFrame({"patient_id": s["patient_id"], "day": ts.dt.normalize(),
                          "hour": ts.dt.hour})
    return frame.groupby(["patient_id", "day"], as_index=False).agg(
        morning=("hour", lambda h: bool((h < 12).any())),
        evening=("hour", lambda h: bool((h >= 16).any())))


# ---------------------------------------------------------------- shape and determinism


def test_columns_are_the_contract(cohort: Cohort) -> None:
    assert tuple(cohort.patients.columns) == PATIENT_COLUMNS
    assert tuple(cohort.programs.columns) == PROGRAM_COLUMNS
    assert tuple(cohort.sessions.columns) == SESSION_COLUMNS
    assert tuple(cohort.pain.columns) == PAIN_COLUMNS
    assert set(PATIENT_COLUMNS) == {"patient_id", "name", "timezone", "notes"}
    assert set(SESSION_COLUMNS) == {
        "patient_id", "performed_at", "exercise", "sets", "reps", "hold_s", "side", "rpe",
        "notes", "set_index", "set_type", "source"}
    assert set(PAIN_COLUMNS) == {"patient_id", "reported_at", "pain", "context", "symptoms",
                                 "notes"}


def test_same_seed_gives_identical_frames(cohort: Cohort) -> None:
    again = generate_cohort(seed=7)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(cohort, name), getattr(again, name))


def test_different_seed_gives_different_data(cohort: Cohort) -> None:
    other = generate_cohort(seed=8)
    assert not cohort.sessions.equals(other.sessions)
    assert not cohort.pain.equals(other.pain)
    assert not cohort.patients["name"].equals(other.patients["name"])


def test_a_patient_does_not_depend_on_cohort_size(cohort: Cohort) -> None:
    small = generate_cohort(n_patients=3)
    for name in ("programs", "sessions", "pain"):
        big = getattr(cohort, name)
        first = big[big["patient_id"] == "P001"].reset_index(drop=True)
        mine = getattr(small, name)
        pd.testing.assert_frame_equal(first, mine[mine["patient_id"] == "P001"]
                                      .reset_index(drop=True))


def test_patients(cohort: Cohort) -> None:
    p = cohort.patients
    assert list(p["patient_id"]) == [f"P{i:03d}" for i in range(1, 13)]
    assert p["name"].str.fullmatch(r"\S+ \S+").all()
    assert p["name"].is_unique
    assert p["timezone"].nunique() >= 4
    for tz in p["timezone"]:
        assert ZoneInfo(tz).key == tz


# ---------------------------------------------------------------- validity


def test_every_patient_id_is_known(cohort: Cohort) -> None:
    known = set(cohort.patients["patient_id"])
    for name in ("programs", "sessions", "pain"):
        assert set(getattr(cohort, name)["patient_id"]) <= known
    assert set(cohort.sessions["patient_id"]) == known


def test_no_duplicate_rows(cohort: Cohort) -> None:
    for name in TABLES:
        assert not getattr(cohort, name).duplicated().any(), name


def test_no_timestamp_after_end_date_or_now(cohort: Cohort) -> None:
    limit = f"{DEFAULT_END_DATE.isoformat()}T23:59:59"
    start = (DEFAULT_END_DATE - dt.timedelta(days=83)).isoformat()
    for frame, col in ((cohort.sessions, "performed_at"), (cohort.pain, "reported_at")):
        ts = frame[col]
        assert ts.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").all()
        assert (ts <= limit).all()
        assert (ts >= start).all()
        parsed = pd.to_datetime(ts, format="%Y-%m-%dT%H:%M:%S")
        assert parsed.max() < pd.Timestamp.now() - pd.Timedelta(days=1)
    assert (cohort.programs["start_date"] <= DEFAULT_END_DATE.isoformat()).all()


def test_local_times_avoid_dst_gaps(cohort: Cohort) -> None:
    for frame, col in ((cohort.sessions, "performed_at"), (cohort.pain, "reported_at")):
        clock = frame[col].str[11:]
        assert (clock >= "06:00:00").all() and (clock <= "22:30:00").all()


def test_end_date_today_keeps_rows_in_the_past() -> None:
    today = dt.date.today()
    c = generate_cohort(n_patients=7, days=10, end_date=today)
    for frame, col in ((c.sessions, "performed_at"), (c.pain, "reported_at")):
        zones = frame["patient_id"].map(dict(zip(c.patients["patient_id"],
                                                 c.patients["timezone"], strict=True)))
        for tz in zones.unique():
            local_now = pd.Timestamp.now(tz=tz).tz_localize(None).isoformat(timespec="seconds")
            assert (frame.loc[zones == tz, col] <= local_now).all()


def test_end_date_in_the_future_is_refused() -> None:
    with pytest.raises(ValueError, match="future"):
        generate_cohort(end_date=dt.date.today() + dt.timedelta(days=30))


def test_value_ranges(cohort: Cohort) -> None:
    s, p, g = cohort.sessions, cohort.pain, cohort.programs
    assert p["pain"].between(0, 10).all()
    assert ((p["pain"] * 10).round() == p["pain"] * 10).all()  # integer or one decimal
    assert set(p["context"]) <= CONTEXTS
    assert (s["sets"] == 1).all()
    assert (s["reps"] >= 1).all()
    hold = s["hold_s"].dropna()
    assert (hold > 0).all() and ((hold * 10).round() == hold * 10).all()
    assert s["hold_s"].notna().any()
    assert s["rpe"].dropna().between(0, 10).all() and s["rpe"].isna().any()
    assert (s["set_index"] >= 1).all()
    assert set(s["side"].dropna()) <= {"left", "right", "both"}
    assert set(s["set_type"]) == {"normal"} and set(s["source"]) == {"synth"}
    assert s["notes"].isna().mean() > 0.9
    assert set(g["times_per_day"]) <= {1, 2} and set(g["days_per_week"]) <= {5, 7}
    assert (g[["sets", "reps"]] >= 1).all().all()
    assert (g["hold_s"].dropna() > 0).all()


def test_symptoms(cohort: Cohort) -> None:
    sym = cohort.pain["symptoms"].dropna()
    tokens = {t for value in sym for t in value.split(";")}
    assert tokens <= SYMPTOMS
    flagged = cohort.pain.loc[cohort.pain["symptoms"].notna(), "patient_id"].nunique()
    assert 1 <= flagged <= 3  # a few patients, not most
    assert cohort.pain["symptoms"].isna().mean() > 0.95


# ---------------------------------------------------------------- exercise names


def test_every_exercise_text_links(cohort: Cohort, catalog_keys: dict[str, set[str]]) -> None:
    for name in ("sessions", "programs"):
        texts = getattr(cohort, name)["exercise"].unique()
        bad = [t for t in texts if not _linkable(t, catalog_keys)]
        assert not bad, f"{name}: {bad}"


def test_exercise_texts_vary_like_typing(cohort: Cohort,
                                         catalog_keys: dict[str, set[str]]) -> None:
    texts = cohort.sessions["exercise"]
    norm = texts.map(normalize_name)
    folded = {fold_plurals(k) for k in catalog_keys}
    exact = norm.isin(set(catalog_keys))
    typo = ~exact & ~norm.map(fold_plurals).isin(folded)
    assert 0.02 <= typo.mean() <= 0.06  # about 3-5 % of rows carry a typo
    assert exact.mean() > 0.85
    assert (texts != texts.str.lower()).any() and (texts == texts.str.lower()).any()
    assert texts.nunique() > 2 * cohort.programs["exercise"].nunique()


def test_exercise_texts_link_to_the_patients_program(cohort: Cohort) -> None:
    link = pytest.importorskip("analytics.link")
    linker = link.Linker.from_catalog(load_catalog())
    ids = linker.link_names(pd.concat([cohort.sessions["exercise"],
                                       cohort.programs["exercise"]]))["exercise_id"]
    programs = set(zip(cohort.programs["patient_id"],
                       cohort.programs["exercise"].map(ids), strict=True))
    sessions = set(zip(cohort.sessions["patient_id"],
                       cohort.sessions["exercise"].map(ids), strict=True))
    assert sessions <= programs


# ---------------------------------------------------------------- realism


def test_all_adherence_patterns_present(cohort: Cohort) -> None:
    patterns = _patterns(cohort)
    assert patterns.notna().all()
    assert set(patterns) == set(ADHERENCE_PATTERNS)
    assert len(ADHERENCE_PATTERNS) == 7


def test_adherence_patterns_show_in_the_data(cohort: Cohort) -> None:
    patterns = _patterns(cohort)
    days = _session_days(cohort)
    start = pd.Timestamp(DEFAULT_END_DATE) - pd.Timedelta(days=83)
    end = pd.Timestamp(DEFAULT_END_DATE)
    for pid, pattern in patterns.items():
        mine = days[days["patient_id"] == pid]
        rx = cohort.programs[cohort.programs["patient_id"] == pid]
        five_days = int(rx["days_per_week"].iloc[0]) == 5
        on_rx = mine[mine["day"].dt.day_of_week < 5] if five_days else mine
        share = len(on_rx) / (60 if five_days else 84)  # of prescribed days
        if pattern == "weekends_only":
            assert (mine["day"].dt.day_of_week >= 5).mean() > 0.8, pid
        elif pattern == "dropout":
            assert mine["day"].max() < end - pd.Timedelta(days=21), pid
            assert len(mine) >= 8, pid
        elif pattern == "late_starter":
            assert mine["day"].min() >= start + pd.Timedelta(days=9), pid
        elif pattern == "near_perfect":
            assert share >= 0.9, pid
        elif pattern == "steady":
            assert 0.65 <= share <= 0.97, pid
        elif pattern == "fading":
            first = (mine["day"] < start + pd.Timedelta(days=21)).sum()
            last = (mine["day"] > end - pd.Timedelta(days=21)).sum()
            assert first >= last + 5, pid
        elif pattern == "twice_daily":
            assert (rx["times_per_day"] == 2).all(), pid
            assert (mine["morning"] & mine["evening"]).mean() > 0.4, pid


def test_programs(cohort: Cohort) -> None:
    g = cohort.programs
    first_day = (DEFAULT_END_DATE - dt.timedelta(days=83)).isoformat()
    at_start = g[g["start_date"] == first_day].groupby("patient_id").size()
    assert at_start.between(4, 7).all() and len(at_start) == 12
    assert g["end_date"].notna().any()  # some programs end
    assert (g["start_date"] > first_day).any()  # some exercises are added mid-way
    ended = g.dropna(subset=["end_date"])
    assert (ended["end_date"] >= ended["start_date"]).all()


def test_holds_progress_towards_target(cohort: Cohort) -> None:
    # rows typed with the exact program name carry their prescribed hold (target)
    rx = cohort.programs.dropna(subset=["hold_s"])[["patient_id", "exercise", "hold_s"]]
    s = cohort.sessions.merge(rx, on=["patient_id", "exercise"], suffixes=("", "_rx"))
    s = s.dropna(subset=["hold_s"])
    s = s[s["hold_s_rx"] >= 10]  # long holds: rounding to whole seconds matters less
    frac = s["hold_s"] / s["hold_s_rx"]
    early = frac[s["performed_at"] < (DEFAULT_END_DATE - dt.timedelta(days=70)).isoformat()]
    late = frac[s["performed_at"] > (DEFAULT_END_DATE - dt.timedelta(days=14)).isoformat()]
    assert len(early) > 10 and len(late) > 10
    assert 0.55 <= early.mean() <= 0.9  # holds start below target...
    assert late.mean() >= max(0.85, early.mean() + 0.1)  # ...and progress towards it


def test_pain_follows_adherence(cohort: Cohort) -> None:
    p = cohort.pain
    patterns = _patterns(cohort)
    early = p[p["reported_at"] < (DEFAULT_END_DATE - dt.timedelta(days=69)).isoformat()]
    late = p[p["reported_at"] > (DEFAULT_END_DATE - dt.timedelta(days=14)).isoformat()]
    change = (late.groupby("patient_id")["pain"].mean()
              - early.groupby("patient_id")["pain"].mean())
    good = change[patterns[change.index].isin(["steady", "near_perfect", "twice_daily"])]
    poor = change[patterns[change.index].isin(["dropout", "weekends_only", "fading"])]
    assert good.mean() <= -1.2
    assert poor.mean() >= good.mean() + 1.0
    baseline = early.groupby("patient_id")["pain"].mean()
    assert baseline.between(2.5, 9.0).all()  # baseline 4-7, plus noise and flare-ups
    ba = p[p["context"].isin(["before_session", "after_session"])]
    assert ba.groupby("context")["pain"].mean()["after_session"] < \
        ba.groupby("context")["pain"].mean()["before_session"]
    assert (p["context"] == "morning").any()


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_cohort_round_trip(cohort: Cohort, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "nested" / "data"
    paths = write_cohort(cohort, out, fmt=fmt)  # type: ignore[arg-type]
    assert [p.name for p in paths] == [f"{t}.{fmt}" for t in TABLES]
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)  # no temp files left
    for table, path in zip(TABLES, paths, strict=True):
        frame = getattr(cohort, table)
        if fmt == "csv":
            back = pd.read_csv(path, dtype=frame.dtypes.to_dict())
        else:
            back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, frame, check_dtype=fmt == "parquet")
    # writing again replaces the files in place
    assert write_cohort(cohort, out, fmt=fmt) == paths  # type: ignore[arg-type]
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)


def test_csv_blanks_and_timestamps(cohort: Cohort, tmp_path: Path) -> None:
    write_cohort(cohort, tmp_path)
    text = (tmp_path / "sessions.csv").read_text(encoding="utf-8")
    header, first = text.splitlines()[:2]
    assert header == ",".join(SESSION_COLUMNS)
    assert first.split(",")[1].count("T") == 1
    programs = pd.read_csv(tmp_path / "programs.csv", dtype=str, keep_default_na=False)
    assert (programs["end_date"] == "").any()


def test_write_cohort_rejects_unknown_format(cohort: Cohort, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_cohort(cohort, tmp_path, fmt="xlsx")  # type: ignore[arg-type]


def test_generation_is_fast() -> None:
    started = time.perf_counter()
    generate_cohort(n_patients=12, days=84, seed=11)
    assert time.perf_counter() - started < 2.0
