"""``adherence import``: Strong, Hevy, FitNotes and FHIR files into a data folder.

Fixtures under ``tests/fixtures/imports`` were written from the formats' descriptions
(column layouts of each Strong generation, Hevy, both FitNotes layouts, FHIR R4 pain
Observations with each value form, NDJSON).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analytics
from analytics.appendlog import LOCK_NAME
from analytics.cli_data import import_command
from analytics.importers import detect_format, fhir, parse_file, parse_text
from analytics.importers.common import hold_from_name, local_datetime

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
REPO = Path(__file__).resolve().parents[1]
PATIENTS = "patient_id,name,timezone\nP1,Ann,Europe/London\n"
JSON_KEYS = ["format", "read", "imported", "duplicates", "not_in_catalog", "skipped",
             "rejected", "rejects", "not_in_catalog_names"]

#: fixture -> (format, read, imported, not_in_catalog, skipped, rejected)
EXPECTED: dict[str, tuple[str, int, int, int, int, int]] = {
    "strong_2019.csv": ("strong", 5, 4, 1, 0, 0),
    "strong_2021.csv": ("strong", 13, 9, 3, 1, 0),
    "strong_units.csv": ("strong", 5, 3, 1, 1, 0),
    "strong_2024.csv": ("strong", 6, 4, 1, 1, 0),
    "hevy.csv": ("hevy", 7, 6, 1, 0, 0),
    "hevy_lbs.csv": ("hevy", 3, 2, 1, 0, 0),
    "fitnotes.csv": ("fitnotes", 8, 6, 2, 0, 0),
    "fitnotes_old.csv": ("fitnotes", 5, 4, 1, 0, 0),
    "fhir_bundle.json": ("fhir", 8, 3, 0, 3, 2),
    "fhir_single.json": ("fhir", 1, 1, 0, 0, 0),
    "fhir.ndjson": ("fhir", 3, 2, 0, 1, 0),
}


@pytest.fixture
def data_dir(make_folder) -> Path:
    return make_folder({"patients.csv": PATIENTS})


def run_import(*args: str):
    return CliRunner().invoke(import_command, list(args), catch_exceptions=False)


def import_json(folder: Path, file: Path | str, fmt: str = "auto", patient: str = "P1"
                ) -> dict:
    path = file if isinstance(file, Path) else FIXTURES / file
    result = run_import(fmt, str(path), "--patient", patient, "--data", str(folder), "--json")
    out = json.loads(result.stdout)
    assert result.exit_code == (1 if out.get("rejected") else 0), result.output
    return out


def accounted(out: dict) -> bool:
    return out["read"] == (out["imported"] + out["duplicates"] + out["not_in_catalog"]
                           + out["skipped"] + out["rejected"])


def sessions_of(folder: Path) -> pd.DataFrame:
    ds = analytics.load(folder)
    assert ds.rejects.empty, ds.rejects.to_string()
    return ds.sessions


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_auto_detects_the_format(fixture: str):
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    assert detect_format(text) == EXPECTED[fixture][0]


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_import_counts_every_row_once_and_loads_clean(data_dir: Path, fixture: str):
    fmt, read, imported, not_in_catalog, skipped, rejected = EXPECTED[fixture]
    out = import_json(data_dir, fixture)
    assert list(out) == JSON_KEYS
    assert (out["format"], out["read"], out["imported"], out["duplicates"],
            out["not_in_catalog"], out["skipped"], out["rejected"]) == (
        fmt, read, imported, 0, not_in_catalog, skipped, rejected)
    assert accounted(out)
    assert sum(n["count"] for n in out["not_in_catalog_names"]) == not_in_catalog
    ds = analytics.load(data_dir)
    assert ds.rejects.empty, ds.rejects.to_string()
    assert ds.unlinked.empty  # nothing that is not in the catalog was imported
    assert len(ds.sessions) + len(ds.pain) == imported


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_explicit_format_matches_auto(data_dir: Path, fixture: str):
    out = import_json(data_dir, fixture, fmt=EXPECTED[fixture][0])
    assert out["imported"] == EXPECTED[fixture][2]


def test_strong_common_generation(data_dir: Path):
    import_json(data_dir, "strong_2021.csv")
    s = sessions_of(data_dir)
    first = s[s["performed_at"] == pd.Timestamp("2024-02-10 19:57")]
    assert len(first) == 6  # the workout start is shared by every set of the workout
    bridge = first[first["exercise"] == "Glute Bridge"]
    assert list(zip(bridge["set_type"], bridge["set_index"], bridge["reps"], strict=True)) == [
        ("warmup", 1, 5), ("normal", 1, 12), ("normal", 2, 12), ("dropset", 1, 8)]
    plank = first[first["exercise"] == "Plank"]
    assert list(plank["reps"]) == [1, 1] and list(plank["hold_s"]) == [45.0, 60.0]
    dog = s[s["exercise"] == "Bird Dog"]
    assert list(dog["rpe"]) == [6.0, 7.0]
    assert dog["notes"].iloc[0] == "left, then right"
    assert set(s["source"]) == {"strong:strong_2021.csv"}
    assert set(s["exercise_id"]) == {"bridge", "plank", "bird_dog", "cat_cow"}


def test_strong_old_generation_counts_sets_from_zero(data_dir: Path):
    import_json(data_dir, "strong_2019.csv")
    s = sessions_of(data_dir)
    plank = s[s["exercise"] == "Plank"]
    assert list(plank["set_index"]) == [1, 2]
    assert list(plank["hold_s"]) == [60.0, 60.0] and list(plank["reps"]) == [1, 1]
    assert s.loc[s["exercise"] == "Crunch", "reps"].iloc[0] == 15


def test_strong_semicolon_generations(data_dir: Path):
    import_json(data_dir, "strong_units.csv")
    import_json(data_dir, "strong_2024.csv")
    s = sessions_of(data_dir)
    units = s[s["source"] == "strong:strong_units.csv"]
    assert units.loc[units["exercise"] == "Plank", "hold_s"].iloc[0] == 45.5  # "45,5"
    assert units["rpe"].iloc[0] == 7.5  # "7,5"
    newest = s[s["source"] == "strong:strong_2024.csv"]
    side = newest[newest["exercise"] == "Side Plank"]
    assert list(zip(side["set_type"], side["hold_s"], strict=True)) == [("warmup", 20.0),
                                                                        ("normal", 30.0)]


def test_hevy(data_dir: Path):
    import_json(data_dir, "hevy.csv")
    s = sessions_of(data_dir)
    bridge = s[s["exercise"] == "Glute Bridge"]
    assert list(bridge["set_index"]) == [1, 2, 3]  # Hevy counts from 0
    assert list(bridge["set_type"]) == ["warmup", "normal", "failure"]
    assert bridge["rpe"].tolist()[1:] == [7.0, 9.5]
    assert (bridge["performed_at"] == pd.Timestamp("2024-02-10 19:57")).all()
    plank = s[s["exercise"] == "Plank"]
    assert list(zip(plank["reps"], plank["hold_s"], plank["set_type"], strict=True)) == [
        (1, 60.0, "normal"), (1, 45.0, "dropset")]
    assert bridge["notes"].iloc[0] == "squeeze at the top"


def test_fitnotes_comma_in_name_and_holds(data_dir: Path):
    out = import_json(data_dir, "fitnotes.csv")
    assert {"name": "Bridge, Single Leg", "count": 1} in out["not_in_catalog_names"]
    s = sessions_of(data_dir)
    cat = s[s["exercise"] == "Cat-Cow, Stretch"]
    assert len(cat) == 1 and cat["reps"].iloc[0] == 10  # the columns were not shifted
    assert cat["exercise_id"].iloc[0] == "cat_cow"
    bridge = s[s["exercise"] == "Glute Bridge"]
    assert list(bridge["set_index"]) == [1, 2]  # two real sets, not duplicates
    plank = s[s["exercise"] == "Plank"]
    assert list(zip(plank["local_day"].dt.day, plank["set_index"], plank["hold_s"],
                    plank["reps"], strict=True)) == [(1, 1, 60.0, 1), (1, 2, 45.0, 1),
                                                      (2, 1, 60.0, 1)]


def test_fitnotes_old_layout(data_dir: Path):
    out = import_json(data_dir, "fitnotes_old.csv")
    assert out["not_in_catalog_names"] == [{"name": "Bridge, Single Leg, Elevated",
                                            "count": 1}]
    s = sessions_of(data_dir)
    side = s[s["exercise"] == "Side Plank"]
    assert (side["reps"].iloc[0], side["hold_s"].iloc[0]) == (2, 30.0)
    assert s.loc[s["exercise"] == "Hamstring Stretch", "hold_s"].iloc[0] == 30.0


def test_fitnotes_unrecoverable_row_is_rejected_not_shifted():
    text = ("Date,Exercise,Category,Weight,Weight Unit,Reps,Distance,Distance Unit,Time\n"
            "2024-03-01,Plank,Core,,,,,,0:01:00\n"
            "2024-03-01,Plank, wide,Core,,,ten,,,\n"
            "2024-03-01,Bird Dog,Core\n")
    parsed = parse_text("fitnotes", text, "f.csv")
    assert parsed.read == 3 and len(parsed.sessions) == 1 and parsed.rejected == 2
    assert [r.line for r in parsed.rejects] == [3, 4]
    assert "joining the extra fields" in parsed.rejects[0].reason


def test_fhir_value_forms_and_times(data_dir: Path):
    out = import_json(data_dir, "fhir_bundle.json")
    assert [r["line"] for r in out["rejects"]] == [7, 8]
    assert "valueString" in out["rejects"][0]["reason"]
    assert out["rejects"][1]["reason"] == "pain must be between 0 and 10"
    import_json(data_dir, "fhir_single.json")
    import_json(data_dir, "fhir.ndjson")
    ds = analytics.load(data_dir)
    assert ds.rejects.empty
    pain = ds.pain.sort_values("reported_at_utc")
    assert pain["pain"].tolist() == [4.0, 6.0, 7.0, 0.0, 3.0, 5.5]
    assert pain["reported_at_utc"].iloc[0] == pd.Timestamp("2024-02-10T19:30Z")  # +01:00
    assert pain["reported_at"].iloc[2] == pd.Timestamp("2024-02-12")  # a date only
    assert pain["notes"].iloc[2] == "after gardening"
    assert set(pain["source"]) == {"fhir:fhir_bundle.json", "fhir:fhir_single.json",
                                   "fhir:fhir.ndjson"}


def test_fhir_loinc_answer_codes_cover_0_to_10():
    assert sorted(fhir.LOINC_ANSWERS.values()) == list(range(11))
    assert fhir.LOINC_ANSWERS["LA6111-4"] == 0 and fhir.LOINC_ANSWERS["LA13942-0"] == 10


def _obs(subject: str, value: int, when: str) -> dict:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": subject}, "effectiveDateTime": when,
            "valueInteger": value}


def test_fhir_other_patients_scores_are_rejected():
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": _obs("Patient/P1", 2, "2024-01-01T08:00:00Z")},
        {"resource": _obs("Patient/P9", 8, "2024-01-01T09:00:00Z")},
        {"request": {"method": "GET", "url": "Patient/P1"}},
        {"resource": {"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": _obs("Patient/P1", 3, "2024-01-02")}]}},
    ]}
    parsed = parse_text("fhir", json.dumps(bundle), "b.json", patient_id="P1")
    assert parsed.read == 4 and parsed.skipped == 1
    assert parsed.pain["pain"].tolist() == ["2", "3"]
    assert [r.line for r in parsed.rejects] == [2] and parsed.rejects[0].column == "subject"


def test_fhir_ndjson_bad_line_and_missing_values():
    lines = [json.dumps(_obs("Patient/P1", 2, "2024-01-01T08:00:00Z")), "{not json",
             json.dumps({**_obs("Patient/P1", 2, "2024-01"), "valueInteger": 3}),
             json.dumps({k: v for k, v in _obs("Patient/P1", 2, "2024-01-03").items()
                         if k != "valueInteger"} | {"dataAbsentReason": {"text": "asleep"}}),
             json.dumps({k: v for k, v in _obs("Patient/P1", 2, "2024-01-03").items()
                         if k != "valueInteger"})]
    parsed = parse_text("auto", "\n".join(lines) + "\n", "x.ndjson")
    assert parsed.format == "fhir" and parsed.read == 5
    assert len(parsed.pain) == 1 and parsed.skipped == 1
    reasons = {r.line: r.reason for r in parsed.rejects}
    assert reasons[2] == "the line is not valid JSON"
    assert "gives no day" in reasons[3]
    assert reasons[5] == "the pain Observation has no value"


# --------------------------------------------------------------------------- idempotence


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_reimport_adds_nothing(data_dir: Path, fixture: str):
    first = import_json(data_dir, fixture)
    tables = {p.name: p.read_bytes() for p in data_dir.glob("*.csv")}
    second = import_json(data_dir, fixture)
    assert second["imported"] == 0
    assert second["duplicates"] == first["imported"]
    assert accounted(second)
    assert {p.name: p.read_bytes() for p in data_dir.glob("*.csv")} == tables


def test_overlapping_later_export_adds_only_new_rows(data_dir: Path, tmp_path: Path):
    import_json(data_dir, "strong_2021.csv")
    later = import_json(data_dir, "strong_2021_later.csv")
    assert (later["imported"], later["duplicates"], later["not_in_catalog"],
            later["skipped"]) == (2, 9, 3, 1)
    both = sessions_of(data_dir)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    import_json(fresh, "strong_2021_later.csv")
    alone = sessions_of(fresh)
    columns = ["performed_at", "exercise", "set_index", "set_type", "reps", "hold_s"]

    def rows(frame: pd.DataFrame) -> list:
        return sorted(map(tuple, frame[columns].astype(str).to_numpy().tolist()))

    assert rows(both) == rows(alone)  # nothing duplicated, nothing lost


def test_fitnotes_day_with_a_set_added_later(data_dir: Path, tmp_path: Path):
    header = "Date,Exercise,Category,Weight,Weight Unit,Reps,Distance,Distance Unit,Time\n"
    early = header + "2024-03-01,Bird Dog,Core,,,10,,,\n2024-03-01,Bird Dog,Core,,,10,,,\n"
    late = early + "2024-03-01,Bird Dog,Core,,,10,,,\n2024-03-02,Bird Dog,Core,,,8,,,\n"
    (tmp_path / "early.csv").write_text(early, encoding="utf-8")
    (tmp_path / "late.csv").write_text(late, encoding="utf-8")
    assert import_json(data_dir, tmp_path / "early.csv")["imported"] == 2
    out = import_json(data_dir, tmp_path / "late.csv")
    assert (out["imported"], out["duplicates"]) == (2, 2)
    assert sorted(sessions_of(data_dir)["set_index"].tolist()) == [1, 1, 2, 3]


def test_same_sets_from_another_app_are_not_duplicates(data_dir: Path):
    import_json(data_dir, "strong_2021.csv")
    import_json(data_dir, "hevy.csv")
    s = sessions_of(data_dir)
    assert set(s["source"]) == {"strong:strong_2021.csv", "hevy:hevy.csv"}


# --------------------------------------------------------------------------- linking


def test_user_aliases_and_fuzzy_links(data_dir: Path, tmp_path: Path):
    (data_dir / "aliases.csv").write_text("name,exercise_id\nDead Bug,bird_dog\n",
                                          encoding="utf-8")
    out = import_json(data_dir, "hevy_lbs.csv")
    assert (out["imported"], out["not_in_catalog"]) == (3, 0)
    text = ("Date,Exercise,Category,Weight,Weight Unit,Reps,Distance,Distance Unit,Time\n"
            "2024-03-01,Glute Brige,Legs,,,12,,,\n")
    (tmp_path / "typo.csv").write_text(text, encoding="utf-8")
    result = run_import("fitnotes", str(tmp_path / "typo.csv"), "--patient", "P1", "--data",
                        str(data_dir))
    assert result.exit_code == 0
    assert "linked by similarity: 'Glute Brige' -> bridge" in result.stdout
    ds = analytics.load(data_dir)
    assert ds.rejects.empty and ds.unlinked.empty


# --------------------------------------------------------------------------- CLI


def test_text_output(data_dir: Path):
    result = run_import("strong", str(FIXTURES / "strong_2021.csv"), "--patient", "P1",
                        "--data", str(data_dir))
    assert result.exit_code == 0
    assert ("read 13: imported 9, duplicates 0, not in catalog 3, skipped 1, rejected 0"
            in result.stdout)
    assert "'Squat (Barbell)' x3" in result.stdout


def test_rejected_rows_exit_1_and_are_listed(data_dir: Path):
    result = run_import("fhir", str(FIXTURES / "fhir_bundle.json"), "--patient", "P1",
                        "--data", str(data_dir))
    assert result.exit_code == 1
    assert "line 8, pain: '12' pain must be between 0 and 10" in result.stdout


@pytest.mark.parametrize(("fmt", "content", "message"), [
    ("auto", b"a,b,c\n1,2,3\n", "format not recognised"),
    ("hevy", None, "looks like a Strong export"),
    ("fhir", b"Date,Exercise\n", "is not FHIR JSON"),
    ("auto", b"", "empty"),
    ("auto", b"PK\x03\x04\x00\x00binary", "binary"),
    ("auto", b"{\"hello\": 1}", "not a FHIR resource"),
])
def test_unreadable_or_unrecognised_exit_2(data_dir: Path, tmp_path: Path, fmt: str,
                                          content: bytes | None, message: str):
    path = FIXTURES / "strong_2021.csv" if content is None else tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    result = run_import(fmt, str(path), "--patient", "P1", "--data", str(data_dir), "--json")
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    assert message in out["error"] and out["file"] == path.name
    assert not (data_dir / "sessions.csv").exists()
    text = run_import(fmt, str(path), "--patient", "P1", "--data", str(data_dir))
    assert text.exit_code == 2 and "Traceback" not in text.output


def test_missing_file_and_unknown_patient_exit_2(data_dir: Path):
    result = run_import("auto", str(data_dir / "nope.csv"), "--patient", "P1", "--data",
                        str(data_dir))
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = run_import("auto", str(FIXTURES / "hevy.csv"), "--patient", "P7", "--data",
                        str(data_dir))
    assert result.exit_code == 2 and "unknown patient 'P7'" in result.stderr
    assert not (data_dir / "sessions.csv").exists()


def test_folder_without_patients_table_is_created(tmp_path: Path):
    folder = tmp_path / "new" / "data"
    out = import_json(folder, "hevy.csv", patient="me")
    assert out["imported"] == 6
    assert (folder / "sessions.csv").read_text().splitlines()[0] == (
        "patient_id,performed_at,exercise,sets,reps,hold_s,side,rpe,notes,set_index,"
        "set_type,source")
    assert len(sessions_of(folder)) == 6


# --------------------------------------------------------------------------- tables


def test_existing_csv_keeps_its_rows_and_gains_columns(data_dir: Path):
    old = ("patient_id;performed_at;exercise;reps;hold_s\r\n"
           "P1;2024-01-05T08:00;bridge;10;2,5\r\n"
           "P1;2024-01-06T08:00;bridge;10\r\n")  # a short row: rejected before and after
    (data_dir / "sessions.csv").write_text(old, encoding="utf-8", newline="")
    before = analytics.load(data_dir)
    assert len(before.sessions) == 1 and len(before.rejects) == 1
    out = import_json(data_dir, "hevy.csv")
    assert out["imported"] == 6
    lines = (data_dir / "sessions.csv").read_bytes().decode("utf-8").split("\r\n")
    assert lines[0] == ("patient_id;performed_at;exercise;reps;hold_s;sets;rpe;notes;"
                        "set_index;set_type;source")  # the columns hevy rows fill
    assert lines[1] == "P1;2024-01-05T08:00;bridge;10;2,5;;;;;;"
    assert lines[2] == "P1;2024-01-06T08:00;bridge;10;;;;;;"
    assert lines[-1] == "" and len(lines) == 3 + 6 + 1
    after = analytics.load(data_dir)
    assert len(after.sessions) == 7 and len(after.rejects) == 1
    assert after.rejects["line"].tolist() == [3]


def test_existing_csv_is_appended_verbatim(data_dir: Path):
    old = ("patient_id,performed_at,exercise,sets,reps,hold_s,side,rpe,notes,set_index,"
           "set_type,source\nP1,2024-01-05 08:00,Bridge,1,10,,,,\"note, with comma\",1,,"
           "hand")  # no final line break
    (data_dir / "sessions.csv").write_text(old, encoding="utf-8", newline="")
    import_json(data_dir, "hevy_lbs.csv")
    text = (data_dir / "sessions.csv").read_bytes().decode("utf-8")
    assert text.startswith(old + "\n")
    assert len(sessions_of(data_dir)) == 3


def test_parquet_tables_are_appended(data_dir: Path):
    sessions = pd.DataFrame({
        "patient_id": ["P1"], "performed_at": pd.to_datetime(["2024-01-05 08:00"]),
        "exercise": ["Bridge"], "sets": [1], "reps": [10], "set_index": [1]})
    sessions.to_parquet(data_dir / "sessions.parquet", index=False)
    pd.DataFrame({"patient_id": ["P1"], "reported_at": ["2024-01-05T08:00"],
                  "pain": [3.0]}).to_parquet(data_dir / "pain.parquet", index=False)
    import_json(data_dir, "strong_2021.csv")
    import_json(data_dir, "fhir.ndjson")
    assert sorted(p.name for p in data_dir.iterdir() if not p.name.startswith(".")) == [
        "pain.parquet", "patients.csv", "sessions.parquet"]
    table = pd.read_parquet(data_dir / "sessions.parquet")
    assert len(table) == 10
    assert pd.api.types.is_datetime64_any_dtype(table["performed_at"])
    ds = analytics.load(data_dir)
    assert ds.rejects.empty and len(ds.sessions) == 10 and len(ds.pain) == 3
    again = import_json(data_dir, "strong_2021.csv")
    assert again["imported"] == 0 and again["duplicates"] == 9


def test_excel_table_is_refused(data_dir: Path):
    (data_dir / "sessions.xlsx").write_bytes(b"PK\x03\x04")
    result = run_import("hevy", str(FIXTURES / "hevy.csv"), "--patient", "P1", "--data",
                        str(data_dir))
    assert result.exit_code == 2 and "Excel" in result.stderr
    assert not (data_dir / "sessions.csv").exists()


def test_no_temporary_files_are_left(data_dir: Path):
    import_json(data_dir, "strong_2021.csv")
    import_json(data_dir, "fhir_bundle.json")
    assert sorted(p.name for p in data_dir.iterdir()) == [
        LOCK_NAME, "pain.csv", "patients.csv", "sessions.csv"]


# --------------------------------------------------------------------------- concurrency

_IMPORT = ("import sys; from analytics.cli_data import import_command; "
           "import_command.main(sys.argv[1:], prog_name='adherence import')")


def test_concurrent_imports_lose_and_duplicate_nothing(data_dir: Path):
    files = ["strong_2021.csv", "strong_2021.csv", "strong_2021_later.csv", "hevy.csv",
             "fitnotes.csv", "fitnotes_old.csv", "fhir_bundle.json", "fhir.ndjson"]
    procs = [subprocess.Popen(
        [sys.executable, "-c", _IMPORT, "auto", str(FIXTURES / f), "--patient", "P1",
         "--data", str(data_dir), "--json"], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for f in files]
    outs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode in (0, 1), stderr
        outs.append(json.loads(stdout))
    assert all(accounted(o) for o in outs)
    ds = analytics.load(data_dir)
    assert ds.rejects.empty
    # strong (11 distinct sets) + hevy 6 + fitnotes 6 + 4; pain 3 + 2
    assert len(ds.sessions) == 11 + 6 + 6 + 4 == sum(o["imported"] for o in outs
                                                     if o["format"] != "fhir")
    assert len(ds.pain) == 5


# --------------------------------------------------------------------------- helpers


def test_value_helpers():
    assert hold_from_name("Plank 1:00") == ("Plank", 60.0)
    assert hold_from_name("Side plank (45s)") == ("Side plank", 45.0)
    assert hold_from_name("Wall sit 2 min") == ("Wall sit", 120.0)
    assert hold_from_name("Bird dog") == ("Bird dog", None)
    assert local_datetime("10 Feb 2024, 19:57") == "2024-02-10T19:57:00"
    assert local_datetime("2019-12-10 18:23:51") == "2019-12-10T18:23:51"
    assert local_datetime("yesterday") is None


_NAME = st.text(alphabet=st.sampled_from("abc ,"), min_size=1, max_size=12).filter(
    lambda s: s.strip(" ,") != "" and s == s.strip())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_NAME, st.integers(0, 30), st.sampled_from(["", "0:00:30"])),
                min_size=1, max_size=8))
def test_fitnotes_names_with_commas_are_recovered(rows: list[tuple[str, int, str]]):
    text = "Date,Exercise,Category,Weight,Weight Unit,Reps,Distance,Distance Unit,Time\n"
    text += "".join(f"2024-03-01,{name},Core,,,{reps},,,{time}\n" for name, reps, time in rows)
    parsed = parse_text("fitnotes", text, "p.csv")
    assert parsed.read == len(rows) == len(parsed.sessions) + parsed.rejected + parsed.skipped
    assert parsed.rejected == 0
    assert parsed.sessions["exercise"].tolist() == [n.strip() for n, _, _ in rows]
    for (_, reps, time), got in zip(rows, parsed.sessions.to_dict("records"), strict=True):
        if time and reps == 0:  # a timed set: one repetition held 30 s
            assert (got["reps"], got["hold_s"]) == ("1", "30")
        else:
            assert got["reps"] == str(reps) and got["hold_s"] is None


def test_parse_file_reads_bytes_in_legacy_encodings(tmp_path: Path):
    path = tmp_path / "strong.csv"
    path.write_bytes((FIXTURES / "strong_units.csv").read_text(encoding="utf-8")
                     .encode("cp1252"))
    assert parse_file("auto", path).read == 5
