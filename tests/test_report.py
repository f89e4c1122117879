"""HTML reports: sections show the metrics' values, text is escaped, de-identified
output holds no identifier, and two runs give the same bytes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NOW
from test_adherence import PROGRAM_HEADER, SESSION_HEADER, _rows

import analytics.report.batch as batch_module
from analytics import load
from analytics.cli import cli
from analytics.metrics.summary import compute
from analytics.report.batch import ReportJob, render_one, write_all
from analytics.report.context import patient_context
from analytics.report.pseudonym import Pseudonymizer

EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture
def small(make_folder):
    patients = ("patient_id,name,timezone,notes\n"
                f'P1,"Ann {EVIL}",Europe/London,"secret note {EVIL}"\n'
                "P2,Bob Jones,America/New_York,Qprivnote\n")
    programs = (PROGRAM_HEADER + "P1,pelvic tilt,2025-03-03,,10,5,1,7\n"
                "P1,bridge,2025-03-03,,10,3,1,7\n")
    days = [f"2025-03-{d:02d}" for d in range(3, 17)]
    sessions = (SESSION_HEADER + _rows("P1", days[:10], ["08:00"]) +
                _rows("P1", days[:10], ["08:05"], "bridge") +
                f'P1,2025-03-05T09:00,"{EVIL}",10,\n'
                "P1,2025-03-06T09:00,bridge,-5,\n")
    pain = ("patient_id,reported_at,pain,context,symptoms,notes\n"
            + "".join(f"P1,2025-03-{d:02d}T20:00,{p},evening,,\n"
                      for d, p in [(2, 6), (3, 6), (4, 7), (14, 3), (15, 3), (16, 4)])
            + f'P1,2025-03-10T20:00,5,evening,numbness,"{EVIL}"\n')
    folder = make_folder({"patients.csv": patients, "programs.csv": programs,
                          "sessions.csv": sessions, "pain.csv": pain})
    ds = load(folder, now=NOW)
    return folder, ds, compute(ds, to="2025-03-16")


def _text(html: str) -> str:
    return re.sub(r"<script.*?</script>", "", html, flags=re.S)


def test_sections_show_metric_values(small):
    _, ds, m = small
    ctx = patient_context(ds, m, "P1", generated="2025-01-01 00:00 UTC")
    row = m.summary.set_index("patient_id").loc["P1"]
    cards = {c.label: c for c in ctx.cards}
    assert cards["Adherence"].value == f"{row['adherence_pct']:.1f}%"
    assert f"{int(row['sessions_done'])} of {int(row['sessions_prescribed'])}" in \
        cards["Adherence"].detail
    assert cards["Pain change"].detail.startswith("clinically important improvement: ")
    assert [p.exercise for p in ctx.program] == ["Pelvic tilt", "Bridge"]
    assert ctx.alerts[0].kind == "red_flag"  # red flags first
    assert any("contact your spine professional" in a for a in ctx.alert_advice)
    assert [(r.line, r.column) for r in ctx.rejects] == [(23, "reps")]
    assert ctx.unlinked == ((EVIL, 1),)
    html = render_one(ReportJob(ds, m, generated="x"), "P1")
    for section in ("program", "headline", "alerts", "consistency", "holds", "pain", "dose",
                    "data-quality", "methods"):
        assert f'<section id="{section}">' in html
    assert "Farrar" in html and "Ostelo" in html
    assert html.count("<script>") == 2  # plotly.js once + the chart loader


def test_user_text_is_escaped(small):
    _, ds, m = small
    html = render_one(ReportJob(ds, m, generated="x"), "P1")
    visible = _text(html)
    assert "<script>alert(1)" not in visible
    assert "<img src=x" not in visible
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in visible
    # Inside embedded JSON nothing can close the script element.
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html,
                            flags=re.S):
        assert "<" not in block


def test_deidentified_report_holds_no_identifier(small, monkeypatch, tmp_path):
    folder, _, _ = small
    # Identifiers distinctive enough not to occur by chance inside plotly.js.
    idents = {"P1": "QXZ7W1K", "P2": "QXZ7W2M", "Ann": "Annabelqx", "Bob Jones": "Bobqx Jonesqx"}
    deid_data = tmp_path / "deid-data"
    deid_data.mkdir()
    for f in folder.glob("*.csv"):
        text = f.read_text(encoding="utf-8")
        for old, new in idents.items():
            text = text.replace(old, new)
        (deid_data / f.name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("ADHERENCE_PSEUDONYM_KEY", "test-key")
    out = tmp_path / "deid"
    result = CliRunner().invoke(cli, ["report", str(deid_data), "--all", "--deidentify",
                                      "--out", str(out), "--to", "2025-03-16",
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    for value in idents.values():
        assert value not in result.output
    files = sorted(out.glob("*.html"))
    assert len(files) == 3  # two patients + index
    for f in files:
        html = f.read_text(encoding="utf-8")
        for ident in [*idents.values(), "Jonesqx", "secret note", "Qprivnote", str(deid_data)]:
            assert ident not in html, (f.name, ident)
            assert ident not in f.name
    assert Pseudonymizer(b"test-key")("QXZ7W1K") in (out / "index.html").read_text()


def test_two_runs_give_identical_bytes(small, monkeypatch, tmp_path):
    folder, ds, m = small
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    runner = CliRunner()
    outs = []
    for i in range(2):
        target = tmp_path / f"r{i}.html"
        result = runner.invoke(cli, ["report", str(folder), "--patient", "P1", "--out",
                                     str(target)])
        assert result.exit_code == 0, result.output
        outs.append(target.read_bytes())
    assert outs[0] == outs[1]
    assert b"2023-11-14 22:13 UTC" in outs[0]


def test_patient_audience_hides_detail(small):
    _, ds, m = small
    html = render_one(ReportJob(ds, m, audience="patient", generated="x"), "P1")
    assert "Your exercise progress" in html
    assert "Data quality" in html and "<th>Reason</th>" not in html
    assert "chart-dose" not in html


def test_all_writes_index_linking_every_patient(small, tmp_path):
    _, ds, m = small
    index = write_all(ReportJob(ds, m, generated="x"), tmp_path / "out", workers=2)
    html = index.read_text(encoding="utf-8")
    assert 'href="P1.html"' in html and 'href="P2.html"' in html
    assert (tmp_path / "out" / "P1.html").exists()
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_all_shares_the_reports_between_worker_processes(tmp_path, monkeypatch):
    """``workers=2`` writes the reports in two forked worker processes (not here)."""
    ds = load(Path(__file__).resolve().parent.parent / "data")
    m = compute(ds)
    seen = tmp_path / "pids"
    seen.mkdir()
    real = batch_module.write_one

    def recording(job, patient_id, path):
        time.sleep(0.05)  # long enough that both workers take tasks
        (seen / f"{patient_id}.pid").write_text(str(os.getpid()), encoding="utf-8")
        return real(job, patient_id, path)

    monkeypatch.setattr(batch_module, "write_one", recording)
    write_all(ReportJob(ds, m, generated="x"), tmp_path / "out", workers=2)
    pids = {p.read_text(encoding="utf-8") for p in seen.iterdir()}
    assert len(list(seen.iterdir())) == len(m.summary)
    assert len(pids) == 2 and str(os.getpid()) not in pids


def test_report_cli_errors(small):
    folder, _, _ = small
    runner = CliRunner()
    assert runner.invoke(cli, ["report", str(folder)]).exit_code == 2
    bad = runner.invoke(cli, ["report", str(folder), "--patient", "NOPE"])
    assert bad.exit_code == 2 and "unknown patient" in bad.output


def _run_report_all(folder, out, *, tty: bool, timeout_s: float = 120.0
                    ) -> tuple[int, str, str]:
    """Run ``adherence report --all`` in a child process, stderr on a 100-column
    pseudo-terminal when ``tty``; returns (exit code, stdout, stderr). The child is
    killed if it has not finished within ``timeout_s``."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    args = [sys.executable, "-m", "analytics.cli", "report", str(folder), "--all",
            "--out", str(out), "--workers", "1"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    if not tty:
        done = subprocess.run(args, capture_output=True, text=True, env=env,
                              timeout=timeout_s)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    # A fresh pseudo-terminal is 0 columns wide (tqdm would draw an empty bar).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    with tempfile.TemporaryFile() as stdout:
        proc = subprocess.Popen(args, stdout=stdout, stderr=follower, env=env)
        os.close(follower)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("report --all did not finish")
                if not select.select([leader], [], [], remaining)[0]:
                    continue
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal (EIO on Linux)
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(leader)
        stdout.seek(0)
        text = stdout.read().decode()
    return code, text, b"".join(chunks).decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")
