"""The cohort summary: columns, JSON shape, CLI, and properties on the sample cohort."""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import fields, replace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import NOW
from hypothesis import given, settings
from hypothesis import strategies as st
from metrics_helpers import renumbered
from test_adherence import PROGRAM_HEADER, SESSION_HEADER, _rows

import analytics.metrics.summary as summary_module
from analytics import load
from analytics.cli import cli
from analytics.metrics.association import adherence_pain_association
from analytics.metrics.pain import pain_variability
from analytics.metrics.summary import (
    DERIVED_TABLES,
    SUMMARY_COLUMNS,
    compute,
    split_by_patient,
    summary_records,
)
from analytics.synth import generate_cohort, write_cohort
from analytics.vector import python_strings, with_string_storage


@pytest.fixture(scope="module")
def cohort_ds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    write_cohort(generate_cohort(n_patients=12, days=42, seed=3), folder)
    return load(folder)


def test_summary_has_every_column_and_one_row_per_patient(cohort_ds):
    m = compute(cohort_ds)
    assert tuple(m.summary.columns) == SUMMARY_COLUMNS
    assert len(m.summary) == 12
    assert m.summary["patient_id"].is_unique


def test_summary_values_are_in_range(cohort_ds):
    m = compute(cohort_ds)
    s = m.summary
    assert s["adherence_pct"].between(0, 100).all()
    days = (s["period_end"] - s["period_start"]).dt.days + 1
    assert (s["longest_streak_days"] <= days).all()
    assert (s["current_streak_days"] <= s["longest_streak_days"]).all()
    assert set(s["pain_status"]) <= {"improved", "no_change", "worse", "insufficient_data"}


def test_derived_tables_are_computed_when_first_read(cohort_ds, monkeypatch):
    calls: list[str] = []

    def counted(name, func):
        def wrapper(*args, **kwargs):
            calls.append(name)
            return func(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(summary_module, "adherence_pain_association",
                        counted("association", adherence_pain_association))
    monkeypatch.setattr(summary_module, "_pain_variability",
                        counted("pain_variability", pain_variability))
    m = compute(cohort_ds)
    assert calls == []
    expected = adherence_pain_association(m.weekly, m.pain_daily, m.settings)
    pd.testing.assert_frame_equal(m.association, expected)
    pd.testing.assert_frame_equal(m.association, expected)  # kept, not computed again
    pd.testing.assert_frame_equal(m.pain_variability, pain_variability(m.pain_daily))
    assert calls == ["association", "pain_variability"]


@pytest.mark.parametrize("derived", [True, False])
def test_split_views_hold_the_derived_tables_of_each_patient(cohort_ds, derived):
    m = compute(cohort_ds)
    parts = split_by_patient(m, cohort_ds, derived=derived)
    for name in DERIVED_TABLES:
        assert (name in vars(m)) == derived  # derived=False computes nothing up front
    for pid, (_, sub) in parts.items():
        alone = compute(cohort_ds, patients=[pid])
        for name in DERIVED_TABLES:
            assert (name in vars(sub)) == derived
            pd.testing.assert_frame_equal(renumbered(getattr(sub, name).reset_index(drop=True)),
                                          renumbered(getattr(alone, name)))


def _tables(m) -> dict[str, pd.DataFrame]:
    names = [f.name for f in fields(m)] + list(DERIVED_TABLES)
    return {n: getattr(m, n) for n in names if isinstance(getattr(m, n), pd.DataFrame)}


@pytest.mark.parametrize("patients", [None, ["P002"], ["P001", "P007"]])
def test_python_strings_give_the_same_tables(cohort_ds, patients):
    """Inside ``python_strings()`` on Python-backed inputs (the dashboards' per-patient
    path) every table equals the default computation; its strings all stay Python-backed
    (no column falls back to ``object``) and the default computation's all Arrow."""
    start = compute(cohort_ds).as_of - pd.Timedelta(days=20)  # a period within the data
    python_ds = replace(cohort_ds, **{name: with_string_storage(getattr(cohort_ds, name),
                                                                "python")
                                      for name in ("programs", "sessions", "pain")})
    with python_strings():
        small = compute(python_ds, start=start, patients=patients)
    large = compute(cohort_ds, start=start, patients=patients)
    for name, table in _tables(large).items():
        mine = _tables(small)[name]
        pd.testing.assert_frame_equal(with_string_storage(mine, "pyarrow"), table, obj=name)
        for frame, storage in ((mine, "python"), (table, "pyarrow")):
            texts = [t for t in frame.dtypes if isinstance(t, pd.StringDtype)]
            assert all(t.storage == storage for t in texts), (name, storage)


def test_string_storage_follows_the_block_and_the_object(cohort_ds):
    """Arrow inputs inside ``python_strings()`` give Python strings, never ``object``
    ids; a derived table takes its object's storage wherever it is first read."""
    with python_strings():
        inside = compute(cohort_ds, patients=["P002"])
    outside = compute(cohort_ds, patients=["P002"])
    with python_strings():
        late = {name: getattr(outside, name) for name in DERIVED_TABLES}
    for m, tables, storage in ((inside, _tables(inside), "python"),
                               (outside, late, "pyarrow")):
        for name, table in tables.items():
            if "patient_id" in table and len(table):
                assert isinstance(table["patient_id"].dtype, pd.StringDtype), name
            for column, dtype in table.dtypes.items():
                assert not isinstance(dtype, pd.StringDtype) or dtype.storage == storage, \
                    (name, column, storage)
        assert m.summary["patient_id"].dtype.storage == storage


def test_metrics_pickle_with_their_derived_tables(cohort_ds):
    """Metrics go to worker processes (report batches, Dask): they pickle and copy,
    derived tables already read included."""
    m = compute(cohort_ds)
    m.association  # noqa: B018 - read, so it is cached
    back = pickle.loads(pickle.dumps(m))
    assert "association" in vars(back)
    for name, table in _tables(m).items():
        pd.testing.assert_frame_equal(getattr(back, name), table, obj=name)
    assert back.catalog.ids() == m.catalog.ids()
    assert copy.deepcopy(m).catalog.get("bridge").id == "bridge"


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_summary_unchanged_by_row_order(cohort_ds, seed):
    base = summary_records(compute(cohort_ds).summary)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(cohort_ds.sessions))
    pain_order = rng.permutation(len(cohort_ds.pain))
    shuffled = type(cohort_ds)(**{**cohort_ds.__dict__,
                                  "sessions": cohort_ds.sessions.iloc[order],
                                  "pain": cohort_ds.pain.iloc[pain_order]})
    assert summary_records(compute(shuffled).summary) == base


