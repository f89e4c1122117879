"""Everything a report page shows, computed before rendering (frozen dataclasses).

Nothing here writes HTML and nothing computes a metric: values come from
:class:`analytics.metrics.summary.CohortMetrics`, charts from :mod:`analytics.figures`.
All user-supplied text is passed through as plain strings; the template escapes it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from plotly.io.json import to_json_plotly

from analytics import figures
from analytics.catalog import Catalog
from analytics.dataset import Dataset
from analytics.metrics.alerts import patient_alerts
from analytics.metrics.summary import CohortMetrics
from analytics.metrics.timing import TIMING_ADVICE
from analytics.report.methods import Method, methods
from analytics.report.pseudonym import Pseudonymizer

Audience = Literal["therapist", "patient"]

PAIN_STATUS_WORDS: dict[str, str] = {
    "improved": "clinically important improvement",
    "worse": "clinically important worsening",
    "no_change": "no clinically important change",
    "insufficient_data": "not enough pain reports to judge yet",
}
STOP_ADVICE = ("If you notice pain, weakness, tingling or numbness, stop and contact your "
               "spine professional.")
URGENT_ADVICE = ("Changes in bladder or bowel control or numbness in the groin or inner "
                 "thighs need medical attention now: seek care immediately.")


@dataclass(frozen=True)
class Card:
    """A headline number: ``label``, ``value`` (short), ``detail`` and ``tone``
    (good, warn, bad, neutral)."""

    label: str
    value: str
    detail: str
    tone: str


@dataclass(frozen=True)
class ProgramRow:
    exercise: str
    dose: str
    dates: str
    source: str


@dataclass(frozen=True)
class AlertRow:
    kind: str
    severity: str
    date: str
    message: str


@dataclass(frozen=True)
class ChartBlock:
    """A chart for the page: ``dom_id`` (fixed, deterministic), ``title``, ``summary``
    and ``figure_json`` (plotly JSON)."""

    dom_id: str
    title: str
    summary: str
    figure_json: str
    section: str


@dataclass(frozen=True)
class QualityRow:
    file: str
    line: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class ReportContext:
    """All content of one patient's report."""

    title: str
    patient_label: str
    audience: Audience
    deidentified: bool
    period: str
    as_of: str
    generated_at: str
    program: tuple[ProgramRow, ...]
    cards: tuple[Card, ...]
    alerts: tuple[AlertRow, ...]
    alert_advice: tuple[str, ...]
    charts: tuple[ChartBlock, ...]
    rejects: tuple[QualityRow, ...]
    unlinked: tuple[tuple[str, int], ...]
    fuzzy: tuple[tuple[str, str, int], ...]
    timing_advice: tuple[tuple[str, str], ...]
    extra_facts: tuple[tuple[str, str], ...]
    methods: tuple[Method, ...]


