"""Interactive dashboards for the notebooks in ``notebooks/`` (ipywidgets + plotly).

Three classes, one per notebook; each builds its widgets once and exposes the root as
``.widget``:

* :class:`TherapistDashboard` (``therapist_review.ipynb``, also served by ``make app``
  with Voila): patient, period, exercises and adherence threshold; headline numbers,
  alerts and charts that follow every control; "Export report" writes the HTML report of the
  current selection.
* :class:`MyProgress` (``my_progress.ipynb``): a form to log today's session, validated
  with the loader's rules and appended safely, and the person's own trends.
* :class:`CaseloadOverview` (``caseload_overview.ipynb``): the cohort table with filters
  and sorting, distribution charts and a drill-down into :class:`TherapistDashboard`.

All numbers come from :mod:`analytics.dashboard_data` (no widgets there) and all charts
from :mod:`analytics.figures`. Every widget is built once; a control change only changes
values: each chart is re-drawn inside its own ``Output`` widget (:class:`ChartPanel`
explains why not a ``FigureWidget``), the headline and alerts are ``HTML`` widgets.
Everything sits in plain ``VBox``/``HBox`` containers, never in a ``Tab`` (Voila bug
voila-dashboards/voila#1533: plotly widgets inside a Tab show no data).

Exporting with nbconvert: without saved widget state nbconvert drops widget views, so
each root widget also offers a ``text/html`` snapshot (headline, alerts and every chart
rendered by the notebook renderer that :func:`setup_notebook` selects, which embeds
plotly.js once and needs no network). JupyterLab and Voila show the live widgets.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from IPython import get_ipython
from plotly.io.base_renderers import NotebookRenderer

from analytics.dashboard_data import (
    EXERCISE_CHARTS,
    PROGRESS_CHARTS,
    REVIEW_CHARTS,
    SORT_COLUMNS,
    SYMPTOM_LABELS,
    THRESHOLD_CHARTS,
    DashboardData,
    DoubleSubmitGuard,
    Headline,
    LogEntry,
    LogEntryError,
    Lru,
    alert_items,
    alerts_html,
    caseload_frame,
    caseload_html,
    exercise_options,
    filter_caseload,
    headline,
    headline_html,
    patient_chart,
    program_doses,
    red_flag_advice,
    save_entry,
)
from analytics.errors import AnalyticsError
from analytics.figures import Chart, Spec, adherence_distribution, pain_change_distribution
from analytics.metrics.summary import CohortMetrics
from analytics.report.batch import ReportJob, write_one
from analytics.schema import SYMPTOMS
from analytics.settings import DEFAULT_SETTINGS, Settings

#: Name under which :class:`OfflineNotebookRenderer` is registered with plotly.
RENDERER_NAME = "analytics_notebook"
#: The default renderer the notebooks use: plotly's mime type for JupyterLab plus
#: offline HTML that survives nbconvert.
NOTEBOOK_RENDERER = f"plotly_mimetype+{RENDERER_NAME}"
#: plotly's mime type for figures.
PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: Environment variable naming the folder Voila serves files from (``make app``).
APP_ROOT_ENV = "ANALYTICS_APP_ROOT"

_WIDE = widgets.Layout(width="520px")
_LABEL_STYLE = {"description_width": "initial"}


# --------------------------------------------------------------------------- setup


class OfflineNotebookRenderer(NotebookRenderer):
    """plotly's ``notebook`` renderer without network use, embedding plotly.js once.

    Like ``notebook`` it puts plotly.js into the output of the cell that activates it, so
    HTML made by nbconvert shows every chart offline; unlike it, activation happens once
    per :func:`setup_notebook` (plotly re-embeds the 4 MB library whenever a figure is
    rendered with an explicit renderer) and no MathJax script is loaded from a CDN.
    """

    def __init__(self) -> None:
        super().__init__(connected=False, include_plotlyjs=False)
        self.active = False

    def activate(self) -> None:
        """Embed plotly.js in the current output, unless already done (needs IPython)."""
        if self.active or get_ipython() is None:
            return
        super().activate()
        self.active = True

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
        text = pio.to_html(fig_dict, config=self.config, include_plotlyjs=False,
                           include_mathjax=False, full_html=False, default_width="100%",
                           default_height=525, validate=False)
        return {"text/html": text}


def in_voila() -> bool:
    """True inside a kernel started by Voila."""
    return "VOILA_KERNEL_ID" in os.environ


def _renderer() -> OfflineNotebookRenderer:
    if RENDERER_NAME not in pio.renderers:
        pio.renderers[RENDERER_NAME] = OfflineNotebookRenderer()
    renderer = pio.renderers[RENDERER_NAME]
    assert isinstance(renderer, OfflineNotebookRenderer)
    return renderer


def setup_notebook() -> None:
    """Select the plotly renderer for the notebooks (``plotly.io.renderers.default``).

    In JupyterLab and for nbconvert: :data:`NOTEBOOK_RENDERER` (``plotly_mimetype`` for
    Lab plus offline HTML that nbconvert keeps); plotly.js is embedded once, in the
    output of the cell calling this. Under Voila, where only the live widgets are shown,
    ``plotly_mimetype`` and no 4 MB script in the page.
    """
    renderer = _renderer()
    if in_voila():
        pio.renderers.default = "plotly_mimetype"
        return
    pio.renderers.default = NOTEBOOK_RENDERER
    renderer.active = False
    renderer.activate()


def figure_html(spec: Spec) -> str:
    """Static HTML of a figure spec by :class:`OfflineNotebookRenderer` (for
    snapshots)."""
    renderer = _renderer()
    renderer.activate()
    return renderer.to_mimebundle(dict(spec))["text/html"]


# --------------------------------------------------------------------------- figures


def plotly_output(spec: Spec) -> dict[str, Any]:
    """A figure spec (``Chart.spec``) as one output of an ``Output`` widget: plotly's
    mime type, which the jupyterlab-plotly renderer (installed with plotly) draws in
    JupyterLab and Voila. No ``go.Figure`` is built: validating one costs more than the
    whole update may (see :mod:`analytics.figures`)."""
    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(dict(spec))
    title = spec.get("layout", {}).get("title", {}).get("text") or "chart"
    return {"output_type": "display_data", "metadata": {},
            "data": {**bundle, "text/plain": f"<plotly chart: {title}>"}}


def output_figure(out: widgets.Output) -> dict[str, Any]:
    """The plotly figure (``{"data", "layout"}``) an ``Output`` widget holds, as sent to
    the browser (empty when it holds none)."""
    for item in out.outputs:
        fig = item.get("data", {}).get(PLOTLY_MIME)
        if fig is not None:
            return dict(fig)
    return {}


class ChartPanel:
    """A chart on the page and its plain-words summary, updated without new widgets.

    The chart is drawn in an ``ipywidgets.Output`` that lives as long as the panel; a
    control change replaces its content with the new figure in one message (the
    ``Output`` widget and the page layout stay; its height is kept, so nothing jumps).

    Why not ``plotly.graph_objects.FigureWidget`` updated in place: with plotly 7
    (FigureWidget built on anywidget) in Voila, several FigureWidgets on one page
    updated together kept the previous patient's data at random (seen in several browser
    runs: the update messages reached the page but were not applied), a
    FigureWidget cannot change its subplot grid in place (the hold chart has one row per
    exercise; plotly.js logged NaN errors), and each FigureWidget ships the 5 MB plotly
    bundle, so pages with five of them loaded slowly and sometimes hit anywidget's 2 s
    start-up limit. The issue's fallback (re-draw the figure in an ``Output``
    widget) has none of these problems; ``tests/test_voila_browser.py`` proves it.

    Attributes
    ----------
    widget : ipywidgets.Output
        The widget on the page (the same object for the panel's whole life).
    chart : Chart
        The chart shown; ``figure`` is its ``go.Figure``.
    """

    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        self.widget = widgets.Output(layout=widgets.Layout(min_height=self._height(chart)))
        self.widget.outputs = (plotly_output(chart.spec),)
        self.summary = widgets.HTML(self._summary_html(chart))
        self.box = widgets.VBox([self.widget, self.summary],
                                layout=widgets.Layout(margin="0 0 12px 0"))

    @property
    def figure(self) -> go.Figure:
        """The figure drawn."""
        return self.chart.figure

    @staticmethod
    def _height(chart: Chart) -> str:
        return f"{int(chart.spec['layout'].get('height') or 340)}px"

    @staticmethod
    def _summary_html(chart: Chart) -> str:
        return (f'<div class="an-summary" data-chart="{chart.key}" style="font-size:12px;'
                f'color:#444;max-width:900px">{html.escape(chart.summary)}</div>')

    def show(self, chart: Chart) -> None:
        """Show ``chart`` in the same widgets."""
        self.widget.layout.min_height = self._height(chart)
        self.widget.outputs = (plotly_output(chart.spec),)
        self.summary.value = self._summary_html(chart)
        self.chart = chart

    def snapshot(self) -> str:
        """The chart (titled by plotly) and its summary as static HTML."""
        return (f"{figure_html(self.chart.spec)}"
                f"<p style='font-size:12px'>{html.escape(self.chart.summary)}</p>")


class SnapshotBox(widgets.VBox):
    """A ``VBox`` whose display also carries a static ``text/html`` snapshot.

    Front ends with a widget manager (JupyterLab, Voila) show the live widgets; nbconvert
    without saved widget state falls back to the snapshot, so charts survive export.
    No snapshot is made under Voila (never shown there).
    """

    def __init__(self, children: Iterable[widgets.Widget],
                 snapshot: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(list(children), **kwargs)
        self._snapshot = snapshot

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and not in_voila():
            bundle["text/html"] = self._snapshot()
        return bundle


def _message(text: str, tone: str = "info") -> str:
    colors = {"info": "#0072B2", "ok": "#009E73", "error": "#D55E00"}
    return (f'<div class="an-message an-{tone}" style="color:{colors[tone]};'
            f'font-weight:600">{text}</div>')


def report_href(path: Path) -> str | None:
    """A link to a written report that works where the notebook runs.

    In JupyterLab/nbconvert the path relative to the notebook's folder (the kernel's
    working directory); under Voila a ``voila/files/`` URL relative to the folder in
    ``$ANALYTICS_APP_ROOT`` (``make app`` serves ``reports/*.html`` from the project
    folder); ``None`` when Voila cannot serve the file.
    """
    path = Path(path).resolve()
    if in_voila():
        root = Path(os.environ.get(APP_ROOT_ENV) or Path.cwd()).resolve()
        if not path.is_relative_to(root):
            return None
        base = os.environ.get("VOILA_BASE_URL", "/")
        return f"{base}voila/files/{path.relative_to(root).as_posix()}"
    return Path(os.path.relpath(path, Path.cwd())).as_posix()


def _date(value: Any) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).normalize()


# --------------------------------------------------------------------------- therapist


class TherapistDashboard:
    """One patient's review: controls, headline numbers, alerts and charts.

    Parameters
    ----------
    data_dir : str, Path or DashboardData
        The data folder, or data already loaded by another dashboard.
    patient : str, optional
        The patient shown first (default: the first patient id).
    reports_dir : str or Path, optional
        Where "Export report" writes (default: ``reports/`` beside the data folder).
    settings : Settings
        Base thresholds (used when ``data_dir`` is a folder).

    Attributes
    ----------
    patient, start, end, exercises, threshold : ipywidgets
        The controls (setting their ``value`` updates the page).
    figures : dict of str to plotly.graph_objects.Figure
        The figures shown, by key (:data:`analytics.dashboard_data.REVIEW_CHARTS`);
        ``panels[key].widget`` is the ``Output`` widget drawing each.
    headline : Headline
        The numbers currently shown; ``headline_html`` and ``alerts_html`` show them.
    metrics : CohortMetrics
        The current patient's metrics for the selection.
    last_update_s : float
        Seconds the last control change took (for the benchmark).
    """

    def __init__(self, data_dir: str | Path | DashboardData, patient: str | None = None, *,
                 reports_dir: str | Path | None = None,
                 settings: Settings = DEFAULT_SETTINGS) -> None:
        self.data = (data_dir if isinstance(data_dir, DashboardData)
                     else DashboardData(data_dir, settings))
        ids = self.data.patient_ids
        if not ids:
            raise AnalyticsError(f"{self.data.path}: no patients to show")
        pid = patient if patient is not None else ids[0]
        if pid not in ids:
            raise AnalyticsError(f"unknown patient {pid!r}; patients: {', '.join(ids)}")
        self.reports_dir = (Path(reports_dir) if reports_dir is not None
                            else self.data.path.resolve().parent / "reports")
        threshold = float(self.data.settings.adherence_threshold_pct)

        self.patient = widgets.Dropdown(options=self.data.patient_options(), value=pid,
                                        description="Patient", layout=_WIDE,
                                        style=_LABEL_STYLE)
        self.threshold = widgets.FloatSlider(value=threshold, min=50.0, max=100.0, step=5.0,
                                             description="Adherence threshold (%)",
                                             continuous_update=False, readout_format=".0f",
                                             style=_LABEL_STYLE,
                                             layout=widgets.Layout(width="420px"))
        self.start = widgets.DatePicker(description="From", value=None, style=_LABEL_STYLE)
        self.end = widgets.DatePicker(description="To", value=None, style=_LABEL_STYLE)
        self.exercises = widgets.SelectMultiple(description="Exercises", rows=5,
                                                style=_LABEL_STYLE,
                                                layout=widgets.Layout(width="420px"))
        self.status = widgets.HTML()
        self.headline_html = widgets.HTML()
        self.alerts_html = widgets.HTML()
        self.export_button = widgets.Button(description="Export report",
                                            button_style="primary",
                                            tooltip="Write the HTML report of this selection")
        self.export_link = widgets.HTML()

        self._syncing = False
        self._chart_cache = Lru(size=512)  # charts of every patient visited
        self.last_update_s = 0.0
        self.metrics = self._metrics()
        self._set_exercise_options()
        self.charts = {k: self._chart(k) for k in REVIEW_CHARTS}
        self.panels = {k: ChartPanel(c) for k, c in self.charts.items()}
        self.headline = headline(self.metrics, pid)
        self._show_numbers()

        self.patient.observe(lambda _: self._update("patient"), names="value")
        self.threshold.observe(lambda _: self._update("threshold"), names="value")
        self.start.observe(lambda _: self._update("period"), names="value")
        self.end.observe(lambda _: self._update("period"), names="value")
        self.exercises.observe(lambda _: self._update("exercises"), names="value")
        self.export_button.on_click(lambda _: self._export_clicked())

        note = widgets.HTML('<span style="font-size:12px;color:#555">Blank dates: the whole '
                            'program period up to the last day with data. Exercises limit '
                            'the hold and dose charts (none selected: all); the exported '
                            'report shows every exercise.</span>')
        controls = widgets.VBox([
            widgets.HBox([self.patient, self.threshold]),
            widgets.HBox([self.start, self.end]),
            widgets.HBox([self.exercises, note]),
        ])
        self.widget = SnapshotBox(
            [controls,
             self.status, self.headline_html, self.alerts_html,
             widgets.HBox([self.export_button, self.export_link]),
             *[p.box for p in self.panels.values()]],
            snapshot=self.snapshot_html)

    # ----------------------------------------------------------------- public API

    @property
    def figures(self) -> dict[str, go.Figure]:
        """The figures shown, by chart key (see :class:`ChartPanel`)."""
        return {k: p.figure for k, p in self.panels.items()}

    @property
    def patient_id(self) -> str:
        return str(self.patient.value)

    def select_patient(self, patient_id: str) -> None:
        """Show another patient (same as picking them in the dropdown)."""
        self.patient.value = patient_id

    def set_threshold(self, threshold: float) -> None:
        """Change the adherence threshold (percent)."""
        self.threshold.value = float(threshold)

    def set_period(self, start: Any = None, to: Any = None) -> None:
        """Limit the period (``None``: program start / last day with data)."""
        with self._hold():
            self.start.value = None if start is None else pd.Timestamp(start).date()
            self.end.value = None if to is None else pd.Timestamp(to).date()
        self._update("period")

    def set_exercises(self, keys: Iterable[str] | None) -> None:
        """Limit the hold and dose charts to these exercise keys (``None``: all)."""
        self.exercises.value = tuple(keys or ())

    def export_report(self) -> Path:
        """Write the HTML report of the current selection; returns its path."""
        pid = self.patient_id
        h = self.headline
        period = re.sub(r"[^0-9A-Za-z-]+", "-", h.period.replace(" to ", "-to-"))
        name = f"{pid}-{period}-threshold-{h.threshold:g}.html"
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
        path = write_one(ReportJob(self.data.ds, self.metrics), pid, self.reports_dir / name)
        href = report_href(path)
        link = (f'<a class="an-report-link" href="{html.escape(href)}" target="_blank" '
                f'rel="noopener">{html.escape(name)}</a>' if href is not None
                else html.escape(name))
        where = html.escape(str(path))
        self.export_link.value = _message(
            f"Report written: {link} <span style='font-weight:400'>({where})</span>", "ok")
        return path

    def snapshot_html(self) -> str:
        """Static HTML of what is shown (for nbconvert)."""
        return ('<div class="an-snapshot"><p><i>Snapshot of the therapist review (open the '
                'notebook in JupyterLab or run <code>make app</code> for the live '
                f'controls).</i></p>{self.headline_html.value}{self.alerts_html.value}'
                + "".join(p.snapshot() for p in self.panels.values()) + "</div>")

    # ----------------------------------------------------------------- internals

    def _hold(self) -> _Syncing:
        return _Syncing(self)

    def _metrics(self) -> CohortMetrics:
        return self.data.patient_metrics(self.patient_id, _date(self.start.value),
                                         _date(self.end.value), self.threshold.value)

    def _selected_exercises(self) -> tuple[str, ...] | None:
        chosen = tuple(self.exercises.value)
        return chosen or None

    def _chart(self, key: str) -> Chart:
        """A chart of the current selection (cached: revisiting a patient is fast)."""
        exercises = self._selected_exercises()
        cache_key = (self.patient_id, _date(self.start.value), _date(self.end.value),
                     float(self.threshold.value) if key in THRESHOLD_CHARTS else None,
                     exercises if key in EXERCISE_CHARTS else None, key)
        return self._chart_cache.get_or(cache_key, lambda: patient_chart(
            key, self.data, self.metrics, self.patient_id, exercises))

    def _set_exercise_options(self) -> None:
        options = exercise_options(self.metrics, self.patient_id, self.data.exercise_names)
        with self._hold():
            if list(self.exercises.options) != options:
                self.exercises.value = ()
                self.exercises.options = options

    def _show_numbers(self) -> None:
        pid = self.patient_id
        self.headline = headline(self.metrics, pid)
        self.headline_html.value = headline_html(self.headline, self.data.names.get(pid, ""))
        self.alerts_html.value = alerts_html(alert_items(self.metrics, pid))

    def _update(self, what: str) -> None:
        """Bring the page up to date after a control change (only what it affects)."""
        if self._syncing:
            return
        t0 = time.perf_counter()
        start, end = _date(self.start.value), _date(self.end.value)
        if start is not None and end is not None and start > end:
            self.status.value = _message("The From date must be on or before the To date.",
                                         "error")
            return
        self.status.value = ""
        if what in ("patient", "period"):
            self.export_link.value = ""
        if what != "exercises":
            self.metrics = self._metrics()
        if what in ("patient", "period"):
            self._set_exercise_options()
            keys: tuple[str, ...] = REVIEW_CHARTS
        elif what == "threshold":
            keys = THRESHOLD_CHARTS
        else:
            keys = EXERCISE_CHARTS
        for key in keys:
            self.charts[key] = self._chart(key)
            self.panels[key].show(self.charts[key])
        if what != "exercises":
            self._show_numbers()
        self.last_update_s = time.perf_counter() - t0

    def _export_clicked(self) -> None:
        self.export_button.disabled = True
        try:
            self.export_report()
        except (AnalyticsError, OSError) as exc:
            self.export_link.value = _message(f"Could not write the report: "
                                              f"{html.escape(str(exc))}", "error")
        finally:
            self.export_button.disabled = False


class _Syncing:
    """Context manager: control changes made by the code itself trigger no update."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.before = False

    def __enter__(self) -> None:
        self.before = self.owner._syncing
        self.owner._syncing = True

    def __exit__(self, *exc: object) -> None:
        self.owner._syncing = self.before


# --------------------------------------------------------------------------- my progress


def progress_html(h: Headline) -> str:
    """Plain, encouraging words for a person's own numbers."""
    if h.sessions_prescribed is None:
        first = "No exercise program in this period yet."
    else:
        good = h.adherent
        first = (f"You did {h.sessions_done} of {h.sessions_prescribed} planned sessions "
                 f"({h.adherence_pct or 0:.0f}%). "
                 + ("Great consistency - keep it up!" if good
                    else "Every session counts - small steps add up."))
    streak = ("" if h.current_streak_days is None
              else f" Current streak: {h.current_streak_days} day(s).")
    pain = f" Pain: {h.pain_text}"
    return (f'<div class="an-progress" style="font-size:15px;margin:6px 0">'
            f'{html.escape(first + streak + pain)}</div>')


class MyProgress:
    """A person's own tracker: log today's session, then see the trends.

    Parameters
    ----------
    data_dir : str or Path
        The data folder (the entry is appended to its ``sessions``/``pain`` tables).
    patient : str, optional
        Whose tracker this is (default: the first patient).
    clock : callable, optional
        Returns "now" (UTC); for tests.

    Attributes
    ----------
    exercise, sets, reps, hold, pain_before, pain_after, notes : ipywidgets
        The form fields; ``symptoms`` maps each symptom to its check box.
    save_button : ipywidgets.Button
        "Log session" (disabled while saving).
    message, advice : ipywidgets.HTML
        The result of the last attempt; the red-flag advice for the ticked symptoms.
    figures : dict of str to plotly.graph_objects.Figure
        The trends (:data:`analytics.dashboard_data.PROGRESS_CHARTS`).
    """

    def __init__(self, data_dir: str | Path, patient: str | None = None, *,
                 clock: Callable[[], pd.Timestamp] | None = None) -> None:
        self.data = DashboardData(data_dir)
        ids = self.data.patient_ids
        if not ids:
            raise AnalyticsError(f"{self.data.path}: no patients in this data folder")
        self.patient_id = patient if patient is not None else ids[0]
        if self.patient_id not in ids:
            raise AnalyticsError(f"unknown patient {self.patient_id!r}")
        self._clock = clock or (lambda: pd.Timestamp.now(tz="UTC"))
        self._guard = DoubleSubmitGuard()
        self._saving = False
        self.saved = 0

        tz = self._timezone()
        today = self._clock().tz_convert(tz).tz_localize(None).normalize()
        self.doses = {d.exercise_id: d for d in program_doses(self.data.ds, self.patient_id,
                                                               today)}
        options = [(d.label, d.exercise_id) for d in self.doses.values()]
        text = {"style": _LABEL_STYLE, "layout": widgets.Layout(width="260px")}
        self.exercise = widgets.Dropdown(options=options, description="Exercise",
                                         value=options[0][1] if options else None,
                                         layout=_WIDE, style=_LABEL_STYLE)
        self.sets = widgets.Text(description="Sets", **text)
        self.reps = widgets.Text(description="Reps per set", **text)
        self.hold = widgets.Text(description="Hold (seconds)", placeholder="e.g. 30 or 0:30",
                                 **text)
        self.pain_before = widgets.Text(description="Pain before (0-10)", placeholder="optional",
                                        **text)
        self.pain_after = widgets.Text(description="Pain after (0-10)", placeholder="optional",
                                       **text)
        self.symptoms = {s: widgets.Checkbox(description=SYMPTOM_LABELS.get(s, s), value=False,
                                             indent=False) for s in SYMPTOMS}
        self.notes = widgets.Textarea(description="Notes", placeholder="optional",
                                      style=_LABEL_STYLE, layout=_WIDE)
        self.save_button = widgets.Button(description="Log session", button_style="success")
        self.message = widgets.HTML()
        self.advice = widgets.HTML()
        self.summary_html = widgets.HTML()
        self._prefill()

        self.metrics = self.data.patient_metrics(self.patient_id)
        self.panels = {k: ChartPanel(self._chart(k)) for k in PROGRESS_CHARTS}
        self._show_numbers()

        self.exercise.observe(lambda _: self._prefill(), names="value")
        for box in self.symptoms.values():
            box.observe(lambda _: self._show_advice(), names="value")
        self.save_button.on_click(lambda _: self.submit())

        name = f"{self.data.names.get(self.patient_id, '')} ({self.patient_id})".strip()
        symptom_grid = widgets.GridBox(list(self.symptoms.values()), layout=widgets.Layout(
            grid_template_columns="repeat(2, 300px)"))
        form = widgets.VBox([
            self.exercise,
            widgets.HBox([self.sets, self.reps, self.hold]),
            widgets.HBox([self.pain_before, self.pain_after]),
            widgets.HTML("<b>Symptoms today</b> (tick any you noticed)"), symptom_grid,
            self.advice, self.notes, self.save_button, self.message,
        ])
        self.widget = SnapshotBox(
            [widgets.HTML(f"<h3 style='margin:4px 0'>{html.escape(name)}</h3>"),
             widgets.HTML("<h3>Log today's session</h3>"), form,
             widgets.HTML("<h3>My trends</h3>"), self.summary_html,
             *[p.box for p in self.panels.values()]],
            snapshot=self.snapshot_html)

    # ----------------------------------------------------------------- public API

    @property
    def figures(self) -> dict[str, go.Figure]:
        """The figures shown, by chart key (see :class:`ChartPanel`)."""
        return {k: p.figure for k, p in self.panels.items()}

    def entry(self) -> LogEntry:
        """The form's current values."""
        exercise = self.doses.get(self.exercise.value)
        return LogEntry(
            exercise=exercise.name if exercise else "", sets=self.sets.value,
            reps=self.reps.value, hold_s=self.hold.value,
            pain_before=self.pain_before.value, pain_after=self.pain_after.value,
            symptoms=tuple(s for s, box in self.symptoms.items() if box.value),
            notes=self.notes.value)

    def submit(self) -> bool:
        """Validate and log the form's entry; True when it was written.

        The button is disabled while saving, and an entry identical to the last one
        logged (within :data:`analytics.dashboard_data.DUPLICATE_WINDOW`) is refused, so
        a double click logs once.
        """
        if self._saving:
            return False
        self._saving = True
        self.save_button.disabled = True
        self.save_button.description = "Saving..."
        try:
            return self._save()
        finally:
            self._saving = False
            self.save_button.disabled = False
            self.save_button.description = "Log session"

    def snapshot_html(self) -> str:
        """Static HTML of the trends (for nbconvert)."""
        who = html.escape(f"{self.data.names.get(self.patient_id, '')} ({self.patient_id})")
        return (f'<div class="an-snapshot"><h3>My progress - {who.strip()}</h3><p><i>Snapshot '
                'of the trends (open the notebook in JupyterLab to log a session).</i></p>'
                f'{self.summary_html.value}'
                + "".join(p.snapshot() for p in self.panels.values()) + "</div>")

    # ----------------------------------------------------------------- internals

    def _timezone(self) -> str:
        p = self.data.ds.patients
        row = p[p["patient_id"] == self.patient_id]
        tz = row["timezone"].iloc[0] if len(row) else None
        return str(tz) if isinstance(tz, str) and tz else "UTC"

    def _prefill(self) -> None:
        dose = self.doses.get(self.exercise.value)
        self.sets.value = "" if dose is None or dose.sets is None else str(dose.sets)
        self.reps.value = "" if dose is None or dose.reps is None else str(dose.reps)
        self.hold.value = "" if dose is None or dose.hold_s is None else f"{dose.hold_s:g}"

    def _show_advice(self) -> None:
        advice = red_flag_advice(s for s, box in self.symptoms.items() if box.value)
        self.advice.value = "".join(
            f'<div class="an-advice" style="background:#fdecea;border-left:6px solid #D55E00;'
            f'padding:6px 10px;margin:4px 0"><b>{html.escape(a)}</b></div>' for a in advice)

    def _chart(self, key: str) -> Chart:
        return patient_chart(key, self.data, self.metrics, self.patient_id)

    def _show_numbers(self) -> None:
        self.summary_html.value = progress_html(headline(self.metrics, self.patient_id))

    def _refresh(self) -> None:
        self.data.reload()
        self.metrics = self.data.patient_metrics(self.patient_id)
        for key, panel in self.panels.items():
            panel.show(self._chart(key))
        self._show_numbers()

    def _save(self) -> bool:
        entry = self.entry()
        now = self._clock()
        if self._guard.repeated(entry, now):
            when = self._guard.at.tz_convert(self._timezone()) if self._guard.at else now
            self.message.value = _message(
                f"Already logged at {when:%H:%M}: this exact entry was just saved (a double "
                "click?), so nothing more was written. Change a value to log another "
                "session.", "info")
            return False
        local = now.tz_convert(self._timezone()).tz_localize(None).floor("s")
        try:
            result = save_entry(self.data.path, self.patient_id, entry, local.isoformat(),
                                now=now)
        except LogEntryError as exc:
            items = "".join(f"<li>{html.escape(p.message)}</li>" for p in exc.problems)
            self.message.value = _message(f"Not logged - please correct:<ul>{items}</ul>",
                                          "error")
            return False
        except AnalyticsError as exc:
            self.message.value = _message(f"Not logged: {html.escape(str(exc))}", "error")
            return False
        if result.imported == 0:
            self.message.value = _message("Not logged: the data folder already holds this "
                                          "entry.", "error")
            return False
        self._guard.remember(entry, now)
        self.saved += 1
        pains = [f"pain {v}/10 {w}" for v, w in ((entry.pain_before, "before"),
                                                 (entry.pain_after, "after")) if v.strip()]
        extra = f" with {' and '.join(pains)}" if pains else ""
        self.message.value = _message(
            f"Logged {html.escape(entry.exercise)} at {local:%H:%M}{html.escape(extra)}. "
            "Your trends below are updated.", "ok")
        self._refresh()
        return True


# --------------------------------------------------------------------------- caseload


class CaseloadOverview:
    """The cohort: a sortable, filterable table, distribution charts and a drill-down.

    Parameters
    ----------
    data_dir : str or Path
        The data folder.
    patient : str, optional
        Open this patient in the review below at once.

    Attributes
    ----------
    below_threshold, with_alerts, pain_worse : ipywidgets.Checkbox
        The filters; ``sort_by`` (column) and ``descending`` sort the table.
    rows : pandas.DataFrame
        The rows shown (see :func:`analytics.dashboard_data.caseload_frame`).
    figures : dict of str to plotly.graph_objects.Figure
        ``adherence_distribution`` and ``pain_change_distribution``.
    review : TherapistDashboard or None
        The drill-down view once a patient was opened.
    """

    def __init__(self, data_dir: str | Path, patient: str | None = None, *,
                 reports_dir: str | Path | None = None) -> None:
        self.data = DashboardData(data_dir)
        self.reports_dir = reports_dir
        threshold = float(self.data.settings.adherence_threshold_pct)
        self.threshold = widgets.FloatSlider(value=threshold, min=50.0, max=100.0, step=5.0,
                                             description="Adherence threshold (%)",
                                             continuous_update=False, readout_format=".0f",
                                             style=_LABEL_STYLE,
                                             layout=widgets.Layout(width="420px"))
        self.below_threshold = widgets.Checkbox(description="Below threshold", indent=False)
        self.with_alerts = widgets.Checkbox(description="With urgent/warning alerts",
                                            indent=False)
        self.pain_worse = widgets.Checkbox(description="Pain worse", indent=False)
        self.sort_by = widgets.Dropdown(options=[(v, k) for k, v in SORT_COLUMNS.items()],
                                        value="adherence_pct", description="Sort by",
                                        style=_LABEL_STYLE)
        self.descending = widgets.Checkbox(description="Descending", value=False, indent=False)
        self.count_html = widgets.HTML()
        self.table_html = widgets.HTML()
        self.drill_patient = widgets.Dropdown(options=self.data.patient_options(),
                                              description="Patient", layout=_WIDE,
                                              style=_LABEL_STYLE)
        self.open_button = widgets.Button(description="Open in review", button_style="primary")
        self.review_box = widgets.VBox([])
        self.review: TherapistDashboard | None = None

        self.metrics = self.data.cohort(threshold=threshold)
        self.rows = pd.DataFrame()
        self.panels = {c.key: ChartPanel(c) for c in self._charts()}
        self._show_table()

        self.threshold.observe(lambda _: self._on_threshold(), names="value")
        for control in (self.below_threshold, self.with_alerts, self.pain_worse,
                        self.sort_by, self.descending):
            control.observe(lambda _: self._show_table(), names="value")
        self.open_button.on_click(lambda _: self.open_patient(str(self.drill_patient.value)))

        self.widget = SnapshotBox(
            [self.threshold,
             widgets.HBox([self.below_threshold, self.with_alerts, self.pain_worse]),
             widgets.HBox([self.sort_by, self.descending]), self.count_html, self.table_html,
             widgets.HBox([p.box for p in self.panels.values()]),
             widgets.HTML("<h3>Open a patient</h3>"),
             widgets.HBox([self.drill_patient, self.open_button]), self.review_box],
            snapshot=self.snapshot_html)
        if patient is not None:
            self.open_patient(patient)

    @property
    def figures(self) -> dict[str, go.Figure]:
        """The figures shown, by chart key (see :class:`ChartPanel`)."""
        return {k: p.figure for k, p in self.panels.items()}

    def open_patient(self, patient_id: str) -> TherapistDashboard:
        """Show ``patient_id`` in the review below the table (one review, reused)."""
        if self.review is None:
            self.review = TherapistDashboard(self.data, patient_id,
                                             reports_dir=self.reports_dir)
            self.review.set_threshold(self.threshold.value)
            self.review_box.children = (self.review.widget,)
        else:
            self.review.set_threshold(self.threshold.value)
            self.review.select_patient(patient_id)
        self.drill_patient.value = patient_id
        return self.review

    def snapshot_html(self) -> str:
        """Static HTML of the table, the charts and the open review (for nbconvert)."""
        review = self.review.snapshot_html() if self.review is not None else ""
        return ('<div class="an-snapshot"><p><i>Snapshot of the caseload overview.</i></p>'
                f"{self.table_html.value}"
                + "".join(p.snapshot() for p in self.panels.values()) + review + "</div>")

    def _charts(self) -> tuple[Chart, Chart]:
        return adherence_distribution(self.metrics), pain_change_distribution(self.metrics)

    def _on_threshold(self) -> None:
        self.metrics = self.data.cohort(threshold=self.threshold.value)
        for chart in self._charts():
            self.panels[chart.key].show(chart)
        self._show_table()
        if self.review is not None:
            self.review.set_threshold(self.threshold.value)

    def _show_table(self) -> None:
        frame = caseload_frame(self.metrics, self.data.names)
        self.rows = filter_caseload(frame, below_threshold=self.below_threshold.value,
                                    with_alerts=self.with_alerts.value,
                                    pain_worse=self.pain_worse.value,
                                    sort_by=str(self.sort_by.value),
                                    ascending=not self.descending.value)
        self.count_html.value = (f"<span class='an-count'>{len(self.rows)} of {len(frame)} "
                                 "patients shown</span>")
        self.table_html.value = caseload_html(self.rows, float(self.threshold.value))