def test_patient_without_program_gets_null_adherence(make_folder):
    programs = PROGRAM_HEADER + "P1,bridge,2025-03-01,,10,3,1,7\n"
    sessions = SESSION_HEADER + _rows("P1", ["2025-03-01", "2025-03-02"], ["09:00"], "bridge")
    ds = load(make_folder({"programs.csv": programs, "sessions.csv": sessions}), now=NOW)
    recs = {r["patient_id"]: r for r in summary_records(compute(ds).summary)}
    assert recs["P1"]["adherence_pct"] == 100.0
    assert recs["P1"]["period_start"] == "2025-03-01"
    assert recs["P2"]["adherence_pct"] is None and recs["P2"]["period_start"] is None
    assert recs["P2"]["pain_status"] == "insufficient_data"
    json.dumps(list(recs.values()))


def test_cli_summary_json_csv_table(make_folder):
    programs = PROGRAM_HEADER + "P1,bridge,2025-03-01,,10,3,1,7\n"
    sessions = SESSION_HEADER + _rows("P1", ["2025-03-01"], ["09:00"], "bridge")
    pain = ("patient_id,reported_at,pain,symptoms\n"
            "P1,2025-03-03T20:00,8,numbness\n")
    folder = make_folder({"programs.csv": programs, "sessions.csv": sessions,
                          "pain.csv": pain})
    runner = CliRunner()
    out = runner.invoke(cli, ["summary", str(folder), "--format", "json", "--to", "2025-03-04"])
    assert out.exit_code == 0, out.output
    recs = json.loads(out.output)
    p1 = next(r for r in recs if r["patient_id"] == "P1")
    assert p1["sessions_prescribed"] == 4 and p1["sessions_done"] == 1
    assert p1["adherence_pct"] == 25.0
    kinds = {(a["kind"], a["severity"], a["date"]) for a in p1["alerts"]}
    assert ("red_flag", "warning", "2025-03-03") in kinds
    assert ("pain_high", "warning", "2025-03-03") in kinds
    assert ("no_activity", "info", "2025-03-04") in kinds
    csv_out = runner.invoke(cli, ["summary", str(folder), "--format", "csv", "--patient", "P1"])
    assert csv_out.exit_code == 0
    frame = pd.read_csv(pd.io.common.StringIO(csv_out.output))
    assert frame["patient_id"].tolist() == ["P1"]
    table = runner.invoke(cli, ["summary", str(folder)])
    assert "As of 2025-03-03" in table.output and "P1" in table.output


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--patient", "P404"], "unknown patient", id="unknown-patient"),
    pytest.param(["--to", "2025-13-01"], "not a date", id="bad-date"),
])
def test_cli_summary_bad_options(make_folder, args, message):
    folder = make_folder({})
    out = CliRunner().invoke(cli, ["summary", str(folder), *args])
    assert out.exit_code == 2
    assert message in out.output
    assert "Traceback" not in out.output


def test_patient_with_only_pain_reports(make_folder):
    programs = PROGRAM_HEADER + "P1,bridge,2025-03-01,,10,3,1,7\n"
    pain = "patient_id,reported_at,pain\nP2,2025-03-02T08:00,4\n"
    ds = load(make_folder({"programs.csv": programs, "pain.csv": pain}), now=NOW)
    for patients in (["P2"], ["P1"], None):
        summary = compute(ds, patients=patients).summary
        assert len(summary) == (2 if patients is None else 1)
    only = compute(ds, patients=["P2"]).summary.iloc[0]
    assert only["patient_id"] == "P2" and pd.isna(only["adherence_pct"])
