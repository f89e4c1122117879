"""Property tests: whatever bytes a table file holds, loading either succeeds with
``read == loaded + rejected`` or raises the package's own ``DataFileError``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import DataFileError, load

NOW = pd.Timestamp("2025-06-30T12:00:00Z")
HEADER = "patient_id,performed_at,exercise,sets,reps,hold_s,side,rpe,notes,set_index\n"

cells = st.one_of(
    st.sampled_from(["P1", "P2", "", "2025-03-01T08:00", "2025-19-27", "bridge", "10",
                     "-1", "1:30", "7/10", "x", "=HYPERLINK(1)", '"quoted, cell"', "3,5",
                     "left", "2099-01-01"]),
    st.text(max_size=12),
)
rows = st.lists(st.lists(cells, min_size=1, max_size=12).map(",".join), max_size=15)


def _check(folder: Path) -> None:
    try:
        ds = load(folder, now=NOW)
    except DataFileError as exc:
        assert str(exc)
        return
    for r in ds.accounting.itertuples(index=False):
        assert r.read == r.loaded + r.rejected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_csv_shaped_text_never_escapes(lines):
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / "sessions.csv").write_text(HEADER + "\n".join(lines), encoding="utf-8")
        _check(folder)
    finally:
        shutil.rmtree(folder)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.sampled_from(["sessions", "pain", "programs", "patients"]))
def test_random_bytes_never_escape(data, table):
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / f"{table}.csv").write_bytes(data)
        _check(folder)
    finally:
        shutil.rmtree(folder)
