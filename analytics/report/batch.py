"""Writing report files: one patient, or every patient plus the caseload ``index.html``.

Each file is written to a temporary file beside its target and renamed into place, so
an interrupted run leaves every report either old or new, never half-written; the next
batch into the same folder removes temporaries that a killed run left behind (those
older than :data:`analytics.fsutil.STALE_AFTER_S`). The batch uses worker processes (two
by default, one per core) that inherit the computed metrics by ``fork``, so nothing large
is copied between processes.

File names come from the patient id (``P001.html``; characters other than letters,
digits, ``.``, ``_`` and ``-`` become ``_``) or, when de-identifying, from the pseudonym.
Two patients never share a file: when names collide (``P/1`` and ``P_1``, ``p1`` and
``P1`` on a case-insensitive disk, or two pseudonyms alike) an id that is a file name as
it stands keeps it and the others, in id order, get ``-2``, ``-3``... appended (a
patient called ``index`` gets ``index-2.html``: ``index.html`` is the overview).
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from analytics.dataset import Dataset
from analytics.fsutil import atomic_write_text, remove_stale_temporaries
from analytics.metrics.summary import CohortMetrics, split_by_patient
from analytics.report.context import (
    PAIN_STATUS_WORDS,
    Audience,
    caseload_context,
    generated_at,
    patient_context,
)
from analytics.report.pseudonym import Pseudonymizer
from analytics.report.render import render_caseload, render_patient

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest file-name stem made from a patient id (file systems allow 255 bytes).
_MAX_STEM = 100


@dataclass(frozen=True)
class ReportJob:
    """Everything needed to write reports of one dataset."""

    ds: Dataset
    metrics: CohortMetrics
    audience: Audience = "therapist"
    pseudonymizer: Pseudonymizer | None = None
    generated: str = ""
    parts: dict[str, tuple[Dataset, CohortMetrics]] | None = None

    def with_parts(self) -> ReportJob:
        """The job with per-patient views precomputed (see ``split_by_patient``)."""
        return replace(self, parts=split_by_patient(self.metrics, self.ds))

    def views(self, patient_id: str) -> tuple[Dataset, CohortMetrics]:
        if self.parts is not None and patient_id in self.parts:
            return self.parts[patient_id]
        return self.ds, self.metrics

    def file_name(self, patient_id: str) -> str:
        """``P001.html``, or the pseudonym's slug when de-identifying."""
        if self.pseudonymizer is not None:
            return self.pseudonymizer.slug(patient_id) + ".html"
        stem = _SAFE.sub("_", patient_id).strip("._")[:_MAX_STEM].rstrip("._")
        return (stem or "patient") + ".html"

    def file_names(self, patient_ids: list[str]) -> dict[str, str]:
        """:meth:`file_name` of each patient, made unique (ignoring case, and never
        ``index.html``) by appending ``-2``, ``-3``... to later ids (in sorted order) whose
        names collide; an id that is a file name as it stands keeps it."""
        names: dict[str, str] = {}
        taken: set[str] = {"index.html"}  # the caseload overview
        # Ids that are file names already keep them; then the others, in id order.
        for pid in sorted(set(patient_ids),
                          key=lambda p: (self.file_name(p) != f"{p}.html", p)):
            base = self.file_name(pid)
            name, n = base, 1
            while name.casefold() in taken:
                n += 1
                name = f"{base[:-len('.html')]}-{n}.html"
            taken.add(name.casefold())
            names[pid] = name
        return names

    def label(self, patient_id: str) -> str:
        return self.pseudonymizer(patient_id) if self.pseudonymizer else patient_id


def render_one(job: ReportJob, patient_id: str) -> str:
    """The HTML of one patient's report."""
    ds, metrics = job.views(patient_id)
    ctx = patient_context(ds, metrics, patient_id, audience=job.audience,
                          pseudonymizer=job.pseudonymizer,
                          generated=job.generated or generated_at())
    return render_patient(ctx)


def write_one(job: ReportJob, patient_id: str, out: Path) -> Path:
    """Write one patient's report to ``out`` atomically; returns the path."""
    atomic_write_text(out, render_one(job, patient_id))
    return out


def summary_line(job: ReportJob, patient_id: str, path: Path) -> str:
    """One line for the terminal: adherence, pain status, alerts and the file."""
    s = job.metrics.summary
    row = s[s["patient_id"] == patient_id].iloc[0]
    adherence = ("no program" if pd.isna(row["adherence_pct"])
                 else f"adherence {row['adherence_pct']:.1f}%")
    alerts = row["alerts"]
    urgent = sum(1 for a in alerts if a["severity"] == "urgent")
    alert_text = f"{len(alerts)} alert(s)" + (f", {urgent} URGENT" if urgent else "")
    return (f"{job.label(patient_id)}: {adherence}; pain "
            f"{PAIN_STATUS_WORDS[row['pain_status']]}; {alert_text} -> {path}")


_JOB: ReportJob | None = None  # set in the parent just before forking workers


def _work(args: tuple[str, str]) -> tuple[str, str]:
    patient_id, out = args
    if _JOB is None:  # only reachable if a worker was started outside _run
        raise RuntimeError("report worker started without a job")
    path = write_one(_JOB, patient_id, Path(out))
    return patient_id, str(path)


def _run(job: ReportJob, tasks: list[tuple[str, str]], workers: int) -> Iterator[tuple[str, str]]:
    global _JOB
    if workers <= 1 or len(tasks) <= 1:
        for pid, out in tasks:
            yield pid, str(write_one(job, pid, Path(out)))
        return
    _JOB = job
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            yield from pool.map(_work, tasks, chunksize=max(1, len(tasks) // (workers * 8)))
    finally:
        _JOB = None


def write_all(job: ReportJob, out_dir: Path, *, workers: int = 2,
              on_done: Callable[[str, Path], None] | None = None) -> Path:
    """Write every patient's report and ``index.html`` into ``out_dir``.

    ``on_done(patient_id, path)`` is called as each report is finished (for progress
    output). Returns the path of ``index.html``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if job.parts is None:
        job = job.with_parts()
    ids = [str(p) for p in job.metrics.summary["patient_id"]]
    hrefs = job.file_names(ids)
    remove_stale_temporaries(out_dir, [*hrefs.values(), "index.html"])
    tasks = [(pid, str(out_dir / hrefs[pid])) for pid in ids]
    for pid, path in _run(job, tasks, workers):
        if on_done is not None:
            on_done(pid, Path(path))
    names = None
    if job.pseudonymizer is None and "name" in job.ds.patients.columns:
        names = {str(k): str(v) for k, v in zip(job.ds.patients["patient_id"],
                                                job.ds.patients["name"], strict=True)
                 if isinstance(v, str)}
    index = caseload_context(job.metrics, hrefs, pseudonymizer=job.pseudonymizer,
                             names=names, generated=job.generated or generated_at())
    target = out_dir / "index.html"
    atomic_write_text(target, render_caseload(index))
    return target
