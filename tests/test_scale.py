"""Scale: the vectorised helpers equal the pandas operations they replace, work is done
per distinct value (not per row), and the cohort benchmark runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import NOW, synth_folder
from hypothesis import given, settings
from hypothesis import strategies as st

import analytics.link as link_module
import analytics.metrics.calendar as calendar_module
import analytics.validate as validate_module
from analytics import load
from analytics.metrics.summary import compute
from analytics.vector import (
    Distinct,
    first_of_runs,
    first_positions,
    group_ids,
    joint_keys,
    map_distinct,
    named_agg,
    run_lengths,
    sort_frame,
    true_runs,
)

ROOT = Path(__file__).resolve().parent.parent


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "s": pd.Series(rng.choice(["b", "a", "c", None, "aa", "B", "é"], n), dtype="string"),
        "t": pd.Series(rng.choice(["x", "y", "z"], n), dtype="str"),
        "d": pd.Series(pd.to_datetime(rng.integers(0, 6, n), unit="D")).where(
            rng.random(n) > 0.1).astype("datetime64[ns]"),
        "u": pd.Series(pd.to_datetime(rng.integers(0, 4, n), unit="h")).dt.tz_localize("UTC"),
        "i": pd.array(rng.integers(-2, 3, n), dtype="Int64"),
        "f": np.where(rng.random(n) > 0.2, rng.integers(0, 3, n).astype(float), np.nan),
        "z": rng.choice([0.0, -0.0, 1.5], n),
        "b": rng.random(n) > 0.5,
    }, index=rng.permutation(n) * 3)
    frame.loc[frame.index[: n // 10], "i"] = pd.NA
    return frame


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("by", "ascending"), [
    (["s"], True), (["s", "d", "i"], [True, True, False]), (["f", "t"], [False, True]),
    (["u", "z", "b"], True), (["i", "f"], [False, False]), (["d"], False),
])
def test_sort_frame_is_a_stable_sort_values(seed, by, ascending):
    frame = _frame(3000, seed)
    expected = frame.sort_values(by, ascending=ascending, kind="stable", na_position="last")
    pd.testing.assert_frame_equal(sort_frame(frame, by, ascending), expected)


@pytest.mark.parametrize("by", [["s"], ["s", "t"], ["d", "i", "t"], ["f", "z"]])
def test_group_helpers_match_pandas(by):
    frame = _frame(4000, 7)
    ids, n = group_ids(frame, by)
    grouped = frame.groupby(by, sort=False, dropna=True)
    assert n == grouped.ngroups
    np.testing.assert_array_equal(ids, grouped.ngroup().fillna(-1).to_numpy(dtype="int64"))
    first = first_positions(ids, n)
    expected = frame.reset_index(drop=True).groupby(by, sort=False).head(1).index.to_numpy()
    np.testing.assert_array_equal(first, expected)
    ordered = sort_frame(frame, by)
    np.testing.assert_array_equal(first_of_runs(ordered, by),
                                  ~ordered.duplicated(by, keep="first").to_numpy())


@pytest.mark.parametrize("by", [["s"], ["s", "d"], ["t", "b"], ["d", "i"]])
@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("rows", [4000, 0])
def test_named_agg_matches_pandas(by, sort, rows):
    frame = _frame(rows, 11)
    spec = {"n": ("f", "size"), "f_mean": ("f", "mean"), "f_sum": ("f", "sum"),
            "f_count": ("f", "count"), "z_max": ("z", "max"), "u_min": ("u", "min"),
            "d_first": ("d", "first"), "d_last": ("d", "last"), "t_first": ("t", "first"),
            "s_nunique": ("s", "nunique"), "i_sum": ("i", "sum"), "b_sum": ("b", "sum"),
            "f_median": ("f", "median")}
    grouped = frame.groupby(by, sort=sort)
    pd.testing.assert_frame_equal(named_agg(grouped, **spec), grouped.agg(**spec))


def test_joint_keys_match_merge():
    left, right = _frame(2000, 3), _frame(500, 4).drop_duplicates(["s", "d"])
    lk, rk = joint_keys(left, right, ["s", "d"], ["s", "d"])
    merged = left.reset_index(drop=True).merge(right.reset_index(drop=True)[["s", "d"]]
                                               .assign(pos=range(len(right))), on=["s", "d"])
    position = pd.Index(rk).get_indexer(lk)
    assert (position >= 0).sum() == len(merged)


def test_distinct_and_map_distinct():
    series = pd.Series([" a", "b ", None, "", " a", "c"] * 1000, dtype=object)
    distinct = Distinct(series)
    assert distinct.codes is not None and len(distinct.values) == 5
    expected = series.astype("string").str.strip()
    pd.testing.assert_series_equal(distinct.expand(distinct.values.str.strip()), expected,
                                   check_names=False)
    calls: list[object] = []

    def upper(value: object) -> object:
        calls.append(value)
        return value.upper() if isinstance(value, str) else None

    mapped = map_distinct(series, upper)
    assert mapped.tolist() == series.map(upper).tolist()[: len(series)]
    assert len(calls) <= 5 + len(series)  # the map above is the per-row reference


@pytest.mark.parametrize("text", [
    "2025-03-01T08:30:00", "2025-03-01 08:30:00", "2024-02-29T23:59:59", "2025-02-29T10:00:00",
    "2025-02-30T10:00:00", "2025-13-01T00:00:00", "2025-01-01T24:00:00", "2025-01-01T23:60:00",
    "2025-01-01T23:59:60", "2025-1-05T08:30:00", "2025-01-05T08:30", "2025-01-05T08:30:00.5",
    "2025-01-05t08:30:00", "+2025-01-05T08:30", "1999-12-31T23:00:00", "2261-01-01T00:00:00",
    "2199-12-31T23:59:59", "2200-01-01T00:00:00", "1680-01-01T00:00:00", "1679-12-31T23:59:59",
    "2025-03-30T02:30:00", "2025-10-26T01:30:00", "2025-01-05T08:30:00Z",
    "2025-01-05T08:30:00+02:00", "２０２５-01-05T08:30:00", "garbage", "",
])
def test_fast_timestamp_parsing_equals_the_general_path(text):
    """Cells parsed in bulk get exactly what the general pandas path gives them."""
    series = pd.Series([text, None, text, "2025-03-01T08:30:00"], dtype="string")
    if series.str.contains(validate_module._AWARE.pattern, regex=True).fillna(False).any():
        return  # offsets never reach the naive parser
    n = len(series)
    general = validate_module._parse_naive(series, (np.zeros(n, dtype=bool),
                                                    np.zeros(n, dtype="int64")))
    pd.testing.assert_series_equal(validate_module._parse_naive(series), general)
    ok, nanos = validate_module._fast_iso_naive(series)
    for i in np.flatnonzero(ok):
        assert pd.Timestamp(nanos[i]) == general[i]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return synth_folder(tmp_path_factory.mktemp("scale") / "cohort", fmt="parquet",
                        n_patients=6, days=60, seed=2)


def test_names_are_handled_once_per_distinct_value(cohort, monkeypatch):
    """No per-row Python in validation, linking or the exercise keys."""
    normalised: list[object] = []
    linked: list[object] = []
    original_normalise = calendar_module.normalize_name
    original_link = link_module.Linker.link_name

    def counting_normalise(name: object) -> str:
        normalised.append(name)
        return original_normalise(name)

    def counting_link(self: link_module.Linker, name: object) -> tuple:
        linked.append(name)
        return original_link(self, name)

    monkeypatch.setattr(calendar_module, "normalize_name", counting_normalise)
    monkeypatch.setattr(link_module.Linker, "link_name", counting_link)
    ds = load(cohort, now=NOW, cache=False)
    compute(ds)
    names = pd.concat([ds.sessions["exercise"], ds.programs["exercise"]]).nunique()
    assert len(ds.sessions) > 5 * names
    assert len(linked) <= 2 * names
    assert len(normalised) <= 2 * names + 2


def test_cost_grows_with_rows_not_faster(cohort, tmp_path):
    """Doubling the patients about doubles the rows; the work is in whole-column
    operations, so CPU time must not grow like the square (loose bound: shared CI)."""
    import time

    bigger = synth_folder(tmp_path / "bigger", fmt="parquet", n_patients=24, days=60, seed=2)
    costs = []
    for folder in (cohort, bigger):
        load(folder, now=NOW, cache=False)  # warm up imports and caches
        start = time.process_time()
        compute(load(folder, now=NOW, cache=False))
        costs.append(time.process_time() - start)
    assert costs[1] < 16 * max(costs[0], 0.05)  # 4x the rows; quadratic would be 16x


def test_benchmark_script_runs(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_cohort",
                                                  ROOT / "benchmarks" / "bench_cohort.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_cohort"] = module
    spec.loader.exec_module(module)
    module.main(["--patients", "3", "--days", "10", "--cache-dir", str(tmp_path)])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("pipeline/read_floor: ")
    assert float(out[-1].split(": ")[1]) > 0
    assert any(line.startswith("read floor") for line in out)
    assert any(line.startswith("second run") for line in out)
    assert (tmp_path / "cohort-3x10-s1" / "sessions.parquet").is_file()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=40))
def test_true_runs_and_run_lengths_match_a_loop(cells):
    flag = np.array([f for f, _ in cells], dtype=bool)
    new_group = np.array([g for _, g in cells], dtype=bool)
    runs, lengths, current = [], [], None
    for i, (f, g) in enumerate(cells):
        if f and (current is None or g):
            current = [i, i]
            runs.append(current)
        elif f:
            current[1] = i
        else:
            current = None
        lengths.append(i - current[0] + 1 if f else 0)
    first, last = true_runs(flag, new_group)
    assert [list(r) for r in zip(first, last, strict=True)] == runs
    assert run_lengths(flag, new_group).tolist() == lengths
