"""Appending to a data folder safely: imports and ``adherence log`` entries.

This is the only module of the import/log/export features that writes to a data
folder. Every append:

1. takes the folder's lock, a :class:`filelock.FileLock` on ``DIR/.adherence.lock``, so
   that several processes appending at once (two imports, a log while an import runs)
   are serialised and nobody's rows are lost;
2. reads the current table and the natural keys of its rows
   (:func:`analytics.importers.common.session_keys` / ``pain_keys``), so that rows already
   present are counted as duplicates and not appended again: importing the same file
   twice adds nothing, a later export that overlaps an earlier one adds only new rows;
3. writes the whole table to a temporary file beside it and renames it into place
   (:func:`analytics.fsutil.atomic_path`), so readers see the old table or the new one,
   never a partial one.

Where rows go: ``sessions.csv`` / ``pain.csv``, created with the contract header if
absent (the pain table gets an extra ``source`` column); if the folder holds the table
as ``.parquet``, rows are appended to that file (typed like its columns). Appending to an
``.xlsx`` table is refused (save it as CSV first). In an existing CSV the file's own
delimiter, line ending and column order are kept, existing records are kept as they are
(even ones the loader rejects), and contract columns the file lacks but new rows fill
(``set_index``, ``set_type``, ``source``) are added at the end of the header. The file is
written as UTF-8 (with a byte-order mark if it had one).

Spreadsheet formulas: free text that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return, and not a number) is written with a
leading ``'`` (:func:`analytics.textfmt.neutralise_formula`): a logged note
``=HYPERLINK("http://x")`` is stored, and loads back, as ``'=HYPERLINK("http://x")``.
The neutralised text is what is validated, keyed and written, so importing the same file
again still finds its rows as duplicates, and linking ignores the ``'`` (``'=plank`` is
the plank). Patient ids are identifiers that must match the patients table, so a
formula-like ``--patient`` is refused rather than changed. Values that are validated to
a number, word list or timestamp are written in canonical form and cannot start a
formula.

Interrupted writers: a process killed while appending leaves at most a temporary file
(``.sessions.csv.XXXX.tmp``) beside the table; the next append, holding the lock, removes
such leftovers of the tables it writes.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from filelock import FileLock, Timeout

from analytics.catalog import Catalog, load_catalog
from analytics.dataset import ALIASES
from analytics.errors import AnalyticsError, DataFileError
from analytics.fsutil import atomic_path, remove_stale_temporaries
from analytics.importers.common import (
    PAIN_HEADER,
    Candidates,
    Classified,
    Parsed,
    Reject,
    classify,
    fmt_number,
    pain_keys,
    session_keys,
    sniff_delimiter,
    validate_rows,
)
from analytics.io import canonical_column, decode_text, find_table_file, read_table
from analytics.link import Linker
from analytics.schema import PAIN, PATIENTS, SESSIONS, Table
from analytics.textfmt import is_formula_like, neutralise_formula, valid_text_frame
from analytics.validate import as_text, validate_table

#: The lock file inside a data folder.
LOCK_NAME = ".adherence.lock"
#: Seconds to wait for another process's append before giving up.
LOCK_TIMEOUT_S: float = 120.0

#: Columns ``adherence log`` writes in canonical form (parsed, then written back).
_CANONICAL_TEXT: dict[str, tuple[str, ...]] = {
    "sessions": ("sets", "reps", "hold_s", "side", "rpe"),
    "pain": ("pain", "context", "symptoms"),
}
_SPECS: dict[str, Table] = {"sessions": SESSIONS, "pain": PAIN}
#: Free-text columns of appended rows: neutralised against spreadsheet formulas before
#: they are validated, keyed and written (see the module docstring).
_FREE_TEXT: dict[str, tuple[str, ...]] = {"sessions": ("exercise", "notes", "source"),
                                          "pain": ("notes", "source")}
_HEADERS: dict[str, tuple[str, ...]] = {"sessions": SESSIONS.column_names, "pain": PAIN_HEADER}


class DuplicateEntryError(AnalyticsError):
    """``adherence log`` was given an entry identical to one already in the folder."""


class EntryValueError(AnalyticsError):
    """A value given to ``adherence log`` breaks a data-contract rule.

    Attributes
    ----------
    column : str
        The contract column (``reps``, ``performed_at``...).
    value : str
        The value as given.
    reason : str
        The validator's reason.
    """

    def __init__(self, column: str, value: str, reason: str) -> None:
        self.column, self.value, self.reason = column, value, reason
        super().__init__(f"{column} {value!r}: {reason}" if value else f"{column}: {reason}")


@contextlib.contextmanager
def folder_lock(folder: str | Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the data folder's lock (``DIR/.adherence.lock``) for the ``with`` block."""
    lock = FileLock(str(Path(folder) / LOCK_NAME), timeout=timeout)
    try:
        with lock:
            yield
    except Timeout:
        raise AnalyticsError(f"{folder}: another process has been writing to this data "
                             f"folder for over {timeout:g} s; try again later") from None


