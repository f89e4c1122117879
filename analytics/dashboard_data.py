"""The data side of the notebook dashboards (:mod:`analytics.dashboard`), without widgets.

Everything a dashboard shows is computed here from :func:`analytics.load` and
:func:`analytics.metrics.summary.compute`: cached metrics per selection, the headline
numbers, the alert list, the caseload table and logging a session from a form. Nothing
here imports ``ipywidgets``, so it can be tested and benchmarked on its own; the widget
classes only copy these values into their controls.

Speed: a dashboard must update within about 150 ms of a control change, so
:class:`DashboardData` computes the whole cohort once per period and hands out
per-patient views (:func:`analytics.metrics.summary.split_by_patient`), and an
adherence-threshold change re-runs only the threshold-dependent metric steps
(:func:`with_threshold`, tested equal to a full :func:`compute`). Once the data is
loaded, the objects alive then are frozen for Python's garbage collector
(:func:`gc.freeze`): they live for the whole session, and a full collection walking
them took about 115 ms, often in the middle of a callback.
"""

from __future__ import annotations

import gc
import html
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analytics import figures
from analytics.dataset import Dataset, load
from analytics.figures import Chart
from analytics.importers.common import PAIN_FIELDS, SESSION_FIELDS, Parsed, classify
from analytics.metrics.adherence import patient_adherence, weekly_adherence
from analytics.metrics.alerts import combine_alerts, low_adherence_alerts, patient_alerts
from analytics.metrics.pain import NERVE_SYMPTOMS, URGENT_SYMPTOMS
from analytics.metrics.summary import (
    CohortMetrics,
    cohort_summary,
    compute,
    split_by_patient,
)
from analytics.report.context import PAIN_STATUS_WORDS, STOP_ADVICE, URGENT_ADVICE
from analytics.report.context import alert_advice as report_alert_advice
from analytics.schema import SYMPTOMS
from analytics.settings import DEFAULT_SETTINGS, Settings
from analytics.textfmt import fmt_or_dash, plural
from analytics.vector import python_strings, with_string_storage

if TYPE_CHECKING:  # the log form's writer is imported only when logging
    from analytics.appendlog import ImportResult

#: Charts of the therapist review, in page order (keys of :mod:`analytics.figures`).
REVIEW_CHARTS: tuple[str, ...] = ("calendar", "weekly", "hold", "pain_trend", "dose")
#: Charts of the personal tracker, in page order.
PROGRESS_CHARTS: tuple[str, ...] = ("calendar", "hold", "pain_trend")
#: Which review charts depend on which control (others are left untouched).
THRESHOLD_CHARTS: tuple[str, ...] = ("weekly",)
EXERCISE_CHARTS: tuple[str, ...] = ("hold", "dose")

#: Plain words for the symptom check boxes of the log form.
SYMPTOM_LABELS: dict[str, str] = {
    "numbness": "Numbness", "tingling": "Tingling", "weakness": "Weakness",
    "bladder_bowel": "Changes in bladder or bowel control",
    "saddle_numbness": "Numbness in the groin or inner thighs",
    "fever": "Fever", "night_pain": "Pain at night", "other": "Other",
}
#: A second identical entry within this time is refused as a double submit.
DUPLICATE_WINDOW = pd.Timedelta(minutes=10)
_CACHE_SIZE = 64

Day = pd.Timestamp | None


# --------------------------------------------------------------------------- metrics


def with_threshold(m: CohortMetrics, threshold: float) -> CohortMetrics:
    """``m`` recomputed for another adherence threshold.

    Only the steps of :func:`analytics.metrics.summary.compute` that read
    ``adherence_threshold_pct`` are re-run (weekly and patient adherence, the
    ``low_adherence`` alerts and the summary), so a slider move stays fast; the result
    equals ``compute(ds, replace(settings, adherence_threshold_pct=threshold), ...)``
    (checked in ``tests/test_dashboard.py``). Works on per-patient views too.
    """
    threshold = float(threshold)
    if threshold == float(m.settings.adherence_threshold_pct):
        return m
    settings = replace(m.settings, adherence_threshold_pct=threshold)
    with m.own_strings():
        weekly = weekly_adherence(m.daily, settings)
        adherence = patient_adherence(weekly, m.periods, settings)
        kept = m.alerts[m.alerts["kind"] != "low_adherence"]
        alerts = combine_alerts(kept, low_adherence_alerts(weekly, settings))
        ids = [str(p) for p in m.summary["patient_id"]]
        summary = cohort_summary(ids, m.periods, adherence, m.streaks, m.pain_change, alerts)
    return replace(m, settings=settings, weekly=weekly, adherence=adherence, alerts=alerts,
                   summary=summary)


