"""Shared pieces of the importers: the parse result, CSV splitting, value helpers,
classification of parsed rows and the natural key that makes imports idempotent.

Every format module turns a file's text into a :class:`Parsed`: contract-shaped rows
(text cells, as they will be written to the data folder) plus what was skipped or
rejected while reading. :func:`classify` then links names through the catalog and
checks every value with :func:`analytics.validate.validate_table` - the very rules that
:func:`analytics.load` applies - so that whatever is imported loads without rejects.
Nothing here writes; :mod:`analytics.appendlog` does.

Accounting: each record of the file (each resource for FHIR) ends in exactly one of
``imported``, ``duplicates``, ``not_in_catalog``, ``skipped`` or ``rejected``, so
``read == imported + duplicates + not_in_catalog + skipped + rejected``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from analytics.errors import DataFileError
from analytics.io import RawTable, canonical_column, decode_text
from analytics.link import Linker
from analytics.schema import PAIN, SESSIONS
from analytics.textfmt import valid_text_frame
from analytics.validate import validate_table

#: Columns of the session rows an importer produces (``patient_id`` is added later).
SESSION_FIELDS: tuple[str, ...] = tuple(c for c in SESSIONS.column_names if c != "patient_id")
#: Columns of the pain rows an importer produces; ``source`` is an extra column (the
#: contract keeps extra columns) recording where the report came from.
PAIN_FIELDS: tuple[str, ...] = tuple(c for c in PAIN.column_names if c != "patient_id") + (
    "source",)
#: Header of a pain table created by an import or ``adherence log``.
PAIN_HEADER: tuple[str, ...] = (*PAIN.column_names, "source")

#: Reasons a parsed row is classified as a duplicate rather than a reject.
_DUPLICATE_REASON = re.compile(r"^duplicate of line \d+$")


@dataclass(frozen=True)
class Reject:
    """One problem found in one record of an imported file."""

    line: int
    column: str
    value: str
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "value": self.value,
                "reason": self.reason}


@dataclass(frozen=True)
class Parsed:
    """What a format parser read from one file, before linking and validation.

    Attributes
    ----------
    format : str
        ``strong``, ``hevy``, ``fitnotes`` or ``fhir``.
    variant : str
        Which layout of the format was recognised (e.g. ``strong-2019``).
    file : str
        The file name (no folder), as shown to users and kept in ``source``.
    sessions : pandas.DataFrame
        One row per set: :data:`SESSION_FIELDS` as text (``None`` when blank) plus
        ``_line`` (the record's first line in the file).
    pain : pandas.DataFrame
        One row per pain report: :data:`PAIN_FIELDS` as text plus ``_line``.
    skipped : int
        Records that are not sets or pain scores (rest timers, other resources).
    rejects : tuple[Reject, ...]
        Problems of records that could not be read as a set or score.
    read : int
        Records read (``len(sessions) + len(pain) + skipped + rejected lines``).
    """

    format: str
    variant: str
    file: str
    sessions: pd.DataFrame
    pain: pd.DataFrame
    skipped: int
    rejects: tuple[Reject, ...]
    read: int

    @property
    def rejected(self) -> int:
        return len({r.line for r in self.rejects})


@dataclass
class RowBuilder:
    """Collects rows, rejects and skips while a parser walks a file."""

    sessions: list[dict[str, object]] = field(default_factory=list)
    pain: list[dict[str, object]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    skipped: int = 0
    read: int = 0

    def reject(self, line: int, column: str, value: object, reason: str) -> None:
        self.rejects.append(Reject(line, column, _shown(value), reason))

    def result(self, fmt: str, variant: str, file: str) -> Parsed:
        sessions = _frame(self.sessions, SESSION_FIELDS)
        pain = _frame(self.pain, PAIN_FIELDS)
        parsed = Parsed(fmt, variant, file, sessions, pain, self.skipped,
                        tuple(sorted(self.rejects, key=lambda r: r.line)), self.read)
        counted = len(sessions) + len(pain) + parsed.skipped + parsed.rejected
        if counted != parsed.read:  # a programming error: every record must be counted once
            raise AssertionError(f"{file}: {parsed.read} records read but {counted} counted")
        return parsed


def _frame(rows: list[dict[str, object]], columns: tuple[str, ...]) -> pd.DataFrame:
    data: dict[str, pd.Series] = {
        c: pd.Series([r.get(c) for r in rows], dtype=object) for c in columns}
    data["_line"] = pd.Series([r["_line"] for r in rows], dtype="int64")
    return pd.DataFrame(data)


def _shown(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."


# --------------------------------------------------------------------------- CSV text


@dataclass(frozen=True)
class CsvRecords:
    """A CSV file split into its header and records (nothing is dropped here)."""

    delimiter: str
    header: tuple[str, ...]
    columns: tuple[str, ...]
    records: tuple[tuple[int, tuple[str, ...]], ...]

    @property
    def decimal_comma(self) -> bool:
        return self.delimiter == ";"

    def index(self, *names: str) -> int | None:
        """Position of the first of ``names`` (canonical) present in the header."""
        for name in names:
            if name in self.columns:
                return self.columns.index(name)
        return None


def sniff_delimiter(text: str) -> str:
    """``,``, ``;`` or tab: whichever occurs most in the first line outside quotes."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def split_csv(text: str, file: str) -> CsvRecords:
    """Split CSV text into header and ``(line, fields)`` records; blank lines are not
    records. Records keep their field count (the caller decides what a wrong count
    means). An unreadable header is a :class:`DataFileError`."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise DataFileError(file, "the file holds no header line (only blank space)")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header: list[str] = []
        while not header:
            header = next(reader)
        records: list[tuple[int, tuple[str, ...]]] = []
        last = reader.line_num
        for record in reader:
            start, last = last + 1, reader.line_num
            if not record or all(c.strip() == "" for c in record):
                continue
            records.append((start, tuple(record)))
    except csv.Error as exc:
        raise DataFileError(file, f"is not readable CSV ({exc})") from exc
    columns = tuple(canonical_column(h) for h in header)
    return CsvRecords(delimiter, tuple(header), columns, tuple(records))


def read_text(data: bytes, file: str) -> str:
    """Decode an imported file's bytes (see :func:`analytics.io.decode_text`)."""
    return decode_text(data, file)


def require_columns(csv_records: CsvRecords, file: str, app: str,
                    groups: Iterable[tuple[str, ...]]) -> None:
    """Every group (alternatives of one column) must be present in the header."""
    missing = [" or ".join(g) for g in groups if not any(c in csv_records.columns for c in g)]
    if missing:
        found = ", ".join(csv_records.header) or "none"
        raise DataFileError(file, f"does not look like a {app} export: missing column(s) "
                                  f"{'; '.join(missing)} (columns found: {found})")


# --------------------------------------------------------------------------- values


def blank(text: object) -> bool:
    return text is None or (isinstance(text, str) and text.strip() == "")


def to_number(text: object, decimal_comma: bool = False) -> float | None:
    """A number written as text (``None`` when blank); :class:`ValueError` otherwise."""
    if blank(text):
        return None
    value = str(text).strip()
    if decimal_comma:
        value = value.replace(",", ".")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def fmt_number(value: float | int | None) -> str | None:
    """``10.0`` -> ``"10"``, ``22.5`` -> ``"22.5"``, ``None`` -> ``None``."""
    if value is None:
        return None
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")


def clock_seconds(text: object) -> float | None:
    """``H:MM:SS`` or ``M:SS`` -> seconds (``None`` when blank); :class:`ValueError`."""
    if blank(text):
        return None
    match = _CLOCK.match(str(text).strip())
    if not match:
        raise ValueError(str(text))
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    if seconds >= 60 or (match.group(1) and minutes >= 60):
        raise ValueError(str(text))
    return float(hours * 3600 + minutes * 60 + seconds)


_NAME_HOLD = re.compile(
    r"^(?P<name>.*?\S)[\s,\-]*[(\[]?\s*(?:(?P<clock>\d{1,2}:\d{2}(?::\d{2})?)"
    r"|(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>s|sec|secs|seconds?|min|mins|minutes?))\s*[)\]]?$",
    re.IGNORECASE)


def hold_from_name(name: str) -> tuple[str, float | None]:
    """Split a hold written into an exercise name: ``"Plank 1:00"`` -> ``("Plank", 60)``,
    ``"Side plank (45s)"`` -> ``("Side plank", 45)``; other names are returned as they are.

    >>> hold_from_name("Plank 1:00")
    ('Plank', 60.0)
    >>> hold_from_name("Bird dog")
    ('Bird dog', None)
    """
    match = _NAME_HOLD.match(name.strip())
    if not match:
        return name.strip(), None
    if match.group("clock"):
        try:
            seconds = clock_seconds(match.group("clock"))
        except ValueError:  # "Plank 1:99" is not a hold: keep the name as typed
            return name.strip(), None
    else:
        seconds = float(match.group("num"))
        if match.group("unit").lower().startswith("m"):
            seconds *= 60
    if not seconds:
        return name.strip(), None
    return match.group("name").strip(), seconds


#: Local date-time layouts written by the apps (tried in order).
_DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
    "%d %b %Y, %H:%M", "%d %b %Y %H:%M", "%d %B %Y, %H:%M", "%d %b %Y, %H:%M:%S",
)


