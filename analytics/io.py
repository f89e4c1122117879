"""Reading a data folder's table files into raw text frames with their line numbers.

This module only reads: it turns ``NAME.csv`` / ``NAME.parquet`` / ``NAME.xlsx`` into a
:class:`RawTable` whose cells are still as written (strings for CSV), with the line on
which each record starts as a person counts lines in the file (header = line 1). It
decides encoding and delimiter, canonicalises column names, and rejects records whose
field count does not match the header (with their line). Parsing values is the job of
:mod:`analytics.validate`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analytics.errors import DataFileError

#: File extensions tried for each table, in order of preference.
EXTENSIONS: tuple[str, ...] = (".parquet", ".csv", ".xlsx")

#: Encodings tried in order; the last one is a legacy single-byte Windows encoding
#: (a superset of Latin-1 for printable text) used before giving up.
_TEXT_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252", "latin-1")

_COLUMN_SEP = re.compile(r"[\s\-]+")


def canonical_column(name: object) -> str:
    """Column names are matched case- and space-insensitively: ``"Performed At"`` ->
    ``"performed_at"``.

    >>> canonical_column(" Performed  At ")
    'performed_at'
    """
    text = str(name).replace("\ufeff", "").strip().lower()
    return _COLUMN_SEP.sub("_", text)


@dataclass(frozen=True)
class RawReject:
    """A record that could not even be split into the header's columns."""

    line: int
    value: str
    reason: str


@dataclass(frozen=True)
class RawTable:
    """One table file as read, before any value is parsed.

    Attributes
    ----------
    name : str
        Table name (``sessions``...).
    file : str | None
        File name as shown to users (``sessions.csv``); ``None`` when absent.
    frame : pandas.DataFrame
        One row per well-formed record, canonical column names, plus ``_line`` (int,
        the record's first line in the file).
    decimal_comma : bool
        True for ``;``-separated files, where ``3,5`` means 3.5.
    raw_rejects : tuple[RawReject, ...]
        Records rejected while splitting (wrong number of fields).
    header : tuple[str, ...]
        The canonical column names the file itself has (before missing contract
        columns were added).
    read : int
        Records read (= ``len(frame) + len(raw_rejects)``).
    """

    name: str
    file: str | None
    frame: pd.DataFrame
    decimal_comma: bool = False
    raw_rejects: tuple[RawReject, ...] = field(default_factory=tuple)
    header: tuple[str, ...] = ()

    @property
    def read(self) -> int:
        return len(self.frame) + len(self.raw_rejects)