# --------------------------------------------------------------------------- folder


@dataclass(frozen=True)
class FolderContext:
    """What appending needs to know about a data folder: time zones, known patients
    (``None`` without a patients table) and the linker (catalog + ``aliases.csv``)."""

    folder: Path
    timezones: Mapping[str, str]
    known_patients: frozenset[str] | None
    linker: Linker

    def timezone(self, patient_id: str) -> str:
        return self.timezones.get(patient_id, "UTC")


def folder_context(folder: str | Path, patient_id: str, *, catalog: Catalog | None = None,
                   now: pd.Timestamp | None = None, create: bool = True) -> FolderContext:
    """Read the folder's patients and aliases; create the folder if ``create``.

    Raises
    ------
    DataFileError
        The path is a file, or a patients/aliases table cannot be read.
    AnalyticsError
        ``patient_id`` is empty, or the folder has a patients table without it.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise DataFileError(str(path), "is a file, not a data folder")
    if not path.exists():
        if not create:
            raise DataFileError(str(path), "no such data folder")
        path.mkdir(parents=True)
    if not patient_id or not patient_id.strip():
        raise AnalyticsError("--patient is empty")
    if is_formula_like(patient_id.strip()):
        raise AnalyticsError(f"patient id {patient_id!r} starts with "
                             f"{patient_id.strip()[0]!r}, which spreadsheet programs run as "
                             "a formula; use an id that starts with a letter or a digit")
    raw = read_table(path, "patients", PATIENTS.column_names)
    if raw.file is not None and "patient_id" not in raw.header:
        raise DataFileError(raw.file, "missing required column(s): patient_id")
    patients = validate_table(raw, PATIENTS, now=now).frame
    timezones = dict(zip(patients["patient_id"].astype(str), patients["timezone"].astype(str),
                         strict=True))
    known = frozenset(timezones) if raw.file is not None else None
    if known is not None and patient_id not in known:
        raise AnalyticsError(f"unknown patient {patient_id!r}: {raw.file} does not list them "
                             "(add them there first)")
    catalog = catalog or load_catalog()
    return FolderContext(path, timezones, known,
                         Linker.from_catalog(catalog, _user_aliases(path, catalog, now)))


def _user_aliases(folder: Path, catalog: Catalog, now: pd.Timestamp | None) -> dict[str, str]:
    """``aliases.csv`` rows whose id exists in the catalog (as :func:`analytics.load`)."""
    raw = read_table(folder, "aliases", ALIASES.column_names)
    if raw.file is None or not {"name", "exercise_id"} <= set(raw.header):
        return {}
    frame = validate_table(raw, ALIASES, now=now).frame
    ids = as_text(frame["exercise_id"])
    good = ids.isin(list(catalog.ids()))
    return dict(zip(frame.loc[good, "name"], ids[good], strict=True))


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportResult:
    """Counts of one import; ``read == imported + duplicates + not_in_catalog + skipped +
    rejected``."""

    format: str
    variant: str
    file: str
    patient_id: str
    read: int
    imported: int
    duplicates: int
    not_in_catalog: int
    skipped: int
    rejected: int
    rejects: tuple[Reject, ...]
    not_in_catalog_names: tuple[tuple[str, int], ...]
    fuzzy_links: tuple[tuple[str, str, float], ...] = ()
    written: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_status(self) -> int:
        """0 when nothing was rejected, 1 otherwise."""
        return 1 if self.rejected else 0

    def to_json(self) -> dict[str, object]:
        """The ``adherence import --json`` object."""
        return {
            "format": self.format, "read": self.read, "imported": self.imported,
            "duplicates": self.duplicates, "not_in_catalog": self.not_in_catalog,
            "skipped": self.skipped, "rejected": self.rejected,
            "rejects": [r.to_json() for r in self.rejects],
            "not_in_catalog_names": [{"name": n, "count": c}
                                     for n, c in self.not_in_catalog_names],
        }


def import_parsed(folder: str | Path, parsed: Parsed, patient_id: str, *,
                  catalog: Catalog | None = None,
                  now: pd.Timestamp | None = None) -> ImportResult:
    """Append the rows of ``parsed`` to ``folder`` for ``patient_id`` (see the module
    docstring); returns the counts."""
    patient_id = patient_id.strip()
    ctx = folder_context(folder, patient_id, catalog=catalog, now=now)
    parsed = dataclasses.replace(parsed, sessions=valid_text_frame(parsed.sessions),
                                 pain=valid_text_frame(parsed.pain))
    safe = dataclasses.replace(parsed, sessions=_neutralised(parsed.sessions, "sessions"),
                               pain=_neutralised(parsed.pain, "pain"))
    classified = _as_typed(classify(safe, patient_id, ctx.linker, timezones=ctx.timezones,
                                    now=now), parsed)
    written: list[str] = []
    appended = {"sessions": 0, "pain": 0}
    duplicates = classified.duplicates
    with folder_lock(ctx.folder):
        targets = {t: c for t, c in (("sessions", classified.sessions),
                                     ("pain", classified.pain)) if len(c.keys)}
        for table in targets:
            _check_writable(ctx.folder, table)
            _remove_leftovers(ctx.folder, table)
        for table, candidates in targets.items():
            added, file = _append(ctx, table, candidates)
            appended[table] = added
            duplicates += len(candidates.keys) - added
            if file:
                written.append(file)
    result = ImportResult(
        format=parsed.format, variant=parsed.variant, file=parsed.file, patient_id=patient_id,
        read=parsed.read, imported=appended["sessions"] + appended["pain"],
        duplicates=duplicates, not_in_catalog=classified.not_in_catalog,
        skipped=parsed.skipped, rejected=classified.rejected, rejects=classified.rejects,
        not_in_catalog_names=classified.not_in_catalog_names,
        fuzzy_links=classified.fuzzy_links, written=tuple(written))
    total = (result.imported + result.duplicates + result.not_in_catalog + result.skipped
             + result.rejected)
    if total != result.read:  # a programming error: every record is counted once
        raise AssertionError(f"{parsed.file}: read {result.read} but counted {total}")
    return result


def _neutralised(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` with its free-text cells neutralised against spreadsheet formulas."""
    out = frame.copy()
    for column in _FREE_TEXT[table]:
        if column in out.columns:
            out[column] = out[column].map(neutralise_formula).astype(object)
    return out


