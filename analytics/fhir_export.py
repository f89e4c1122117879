"""``adherence export fhir``: one patient's pain reports and adherence summary as a FHIR
R4 Bundle (JSON).

The Bundle (``type: collection``) holds, in this order:

1. a ``Patient`` with the data folder's ``patient_id`` as its only identifier (no name or
   other detail leaves the folder);
2. one ``Observation`` per pain report: LOINC ``72514-3`` (pain severity 0-10),
   ``valueQuantity`` with unit ``{score}`` (UCUM), ``effectiveDateTime`` as the local time
   with the patient's UTC offset (``2025-03-01T08:30:00+00:00``), category ``survey``, and
   the report's context, symptoms and notes as a ``note``;
3. one adherence-summary ``Observation`` (category ``activity``) coded in this package's
   own code system :data:`SUMMARY_SYSTEM` (LOINC has no code for adherence to a home
   exercise programme): ``valueString`` is a one-line summary, ``effectivePeriod`` the
   period measured, and ``component`` holds ``adherence_pct`` (``%``),
   ``sessions_done`` and ``sessions_prescribed`` (``valueInteger``) and the current
   streak in days, from :func:`analytics.metrics.summary.compute`; a value that does not
   exist (no programme) is a ``dataAbsentReason``.

Resources are referenced by ``urn:uuid:`` full URLs derived from the patient id and the
report time (UUID 5), so the same data always gives the same Bundle (no creation time is
written). The JSON only uses elements that are identical in R4, R4B and R5 for these
resources; the tests validate it with ``fhir.resources`` (its ``R4B`` modules: version 8
of that library provides R5 by default, R4B and STU3, but no separate R4 package; R4B's
Bundle and Observation are R4's).
"""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.dataset import Dataset
from analytics.errors import AnalyticsError
from analytics.fsutil import atomic_write_text

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
#: Code system of this package's own codes (adherence summary and its components).
SUMMARY_SYSTEM = "urn:spine-adherence-analytics:codes"
#: Identifier system of the data folder's ``patient_id``.
PATIENT_ID_SYSTEM = "urn:spine-adherence-analytics:patient-id"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:spine-adherence-analytics")

PAIN_CODE = {"system": LOINC, "code": "72514-3",
             "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}


def _urn(*parts: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(str(p) for p in parts))}"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


def _present(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def patient_timezone(ds: Dataset, patient_id: str) -> str:
    """The patient's IANA zone from the patients table (UTC when not listed)."""
    rows = ds.patients[ds.patients["patient_id"] == patient_id]
    return str(rows["timezone"].iloc[0]) if len(rows) else "UTC"


def pain_observation(row: pd.Series, subject: str, tz: str) -> dict[str, Any]:
    """One loaded pain report (a row of ``Dataset.pain``) as a 72514-3 Observation."""
    when = row["reported_at_utc"].tz_convert(tz).floor("s").isoformat()
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": _category("survey", "Survey"),
        "code": {"coding": [dict(PAIN_CODE)], "text": "Pain severity (0-10)"},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "valueQuantity": {"value": _number(row["pain"]), "unit": "{score}", "system": UCUM,
                          "code": "{score}"},
    }
    parts = []
    if _present(row.get("context")) and row["context"] != "other":
        parts.append(f"context: {row['context']}")
    if _present(row.get("symptoms")):
        parts.append(f"symptoms: {str(row['symptoms']).replace(';', ', ')}")
    if _present(row.get("notes")):
        parts.append(str(row["notes"]))
    if parts:
        resource["note"] = [{"text": "; ".join(parts)}]
    return resource


