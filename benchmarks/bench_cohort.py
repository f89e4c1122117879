"""Benchmark: load + validate + link + every cohort metric, against the read floor.

Usage::

    python benchmarks/bench_cohort.py --patients 2000 --days 365 [--engine pandas|dask]
                                      [--seed 1] [--scheduler tcp://...] [--workers N]

The cohort is made once with ``adherence synth --format parquet`` and kept in
``benchmarks/.cache/cohort-<patients>x<days>-s<seed>/`` (git-ignored; delete it to
regenerate). One run measures, and prints:

* the **read floor**: plain ``pandas.read_parquet`` of the same four files (the fastest
  of five reads after one warm-up read; the files are read once before anything else,
  so every figure sees a warm page cache);
* the **pipeline**, first run (the data folder's ``.adherence-cache`` removed first):
  ``analytics.load`` (read, validate, link), then
  ``analytics.metrics.summary.compute`` (every table, the derived ones included) and the
  JSON-ready summary records; with
  ``--engine dask`` the same through :mod:`analytics.engine_dask` on a
  ``distributed.LocalCluster`` (or ``--scheduler``), the cluster's start-up not
  included;
* the **second run** on unchanged data (pandas: validated tables read back from the
  cache);
* **peak memory**: the largest resident set size (RSS, MB) of this process and its
  children (the local cluster's workers) during each run, next to the in-memory size
  of the loaded tables (``DataFrame.memory_usage(deep=True)``).

Times are wall-clock seconds; CPU seconds of this process (for Dask: the client only,
not the workers) are printed beside them because the machine may be shared (re-run to
confirm). The first run is measured first, in a fresh process, so that its memory
figures are not inflated by the read floor's buffers. The last line is
``pipeline/read_floor: X.X``, the first run's ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from analytics import load
from analytics.cache import CACHE_DIR
from analytics.metrics.summary import DERIVED_TABLES, compute, summary_records

ROOT = Path(__file__).resolve().parent
TABLES = ("patients", "programs", "sessions", "pain")


class PeakRSS:
    """Samples the RSS of this process and its children every ``interval`` seconds."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def rss(self) -> int:
        """Current RSS in bytes (this process and its children)."""
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self.rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, self.rss())


def timed(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, wall seconds, CPU seconds of this process)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def cohort(patients: int, days: int, seed: int, cache_dir: Path = ROOT / ".cache") -> Path:
    """The cohort folder, generated with ``adherence synth --format parquet`` if missing."""
    folder = cache_dir / f"cohort-{patients}x{days}-s{seed}"
    if all((folder / f"{t}.parquet").is_file() for t in TABLES):
        print(f"cohort: reusing {folder}")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"cohort: generating {folder} ...", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analytics.cli", "synth", "--patients", str(patients),
                    "--days", str(days), "--seed", str(seed), "--format", "parquet",
                    "--out", str(folder)], check=True, stdout=subprocess.DEVNULL)
    print(f"cohort: generated in {time.perf_counter() - start:.1f} s")
    return folder


def read_floor(folder: Path) -> float:
    """Fastest of five plain ``pandas.read_parquet`` reads of the four files (seconds)."""
    def read() -> None:
        for t in TABLES:
            pd.read_parquet(folder / f"{t}.parquet")

    read()  # warm-up: page cache and allocator
    return min(timed(read)[1] for _ in range(5))


def table_mb(ds: Any) -> float:
    """In-memory size of the loaded tables, MB."""
    return sum(int(getattr(ds, t).memory_usage(deep=True).sum()) for t in TABLES) / 1e6


def every_table(m: Any) -> list[dict[str, Any]]:
    """Summary records of ``m``, after reading every derived table too (they are
    computed on first read), so that the figure covers all cohort metrics."""
    for name in DERIVED_TABLES:
        getattr(m, name)
    return summary_records(m.summary)


