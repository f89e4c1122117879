"""Shared helpers: write small data folders by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# ``make test`` (and so CI) runs the property tests with ``--hypothesis-profile=ci``: the
# same examples every run, so a red build can be reproduced. Plain ``pytest`` explores new
# random inputs each run (that is how the 1e100 whole-number crash was found).
settings.register_profile("ci", derandomize=True, print_blob=True)

def synth_folder(folder: Path, *, fmt: str = "csv", **cohort: object) -> Path:
    """Write ``generate_cohort(**cohort)`` (ending 2025-06-01 unless ``end_date`` is
    given) into ``folder`` as ``fmt`` tables; returns ``folder``."""
    import datetime as dt

    from analytics.synth import generate_cohort, write_cohort

    cohort.setdefault("end_date", dt.date(2025, 6, 1))
    write_cohort(generate_cohort(**cohort), folder, fmt=fmt)  # type: ignore[arg-type]
    return folder


#: A fixed "now" so that future-date checks do not depend on the clock.
NOW = pd.Timestamp("2025-06-30T12:00:00Z")

PATIENTS = "patient_id,name,timezone\nP1,Ann,Europe/London\nP2,Bob,America/New_York\n"
PROGRAMS = (
    "patient_id,exercise,start_date,end_date,sets,reps,hold_s,times_per_day,days_per_week\n"
    "P1,pelvic tilt,2025-03-01,,1,10,5,1,7\n"
    "P1,bridge,2025-03-01,,,,,1,7\n"
)


@pytest.fixture
def make_folder(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{table: text}`` files into a fresh folder; bytes are written as-is."""

    def make(files: dict[str, str | bytes], *, patients: bool = True) -> Path:
        folder = tmp_path / "data"
        folder.mkdir(exist_ok=True)
        if patients and not any(name.startswith("patients") for name in files):
            (folder / "patients.csv").write_text(PATIENTS, encoding="utf-8")
        for name, content in files.items():
            target = folder / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8", newline="")
        return folder

    return make


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (see tests/browser.py) for one test module.

    Module scope, not session: Playwright's sync API cannot start while another sync
    session is still open (the Voila test starts its own)."""
    from browser import ARGS, chromium_path
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
        yield b
        b.close()