def _as_typed(classified: Classified, parsed: Parsed) -> Classified:
    """``classified`` with the exercise names it lists shown as typed in the file (not
    neutralised: ``=x``, not ``'=x``); they are messages, not written cells."""
    typed = {neutralise_formula(n): n for n in parsed.sessions["exercise"].dropna()
             if isinstance(n, str)}
    return dataclasses.replace(
        classified,
        not_in_catalog_names=tuple((typed.get(n, n), c)
                                   for n, c in classified.not_in_catalog_names),
        fuzzy_links=tuple((typed.get(n, n), i, s) for n, i, s in classified.fuzzy_links))


def _remove_leftovers(folder: Path, table: str) -> None:
    """Remove temporary files that a killed writer left beside ``table``'s file. Only
    called while holding the folder's lock: every appender of the table holds it, so no
    such temporary belongs to a live writer."""
    remove_stale_temporaries(folder, [f"{table}{ext}" for ext in (".csv", ".parquet")],
                             older_than_s=0)


# --------------------------------------------------------------------------- log


@dataclass(frozen=True)
class LogResult:
    """What ``adherence log`` appended: the rows as written (canonical text), the same
    rows as the loader reads them (``parsed_session``/``parsed_pain``: local time,
    numbers) and the linked exercise."""

    session: dict[str, object]
    pain: dict[str, object] | None
    exercise_id: str
    written: tuple[str, ...]
    parsed_session: dict[str, object] = field(default_factory=dict)
    parsed_pain: dict[str, object] | None = None


