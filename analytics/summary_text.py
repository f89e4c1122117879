"""The cohort summary as a readable terminal table (``adherence summary``)."""

from __future__ import annotations

import pandas as pd

from analytics.metrics.summary import CohortMetrics
from analytics.textfmt import fixed_width


def _alerts_cell(alerts: list[dict[str, str]]) -> str:
    if not alerts:
        return "none"
    counts: dict[str, int] = {}
    for a in alerts:
        counts[a["severity"]] = counts.get(a["severity"], 0) + 1
    return ", ".join(f"{counts[s]} {s}" for s in ("urgent", "warning", "info") if s in counts)


def _pct(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.1f}"


def summary_table(metrics: CohortMetrics) -> str:
    """Key summary columns, one line per patient, with a header naming the as-of day."""
    s = metrics.summary
    view = pd.DataFrame({
        "patient": s["patient_id"],
        "period": [f"{a:%Y-%m-%d}..{b:%Y-%m-%d}" if pd.notna(a) else "no program"
                   for a, b in zip(s["period_start"], s["period_end"], strict=True)],
        "done/presc": [f"{d}/{p}" if pd.notna(p) else "-"
                       for d, p in zip(s["sessions_done"], s["sessions_prescribed"],
                                       strict=True)],
        "adherence%": [_pct(v) for v in s["adherence_pct"]],
        "complete%": [_pct(v) for v in s["complete_sessions_pct"]],
        "streak": s["current_streak_days"],
        "best": s["longest_streak_days"],
        "idle_days": s["days_since_last_session"],
        "pain_base": s["pain_baseline"],
        "pain_now": s["pain_recent"],
        "change": s["pain_change"],
        "pain_status": s["pain_status"],
        "alerts": [_alerts_cell(a) for a in s["alerts"]],
    })
    as_of = metrics.as_of.date().isoformat() if metrics.as_of is not None else "no data"
    threshold = f"{metrics.settings.adherence_threshold_pct:g}%"
    header = (f"As of {as_of}; adherence threshold {threshold}; pain change judged by "
              "2 points or 30% (Farrar 2001, Ostelo 2008).")
    return header + "\n\n" + fixed_width(view)