def local_datetime(text: object) -> str | None:
    """An app's local date-time -> ISO 8601 ``YYYY-MM-DDTHH:MM:SS`` (naive: local to the
    patient); ``None`` when it is not a date-time this module knows.

    >>> local_datetime("10 Feb 2024, 19:57")
    '2024-02-10T19:57:00'
    >>> local_datetime("2019-12-10 18:23:51")
    '2019-12-10T18:23:51'
    """
    if blank(text):
        return None
    value = re.sub(r"\s+", " ", str(text).strip())
    for layout in _DATETIME_FORMATS:
        try:
            return datetime.strptime(value, layout).isoformat(timespec="seconds")
        except ValueError:
            continue
    return None


def local_date(text: object) -> str | None:
    """``YYYY-MM-DD`` (FitNotes) -> the same ISO date; ``None`` if not a date."""
    if blank(text):
        return None
    try:
        return datetime.strptime(str(text).strip(), "%Y-%m-%d").date().isoformat()
    except ValueError:
        return None


_SET_TYPES: dict[str, str] = {
    "": "normal", "normal": "normal", "warmup": "warmup", "warm_up": "warmup",
    "w": "warmup", "failure": "failure", "f": "failure", "dropset": "dropset",
    "drop_set": "dropset", "d": "dropset",
}


