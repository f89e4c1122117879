"""``adherence log`` (one validated entry, duplicates refused, safe under concurrency) and
``adherence export fhir`` (a FHIR R4 Bundle validated with ``fhir.resources``).

``fhir.resources`` 8 provides R5 as its default modules plus ``R4B`` and ``STU3``; there
is no separate R4 package. R4B's Bundle and Observation are R4's (R4B changed neither),
so the export is validated with the ``fhir.resources.R4B`` models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import analytics
from analytics.cli_data import export_group, log_command
from analytics.metrics.summary import compute, summary_records

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
REPO = Path(__file__).resolve().parents[1]
PROGRAMS = ("patient_id,exercise,start_date,end_date,sets,reps,hold_s,times_per_day,"
            "days_per_week\nP1,bridge,2025-06-01,2025-06-07,1,10,,1,7\n")


@pytest.fixture
def data_dir(make_folder) -> Path:
    return make_folder({})  # conftest's patients: P1 Europe/London, P2 America/New_York


def log(folder: Path, *args: str):
    return CliRunner().invoke(log_command, [str(folder), *args], catch_exceptions=False)


def export(*args: str):
    return CliRunner().invoke(export_group, ["fhir", *args], catch_exceptions=False)


# --------------------------------------------------------------------------- log


def test_log_appends_one_validated_entry(data_dir: Path):
    result = log(data_dir, "Glute bridge", "--patient", "P1", "--sets", "2", "--reps", "10",
                 "--hold", "5s", "--side", "Both", "--rpe", "6", "--notes", "easy",
                 "--at", "2025-06-01T08:30")
    assert result.exit_code == 0, result.output
    assert "Logged Glute bridge (bridge) for P1 at 2025-06-01T08:30:00" in result.stdout
    text = (data_dir / "sessions.csv").read_text(encoding="utf-8").splitlines()
    assert text == ["patient_id,performed_at,exercise,sets,reps,hold_s,side,rpe,notes,"
                    "set_index,set_type,source",
                    "P1,2025-06-01T08:30,Glute bridge,2,10,5,both,6,easy,,,log"]
    ds = analytics.load(data_dir)
    assert ds.rejects.empty and ds.unlinked.empty
    row = ds.sessions.iloc[0]
    assert (row["sets"], row["reps"], row["hold_s"], row["exercise_id"]) == (2, 10, 5.0,
                                                                             "bridge")
    assert row["performed_at_utc"] == pd.Timestamp("2025-06-01T07:30Z")  # BST
    assert not (data_dir / "pain.csv").exists()


def test_log_with_pain_adds_a_pain_report(data_dir: Path):
    result = log(data_dir, "plank", "--patient", "P1", "--hold", "0:45", "--pain", "4/10",
                 "--symptoms", "Numbness", "--symptoms", "tingling", "--at", "2025-06-02T18:00")
    assert result.exit_code == 0, result.output
    assert "Logged pain 4/10 (after_session)" in result.stdout
    result = log(data_dir, "plank", "--patient", "P1", "--hold", "45", "--pain", "2",
                 "--context", "morning", "--at", "2025-06-03T07:00")
    assert result.exit_code == 0, result.output
    ds = analytics.load(data_dir)
    assert ds.rejects.empty
    assert ds.sessions["reps"].tolist() == [1, 1] and ds.sessions["hold_s"].tolist() == [45.0,
                                                                                         45.0]
    pain = ds.pain
    assert pain["pain"].tolist() == [4.0, 2.0]
    assert pain["context"].tolist() == ["after_session", "morning"]
    assert pain["symptoms"].tolist()[0] == "numbness;tingling"
    assert pain["reported_at"].tolist() == [pd.Timestamp("2025-06-02 18:00"),
                                            pd.Timestamp("2025-06-03 07:00")]


def test_log_identical_entry_is_refused(data_dir: Path):
    args = ("bridge", "--patient", "P1", "--reps", "10", "--at", "2025-06-01T08:30")
    assert log(data_dir, *args).exit_code == 0
    before = (data_dir / "sessions.csv").read_bytes()
    again = log(data_dir, *args)
    assert again.exit_code == 1
    assert "already holds this entry" in again.stderr and "line 2" in again.stderr
    assert (data_dir / "sessions.csv").read_bytes() == before
    # The same instant written another way is the same entry; another time is not.
    assert log(data_dir, "bridge", "--patient", "P1", "--reps", "10", "--at",
               "2025-06-01T07:30:00Z").exit_code == 1
    assert log(data_dir, "bridge", "--patient", "P1", "--reps", "10", "--at",
               "2025-06-01T08:31").exit_code == 0
    assert len(analytics.load(data_dir).sessions) == 2


def test_log_defaults_to_now_in_the_patients_zone(data_dir: Path):
    before = pd.Timestamp.now(tz="America/New_York").tz_localize(None).floor("s")
    assert log(data_dir, "bird dog", "--patient", "P2", "--reps", "8").exit_code == 0
    after = pd.Timestamp.now(tz="America/New_York").tz_localize(None)
    when = analytics.load(data_dir).sessions["performed_at"].iloc[0]
    assert before <= when <= after


@pytest.mark.parametrize(("args", "message"), [
    (("--reps", "-1"), "invalid value for --reps: '-1' reps is negative"),
    (("--reps", "2.5"), "reps must be a whole number"),
    (("--hold", "long"), "invalid value for --hold: 'long' hold_s is not a duration"),
    (("--at", "2099-01-01T08:00"), "invalid value for --at: '2099-01-01T08:00' performed_at "
                                   "is in the future"),
    (("--at", "yesterday"), "is not a valid date and time"),
    (("--pain", "11"), "invalid value for --pain: '11' pain must be between 0 and 10"),
    (("--pain", "3", "--symptoms", "itch"), "unknown symptom 'itch'"),
    (("--side", "up"), "side must be one of"),
    (("--context", "morning"), "give --pain too"),
])
def test_log_bad_value_exit_2_nothing_written(data_dir: Path, args: tuple[str, ...],
                                              message: str):
    result = log(data_dir, "bridge", "--patient", "P1", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Nothing was logged" in result.stderr
    assert not (data_dir / "sessions.csv").exists() and not (data_dir / "pain.csv").exists()


def test_log_unknown_exercise_or_patient_exit_2(data_dir: Path):
    result = log(data_dir, "bench press", "--patient", "P1", "--reps", "5")
    assert result.exit_code == 2 and "not in the exercise catalog" in result.stderr
    result = log(data_dir, "bridge", "--patient", "P9", "--reps", "5")
    assert result.exit_code == 2 and "unknown patient 'P9'" in result.stderr
    assert not (data_dir / "sessions.csv").exists()


_LOG = ("import sys; from analytics.cli_data import log_command; "
        "log_command.main(sys.argv[1:], prog_name='adherence log')")
_IMPORT = ("import sys; from analytics.cli_data import import_command; "
           "import_command.main(sys.argv[1:], prog_name='adherence import')")


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_concurrent_logs_lose_nothing(data_dir: Path):
    procs = [_spawn(_LOG, str(data_dir), "bridge", "--patient", "P1", "--reps", "10",
                    "--pain", str(i % 11), "--at", f"2025-06-01T08:{i:02d}")
             for i in range(12)]
    # Several processes logging the very same entry: exactly one succeeds.
    same = [_spawn(_LOG, str(data_dir), "plank", "--patient", "P1", "--hold", "30",
                   "--at", "2025-06-02T09:00") for _ in range(4)]
    for p in procs:
        _, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
    codes = sorted(p.wait(timeout=120) for p in same)
    assert codes == [0, 1, 1, 1]
    ds = analytics.load(data_dir)
    assert ds.rejects.empty
    assert len(ds.sessions) == 13 and len(ds.pain) == 12


def test_concurrent_log_and_import(data_dir: Path):
    procs = [_spawn(_IMPORT, "auto", str(FIXTURES / "strong_2021.csv"), "--patient", "P1",
                    "--data", str(data_dir)),
             _spawn(_IMPORT, "auto", str(FIXTURES / "fhir.ndjson"), "--patient", "P1",
                    "--data", str(data_dir))]
    procs += [_spawn(_LOG, str(data_dir), "cat cow", "--patient", "P1", "--reps", "10",
                     "--pain", "3", "--at", f"2025-06-03T07:{i:02d}") for i in range(6)]
    for p in procs:
        _, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
    ds = analytics.load(data_dir)
    assert ds.rejects.empty
    assert len(ds.sessions) == 9 + 6 and len(ds.pain) == 2 + 6


# --------------------------------------------------------------------------- export


@pytest.fixture
def cohort(data_dir: Path) -> Path:
    (data_dir / "programs.csv").write_text(PROGRAMS, encoding="utf-8")
    for day, pain in ((1, "6"), (2, "5"), (4, "3")):
        assert log(data_dir, "bridge", "--patient", "P1", "--reps", "10", "--pain", pain,
                   "--symptoms", "numbness", "--at", f"2025-06-0{day}T08:30").exit_code == 0
    (data_dir / "pain.csv").write_text(
        (data_dir / "pain.csv").read_text(encoding="utf-8")
        + "P1,2025-01-15T09:00,7,morning,,cold day,\nP2,2025-06-01T08:00,2,,,,\n",
        encoding="utf-8")
    return data_dir


def test_export_fhir_bundle_validates(cohort: Path, tmp_path: Path):
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.patient import Patient

    out = tmp_path / "out" / "p1.json"
    result = export(str(cohort), "--patient", "P1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "4 pain observation(s)" in result.stdout
    raw = json.loads(out.read_text(encoding="utf-8"))
    bundle = Bundle.model_validate(raw)
    assert bundle.type == "collection"
    resources = [e["resource"] for e in raw["entry"]]
    assert [r["resourceType"] for r in resources] == ["Patient"] + ["Observation"] * 5
    Patient.model_validate(resources[0])
    for r in resources[1:]:
        Observation.model_validate(r)
    subject = raw["entry"][0]["fullUrl"]
    assert resources[0]["identifier"][0]["value"] == "P1"

    pain = resources[1:5]
    assert all(r["code"]["coding"][0] == {
        "system": "http://loinc.org", "code": "72514-3",
        "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}
        for r in pain)
    assert all(r["subject"]["reference"] == subject for r in pain)
    assert [r["valueQuantity"]["value"] for r in pain] == [7, 6, 5, 3]
    assert {r["valueQuantity"]["unit"] for r in pain} == {"{score}"}
    # Local time with the patient's offset: GMT in January, BST in June.
    assert [r["effectiveDateTime"] for r in pain] == [
        "2025-01-15T09:00:00+00:00", "2025-06-01T08:30:00+01:00",
        "2025-06-02T08:30:00+01:00", "2025-06-04T08:30:00+01:00"]
    assert pain[0]["note"] == [{"text": "context: morning; cold day"}]
    assert pain[1]["note"] == [{"text": "context: after_session; symptoms: numbness"}]

    summary = resources[5]
    record = summary_records(compute(analytics.load(cohort), patients=["P1"]).summary)[0]
    components = {c["code"]["coding"][0]["code"]: c for c in summary["component"]}
    assert components["adherence_pct"]["valueQuantity"]["value"] == round(
        record["adherence_pct"], 1)
    assert components["adherence_pct"]["valueQuantity"]["unit"] == "%"
    assert components["sessions_done"]["valueInteger"] == record["sessions_done"] == 3
    assert components["sessions_prescribed"]["valueInteger"] == record["sessions_prescribed"]
    assert summary["effectivePeriod"] == {"start": record["period_start"],
                                          "end": record["period_end"]}
    assert f"{record['sessions_done']} of {record['sessions_prescribed']}" in summary[
        "valueString"]


def test_export_is_deterministic_and_atomic(cohort: Path, tmp_path: Path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert export(str(cohort), "--patient", "P1", "--out", str(first)).exit_code == 0
    assert export(str(cohort), "--patient", "P1", "--out", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []


def test_export_patient_without_programme(cohort: Path, tmp_path: Path):
    from fhir.resources.R4B.bundle import Bundle

    out = tmp_path / "p2.json"
    assert export(str(cohort), "--patient", "P2", "--out", str(out)).exit_code == 0
    raw = json.loads(out.read_text(encoding="utf-8"))
    Bundle.model_validate(raw)
    summary = raw["entry"][-1]["resource"]
    assert "No exercise programme" in summary["valueString"]
    assert all("dataAbsentReason" in c for c in summary["component"])
    assert raw["entry"][1]["resource"]["effectiveDateTime"] == "2025-06-01T08:00:00-04:00"


def test_export_errors_exit_2(cohort: Path, tmp_path: Path):
    out = tmp_path / "x.json"
    result = export(str(cohort), "--patient", "P9", "--out", str(out))
    assert result.exit_code == 2 and "unknown patient 'P9'" in result.stderr
    result = export(str(tmp_path / "missing"), "--patient", "P1", "--out", str(out))
    assert result.exit_code == 2 and "no such data folder" in result.stderr
    assert not out.exists()


def test_imported_fhir_round_trips_through_export(data_dir: Path, tmp_path: Path):
    from analytics.cli_data import import_command

    result = CliRunner().invoke(import_command, ["fhir", str(FIXTURES / "fhir_bundle.json"),
                                                 "--patient", "P1", "--data", str(data_dir)])
    assert result.exit_code == 1  # two rejected scores
    out = tmp_path / "p1.json"
    assert export(str(data_dir), "--patient", "P1", "--out", str(out)).exit_code == 0
    raw = json.loads(out.read_text(encoding="utf-8"))
    values = [e["resource"]["valueQuantity"]["value"] for e in raw["entry"][1:-1]]
    assert values == [4, 6, 7]


# --------------------------------------------------------------------------- found by fuzzing


def test_lone_surrogates_are_stored_as_replacement_characters(data_dir: Path, tmp_path: Path):
    """A JSON "\\ud800" escape or non-UTF-8 bytes on a command line put lone surrogates
    into Python text; no UTF-8 file can hold them. They were an internal error."""
    from analytics.cli import cli
    from analytics.dashboard_data import LogEntry, LogEntryError, save_entry

    note = tmp_path / "note.json"
    note.write_text('{"resourceType":"Observation","status":"final","code":{"coding":'
                    '[{"system":"http://loinc.org","code":"72514-3"}]},'
                    '"effectiveDateTime":"2025-06-01T07:15:00Z","valueInteger":3,'
                    '"note":[{"text":"ok \\ud800"}]}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "fhir", str(note), "--patient", "P1",
                                      "--data", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "ok \ufffd" in (data_dir / "pain.csv").read_text(encoding="utf-8")

    result = CliRunner().invoke(cli, ["log", str(data_dir), "Glute bridge", "--patient", "P1",
                                      "--notes", "a\udcff", "--at", "2025-06-01T08:30"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["log", str(data_dir), "Glute bridge", "--patient", "P1",
                                      "--reps", "3\udcff", "--at", "2025-06-01T09:30"])
    assert result.exit_code != 3 and "Internal error" not in result.output
    assert "reps" in result.output
    with pytest.raises(LogEntryError):
        save_entry(data_dir, "P1", LogEntry("Glute bridge", sets="\ud800"), "2025-06-01T10:30")


def test_unwritable_or_special_output_is_a_clear_error(tmp_path: Path):
    from analytics.cli import cli

    data = REPO / "data"
    # Renaming the export over a special file (fuzzing used /dev/full, as root) replaced
    # it; a FIFO stands in for it here.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = CliRunner().invoke(cli, ["export", "fhir", str(data), "--patient", "P001",
                                      "--out", str(fifo)])
    assert result.exit_code == 2, result.output
    assert f"cannot use {fifo}" in result.output and "not a regular file" in result.output
    assert fifo.is_fifo()
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", "fhir", str(data), "--patient", "P001",
                                      "--out", str(blocked / "p.json")])
    assert result.exit_code == 2 and "Internal error" not in result.output, result.output
    assert f"cannot use {blocked}" in result.output
