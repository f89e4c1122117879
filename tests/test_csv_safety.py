"""CSV written by the package neutralises spreadsheet formulas in text cells.

Writers: ``adherence summary --format csv`` (:func:`analytics.textfmt.to_safe_csv`) and
the data-folder appends of ``adherence log`` and ``adherence import``
(:mod:`analytics.appendlog`). Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading ``'``; numbers such as ``-3`` are not text and stay as
they are. What is written is what loads back (the ``'`` is kept, as typed text), and a
re-import still recognises its rows as duplicates. A formula-like exercise name that is
not in the catalog stays unlinked and is never written; one that links (``=plank``) is
written neutralised. A formula-like patient id is refused: it is an identifier that must
match the patients table, so it cannot be changed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import analytics
from analytics.appendlog import import_parsed, log_entry
from analytics.cli import cli
from analytics.errors import AnalyticsError
from analytics.importers import parse_text
from analytics.textfmt import is_formula_like, neutralise_formula, to_safe_csv

REPO = Path(__file__).resolve().parents[1]
NOW = pd.Timestamp("2025-06-30T12:00:00Z")
PATIENTS = "patient_id,name,timezone\nP1,Ann,Europe/London\n"
FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-1+1", "@SUM(A1:A2)", "\t=1+2",
            "\r=1+2", "=cmd|' /C calc'!A0"]
STRONG_HEADER = ("Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,"
                 "Seconds,Notes,Workout Notes,RPE\n")


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _no_formula(rows: list[list[str]]) -> None:
    bad = [c for r in rows for c in r if is_formula_like(c)]
    assert bad == [], bad


@pytest.fixture
def folder(make_folder) -> Path:
    return make_folder({"patients.csv": PATIENTS})


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_text_is_neutralised_once(text: str):
    assert is_formula_like(text)
    assert neutralise_formula(text) == "'" + text
    assert neutralise_formula(neutralise_formula(text)) == "'" + text
    assert not is_formula_like(neutralise_formula(text))


@pytest.mark.parametrize("value", ["-3", "+1.5", "-0.25", "1e3", "-1e-3", "plank", "", "'=x",
                                   " =1", -3, 2.5, None])
def test_numbers_and_plain_text_are_left_alone(value: object):
    assert not is_formula_like(value)
    assert neutralise_formula(value) == value


def test_to_safe_csv_neutralises_text_not_numbers():
    text = to_safe_csv([{"a": "=1+2", "b": -3.5, "c": "-3"}, {"a": "@x", "b": None, "c": "ok"}],
                       ["a", "b", "c"])
    assert list(csv.reader(io.StringIO(text))) == [["a", "b", "c"], ["'=1+2", "-3.5", "-3"],
                                                   ["'@x", "", "ok"]]


# --------------------------------------------------------------------------- summary csv


def test_summary_csv_export(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    ids = ["=1+2", "@P", "-P3", "+P4", "P5"]
    (data / "patients.csv").write_text(
        "patient_id,name\n" + "".join(f'"{i}",n\n' for i in ids), encoding="utf-8")
    (data / "programs.csv").write_text(
        "patient_id,exercise,start_date,reps\n"
        + "".join(f'"{i}",bridge,2025-03-01,10\n' for i in ids), encoding="utf-8")
    sessions = ["patient_id,performed_at,exercise,reps"]
    pain = ["patient_id,reported_at,pain"]
    for i in ids:
        for day in range(1, 22):
            sessions.append(f'"{i}",2025-03-{day:02d}T08:00,bridge,10')
            pain.append(f'"{i}",2025-03-{day:02d}T20:00,{8 if day < 8 else 3}')
    (data / "sessions.csv").write_text("\n".join(sessions) + "\n", encoding="utf-8")
    (data / "pain.csv").write_text("\n".join(pain) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["summary", str(data), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    _no_formula(rows)
    header = rows[0]
    got = {r[0] for r in rows[1:]}
    assert got == {"'=1+2", "'@P", "'-P3", "'+P4", "P5"}
    change = [float(r[header.index("pain_change")]) for r in rows[1:]]
    assert all(c < 0 for c in change)  # negative numbers are written as numbers
    assert all(re.fullmatch(r"-\d+(\.\d+)?", r[header.index("pain_change")]) for r in rows[1:])


# --------------------------------------------------------------------------- log


@pytest.mark.parametrize("notes", FORMULAS)
def test_logged_notes_are_neutralised_and_load_back_as_written(folder: Path, notes: str):
    result = log_entry(folder, "P1", "plank", hold="30", notes=notes, pain="3",
                       at="2025-06-01T08:00", now=NOW)
    rows = _cells(folder / "sessions.csv")
    _no_formula(rows)
    written = rows[1][rows[0].index("notes")]
    assert written == neutralise_formula(notes.strip())
    assert result.session["notes"] == written
    ds = analytics.load(folder, now=NOW)
    assert ds.rejects.empty
    assert ds.sessions["notes"].iloc[0] == written == result.parsed_session["notes"]


def test_logged_formula_like_exercise_names(folder: Path):
    with pytest.raises(AnalyticsError, match="not in the exercise catalog"):
        log_entry(folder, "P1", '=HYPERLINK("http://x","plank")', at="2025-06-01T08:00",
                  now=NOW)
    assert not (folder / "sessions.csv").exists()  # stays unlinked, nothing written
    result = log_entry(folder, "P1", "=plank", hold="30", at="2025-06-01T08:00", now=NOW)
    assert result.exercise_id == "plank" and result.session["exercise"] == "'=plank"
    _no_formula(_cells(folder / "sessions.csv"))
    ds = analytics.load(folder, now=NOW)
    assert ds.sessions["exercise"].tolist() == ["'=plank"]
    assert ds.sessions["exercise_id"].tolist() == ["plank"]  # links as typed did
    with pytest.raises(AnalyticsError, match="already holds this entry"):  # same key
        log_entry(folder, "P1", "=plank", hold="30", at="2025-06-01T08:00", now=NOW)


def test_log_strips_a_leading_tab_from_the_time(folder: Path):
    log_entry(folder, "P1", "plank", hold="30", at="\t2025-06-01T08:00", now=NOW)
    rows = _cells(folder / "sessions.csv")
    assert rows[1][1] == "2025-06-01T08:00"


@pytest.mark.parametrize("pid", ["=1+2", "@P1", "+P1", "-P1", " =P1"])
def test_formula_like_patient_ids_are_refused(tmp_path: Path, pid: str):
    with pytest.raises(AnalyticsError, match="spreadsheet programs run as a formula"):
        log_entry(tmp_path / "new", pid, "plank", at="2025-06-01T08:00", now=NOW)
    result = CliRunner().invoke(cli, ["log", str(tmp_path / "new"), "plank", "--patient", pid])
    assert result.exit_code == 2 and "formula" in result.output
    assert not (tmp_path / "new" / "sessions.csv").exists()


def test_numeric_and_padded_patient_ids_are_fine(tmp_path: Path):
    log_entry(tmp_path, "-3", "plank", hold="30", at="2025-06-01T08:00", now=NOW)
    log_entry(tmp_path, "\tP1 ", "plank", hold="30", at="2025-06-01T08:00", now=NOW)
    assert [r[0] for r in _cells(tmp_path / "sessions.csv")[1:]] == ["-3", "P1"]


# --------------------------------------------------------------------------- import


def _strong(rows: list[tuple[str, str, str]]) -> str:
    """A Strong export: (exercise, reps, notes) per set, one workout."""
    return STRONG_HEADER + "".join(
        f'2025-06-01 08:00:00,"W",5m,"{ex.replace(chr(34), 2 * chr(34))}",{i},0,{reps},0,0,'
        f'"{notes.replace(chr(34), 2 * chr(34))}",,\n'
        for i, (ex, reps, notes) in enumerate(rows, start=1))


def test_import_neutralises_and_reimport_finds_duplicates(folder: Path):
    text = _strong([("Bridge", "10", f) for f in FORMULAS]
                   + [("@Plank", "1", "ok"), ("-Bird dog", "8", "-3"),
                      ('=HYPERLINK("http://x","bridge")', "5", "")])
    parsed = parse_text("strong", text, "export.csv")
    first = import_parsed(folder, parsed, "P1", now=NOW)
    assert first.not_in_catalog == 1
    assert first.not_in_catalog_names == (('=HYPERLINK("http://x","bridge")', 1),)  # as typed
    assert first.imported == len(FORMULAS) + 2 and first.rejected == 0
    rows = _cells(folder / "sessions.csv")
    _no_formula(rows)
    ds = analytics.load(folder, now=NOW)
    assert ds.rejects.empty and ds.unlinked.empty
    notes = ds.sessions["notes"].fillna("").tolist()
    assert notes[:len(FORMULAS)] == [neutralise_formula(f.strip()) for f in FORMULAS]
    assert "-3" in notes  # a number in a note is left alone
    assert set(ds.sessions["exercise"]) == {"Bridge", "'@Plank", "'-Bird dog"}
    assert set(ds.sessions["exercise_id"]) == {"bridge", "plank", "bird_dog"}
    again = import_parsed(folder, parsed, "P1", now=NOW)
    assert (again.imported, again.duplicates) == (0, first.imported)
    assert _cells(folder / "sessions.csv") == rows


def test_import_into_an_existing_csv_and_parquet(folder: Path):
    (folder / "sessions.csv").write_text(
        "patient_id;performed_at;exercise;reps;notes\r\nP1;2025-05-01T08:00;bridge;10;=old\r\n",
        encoding="utf-8")
    parsed = parse_text("strong", _strong([("@Plank", "1", "=new")]), "export.csv")
    assert import_parsed(folder, parsed, "P1", now=NOW).imported == 1
    text = (folder / "sessions.csv").read_bytes().decode("utf-8")
    assert text.startswith("patient_id;performed_at;exercise;reps;notes")
    assert ";=old;" in text and text.count("\r\n") == 3  # existing records kept as they were
    assert "'@Plank" in text and "'=new" in text
    ds = analytics.load(folder, now=NOW)
    assert ds.sessions["notes"].tolist() == ["=old", "'=new"]

    parquet = folder.parent / "pq"
    parquet.mkdir()
    pd.DataFrame({"patient_id": ["P1"], "performed_at": ["2025-05-01T08:00"],
                  "exercise": ["bridge"], "reps": [10]}).to_parquet(parquet / "sessions.parquet")
    assert import_parsed(parquet, parsed, "P1", now=NOW).imported == 1
    table = pd.read_parquet(parquet / "sessions.parquet")
    assert table["exercise"].tolist() == ["bridge", "'@Plank"]
    assert table["notes"].tolist()[-1] == "'=new"
    assert import_parsed(parquet, parsed, "P1", now=NOW).duplicates == 1


def test_imported_fhir_notes_are_neutralised(folder: Path):
    obs = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
           "effectiveDateTime": "2025-06-01T08:00:00Z", "valueInteger": 4,
           "note": [{"text": "=1+2"}]}
    parsed = parse_text("fhir", json.dumps(obs), "obs.json")
    assert import_parsed(folder, parsed, "P1", now=NOW).imported == 1
    _no_formula(_cells(folder / "pain.csv"))
    ds = analytics.load(folder, now=NOW)
    assert ds.pain["notes"].tolist() == ["'=1+2"]
    assert import_parsed(folder, parsed, "P1", now=NOW).duplicates == 1


def test_import_command_output_shows_names_as_typed(folder: Path, tmp_path: Path):
    export = tmp_path / "export.csv"
    export.write_text(_strong([("=bench press", "5", "")]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "strong", str(export), "--patient", "P1",
                                      "--data", str(folder)])
    assert result.exit_code == 0, result.output
    assert "'=bench press' x1" in result.output


# --------------------------------------------------------------------------- every writer


#: Modules that write CSV, and how each one neutralises formulas. ``synth`` writes
#: generated data only (no user text can reach it).
CSV_WRITERS = {
    "analytics/textfmt.py": "to_safe_csv: neutralise_formula on every cell",
    "analytics/appendlog.py": "free text neutralised before validation; _cells again",
    "analytics/synth.py": "synthetic cohort: only generated values",
}


def test_every_csv_writer_is_known():
    """A new CSV writer must be added here after making it neutralise formulas."""
    found = set()
    for path in sorted((REPO / "analytics").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bto_csv\(|csv\.writer\(|csv\.DictWriter\(", text):
            found.add(path.relative_to(REPO).as_posix())
    assert found == set(CSV_WRITERS)
