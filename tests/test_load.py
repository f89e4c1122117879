"""Hand-checked cases for loading and validating a data folder."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import NOW

from analytics import DataFileError, load

SESSION_HEADER = "patient_id,performed_at,exercise,sets,reps,hold_s,side,rpe,notes,set_index\n"


def _sessions(rows: str) -> dict[str, str]:
    return {"sessions.csv": SESSION_HEADER + rows}


def _reasons(ds, table: str = "sessions") -> list[tuple[int, str, str]]:
    r = ds.rejects[ds.rejects["table"] == table]
    return list(zip(r["line"], r["column"], r["reason"], strict=True))


def test_clean_folder_loads_everything(make_folder):
    folder = make_folder(_sessions(
        "P1,2025-03-01T08:00:00,pelvic tilt,1,10,5,,,,1\n"
        "P1,2025-03-01T08:02:00,Bridge,1,10,3,,,,1\n"
    ) | {"pain.csv": "patient_id,reported_at,pain,context\nP1,2025-03-01T07:55,5,before_session\n"})
    ds = load(folder, now=NOW)
    assert ds.clean
    acc = ds.accounting.set_index("table")
    assert acc.loc["sessions", ["read", "loaded", "rejected"]].tolist() == [2, 2, 0]
    assert ds.sessions["exercise_id"].tolist() == ["pelvic_tilt", "bridge"]
    assert ds.pain["pain"].tolist() == [5.0]


@pytest.mark.parametrize(("row", "column", "reason"), [
    pytest.param("P1,2025-19-27T08:00,bridge,1,10,3,,,,", "performed_at",
                 "not a valid date", id="impossible-date"),
    pytest.param("P1,yesterday,bridge,1,10,3,,,,", "performed_at", "not a valid date",
                 id="unparseable-date"),
    pytest.param("P1,2031-01-01T08:00,bridge,1,10,3,,,,", "performed_at", "in the future",
                 id="future"),
    pytest.param("P1,,bridge,1,10,3,,,,", "performed_at", "is empty", id="missing-time"),
    pytest.param("P1,2025-03-01T08:00,bridge,1,-3,3,,,,", "reps", "negative", id="neg-reps"),
    pytest.param("P1,2025-03-01T08:00,bridge,two,10,3,,,,", "sets", "not a number",
                 id="text-sets"),
    pytest.param("P1,2025-03-01T08:00,bridge,1,2.5,3,,,,", "reps", "whole number",
                 id="fractional-reps"),
    pytest.param("P1,2025-03-01T08:00,bridge,1,10,abc,,,,", "hold_s", "not a duration",
                 id="text-hold"),
    pytest.param("P1,2025-03-01T08:00,bridge,1,10,1000000000,,,,", "hold_s", "implausible",
                 id="huge-hold"),
    pytest.param("P1,2025-03-01T08:00,bridge,1,10,3,,12,,", "rpe", "between 0 and 10",
                 id="rpe-range"),
    pytest.param("P9,2025-03-01T08:00,bridge,1,10,3,,,,", "patient_id", "unknown patient",
                 id="unknown-patient"),
    pytest.param("P1,2025-03-01T08:00,,1,10,3,,,,", "exercise", "exercise is empty",
                 id="empty-exercise"),
    pytest.param("P1,2025-03-01T08:00,bridge,1,10,3,up,,,", "side", "side must be one of",
                 id="bad-side"),
])
def test_session_reject_reasons(make_folder, row, column, reason):
    ds = load(make_folder(_sessions("P1,2025-03-01T09:00,bridge,1,10,3,,,,\n" + row + "\n")),
              now=NOW)
    assert len(ds.sessions) == 1  # the good row still loads
    (line, col, why), = _reasons(ds)
    assert (line, col) == (3, column)
    assert reason in why


@pytest.mark.parametrize(("value", "expected", "reason"), [
    pytest.param("7/10", 7.0, None, id="out-of-ten"),
    pytest.param("6.5", 6.5, None, id="decimal"),
    pytest.param("0", 0.0, None, id="zero"),
    pytest.param("11", None, "between 0 and 10", id="eleven"),
    pytest.param("-1", None, "between 0 and 10", id="minus-one"),
    pytest.param("seven", None, "not a number", id="word"),
    pytest.param("", None, "pain is empty", id="blank"),
])
def test_pain_values(make_folder, value, expected, reason):
    text = f"patient_id,reported_at,pain\nP1,2025-03-01T08:00,{value}\n"
    folder = make_folder({"pain.csv": text})
    ds = load(folder, now=NOW)
    if expected is None:
        assert ds.pain.empty
        assert reason in ds.rejects["reason"].iloc[0]
        assert ds.rejects["line"].iloc[0] == 2
    else:
        assert ds.pain["pain"].tolist() == [expected]


def test_pain_symptoms_and_context(make_folder):
    folder = make_folder({"pain.csv": (
        "patient_id,reported_at,pain,context,symptoms\n"
        "P1,2025-03-01T08:00,4,Before Session,Tingling; numbness\n"
        "P1,2025-03-02T08:00,4,,\n"
        "P1,2025-03-03T08:00,4,lunchtime,\n"
        "P1,2025-03-04T08:00,4,morning,itchy\n")})
    ds = load(folder, now=NOW)
    assert ds.pain["context"].tolist() == ["before_session", "other"]
    assert ds.pain["symptoms"].tolist()[0] == "numbness;tingling"
    assert [r[1] for r in _reasons(ds, "pain")] == ["context", "symptoms"]


def test_exact_duplicates_rejected_but_distinct_set_index_kept(make_folder):
    folder = make_folder(_sessions(
        "P1,2025-03-01T08:00,bridge,1,10,3,,,,1\n"
        "P1,2025-03-01T08:00,bridge,1,10,3,,,,2\n"
        "P1,2025-03-01T08:00:00,bridge,1,10,3.0,,,,1\n"))
    ds = load(folder, now=NOW)
    assert len(ds.sessions) == 2
    assert _reasons(ds) == [(4, "(row)", "duplicate of line 2")]


def test_truncated_last_line_is_one_reject_and_accounting_holds(make_folder):
    folder = make_folder(_sessions(
        "P1,2025-03-01T08:00,bridge,1,10,3,,,,1\n"
        "P1,2025-03-01T08:01,bri"))
    ds = load(folder, now=NOW)
    acc = ds.accounting.set_index("table").loc["sessions"]
    assert (acc["read"], acc["loaded"], acc["rejected"]) == (2, 1, 1)
    assert "too few fields" in ds.rejects["reason"].iloc[0]


def test_quoted_notes_with_newlines_load_and_lines_stay_right(make_folder):
    folder = make_folder(_sessions(
        'P1,2025-03-01T08:00,bridge,1,10,3,,,"felt good\nthen tired",1\n'
        "P1,2025-03-01T08:01,bridge,1,-1,3,,,,2\n"))
    ds = load(folder, now=NOW)
    assert ds.sessions["notes"].tolist() == ["felt good\nthen tired"]
    assert ds.rejects["line"].tolist() == [4]  # the second record starts on line 4


def test_accounting_holds_for_many_problems(make_folder):
    rows = "".join(f"P1,2025-03-{d:02d}T08:00,bridge,1,{r},3,,,,1\n"
                   for d, r in zip(range(1, 21), ["10", "-1", "x", "5"] * 5, strict=True))
    ds = load(make_folder(_sessions(rows)), now=NOW)
    acc = ds.accounting.set_index("table")
    for table in acc.index:
        assert acc.loc[table, "read"] == acc.loc[table, "loaded"] + acc.loc[table, "rejected"]
    assert acc.loc["sessions", "rejected"] == 10


def test_absent_and_header_only_tables_are_empty_with_columns(make_folder):
    ds = load(make_folder({"sessions.csv": SESSION_HEADER}), now=NOW)
    assert ds.sessions.empty and ds.pain.empty and ds.programs.empty
    for column in ("patient_id", "performed_at", "exercise", "hold_s", "exercise_id"):
        assert column in ds.sessions.columns
    for column in ("patient_id", "reported_at", "pain", "context", "symptoms"):
        assert column in ds.pain.columns


def test_column_names_match_loosely_and_extra_columns_are_kept(make_folder):
    folder = make_folder({"sessions.csv": "Patient ID,Performed At,EXERCISE,Reps,Mood\n"
                                          "P1,2025-03-01T08:00,bridge,10,happy\n"})
    ds = load(folder, now=NOW)
    assert ds.sessions["mood"].tolist() == ["happy"]
    assert ds.sessions["sets"].tolist() == [1]  # default


@pytest.mark.parametrize(("content", "message"), [
    pytest.param(b"", "empty", id="zero-bytes"),
    pytest.param(b"\x00\x01\x02\x03binary\x00\xff" * 20, "binary", id="binary"),
    pytest.param("patient_id,exercise,reps\nP1,bridge,10\n", "missing required column",
                 id="missing-column"),
    pytest.param("patient_id,performed_at,exercise,Exercise\nP1,2025-03-01,a,b\n",
                 "twice", id="duplicate-header"),
])
def test_whole_file_errors_name_the_file(make_folder, content, message):
    folder = make_folder({"sessions.csv": content})
    with pytest.raises(DataFileError, match=message) as info:
        load(folder, now=NOW)
    assert info.value.file == "sessions.csv"
    assert str(info.value).startswith("sessions.csv: ")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataFileError, match="no such data folder"):
        load(tmp_path / "nope")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_encodings(make_folder, encoding):
    text = SESSION_HEADER + "P1,2025-03-01T08:00,bridge,1,10,3,,,Zoë’s note,1\n"
    ds = load(make_folder({"sessions.csv": text.encode(encoding)}), now=NOW)
    assert ds.sessions["notes"].tolist() == ["Zoë’s note"]


def test_semicolon_file_with_decimal_commas(make_folder):
    text = ("patient_id;performed_at;exercise;reps;hold_s\n"
            "P1;2025-03-01T08:00;plank;1;32,5\n")
    ds = load(make_folder({"sessions.csv": text}), now=NOW)
    assert ds.sessions["hold_s"].tolist() == [32.5]


@pytest.mark.parametrize(("written", "seconds"), [
    ("45", 45.0), ("0:45", 45.0), ("1:30", 90.0), ("0:01:30", 90.0), ("1:00:00", 3600.0),
    ("30s", 30.0), ("30 sec", 30.0), ("1 min", 60.0), ("1.5 min", 90.0),
])
def test_hold_formats(make_folder, written, seconds):
    text = "patient_id,performed_at,exercise,hold_s\nP1,2025-03-01T08:00,plank," + written + "\n"
    ds = load(make_folder({"sessions.csv": text}), now=NOW)
    assert ds.sessions["hold_s"].tolist() == [seconds]
    assert ds.sessions["reps"].tolist() == [1]  # a timed hold is one repetition


def test_parquet_tables_load(make_folder, tmp_path):
    folder = make_folder({})
    pd.DataFrame({
        "patient_id": ["P1", "P1"],
        "performed_at": pd.to_datetime(["2025-03-01 08:00", "2025-03-01 08:01"]),
        "exercise": ["bridge", "plank"], "reps": [10, 1], "hold_s": [3.0, 30.0],
    }).to_parquet(folder / "sessions.parquet")
    ds = load(folder, now=NOW)
    assert ds.sessions["exercise_id"].tolist() == ["bridge", "plank"]
    assert ds.sessions["line"].tolist() == [2, 3]


def test_programs_fall_back_to_catalog_defaults(make_folder):
    from conftest import PROGRAMS

    ds = load(make_folder({"programs.csv": PROGRAMS}), now=NOW)
    progs = ds.programs.set_index("exercise_id")
    assert progs.loc["pelvic_tilt", "dose_source"] == "program"
    bridge = progs.loc["bridge"]
    rx = ds.catalog.get("bridge").default
    assert bridge["sets"] == (rx.sets or 1)
    assert bridge["dose_from_catalog"].startswith("sets;reps")
    assert bridge["dose_source"] == rx.source_title
    assert progs["times_per_day"].tolist() == [1, 1]
    assert pd.isna(progs.loc["pelvic_tilt", "end_date"])


def test_program_end_before_start_rejected(make_folder):
    text = ("patient_id,exercise,start_date,end_date\n"
            "P1,bridge,2025-03-10,2025-03-01\nP1,bridge,2025-02-30,\n")
    ds = load(make_folder({"programs.csv": text}), now=NOW)
    assert ds.programs.empty
    assert [r[2] for r in _reasons(ds, "programs")] == [
        "end_date is before start_date", "start_date is not a valid date (use YYYY-MM-DD)"]


def test_patients_unknown_timezone_and_duplicates(make_folder):
    text = "patient_id,timezone\nP1,Europe/London\nP2,Mars/Olympus\nP1,UTC\nP3,\n"
    ds = load(make_folder({"patients.csv": text}), now=NOW)
    assert ds.patients["patient_id"].tolist() == ["P1", "P3"]
    assert ds.patients["timezone"].tolist() == ["Europe/London", "UTC"]
    assert [r[2] for r in _reasons(ds, "patients")] == [
        "unknown time zone (use an IANA name such as Europe/London)",
        "duplicate patient_id (first on line 2)"]


def test_without_patients_file_every_patient_is_accepted_in_utc(make_folder):
    folder = make_folder(_sessions("Z9,2025-03-01T23:30,bridge,1,10,3,,,,1\n"), patients=False)
    ds = load(folder, now=NOW)
    assert ds.sessions["local_day"].tolist() == [pd.Timestamp("2025-03-01")]


def test_xlsx_table_loads_with_row_lines(make_folder):
    folder = make_folder({})
    pd.DataFrame({"patient_id": ["P1", "P1"], "reported_at": ["2025-03-01T08:00", "x"],
                  "pain": [4, 5]}).to_excel(folder / "pain.xlsx", index=False)
    ds = load(folder, now=NOW)
    assert ds.pain["pain"].tolist() == [4.0]
    assert ds.rejects["line"].tolist() == [3]


def test_two_files_for_one_table_is_an_error(make_folder):
    folder = make_folder({"pain.csv": "patient_id,reported_at,pain\n"})
    pd.DataFrame({"patient_id": ["P1"]}).to_parquet(folder / "pain.parquet")
    with pytest.raises(DataFileError, match="several files"):
        load(folder, now=NOW)


def test_every_whole_number_column_has_a_plausibility_limit():
    # validate.py relies on it: a cell beyond 2**53 is rejected as implausible before
    # the column becomes Int64 (tests/bad_inputs.py case reps-beyond-int64).
    from analytics.schema import TABLES
    from analytics.validate import LIMITS

    whole = {c.name for t in TABLES for c in t.columns if c.kind == "int"}
    assert whole and whole <= set(LIMITS), whole - set(LIMITS)


def _sessions_parquet(folder, **columns):
    n = len(next(iter(columns.values())))
    frame = {"patient_id": ["P1"] * n, "performed_at": ["2025-03-01T08:00"] * n,
             "exercise": ["bridge"] * n}
    frame.update(columns)
    pq.write_table(pa.table(frame), folder / "sessions.parquet")


def test_parquet_odd_cells_are_rejected_not_a_crash(make_folder):
    """Found by exploratory fuzzing: each of these was a traceback."""
    folder = make_folder({})
    # Float ids that are not finite, bytes that are not UTF-8, and typed timestamps in
    # years no nanosecond timestamp holds (timestamp[ms] can).
    _sessions_parquet(folder, patient_id=[float("inf"), 1e300, 1.0])
    ds = load(folder, now=NOW)
    assert len(ds.sessions) + len(ds.rejects) == 3
    assert set(ds.rejects["reason"]) == {"unknown patient (not in the patients table)"}

    _sessions_parquet(folder, exercise=pa.array([b"bridge", b"\xff"], pa.binary()))
    ds = load(folder, now=NOW)
    assert sorted(ds.sessions["exercise"]) == ["bridge", "\ufffd"]

    stamps = [dt.datetime(1000, 1, 1), dt.datetime(9999, 1, 1), dt.datetime(2025, 3, 1, 8)]
    for tz in (None, "UTC"):
        _sessions_parquet(folder, performed_at=pa.array(stamps, pa.timestamp("ms", tz=tz)))
        ds = load(folder, now=NOW)
        assert len(ds.sessions) == 1, tz
        assert sorted(ds.rejects["line"]) == [2, 3]
        assert ds.rejects["reason"].str.contains("not a valid date").all()

    programs = pa.table({"patient_id": ["P1", "P1"], "exercise": ["bridge", "plank"],
                         "start_date": pa.array([dt.date(1000, 1, 1), dt.date(2025, 3, 1)],
                                                pa.date32())})
    pq.write_table(programs, folder / "programs.parquet")
    ds = load(folder, now=NOW)
    rejected = ds.rejects[ds.rejects["table"] == "programs"]
    assert len(ds.programs) == 1 and list(rejected["column"]) == ["start_date"]
