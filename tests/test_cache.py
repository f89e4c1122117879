"""The validated-table cache (``DATA_DIR/.adherence-cache``) is invisible in results."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
from conftest import NOW

import analytics.dataset as dataset_module
from analytics import Dataset, load
from analytics.cache import CACHE_DIR
from analytics.synth import generate_cohort, write_cohort

SESSIONS = (
    "patient_id,performed_at,exercise,sets,reps,hold_s,side,rpe,notes,set_index\n"
    "P1,2025-03-01T08:00:00,pelvic tilt,1,10,5,,,,1\n"
    "P1,2025-03-01T08:00:00,pelvic tilt,1,10,5,,,,1\n"          # duplicate of line 2
    "P1,2025-03-01T08:02:00,Bridge,1,10,3,left,,,1\n"
    "P1,2025-03-02T08:02:00,kne to chset,1,10,3,,,,1\n"        # fuzzy link
    "P1,2025-03-02T08:05:00,moonwalk,1,10,3,,,,1\n"            # unlinked
    "P2,2025-06-30T12:30:00,bridge,1,10,3,,,,1\n"              # after NOW (New York)
    "P9,2025-03-01T08:00,bridge,1,10,3,,,,1\n"                 # unknown patient
    "P1,yesterday,bridge,two,10,abc,up,12,,1\n"                # several problems
    "P1,2025-03-03T08:00,bridge,1,10\n"                        # too few fields
)
PAIN = ("patient_id,reported_at,pain,context,symptoms\n"
        "P1,2025-03-01T07:55,5,before_session,\n"
        "P1,2025-03-01T08:30,7/10,after,numbness\n"
        "P2,2031-01-01T08:00,3,,\n"                              # far in the future
        "P2,2025-03-01T08:00,11,,\n")
PROGRAMS = (
    "patient_id,exercise,start_date,end_date,sets,reps,hold_s,times_per_day,days_per_week\n"
    "P1,pelvic tilt,2025-03-01,,1,10,5,1,7\n"
    "P1,bridge,2025-03-01,,,,,1,7\n"
    "P2,bridge,2025-03-01,2025-02-01,,,,1,7\n")                 # ends before it starts


def assert_same(a: Dataset, b: Dataset) -> None:
    for f in fields(Dataset):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, obj=f.name)


@pytest.fixture
def messy(make_folder):
    return make_folder({"sessions.csv": SESSIONS, "pain.csv": PAIN, "programs.csv": PROGRAMS,
                        "aliases.csv": "name,exercise_id\nmy bridge,bridge\n"})


def _no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if a data table (not the small aliases file) is read or validated again."""
    read, validate = dataset_module.read_table, dataset_module.validate_table

    def no_read(folder: Path, name: str, *args: object) -> object:
        assert name == "aliases", f"{name} read again although the cache holds it"
        return read(folder, name, *args)

    def no_validate(raw: object, spec: object, **kwargs: object) -> object:
        assert spec.name == "aliases", f"{spec.name} validated again"  # type: ignore[attr-defined]
        return validate(raw, spec, **kwargs)

    monkeypatch.setattr(dataset_module, "read_table", no_read)
    monkeypatch.setattr(dataset_module, "validate_table", no_validate)


def test_second_load_comes_from_the_cache_and_equals_a_fresh_one(messy, monkeypatch):
    fresh = load(messy, now=NOW, cache=False)
    assert not (messy / CACHE_DIR).exists()
    first = load(messy, now=NOW, cache=True)
    assert sorted(p.suffix for p in (messy / CACHE_DIR).glob("sessions-*")) == [
        ".json", ".parquet", ".parquet"]
    _no_validation(monkeypatch)
    second = load(messy, now=NOW, cache=True)
    assert_same(fresh, first)
    assert_same(fresh, second)
    # The rejects (with their line numbers and reasons) really are in the result.
    lines = second.rejects[second.rejects["table"] == "sessions"]["line"].tolist()
    assert {3, 7, 8, 9, 10} <= set(lines)
    assert not second.unlinked.empty and not second.fuzzy.empty


def test_parquet_cohort_round_trips(tmp_path, monkeypatch):
    cohort = generate_cohort(n_patients=4, days=21, seed=3, end_date=dt.date(2025, 5, 1))
    folder = tmp_path / "cohort"
    write_cohort(cohort, folder, fmt="parquet")
    fresh = load(folder, now=NOW, cache=False)
    load(folder, now=NOW, cache=True)
    _no_validation(monkeypatch)
    assert_same(fresh, load(folder, now=NOW, cache=True))


