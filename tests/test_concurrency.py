"""Nothing is lost under concurrency and interruption.

* Two processes append to one data folder at the same moment, many times over: one
  runs ``adherence log`` again and again, the other ``adherence import`` (Strong and
  FHIR files). Every row arrives exactly once, every table still parses with its
  header, the folder loads without a reject and ``read == loaded``.
* A batch report (``adherence report --all``, with worker processes) and an import are
  killed with SIGKILL at random points (several seeds): afterwards every file is
  either the old one or the new one, byte for byte, never partial; the only other files
  are ``.NAME.XXXX.tmp`` temporaries (and the folder's lock file), and the next run
  removes those temporaries.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import analytics
from analytics.appendlog import LOCK_NAME
from analytics.synth import generate_cohort, write_cohort

REPO = Path(__file__).resolve().parents[1]
PATIENTS = "patient_id,name,timezone\nP1,Ann,Europe/London\n"
STRONG_HEADER = ("Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,"
                 "Seconds,Notes,Workout Notes,RPE\n")
TMP = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")


def strong_export(day0: dt.date, days: int, tag: str) -> str:
    """A Strong export: three exercises x three sets a day for ``days`` days."""
    rows = []
    for d in range(days):
        when = dt.datetime.combine(day0 + dt.timedelta(days=d), dt.time(7, 30))
        for exercise in ("Glute Bridge", "Plank", "Bird Dog"):
            for s in range(1, 4):
                plank = exercise == "Plank"
                rows.append(f'{when:%Y-%m-%d %H:%M:%S},"{tag}",10m,"{exercise}",{s},0,'
                            f'{0 if plank else 10},0,{30 if plank else 0},"{tag} {d}",,\n')
    return STRONG_HEADER + "".join(rows)


def fhir_ndjson(day0: dt.date, days: int) -> str:
    line = ('{{"resourceType": "Observation", "status": "final", "code": {{"coding": '
            '[{{"system": "http://loinc.org", "code": "72514-3"}}]}}, '
            '"effectiveDateTime": "{when}T21:00:00Z", "valueInteger": {v}}}')
    return "\n".join(line.format(when=(day0 + dt.timedelta(days=d)).isoformat(), v=d % 11)
                     for d in range(days)) + "\n"


def _table_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and records of a CSV the package wrote; every record has the header's
    width (a torn write would break that)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        records = [r for r in csv.reader(handle) if r]
    header, rows = records[0], records[1:]
    assert all(len(r) == len(header) for r in rows), path
    return header, rows


def _leftovers(folder: Path, known: set[str]) -> list[str]:
    """Files in ``folder`` that are neither ``known`` nor temporaries nor the lock."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name not in known and p.name != LOCK_NAME and not TMP.match(p.name))


# --------------------------------------------------------------------------- concurrency

_APPENDER = r'''
import sys, time
from pathlib import Path
from analytics.cli import cli

role, folder, go, n = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
files = sys.argv[5:]
while not go.exists():
    time.sleep(0.005)
failures = 0
for i in range(n):
    if role == "log":
        args = ["log", folder, "bridge", "--patient", "P1", "--reps", "10", "--pain",
                str(i % 11), "--notes", f"entry {i}", "--at", f"2025-06-01T08:{i:02d}"]
    else:
        f = files[i]
        args = ["import", "fhir" if f.endswith(".ndjson") else "strong", f, "--patient", "P1",
                "--data", folder]
    code = cli.main(args, prog_name="adherence", standalone_mode=False)
    failures += code not in (None, 0)
print(f"FAILURES {failures}")
'''


def test_log_and_import_at_once_lose_nothing(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    exports = []
    for i in range(6):
        path = tmp_path / f"export{i}.csv"
        path.write_text(strong_export(dt.date(2025, 3, 1) + dt.timedelta(days=3 * i), 3,
                                      f"W{i}"), encoding="utf-8")
        exports.append(str(path))
    scores = tmp_path / "scores.ndjson"
    scores.write_text(fhir_ndjson(dt.date(2025, 3, 1), 20), encoding="utf-8")
    exports.insert(3, str(scores))
    go = tmp_path / "go"
    n_log = 30
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, role, str(data), str(go),
                               str(n), *files], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for role, n, files in (("log", n_log, []), ("import", len(exports), exports))]
    time.sleep(1.0)  # both have imported the package and wait for the start signal
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.splitlines()[-1] == "FAILURES 0", err
    sets = 6 * 3 * 9
    ds = analytics.load(data)
    assert ds.rejects.empty, ds.rejects.head().to_dict("records")
    assert len(ds.sessions) == n_log + sets
    assert len(ds.pain) == n_log + 20
    assert sorted(ds.sessions.loc[ds.sessions["source"] == "log", "notes"]) == sorted(
        f"entry {i}" for i in range(n_log))
    for r in ds.accounting.itertuples(index=False):
        assert r.read == r.loaded + r.rejected and r.rejected == 0
    for table, n in (("sessions", n_log + sets), ("pain", n_log + 20)):
        header, rows = _table_rows(data / f"{table}.csv")
        assert header[:2] == ["patient_id", "performed_at" if table == "sessions"
                              else "reported_at"]
        assert len(rows) == n
    assert _leftovers(data, {"patients.csv", "sessions.csv", "pain.csv"}) == []
    assert not [p for p in data.iterdir() if TMP.match(p.name)]


