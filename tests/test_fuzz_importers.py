"""Property-based fuzzing of every importer (Strong, Hevy, FitNotes, FHIR and ``auto``).

Whatever a file holds - random bytes, CSV-shaped text under each app's real header, or
JSON shaped like FHIR (wrong types, ``NaN``, huge integers, deep nesting, NDJSON with
bad lines) - the only exception that may escape is the package's own
:class:`~analytics.errors.AnalyticsError` (with a message), and every input that parses
is fully accounted for: ``read == imported + duplicates + not_in_catalog + skipped +
rejected``.

Most examples stop after :func:`analytics.importers.common.classify` (linking and
validation; what would be imported into an empty folder is the candidates); a smaller
run goes all the way through :func:`analytics.appendlog.import_parsed` into a data
folder and loads it back.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import analytics
from analytics.appendlog import import_parsed
from analytics.catalog import load_catalog
from analytics.errors import AnalyticsError
from analytics.importers import parse_text
from analytics.importers.common import Parsed, classify, read_text
from analytics.link import Linker

NOW = pd.Timestamp("2025-06-30T12:00:00Z")
FORMATS = ["strong", "hevy", "fitnotes", "fhir", "auto"]
LINKER = Linker.from_catalog(load_catalog())
FAST = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: One header per layout the importers know (Strong's four generations, Hevy, FitNotes).
HEADERS: dict[str, tuple[str, str]] = {
    "strong-2019": (",", "Date,Workout Name,Exercise Name,Set Order,kg,Reps,km,Seconds,Notes"),
    "strong-2021": (",", "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,"
                         "Distance,Seconds,Notes,Workout Notes,RPE"),
    "strong-units": (";", "Date;Workout Name;Duration;Exercise Name;Set Order;Weight;"
                          "Weight Unit;Reps;Distance;Distance Unit;Seconds;Notes;"
                          "Workout Notes;RPE"),
    "strong-2024": (";", '"Workout #";"Date";"Workout Name";"Duration (sec)";'
                         '"Exercise Name";"Set Order";"Weight (kg)";"Reps";"RPE";'
                         '"Distance (meters)";"Seconds";"Notes";"Workout Notes"'),
    "hevy": (",", "title,start_time,end_time,description,exercise_title,superset_id,"
                  "exercise_notes,set_index,set_type,weight_kg,reps,distance_km,"
                  "duration_seconds,rpe"),
    "fitnotes": (",", "Date,Exercise,Category,Weight,Weight Unit,Reps,Distance,"
                      "Distance Unit,Time"),
    "fitnotes-old": (",", "Date,Exercise,Category,Weight (kgs),Reps,Distance,Distance Unit,"
                          "Time"),
}

#: Cell values that reach the parsers' corners: numbers in odd spellings (unicode
#: digits, superscripts, overflow, NaN), set markers, clock times, dates, names with
#: holds or commas, formula-like and script-like text.
CELLS = st.one_of(
    st.sampled_from([
        "", " ", "0", "1", "10", "-1", "2.5", "22,5", "1e400", "1e308", "nan", "inf", "-0",
        "0x10", "\u0663", "\u00b2", "\uff11", "9" * 40, "W", "D", "F", "w", "Rest Timer",
        "warmup", "normal", "failure", "dropset", "plank", "Plank 1:00", "Plank 1:99",
        "Side plank (45s)", "bridge", "Bridge, Single Leg", "bird dog", "bench press",
        "0:00:30", "1:30", "99:99:99", "12:00:00:00", "2024-02-10 19:57:00",
        "2024-02-10T08:00", "10 Feb 2024, 19:57", "2024-02-10", "2024-19-27", "2099-01-01",
        '"', '""', '"a,b"', "=HYPERLINK(\"http://x\")", "<script>alert(1)</script>",
        "\x00", "\ufeff", "\r", "kg", "lbs", "7/10",
    ]),
    st.text(st.characters(codec="utf-8"), max_size=8),
    st.text(st.characters(categories=["Nd", "No", "Nl", "Pd", "Po", "Zs"]), max_size=4),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    """An app's header followed by rows of random cells (sometimes too few or too many,
    sometimes a truncated last line, sometimes CRLF)."""
    delimiter, header = HEADERS[draw(st.sampled_from(sorted(HEADERS)))]
    width = header.count(delimiter) + 1
    rows = draw(st.lists(st.lists(CELLS, min_size=max(1, width - 2), max_size=width + 2),
                         max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [header] + [delimiter.join(r) for r in rows]
    text = newline.join(lines)
    if draw(st.booleans()):
        text = text[:draw(st.integers(0, len(text)))]
    return text


_KEYS = ["resourceType", "entry", "resource", "code", "coding", "system", "status",
         "valueQuantity", "value", "valueInteger", "valueCodeableConcept", "valueString",
         "effectiveDateTime", "effectivePeriod", "start", "end", "effectiveInstant",
         "subject", "reference", "identifier", "note", "text", "dataAbsentReason"]
_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.sampled_from(["Observation", "Bundle", "Patient", "72514-3", "http://loinc.org",
                     "LA6111-4", "LA13942-0", "final", "entered-in-error", "2024-02-10",
                     "2024-02", "2024-02-10T08:00:00Z", "2024-02-10T08:00:00+01:00",
                     "Patient/P1", "Patient/P2", "P1"]),
)
_JSON = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=5),
                     max_leaves=16)


@st.composite
def pain_observations(draw: st.DrawFn) -> dict[str, Any]:
    """A pain Observation with every element possibly replaced by random JSON."""
    good: dict[str, Any] = {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "subject": {"reference": draw(st.sampled_from(["Patient/P1", "Patient/P2"]))},
        "effectiveDateTime": "2024-02-10T08:00:00Z", "valueInteger": draw(st.integers(-2, 12)),
    }
    for key in draw(st.lists(st.sampled_from(_KEYS), max_size=3)):
        good[key] = draw(_JSON)
    for key in draw(st.lists(st.sampled_from(sorted(good)), max_size=2)):
        good.pop(key, None)
    return good


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    """FHIR-shaped JSON: a resource, a list, a (nested) Bundle or NDJSON, sometimes with
    a broken line, ``NaN``/``Infinity`` or random JSON instead of a resource."""
    resources = draw(st.lists(st.one_of(pain_observations(), _JSON), max_size=4))
    shape = draw(st.sampled_from(["bundle", "nested", "list", "single", "ndjson"]))
    if shape == "ndjson":
        lines = [json.dumps(r) for r in resources]
        if draw(st.booleans()):
            lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=10)))
        return "\n".join(lines)
    if shape == "single":
        return json.dumps(resources[0] if resources else {})
    if shape == "list":
        return json.dumps(resources)
    entries = [{"resource": r} for r in resources]
    if shape == "nested":
        entries = [{"resource": {"resourceType": "Bundle", "entry": entries}}]
    return json.dumps({"resourceType": "Bundle", "entry": entries})


def _parse(fmt: str, text: str) -> Parsed | None:
    """Parse, allowing only the package's own error (which must carry a message)."""
    try:
        return parse_text(fmt, text, "fuzz.txt", patient_id="P1")
    except AnalyticsError as exc:
        assert str(exc).strip()
        return None


