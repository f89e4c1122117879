"""``adherence import``, ``adherence log`` and ``adherence export fhir``: bringing data
into a data folder and taking it out as FHIR.

The click objects here are registered on the main group by :mod:`analytics.cli`
(:data:`import_command` as ``import``, :data:`log_command` as ``log``,
:data:`export_group` as ``export``). Each command handles the package's own errors
itself (one clear line, exit status 2; ``--json`` prints ``{"error", "file"}``), so it
behaves the same whether run alone or through the main group; no traceback reaches the
user.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from analytics.errors import AnalyticsError, DataFileError
from analytics.textfmt import printable, to_json_text

#: Formats of ``adherence import`` (``auto`` detects the format from the file).
IMPORT_FORMATS: tuple[str, ...] = ("strong", "hevy", "fitnotes", "fhir", "auto")

#: Contract column -> the ``log`` option that gives it (for error messages).
_LOG_OPTIONS: dict[str, str] = {
    "performed_at": "--at", "reported_at": "--at", "exercise": "EXERCISE", "sets": "--sets",
    "reps": "--reps", "hold_s": "--hold", "side": "--side", "rpe": "--rpe",
    "notes": "--notes", "pain": "--pain", "context": "--context", "symptoms": "--symptoms",
    "patient_id": "--patient",
}


def _print_json(obj: Any) -> None:
    click.echo(to_json_text(obj))


@contextlib.contextmanager
def _package_errors(ctx: click.Context, as_json: bool = False) -> Iterator[None]:
    """Turn the package's errors into one line (or JSON) and exit status 2."""
    try:
        yield
    except DataFileError as exc:
        if as_json:
            _print_json(exc.to_json())
        else:
            click.echo(f"Error: {printable(str(exc))}", err=True)
        ctx.exit(2)
    except AnalyticsError as exc:
        if as_json:
            _print_json({"error": str(exc), "file": None})
        else:
            click.echo(f"Error: {printable(str(exc))}", err=True)
        ctx.exit(2)


# --------------------------------------------------------------------------- import


@click.command("import")
@click.argument("fmt", metavar="FORMAT",
                type=click.Choice(IMPORT_FORMATS, case_sensitive=False))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--patient", "patient_id", required=True,
              help="The patient the file belongs to (their patient_id).")
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path),
              help="The data folder to append to (created if missing).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0),
              help="Most rejects to list in the text output.")
@click.pass_context
def import_command(ctx: click.Context, fmt: str, file: Path, patient_id: str, data_dir: Path,
                   as_json: bool, limit: int) -> None:
    """Import a Strong, Hevy or FitNotes export, or FHIR pain scores, into a data folder.

    FORMAT is strong, hevy, fitnotes, fhir or auto (detect from the file). Sets are
    appended to the sessions table and pain scores to the pain table; rows already there
    are not added again, so importing the same or an overlapping export is safe. Rows
    naming exercises that are not in the catalog are counted and listed, not imported.

    Exit status: 0 nothing rejected, 1 rows rejected (the rest was imported), 2 the file
    could not be read or its format was not recognised.
    """
    from analytics.appendlog import import_parsed
    from analytics.importers import parse_file

    ctx.meta["json"] = as_json
    with _package_errors(ctx, as_json):
        parsed = parse_file(fmt, file, patient_id=patient_id)
        result = import_parsed(data_dir, parsed, patient_id)
    if as_json:
        _print_json(result.to_json())
        ctx.exit(result.exit_status)
    target = printable(", ".join(str(data_dir / w) for w in result.written) or str(data_dir))
    click.echo(f"{result.format} export {printable(result.file)} ({result.variant}) for "
               f"patient {printable(patient_id)} -> {target}")
    click.echo(f"  read {result.read}: imported {result.imported}, duplicates "
               f"{result.duplicates}, not in catalog {result.not_in_catalog}, skipped "
               f"{result.skipped}, rejected {result.rejected}")
    if result.not_in_catalog_names:
        names = ", ".join(f"{n!r} x{c}" for n, c in result.not_in_catalog_names)
        click.echo(f"  not in the catalog, not imported: {names}")
    for name, exercise_id, score in result.fuzzy_links:
        click.echo(f"  linked by similarity: {name!r} -> {exercise_id} ({score:g})")
    if result.rejects:
        click.echo("  rejected:")
        for r in result.rejects[:limit]:
            shown = f" {r.value!r}" if r.value else ""
            click.echo(f"    line {r.line}, {printable(r.column)}:{shown} "
                       f"{printable(r.reason)}")
        if len(result.rejects) > limit:
            click.echo(f"    ... and {len(result.rejects) - limit} more (see --json)")
    ctx.exit(result.exit_status)