def generated_at() -> str:
    """The generation time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else
    now; ISO 8601 in UTC to the minute."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch
              else dt.datetime.now(dt.UTC))
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _num(value: object, fmt: str = "{:.1f}") -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def _row(frame: pd.DataFrame, patient_id: str) -> pd.Series | None:
    hit = frame[frame["patient_id"] == patient_id]
    return None if hit.empty else hit.iloc[0]


def _day(value: object) -> str:
    return "-" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _dose_text(row: pd.Series) -> str:
    parts = []
    sets, reps, hold = row.get("sets"), row.get("reps"), row.get("hold_s")
    if pd.notna(reps):
        unit = "rep" if int(reps) == 1 else "reps"
        sets_text = f"{int(sets)} x " if pd.notna(sets) else ""
        parts.append(f"{sets_text}{int(reps)} {unit}")
    if pd.notna(hold):
        parts.append(f"hold {hold:g} s")
    side = row.get("side")
    if isinstance(side, str) and side == "each_side":
        parts.append("each side")
    parts.append(f"{int(row['times_per_day'])}x/day")
    if int(row["days_per_week"]) < 7:
        parts.append(f"{int(row['days_per_week'])} days/week")
    return ", ".join(parts)


def _program(ds: Dataset, patient_id: str) -> tuple[ProgramRow, ...]:
    progs = ds.programs[ds.programs["patient_id"] == patient_id].sort_values(
        ["start_date", "line"], kind="stable")
    rows = []
    for _, r in progs.iterrows():
        linked = pd.notna(r["exercise_id"]) and str(r["exercise_id"]) in ds.catalog
        exercise = ds.catalog.get(str(r["exercise_id"])) if linked else None
        name = exercise.name if exercise else f"{r['exercise']} (not in catalog)"
        if exercise is None:
            source = "-"
        elif pd.notna(r.get("dose_from_catalog")):
            source = f"{exercise.default.source_title} (missing dose fields taken from it)"
        else:
            source = exercise.default.source_title
        end = _day(r["end_date"]) if pd.notna(r["end_date"]) else "open-ended"
        dates = f"{_day(r['start_date'])} to {end}"
        rows.append(ProgramRow(name, _dose_text(r), dates, source))
    return tuple(rows)


def _cards(m: CohortMetrics, patient_id: str, audience: Audience) -> tuple[Card, ...]:
    s = _row(m.summary, patient_id)
    threshold = m.settings.adherence_threshold_pct
    cards: list[Card] = []
    if s is None or pd.isna(s["sessions_prescribed"]):
        cards.append(Card("Adherence", "-", "No program in this period.", "neutral"))
    else:
        pct = s["adherence_pct"]
        done, presc = int(s["sessions_done"]), int(s["sessions_prescribed"])
        good = pd.notna(pct) and pct >= threshold
        if audience == "patient":
            detail = (f"You did {done} of {done if presc == 0 else presc} planned sessions. "
                      + ("Great consistency - keep it up!" if good else
                         "Every session counts - small steps add up."))
        else:
            detail = (f"{done} of {presc} prescribed sessions (threshold {threshold:g}%); "
                      f"complete sessions {_num(s['complete_sessions_pct'])}%.")
        cards.append(Card("Adherence", f"{_num(pct)}%", detail, "good" if good else "warn"))
        cur, best = s["current_streak_days"], s["longest_streak_days"]
        since = s["days_since_last_session"]
        since_text = ("no counted session yet" if pd.isna(since)
                      else f"last session {int(since)} day(s) before the period end")
        cards.append(Card("Streak", f"{int(cur)} day(s)",
                          f"Current streak; longest {int(best)} day(s); {since_text}.",
                          "good" if cur > 0 else "neutral"))
    status = s["pain_status"] if s is not None else "insufficient_data"
    words = PAIN_STATUS_WORDS[status]
    if s is not None and pd.notna(s["pain_change"]) and status != "insufficient_data":
        pct = s["pain_change_pct"]
        pct_text = f", {pct:+.0f}%" if pd.notna(pct) else ""
        value = f"{s['pain_change']:+.1f}"
        detail = (f"{words}: {s['pain_change']:+.1f} points{pct_text} "
                  f"(from {s['pain_baseline']:.1f} to {s['pain_recent']:.1f}).")
    else:
        value, detail = "-", words.capitalize() + "."
    tone = {"improved": "good", "worse": "bad"}.get(status, "neutral")
    cards.append(Card("Pain change", value, detail, tone))
    holds = m.holds[m.holds["patient_id"] == patient_id]
    if holds.empty:
        cards.append(Card("Hold times", "-", "No exercise with a hold target was logged.",
                          "neutral"))
    else:
        at = int((holds["pct_of_target_last7"] >= 100).sum())
        cards.append(Card("Hold times", f"{at} / {len(holds)}",
                          "Exercises at their hold target (mean of the last 7 logged days) / "
                          "exercises with a hold target.", "good" if at == len(holds) else
                          "neutral"))
    return tuple(cards)


def _alerts(m: CohortMetrics, patient_id: str) -> tuple[tuple[AlertRow, ...], tuple[str, ...]]:
    ordered = patient_alerts(m.alerts, patient_id)
    rows = tuple(AlertRow(kind, severity, _day(date), message)
                 for kind, severity, date, message in ordered)
    return rows, alert_advice((kind, severity) for kind, severity, _, _ in ordered)


def alert_advice(kinds_severities: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The articles' advice for a patient's alerts, given as ``(kind, severity)``:
    urgent care first when any alert is urgent, then stop-and-contact for red flags."""
    pairs = list(kinds_severities)
    advice = []
    if any(severity == "urgent" for _, severity in pairs):
        advice.append(URGENT_ADVICE)
    if any(kind == "red_flag" for kind, _ in pairs):
        advice.append(STOP_ADVICE)
    return tuple(advice)


def _charts(m: CohortMetrics, patient_id: str, names: dict[str, str],
            audience: Audience, catalog: Catalog) -> tuple[ChartBlock, ...]:
    sections = {"calendar": "consistency", "weekly": "consistency", "hold": "holds",
                "pain_trend": "pain", "pain_before_after": "pain", "dose": "dose",
                "session_times": "dose"}
    blocks = []
    hold_max = figures.hold_max_by_exercise(catalog)
    for chart in figures.patient_charts(m, patient_id, names=names, hold_max=hold_max):
        if audience == "patient" and chart.key == "dose":
            continue
        blocks.append(ChartBlock(
            dom_id=f"chart-{chart.key}", title=chart.title, summary=chart.summary,
            figure_json=_untitled_json(chart.spec),
            section=sections.get(chart.key, "other")))
    return tuple(blocks)


