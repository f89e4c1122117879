"""FHIR R4 pain scores: a Bundle, a single resource or NDJSON (one resource a line).

Observations coded LOINC ``72514-3`` (pain severity, 0-10 verbal numeric rating) become
pain reports. Their value may be:

* ``valueQuantity`` (``value``; any unit, normally ``{score}``);
* ``valueInteger``;
* ``valueCodeableConcept`` with a LOINC answer code of the 0-10 numeric rating scale,
  answer list LL2335-9: see :data:`LOINC_ANSWERS` (checked against published FHIR
  implementation guides' value sets for 72514-3).

The time is ``effectiveDateTime``, else ``effectivePeriod.start`` (else its ``end``),
else ``effectiveInstant``; a date without a time (``2024-02-10``) is allowed and read as
local midnight; a year or year-month alone is rejected. Times are kept as written: with
an offset (as FHIR requires) the loader converts them to the patient's zone; without one
they are read as the patient's local time.

Counting: every resource is one record (a Bundle's entries are its records, nested
Bundles are opened; an NDJSON line is one record, and its ``line`` in rejects is the
file's line; for a Bundle ``line`` is the entry's 1-based position). Other resources
(Patient, other Observations...) and pain Observations that are
``entered-in-error``/``cancelled``/``registered`` or carry a ``dataAbsentReason``
instead of a value are skipped. A pain Observation whose value or time cannot be read
is rejected. When the file's pain Observations name more than one subject, those whose
subject is not the imported patient (``Patient/<id>`` or an identifier value equal to
``--patient``) are rejected, so one patient's import never takes another's scores.

Robustness: any JSON is accepted as input. An element of an unexpected shape (a string
where FHIR has an object, a list where it has a string...) never raises: it reads as
absent, or the record is rejected with a reason. A value that is not a finite number
(``NaN``, ``Infinity``, an integer too large for a float) is rejected; JSON nested too
deeply or with integers too long to read is a whole-file :class:`DataFileError`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from analytics.errors import DataFileError
from analytics.importers.common import Parsed, RowBuilder, fmt_number, join_notes

FORMAT = "fhir"

LOINC = "http://loinc.org"
#: LOINC code of "Pain severity - 0-10 verbal numeric rating [Score] - Reported".
PAIN_CODE = "72514-3"
#: LOINC answer codes of the 0-10 numeric rating scale (answer list LL2335-9).
LOINC_ANSWERS: dict[str, int] = {
    "LA6111-4": 0, "LA6112-2": 1, "LA6113-0": 2, "LA6114-8": 3, "LA6115-5": 4,
    "LA10137-0": 5, "LA10138-8": 6, "LA10139-6": 7, "LA10140-4": 8, "LA10141-2": 9,
    "LA13942-0": 10,
}
#: Observation statuses that carry no usable score.
_NO_RESULT = frozenset({"entered-in-error", "cancelled", "registered"})
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL = re.compile(r"^\d{4}(?:-\d{2})?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                       r"(?:Z|[+-]\d{2}:\d{2})?$")


def _loads(text: str) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, problem)``: :func:`json.loads` without its exceptions
    (a syntax error, nesting too deep for the parser, an integer too long to read)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "nested too deeply to read"
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        return None, str(exc).split(";")[0]


def _dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (a wrongly shaped element
    reads as absent)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def _dumps(value: Any) -> str:
    """A short JSON text of ``value`` for a reject message (never raises)."""
    try:
        return json.dumps(value)[:200]
    except (TypeError, ValueError, RecursionError):
        return repr(type(value).__name__)


def looks_like(text: str) -> bool:
    """JSON or NDJSON (starts with ``{`` or ``[``)."""
    return text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


def _resources(text: str, file: str, out: RowBuilder
               ) -> Iterator[tuple[int, Any]]:
    """``(line or position, resource)`` for every record of the file."""
    top, problem = _loads(text)
    if problem is not None:
        lines = [(i, s) for i, s in enumerate(text.splitlines(), start=1) if s.strip()]
        parsed: list[tuple[int, Any]] = []
        bad: list[tuple[int, str]] = []
        for i, s in lines:
            value, line_problem = _loads(s)
            if line_problem is None:
                parsed.append((i, value))
            else:
                bad.append((i, s))
        if not parsed:
            raise DataFileError(file, "is not FHIR JSON (neither a JSON document nor "
                                      f"NDJSON, one resource a line; {problem})")
        for i, s in bad:
            out.read += 1
            out.reject(i, "(resource)", s, "the line is not valid JSON")
        yield from parsed
        return
    if isinstance(top, list):
        yield from enumerate(top, start=1)
        return
    if not isinstance(top, dict) or "resourceType" not in top:
        raise DataFileError(file, "is JSON but not a FHIR resource (no resourceType)")
    if top.get("resourceType") == "Bundle":
        yield from _bundle_entries(top, [0])
        return
    yield 1, top


def _bundle_entries(bundle: dict[str, Any], counter: list[int]) -> Iterator[tuple[int, Any]]:
    for entry in _list(bundle.get("entry")):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
            yield from _bundle_entries(resource, counter)
            continue
        counter[0] += 1
        yield counter[0], resource


def _is_pain(resource: dict[str, Any]) -> bool:
    codings = _list(_dict(resource.get("code")).get("coding"))
    return any(isinstance(c, dict) and c.get("system") == LOINC and c.get("code") == PAIN_CODE
               for c in codings)


def _value(resource: dict[str, Any]) -> tuple[float | None, str | None]:
    """``(score, problem)``; both ``None`` when the resource has no value at all."""
    if "valueQuantity" in resource:
        quantity = resource["valueQuantity"]
        value = quantity.get("value") if isinstance(quantity, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "valueQuantity has no numeric value"
        return _finite(value, "valueQuantity")
    if "valueInteger" in resource:
        value = resource["valueInteger"]
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "valueInteger is not a whole number"
        return _finite(value, "valueInteger")
    if "valueCodeableConcept" in resource:
        concept = resource["valueCodeableConcept"]
        for c in _list(_dict(concept).get("coding")):
            if not isinstance(c, dict) or c.get("system") != LOINC:
                continue
            code = c.get("code")
            if isinstance(code, str) and code in LOINC_ANSWERS:
                return float(LOINC_ANSWERS[code]), None
        return None, ("valueCodeableConcept has no LOINC answer code of the 0-10 scale "
                      "(LA6111-4 = 0 ... LA13942-0 = 10)")
    others = [k for k in resource if k.startswith("value")]
    if others:
        return None, f"{others[0]} is not a pain score (use valueQuantity, valueInteger or " \
                     "a LOINC answer code)"
    return None, None


def _finite(value: int | float, field: str) -> tuple[float | None, str | None]:
    """A JSON number as a finite float, or the problem (``NaN``, ``Infinity``, an integer
    too large for a float)."""
    try:
        number = float(value)
    except OverflowError:
        return None, f"{field} is too large to be a pain score"
    if not math.isfinite(number):
        return None, f"{field} is not a finite number"
    return number, None


def _effective(resource: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """``(time text, problem, field name)``."""
    if "effectiveDateTime" in resource:
        field, value = "effectiveDateTime", resource["effectiveDateTime"]
    elif "effectivePeriod" in resource:
        period = resource["effectivePeriod"] if isinstance(resource["effectivePeriod"],
                                                           dict) else {}
        field, value = "effectivePeriod", period.get("start") or period.get("end")
    elif "effectiveInstant" in resource:
        field, value = "effectiveInstant", resource["effectiveInstant"]
    else:
        return None, "the Observation has no effective time", "effective[x]"
    if not isinstance(value, str):
        return None, f"{field} has no date", field
    value = value.strip()
    if _PARTIAL.match(value):
        return None, f"{field} {value!r} gives no day (a year or month alone)", field
    if not (_DATE_ONLY.match(value) or _DATETIME.match(value)):
        return None, f"{field} {value!r} is not a FHIR date or dateTime", field
    return value, None, field


def _subject(resource: dict[str, Any]) -> tuple[str, set[str]]:
    """The subject as shown (``Patient/7``) and the ids it may stand for."""
    subject = resource.get("subject")
    if not isinstance(subject, dict):
        return "", set()
    reference = subject.get("reference")
    reference = reference.strip() if isinstance(reference, str) else ""
    ids = {reference.rstrip("/").rsplit("/", 1)[-1]} if reference else set()
    value = _dict(subject.get("identifier")).get("value")
    value = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if value:
        ids.add(value)
    shown = reference or (f"identifier {value}" if value else "")
    return shown, ids


def parse(text: str, file: str, patient_id: str | None = None) -> Parsed:
    """Parse FHIR JSON/NDJSON text into pain rows; see the module docstring.

    ``patient_id`` (the patient being imported) is only used when the file's pain
    Observations name several subjects.
    """
    out = RowBuilder()
    source = f"{FORMAT}:{file}"
    pending: list[tuple[int, dict[str, Any], str, set[str]]] = []
    for position, resource in _resources(text, file, out):
        out.read += 1
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            if resource is None:
                out.skipped += 1  # a Bundle entry without a resource (e.g. a request)
            else:
                out.reject(position, "(resource)", _dumps(resource),
                           "not a FHIR resource (no resourceType)")
            continue
        if resource["resourceType"] != "Observation" or not _is_pain(resource):
            out.skipped += 1
            continue
        status = resource.get("status")
        if isinstance(status, str) and status in _NO_RESULT:
            out.skipped += 1
            continue
        score, problem = _value(resource)
        if problem is not None:
            out.reject(position, "value[x]", _shown_value(resource), problem)
            continue
        if score is None:
            if "dataAbsentReason" in resource:
                out.skipped += 1
            else:
                out.reject(position, "value[x]", "", "the pain Observation has no value")
            continue
        when, problem, field = _effective(resource)
        if when is None:
            shown = resource.get(field, "")
            out.reject(position, field, shown if isinstance(shown, str) else _dumps(shown),
                       str(problem))
            continue
        shown, ids = _subject(resource)
        notes = join_notes(*[n.get("text") for n in _list(resource.get("note"))
                             if isinstance(n, dict) and isinstance(n.get("text"), str)])
        out.pain.append({
            "reported_at": when, "pain": fmt_number(score), "context": None,
            "symptoms": None, "notes": notes, "source": source, "_line": position,
        })
        pending.append((position, out.pain[-1], shown, ids))
    subjects = {s for _, _, s, _ in pending if s}
    if len(subjects) > 1:
        keep = []
        for position, row, shown, ids in pending:
            if patient_id is not None and patient_id in ids:
                keep.append(row)
            else:
                out.reject(position, "subject", shown,
                           f"the file holds pain scores of {len(subjects)} subjects and this "
                           f"one is not the imported patient {patient_id!r}")
        out.pain[:] = keep
    return out.result(FORMAT, "fhir-r4", file)


def _shown_value(resource: dict[str, Any]) -> str:
    for key, value in resource.items():
        if key.startswith("value"):
            return _dumps(value)
    return ""