# --------------------------------------------------------------------------- log


@click.command("log")
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.argument("exercise")
@click.option("--patient", "patient_id", required=True, help="The patient's patient_id.")
@click.option("--sets", help="Number of identical sets (default 1).")
@click.option("--reps", help="Repetitions per set (a timed hold is 1).")
@click.option("--hold", help="Seconds per repetition: 30, 30s, 0:30, 1 min.")
@click.option("--side", help="left, right, both or each_side.")
@click.option("--rpe", help="Rating of perceived exertion, 0-10.")
@click.option("--notes", help="Free text.")
@click.option("--pain", help="Pain now, 0-10 (also 4/10): adds a pain report.")
@click.option("--context", help="Of the pain report: before_session, after_session "
                                "(default), morning, evening, other.")
@click.option("--symptoms", multiple=True,
              help="Symptom(s) of the pain report (repeatable, or ';'-separated): numbness, "
                   "tingling, weakness, ...")
@click.option("--at", help="When (ISO 8601, e.g. 2025-03-01T08:30; local to the patient "
                           "unless an offset is given). Default: now.")
@click.pass_context
def log_command(ctx: click.Context, data_dir: Path, exercise: str, patient_id: str,
                sets: str | None, reps: str | None, hold: str | None, side: str | None,
                rpe: str | None, notes: str | None, pain: str | None, context: str | None,
                symptoms: tuple[str, ...], at: str | None) -> None:
    """Log one exercise entry (and optionally a pain score) in a data folder.

    Every value is checked with the same rules as `adherence validate`; an entry
    identical to one already logged is refused. Exit status: 0 logged, 1 refused as a
    duplicate, 2 a value is not valid (nothing is written).
    """
    from analytics.appendlog import DuplicateEntryError, EntryValueError, log_entry

    with _package_errors(ctx):
        try:
            result = log_entry(
                data_dir, patient_id, exercise, sets=sets, reps=reps, hold=hold, side=side,
                rpe=rpe, notes=notes, pain=pain, context=context,
                symptoms=";".join(symptoms) if symptoms else None, at=at)
        except EntryValueError as exc:
            option = _LOG_OPTIONS.get(exc.column, exc.column)
            shown = f" {exc.value!r}" if exc.value else ""
            end = "" if exc.reason.endswith(("?", ".")) else "."
            click.echo(f"Error: invalid value for {option}:{shown} {printable(exc.reason)}{end} "
                       "Nothing was logged.", err=True)
            ctx.exit(2)
        except DuplicateEntryError as exc:
            click.echo(f"Error: {printable(str(exc))}", err=True)
            ctx.exit(1)
    row = result.parsed_session
    dose = f"{_num(row.get('sets')) or 1} x {_num(row.get('reps')) or '?'}"
    if row.get("hold_s") is not None:
        dose += f", hold {_num(row['hold_s'])} s"
    when = row["performed_at"]
    shown_at = when.isoformat() if hasattr(when, "isoformat") else str(when)
    click.echo(f"Logged {printable(str(row['exercise']))} ({result.exercise_id}) for "
               f"{printable(patient_id.strip())} at {shown_at} (local time): {dose}.")
    if result.parsed_pain is not None:
        click.echo(f"Logged pain {_num(result.parsed_pain['pain'])}/10 "
                   f"({result.parsed_pain['context']}).")


def _num(value: object) -> str:
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else f"{number:g}"


# --------------------------------------------------------------------------- export


@click.group("export")
def export_group() -> None:
    """Export a patient's data for other systems."""


@export_group.command("fhir")
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--patient", "patient_id", required=True, help="The patient's patient_id.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The JSON file to write (replaced atomically).")
@click.pass_context
def export_fhir_command(ctx: click.Context, data_dir: Path, patient_id: str,
                        out: Path) -> None:
    """Write a patient's pain reports and adherence summary as a FHIR R4 Bundle.

    Pain reports become LOINC 72514-3 Observations; the adherence summary is one
    Observation with components (adherence %, sessions done and prescribed). Exit
    status: 0 written, 2 the data folder could not be read or the patient is unknown.
    """
    from analytics.dataset import load
    from analytics.fhir_export import build_bundle, write_bundle

    with _package_errors(ctx):
        ds = load(data_dir)
        bundle = build_bundle(ds, patient_id)
        path = write_bundle(bundle, out)
    pain = sum(1 for e in bundle["entry"]
               if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "72514-3")
    click.echo(f"Wrote a FHIR R4 Bundle for {printable(patient_id)}: {pain} pain "
               f"observation(s) and the adherence summary -> {printable(str(path))}")