def log_entry(folder: str | Path, patient_id: str, exercise: str, *,
              sets: str | None = None, reps: str | None = None, hold: str | None = None,
              side: str | None = None, rpe: str | None = None, notes: str | None = None,
              pain: str | None = None, context: str | None = None,
              symptoms: str | None = None, at: str | None = None,
              catalog: Catalog | None = None, now: pd.Timestamp | None = None) -> LogResult:
    """Append one session row (and one pain row when ``pain`` is given) for a patient.

    Values are text as typed and are checked with :func:`analytics.validate.validate_table`
    (the loader's rules: ``hold`` ``30s``/``0:30``, ``pain`` ``4`` or ``4/10``...). ``at``
    (ISO 8601; naive = the patient's local time) defaults to now, to the second. The pain
    report gets the same time and context ``after_session`` unless ``context`` says
    otherwise. The source of both rows is ``log``.

    Raises
    ------
    EntryValueError
        A value breaks a rule, or the exercise is not in the catalog.
    DuplicateEntryError
        The folder already holds an identical entry (same natural key).
    """
    patient_id = patient_id.strip()
    ctx = folder_context(folder, patient_id, catalog=catalog, now=now)
    tz = ctx.timezone(patient_id)
    if at is None or not at.strip():
        clock = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
        clock = clock.tz_localize("UTC") if clock.tzinfo is None else clock
        at = clock.tz_convert(tz).tz_localize(None).floor("s").isoformat()
    at = at.strip()
    name = exercise.strip()
    exercise_id = ctx.linker.link_name(name)[0]
    if exercise_id is None:
        hints = ", ".join(repr(s["name"]) for s in ctx.linker.suggestions(name))
        raise EntryValueError("exercise", name, "not in the exercise catalog (see `adherence "
                              "catalog`)" + (f"; did you mean {hints}?" if hints else ""))
    session = {"patient_id": patient_id, "performed_at": at,
               "exercise": neutralise_formula(name), "sets": sets, "reps": reps,
               "hold_s": hold, "side": side, "rpe": rpe, "notes": _free_text(notes),
               "set_index": None, "set_type": None, "source": "log", "_line": 1}
    session_rows = _checked("sessions", session, ctx, now)
    pain_rows = None
    pain_row: dict[str, object] | None = None
    if pain is not None:
        pain_row = {"patient_id": patient_id, "reported_at": at, "pain": pain,
                    "context": context or "after_session", "symptoms": symptoms,
                    "notes": None, "source": "log", "_line": 1}
        pain_rows = _checked("pain", pain_row, ctx, now)
    elif context is not None or symptoms is not None:
        raise EntryValueError("context", "", "--context and --symptoms describe a pain report: "
                                          "give --pain too")
    written: list[str] = []
    with folder_lock(ctx.folder):
        _check_writable(ctx.folder, "sessions")
        _remove_leftovers(ctx.folder, "sessions")
        if pain_rows is not None:
            _check_writable(ctx.folder, "pain")
            _remove_leftovers(ctx.folder, "pain")
        existing = _existing_keys(ctx, "sessions")
        if session_rows.keys[0] in existing:
            where = existing[session_rows.keys[0]]
            raise DuplicateEntryError(
                f"not logged: {where[0]} line {where[1]} already holds this entry ({name} at "
                f"{at} for {patient_id}); nothing was written")
        written.append(_append(ctx, "sessions", session_rows, existing)[1])
        if pain_rows is not None:
            added, file = _append(ctx, "pain", pain_rows)
            if added:
                written.append(file)
    return LogResult(_written(session_rows),
                     _written(pain_rows) if pain_rows is not None else None,
                     str(exercise_id), tuple(written),
                     _plain(session_rows.parsed),
                     _plain(pain_rows.parsed) if pain_rows is not None else None)