def _untitled_json(spec: figures.Spec) -> str:
    """The figure's JSON without its title: the page shows the title as a heading."""
    layout = dict(spec.get("layout", {}))
    layout.pop("title", None)
    margin = dict(layout.get("margin", {}))
    margin["t"] = min(int(margin.get("t", 30)), 30)
    layout["margin"] = margin
    return to_json_plotly({"data": spec.get("data", []), "layout": layout})


def _quality(ds: Dataset, patient_id: str, deidentify: bool
             ) -> tuple[tuple[QualityRow, ...], tuple[tuple[str, int], ...],
                        tuple[tuple[str, str, int], ...]]:
    rej = ds.rejects[ds.rejects["patient_id"] == patient_id]
    rejects = tuple(QualityRow(str(r.file), int(r.line), str(r.column),
                               "(hidden)" if deidentify else str(r.value),
                               _hide_quoted(str(r.reason)) if deidentify else str(r.reason))
                    for r in rej.itertuples(index=False))
    mine = ds.sessions[ds.sessions["patient_id"] == patient_id]
    unl = mine[mine["exercise_id"].isna()]["exercise"].value_counts()
    unlinked = tuple((str(k), int(v)) for k, v in unl.sort_index().items())
    fz = mine[mine["link_method"] == "fuzzy"].groupby(["exercise", "exercise_id"]).size()
    fuzzy = tuple((str(k[0]), str(k[1]), int(v)) for k, v in fz.sort_index().items())
    return rejects, unlinked, fuzzy


#: A Python-quoted value inside a reject reason (``unknown symptom 'x' ...``).
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'" + r'|"(?:[^"\\]|\\.)*"')


def _hide_quoted(reason: str) -> str:
    """A reject reason with the values it quotes hidden (de-identified reports)."""
    return _QUOTED.sub("'(hidden)'", reason)


def _facts(m: CohortMetrics, patient_id: str) -> tuple[tuple[str, str], ...]:
    facts: list[tuple[str, str]] = []
    ba = _row(m.pain_before_after, patient_id)
    if ba is not None:
        facts.append(("Pain before vs after sessions",
                      f"{ba['before_mean']:.1f} before, {ba['after_mean']:.1f} after "
                      f"({ba['mean_diff']:+.1f}) on {int(ba['n_days'])} day(s) with both."))
    var = _row(m.pain_variability, patient_id)
    if var is not None and pd.notna(var["mean_daily_range"]):
        facts.append(("Daily pain variability",
                      f"mean range {var['mean_daily_range']:.1f}, largest "
                      f"{var['max_daily_range']:.1f} points within a day."))
    assoc = _row(m.association, patient_id)
    if assoc is not None:
        rho = assoc["spearman_rho"]
        text = (f"Spearman rho {rho:+.2f} over {int(assoc['n_weeks'])} weeks. "
                if pd.notna(rho) else "")
        facts.append(("Weekly adherence and next week's pain change", text + assoc["caveat"]))
    timing = _row(m.timing, patient_id)
    if timing is not None and pd.notna(timing["early_stretch_share_pct"]):
        facts.append(("Stretch sessions started early",
                      f"{timing['early_stretch_share_pct']:.0f}% of "
                      f"{int(timing['n_stretch_sessions'])} stretch sessions started before "
                      f"{m.settings.early_hour}:00 local time (information, not an alert)."))
    return tuple(facts)


def patient_context(ds: Dataset, m: CohortMetrics, patient_id: str, *,
                    audience: Audience = "therapist",
                    pseudonymizer: Pseudonymizer | None = None,
                    generated: str | None = None) -> ReportContext:
    """The context of one patient's report.

    ``pseudonymizer`` switches on de-identified mode: the patient is shown by pseudonym,
    names and free-text notes are dropped, and rejected values are hidden (also where a
    reject's reason quotes them). Exercise names as typed are kept: they name exercises.
    """
    deid = pseudonymizer is not None
    pat = _row(ds.patients, patient_id)
    if deid:
        label = pseudonymizer(patient_id)
    else:
        name = pat["name"] if pat is not None and isinstance(pat.get("name"), str) else None
        label = f"{name} ({patient_id})" if name else patient_id
    period_row = _row(m.periods, patient_id)
    period = ("no program in this period" if period_row is None else
              f"{_day(period_row['period_start'])} to {_day(period_row['period_end'])}")
    names = {e.id: e.name for e in ds.catalog}
    alerts, advice = _alerts(m, patient_id)
    rejects, unlinked, fuzzy = _quality(ds, patient_id, deid)
    title = ("Your exercise progress" if audience == "patient"
             else "Exercise adherence progress report")
    return ReportContext(
        title=title, patient_label=label, audience=audience, deidentified=deid,
        period=period, as_of=_day(m.as_of), generated_at=generated or generated_at(),
        program=_program(ds, patient_id), cards=_cards(m, patient_id, audience),
        alerts=alerts, alert_advice=advice,
        charts=_charts(m, patient_id, names, audience, ds.catalog),
        rejects=rejects, unlinked=unlinked, fuzzy=fuzzy,
        timing_advice=tuple((a["source"], a["advice"]) for a in TIMING_ADVICE),
        extra_facts=_facts(m, patient_id), methods=methods(m.settings),
    )