def set_type_of(text: object) -> str | None:
    """An app's set type (``W``, ``D``, ``warmup``...) -> contract word, else ``None``."""
    word = re.sub(r"[\s\-]+", "_", str(text or "").strip().lower())
    return _SET_TYPES.get(word)


def reps_and_hold(reps: float | None, seconds: float | None
                  ) -> tuple[float | None, float | None, str | None]:
    """The contract's reading of an app's reps and time of one set.

    A timed set (time given, reps 0 or blank) is one repetition held that long. A set
    with both reps and a time keeps its reps; the time (which covers the whole set, not
    one repetition) goes to the notes. Returns ``(reps, hold_s, note)``.
    """
    if seconds is not None and seconds > 0:
        if reps is None or reps == 0:
            return 1.0, seconds, None
        return reps, None, f"set time {fmt_number(seconds)} s"
    return reps, None, None


def join_notes(*parts: object) -> str | None:
    kept = [str(p).strip() for p in parts if not blank(p)]
    return "; ".join(kept) if kept else None


class Positions:
    """Order of appearance of sets within a group (workout + exercise [+ set type])."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[object, ...]] = Counter()

    def next(self, *group: object) -> int:
        self._counts[group] += 1
        return self._counts[group]


# --------------------------------------------------------------------------- keys


def _source_app(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).split(":", 1)[0].strip().lower()


def _opt(value: object) -> object:
    """A cell as a plain, comparable Python value (``None`` when missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else round(value, 3)
    return str(value) if not isinstance(value, int) else value


def session_keys(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Natural keys of validated session rows (see :func:`analytics.validate.validate_table`).

    ``(patient, instant (UTC ns), exercise as typed, set_index, set_type, reps, hold_s,
    sets, side, source app)``; the source app is the part of ``source`` before ``:``
    (``strong:export.csv`` -> ``strong``), so a later export of the same app, under
    another file name, gives the same keys for the same sets. Every column of the key
    is a contract column, so two rows that the validator would call duplicates always
    share a key.
    """
    if frame.empty:
        return []
    return _keys(frame, "performed_at_utc", ("exercise", "set_index", "set_type", "reps",
                                             "hold_s", "sets", "side"))


def pain_keys(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Natural keys of validated pain rows: ``(patient, instant (UTC ns), pain, context,
    symptoms, source app)``."""
    if frame.empty:
        return []
    return _keys(frame, "reported_at_utc", ("pain", "context", "symptoms"))


def _keys(frame: pd.DataFrame, instant: str, columns: tuple[str, ...]
          ) -> list[tuple[object, ...]]:
    """Plain-Python key tuples (``None`` for missing values, so that keys compare equal:
    ``NaN != NaN`` would make every key with a blank cell unique)."""
    patients = [str(p) for p in frame["patient_id"].tolist()]
    instants = [int(t.value) for t in frame[instant].tolist()]
    values = [[_opt(v) for v in frame[c].tolist()] for c in columns]
    source = (frame["source"].tolist() if "source" in frame.columns
              else [None] * len(frame))
    apps = [_source_app(v) for v in source]
    return [(patients[i], instants[i], *(v[i] for v in values), apps[i])
            for i in range(len(frame))]


# --------------------------------------------------------------------------- classify


@dataclass(frozen=True)
class Candidates:
    """Rows of one table that passed linking and validation, ready to be appended.

    ``text`` holds the cells to write (contract columns, text), ``parsed`` the same rows
    as the validator parsed them (for typed tables such as Parquet) and ``keys`` their
    natural keys, all in the same order.
    """

    text: pd.DataFrame
    parsed: pd.DataFrame
    keys: tuple[tuple[object, ...], ...]
    lines: tuple[int, ...]


@dataclass(frozen=True)
class Classified:
    """:func:`classify`'s result: what may be appended and how the rest was counted."""

    sessions: Candidates
    pain: Candidates
    duplicates: int
    not_in_catalog: int
    rejects: tuple[Reject, ...]
    rejected: int
    not_in_catalog_names: tuple[tuple[str, int], ...]
    fuzzy_links: tuple[tuple[str, str, float], ...]


def classify(parsed: Parsed, patient_id: str, linker: Linker, *,
             timezones: Mapping[str, str] | None = None,
             now: pd.Timestamp | None = None) -> Classified:
    """Link, validate and de-duplicate (within the file) the rows of ``parsed``.

    Session rows whose name does not link to a catalog exercise are ``not_in_catalog``
    (counted and listed by name, never imported); rows failing a contract rule are
    rejected with the validator's reason; rows repeating an earlier row of the same
    file are duplicates. Duplicates of rows already in the data folder are found later,
    under the folder's lock (:mod:`analytics.appendlog`).
    """
    sessions = parsed.sessions.assign(patient_id=patient_id)
    names = sessions["exercise"]
    links = {n: linker.link_name(n) for n in names.dropna().unique()}
    linked = names.map(lambda n: links.get(n, (None,))[0] is not None if n else False)
    missing = sessions[~linked.astype(bool)]
    counts = Counter(str(n) if n is not None else "" for n in missing["exercise"])
    not_in_catalog_names = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    fuzzy = tuple(sorted({(str(n), str(v[0]), float(v[2])) for n, v in links.items()
                          if v[1] == "fuzzy"}))

    rejects = list(parsed.rejects)
    duplicates = 0
    results: dict[str, Candidates] = {}
    for spec, frame in ((SESSIONS, sessions[linked.astype(bool)]),
                        (PAIN, parsed.pain.assign(patient_id=patient_id))):
        candidates, dup, bad = validate_rows(spec.name, frame, parsed.file,
                                             timezones=timezones, now=now)
        results[spec.name] = candidates
        duplicates += dup
        rejects.extend(bad)
    rejects.sort(key=lambda r: r.line)
    return Classified(
        sessions=results["sessions"], pain=results["pain"], duplicates=duplicates,
        not_in_catalog=len(missing), rejects=tuple(rejects),
        rejected=len({r.line for r in rejects}),
        not_in_catalog_names=not_in_catalog_names, fuzzy_links=fuzzy)


def validate_rows(table: str, frame: pd.DataFrame, file: str, *,
                  timezones: Mapping[str, str] | None = None,
                  now: pd.Timestamp | None = None) -> tuple[Candidates, int, list[Reject]]:
    """Check new rows of ``table`` (``sessions`` or ``pain``) with the loader's rules.

    ``frame`` holds the table's columns as text (``patient_id`` included) and ``_line``.
    Returns the rows that pass (first of each natural key), how many repeated an earlier
    row, and the problems of the others.
    """
    spec = SESSIONS if table == "sessions" else PAIN
    columns = spec.column_names if table == "sessions" else PAIN_HEADER
    text = valid_text_frame(frame.reset_index(drop=True)[list(columns)])
    raw_frame = text.assign(_row=range(len(text)), _line=frame["_line"].to_numpy())
    raw = RawTable(table, file, raw_frame, header=tuple(columns))
    checked = validate_table(raw, spec, timezones=timezones, now=now)
    bad: list[Reject] = []
    dup_lines: set[int] = set()
    for line, group in checked.rejects.groupby("line", sort=True):
        reasons = list(group["reason"].astype(str))
        if all(_DUPLICATE_REASON.match(r) for r in reasons):
            dup_lines.add(int(line))
            continue
        bad.extend(Reject(int(line), str(r.column), str(r.value), str(r.reason))
                   for r in group.itertuples(index=False))
    good = checked.frame
    rows = good["_row"].astype(int).tolist() if len(good) else []
    keys = session_keys(good) if table == "sessions" else pain_keys(good)
    # Rows with the same key as an earlier row are duplicates too (the key leaves out
    # notes, rpe and the file name in ``source``, which the whole-row check compares).
    seen: set[tuple[object, ...]] = set()
    keep: list[int] = []
    for i, key in enumerate(keys):
        if key in seen:
            continue
        seen.add(key)
        keep.append(i)
    duplicates = len(dup_lines) + (len(keys) - len(keep))
    parsed_rows = good.iloc[keep].reset_index(drop=True)
    text_rows = text.iloc[[rows[i] for i in keep]].reset_index(drop=True)
    candidates = Candidates(
        text=text_rows, parsed=parsed_rows, keys=tuple(keys[i] for i in keep),
        lines=tuple(int(v) for v in parsed_rows["line"]) if len(parsed_rows) else ())
    return candidates, duplicates, bad
