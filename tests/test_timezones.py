"""Day assignment in the patient's time zone, including DST gaps and overlaps."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics import load

HEADER = "patient_id,performed_at,exercise,reps,hold_s\n"


@pytest.mark.parametrize(("patient", "stamp", "local", "utc"), [
    pytest.param("P2", "2025-03-01T23:30", "2025-03-01 23:30", "2025-03-02 04:30",
                 id="naive-is-local"),
    pytest.param("P2", "2025-03-02T02:00:00Z", "2025-03-01 21:00", "2025-03-02 02:00",
                 id="utc-converted-to-local-previous-day"),
    pytest.param("P1", "2025-06-01T00:30:00+02:00", "2025-05-31 23:30", "2025-05-31 22:30",
                 id="offset-converted"),
    # America/New_York springs forward at 02:00 on 2025-03-09: 02:30 does not exist and
    # is shifted forward to 03:00 local.
    pytest.param("P2", "2025-03-09T02:30", "2025-03-09 03:00", "2025-03-09 07:00",
                 id="ny-spring-gap"),
    # ...and falls back at 02:00 on 2025-11-02: 01:30 occurs twice; the first (EDT).
    pytest.param("P2", "2025-11-02T01:30", "2025-11-02 01:30", "2025-11-02 05:30",
                 id="ny-fall-overlap-first"),
    # Europe/London: gap 01:00-02:00 on 2025-03-30, overlap 01:00-02:00 on 2025-10-26.
    pytest.param("P1", "2025-03-30T01:15", "2025-03-30 02:00", "2025-03-30 01:00",
                 id="london-spring-gap"),
    pytest.param("P1", "2025-10-26T01:15", "2025-10-26 01:15", "2025-10-26 00:15",
                 id="london-fall-overlap-first"),
])
def test_local_day_and_dst_rule(make_folder, patient, stamp, local, utc):
    now = pd.Timestamp("2026-01-01T00:00Z")
    ds = load(make_folder({"sessions.csv": f"{HEADER}{patient},{stamp},bridge,10,3\n"}), now=now)
    row = ds.sessions.iloc[0]
    assert row["performed_at"] == pd.Timestamp(local)
    assert row["performed_at_utc"] == pd.Timestamp(utc, tz="UTC")
    assert row["local_day"] == pd.Timestamp(local).normalize()
