"""Importers: workout-app exports (Strong, Hevy, FitNotes) and FHIR pain scores.

Each format module has ``looks_like`` (is this header/content mine?) and ``parse``
(text -> :class:`~analytics.importers.common.Parsed`); :func:`parse_file` reads a file,
detects the format when asked (``auto``) and dispatches. Parsers are pure: they only
read. Linking, validation and the natural key live in :mod:`analytics.importers.common`;
appending to a data folder is :mod:`analytics.appendlog`'s job.
"""

from __future__ import annotations

from pathlib import Path

from analytics.errors import DataFileError
from analytics.importers import fhir, fitnotes, hevy, strong
from analytics.importers.common import Parsed, Reject, read_text, split_csv

#: Formats ``adherence import`` accepts (``auto`` detects one of the others).
FORMATS: tuple[str, ...] = ("strong", "hevy", "fitnotes", "fhir")
_NAMES = {"strong": "Strong", "hevy": "Hevy", "fitnotes": "FitNotes", "fhir": "FHIR JSON"}

__all__ = ["FORMATS", "Parsed", "Reject", "detect_format", "parse_file", "parse_text"]


def detect_format(text: str, file: str = "file") -> str | None:
    """The format of a file's text, judged by its content (JSON -> ``fhir``) or its CSV
    header; ``None`` when it is none of :data:`FORMATS`."""
    if fhir.looks_like(text):
        return "fhir"
    try:
        columns = split_csv(text, file).columns
    except DataFileError:
        return None
    for name, module in (("strong", strong), ("hevy", hevy), ("fitnotes", fitnotes)):
        if module.looks_like(columns):
            return name
    return None


def parse_text(fmt: str, text: str, file: str, *, patient_id: str | None = None) -> Parsed:
    """Parse ``text`` (the content of ``file``) as ``fmt`` (one of :data:`FORMATS` or
    ``auto``). A text that is not of that format is a :class:`DataFileError`."""
    fmt = fmt.lower()
    detected = detect_format(text, file)
    if fmt == "auto":
        if detected is None:
            raise DataFileError(file, "format not recognised: not a Strong, Hevy or FitNotes "
                                      "CSV export nor FHIR JSON (give the format explicitly "
                                      "if you are sure)")
        fmt = detected
    if fmt not in FORMATS:
        raise DataFileError(file, f"unknown format {fmt!r} (use one of {', '.join(FORMATS)} "
                                  "or auto)")
    if fmt == "fhir":
        if not fhir.looks_like(text):
            raise DataFileError(file, "is not FHIR JSON (it does not start with '{' or '[')")
        return fhir.parse(text, file, patient_id)
    if detected is not None and detected != fmt:
        raise DataFileError(file, f"looks like a {_NAMES[detected]} export, not "
                                  f"{_NAMES[fmt]} (use format {detected} or auto)")
    module = {"strong": strong, "hevy": hevy, "fitnotes": fitnotes}[fmt]
    return module.parse(text, file)


def parse_file(fmt: str, path: str | Path, *, patient_id: str | None = None) -> Parsed:
    """Read ``path`` and parse it as ``fmt`` (see :func:`parse_text`).

    Raises
    ------
    DataFileError
        When the file cannot be read or is not of the format.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise DataFileError(file.name, "no such file") from None
    except IsADirectoryError:
        raise DataFileError(file.name, "is a folder, not a file") from None
    except OSError as exc:
        raise DataFileError(file.name, f"cannot be read ({exc.strerror})") from exc
    return parse_text(fmt, read_text(data, file.name), file.name, patient_id=patient_id)
