"""Hand-computed cases for weekly pain and the adherence-pain association."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.metrics.association import (
    ASSOCIATION_COLUMNS,
    CAVEAT,
    adherence_pain_association,
    weekly_pain,
)
from analytics.settings import Settings

SETTINGS = Settings()
MONDAY = pd.Timestamp("2025-03-03")  # a Monday


def week(n: int) -> pd.Timestamp:
    return MONDAY + pd.Timedelta(weeks=n)


def make_daily(rows: list[tuple[str, pd.Timestamp, float]]) -> pd.DataFrame:
    """A minimal ``pain_daily`` frame from (patient, day, daily mean) tuples."""
    return pd.DataFrame({
        "patient_id": pd.array([r[0] for r in rows], dtype="string"),
        "day": pd.Series([r[1] for r in rows], dtype="datetime64[ns]"),
        "pain_mean": pd.Series([r[2] for r in rows], dtype="float64"),
    })


def make_weekly(rows: list[tuple[str, pd.Timestamp, float]]) -> pd.DataFrame:
    """A minimal weekly adherence frame from (patient, week_start, adherence_pct)."""
    return pd.DataFrame({
        "patient_id": pd.array([r[0] for r in rows], dtype="string"),
        "week_start": pd.Series([r[1] for r in rows], dtype="datetime64[ns]"),
        "adherence_pct": pd.Series([r[2] for r in rows], dtype="float64"),
    })


def series(patient: str, pains: list[float], adherence: list[float]):
    """Weekly pain ``pains[w]`` (one report on each week's Wednesday) and adherence
    ``adherence[w]`` for weeks 0, 1, ..."""
    daily = [(patient, week(w) + pd.Timedelta(days=2), p) for w, p in enumerate(pains)]
    weekly = [(patient, week(w), a) for w, a in enumerate(adherence)]
    return daily, weekly


def associate(daily_rows, weekly_rows, settings: Settings = SETTINGS) -> pd.DataFrame:
    return adherence_pain_association(make_weekly(weekly_rows), make_daily(daily_rows),
                                      settings)


def test_weekly_pain_is_mean_of_daily_means_in_the_iso_week():
    daily = make_daily([
        ("P1", week(0), 4.0),  # Monday
        ("P1", week(0) + pd.Timedelta(days=6), 6.0),  # Sunday, same ISO week
        ("P1", week(1), 9.0),  # next Monday
    ])
    out = weekly_pain(daily)
    assert out["week_start"].tolist() == [week(0), week(1)]
    assert out["pain_mean"].tolist() == [5.0, 9.0]
    assert out["n_days"].tolist() == [2, 1]


@pytest.mark.parametrize(("adherence", "rho"), [
    pytest.param([10, 20, 30, 40, np.nan], -1.0, id="more-adherence-larger-fall"),
    pytest.param([40, 30, 20, 10, 50], 1.0, id="more-adherence-larger-rise"),
])
def test_perfectly_monotone_gives_plus_or_minus_one(adherence, rho):
    # pain 5, 6, 6, 5, 3 -> next week's changes +1, 0, -1, -2
    daily, weekly = series("P1", [5, 6, 6, 5, 3], adherence)
    out = associate(daily, weekly)
    assert tuple(out.columns) == ASSOCIATION_COLUMNS
    row = out.iloc[0]
    assert (row["patient_id"], row["n_weeks"], row["spearman_rho"]) == ("P1", 4, rho)
    assert row["caveat"] == CAVEAT


def test_ties_use_average_ranks():
    # adherence ranks 1, 2.5, 2.5, 4; change ranks 1, 3, 2, 4 -> rho = 4.5 / sqrt(22.5)
    daily, weekly = series("P1", [0, 1, 4, 6, 10], [10, 20, 20, 40])
    assert associate(daily, weekly)["spearman_rho"].tolist() == [0.95]


def test_fewer_than_four_weeks_gives_no_rho():
    daily, weekly = series("P1", [5, 6, 6, 5], [10, 20, 30, 40])  # 3 pairs
    row = associate(daily, weekly).iloc[0]
    assert row["n_weeks"] == 3
    assert pd.isna(row["spearman_rho"])
    assert row["caveat"] == "fewer than 4 weeks of data"
    fewer = dataclasses.replace(SETTINGS, min_weeks_association=3)
    assert associate(daily, weekly, fewer)["spearman_rho"].tolist() == [-1.0]


def test_weeks_without_adherence_or_next_week_are_skipped():
    daily = [("P1", week(w) + pd.Timedelta(days=1), p)
             for w, p in [(0, 5), (1, 6), (2, 6), (4, 5), (5, 3), (6, 2), (7, 1)]]
    # week 2 has no next week (week 3 has no pain); week 5 has no adherence (NaN)
    weekly = [("P1", week(w), a) for w, a in
              [(0, 10), (1, 20), (2, 30), (4, 40), (5, np.nan), (6, 60), (7, 70)]]
    row = associate(daily, weekly).iloc[0]
    # pairs: week 0 (+1), week 1 (0), week 4 (-2), week 6 (-1)
    assert row["n_weeks"] == 4
    # adherence ranks 1, 2, 3, 4; change ranks 4, 3, 1, 2 -> rho = -0.8
    assert row["spearman_rho"] == -0.8


def test_constant_side_gives_null_rho():
    daily, weekly = series("P1", [5, 6, 6, 5, 3], [50, 50, 50, 50])
    row = associate(daily, weekly).iloc[0]
    assert row["n_weeks"] == 4 and pd.isna(row["spearman_rho"])


def test_one_row_per_patient_including_those_without_pairs():
    d1, w1 = series("P1", [5, 6, 6, 5, 3], [10, 20, 30, 40])
    d2, _ = series("P2", [5], [])
    out = associate(d1 + d2, w1 + [("P3", week(0), 80.0)])
    assert out["patient_id"].tolist() == ["P1", "P2", "P3"]
    assert out["n_weeks"].tolist() == [4, 0, 0]
    assert out["caveat"].tolist()[1:] == ["fewer than 4 weeks of data"] * 2


def test_empty_inputs():
    out = associate([], [])
    assert tuple(out.columns) == ASSOCIATION_COLUMNS and out.empty
    assert weekly_pain(make_daily([])).empty


def test_inputs_are_not_modified():
    d, w = series("P1", [5, 6, 6, 5, 3], [10, 20, 30, 40])
    daily, weekly = make_daily(d), make_weekly(w)
    copies = daily.copy(), weekly.copy()
    adherence_pain_association(weekly, daily, SETTINGS)
    pd.testing.assert_frame_equal(daily, copies[0])
    pd.testing.assert_frame_equal(weekly, copies[1])


patient_weeks = st.lists(
    st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 12),
              st.integers(0, 10).map(float), st.integers(0, 100).map(float)),
    max_size=30, unique_by=lambda t: (t[0], t[1]))


@settings(max_examples=60, deadline=None)
@given(patient_weeks, st.randoms(use_true_random=False))
def test_order_free_and_matches_pandas_spearman(rows, rnd):
    daily = make_daily([(p, week(w) + pd.Timedelta(days=3), v) for p, w, v, _ in rows])
    weekly = make_weekly([(p, week(w), a) for p, w, _, a in rows])
    out = adherence_pain_association(weekly, daily, SETTINGS)
    shuffled = adherence_pain_association(
        weekly.sample(frac=1, random_state=rnd.randint(0, 10**6)),
        daily.sample(frac=1, random_state=rnd.randint(0, 10**6)), SETTINGS)
    pd.testing.assert_frame_equal(out, shuffled)
    # cross-check against pandas' own Spearman for each patient
    pain = {(p, w): v for p, w, v, _ in rows}
    for patient, row in out.set_index("patient_id").iterrows():
        pairs = [(a, pain[(p, w + 1)] - pain[(p, w)]) for p, w, _, a in rows
                 if p == patient and (p, w + 1) in pain]
        assert row["n_weeks"] == len(pairs)
        if len(pairs) < SETTINGS.min_weeks_association:
            assert pd.isna(row["spearman_rho"])
            continue
        frame = pd.DataFrame(pairs, columns=["x", "y"])
        expected = frame.corr(method="spearman").loc["x", "y"]  # no scipy needed
        if pd.isna(expected):
            assert pd.isna(row["spearman_rho"])
        else:
            assert row["spearman_rho"] == pytest.approx(round(expected, 2), abs=1e-9)
            assert -1 <= row["spearman_rho"] <= 1