def _freeze_long_lived() -> None:
    """Move every object alive now out of the garbage collector's view (``gc.freeze``),
    after collecting what is already garbage; objects frozen by an earlier call are
    released first, so a reloaded dataset's old tables can still be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _python_rows(frame: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """One patient's rows of ``frame`` with Python-backed strings."""
    mine = frame[frame["patient_id"] == patient_id].reset_index(drop=True)
    return with_string_storage(mine, "python")


def _day(value: Any) -> Day:
    """A date-like value as a midnight timestamp (``None`` stays ``None``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return pd.Timestamp(value).normalize()


class Lru(OrderedDict[Hashable, Any]):
    """A tiny least-recently-used cache holding at most ``size`` entries."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        super().__init__()
        self.size = size

    def get_or(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value cached under ``key``, made by ``make()`` when missing."""
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        while len(self) > self.size:
            self.popitem(last=False)
        return value


class DashboardData:
    """A loaded data folder with cached metrics for the dashboards.

    Parameters
    ----------
    source : str, Path or Dataset
        The data folder (loaded with :func:`analytics.load`) or an already loaded dataset.
    settings : Settings
        Base thresholds; the dashboards change only ``adherence_threshold_pct``.
    """

    def __init__(self, source: str | Path | Dataset,
                 settings: Settings = DEFAULT_SETTINGS) -> None:
        self.settings = settings
        self._set_dataset(source if isinstance(source, Dataset) else load(source))

    def _set_dataset(self, ds: Dataset) -> None:
        self.ds = ds
        self.path = Path(ds.path)
        self.exercise_names = {e.id: e.name for e in ds.catalog}
        self.hold_max = figures.hold_max_by_exercise(ds.catalog)
        self.names: dict[str, str] = {}
        if "name" in ds.patients.columns:
            self.names = {str(p): str(n) for p, n in zip(ds.patients["patient_id"],
                                                           ds.patients["name"], strict=True)
                          if isinstance(n, str) and n.strip()}
        self._cohorts = Lru()
        self._parts = Lru()
        self._views = Lru()
        self._subsets = Lru()
        self.base = self.cohort()
        _freeze_long_lived()

    def reload(self) -> None:
        """Read the data folder again (after a session was logged) and drop the caches."""
        self._set_dataset(load(self.path))

    # ----------------------------------------------------------------- selections

    @property
    def patient_ids(self) -> list[str]:
        """Every patient of the cohort summary, in id order."""
        return [str(p) for p in self.base.summary["patient_id"]]

    def cohort(self, start: Any = None, to: Any = None,
               threshold: float | None = None) -> CohortMetrics:
        """Whole-cohort metrics for a period (cached) at ``threshold``."""
        key = (_day(start), _day(to))
        m = self._cohorts.get_or(key, lambda: compute(self.ds, self.settings, start=key[0],
                                                      to=key[1]))
        return m if threshold is None else with_threshold(m, threshold)

    def patient_metrics(self, patient_id: str, start: Any = None, to: Any = None,
                        threshold: float | None = None) -> CohortMetrics:
        """One patient's metrics for a period and threshold (tables hold only them).

        The default period comes from the whole-cohort metrics computed at start-up; any
        other period is computed for this patient alone (the as-of day still comes from
        the whole dataset, as in :func:`compute`), on Python-backed strings
        (:func:`analytics.vector.python_strings`: cheaper per operation on one patient's
        small tables); values equal :func:`compute`'s.
        """
        s, t = _day(start), _day(to)
        thr = float(self.settings.adherence_threshold_pct if threshold is None else threshold)

        def base_view() -> CohortMetrics:
            if (s, t) in self._cohorts:
                parts = self._parts.get_or((s, t), lambda: split_by_patient(
                    self._cohorts[(s, t)], self.ds, derived=False))
                if patient_id in parts:
                    return parts[patient_id][1]
            with python_strings():
                return compute(self._patient_data(patient_id), self.settings, start=s,
                               to=t if t is not None else self.base.as_of,
                               patients=[patient_id])

        base = self._views.get_or((patient_id, s, t, None), base_view)
        return self._views.get_or((patient_id, s, t, thr),
                                  lambda: with_threshold(base, thr))

    def _patient_data(self, patient_id: str) -> Dataset:
        """The dataset with only this patient's programs, sessions and pain reports, in
        Python-backed strings (the patients table and catalog stay whole); cached, so a
        patient's rows are picked and converted once."""
        ds = self.ds
        return self._subsets.get_or(patient_id, lambda: replace(ds, **{
            name: _python_rows(getattr(ds, name), patient_id)
            for name in ("programs", "sessions", "pain")}))

    # ----------------------------------------------------------------- labels

    def label(self, patient_id: str, m: CohortMetrics | None = None) -> str:
        """``P003 Oliver Thompson ⚠ 1 urgent · 5 warnings``: id, name and alert badge
        (alerts of the default period unless ``m`` is given)."""
        counts = alert_counts(m if m is not None else self.base, patient_id)
        text = f"{patient_id} {self.names.get(patient_id, '')}".strip()
        flags = []
        if counts["urgent"]:
            flags.append(f"{counts['urgent']} urgent")
        if counts["red_flag"]:
            flags.append(plural(counts["red_flag"], "red flag"))
        if flags:
            text += " ⚠ " + ", ".join(flags)
        if counts["warning"]:
            text += " · " + plural(counts["warning"], "warning")
        return text

    def patient_options(self) -> list[tuple[str, str]]:
        """``(label, patient_id)`` for a dropdown."""
        return [(self.label(p), p) for p in self.patient_ids]


# --------------------------------------------------------------------------- headline


@dataclass(frozen=True)
class Headline:
    """The headline numbers of one patient and selection (``None`` when unknown)."""

    patient_id: str
    period: str
    threshold: float
    adherence_pct: float | None
    sessions_done: int | None
    sessions_prescribed: int | None
    complete_sessions_pct: float | None
    adherent: bool
    adherent_text: str
    current_streak_days: int | None
    longest_streak_days: int | None
    days_since_last_session: int | None
    pain_baseline: float | None
    pain_recent: float | None
    pain_change: float | None
    pain_status: str
    pain_text: str
    n_alerts: int
    n_urgent: int
    n_warning: int


def _num(value: Any) -> float | None:
    if value is None or value is pd.NA or pd.isna(value):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


def headline(m: CohortMetrics, patient_id: str) -> Headline:
    """The headline numbers of ``patient_id`` from ``m.summary`` (no computing)."""
    rows = m.summary[m.summary["patient_id"] == patient_id]
    threshold = float(m.settings.adherence_threshold_pct)
    row: dict[str, Any] = rows.iloc[0].to_dict() if len(rows) else {}
    pct = _num(row.get("adherence_pct"))
    prescribed = _int(row.get("sessions_prescribed"))
    adherent = bool(row.get("adherent")) if pct is not None else False
    if prescribed is None:
        adherent_text = "No program in this period."
    elif pct is None:
        adherent_text = "Nothing was prescribed in this period."
    elif adherent:
        adherent_text = f"Adherent: {pct:.1f}% is at or above the {threshold:g}% threshold."
    else:
        adherent_text = f"Below the {threshold:g}% threshold: {pct:.1f}%."
    status = str(row.get("pain_status") or "insufficient_data")
    change = _num(row.get("pain_change"))
    base, recent = _num(row.get("pain_baseline")), _num(row.get("pain_recent"))
    if change is not None and status != "insufficient_data":
        pain_text = (f"{change:+.1f} points ({PAIN_STATUS_WORDS[status]}), from "
                     f"{base:.1f} to {recent:.1f}.")
    else:
        pain_text = PAIN_STATUS_WORDS.get(status, status).capitalize() + "."
    start, end = row.get("period_start"), row.get("period_end")
    period = ("no program in this period" if start is None or pd.isna(start) else
              f"{pd.Timestamp(start):%Y-%m-%d} to {pd.Timestamp(end):%Y-%m-%d}")
    alerts = row.get("alerts") or []
    return Headline(
        patient_id=patient_id, period=period, threshold=threshold, adherence_pct=pct,
        sessions_done=_int(row.get("sessions_done")), sessions_prescribed=prescribed,
        complete_sessions_pct=_num(row.get("complete_sessions_pct")), adherent=adherent,
        adherent_text=adherent_text,
        current_streak_days=_int(row.get("current_streak_days")),
        longest_streak_days=_int(row.get("longest_streak_days")),
        days_since_last_session=_int(row.get("days_since_last_session")),
        pain_baseline=base, pain_recent=recent, pain_change=change, pain_status=status,
        pain_text=pain_text, n_alerts=len(alerts),
        n_urgent=sum(a["severity"] == "urgent" for a in alerts),
        n_warning=sum(a["severity"] == "warning" for a in alerts),
    )


_CARD = ('<div class="an-card an-{tone}" style="border:1px solid #ddd;border-left:6px solid '
         '{color};border-radius:6px;padding:6px 12px;min-width:170px;flex:1">'
         '<div style="font-size:12px;color:#555">{label}</div>'
         '<div class="an-value" data-key="{key}" style="font-size:24px;font-weight:600">'
         '{value}</div><div style="font-size:12px">{detail}</div></div>')
_TONES = {"good": "#009E73", "warn": "#E69F00", "bad": "#D55E00", "neutral": "#BBBBBB"}


def _card(key: str, label: str, value: str, detail: str, tone: str) -> str:
    return _CARD.format(key=key, label=html.escape(label), value=html.escape(value),
                        detail=html.escape(detail), tone=tone, color=_TONES[tone])


def headline_html(h: Headline, name: str = "") -> str:
    """The headline numbers as HTML cards (all text escaped)."""
    who = html.escape(f"{name} ({h.patient_id})" if name else h.patient_id)
    if h.sessions_prescribed is None:
        adherence = _card("adherence", "Adherence", "-", h.adherent_text, "neutral")
    else:
        detail = (f"{h.sessions_done} of {h.sessions_prescribed} prescribed sessions; "
                  f"complete sessions {fmt_or_dash(h.complete_sessions_pct)}%. {h.adherent_text}")
        adherence = _card("adherence", "Adherence", f"{fmt_or_dash(h.adherence_pct)}%", detail,
                          "good" if h.adherent else "warn")
    since = ("no session yet" if h.days_since_last_session is None
             else f"last session {h.days_since_last_session} day(s) before the period end")
    streak = _card("streak", "Current streak", f"{fmt_or_dash(h.current_streak_days, '{}')} day(s)",
                   f"Longest {fmt_or_dash(h.longest_streak_days, '{}')} day(s); {since}.",
                   "good" if (h.current_streak_days or 0) > 0 else "neutral")
    tone = {"improved": "good", "worse": "bad"}.get(h.pain_status, "neutral")
    pain = _card("pain", "Pain change", fmt_or_dash(h.pain_change, "{:+.1f}"), h.pain_text, tone)
    alert_tone = "bad" if h.n_urgent else "warn" if h.n_warning else "neutral"
    alerts = _card("alerts", "Alerts", str(h.n_alerts),
                   f"{h.n_urgent} urgent, {h.n_warning} warning(s).", alert_tone)
    return (f'<div class="an-headline" data-patient="{html.escape(h.patient_id)}">'
            f'<div style="font-size:15px;margin:4px 0"><b class="an-who">{who}</b> - period '
            f'{html.escape(h.period)}, threshold {h.threshold:g}%</div>'
            f'<div style="display:flex;gap:8px;flex-wrap:wrap">{adherence}{streak}{pain}'
            f'{alerts}</div></div>')


# --------------------------------------------------------------------------- alerts


def alert_counts(m: CohortMetrics, patient_id: str) -> dict[str, int]:
    """Counts of a patient's alerts: ``urgent``, ``warning``, ``info``, ``red_flag``
    (red flags that are not urgent) and ``total``."""
    a = m.alerts[m.alerts["patient_id"] == patient_id]
    sev = a["severity"].astype(str)
    return {"urgent": int((sev == "urgent").sum()), "warning": int((sev == "warning").sum()),
            "info": int((sev == "info").sum()),
            "red_flag": int(((a["kind"].astype(str) == "red_flag") & (sev != "urgent")).sum()),
            "total": len(a)}


@dataclass(frozen=True)
class AlertItem:
    kind: str
    severity: str
    date: str
    message: str


def alert_items(m: CohortMetrics, patient_id: str) -> tuple[AlertItem, ...]:
    """A patient's alerts as the report orders them: red flags first, then by severity,
    date and kind."""
    return tuple(AlertItem(kind, severity, f"{date:%Y-%m-%d}", message)
                 for kind, severity, date, message in patient_alerts(m.alerts, patient_id))


def alert_advice(items: Iterable[AlertItem]) -> tuple[str, ...]:
    """The articles' advice for a list of alerts (urgent first), as in the report."""
    return report_alert_advice((i.kind, i.severity) for i in items)


_SEV_STYLE = {"urgent": "#D55E00", "warning": "#E69F00", "info": "#56B4E9"}


def alerts_html(items: tuple[AlertItem, ...], limit: int = 12) -> str:
    """The alert list with the advice on top (escaped)."""
    if not items:
        return '<div class="an-alerts"><i>No alerts in this period.</i></div>'
    parts = ['<div class="an-alerts">']
    for advice in alert_advice(items):
        parts.append(f'<div class="an-advice" style="background:#fdecea;border-left:6px solid '
                     f'#D55E00;padding:6px 10px;margin:4px 0"><b>{html.escape(advice)}</b>'
                     '</div>')
    parts.append(f"<div><b>Alerts ({len(items)})</b></div><ul style='margin:2px 0'>")
    for item in items[:limit]:
        color = _SEV_STYLE.get(item.severity, "#555")
        parts.append(f'<li><span style="color:{color};font-weight:600">'
                     f'{html.escape(item.severity)}</span> {html.escape(item.date)}: '
                     f'{html.escape(item.message)}</li>')
    if len(items) > limit:
        parts.append(f"<li>... and {len(items) - limit} more (see the exported report)</li>")
    parts.append("</ul></div>")
    return "".join(parts)


# --------------------------------------------------------------------------- charts


def exercise_options(m: CohortMetrics, patient_id: str,
                     names: dict[str, str]) -> list[tuple[str, str]]:
    """``(display name, key)`` of every exercise with logged holds or dose for the patient
    (key = catalog id, or ``?name`` for an exercise not in the catalog)."""
    found: dict[str, str] = {}
    for frame in (m.holds, m.dose_by_exercise):
        rows = frame[frame["patient_id"] == patient_id]
        for key, ex_id in zip(rows["key"], rows["exercise_id"], strict=True):
            ex = None if ex_id is None or pd.isna(ex_id) else str(ex_id)
            found[str(key)] = (names.get(ex, ex) if ex else
                               f"{str(key).lstrip('?')} (not in catalog)")
    return sorted(((label, key) for key, label in found.items()), key=lambda kv: kv[0].lower())


def patient_chart(key: str, data: DashboardData, m: CohortMetrics, patient_id: str,
                  exercises: tuple[str, ...] | None = None) -> Chart:
    """One chart of :mod:`analytics.figures` for a patient; ``exercises`` (keys) limits
    the hold and dose charts."""
    names = data.exercise_names
    if key == "calendar":
        return figures.calendar_heatmap(m, patient_id)
    if key == "weekly":
        return figures.weekly_adherence(m, patient_id)
    if key == "hold":
        ids = list(exercises) if exercises is not None else None
        return figures.hold_progression(m, patient_id, ids, names=names,
                                        hold_max=data.hold_max)
    if key == "pain_trend":
        return figures.pain_trend(m, patient_id)
    if key == "dose":
        if exercises is not None:
            d = m.dose_by_exercise
            m = replace(m, dose_by_exercise=d[d["key"].astype(str).isin(list(exercises))])
        return figures.dose_by_exercise(m, patient_id, names=names)
    if key == "pain_before_after":
        return figures.pain_before_after(m, patient_id)
    if key == "session_times":
        return figures.session_times(m, patient_id)
    raise KeyError(f"unknown chart {key!r}")


# --------------------------------------------------------------------------- caseload

#: Columns of :func:`caseload_frame` that the table can be sorted by, with labels.
SORT_COLUMNS: dict[str, str] = {
    "patient_id": "Patient", "adherence_pct": "Adherence %",
    "sessions_done": "Sessions done", "current_streak_days": "Current streak",
    "days_since_last_session": "Days since last session", "pain_change": "Pain change",
    "n_urgent": "Urgent alerts", "n_warning": "Warnings",
}


def caseload_frame(m: CohortMetrics, names: dict[str, str]) -> pd.DataFrame:
    """One row per patient of ``m.summary`` with plain columns for the caseload table."""
    s = m.summary
    rows = []
    for r in s.to_dict(orient="records"):
        pid = str(r["patient_id"])
        sev = [a["severity"] for a in r["alerts"]]
        rows.append({
            "patient_id": pid, "name": names.get(pid, ""),
            "adherence_pct": _num(r["adherence_pct"]),
            "sessions_done": _int(r["sessions_done"]),
            "sessions_prescribed": _int(r["sessions_prescribed"]),
            "adherent": bool(r["adherent"]) if _num(r["adherence_pct"]) is not None else None,
            "current_streak_days": _int(r["current_streak_days"]),
            "days_since_last_session": _int(r["days_since_last_session"]),
            "pain_change": _num(r["pain_change"]), "pain_status": str(r["pain_status"]),
            "n_urgent": sev.count("urgent"), "n_warning": sev.count("warning"),
            "n_info": sev.count("info"),
        })
    frame = pd.DataFrame(rows, columns=[
        "patient_id", "name", "adherence_pct", "sessions_done", "sessions_prescribed",
        "adherent", "current_streak_days", "days_since_last_session", "pain_change",
        "pain_status", "n_urgent", "n_warning", "n_info"])
    return frame


def filter_caseload(frame: pd.DataFrame, *, below_threshold: bool = False,
                    with_alerts: bool = False, pain_worse: bool = False,
                    sort_by: str = "patient_id", ascending: bool = True) -> pd.DataFrame:
    """Rows matching every ticked filter, sorted (blanks always last).

    ``below_threshold``: adherence known and below the threshold; ``with_alerts``: at
    least one urgent or warning alert; ``pain_worse``: pain status ``worse``.
    """
    keep = pd.Series(True, index=frame.index)
    if below_threshold:
        keep &= frame["adherence_pct"].notna() & (frame["adherent"] == False)  # noqa: E712
    if with_alerts:
        keep &= (frame["n_urgent"] + frame["n_warning"]) > 0
    if pain_worse:
        keep &= frame["pain_status"] == "worse"
    out = frame[keep]
    if sort_by not in frame.columns:
        raise KeyError(f"cannot sort by {sort_by!r}")
    return out.sort_values([sort_by, "patient_id"], ascending=[ascending, True],
                           na_position="last", kind="stable").reset_index(drop=True)


def caseload_html(frame: pd.DataFrame, threshold: float) -> str:
    """The caseload table as HTML (escaped), one ``tr`` per patient with
    ``data-patient``."""
    head = ("<tr><th>Patient</th><th>Adherence</th><th>Sessions</th><th>Streak</th>"
            "<th>Days since last</th><th>Pain change</th><th>Pain status</th>"
            "<th>Alerts</th></tr>")
    body = []
    for r in frame.to_dict(orient="records"):
        label = html.escape(f"{r['name']} ({r['patient_id']})" if r["name"]
                            else str(r["patient_id"]))
        pct = r["adherence_pct"]
        flag = "" if pct is None or pd.isna(pct) else (
            "" if r["adherent"] else f' <span style="color:#D55E00">below {threshold:g}%</span>')
        sessions = ("-" if r["sessions_prescribed"] is None or pd.isna(r["sessions_prescribed"])
                    else f"{int(r['sessions_done'])} / {int(r['sessions_prescribed'])}")
        badges = []
        if r["n_urgent"]:
            badges.append(f'<span style="color:#D55E00;font-weight:600">⚠ {r["n_urgent"]} '
                          'urgent</span>')
        if r["n_warning"]:
            badges.append(f'{r["n_warning"]} warning(s)')
        if r["n_info"]:
            badges.append(f'{r["n_info"]} info')
        status = PAIN_STATUS_WORDS.get(str(r["pain_status"]), str(r["pain_status"]))
        body.append(
            f'<tr data-patient="{html.escape(str(r["patient_id"]))}"><td>{label}</td>'
            f'<td>{fmt_or_dash(_num(pct))}%{flag}</td><td>{sessions}</td>'
            f'<td>{fmt_or_dash(_int(r["current_streak_days"]), "{}")}</td>'
            f'<td>{fmt_or_dash(_int(r["days_since_last_session"]), "{}")}</td>'
            f'<td>{fmt_or_dash(_num(r["pain_change"]), "{:+.1f}")}</td>'
            f'<td>{html.escape(status)}</td>'
            f'<td>{", ".join(badges) or "-"}</td></tr>')
    if not body:
        body.append('<tr><td colspan="8"><i>No patient matches the filters.</i></td></tr>')
    style = ("<style>.an-caseload{border-collapse:collapse;font-size:13px}"
             ".an-caseload td,.an-caseload th{border-bottom:1px solid #ddd;padding:3px 8px;"
             "text-align:left}.an-caseload th{background:#f4f4f4}</style>")
    return (f'{style}<table class="an-caseload"><thead>{head}</thead><tbody>'
            f'{"".join(body)}</tbody></table>')


# --------------------------------------------------------------------------- logging


@dataclass(frozen=True)
class ProgramDose:
    """A prescribed exercise of a person's current program (for the log form)."""

    exercise_id: str
    name: str
    sets: int | None
    reps: int | None
    hold_s: float | None

    @property
    def label(self) -> str:
        parts = []
        if self.reps is not None:
            parts.append(f"{self.sets or 1} x {self.reps}")
        if self.hold_s is not None:
            parts.append(f"hold {self.hold_s:g} s")
        return self.name + (f" ({', '.join(parts)})" if parts else "")


def program_doses(ds: Dataset, patient_id: str, day: Any = None) -> list[ProgramDose]:
    """The catalog-linked exercises of the patient's program with the prescribed dose
    (catalog defaults already filled in by the loader): those active on ``day`` when
    any are, else every program row of the patient (a later row wins)."""
    p = ds.programs[(ds.programs["patient_id"] == patient_id)
                    & ds.programs["exercise_id"].notna()]
    if day is not None:
        d = pd.Timestamp(day).normalize()
        active = p[(p["start_date"] <= d) & (p["end_date"].isna() | (p["end_date"] >= d))]
        p = active if len(active) else p
    out: dict[str, ProgramDose] = {}
    for r in p.sort_values(["start_date", "line"], kind="stable").itertuples(index=False):
        ex_id = str(r.exercise_id)
        name = ds.catalog.get(ex_id).name if ex_id in ds.catalog else str(r.exercise)
        out[ex_id] = ProgramDose(ex_id, name, _int(r.sets), _int(r.reps), _num(r.hold_s))
    return list(out.values())


@dataclass(frozen=True)
class LogEntry:
    """One session as typed into the log form (text, as a person types it)."""

    exercise: str
    sets: str = ""
    reps: str = ""
    hold_s: str = ""
    pain_before: str = ""
    pain_after: str = ""
    symptoms: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        # Called from Python with numbers or None instead of the form's text: the same
        # text a person would type (None and NaN are blank), so checks and messages work.
        for name in ("exercise", "sets", "reps", "hold_s", "pain_before", "pain_after",
                     "notes"):
            object.__setattr__(self, name, _as_text(getattr(self, name)))
        symptoms = self.symptoms
        if symptoms is None:
            symptoms = ()
        elif isinstance(symptoms, str):
            symptoms = (symptoms,)
        object.__setattr__(self, "symptoms", tuple(_as_text(v) for v in symptoms))

    def fingerprint(self) -> tuple[str, ...]:
        """The values that make two entries "identical" (whitespace and case ignored)."""
        return (self.exercise.strip().lower(), self.sets.strip(), self.reps.strip(),
                self.hold_s.strip(), self.pain_before.strip(), self.pain_after.strip(),
                ";".join(sorted(self.symptoms)), self.notes.strip())


@dataclass(frozen=True)
class LogProblem:
    """Why an entry cannot be logged: the form ``field``, the ``value`` and ``reason``."""

    field: str
    value: str
    reason: str

    @property
    def message(self) -> str:
        shown = f" {self.value!r}" if self.value else ""
        return f"{self.field}{shown}: {self.reason}"


class LogEntryError(ValueError):
    """An entry breaks a data-contract rule; ``problems`` says which values and why."""

    def __init__(self, problems: Iterable[LogProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


_LINE_SESSION, _LINE_BEFORE, _LINE_AFTER = 1, 2, 3
_FIELD_LABELS = {"sets": "Sets", "reps": "Reps", "hold_s": "Hold (seconds)", "rpe": "Effort",
                 "notes": "Notes", "performed_at": "Time", "reported_at": "Time",
                 "exercise": "Exercise", "symptoms": "Symptoms", "context": "Pain context"}


def _as_text(value: Any) -> str:
    """A form value as text: ``None``/NaN blank, ``3.0`` as ``"3"``, anything else
    ``str(value)``.

    >>> [_as_text(v) for v in (None, float("nan"), 3.0, 4.5, 12, " 8 ")]
    ['', '', '3', '4.5', '12', ' 8 ']
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _blank(text: str) -> str | None:
    text = text.strip()
    return text or None


def entry_parsed(entry: LogEntry, at: str) -> Parsed:
    """The entry as rows an importer would produce: one session row (line 1) and a pain
    row per given rating (line 2 before, line 3 after; symptoms go with the rating after
    the session, else with the one before). ``at`` is the local time (ISO 8601)."""
    session = {"performed_at": at, "exercise": entry.exercise.strip(),
               "sets": _blank(entry.sets), "reps": _blank(entry.reps),
               "hold_s": _blank(entry.hold_s), "side": None, "rpe": None,
               "notes": _blank(entry.notes), "set_index": None, "set_type": None,
               "source": "log", "_line": _LINE_SESSION}
    symptoms = ";".join(s for s in SYMPTOMS if s in entry.symptoms) or None
    after = _blank(entry.pain_after)
    pains = []
    for line, value, context in ((_LINE_BEFORE, _blank(entry.pain_before), "before_session"),
                                 (_LINE_AFTER, after, "after_session")):
        if value is None:
            continue
        with_symptoms = line == _LINE_AFTER or after is None
        pains.append({"reported_at": at, "pain": value, "context": context,
                      "symptoms": symptoms if with_symptoms else None, "notes": None,
                      "source": "log", "_line": line})
    def frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
        data = {c: pd.Series([r.get(c) for r in rows], dtype=object) for c in columns}
        data["_line"] = pd.Series([r["_line"] for r in rows], dtype="int64")
        return pd.DataFrame(data)

    return Parsed(format="log", variant="dashboard", file="log form",
                  sessions=frame([session], SESSION_FIELDS), pain=frame(pains, PAIN_FIELDS),
                  skipped=0, rejects=(), read=1 + len(pains))


def check_entry(folder: str | Path, patient_id: str, entry: LogEntry, at: str, *,
                now: pd.Timestamp | None = None) -> list[LogProblem]:
    """Every problem of ``entry`` under the loader's rules (empty when it can be logged)."""
    problems: list[LogProblem] = []
    if not entry.exercise.strip():
        problems.append(LogProblem("Exercise", "", "choose an exercise"))
    if entry.symptoms and not (entry.pain_before.strip() or entry.pain_after.strip()):
        problems.append(LogProblem("Symptoms", "", "symptoms are recorded with a pain rating: "
                                   "give your pain after the session (0-10)"))
    unknown = [s for s in entry.symptoms if s not in SYMPTOMS]
    if unknown:
        problems.append(LogProblem("Symptoms", ", ".join(unknown), "not a known symptom"))
    if problems:
        return problems
    from analytics.appendlog import folder_context

    ctx = folder_context(folder, patient_id, create=False, now=now)
    result = classify(entry_parsed(entry, at), patient_id, ctx.linker,
                      timezones=ctx.timezones, now=now)
    if result.not_in_catalog:
        problems.append(LogProblem("Exercise", entry.exercise,
                                   "not in the exercise catalog (see `adherence catalog`)"))
    for r in result.rejects:
        label = _FIELD_LABELS.get(r.column, r.column)
        if r.column == "pain":
            label = "Pain before" if r.line == _LINE_BEFORE else "Pain after"
        problems.append(LogProblem(label, r.value, r.reason))
    return problems


def save_entry(folder: str | Path, patient_id: str, entry: LogEntry, at: str, *,
               now: pd.Timestamp | None = None) -> ImportResult:
    """Validate ``entry`` and append it to the data folder.

    Appending goes through :func:`analytics.appendlog.import_parsed`: the folder's lock
    (``DIR/.adherence.lock``), rows already in the folder skipped as duplicates, and a
    write-temporary-then-rename of each table, so a crash leaves the old or the new
    file. Nothing is written when any value breaks a rule.

    Raises
    ------
    LogEntryError
        With every problem found (nothing was written).
    """
    from analytics.appendlog import import_parsed

    problems = check_entry(folder, patient_id, entry, at, now=now)
    if problems:
        raise LogEntryError(problems)
    return import_parsed(folder, entry_parsed(entry, at), patient_id, now=now)


def red_flag_advice(symptoms: Iterable[str]) -> tuple[str, ...]:
    """The articles' advice for ticked symptoms: :data:`URGENT_ADVICE` for bladder/bowel
    changes or saddle numbness, :data:`STOP_ADVICE` for numbness, tingling or weakness
    (wording of :mod:`analytics.report.context`)."""
    ticked = set(symptoms)
    advice = []
    if ticked & set(URGENT_SYMPTOMS):
        advice.append(URGENT_ADVICE)
    if ticked & set(NERVE_SYMPTOMS):
        advice.append(STOP_ADVICE)
    return tuple(advice)


@dataclass
class DoubleSubmitGuard:
    """Refuses an entry identical to the last one logged within :data:`DUPLICATE_WINDOW`
    (a double click or a re-run), independently of the data folder."""

    last: tuple[str, ...] | None = None
    at: pd.Timestamp | None = None
    window: pd.Timedelta = field(default=DUPLICATE_WINDOW)

    def repeated(self, entry: LogEntry, now: pd.Timestamp) -> bool:
        return (self.last == entry.fingerprint() and self.at is not None
                and now - self.at < self.window)

    def remember(self, entry: LogEntry, now: pd.Timestamp) -> None:
        self.last, self.at = entry.fingerprint(), now