def test_a_changed_file_is_never_read_from_the_cache(messy):
    load(messy, now=NOW, cache=True)
    with (messy / "sessions.csv").open("a", encoding="utf-8") as handle:
        handle.write("P1,2025-03-04T08:00:00,bridge,1,12,3,,,,1\n")
    again = load(messy, now=NOW, cache=True)
    assert_same(load(messy, now=NOW, cache=False), again)
    assert (again.sessions["performed_at"] == pd.Timestamp("2025-03-04T08:00:00")).any()
    # Only the current entry of each table is kept.
    assert len(list((messy / CACHE_DIR).glob("sessions-*.json"))) == 1


def test_a_changed_patients_file_changes_the_other_tables(messy):
    load(messy, now=NOW, cache=True)
    text = (messy / "patients.csv").read_text(encoding="utf-8")
    (messy / "patients.csv").write_text(text.replace("America/New_York", "Asia/Tokyo"),
                                        encoding="utf-8")
    assert_same(load(messy, now=NOW, cache=False), load(messy, now=NOW, cache=True))


@pytest.mark.parametrize(("earlier", "later"), [
    (NOW, NOW + pd.Timedelta(days=1)),                 # a future row becomes present
    (NOW + pd.Timedelta(days=1), NOW),                 # a present row becomes future
    (NOW, pd.Timestamp("2032-01-01T00:00:00Z")),       # every row is present
])
def test_future_timestamps_follow_now(messy, earlier, later):
    load(messy, now=earlier, cache=True)
    assert_same(load(messy, now=later, cache=False), load(messy, now=later, cache=True))
    assert_same(load(messy, now=earlier, cache=False), load(messy, now=earlier, cache=True))


def test_the_cache_is_safe_to_delete_or_damage(messy):
    fresh = load(messy, now=NOW, cache=False)
    load(messy, now=NOW, cache=True)
    shutil.rmtree(messy / CACHE_DIR)
    assert_same(fresh, load(messy, now=NOW, cache=True))
    for path in (messy / CACHE_DIR).glob("*.parquet"):
        path.write_bytes(b"not parquet")
    assert_same(fresh, load(messy, now=NOW, cache=True))
    for path in (messy / CACHE_DIR).glob("*.json"):
        path.write_text("{", encoding="utf-8")
    assert_same(fresh, load(messy, now=NOW, cache=True))


def test_an_unwritable_cache_is_no_error(messy, monkeypatch):
    import analytics.cache as cache_module

    def broken(path: Path) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(cache_module, "atomic_path", broken)
    assert_same(load(messy, now=NOW, cache=False), load(messy, now=NOW, cache=True))
    assert not list((messy / CACHE_DIR).glob("*.json"))


def test_by_default_only_large_tables_are_cached(messy, monkeypatch):
    import analytics.cache as cache_module

    monkeypatch.delenv("ADHERENCE_CACHE", raising=False)
    load(messy, now=NOW)
    assert not (messy / CACHE_DIR).exists()  # small files: the folder stays as it was
    size = (messy / "sessions.csv").stat().st_size
    monkeypatch.setattr(cache_module, "MIN_BYTES", size)
    fresh = load(messy, now=NOW, cache=False)
    assert_same(fresh, load(messy, now=NOW))
    assert [p.name.split("-")[0] for p in (messy / CACHE_DIR).glob("*.json")] == ["sessions"]
    assert_same(fresh, load(messy, now=NOW))


def test_the_environment_turns_it_on_or_off(messy, monkeypatch):
    monkeypatch.setenv("ADHERENCE_CACHE", "0")
    load(messy, now=NOW)
    assert not (messy / CACHE_DIR).exists()
    monkeypatch.setenv("ADHERENCE_CACHE", "1")
    load(messy, now=NOW)
    assert len(list((messy / CACHE_DIR).glob("*.json"))) == 4


def test_another_catalog_or_alias_file_is_another_key(messy):
    load(messy, now=NOW, cache=True)
    (messy / "aliases.csv").write_text("name,exercise_id\nmoonwalk,bridge\n", encoding="utf-8")
    again = load(messy, now=NOW, cache=True)
    assert_same(load(messy, now=NOW, cache=False), again)
    assert "moonwalk" not in set(again.unlinked["name"])


def test_a_file_rewritten_while_it_is_read_is_not_cached(messy, monkeypatch):
    read = dataset_module.read_table

    def read_after_a_write(folder: Path, name: str, *args: object) -> object:
        if name == "sessions":  # another program appends between hashing and reading
            with (folder / "sessions.csv").open("a", encoding="utf-8") as handle:
                handle.write("P1,2025-03-05T08:00:00,bridge,1,12,3,,,,1\n")
        return read(folder, name, *args)

    monkeypatch.setattr(dataset_module, "read_table", read_after_a_write)
    load(messy, now=NOW, cache=True)
    assert not list((messy / CACHE_DIR).glob("sessions-*"))
    monkeypatch.setattr(dataset_module, "read_table", read)
    assert_same(load(messy, now=NOW, cache=False), load(messy, now=NOW, cache=True))
