"""A catalogue of malformed inputs with the outcome each must have.

Each :class:`Case` writes one table file (``table``, ``content``) into a data folder
that also holds ``patients.csv`` (P1 Europe/London, P2 America/New_York) and checks
one outcome:

* ``error``: a whole-file :class:`analytics.DataFileError` whose message matches;
* otherwise ``loaded`` rows load and ``rejects`` lists ``(line, column, reason
  substring)`` for the rows that do not; ``check`` optionally inspects the dataset.

Never a traceback, never a lost row: ``read == loaded + rejected`` always holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

H = "patient_id,performed_at,exercise,sets,reps,hold_s,notes\n"
PAIN_H = "patient_id,reported_at,pain,context,symptoms,notes\n"
OK = "P1,2025-03-01T08:00,bridge,1,10,3,\n"


@dataclass(frozen=True)
class Case:
    id: str
    content: str | bytes
    table: str = "sessions"
    error: str | None = None
    loaded: int = 0
    rejects: tuple[tuple[int, str, str], ...] = ()
    check: Callable[[Any], None] | None = field(default=None, compare=False)


def _value(column: str, expected: Any, table: str = "sessions") -> Callable[[Any], None]:
    def check(ds: Any) -> None:
        frame = getattr(ds, table)
        assert frame[column].tolist() == [expected], frame[column].tolist()
    return check


CASES: tuple[Case, ...] = (
    # --- whole-file problems
    Case("zero-byte", b"", error="empty"),
    Case("binary-png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), error="binary"),
    Case("nul-in-text", (H + OK).encode() + b"\x00\x00\x00", error="binary"),
    Case("zip-archive", b"PK\x03\x04" + b"\x14\x00" * 40, error="binary"),
    Case("duplicate-header", "patient_id,performed_at,exercise,Exercise\nP1,2025-03-01,a,b\n",
         error="twice"),
    Case("duplicate-header-spacing", "patient_id,Performed At,performed_at,exercise\n",
         error="twice"),
    Case("missing-required-column", "patient_id,exercise,reps\nP1,bridge,10\n",
         error="missing required column"),
    Case("pipe-delimited", "patient_id|performed_at|exercise\nP1|2025-03-01T08:00|bridge\n",
         error="missing required column"),
    Case("only-blank-space", "   \n\n  \n", error="no header"),
    # --- encodings and delimiters that load
    Case("utf16-bom", (H + OK).encode("utf-16"), loaded=1),
    Case("utf8-bom-crlf", ("\ufeff" + H + OK).replace("\n", "\r\n").encode("utf-8"), loaded=1),
    Case("latin1-notes", (H + "P1,2025-03-01T08:00,bridge,1,10,3,Zoë café\n").encode("latin-1"),
         loaded=1, check=_value("notes", "Zoë café")),
    Case("tab-delimited", H.replace(",", "\t") + OK.replace(",", "\t"), loaded=1),
    Case("semicolon-decimal-comma", "patient_id;performed_at;exercise;reps;hold_s\n"
         "P1;2025-03-01T08:00;plank;1;32,5\n", loaded=1, check=_value("hold_s", 32.5)),
    Case("header-case-and-spaces", " Patient ID , PERFORMED AT ,Exercise\n"
         "P1,2025-03-01T08:00,bridge\n", loaded=1),
    Case("header-only", H, loaded=0),
    # --- quoting and record shape
    Case("mixed-quoting", H + 'P1,"2025-03-01T08:00",bridge,"1",10,"3",\n', loaded=1),
    Case("quoted-newline-notes", H + 'P1,2025-03-01T08:00,bridge,1,10,3,"a\nb"\n' + OK
         .replace("08:00", "09:00"), loaded=2, check=None),
    Case("truncated-last-line", H + OK + "P1,2025-03-01T08:05,bri", loaded=1,
         rejects=((3, "(row)", "too few fields"),)),
    Case("unquoted-comma-in-notes", H + "P1,2025-03-01T08:00,bridge,1,10,3,good, tired\n",
         loaded=0, rejects=((2, "(row)", "too many fields"),)),
    Case("unterminated-quote", H + OK + 'P1,2025-03-01T08:07,bridge,1,10,3,"never closed\n',
         loaded=1, rejects=((3, "(row)", "never closed"),)),
    Case("unterminated-quote-swallows-rows", H + 'P1,2025-03-01T08:00,bridge,1,10,3,"oops\n'
         + OK.replace("08:00", "09:00") + OK.replace("08:00", "10:00"), loaded=0,
         rejects=((2, "(row)", "lines 2 to 4"),)),
    Case("blank-lines-between", H + "\n" + OK + "\n\n,,,,,,\n", loaded=1),
    Case("trailing-empty-fields", H.rstrip("\n") + "\n" + OK.rstrip("\n") + ",,\n", loaded=1),
    Case("very-long-notes", H + "P1,2025-03-01T08:00,bridge,1,10,3," + "x" * 100_000 + "\n",
         loaded=1),
    Case("exact-duplicate-row", H + OK + OK, loaded=1,
         rejects=((3, "(row)", "duplicate of line 2"),)),
    # --- numbers
    Case("hold-with-seconds-unit", H + "P1,2025-03-01T08:00,plank,1,1,30s,\n", loaded=1,
         check=_value("hold_s", 30.0)),
    Case("hold-in-minutes", H + "P1,2025-03-01T08:00,plank,1,1,1 min,\n", loaded=1,
         check=_value("hold_s", 60.0)),
    Case("hold-mm-ss", H + "P1,2025-03-01T08:00,plank,1,1,1:30,\n", loaded=1,
         check=_value("hold_s", 90.0)),
    Case("hold-huge", H + "P1,2025-03-01T08:00,plank,1,1,1000000000,\n", loaded=0,
         rejects=((2, "hold_s", "implausible"),)),
    Case("hold-infinite", H + "P1,2025-03-01T08:00,plank,1,1,inf,\n", loaded=0,
         rejects=((2, "hold_s", "not a duration"),)),
    Case("reps-negative", H + "P1,2025-03-01T08:00,bridge,1,-10,3,\n", loaded=0,
         rejects=((2, "reps", "negative"),)),
    # Found by hypothesis in CI: a whole-number column holding 1e100 (beyond int64)
    # crashed the conversion instead of being rejected.
    Case("reps-beyond-int64", H + "P1,2025-03-01T08:00,bridge,1,1e100,3,\n"
         + "P1,2025-03-01T09:00,bridge,1,-1e30,3,\n" + OK, loaded=1,
         rejects=((2, "reps", "implausible"), (3, "reps", "negative"))),
    Case("reps-nan-text", H + "P1,2025-03-01T08:00,bridge,1,nan,3,\n", loaded=0,
         rejects=((2, "reps", "not a number"),)),
    Case("sets-word", H + "P1,2025-03-01T08:00,bridge,three,10,3,\n", loaded=0,
         rejects=((2, "sets", "not a number"),)),
    # --- dates and times
    Case("date-impossible", H + "P1,2025-19-27T08:00,bridge,1,10,3,\n", loaded=0,
         rejects=((2, "performed_at", "not a valid date"),)),
    Case("date-feb-30", H + "P1,2025-02-30T08:00,bridge,1,10,3,\n", loaded=0,
         rejects=((2, "performed_at", "not a valid date"),)),
    Case("date-slashes-ambiguous", H + "P1,01/03/2025 08:00,bridge,1,10,3,\n", loaded=0,
         rejects=((2, "performed_at", "not a valid date"),)),
    Case("date-iso-variants", H + "P1,2025-03-01 08:00,bridge,1,10,3,\n"
         "P1,2025-03-02T08:00:00Z,bridge,1,10,3,\nP1,2025-03-03T08:00:00+01:00,bridge,1,10,3,\n",
         loaded=3),
    Case("date-far-future", H + "P1,2099-01-01T08:00,bridge,1,10,3,\n", loaded=0,
         rejects=((2, "performed_at", "in the future"),)),
    Case("date-negative-year", H + "P1,-2025-06-01T08:00,bridge,1,10,3,\n", loaded=0,
         rejects=((2, "performed_at", "not a valid date"),)),
    Case("date-year-99999", H + "P1,99999-06-01T08:00,bridge,1,10,3,\n", loaded=0,
         rejects=((2, "performed_at", "not a valid date"),)),
    Case("date-year-9999-with-offset", H + "P1,9999-06-01T08:00+02:00,bridge,1,10,3,\n",
         loaded=0, rejects=((2, "performed_at", "not a valid date"),)),
    Case("date-too-early", H + "P1,1899-01-01T08:00,bridge,1,10,3,\n", loaded=0,
         rejects=((2, "performed_at", "before"),)),
    Case("dst-gap-london", H + "P1,2025-03-30T01:30,bridge,1,10,3,\n", loaded=1,
         check=lambda ds: _eq(ds.sessions["performed_at"].dt.strftime("%H:%M").tolist(),
                              ["02:00"])),
    Case("dst-overlap-new-york", H + "P2,2024-11-03T01:30,bridge,1,10,3,\n", loaded=1,
         check=lambda ds: _eq(ds.sessions["performed_at_utc"].dt.strftime("%H:%M").tolist(),
                              ["05:30"])),
    # --- ids and names
    Case("unknown-patient", H + "P9,2025-03-01T08:00,bridge,1,10,3,\n", loaded=0,
         rejects=((2, "patient_id", "unknown patient"),)),
    Case("unknown-exercise", H + "P1,2025-03-01T08:00,barbell squat,1,10,,\n", loaded=1,
         check=lambda ds: _eq(ds.unlinked["name"].tolist(), ["barbell squat"])),
    Case("formula-exercise", H + 'P1,2025-03-01T08:00,"=HYPERLINK(""http://x"",""y"")",1,1,,\n',
         loaded=1, check=lambda ds: _eq(ds.sessions["exercise_id"].isna().tolist(), [True])),
    # --- pain
    Case("pain-eleven", PAIN_H + "P1,2025-03-01T08:00,11,,,\n", table="pain", loaded=0,
         rejects=((2, "pain", "between 0 and 10"),)),
    Case("pain-minus-one", PAIN_H + "P1,2025-03-01T08:00,-1,,,\n", table="pain", loaded=0,
         rejects=((2, "pain", "between 0 and 10"),)),
    Case("pain-word", PAIN_H + "P1,2025-03-01T08:00,seven,,,\n", table="pain", loaded=0,
         rejects=((2, "pain", "not a number"),)),
    Case("pain-out-of-ten", PAIN_H + "P1,2025-03-01T08:00,7/10,,,\n", table="pain", loaded=1,
         check=_value("pain", 7.0, "pain")),
    Case("pain-unknown-symptom", PAIN_H + "P1,2025-03-01T08:00,4,,itchy,\n", table="pain",
         loaded=0, rejects=((2, "symptoms", "unknown symptom"),)),
    Case("pain-bad-context", PAIN_H + "P1,2025-03-01T08:00,4,lunch,,\n", table="pain",
         loaded=0, rejects=((2, "context", "context must be one of"),)),
    # --- other tables
    Case("patients-bad-timezone", "patient_id,timezone\nP1,Europe/London\nP2,Mars/Base\n",
         table="patients", loaded=1, rejects=((3, "timezone", "unknown time zone"),)),
    Case("programs-end-before-start", "patient_id,exercise,start_date,end_date\n"
         "P1,bridge,2025-03-10,2025-03-01\n", table="programs", loaded=0,
         rejects=((2, "end_date", "before start_date"),)),
    Case("programs-days-per-week-8", "patient_id,exercise,start_date,days_per_week\n"
         "P1,bridge,2025-03-10,8\n", table="programs", loaded=0,
         rejects=((2, "days_per_week", "implausible"),)),
    # --- found by exploratory fuzzing (each was a traceback before)
    Case("timestamp-year-1025", H + "P1,1025-03-01T08:00,bridge,1,10,3,\n"
         + "P1,1677-09-21T00:12:44,bridge,1,10,3,\n" + OK, loaded=1,
         rejects=((2, "performed_at", "not a valid date"),
                  (3, "performed_at", "not a valid date"))),
    Case("timestamp-offset-year-1500", H + "P1,1500-01-01T00:00+01:00,bridge,1,10,3,\n" + OK,
         loaded=1, rejects=((2, "performed_at", "not a valid date"),)),
    Case("timestamp-offset-unusual-form", H + "P1,2025-03-01T08Z,bridge,1,10,3,\n"
         + "P1,2025-03-01T080000+0100,bridge,1,10,3,\n" + OK, loaded=1,
         rejects=((2, "performed_at", "not a valid date"),
                  (3, "performed_at", "not a valid date"))),
    Case("timestamp-offset-unusual-form-mixed", H + "P1,2025-03-01T08Z,bridge,1,10,3,\n"
         + "P1,2025-03-02,bridge,1,10,3,\n" + OK, loaded=2,
         rejects=((2, "performed_at", "not a valid date"),)),
    Case("pain-year-1025", PAIN_H + "P1,1025-03-01T08:00,4,,,\n", table="pain", loaded=0,
         rejects=((2, "reported_at", "not a valid date"),)),
    Case("programs-date-with-offset", "patient_id,exercise,start_date\n"
         "P1,bridge,2025-03-01T08:00Z\n" "P1,plank,2025-03-02\n", table="programs", loaded=2,
         check=lambda ds: _eq(sorted(ds.programs["start_date"].dt.strftime("%Y-%m-%d")),
                              ["2025-03-01", "2025-03-02"])),
    Case("programs-date-year-1025", "patient_id,exercise,start_date\n"
         "P1,bridge,1025-03-01\n", table="programs", loaded=0,
         rejects=((2, "start_date", "not a valid date"),)),
    Case("patients-timezone-folder-or-too-long",
         "patient_id,timezone\nP1,Europe\nP2," + "A" * 300 + "\n", table="patients",
         loaded=0, rejects=((2, "timezone", "unknown time zone"),
                            (3, "timezone", "unknown time zone"))),
)


def _eq(got: Any, expected: Any) -> None:
    assert got == expected, (got, expected)