def test_report_all_shows_progress_bar_only_on_a_terminal(small, tmp_path):
    folder, _, _ = small
    code, stdout, stderr = _run_report_all(folder, tmp_path / "tty", tty=True)
    assert code == 0, stderr
    # tqdm draws "n/total" and the rate in reports per second; the bar is erased at
    # the end (leave=False), so the last state drawn depends on timing.
    assert "0/2 [" in stderr and "report/s" in stderr, stderr
    assert "Wrote 2 report(s)" in stdout and "P1:" in stdout
    code, stdout, stderr = _run_report_all(folder, tmp_path / "pipe", tty=False)
    assert code == 0, stderr
    assert "/2 [" not in stderr and "report/s" not in stderr
    assert "Wrote 2 report(s)" in stdout


def test_report_file_names_never_collide(small):
    _, ds, m = small
    job = ReportJob(ds, m)
    ids = ["P/1", "P_1", "p1", "P1", "index", "../../etc", "a" * 300, ".hidden", ""]
    names = job.file_names(ids)
    assert set(names) == set(ids)
    folded = [n.casefold() for n in names.values()]
    assert len(set(folded)) == len(ids) and "index.html" not in folded
    # An id that is a file name as it stands keeps it; the others get -2, -3, ...
    assert names["P_1"] == "P_1.html" and names["P/1"] == "P_1-2.html"
    assert names["P1"] == "P1.html" and names["p1"] == "p1-2.html"
    assert names["index"] == "index-2.html"
    assert all("/" not in n and not n.startswith(".") and len(n) < 120 for n in names.values())
