"""The ``adherence`` command line. Each command parses its options, calls the package
and prints; no analysis happens here. No Python traceback ever reaches the user: the
package's own errors are printed as one clear line (exit status 2), anything else as
an internal-error line (exit status 3)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from analytics.errors import AnalyticsError, DataFileError
from analytics.textfmt import printable, to_json_text


def _print_json(obj: Any) -> None:
    click.echo(to_json_text(obj))


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except DataFileError as exc:
            if ctx.meta.get("json"):
                _print_json(exc.to_json())
            else:
                click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except AnalyticsError as exc:
            if ctx.meta.get("json"):
                _print_json({"error": str(exc), "file": None})
            else:
                click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except OSError as exc:  # a file or folder that cannot be read or written
            where = exc.filename if exc.filename is not None else "a file"
            message = f"cannot use {where}: {exc.strerror or exc}"
            if ctx.meta.get("json"):
                _print_json({"error": message, "file": exc.filename})
            else:
                click.echo(f"Error: {printable(message)}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as exc:  # last resort: no traceback for users
            click.echo(f"Internal error ({type(exc).__name__}: {exc}). Please report it with "
                       "the command you ran.", err=True)
            ctx.exit(3)


@click.group(cls=_Group)
@click.version_option(package_name="spine-adherence-analytics")
def cli() -> None:
    """Spine exercise adherence analytics: import, validate, summarise and report exercise
    logs and pain self-reports."""


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def catalog(as_json: bool) -> None:
    """Show the exercise catalog built from the five source articles."""
    from analytics.catalog import format_table, load_catalog

    cat = load_catalog()
    if as_json:
        _print_json(cat.to_records())
    else:
        click.echo(format_table(cat))


@cli.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--limit", default=50, show_default=True,
              help="Most rejects and names to list in the text output.")
@click.pass_context
def validate(ctx: click.Context, data_dir: Path, as_json: bool, limit: int) -> None:
    """Check a data folder: per-table counts, rejected rows, unlinked names.

    Exit status: 0 all loaded and linked, 1 rows rejected or names unlinked, 2 a file
    could not be read.
    """
    from analytics.dataset import load
    from analytics.validation_report import exit_status, validation_json, validation_text

    ctx.meta["json"] = as_json
    ds = load(data_dir)
    if as_json:
        _print_json(validation_json(ds))
    else:
        click.echo(validation_text(ds, limit=limit))
    ctx.exit(exit_status(ds))


@cli.command()
@click.option("--patients", default=12, show_default=True, help="Number of patients.")
@click.option("--days", default=84, show_default=True, help="Days of data per patient.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder to write patients, programs, sessions and pain tables to.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True)
def synth(patients: int, days: int, seed: int, out_dir: Path, fmt: str) -> None:
    """Generate a realistic synthetic cohort (deterministic for a seed)."""
    from analytics.synth import generate_cohort, write_cohort

    if patients < 1 or days < 1:
        raise click.BadParameter("--patients and --days must be at least 1")
    cohort = generate_cohort(n_patients=patients, days=days, seed=seed)
    paths = write_cohort(cohort, out_dir, fmt=fmt)
    for p in paths:
        click.echo(f"wrote {p}")


def _engine_options(func: Any) -> Any:
    """``--engine`` and ``--scheduler`` (shared by ``summary`` and ``report``)."""
    func = click.option("--scheduler", metavar="ADDRESS",
                        help="With --engine dask: an existing Dask scheduler "
                             "(tcp://host:8786); default: a local cluster.")(func)
    return click.option("--engine", type=click.Choice(["pandas", "dask"]), default="pandas",
                        show_default=True,
                        help="pandas: this process; dask: partitioned by patient on a "
                             "Dask cluster (needs the 'dask' extra).")(func)


def _check_engine(engine: str, scheduler: str | None) -> None:
    if scheduler and engine != "dask":
        raise click.BadParameter("--scheduler needs --engine dask", param_hint="--scheduler")


def _day(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    import datetime as dt

    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)",
                                 param_hint=option) from exc


@cli.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--patient", "patient_ids", multiple=True, help="Only this patient (repeatable).")
@click.option("--from", "start", help="First day to consider (YYYY-MM-DD).")
@click.option("--to", "to", help="As-of day (YYYY-MM-DD); default: last day with any data.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--threshold", type=click.FloatRange(0, 100), default=None,
              help="Adherence threshold in percent (default 80).")
@_engine_options
@click.pass_context
def summary(ctx: click.Context, data_dir: Path, patient_ids: tuple[str, ...],
            start: str | None, to: str | None, fmt: str, threshold: float | None,
            engine: str, scheduler: str | None) -> None:
    """One line per patient: adherence, streaks, pain change and alerts."""
    import dataclasses

    from analytics.dataset import load
    from analytics.metrics.summary import SUMMARY_COLUMNS, compute, summary_records
    from analytics.settings import Settings
    from analytics.summary_text import summary_table

    ctx.meta["json"] = fmt == "json"
    _check_engine(engine, scheduler)
    start, to = _day(start, "--from"), _day(to, "--to")
    settings = Settings()
    if threshold is not None:
        settings = dataclasses.replace(settings, adherence_threshold_pct=threshold)
    if engine == "dask":
        from analytics.engine_dask import compute_dask, session

        with session(scheduler) as client:
            run = compute_dask(data_dir, settings, client=client, start=start, to=to,
                               patients=list(patient_ids) if patient_ids else None)
            known = run.known_patients()
            unknown = [p for p in patient_ids if p not in known]
            if unknown:
                raise click.BadParameter(f"unknown patient {unknown[0]!r}",
                                         param_hint="--patient")
            metrics = run.summary_metrics()
    else:
        ds = load(data_dir)
        known = ds.known_patient_ids
        unknown = [p for p in patient_ids if p not in known]
        if unknown:
            raise click.BadParameter(f"unknown patient {unknown[0]!r}", param_hint="--patient")
        metrics = compute(ds, settings, start=start, to=to,
                          patients=list(patient_ids) if patient_ids else None)
    records = summary_records(metrics.summary)
    if fmt == "json":
        _print_json(records)
    elif fmt == "csv":
        from analytics.textfmt import to_safe_csv

        flat = [r | {"alerts": "; ".join(f"{a['severity']}:{a['kind']}:{a['date']}"
                                         for a in r["alerts"])} for r in records]
        click.echo(to_safe_csv(flat, list(SUMMARY_COLUMNS)), nl=False)
    else:
        click.echo(summary_table(metrics))


@cli.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--patient", "patient_id", help="Write this patient's report.")
@click.option("--all", "all_patients", is_flag=True,
              help="Write every patient's report and the caseload index.html.")
@click.option("--out", "out", type=click.Path(path_type=Path),
              help="Output file (--patient) or folder (--all); default under reports/.")
@click.option("--from", "start", help="First day to consider (YYYY-MM-DD).")
@click.option("--to", "to", help="As-of day (YYYY-MM-DD); default: last day with any data.")
@click.option("--audience", type=click.Choice(["therapist", "patient"]), default="therapist",
              show_default=True, help="patient: plain, encouraging wording, less detail.")
@click.option("--deidentify", is_flag=True,
              help="Pseudonyms instead of ids and names; free-text notes dropped.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Processes for --all.")
@_engine_options
def report(data_dir: Path, patient_id: str | None, all_patients: bool, out: Path | None,
           start: str | None, to: str | None, audience: str, deidentify: bool,
           workers: int, engine: str, scheduler: str | None) -> None:
    """Write self-contained HTML progress reports (open offline, print-ready)."""
    import sys as _sys

    from tqdm import tqdm

    from analytics.dataset import load
    from analytics.metrics.summary import compute
    from analytics.report.batch import ReportJob, summary_line, write_all, write_one
    from analytics.report.context import generated_at
    from analytics.report.pseudonym import load_pseudonymizer

    if bool(patient_id) == bool(all_patients):
        raise click.UsageError("give either --patient ID or --all")
    _check_engine(engine, scheduler)
    start, to = _day(start, "--from"), _day(to, "--to")
    if engine == "dask":
        from analytics.engine_dask import compute_dask, session

        with session(scheduler) as client:  # closed before report workers are forked
            run = compute_dask(data_dir, client=client, start=start, to=to,
                               patients=[patient_id] if patient_id else None)
            if patient_id and patient_id not in run.known_patients():
                raise click.BadParameter(f"unknown patient {patient_id!r}",
                                         param_hint="--patient")
            ds, metrics = run.collect()
    else:
        ds = load(data_dir)
        known = ds.known_patient_ids
        if patient_id and patient_id not in known:
            raise click.BadParameter(f"unknown patient {patient_id!r}", param_hint="--patient")
        metrics = compute(ds, start=start, to=to,
                          patients=[patient_id] if patient_id else None)
    job = ReportJob(ds, metrics, audience=audience,  # type: ignore[arg-type]
                    pseudonymizer=load_pseudonymizer(data_dir) if deidentify else None,
                    generated=generated_at())
    if patient_id:
        target = out or Path("reports") / job.file_name(patient_id)
        path = write_one(job, patient_id, target)
        click.echo(summary_line(job, patient_id, path))
        return
    out_dir = out or Path("reports")
    total = len(metrics.summary)
    bar = tqdm(total=total, unit="report", file=_sys.stderr,
               disable=not _sys.stderr.isatty(), leave=False)
    lines: list[str] = []

    def done(pid: str, path: Path) -> None:
        bar.update(1)
        lines.append(summary_line(job, pid, path))

    index = write_all(job, out_dir, workers=workers, on_done=done)
    bar.close()
    for line in lines:
        click.echo(line)
    click.echo(f"Wrote {total} report(s) and the caseload overview: {index.resolve()}")


def _register_data_commands() -> None:
    from analytics.cli_data import export_group, import_command, log_command

    cli.add_command(import_command)
    cli.add_command(log_command)
    cli.add_command(export_group)


_register_data_commands()


def main() -> None:
    """Console entry point (``adherence``)."""
    cli(prog_name="adherence")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
