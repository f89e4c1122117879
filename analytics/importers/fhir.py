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
"""

from __future__ import annotations

import json
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


def looks_like(text: str) -> bool:
    """JSON or NDJSON (starts with ``{`` or ``[``)."""
    return text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


def _resources(text: str, file: str, out: RowBuilder
               ) -> Iterator[tuple[int, Any]]:
    """``(line or position, resource)`` for every record of the file."""
    try:
        top = json.loads(text)
    except json.JSONDecodeError:
        top = None
        lines = [(i, s) for i, s in enumerate(text.splitlines(), start=1) if s.strip()]
        parsed: list[tuple[int, Any]] = []
        bad: list[tuple[int, str]] = []
        for i, s in lines:
            try:
                parsed.append((i, json.loads(s)))
            except json.JSONDecodeError:
                bad.append((i, s))
        if not parsed:
            raise DataFileError(file, "is not FHIR JSON (neither a JSON document nor "
                                      "NDJSON, one resource a line)") from None
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
    entries = bundle.get("entry") or []
    for entry in entries if isinstance(entries, list) else []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
            yield from _bundle_entries(resource, counter)
            continue
        counter[0] += 1
        yield counter[0], resource


def _is_pain(resource: dict[str, Any]) -> bool:
    codings = (resource.get("code") or {}).get("coding") or []
    return any(isinstance(c, dict) and c.get("system") == LOINC and c.get("code") == PAIN_CODE
               for c in codings)


def _value(resource: dict[str, Any]) -> tuple[float | None, str | None]:
    """``(score, problem)``; both ``None`` when the resource has no value at all."""
    if "valueQuantity" in resource:
        quantity = resource["valueQuantity"]
        value = quantity.get("value") if isinstance(quantity, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "valueQuantity has no numeric value"
        return float(value), None
    if "valueInteger" in resource:
        value = resource["valueInteger"]
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "valueInteger is not a whole number"
        return float(value), None
    if "valueCodeableConcept" in resource:
        concept = resource["valueCodeableConcept"]
        codings = concept.get("coding") if isinstance(concept, dict) else None
        for c in codings or []:
            if isinstance(c, dict) and c.get("system") == LOINC and c.get("code") in LOINC_ANSWERS:
                return float(LOINC_ANSWERS[c["code"]]), None
        return None, ("valueCodeableConcept has no LOINC answer code of the 0-10 scale "
                      "(LA6111-4 = 0 ... LA13942-0 = 10)")
    others = [k for k in resource if k.startswith("value")]
    if others:
        return None, f"{others[0]} is not a pain score (use valueQuantity, valueInteger or " \
                     "a LOINC answer code)"
    return None, None


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
    reference = str(subject.get("reference") or "")
    ids = {reference.rstrip("/").rsplit("/", 1)[-1]} if reference else set()
    identifier = subject.get("identifier")
    if isinstance(identifier, dict) and identifier.get("value"):
        ids.add(str(identifier["value"]))
    shown = reference or (f"identifier {identifier.get('value')}"
                          if isinstance(identifier, dict) else "")
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
                out.reject(position, "(resource)", json.dumps(resource)[:200],
                           "not a FHIR resource (no resourceType)")
            continue
        if resource["resourceType"] != "Observation" or not _is_pain(resource):
            out.skipped += 1
            continue
        if resource.get("status") in _NO_RESULT:
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
            out.reject(position, field, str(resource.get(field, ""))[:200], str(problem))
            continue
        shown, ids = _subject(resource)
        notes = join_notes(*[n.get("text") for n in resource.get("note") or []
                             if isinstance(n, dict)])
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
            return json.dumps(value)[:200]
    return ""