def _free_text(value: str | None) -> str | None:
    """A typed free-text value as it is written: stripped (the loader strips cells too),
    then neutralised against spreadsheet formulas."""
    return None if value is None else neutralise_formula(value.strip())


def _written(candidates: Candidates) -> dict[str, object]:
    """The first candidate row as written to the table (text; ``None`` when blank)."""
    row = candidates.text.iloc[0].to_dict()
    return {k: (None if _missing(v) else v) for k, v in row.items()}


def _plain(frame: pd.DataFrame) -> dict[str, object]:
    """The first row of a validated frame as plain values (``None`` when missing)."""
    row = frame.iloc[0].to_dict()
    return {k: (None if _missing(v) or v is pd.NaT else v) for k, v in row.items()}


def _checked(table: str, row: dict[str, object], ctx: FolderContext,
             now: pd.Timestamp | None) -> Candidates:
    """Validate one typed row; return it with its values written the canonical way
    (``4/10`` -> ``4``, ``30s`` -> ``30``, ``Left`` -> ``left``)."""
    frame = pd.DataFrame({k: pd.Series([v], dtype=object if k != "_line" else "int64")
                          for k, v in row.items()})
    candidates, _, rejects = validate_rows(table, frame, f"{table} entry",
                                           timezones=ctx.timezones, now=now)
    if rejects:
        r = rejects[0]
        raise EntryValueError(r.column, r.value, r.reason)
    parsed = _plain(candidates.parsed)
    text = candidates.text.copy()
    for column in _CANONICAL_TEXT[table]:
        value = parsed.get(column)
        if isinstance(value, int | float) and not isinstance(value, bool):
            text.loc[0, column] = fmt_number(value)
        elif value is not None:
            text.loc[0, column] = str(value)
    return dataclasses.replace(candidates, text=text)


# --------------------------------------------------------------------------- writing


def _check_writable(folder: Path, table: str) -> None:
    path = find_table_file(folder, table)
    if path is not None and path.suffix == ".xlsx":
        raise DataFileError(path.name, f"appending to an Excel workbook is not supported; "
                                       f"save it as {table}.csv (or .parquet) first")


def _existing_keys(ctx: FolderContext, table: str) -> dict[tuple[object, ...], tuple[str, int]]:
    """Natural keys of the rows the loader accepts in the folder's table -> (file, line)."""
    spec = _SPECS[table]
    raw = read_table(ctx.folder, table, spec.column_names)
    if raw.file is None:
        return {}
    missing = [c for c in spec.required if c not in raw.header]
    if missing:
        raise DataFileError(raw.file, "missing required column(s): " + ", ".join(missing)
                            + " (nothing was appended)")
    frame = validate_table(raw, spec, timezones=ctx.timezones,
                           known_patients=ctx.known_patients).frame
    keys = session_keys(frame) if table == "sessions" else pain_keys(frame)
    found: dict[tuple[object, ...], tuple[str, int]] = {}
    for key, line in zip(keys, frame["line"].astype(int), strict=True):
        found.setdefault(key, (raw.file, int(line)))
    return found


def _append(ctx: FolderContext, table: str, candidates: Candidates,
            existing: Mapping[tuple[object, ...], object] | None = None) -> tuple[int, str]:
    """Append the candidates not already present; return (rows appended, file name)."""
    if existing is None:
        existing = _existing_keys(ctx, table)
    keep = [i for i, key in enumerate(candidates.keys) if key not in existing]
    path = find_table_file(ctx.folder, table)
    name = path.name if path is not None else f"{table}.csv"
    if not keep:
        return 0, name
    text = candidates.text.iloc[keep].reset_index(drop=True)
    if path is None:
        _write_new_csv(ctx.folder / name, _HEADERS[table], text)
    elif path.suffix == ".parquet":
        _append_parquet(path, candidates.parsed.iloc[keep].reset_index(drop=True), text)
    else:
        _append_csv(path, text)
    return len(keep), name


