"""The ``adherence`` command line. Each command parses its options, calls the package
and prints; no analysis happens here. No Python traceback ever reaches the user: the
package's own errors are printed as one clear line (exit status 2), anything else as
an internal-error line (exit status 3)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from analytics.errors import AnalyticsError, DataFileError


def _print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


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
    """Spine exercise adherence analytics: validate exercise logs and pain reports."""


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


def main() -> None:
    """Console entry point (``adherence``)."""
    cli(prog_name="adherence")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
