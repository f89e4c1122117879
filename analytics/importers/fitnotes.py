"""FitNotes (Android workout log) CSV exports.

Layouts: ``Date,Exercise,Category,Weight,Weight Unit,Reps,Distance,Distance Unit,Time``
and the older one with ``Weight (kgs)`` / ``Weight (lbs)`` instead of ``Weight`` and
``Weight Unit``. ``Date`` is a date only (``2024-02-10``); ``Time`` is ``H:MM:SS``.

Reading rules:

* FitNotes does not quote names that contain commas, so such a row has more fields than
  the header. The extra fields belong to the exercise name: they are joined back into it
  (``Bridge, Single Leg``) and the other columns keep their places. If the row still does
  not read (a date, numbers and a time where the header says), it is rejected.
* There is no time of day: ``performed_at`` is the date (local midnight).
* FitNotes has no set numbers: ``set_index`` is the order of appearance of the set among
  the sets of the same exercise on the same day (the export lists a day's sets in the
  order they were logged).
* A timed set (``Time`` above 0 and reps 0 or blank) is one repetition held that long.
  People also write the hold into the name (``Plank 1:00``, ``Side plank 45s``): the
  name is stored without it (``Plank``) and the hold goes to ``hold_s`` (one repetition
  unless reps say otherwise).
"""

from __future__ import annotations

from analytics.importers.common import (
    CsvRecords,
    Parsed,
    Positions,
    RowBuilder,
    blank,
    clock_seconds,
    fmt_number,
    hold_from_name,
    local_date,
    reps_and_hold,
    require_columns,
    split_csv,
    to_number,
)

FORMAT = "fitnotes"


def looks_like(columns: tuple[str, ...]) -> bool:
    """True for a header (canonical names) that is a FitNotes export's."""
    return ("date" in columns and "exercise" in columns and "category" in columns
            and "reps" in columns)


def variant(records: CsvRecords) -> str:
    """``fitnotes`` (``Weight``/``Weight Unit``) or ``fitnotes-old`` (``Weight (kgs)``)."""
    if "weight_(kgs)" in records.columns or "weight_(lbs)" in records.columns:
        return "fitnotes-old"
    return "fitnotes"


def _recover(fields: tuple[str, ...], width: int, name_at: int) -> tuple[str, ...]:
    """Join the extra fields of a too-long row back into the exercise name."""
    extra = len(fields) - width
    name = ",".join(fields[name_at:name_at + extra + 1])
    return fields[:name_at] + (name,) + fields[name_at + extra + 1:]


def parse(text: str, file: str) -> Parsed:
    """Parse a FitNotes export's text; see the module docstring for the rules."""
    records = split_csv(text, file)
    require_columns(records, file, "FitNotes", [("date",), ("exercise",), ("category",),
                                                 ("reps",), ("time",)])
    name_at = records.index("exercise")
    assert name_at is not None  # checked by require_columns
    col = {name: records.index(name) for name in ("date", "exercise", "reps", "time")}
    numeric = [i for i in (records.index("weight"), records.index("weight_(kgs)"),
                           records.index("weight_(lbs)"), records.index("distance"))
               if i is not None]
    width = len(records.columns)
    out = RowBuilder()
    positions = Positions()
    source = f"{FORMAT}:{file}"
    for line, raw_fields in records.records:
        out.read += 1
        fields = raw_fields
        recovered = False
        if len(fields) > width:
            fields = _recover(fields, width, name_at)
            recovered = True
        elif len(fields) < width:
            out.reject(line, "(row)", ",".join(fields),
                       f"the row has {len(fields)} fields, the header {width} (cut off?)")
            continue

        def cell(name: str, fields: tuple[str, ...] = fields) -> str | None:
            i = col[name]
            return None if i is None or blank(fields[i]) else fields[i].strip()

        day = local_date(cell("date"))
        problem: tuple[str, str | None, str] | None = None
        reps = seconds = None
        try:
            reps = to_number(cell("reps"))
        except ValueError:
            problem = ("Reps", cell("reps"), "Reps is not a number")
        try:
            seconds = clock_seconds(cell("time"))
        except ValueError:
            problem = problem or ("Time", cell("time"), "Time is not H:MM:SS")
        for i in numeric:
            if _bad_number(fields[i]):
                problem = problem or (records.header[i], fields[i],
                                      f"{records.header[i]} is not a number")
        if day is None:
            problem = ("Date", cell("date"), "Date is not a date (YYYY-MM-DD)")
        if problem is not None:
            if recovered:
                out.reject(line, "(row)", ",".join(raw_fields),
                           f"the row has {len(raw_fields)} fields, the header {width}, and "
                           "joining the extra fields into the exercise name does not give a "
                           f"readable row ({problem[2]})")
            else:
                out.reject(line, *problem)
            continue
        typed = cell("exercise")
        if typed is None:
            out.reject(line, "Exercise", "", "Exercise is empty")
            continue
        exercise, name_hold = hold_from_name(typed)
        if seconds:
            reps, hold, note = reps_and_hold(reps, seconds)
        elif name_hold is not None:
            reps, hold, note = (reps if reps else 1.0), name_hold, None
        else:
            hold, note = None, None
        out.sessions.append({
            "performed_at": day, "exercise": exercise, "sets": "1",
            "reps": fmt_number(reps), "hold_s": fmt_number(hold), "side": None, "rpe": None,
            "notes": note, "set_index": str(positions.next(day, exercise)),
            "set_type": "normal", "source": source, "_line": line,
        })
    return out.result(FORMAT, variant(records), file)


def _bad_number(text: str | None) -> bool:
    try:
        to_number(text)
    except ValueError:
        return True
    return False