@dataclass(frozen=True)
class CaseloadRow:
    """One patient's line in the caseload overview (display strings + sort keys)."""

    label: str
    href: str
    period: str
    adherence: str
    adherence_sort: str
    done: str
    done_sort: str
    streak: str
    since: str
    since_sort: str
    pain_baseline: str
    pain_recent: str
    change: str
    change_sort: str
    pain_status: str
    badges: tuple[tuple[str, int], ...]
    alert_sort: str


@dataclass(frozen=True)
class CaseloadContext:
    """The caseload overview page."""

    rows: tuple[CaseloadRow, ...]
    charts: tuple[ChartBlock, ...]
    as_of: str
    threshold: str
    generated_at: str


def _sort_key(value: object, missing: float) -> str:
    """A numeric sort key for the caseload table; ``missing`` sorts blanks last/first."""
    if value is None or value is pd.NA or pd.isna(value):
        return f"{missing:g}"
    return f"{float(value):.2f}"


def caseload_context(m: CohortMetrics, hrefs: dict[str, str], *,
                     pseudonymizer: Pseudonymizer | None = None,
                     names: dict[str, str] | None = None,
                     generated: str | None = None) -> CaseloadContext:
    """The caseload page: one row per patient of ``m.summary`` linking to ``hrefs``.

    ``names`` maps patient ids to display names (ignored when de-identifying).
    """
    rows = []
    for r in m.summary.to_dict(orient="records"):
        pid = str(r["patient_id"])
        if pseudonymizer is not None:
            label = pseudonymizer(pid)
        else:
            name = (names or {}).get(pid)
            label = f"{name} ({pid})" if name else pid
        counts: dict[str, int] = {}
        for a in r["alerts"]:
            counts[a["severity"]] = counts.get(a["severity"], 0) + 1
        badges = tuple((s, counts[s]) for s in ("urgent", "warning", "info") if s in counts)
        alert_sort = f"{counts.get('urgent', 0):04d}{counts.get('warning', 0):04d}" \
                     f"{counts.get('info', 0):04d}"
        no_program = pd.isna(r["sessions_prescribed"])
        rows.append(CaseloadRow(
            label=label, href=hrefs.get(pid, "#"),
            period=("no program" if pd.isna(r["period_start"]) else
                    f"{_day(r['period_start'])} to {_day(r['period_end'])}"),
            adherence=_num(r["adherence_pct"]),
            adherence_sort=_sort_key(r["adherence_pct"], -1),
            done="-" if no_program else f"{int(r['sessions_done'])} / "
                                        f"{int(r['sessions_prescribed'])}",
            done_sort="-1" if no_program else str(int(r["sessions_done"])),
            streak="-" if pd.isna(r["current_streak_days"]) else str(int(
                r["current_streak_days"])),
            since=_num(r["days_since_last_session"], "{:.0f}"),
            since_sort=_sort_key(r["days_since_last_session"], 9999),
            pain_baseline=_num(r["pain_baseline"]), pain_recent=_num(r["pain_recent"]),
            change=_num(r["pain_change"], "{:+.1f}"),
            change_sort=_sort_key(r["pain_change"], 99),
            pain_status=PAIN_STATUS_WORDS[r["pain_status"]], badges=badges,
            alert_sort=alert_sort,
        ))
    charts = tuple(
        ChartBlock(dom_id=f"chart-{c.key}", title=c.title, summary=c.summary,
                   figure_json=_untitled_json(c.spec), section="cohort")
        for c in (figures.adherence_distribution(m), figures.pain_change_distribution(m)))
    threshold = f"{m.settings.adherence_threshold_pct:g}%"
    return CaseloadContext(tuple(rows), charts, _day(m.as_of), threshold,
                           generated or generated_at())


def json_for_script(text: str) -> str:
    """JSON text made safe inside ``<script type="application/json">``."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def dumps(obj: object) -> str:
    """Compact, key-sorted JSON (deterministic)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
