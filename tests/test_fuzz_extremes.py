"""Property tests at the edges of the value ranges: timestamps in any year and form,
numbers in any notation, odd time zone names, typed Parquet cells. Loading either
succeeds with ``read == loaded + rejected`` or raises ``DataFileError``; never a
traceback. (These strategies found years 1000-1677, unusual offset forms, offsets in
date columns, tzdata folders as zone names and typed out-of-range timestamps.)"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import DataFileError, load

NOW = pd.Timestamp("2025-06-30T12:00:00Z")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def stamps(draw: st.DrawFn) -> str:
    """Dates and date-times: any year, out-of-range fields, every clock and offset form."""
    year = draw(st.one_of(st.integers(1000, 2262), st.sampled_from(
        [1, 999, 1677, 1678, 1679, 1680, 1699, 1700, 2199, 2200, 2261, 2262, 9999])))
    date = f"{year:04d}-{draw(st.integers(0, 13)):02d}-{draw(st.integers(0, 32)):02d}"
    if draw(st.booleans()) and draw(st.booleans()):
        return date + draw(st.sampled_from(["", "Z", "+01:00"]))
    h, mi, s = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
    clock = draw(st.sampled_from([f"{h:02d}", f"{h:02d}:{mi:02d}", f"{h:02d}:{mi:02d}:{s:02d}",
                                  f"{h:02d}{mi:02d}"]))
    fraction = draw(st.sampled_from(["", ".", ".5", ".123456789", ".1234567891234", ",5"]))
    offset = draw(st.one_of(
        st.sampled_from(["", "", "", "Z", "z", " Z", " +01:00"]),
        st.builds(lambda sign, hh, mm, form: form.format(sign, hh, mm), st.sampled_from("+-"),
                  st.integers(0, 99), st.integers(0, 99),
                  st.sampled_from(["{}{:02d}:{:02d}", "{}{:02d}{:02d}", "{}{:02d}"]))))
    return date + draw(st.sampled_from(["T", " ", "t"])) + clock + fraction + offset


def _digits(table: str) -> st.SearchStrategy[str]:
    return st.integers(0, 999).map(lambda i: str(i).translate(str.maketrans("0123456789",
                                                                              table)))


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f"{f:,}"),
    st.integers(-10**30, 10**30).map(str),
    st.integers(0, 10**6).map(lambda i: f"{i:_}"),
    _digits("٠١٢٣٤٥٦٧٨٩"), _digits("０１２３４５６７８９"),
    st.sampled_from(["1,5", "1٫5", "7/10", "1:30", "1:02:00", "30s", "1 min", "-0", "1e308",
                     "1e-400", "", " ", "0x10", "1.5e3", "99:99", "1e100"]),
)
ZONES = st.sampled_from(["UTC", "Etc/GMT+14", "Etc/GMT-14", "", "Europe/Londonx", "Europe",
                         "Pacific/Kiritimati", "Asia/Kathmandu", "Factory", "America/Indiana",
                         "Australia/Lord_Howe", "A" * 300])


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _check(files: dict[str, str | pd.DataFrame]) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        for name, content in files.items():
            if isinstance(content, pd.DataFrame):
                content.to_parquet(folder / name)
            else:
                (folder / name).write_text(content, encoding="utf-8", newline="")
        try:
            ds = load(folder, now=NOW, cache=False)
        except DataFileError as exc:
            assert str(exc)
            return
        for r in ds.accounting.itertuples(index=False):
            assert r.read == r.loaded + r.rejected, r
    finally:
        shutil.rmtree(folder)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3"]), stamps(), NUMBERS, NUMBERS,
                          NUMBERS), min_size=1, max_size=8), ZONES, ZONES)
def test_sessions_with_extreme_stamps_numbers_and_zones(rows, zone1, zone2):
    patients = f"patient_id,timezone\nP1,{_quoted(zone1)}\nP2,{_quoted(zone2)}\nP3,\n"
    body = "".join(f"{p},{_quoted(t)},bridge,{_quoted(a)},{_quoted(b)},{_quoted(c)},\n"
                   for p, t, a, b, c in rows)
    _check({"patients.csv": patients,
            "sessions.csv": "patient_id,performed_at,exercise,sets,reps,hold_s,notes\n" + body})


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["P1", "P2"]), stamps(), NUMBERS,
                          st.text(max_size=20)), min_size=1, max_size=8), ZONES, st.booleans())
def test_pain_with_extreme_stamps_and_ratings(rows, zone, semicolon):
    sep = ";" if semicolon else ","
    patients = f"patient_id,timezone\nP1,{_quoted(zone)}\nP2,Europe/London\n"
    header = sep.join(["patient_id", "reported_at", "pain", "context", "symptoms", "notes"])
    body = "".join(sep.join([p, _quoted(t), _quoted(v), "", _quoted(s), ""]) + "\n"
                   for p, t, v, s in rows)
    _check({"patients.csv": patients, "pain.csv": header + "\n" + body})


@FUZZ
@given(st.lists(st.tuples(stamps(), stamps(), NUMBERS, NUMBERS, NUMBERS), min_size=1,
                max_size=6), st.booleans())
def test_programs_with_extreme_dates_and_doses(rows, semicolon):
    sep = ";" if semicolon else ","
    header = sep.join(["patient_id", "exercise", "start_date", "end_date", "sets", "reps",
                       "hold_s", "times_per_day", "days_per_week"])
    body = "".join(sep.join(["P1", "bridge", _quoted(a), _quoted(b), "", "", _quoted(h),
                             _quoted(t), _quoted(w)]) + "\n" for a, b, h, t, w in rows)
    _check({"programs.csv": header + "\n" + body})


_DATETIMES = st.datetimes(min_value=pd.Timestamp("1700-01-01").to_pydatetime(),
                          max_value=pd.Timestamp("2250-01-01").to_pydatetime())
_KINDS = {
    "any": st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(),
                     st.text(max_size=10), _DATETIMES),
    "int": st.integers(-2**63, 2**63 - 1), "float": st.floats(), "bool": st.booleans(),
    "datetime": _DATETIMES,
    "text": st.one_of(st.text(max_size=10), st.sampled_from(
        ["P1", "P2", "bridge", "2025-03-01T08:00", "5", "UTC"])),
}
_COLUMNS = {"sessions": ["patient_id", "performed_at", "exercise", "sets", "reps", "hold_s"],
            "pain": ["patient_id", "reported_at", "pain", "symptoms", "context"],
            "programs": ["patient_id", "exercise", "start_date", "end_date", "days_per_week"],
            "patients": ["patient_id", "timezone"]}


@FUZZ
@given(st.sampled_from(sorted(_COLUMNS)), st.data())
def test_parquet_with_typed_cells_of_any_kind(table, data):
    n = data.draw(st.integers(1, 5))
    frame = {}
    for column in _COLUMNS[table]:
        kind = _KINDS[data.draw(st.sampled_from(sorted(_KINDS)))]
        frame[column] = data.draw(st.lists(st.one_of(st.none(), kind), min_size=n, max_size=n))
    df = pd.DataFrame(frame)
    try:
        pa.Table.from_pandas(df)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return  # a frame Parquet cannot hold is not an input anyone can give us
    files: dict[str, str | pd.DataFrame] = {f"{table}.parquet": df}
    if table != "patients":
        files["patients.csv"] = "patient_id,timezone\nP1,Europe/London\nP2,America/New_York\n"
    _check(files)
