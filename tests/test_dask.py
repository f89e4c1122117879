"""The Dask engine gives exactly what the pandas engine gives (on a light LocalCluster)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import NOW, PATIENTS, synth_folder

from analytics import Dataset, load
from analytics.cli import cli
from analytics.metrics.summary import DERIVED_TABLES, CohortMetrics, compute

distributed = pytest.importorskip("distributed")
engine = pytest.importorskip("analytics.engine_dask")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return synth_folder(tmp_path_factory.mktemp("dask") / "cohort", fmt="parquet",
                        n_patients=9, days=35, seed=5)


def assert_same(a: object, b: object, skip: tuple[str, ...] = ("path", "catalog")) -> None:
    """Every field equal, and for metrics every derived table (computed when read)."""
    names = [f.name for f in fields(a)]  # type: ignore[arg-type]
    if isinstance(a, CohortMetrics):
        names += list(DERIVED_TABLES)
    for name in names:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, obj=name)
        elif name not in skip:
            assert x == y, name


def both(folder: Path, client: object, **options: object) -> tuple[tuple, tuple]:
    ds = load(folder, now=NOW, cache=False)
    metrics = compute(ds, **options)  # type: ignore[arg-type]
    run = engine.compute_dask(folder, client=client, now=NOW, npartitions=3, **options)
    pd.testing.assert_frame_equal(metrics.summary, run.summary())
    return (ds, metrics), run.collect()


def test_summaries_are_equal_on_a_local_cluster(cohort, client):
    (ds, metrics), (dds, dmetrics) = both(cohort, client)
    assert len(metrics.summary) == 9
    assert isinstance(dds, Dataset) and isinstance(dmetrics, CohortMetrics)
    assert_same(ds, dds)
    assert_same(metrics, dmetrics)  # every table: rows, order and session ids


def test_one_partition_or_many(cohort, client):
    ds = load(cohort, now=NOW, cache=False)
    expected = compute(ds).summary
    for n in (1, 7):
        run = engine.compute_dask(cohort, client=client, now=NOW, npartitions=n)
        pd.testing.assert_frame_equal(expected, run.summary())


def test_period_and_patient_options(cohort, client):
    (_, metrics), (_, dmetrics) = both(cohort, client, start="2025-05-10", to="2025-05-25",
                                       patients=["P002", "P007"])
    assert metrics.summary["patient_id"].tolist() == ["P002", "P007"]
    assert_same(metrics, dmetrics)


def test_the_as_of_day_is_global(cohort, client):
    """A patient who stopped logging is judged up to the last day of the whole data set,
    although his own partition ends earlier."""
    run = engine.compute_dask(cohort, client=client, now=NOW, npartitions=5,
                              patients=["P001"])
    last = load(cohort, now=NOW, cache=False).sessions["local_day"].max()
    assert run.as_of == max(last, load(cohort, now=NOW, cache=False).pain["local_day"].max())


MESSY_SESSIONS = (
    "patient_id,performed_at,exercise,sets,reps,hold_s,side,rpe,notes,set_index,extra\n"
    "P2,2025-03-02T08:00:00,bridge,1,10,30,,,,1,x\n"
    "P1,2025-03-01T08:00:00,pelvic tilt,1,10,5,,,,1,\n"
    "P1,2025-03-01T08:00:00,pelvic tilt,1,10,5,,,,1,\n"
    "P1,2025-03-01T08:02:00,Bridge,1,10,3,left,,,1,y\n"
    "P1,2025-03-02T08:02:00,kne to chset,1,10,3,,,,1,\n"
    "P2,2025-03-03T08:05:00,moonwalk,1,10,3,,,,1,\n"
    "P9,2025-03-01T08:00,bridge,1,10,3,,,,1,\n"
    "P1,yesterday,bridge,two,10,abc,up,12,,1,\n"
    "P1,2025-03-03T08:00,bridge,1,10\n"
    ",2025-03-03T09:00,bridge,1,10,3,,,,1,\n"
)
MESSY_PROGRAMS = (  # not grouped by patient
    "patient_id,exercise,start_date,end_date,sets,reps,hold_s,times_per_day,days_per_week\n"
    "P2,bridge,2025-03-01,,1,10,30,1,3\n"
    "P1,pelvic tilt,2025-03-01,,1,10,5,1,7\n"
    "P2,knee to chest,2025-03-02,2025-03-20,,,,2,7\n"
    "P1,bridge,2025-03-01,,,,,1,7\n")
MESSY_PAIN = ("patient_id,reported_at,pain,context,symptoms\n"
              "P2,2025-03-04T07:55,5,before_session,\n"
              "P1,2025-03-01T07:55,5,before_session,\n"
              "P1,2025-03-01T08:30,7/10,after,numbness\n"
              "P2,2031-01-01T08:00,3,,\n")


def test_messy_csv_folder(tmp_path, client):
    folder = tmp_path / "messy"
    folder.mkdir()
    for name, text in (("patients.csv", PATIENTS), ("sessions.csv", MESSY_SESSIONS),
                       ("programs.csv", MESSY_PROGRAMS), ("pain.csv", MESSY_PAIN),
                       ("aliases.csv", "name,exercise_id\nmoonwalk,bridge\n")):
        (folder / name).write_text(text, encoding="utf-8")
    (ds, metrics), (dds, dmetrics) = both(folder, client)
    assert not ds.rejects.empty and len(metrics.active)
    assert_same(ds, dds)
    assert_same(metrics, dmetrics)


def test_missing_folder_and_tables(tmp_path, client):
    with pytest.raises(Exception, match="no such data folder"):
        engine.compute_dask(tmp_path / "nope", client=client)
    folder = tmp_path / "only-patients"
    folder.mkdir()
    (folder / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    (ds, metrics), (dds, dmetrics) = both(folder, client)
    assert_same(ds, dds)
    assert_same(metrics, dmetrics)


def test_cli_engine_dask(cohort, client, tmp_path):
    runner = CliRunner()
    address = client.scheduler.address
    plain = runner.invoke(cli, ["summary", str(cohort), "--format", "json"])
    dask = runner.invoke(cli, ["summary", str(cohort), "--format", "json", "--engine", "dask",
                               "--scheduler", address])
    assert plain.exit_code == 0 and dask.exit_code == 0, dask.output
    assert plain.output == dask.output
    unknown = runner.invoke(cli, ["summary", str(cohort), "--engine", "dask", "--scheduler",
                                  address, "--patient", "P999"])
    assert unknown.exit_code == 2 and "unknown patient" in unknown.output
    wrong = runner.invoke(cli, ["summary", str(cohort), "--scheduler", address])
    assert wrong.exit_code == 2 and "--engine dask" in wrong.output


def test_cli_report_all_engine_dask(cohort, client, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    runner = CliRunner()
    address = client.scheduler.address
    outputs = {}
    for name, extra in (("pandas", []), ("dask", ["--engine", "dask", "--scheduler", address])):
        out = tmp_path / name
        result = runner.invoke(cli, ["report", str(cohort), "--all", "--out", str(out),
                                     "--workers", "1", *extra])
        assert result.exit_code == 0, result.output
        outputs[name] = {p.name: p.read_bytes() for p in sorted(out.glob("*.html"))}
    assert outputs["pandas"] == outputs["dask"]
    assert len(outputs["dask"]) == 10  # 9 patients and the caseload index


def test_parquet_read_through_fsspec_urls(cohort, client, tmp_path):
    """Object storage is read through fsspec: a file:// URL takes the same path as s3://."""
    expected = compute(load(cohort, now=NOW, cache=False)).summary
    run = engine.compute_dask("file://" + str(cohort), client=client, now=NOW, npartitions=2,
                              storage_options={})
    pd.testing.assert_frame_equal(expected, run.summary())
    csv = synth_folder(tmp_path / "csv", n_patients=2, days=7, seed=1)
    with pytest.raises(Exception, match="only Parquet tables"):
        engine.compute_dask("file://" + str(csv), client=client, now=NOW)
