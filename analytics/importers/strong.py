"""Strong (iOS/Android workout app) CSV exports, in every generation seen in the wild.

Layouts (matched by column names, case- and space-insensitively):

* ``strong-2019`` (old): ``Date,Workout Name,Exercise Name,Set Order,kg,Reps,km,Seconds,
  Notes``; ``Set Order`` counts from 0.
* ``strong-2021`` (common): ``Date,Workout Name,Duration,Exercise Name,Set Order,Weight,
  Reps,Distance,Seconds,Notes,Workout Notes,RPE``; ``Duration`` is the workout's length
  (``7m``, ``1h 6m``), not needed here.
* ``strong-units``: ``;``-separated, with ``Weight Unit`` and ``Distance Unit`` columns;
  decimal commas (``22,5``) are read as decimals.
* ``strong-2024``: fully quoted, ``;``-separated, starting with ``"Workout #"`` and with
  ``"Duration (sec)"``, ``"Weight (kg)"``/``"Weight (lbs)"``,
  ``"Distance (meters)"``/``"Distance (miles)"``.

Reading rules: ``Date`` is the workout's start, shared by every row of the workout (it
becomes ``performed_at`` of every set); a timed hold has its time in ``Seconds`` with
reps 0 or blank and becomes one repetition with ``hold_s`` set; ``Set Order`` is the
set's number (``set_index``; the old layout's 0-based numbers are shifted to start at 1
like the others), or ``W`` (warm-up), ``D`` (drop set) or ``F`` (failure): those sets are
kept, marked in ``set_type``, and numbered by order of appearance among the sets of the
same type in the same workout and exercise; ``Rest Timer`` rows are not sets and are
counted as skipped. Weights and distances are not part of the data contract and are not
kept.
"""

from __future__ import annotations

from analytics.importers.common import (
    CsvRecords,
    Parsed,
    Positions,
    RowBuilder,
    blank,
    fmt_number,
    join_notes,
    local_datetime,
    reps_and_hold,
    require_columns,
    set_type_of,
    split_csv,
    to_number,
)

FORMAT = "strong"


def looks_like(columns: tuple[str, ...]) -> bool:
    """True for a header (canonical names) that is a Strong export's."""
    return "exercise_name" in columns and "set_order" in columns and "date" in columns


def variant(records: CsvRecords) -> str:
    """Which Strong layout ``records`` is (see the module docstring)."""
    cols = records.columns
    if "workout_#" in cols or "duration_(sec)" in cols:
        return "strong-2024"
    if "weight_unit" in cols or "distance_unit" in cols:
        return "strong-units"
    if "kg" in cols and "duration" not in cols:
        return "strong-2019"
    return "strong-2021"


def parse(text: str, file: str) -> Parsed:
    """Parse a Strong export's text; see the module docstring for the rules."""
    records = split_csv(text, file)
    require_columns(records, file, "Strong", [("date",), ("exercise_name",), ("set_order",),
                                               ("reps",), ("seconds",)])
    layout = variant(records)
    zero_based = layout == "strong-2019"
    col = {
        "date": records.index("date"),
        "workout": records.index("workout_#", "workout_name"),
        "exercise": records.index("exercise_name"),
        "set_order": records.index("set_order"),
        "reps": records.index("reps"),
        "seconds": records.index("seconds"),
        "notes": records.index("notes"),
        "rpe": records.index("rpe"),
    }
    width = len(records.columns)
    out = RowBuilder()
    positions = Positions()
    source = f"{FORMAT}:{file}"
    for line, fields in records.records:
        out.read += 1
        if len(fields) != width:
            out.reject(line, "(row)", records.delimiter.join(fields),
                       f"the row has {len(fields)} fields, the header {width}")
            continue

        def cell(name: str, fields: tuple[str, ...] = fields) -> str | None:
            i = col[name]
            return None if i is None or blank(fields[i]) else fields[i].strip()

        order = cell("set_order") or ""
        if order.lower().replace(" ", "") == "resttimer":
            out.skipped += 1
            continue
        when = local_datetime(cell("date"))
        if when is None:
            out.reject(line, "Date", cell("date"), "Date is not a date and time "
                                                   "(expected e.g. 2024-02-10 19:57:00)")
            continue
        exercise = cell("exercise")
        if exercise is None:
            out.reject(line, "Exercise Name", "", "Exercise Name is empty")
            continue
        try:
            reps = to_number(cell("reps"), records.decimal_comma)
        except ValueError:
            out.reject(line, "Reps", cell("reps"), "Reps is not a number")
            continue
        try:
            seconds = to_number(cell("seconds"), records.decimal_comma)
        except ValueError:
            out.reject(line, "Seconds", cell("seconds"), "Seconds is not a number")
            continue
        workout = (when, cell("workout"))
        if order == "" or order.lstrip("-").replace(".", "", 1).isdigit():
            set_type = "normal"
            if order == "":
                set_index: int = positions.next(workout, exercise, "normal")
            else:
                try:
                    number = float(order)
                except ValueError:  # digits float() does not read, e.g. "²"
                    number = -1.0
                if not number.is_integer() or number < 0:
                    out.reject(line, "Set Order", order, "Set Order is not a set number")
                    continue
                set_index = int(number) + (1 if zero_based else 0)
        else:
            kind = set_type_of(order)
            if kind is None:
                out.reject(line, "Set Order", order,
                           "Set Order must be a number, W, D, F or Rest Timer")
                continue
            set_type = kind
            set_index = positions.next(workout, exercise, kind)
        reps, hold, note = reps_and_hold(reps, seconds)
        out.sessions.append({
            "performed_at": when, "exercise": exercise, "sets": "1",
            "reps": fmt_number(reps), "hold_s": fmt_number(hold), "side": None,
            "rpe": cell("rpe") if not records.decimal_comma else
            (cell("rpe") or "").replace(",", ".") or None,
            "notes": join_notes(cell("notes"), note), "set_index": str(set_index),
            "set_type": set_type, "source": source, "_line": line,
        })
    return out.result(FORMAT, layout, file)
