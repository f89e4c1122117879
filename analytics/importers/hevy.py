"""Hevy (workout app) CSV exports.

Layout: ``title,start_time,end_time,description,exercise_title,superset_id,
exercise_notes,set_index,set_type,weight_kg|weight_lbs,reps,distance_km|distance_miles,
duration_seconds,rpe``, every field quoted, dates like ``10 Feb 2024, 19:57`` (ISO
dates are accepted too).

Reading rules: ``start_time`` is the workout's start, shared by every set (it becomes
``performed_at``); ``set_index`` counts from 0 in Hevy and is shifted to start at 1 like
the other importers; ``set_type`` is ``normal``, ``warmup``, ``failure`` or ``dropset``
(warm-ups are kept and marked); a timed hold has its time in ``duration_seconds`` with
reps 0 or blank and becomes one repetition with ``hold_s`` set; ``exercise_notes`` are
kept in ``notes``. Weights and distances are not part of the data contract.
"""

from __future__ import annotations

from analytics.importers.common import (
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

FORMAT = "hevy"


def looks_like(columns: tuple[str, ...]) -> bool:
    """True for a header (canonical names) that is a Hevy export's."""
    return "exercise_title" in columns and "start_time" in columns


def parse(text: str, file: str) -> Parsed:
    """Parse a Hevy export's text; see the module docstring for the rules."""
    records = split_csv(text, file)
    require_columns(records, file, "Hevy", [("title",), ("start_time",), ("exercise_title",),
                                             ("set_index",), ("set_type",), ("reps",),
                                             ("duration_seconds",)])
    col = {name: records.index(name) for name in (
        "title", "start_time", "exercise_title", "exercise_notes", "set_index", "set_type",
        "reps", "duration_seconds", "rpe")}
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

        when = local_datetime(cell("start_time"))
        if when is None:
            out.reject(line, "start_time", cell("start_time"),
                       "start_time is not a date and time (expected e.g. 10 Feb 2024, 19:57)")
            continue
        exercise = cell("exercise_title")
        if exercise is None:
            out.reject(line, "exercise_title", "", "exercise_title is empty")
            continue
        set_type = set_type_of(cell("set_type"))
        if set_type is None:
            out.reject(line, "set_type", cell("set_type"),
                       "set_type must be normal, warmup, failure or dropset")
            continue
        try:
            reps = to_number(cell("reps"))
        except ValueError:
            out.reject(line, "reps", cell("reps"), "reps is not a number")
            continue
        try:
            seconds = to_number(cell("duration_seconds"))
        except ValueError:
            out.reject(line, "duration_seconds", cell("duration_seconds"),
                       "duration_seconds is not a number")
            continue
        index_text = cell("set_index")
        if index_text is None:
            set_index = positions.next(when, cell("title"), exercise)
        else:
            try:
                number = float(index_text)
            except ValueError:
                number = -1.0
            if not number.is_integer() or number < 0:
                out.reject(line, "set_index", index_text, "set_index is not a set number")
                continue
            set_index = int(number) + 1
        reps, hold, note = reps_and_hold(reps, seconds)
        out.sessions.append({
            "performed_at": when, "exercise": exercise, "sets": "1",
            "reps": fmt_number(reps), "hold_s": fmt_number(hold), "side": None,
            "rpe": cell("rpe"), "notes": join_notes(cell("exercise_notes"), note),
            "set_index": str(set_index), "set_type": set_type, "source": source,
            "_line": line,
        })
    return out.result(FORMAT, "hevy", file)