def run_pandas(folder: Path) -> dict[str, Any]:
    with PeakRSS() as memory:
        base = memory.peak
        ds, t_load, c_load = timed(lambda: load(folder))
        records, t_metrics, c_metrics = timed(lambda: every_table(compute(ds)))
    return {"load": t_load, "load_cpu": c_load, "metrics": t_metrics, "metrics_cpu": c_metrics,
            "peak": memory.peak, "base": base, "tables_mb": table_mb(ds),
            "patients": len(records),
            "sessions": len(ds.sessions), "pain": len(ds.pain)}


def run_dask(folder: Path, client: Any) -> dict[str, Any]:
    from analytics.engine_dask import compute_dask

    with PeakRSS() as memory:
        base = memory.peak
        run, t_load, c_load = timed(lambda: compute_dask(folder, client=client))
        records, t_metrics, c_metrics = timed(lambda: summary_records(run.summary()))
    return {"load": t_load, "load_cpu": c_load, "metrics": t_metrics, "metrics_cpu": c_metrics,
            "peak": memory.peak, "base": base, "patients": len(records)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=("pandas", "dask"), default="pandas")
    parser.add_argument("--scheduler", help="dask: an existing scheduler (tcp://host:8786)")
    parser.add_argument("--workers", type=int, default=None,
                        help="dask: local worker processes (default: one per CPU)")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache",
                        help="where generated cohorts are kept (default benchmarks/.cache)")
    args = parser.parse_args(argv)

    folder = cohort(args.patients, args.days, args.seed, args.cache_dir)
    size = sum((folder / f"{t}.parquet").stat().st_size for t in TABLES) / 1e6
    print(f"cohort: {args.patients} patients x {args.days} days, Parquet {size:.1f} MB, "
          f"engine {args.engine}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")

    for t in TABLES:  # warm the page cache without touching this process's heap
        (folder / f"{t}.parquet").read_bytes()

    client = None
    if args.engine == "dask":
        from analytics.engine_dask import connect

        client, t_cluster, _ = timed(lambda: connect(args.scheduler, workers=args.workers))
        workers = len(client.scheduler_info()["workers"])
        print(f"dask cluster: {args.scheduler or 'LocalCluster'} with {workers} worker(s), "
              f"ready in {t_cluster:.2f} s (not counted below)")
    try:
        shutil.rmtree(folder / CACHE_DIR, ignore_errors=True)
        # The first run comes first, in a fresh process (as a command would run); then
        # the read floor; then the second run on the same, unchanged files.
        first = run_pandas(folder) if client is None else run_dask(folder, client)
        floor = read_floor(folder)
        print(f"read floor (pandas.read_parquet, 4 files): {floor:.2f} s")
        second = run_pandas(folder) if client is None else run_dask(folder, client)
    finally:
        if client is not None:
            from analytics.engine_dask import close

            close(client)

    if "sessions" in first:
        print(f"rows loaded: {first['sessions']:,} sessions, {first['pain']:,} pain reports, "
              f"{first['patients']:,} patients in the summary")
    for label, r in (("first run", first), ("second run", second)):
        total = r["load"] + r["metrics"]
        print(f"{label}: load+validate+link {r['load']:.2f} s (CPU {r['load_cpu']:.2f}), "
              f"metrics+summary {r['metrics']:.2f} s (CPU {r['metrics_cpu']:.2f}), "
              f"pipeline {total:.2f} s = {total / floor:.1f}x read floor; "
              f"peak RSS {r['peak'] / 1e6:,.0f} MB (+{(r['peak'] - r['base']) / 1e6:,.0f} MB "
              "over the RSS before the run)")
    if "tables_mb" in first:
        growth = (first["peak"] - first["base"]) / 1e6
        print(f"loaded tables in memory: {first['tables_mb']:,.0f} MB; first-run peak RSS / "
              f"tables: {first['peak'] / 1e6 / first['tables_mb']:.1f}x (growth during the "
              f"run / tables: {growth / first['tables_mb']:.1f}x)")
    first_total = first["load"] + first["metrics"]
    second_total = second["load"] + second["metrics"]
    print(f"second run / first run: {second_total / first_total:.2f}")
    print(f"pipeline/read_floor: {first_total / floor:.1f}")


if __name__ == "__main__":
    main()