def _check_counts(parsed: Parsed) -> None:
    """Every record classified exactly once (an empty folder: no duplicates in it)."""
    c = classify(parsed, "P1", LINKER, now=NOW)
    imported = len(c.sessions.keys) + len(c.pain.keys)
    assert parsed.read == imported + c.duplicates + c.not_in_catalog + parsed.skipped \
        + c.rejected, parsed
    assert parsed.read >= 0 and all(r.reason for r in c.rejects)


@FAST
@given(st.sampled_from(FORMATS), st.binary(max_size=300),
       st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"{", b"Date,Exercise,"]))
def test_random_bytes(fmt: str, data: bytes, prefix: bytes) -> None:
    try:
        text = read_text(prefix + data, "fuzz.txt")
    except AnalyticsError as exc:
        assert str(exc).strip()
        return
    parsed = _parse(fmt, text)
    if parsed is not None:
        _check_counts(parsed)


@FAST
@given(st.sampled_from(["strong", "hevy", "fitnotes", "auto"]), csv_texts())
@example("strong", HEADERS["strong-2021"][1] + "\n2024-02-10 19:57:00,A,1m,plank,\u00b2,0,0,0,"
                                                "30,,,")
@example("fitnotes", HEADERS["fitnotes"][1] + "\n2024-02-10,Plank 1:99,Core,0,kg,,0,,")
def test_csv_shaped_text(fmt: str, text: str) -> None:
    parsed = _parse(fmt, text)
    if parsed is not None:
        _check_counts(parsed)


@FAST
@given(st.sampled_from(["fhir", "auto"]), json_texts())
@example("fhir", '{"resourceType": "Observation", "code": "x"}')
@example("fhir", '{"resourceType": "Observation", "status": ["final"]}')
@example("fhir", '{"resourceType": "Observation", "valueInteger": ' + "9" * 5000 + "}")
@example("fhir", "[" * 100_000 + "]" * 100_000)
@example("fhir", "{}\n" + "[" * 100_000 + "]" * 100_000)
@example("fhir", json.dumps({"resourceType": "Observation", "valueInteger": 10**400,
                             "effectiveDateTime": "2024-02-10", "code": {"coding": [
                                 {"system": "http://loinc.org", "code": "72514-3"}]}}))
@example("fhir", '[{"resourceType": "Observation", "note": 5, "valueQuantity": {"value": NaN},'
                 ' "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},'
                 ' "effectiveDateTime": "2024-02-10"}]')
def test_json_shaped_text(fmt: str, text: str) -> None:
    parsed = _parse(fmt, text)
    if parsed is not None:
        _check_counts(parsed)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(st.tuples(st.sampled_from(["strong", "hevy", "fitnotes", "auto"]),
                           csv_texts()),
                 st.tuples(st.just("fhir"), json_texts())))
def test_whole_import_accounts_for_every_record(case: tuple[str, str]) -> None:
    """Through the real import into a data folder, then loaded back: nothing the import
    wrote is rejected by the loader, and the counts add up (twice: the second time every
    imported record is a duplicate)."""
    fmt, text = case
    parsed = _parse(fmt, text)
    if parsed is None:
        return
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / "patients.csv").write_text("patient_id,name,timezone\nP1,A,Europe/London\n",
                                             encoding="utf-8")
        first = import_parsed(folder, parsed, "P1", now=NOW)
        again = import_parsed(folder, parsed, "P1", now=NOW)
        for r in (first, again):
            assert r.read == (r.imported + r.duplicates + r.not_in_catalog + r.skipped
                              + r.rejected)
        assert again.imported == 0
        ds = analytics.load(folder, now=NOW)
        assert ds.rejects.empty, ds.rejects.to_dict("records")
        assert len(ds.sessions) + len(ds.pain) == first.imported
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unreadable_files_are_the_packages_error(tmp_path: Path, fmt: str) -> None:
    """Whole-file problems reach the user as a ``DataFileError`` naming the file."""
    from analytics.importers import parse_file

    for name, data in (("empty.csv", b""), ("bin.csv", b"\x00\x01PK\x03\x04" * 20),
                       ("deep.json", b"[" * 100_000)):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(AnalyticsError, match=name.replace(".", r"\.")):
            parse_file(fmt, tmp_path / name, patient_id="P1")
