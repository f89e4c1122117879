"""The data contract: which tables a data folder holds and what each column means.

A data folder holds up to four tables, each as ``NAME.csv``, ``NAME.parquet`` or
``NAME.xlsx``. Column names are matched case- and space-insensitively; extra columns
are kept. Units are in the names: ``hold_s`` is seconds per repetition.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Pain contexts a report may carry (``pain.context``).
PAIN_CONTEXTS: tuple[str, ...] = (
    "before_session", "after_session", "morning", "evening", "other",
)

#: Symptoms a pain report may list (``pain.symptoms``, ``;``-separated).
SYMPTOMS: tuple[str, ...] = (
    "numbness", "tingling", "weakness", "bladder_bowel", "saddle_numbness", "fever",
    "night_pain", "other",
)

#: Set types importers may fill (``sessions.set_type``); blank means ``normal``.
SET_TYPES: tuple[str, ...] = ("normal", "warmup", "failure", "dropset")

#: Sides a set may be done on (``sessions.side``, ``programs.side``).
SIDES: tuple[str, ...] = ("left", "right", "both", "each_side")


@dataclass(frozen=True)
class Column:
    """One contract column.

    ``kind`` says how it is parsed: ``text``, ``id``, ``int`` (whole number >= 0),
    ``number`` (>= 0), ``hold`` (seconds, also ``mm:ss``), ``pain`` (0-10, ``7/10``),
    ``rating`` (0-10), ``date``, ``timestamp``, ``timezone``, ``context``, ``symptoms``,
    ``side``, ``set_type``.
    """

    name: str
    kind: str
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Table:
    """One contract table: its name and columns in canonical order."""

    name: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


PATIENTS = Table("patients", (
    Column("patient_id", "id", True, "the patient's identifier"),
    Column("name", "text", False, "display name"),
    Column("timezone", "timezone", False, "IANA time zone, default UTC"),
    Column("notes", "text"),
))

PROGRAMS = Table("programs", (
    Column("patient_id", "id", True),
    Column("exercise", "text", True, "exercise name, linked to the catalog"),
    Column("start_date", "date", True, "first day of the prescription (local)"),
    Column("end_date", "date", False, "last day; blank = open-ended"),
    Column("sets", "int", False, "sets per session; blank = catalog default"),
    Column("reps", "int", False, "repetitions per set; blank = catalog default"),
    Column("hold_s", "hold", False, "seconds per hold; blank = catalog default"),
    Column("times_per_day", "int", False, "sessions per day, default 1"),
    Column("days_per_week", "int", False, "days per ISO week, default 7"),
    Column("side", "side"),
))

SESSIONS = Table("sessions", (
    Column("patient_id", "id", True),
    Column("performed_at", "timestamp", True, "when the set was done (ISO 8601)"),
    Column("exercise", "text", True, "exercise name as typed"),
    Column("sets", "int", False, "identical sets in this row, default 1"),
    Column("reps", "int", False, "repetitions per set (a timed hold is 1)"),
    Column("hold_s", "hold", False, "seconds per repetition"),
    Column("side", "side"),
    Column("rpe", "rating", False, "rating of perceived exertion, 0-10"),
    Column("notes", "text"),
    Column("set_index", "int", False, "position of the set in the session"),
    Column("set_type", "set_type", False, "normal, warmup, failure, dropset"),
    Column("source", "text", False, "where the row came from"),
))

PAIN = Table("pain", (
    Column("patient_id", "id", True),
    Column("reported_at", "timestamp", True, "when the rating was given (ISO 8601)"),
    Column("pain", "pain", True, "0-10 numeric rating scale"),
    Column("context", "context", False, "before_session, after_session, morning, evening, other"),
    Column("symptoms", "symptoms", False, "';'-separated list"),
    Column("notes", "text"),
))

#: The four tables in loading order (patients first: the others need its time zones).
TABLES: tuple[Table, ...] = (PATIENTS, PROGRAMS, SESSIONS, PAIN)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
