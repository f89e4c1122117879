"""Benchmark: one dashboard update after a control change, for patients with a year of data.

Usage::

    python benchmarks/bench_dashboard.py [--patients 12] [--days 365] [--seed 3]

Generates a cohort, builds the therapist review (analytics.dashboard.TherapistDashboard)
and times each control change by calling the callback in Python (the widget's value is
set; the observer runs synchronously): a new patient (first visit and a revisit), another
adherence threshold, another exercise selection and another period (three periods for
each of four patients, each period computed afresh). Prints the median
and maximum milliseconds per kind; the goal is <= 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from analytics.dashboard import TherapistDashboard
from analytics.synth import generate_cohort, write_cohort

GOAL_MS = 150.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write_cohort(generate_cohort(n_patients=args.patients, days=args.days,
                                     seed=args.seed), data)
        t0 = time.perf_counter()
        dash = TherapistDashboard(data, reports_dir=Path(tmp) / "reports")
        start_s = time.perf_counter() - t0
        ids = dash.data.patient_ids
        times: dict[str, list[float]] = {k: [] for k in (
            "patient (first visit)", "patient (revisit)", "threshold", "exercises", "period")}
        for pid in ids[1:] + ids[:1]:
            dash.select_patient(pid)
            times["patient (first visit)"].append(dash.last_update_s)
        for pid in ids[1:] + ids[:1]:
            dash.select_patient(pid)
            times["patient (revisit)"].append(dash.last_update_s)
        for value in (70, 75, 85, 90, 80):
            dash.set_threshold(value)
            times["threshold"].append(dash.last_update_s)
        options = [key for _, key in dash.exercises.options]
        for n in range(1, len(options) + 1):
            dash.set_exercises(options[:n])
            times["exercises"].append(dash.last_update_s)
        as_of = dash.data.base.as_of
        # A new period for four patients, three periods each (each computed afresh).
        for pid in ids[:4]:
            dash.set_period(None, None)
            dash.select_patient(pid)
            for days in (90, 180, 270):
                dash.set_period(as_of - pd.Timedelta(days=days), as_of)
                times["period"].append(dash.last_update_s)
    print(f"cohort: {args.patients} patients x {args.days} days; dashboard start {start_s:.2f} s")
    for kind, values in times.items():
        ms = [v * 1000 for v in values]
        flag = "ok" if statistics.median(ms) <= GOAL_MS else "over"
        print(f"{kind:24s} median {statistics.median(ms):6.0f} ms  max {max(ms):6.0f} ms  "
              f"(n={len(ms)}, goal {GOAL_MS:.0f} ms: {flag})")


if __name__ == "__main__":
    main()