# --------------------------------------------------------------------------- interruption


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: _digest(p) for p in folder.iterdir()
            if p.is_file() and not TMP.match(p.name) and p.name != LOCK_NAME}


def _run_killed(args: list[str], delay: float, env: dict[str, str]) -> bool:
    """Run the ``adherence`` command; SIGKILL it and its workers after ``delay`` seconds.
    Returns True when it was killed (False: it finished first)."""
    p = subprocess.Popen([sys.executable, "-m", "analytics.cli", *args], cwd=REPO, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        return True
    finally:
        if p.stderr is not None:
            p.stderr.close()
    assert p.returncode == 0
    return False


def _age(folder: Path) -> None:
    """Make every temporary in ``folder`` look abandoned an hour ago."""
    old = time.time() - 3600
    for p in folder.iterdir():
        if TMP.match(p.name):
            os.utime(p, (old, old))


def _complete_html(folder: Path) -> None:
    for p in folder.glob("*.html"):
        assert p.read_bytes().rstrip().endswith(b"</html>"), p.name


def test_killed_batch_report_leaves_every_file_old_or_new(tmp_path: Path):
    data = tmp_path / "data"
    write_cohort(generate_cohort(n_patients=3, days=14, seed=5), data)
    out = tmp_path / "reports"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1600000000"}
    args = ["report", str(data), "--all", "--out", str(out), "--workers", "2"]
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "analytics.cli", *args], cwd=REPO, env=env,
                   check=True, capture_output=True)
    duration = time.monotonic() - start
    old = _snapshot(out)
    assert len(old) == 4
    env["SOURCE_DATE_EPOCH"] = "1700000000"  # the new run's files differ from the old
    states = []
    killed = 0
    for seed in (1, 2, 3):
        delay = random.Random(seed).uniform(0.25, 1.1) * duration
        killed += _run_killed(args, delay, env)
        _complete_html(out)
        states.append(_snapshot(out))
        assert _leftovers(out, set(old)) == []
    assert killed >= 2
    _age(out)
    _run_killed(args, 120, env)  # completes
    new = _snapshot(out)
    assert set(new) == set(old) and all(new[n] != old[n] for n in new)
    for state in states:
        assert set(state) <= set(old)
        for name, digest in state.items():
            assert digest in (old[name], new[name]), name
    assert not [p for p in out.iterdir() if TMP.match(p.name)]  # stale temporaries removed


def test_killed_import_leaves_the_table_old_or_new(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    (data / "sessions.csv").write_text(
        "patient_id,performed_at,exercise,reps\nP1,2025-01-02T08:00,bridge,10\n",
        encoding="utf-8")
    export = tmp_path / "export.csv"
    export.write_text(strong_export(dt.date(2024, 1, 1), 200, "W"), encoding="utf-8")
    old = _digest(data / "sessions.csv")
    args = ["import", "strong", str(export), "--patient", "P1", "--data", str(data)]
    env = dict(os.environ)
    reference = tmp_path / "reference"
    reference.mkdir()
    for name in ("patients.csv", "sessions.csv"):
        (reference / name).write_bytes((data / name).read_bytes())
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "analytics.cli", *args[:-1], str(reference)],
                   cwd=REPO, check=True, capture_output=True)
    duration = time.monotonic() - start
    new = _digest(reference / "sessions.csv")
    # A temporary left by a writer killed earlier is cleaned up by the next append.
    (data / ".sessions.csv.deadbeef.tmp").write_text("partial", encoding="utf-8")
    for seed in (1, 2, 3):
        delay = random.Random(seed).uniform(0.3, 1.0) * duration
        _run_killed(args, delay, env)
        assert _digest(data / "sessions.csv") in (old, new)
        assert _leftovers(data, {"patients.csv", "sessions.csv"}) == []
        _table_rows(data / "sessions.csv")
    _run_killed(args, 120, env)
    assert _digest(data / "sessions.csv") == new
    assert not [p for p in data.iterdir() if TMP.match(p.name)]
    ds = analytics.load(data)
    assert ds.rejects.empty and len(ds.sessions) == 1 + 200 * 9


@pytest.mark.parametrize("seed", [7])
def test_killed_log_never_tears_the_table(tmp_path: Path, seed: int):
    """``adherence log`` killed at random moments while another log runs: the tables
    always parse, and every entry that reported success is there exactly once."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    rng = random.Random(seed)
    done = 0
    for i in range(3):
        _run_killed(["log", str(data), "plank", "--patient", "P1", "--hold", "30",
                     "--at", f"2025-06-02T09:{i:02d}"], rng.uniform(0.5, 2.0), dict(os.environ))
        ok = subprocess.run([sys.executable, "-m", "analytics.cli", "log", str(data), "bridge",
                             "--patient", "P1", "--reps", "10", "--at",
                             f"2025-06-01T08:{i:02d}"], cwd=REPO, capture_output=True)
        done += ok.returncode == 0
        if (data / "sessions.csv").exists():
            _table_rows(data / "sessions.csv")
    ds = analytics.load(data)
    assert ds.rejects.empty
    assert (ds.sessions["exercise"] == "bridge").sum() == done == 3
