"""The ``adherence`` command: exit statuses, JSON shapes, no tracebacks."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from analytics.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_catalog_json_has_required_fields():
    result = run("catalog", "--json")
    assert result.exit_code == 0
    records = json.loads(result.output)
    assert len(records) >= 20
    for key in ("id", "name", "aliases", "region", "kind", "prescriptions"):
        assert key in records[0]
    for key in ("source", "hold_s_min", "hold_s_max", "reps_min", "reps_max", "sets", "sides",
                "times_per_day"):
        assert key in records[0]["prescriptions"][0]


def test_catalog_text_table():
    result = run("catalog")
    assert result.exit_code == 0
    assert "pelvic_tilt" in result.output


def test_validate_clean_folder_exit_0(make_folder):
    folder = make_folder({"sessions.csv": "patient_id,performed_at,exercise,reps\n"
                                          "P1,2025-03-01T08:00,bridge,10\n"})
    result = run("validate", str(folder), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["tables"]["sessions"] == {"file": "sessions.csv", "read": 1, "loaded": 1,
                                         "rejected": 0}
    assert out["rejects"] == [] and out["unlinked"] == [] and out["fuzzy"] == []


def test_validate_rejects_exit_1_text_names_file_and_line(make_folder):
    folder = make_folder({"sessions.csv": "patient_id,performed_at,exercise,reps\n"
                                          "P1,2025-03-01T08:00,bridge,-2\n"
                                          "P1,2025-03-01T08:05,bench press,5\n"})
    result = run("validate", str(folder))
    assert result.exit_code == 1
    assert "sessions.csv line 2, column reps: '-2' reps is negative" in result.output
    assert "'bench press' x1" in result.output
    js = json.loads(run("validate", str(folder), "--json").output)
    assert js["rejects"] == [{"table": "sessions", "file": "sessions.csv", "line": 2,
                              "column": "reps", "value": "-2", "reason": "reps is negative"}]
    assert js["unlinked"][0]["name"] == "bench press"
    assert isinstance(js["unlinked"][0]["suggestions"], list)


@pytest.mark.parametrize("as_json", [False, True])
def test_validate_unreadable_file_exit_2(make_folder, as_json):
    folder = make_folder({"pain.csv": b""})
    args = ["validate", str(folder)] + (["--json"] if as_json else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    if as_json:
        assert json.loads(result.output) == {"error": "pain.csv: the file is empty (0 bytes)",
                                             "file": "pain.csv"}
    else:
        assert "pain.csv: the file is empty" in result.output


def test_synth_then_validate_is_clean(tmp_path):
    out = tmp_path / "cohort"
    assert run("synth", "--patients", "3", "--days", "21", "--seed", "1",
               "--out", str(out)).exit_code == 0
    result = run("validate", str(out), "--json")
    assert result.exit_code == 0, result.output
