"""Benchmark: ``report --all`` on a generated cohort.

Usage::

    python benchmarks/bench_reports.py [--patients 200] [--days 180] [--workers 2]

Prints the time to load+validate+link, compute the metrics, and write every report
plus the caseload index; seconds per report; file sizes; and the per-patient content
size excluding the embedded plotly.js bundle. The reference is a per-patient notebook
run through papermill + nbconvert, measured at about 4.4 s per patient on this kind of
machine; the goal is at least 30x faster (<= 0.15 s per report).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from analytics import load
from analytics.metrics.summary import compute
from analytics.report.batch import ReportJob, write_all
from analytics.report.render import plotly_js
from analytics.synth import generate_cohort, write_cohort

NOTEBOOK_REFERENCE_S = 4.4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        out = Path(tmp) / "reports"
        t0 = time.perf_counter()
        write_cohort(generate_cohort(n_patients=args.patients, days=args.days,
                                     seed=args.seed), data, fmt="parquet")
        t1 = time.perf_counter()
        ds = load(data)
        t2 = time.perf_counter()
        m = compute(ds)
        t3 = time.perf_counter()
        write_all(ReportJob(ds, m, generated="benchmark"), out, workers=args.workers)
        t4 = time.perf_counter()
        sizes = [p.stat().st_size for p in out.glob("*.html") if p.name != "index.html"]
        js = len(plotly_js().encode("utf-8"))
        content = [s - js for s in sizes]

    n = len(sizes)
    total = t4 - t1
    per_report = (t4 - t3) / n
    per_patient_all = total / n
    print(f"cohort: {args.patients} patients x {args.days} days "
          f"({len(ds.sessions):,} session rows, {len(ds.pain):,} pain rows)")
    print(f"generate cohort (not timed below): {t1 - t0:.2f} s")
    print(f"load + validate + link: {t2 - t1:.2f} s")
    print(f"metrics (whole cohort): {t3 - t2:.2f} s")
    print(f"write {n} reports + index ({args.workers} workers): {t4 - t3:.2f} s")
    print(f"seconds per report (rendering only): {per_report:.3f}")
    print(f"seconds per patient (load+metrics+reports): {per_patient_all:.3f}")
    print(f"report size: median {statistics.median(sizes) / 1e6:.2f} MB, "
          f"max {max(sizes) / 1e6:.2f} MB (plotly.js bundle {js / 1e6:.2f} MB)")
    print(f"per-patient content excluding plotly.js: median "
          f"{statistics.median(content) / 1e3:.0f} KB, max {max(content) / 1e3:.0f} KB")
    print(f"speed-up per report vs notebook reference ({NOTEBOOK_REFERENCE_S} s): "
          f"{NOTEBOOK_REFERENCE_S / per_report:.1f}x (goal >= 30x, <= 0.15 s per report)")
    print(f"speed-up per patient including load and metrics: "
          f"{NOTEBOOK_REFERENCE_S / per_patient_all:.1f}x")


if __name__ == "__main__":
    main()