def _component(code: str, display: str, value: Any, kind: str) -> dict[str, Any]:
    component: dict[str, Any] = {"code": {"coding": [{"system": SUMMARY_SYSTEM, "code": code,
                                                      "display": display}],
                                          "text": display}}
    if not _present(value):
        component["dataAbsentReason"] = {"coding": [{"system": DATA_ABSENT,
                                                     "code": "not-applicable"}]}
    elif kind == "percent":
        component["valueQuantity"] = {"value": round(float(value), 1), "unit": "%",
                                      "system": UCUM, "code": "%"}
    elif kind == "days":
        component["valueQuantity"] = {"value": int(value), "unit": "days", "system": UCUM,
                                      "code": "d"}
    else:
        component["valueInteger"] = int(value)
    return component


def summary_observation(record: dict[str, Any], subject: str) -> dict[str, Any]:
    """The adherence summary (one record of ``summary_records``) as an Observation."""
    start, end = record.get("period_start"), record.get("period_end")
    pct, done, due = (record.get("adherence_pct"), record.get("sessions_done"),
                      record.get("sessions_prescribed"))
    if _present(pct) and _present(start):
        text = (f"Exercise adherence {float(pct):.1f}%: {int(done or 0)} of {int(due or 0)} "
                f"prescribed sessions done, {start} to {end}.")
    else:
        text = "No exercise programme on record: adherence cannot be measured."
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": _category("activity", "Activity"),
        "code": {"coding": [{"system": SUMMARY_SYSTEM, "code": "exercise-adherence-summary",
                             "display": "Home exercise programme adherence summary"}],
                 "text": "Exercise adherence summary"},
        "subject": {"reference": subject},
        "valueString": text,
        "component": [
            _component("adherence_pct", "Adherence (% of prescribed sessions done)", pct,
                       "percent"),
            _component("sessions_done", "Sessions done", done, "int"),
            _component("sessions_prescribed", "Sessions prescribed", due, "int"),
            _component("current_streak_days", "Current streak", record.get(
                "current_streak_days"), "days"),
        ],
    }
    if _present(start):
        resource["effectivePeriod"] = {"start": str(start), "end": str(end or start)}
    return resource


def build_bundle(ds: Dataset, patient_id: str) -> dict[str, Any]:
    """The FHIR R4 Bundle (as a JSON-ready dict) for ``patient_id`` (see module doc).

    Raises
    ------
    AnalyticsError
        When the dataset has no such patient.
    """
    from analytics.metrics.summary import compute, summary_records

    known = set(ds.patients["patient_id"]) | set(ds.programs["patient_id"]) | set(
        ds.sessions["patient_id"]) | set(ds.pain["patient_id"])
    if patient_id not in known:
        raise AnalyticsError(f"unknown patient {patient_id!r}: no row of the data folder "
                             "names them")
    tz = patient_timezone(ds, patient_id)
    subject = _urn("patient", patient_id)
    entries: list[dict[str, Any]] = [{
        "fullUrl": subject,
        "resource": {"resourceType": "Patient",
                     "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient_id}]},
    }]
    pain = ds.pain[ds.pain["patient_id"] == patient_id].sort_values(
        ["reported_at_utc", "line"], kind="stable")
    for i, (_, row) in enumerate(pain.iterrows()):
        entries.append({
            "fullUrl": _urn("pain", patient_id, row["reported_at_utc"].isoformat(), i),
            "resource": pain_observation(row, subject, tz),
        })
    record: dict[str, Any] = {}
    if (ds.programs["patient_id"] == patient_id).any():
        # Without a programme there is no adherence to measure (and the metric pipeline
        # is not asked to: restricted to such a patient it has nothing to compute).
        records = summary_records(compute(ds, patients=[patient_id]).summary)
        record = next((r for r in records if r["patient_id"] == patient_id), {})
    entries.append({"fullUrl": _urn("adherence-summary", patient_id),
                    "resource": summary_observation(record, subject)})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def write_bundle(bundle: dict[str, Any], out: str | Path) -> Path:
    """Write ``bundle`` as indented JSON to ``out`` atomically (temp file, then rename)."""
    path = Path(out)
    atomic_write_text(path, json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")
    return path