def find_table_file(folder: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``folder`` (``name.parquet|csv|xlsx``), if any.

    More than one candidate is an error: which one is meant is unknowable.
    """
    found = [folder / f"{name}{ext}" for ext in EXTENSIONS if (folder / f"{name}{ext}").is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataFileError(found[0].name, f"several files hold the {name} table ({names}); "
                            "keep only one")
    return found[0] if found else None


def read_table(folder: Path, name: str, columns: tuple[str, ...]) -> RawTable:
    """Read table ``name`` from ``folder``; an absent file gives an empty table.

    ``columns`` are the contract's columns: they are added (empty) when missing so that
    an absent or header-only table still has all its columns.
    """
    path = find_table_file(folder, name)
    if path is None:
        return RawTable(name, None, _empty(columns))
    if path.suffix == ".parquet":
        table = _read_parquet(path, name)
    elif path.suffix == ".xlsx":
        table = _read_xlsx(path, name)
    else:
        table = _read_csv(path, name)
    frame = table.frame
    header = tuple(c for c in frame.columns if c != "_line")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        frame = frame.assign(**{c: pd.Series([None] * len(frame), dtype=object,
                                             index=frame.index) for c in missing})
    return RawTable(name, table.file, frame, table.decimal_comma, table.raw_rejects, header)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    data: dict[str, pd.Series] = {c: pd.Series([], dtype=object) for c in columns}
    data["_line"] = pd.Series([], dtype="int64")
    return pd.DataFrame(data)


def _check_header(columns: list[str], file: str) -> list[str]:
    canon = [canonical_column(c) for c in columns]
    if any(c == "" for c in canon):
        raise DataFileError(file, "the header has an empty column name")
    seen: dict[str, str] = {}
    for raw, c in zip(columns, canon, strict=True):
        if c in seen:
            raise DataFileError(file, f"the header names column {c!r} twice ({seen[c]!r} "
                                      f"and {raw!r}); which one is meant is unknowable")
        seen[c] = str(raw)
    if "_line" in canon:
        raise DataFileError(file, "the header uses the reserved column name '_line'")
    return canon


def decode_text(data: bytes, file: str) -> str:
    """Decode file bytes: UTF-8 (with or without BOM), UTF-16 with a BOM, then a legacy
    encoding (cp1252, then Latin-1); binary content is a :class:`DataFileError`."""
    if not data:
        raise DataFileError(file, "the file is empty (0 bytes)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataFileError(file, "the file starts like UTF-16 text but cannot be decoded"
                                ) from exc
    if b"\x00" in data[:4096] or data.startswith((b"PK\x03\x04", b"PAR1", b"\x1f\x8b")):
        raise DataFileError(file, "the file is binary, not text (is it a spreadsheet or an "
                                  "archive saved with the wrong extension?)")
    for encoding in _TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        return text
    raise DataFileError(file, "the file is not readable text (tried UTF-8, UTF-16, "
                              "Windows-1252 and Latin-1)")


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return control / len(sample) > 0.05


def _sniff_delimiter(text: str) -> str:
    """``,`` or ``;`` (or tab), judged by which occurs most in the header line outside
    quotes."""
    header = text.split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, name: str) -> RawTable:
    file = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFileError(file, f"cannot be read ({exc.strerror})") from exc
    text = decode_text(data, file)
    if not text.strip():
        raise DataFileError(file, "the file holds no header line (only blank space)")
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        while header == []:
            header = next(reader)
    except csv.Error as exc:
        raise DataFileError(file, f"the header line cannot be read ({exc})") from exc
    columns = _check_header(header, file)
    width = len(columns)
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects: list[RawReject] = []
    last_line = reader.line_num
    try:
        for record in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not record or all(cell.strip() == "" for cell in record):
                continue  # blank line: not a record
            if len(record) > width and all(c.strip() == "" for c in record[width:]):
                record = record[:width]
            if len(record) != width:
                shown = delimiter.join(record)
                problem = "too few" if len(record) < width else "too many"
                rejects.append(RawReject(start, shown[:200], f"{problem} fields: the row has "
                                         f"{len(record)}, the header has {width} (a cut-off "
                                         "line or an unquoted separator inside a value?)"))
                continue
            rows.append(record)
            lines.append(start)
    except csv.Error as exc:
        rejects.append(RawReject(last_line + 1, "", f"unreadable CSV from here on ({exc})"))
    if rows and lines[-1] == start and _unterminated(text, start, delimiter):
        # An opening quote that is never closed swallows the rest of the file into one
        # value: reject that record rather than load other rows as its text.
        shown = delimiter.join(rows.pop())[:200]
        first = lines.pop()
        span = f"lines {first} to {last_line}" if last_line > first else f"line {first}"
        rejects.append(RawReject(first, shown, f"a quote opened on line {first} is never "
                                 f"closed, so {span} could not be read as rows"))
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame["_line"] = pd.Series(lines, dtype="int64")
    return RawTable(name, file, frame, delimiter == ";", tuple(rejects))


def _unterminated(text: str, first_line: int, delimiter: str) -> bool:
    """True when the record starting on ``first_line`` opens a quote that is never
    closed (strict CSV parsing of the rest of the file hits the end inside quotes)."""
    if '"' not in text:
        return False
    tail = "".join(io.StringIO(text, newline="").readlines()[first_line - 1:])
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _read_parquet(path: Path, name: str) -> RawTable:
    file = path.name
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types; all mean "unusable file"
        raise DataFileError(file, f"is not a readable Parquet file ({type(exc).__name__})"
                            ) from exc
    frame.columns = _check_header([str(c) for c in frame.columns], file)
    frame = frame.reset_index(drop=True)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = _decoded(frame[column])
    # A Parquet row has no text line; report its 1-based row number instead (+1 so that
    # the numbers match a CSV export of the same table, whose line 1 is the header).
    frame["_line"] = pd.RangeIndex(2, len(frame) + 2).to_numpy(dtype="int64")
    return RawTable(name, file, frame)


def _decoded(values: pd.Series) -> pd.Series:
    """A Parquet ``binary`` column's bytes as text (UTF-8; bytes that are not valid
    UTF-8 become U+FFFD, so the row is still loaded or rejected on its merits)."""
    is_bytes = values.map(lambda v: isinstance(v, bytes | bytearray)).astype(bool)
    if not is_bytes.any():
        return values
    text = values[is_bytes].map(lambda b: bytes(b).decode("utf-8", errors="replace"))
    return values.where(~is_bytes, text)


def _read_xlsx(path: Path, name: str) -> RawTable:
    file = path.name
    try:
        frame = pd.read_excel(path, dtype=object, sheet_name=0)
    except ImportError as exc:
        raise DataFileError(file, "reading .xlsx needs the optional package openpyxl "
                                  "(pip install 'spine-adherence-analytics[xlsx]')") from exc
    except Exception as exc:
        raise DataFileError(file, f"is not a readable Excel workbook ({type(exc).__name__})"
                            ) from exc
    frame.columns = _check_header([str(c) for c in frame.columns], file)
    frame = frame.dropna(how="all")
    frame["_line"] = (frame.index.to_numpy() + 2).astype("int64")
    frame = frame.reset_index(drop=True)
    return RawTable(name, file, frame)