def _cells(frame: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    """The CSV cells of new rows. Free text was neutralised before validation and other
    values are canonical; neutralising every cell again is a safety net that changes
    nothing in those."""
    rows: list[list[str]] = []
    for record in frame.to_dict(orient="records"):
        rows.append(["" if _missing(record.get(c)) else neutralise_formula(str(record.get(c)))
                     for c in columns])
    return rows


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and value != value


def _write_new_csv(path: Path, header: tuple[str, ...], rows: pd.DataFrame) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(_cells(rows, list(header)))
    with atomic_path(path, durable=True) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _append_csv(path: Path, rows: pd.DataFrame) -> None:
    data = path.read_bytes()
    text = decode_text(data, path.name)
    bom = data.startswith(codecs.BOM_UTF8) or data.startswith((b"\xff\xfe", b"\xfe\xff"))
    text = text.lstrip("\ufeff")
    delimiter = sniff_delimiter(text)
    first_end = text.find("\n")
    newline = "\r\n" if first_end > 0 and text[first_end - 1] == "\r" else "\n"
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise DataFileError(path.name, f"cannot be appended to: it is not readable CSV ({exc})"
                                       "; nothing was appended") from exc
    head_at = next((i for i, r in enumerate(records) if r), None)
    if head_at is None:
        raise DataFileError(path.name, "holds no header line; nothing was appended")
    header = records[head_at]
    canon = [canonical_column(h) for h in header]
    extra = [c for c in rows.columns if c not in canon and rows[c].map(
        lambda v: not _missing(v) and str(v) != "").any()]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    if extra:
        # Re-serialise the existing records with empty cells for the new columns (a record
        # the loader rejects for its field count keeps the same mismatch).
        for i, record in enumerate(records):
            if i < head_at or not record:
                writer.writerow(record)
            elif i == head_at:
                writer.writerow(header + extra)
            else:
                writer.writerow(record + [""] * len(extra))
        prefix = ""
    else:
        # Keep the existing text exactly; only make sure it ends with a line break.
        prefix = text if not text or text.endswith(("\n", "\r")) else text + newline
    writer.writerows(_cells(rows, canon + extra))
    body = prefix + buffer.getvalue()
    with atomic_path(path, durable=True) as tmp:
        tmp.write_bytes(body.encode("utf-8-sig" if bom else "utf-8"))


def _append_parquet(path: Path, parsed: pd.DataFrame, text: pd.DataFrame) -> None:
    try:
        old = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types; all mean "unusable file"
        raise DataFileError(path.name, f"is not a readable Parquet file ({type(exc).__name__}"
                                       "); nothing was appended") from exc
    names = {canonical_column(c): c for c in old.columns}
    new = pd.DataFrame(index=range(len(text)))
    for column in text.columns:
        target = names.get(column, column)
        new[target] = _typed(column, old[target] if target in old.columns else None,
                             parsed, text)
    combined = pd.concat([old, new], ignore_index=True)
    with atomic_path(path, durable=True) as tmp:
        combined.to_parquet(tmp, index=False)


def _typed(column: str, old: pd.Series | None, parsed: pd.DataFrame,
           text: pd.DataFrame) -> pd.Series:
    """New values for one Parquet column, typed like the existing column."""
    raw = text[column].astype(object).where(text[column].notna(), None)
    if old is None or column not in parsed.columns:
        return raw
    value = parsed[column]
    if pd.api.types.is_datetime64_any_dtype(old.dtype):
        tz = getattr(old.dtype, "tz", None)
        if tz is not None:
            return parsed[f"{column}_utc"].dt.tz_convert(tz).astype(old.dtype)
        return value.astype(old.dtype)
    if pd.api.types.is_numeric_dtype(old.dtype) and pd.api.types.is_numeric_dtype(value.dtype):
        with contextlib.suppress(TypeError, ValueError):
            return value.astype(old.dtype)
        if pd.api.types.is_integer_dtype(old.dtype):  # blanks in an int column: nullable
            with contextlib.suppress(TypeError, ValueError):
                return value.astype("Int64")
        return value.astype("float64")
    return raw
