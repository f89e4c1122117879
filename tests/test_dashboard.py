"""The notebook dashboards without a browser: widget values in, figures and numbers out.

Every expectation is computed independently with :func:`analytics.metrics.summary.compute`
and :mod:`analytics.figures`; the dashboards must show exactly that. The log form is
exercised on a copy of the bundled sample data.
"""

from __future__ import annotations

import gc
import shutil
import weakref
from dataclasses import fields, replace
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from metrics_helpers import renumbered

from analytics import figures, load
from analytics.dashboard import (
    NOTEBOOK_RENDERER,
    PLOTLY_MIME,
    CaseloadOverview,
    MyProgress,
    TherapistDashboard,
    output_figure,
    setup_notebook,
)
from analytics.dashboard_data import (
    REVIEW_CHARTS,
    DashboardData,
    LogEntry,
    check_entry,
    with_threshold,
)
from analytics.metrics.summary import DERIVED_TABLES, compute
from analytics.report.context import STOP_ADVICE, URGENT_ADVICE
from analytics.settings import DEFAULT_SETTINGS
from analytics.vector import with_string_storage

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data"


@pytest.fixture(scope="module")
def ds():
    return load(SAMPLE)


@pytest.fixture(scope="module")
def metrics(ds):
    return compute(ds)


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    return TherapistDashboard(SAMPLE, reports_dir=tmp_path_factory.mktemp("reports"))


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(SAMPLE, folder)
    return folder


def sent(panel) -> dict:
    """The figure an ``Output`` widget sends to the browser."""
    return output_figure(panel.widget)


def ys(fig) -> list[list]:
    return [list(t.y) if t.y is not None else [] for t in fig.data]


def summary_row(m, pid: str) -> dict:
    return m.summary[m.summary["patient_id"] == pid].iloc[0].to_dict()


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("threshold", [60.0, 70.0, 90.0, 100.0])
def test_with_threshold_equals_a_full_compute(ds, metrics, threshold):
    fast = with_threshold(metrics, threshold)
    full = compute(ds, replace(DEFAULT_SETTINGS, adherence_threshold_pct=threshold))
    assert fast.settings == full.settings
    for name in [*(f.name for f in fields(full)), *DERIVED_TABLES]:
        value = getattr(full, name)
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(getattr(fast, name), value, obj=name)


def test_patient_view_matches_the_cohort(ds, metrics):
    data = DashboardData(ds)
    view = data.patient_metrics("P003", threshold=70)
    full = compute(ds, replace(DEFAULT_SETTINGS, adherence_threshold_pct=70))
    assert summary_row(view, "P003") == summary_row(full, "P003")
    period = data.patient_metrics("P003", "2026-09-01", "2026-10-15")
    ref = compute(ds, start="2026-09-01", to="2026-10-15")
    assert summary_row(period, "P003") == summary_row(ref, "P003")


@pytest.mark.parametrize(("start", "to", "threshold"), [
    (None, None, None), ("2026-09-01", "2026-10-15", None), ("2026-10-01", None, 65),
    (None, "2026-08-20", None)])
def test_patient_views_equal_compute_table_by_table(ds, start, to, threshold):
    """The dashboard's per-patient views (Python-backed strings) hold exactly the tables
    of a whole computation restricted to the patient."""
    data = DashboardData(ds)
    settings = DEFAULT_SETTINGS if threshold is None else replace(
        DEFAULT_SETTINGS, adherence_threshold_pct=threshold)
    for pid in data.patient_ids[:4]:
        view = data.patient_metrics(pid, start, to, threshold)
        ref = compute(ds, settings, start=start, to=to, patients=[pid])
        assert view.as_of == ref.as_of and view.start == ref.start
        names = [f.name for f in fields(ref) if isinstance(getattr(ref, f.name), pd.DataFrame)]
        for name in [*names, *DERIVED_TABLES]:
            got = with_string_storage(getattr(view, name), "pyarrow").reset_index(drop=True)
            pd.testing.assert_frame_equal(renumbered(got), renumbered(getattr(ref, name)),
                                          obj=f"{pid} {name}")
        strings = [t for table in (view.sessions, view.alerts, view.summary)
                   for t in table.dtypes if isinstance(t, pd.StringDtype)]
        storage = "pyarrow" if start is None and to is None else "python"  # split or computed
        assert strings and all(t.storage == storage for t in strings)


# --------------------------------------------------------------------------- review


def test_review_starts_on_the_first_patient_with_every_chart(review, metrics):
    assert review.patient_id == "P001"
    assert set(review.figures) == set(REVIEW_CHARTS)
    row = summary_row(metrics, "P001")
    assert review.headline.adherence_pct == row["adherence_pct"]
    for key, panel in review.panels.items():
        assert sent(panel)["data"] == panel.figure.to_dict()["data"], key


def test_dropdown_labels_carry_name_and_alert_badge(review, metrics):
    labels = {pid: label for label, pid in review.patient.options}
    assert labels["P003"].startswith("P003 Oliver Thompson")
    warnings = sum(a["severity"] == "warning" for a in summary_row(metrics, "P003")["alerts"])
    assert labels["P003"].endswith(f"· {warnings} warnings")
    assert "⚠ 1 red flag" in labels["P012"]


def test_urgent_alerts_in_the_badge(make_folder):
    folder = make_folder({
        "programs.csv": "patient_id,exercise,start_date\nP1,bridge,2025-06-01\n",
        "pain.csv": "patient_id,reported_at,pain,symptoms\n"
                    "P1,2025-06-02T08:00,4,bladder_bowel\nP1,2025-06-03T08:00,3,\n",
    })
    data = DashboardData(folder)
    warnings = int((data.base.alerts["severity"] == "warning").sum())  # low adherence
    assert data.label("P1") == f"P1 Ann ⚠ 1 urgent · {warnings} warning" + "s" * (warnings > 1)
    assert data.label("P2") == "P2 Bob"


def test_picking_a_patient_changes_figures_and_numbers(review, metrics):
    review.patient.value = "P001"
    before = {k: sent(p) for k, p in review.panels.items()}
    review.patient.value = "P003"
    row = summary_row(metrics, "P003")
    h = review.headline
    assert (h.patient_id, h.adherence_pct, h.sessions_done, h.sessions_prescribed) == (
        "P003", row["adherence_pct"], row["sessions_done"], row["sessions_prescribed"])
    assert h.pain_change == row["pain_change"] and h.n_alerts == len(row["alerts"])
    assert "Oliver Thompson (P003)" in review.headline_html.value
    assert f"{row['adherence_pct']:.1f}%" in review.headline_html.value
    assert row["alerts"][0]["message"] in review.alerts_html.value
    week = metrics.weekly[metrics.weekly["patient_id"] == "P003"]
    assert list(review.figures["weekly"].data[0].y) == list(week["adherence_pct"])
    names = {e.id: e.name for e in load(SAMPLE).catalog}
    expected = {
        "calendar": figures.calendar_heatmap(metrics, "P003"),
        "weekly": figures.weekly_adherence(metrics, "P003"),
        "hold": figures.hold_progression(metrics, "P003", names=names,
                                         hold_max=review.data.hold_max),
        "pain_trend": figures.pain_trend(metrics, "P003"),
        "dose": figures.dose_by_exercise(metrics, "P003", names=names),
    }
    for key, chart in expected.items():
        shown = sent(review.panels[key])
        assert shown["data"] == chart.figure.to_dict()["data"], key
        assert shown != before[key], key
        assert review.panels[key].summary.value.count(chart.summary.split(".")[0]) == 1
    assert review.last_update_s > 0


def test_the_same_widgets_are_updated_not_replaced(review):
    review.patient.value = "P001"
    widgets_before = [p.widget for p in review.panels.values()]
    children_before = list(review.widget.children)
    review.select_patient("P005")
    assert [p.widget for p in review.panels.values()] == widgets_before
    assert list(review.widget.children) == children_before


def test_threshold_changes_the_adherent_flag_and_weekly_chart(review, ds):
    review.select_patient("P001")
    review.set_threshold(80)
    assert review.headline.adherent is True
    assert review.headline.adherent_text.startswith("Adherent: 89.3% is at or above the 80%")
    bars_before = sent(review.panels["weekly"])
    review.threshold.value = 90
    full = compute(ds, replace(DEFAULT_SETTINGS, adherence_threshold_pct=90))
    row = summary_row(full, "P001")
    assert review.headline.adherent is bool(row["adherent"]) is False
    assert review.headline.adherent_text == "Below the 90% threshold: 89.3%."
    assert "Below the 90% threshold" in review.headline_html.value
    assert sent(review.panels["weekly"]) != bars_before
    expected = figures.weekly_adherence(full, "P001").figure.to_dict()
    assert sent(review.panels["weekly"])["data"] == expected["data"]
    low = full.alerts[(full.alerts["patient_id"] == "P001")
                      & (full.alerts["kind"] == "low_adherence")]
    assert len(low) and low["message"].iloc[0] in review.alerts_html.value
    review.set_threshold(80)


def test_period_and_exercise_controls(review, ds):
    review.select_patient("P002")
    review.set_period("2026-09-07", "2026-10-18")
    ref = compute(ds, start="2026-09-07", to="2026-10-18")
    row = summary_row(ref, "P002")
    assert review.headline.period == "2026-09-07 to 2026-10-18"
    assert review.headline.adherence_pct == row["adherence_pct"]
    names = {key: label for label, key in review.exercises.options}
    held = review.metrics.holds["key"].tolist()
    assert len(held) >= 2 and set(held) <= set(names)
    review.exercises.value = (held[0],)
    assert list(review.figures["dose"].data[0].y) == [names[held[0]]]
    titles = [a.text for a in review.figures["hold"].layout.annotations]
    assert names[held[0]] in titles and names[held[1]] not in titles
    assert sent(review.panels["hold"])["layout"]["annotations"][0]["text"] == names[held[0]]
    review.set_exercises(None)
    assert len(review.figures["dose"].data[0].y) == len(names)
    review.set_period(None, None)
    assert review.headline.period == "2026-08-24 to 2026-11-15"


def test_from_after_to_is_refused_with_a_message(review):
    review.select_patient("P001")
    shown = review.headline
    review.set_period("2026-10-01", "2026-09-01")
    assert "From date must be on or before the To date" in review.status.value
    assert review.headline == shown
    review.set_period(None, None)
    assert review.status.value == ""


def test_export_writes_the_report_of_the_selection(review):
    review.select_patient("P003")
    review.set_threshold(70)
    path = review.export_report()
    assert path.parent == review.reports_dir and path.name.endswith("threshold-70.html")
    text = path.read_text(encoding="utf-8")
    assert "Oliver Thompson" in text and "70%" in text
    assert path.name in review.export_link.value and "<a " in review.export_link.value
    review.export_button.click()
    assert "Report written" in review.export_link.value
    review.set_threshold(80)


def test_snapshot_for_nbconvert(review):
    setup_notebook()
    bundle = review.widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert html.count("Plotly.newPlot") == len(REVIEW_CHARTS)
    assert "cdn.plot.ly" not in html and "mathjax" not in html.lower()
    assert review.headline_html.value in html


def test_setup_notebook_selects_an_offline_renderer(monkeypatch):
    import plotly.io as pio

    setup_notebook()
    assert pio.renderers.default == NOTEBOOK_RENDERER
    monkeypatch.setenv("VOILA_KERNEL_ID", "test")
    setup_notebook()
    assert pio.renderers.default == "plotly_mimetype"
    monkeypatch.delenv("VOILA_KERNEL_ID")
    setup_notebook()


def test_a_chart_is_sent_in_plotlys_mime_type(review):
    out = review.panels["calendar"].widget.outputs[0]
    assert out["output_type"] == "display_data" and PLOTLY_MIME in out["data"]


# --------------------------------------------------------------------------- my progress


def tracker(folder: Path, patient: str = "P001", **kw) -> MyProgress:
    return MyProgress(folder, patient, **kw)


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_form_prefills_the_prescribed_dose(sample_copy, ds):
    t = tracker(sample_copy)
    prog = ds.programs[ds.programs["patient_id"] == "P001"]
    first = prog.iloc[0]
    assert t.exercise.value == first["exercise_id"]
    assert (t.sets.value, t.reps.value, t.hold.value) == ("1", "3", "20")
    t.exercise.value = "bridge"
    assert (t.sets.value, t.reps.value, t.hold.value) == ("3", "15", "")
    assert len(t.exercise.options) == len(prog)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("reps", "abc", "Reps 'abc': reps is not a number"),
    ("sets", "-1", "Sets '-1': sets is negative"),
    ("hold", "5000", "Hold (seconds) '5000': hold_s above 3600 s is implausible"),
    ("pain_after", "11", "Pain after '11': pain must be between 0 and 10"),
    ("pain_before", "bad", "Pain before 'bad': pain is not a number (use 0-10)"),
])
def test_bad_values_are_refused_with_a_clear_message(sample_copy, field, value, message):
    t = tracker(sample_copy)
    before = {p.name: p.read_bytes() for p in sample_copy.iterdir()}
    getattr(t, field).value = value
    t.save_button.click()
    assert message in unescape(t.message.value) and "Not logged" in t.message.value
    assert {p.name: p.read_bytes() for p in sample_copy.iterdir()} == before
    assert t.saved == 0


def test_symptoms_need_a_pain_rating(sample_copy):
    t = tracker(sample_copy)
    t.symptoms["tingling"].value = True
    assert not t.submit()
    assert "symptoms are recorded with a pain rating" in t.message.value


def test_a_good_entry_appends_one_row_and_refreshes_the_trends(sample_copy):
    t = tracker(sample_copy)
    sessions, pain = sample_copy / "sessions.csv", sample_copy / "pain.csv"
    n_sessions, n_pain = lines(sessions), lines(pain)
    before = {k: sent(p) for k, p in t.panels.items()}
    t.exercise.value = "bridge"
    t.pain_before.value, t.pain_after.value = "5", "3/10"
    t.notes.value = "felt fine"
    assert t.submit()
    assert "Logged Bridge at" in t.message.value
    assert lines(sessions) == n_sessions + 1 and lines(pain) == n_pain + 2
    last = sessions.read_text(encoding="utf-8").splitlines()[-1].split(",")
    assert last[0] == "P001" and last[2] == "Bridge" and last[3:5] == ["3", "15"]
    assert last[-1] == "log"
    reloaded = load(sample_copy)
    assert len(reloaded.rejects) == 0
    today = t.metrics.as_of
    assert today == reloaded.sessions["local_day"].max()
    for key in ("calendar", "pain_trend"):
        assert sent(t.panels[key]) != before[key], key
    days = t.metrics.daily[t.metrics.daily["patient_id"] == "P001"]["day"]
    assert days.max() == today


def test_double_submit_logs_once(sample_copy):
    clock = iter(pd.Timestamp.now(tz="UTC").floor("s") + pd.Timedelta(seconds=s)
                 for s in range(100))
    t = tracker(sample_copy, clock=lambda: next(clock))
    sessions = sample_copy / "sessions.csv"
    n = lines(sessions)
    t.save_button.click()
    t.save_button.click()  # one second later: the folder would take it, the guard does not
    assert lines(sessions) == n + 1
    assert "Already logged at" in t.message.value and t.saved == 1
    t.reps.value = "9"  # a different entry is fine
    t.save_button.click()
    assert lines(sessions) == n + 2 and t.saved == 2


def test_button_is_disabled_while_saving(sample_copy, monkeypatch):
    import analytics.dashboard as dashboard

    t = tracker(sample_copy)
    seen = []
    real = dashboard.save_entry

    def spy(*args, **kwargs):
        seen.append((t.save_button.disabled, t.submit()))  # a click meanwhile does nothing
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboard, "save_entry", spy)
    t.save_button.click()
    assert seen == [(True, False)]
    assert t.save_button.disabled is False and t.saved == 1


def test_red_flag_advice_shows_at_once(sample_copy):
    t = tracker(sample_copy)
    assert t.advice.value == ""
    t.symptoms["numbness"].value = True
    assert STOP_ADVICE in t.advice.value and URGENT_ADVICE not in t.advice.value
    t.symptoms["bladder_bowel"].value = True
    assert t.advice.value.index(URGENT_ADVICE) < t.advice.value.index(STOP_ADVICE)
    t.symptoms["numbness"].value = False
    t.symptoms["bladder_bowel"].value = False
    assert t.advice.value == ""
    t.symptoms["fever"].value = True
    assert t.advice.value == ""


def test_check_entry_uses_the_loader_rules(sample_copy):
    at = "2026-11-16T08:00:00"
    assert check_entry(sample_copy, "P001", LogEntry("Bridge", "3", "15", "0:30"), at) == []
    problems = check_entry(sample_copy, "P001", LogEntry("Moonwalk"), at)
    assert [p.field for p in problems] == ["Exercise"]


def test_entries_made_in_python_with_numbers_or_none(sample_copy):
    """The form API called from Python with numbers or None (not the form's text)
    checks and saves like the typed text; a bad number gets a message, not TypeError."""
    at = "2026-11-16T08:00:00"
    typed = LogEntry("Bridge", "3", "15", "30", "4", "", ("numbness",), "")
    made = LogEntry("Bridge", 3, 15.0, 30, 4, None, "numbness", None)  # type: ignore[arg-type]
    assert made == typed
    assert check_entry(sample_copy, "P001", made, at) == []
    bad = LogEntry("Bridge", -2, None, float("nan"))  # type: ignore[arg-type]
    assert [p.field for p in check_entry(sample_copy, "P001", bad, at)] == ["Sets"]
    assert LogEntry(None).exercise == ""  # type: ignore[arg-type]


# --------------------------------------------------------------------------- caseload


@pytest.fixture(scope="module")
def caseload(tmp_path_factory):
    return CaseloadOverview(SAMPLE, reports_dir=tmp_path_factory.mktemp("reports"))


def test_caseload_table_filters_and_sorts(caseload, metrics):
    assert len(caseload.rows) == len(metrics.summary)
    caseload.below_threshold.value = True
    assert len(caseload.rows) == int((~metrics.summary["adherent"]).sum())
    assert not caseload.rows["adherent"].any()
    caseload.below_threshold.value = False
    caseload.pain_worse.value = True
    assert set(caseload.rows["pain_status"]) <= {"worse"}
    assert f"{len(caseload.rows)} of 12 patients" in caseload.count_html.value
    caseload.pain_worse.value = False
    caseload.with_alerts.value = True
    assert ((caseload.rows["n_urgent"] + caseload.rows["n_warning"]) > 0).all()
    caseload.with_alerts.value = False
    caseload.sort_by.value = "adherence_pct"
    caseload.descending.value = True
    values = list(caseload.rows["adherence_pct"])
    assert values == sorted(values, reverse=True)
    assert caseload.table_html.value.index('data-patient="P001"') < \
        caseload.table_html.value.index('data-patient="P003"')
    caseload.descending.value = False


def test_caseload_threshold_updates_table_and_chart(caseload, ds):
    before = sent(caseload.panels["adherence_distribution"])
    caseload.threshold.value = 50
    full = compute(ds, replace(DEFAULT_SETTINGS, adherence_threshold_pct=50))
    expected = figures.adherence_distribution(full).figure.to_dict()
    assert sent(caseload.panels["adherence_distribution"])["data"] == expected["data"]
    assert sent(caseload.panels["adherence_distribution"]) != before
    caseload.below_threshold.value = True
    assert len(caseload.rows) == int((~full.summary["adherent"]).sum())
    caseload.below_threshold.value = False
    caseload.threshold.value = 80


def test_drill_down_opens_one_review_and_reuses_it(caseload):
    caseload.drill_patient.value = "P004"
    caseload.open_button.click()
    review = caseload.review
    assert review is not None and review.patient_id == "P004"
    assert caseload.review_box.children == (review.widget,)
    caseload.open_patient("P007")
    assert caseload.review is review and review.patient_id == "P007"
    assert review.data is caseload.data


def test_loaded_data_is_frozen_for_the_collector_and_released_on_reload(sample_copy):
    """Full garbage collections skip the long-lived loaded data (they took ~115 ms in a
    callback); a reload lets the old dataset go."""
    data = DashboardData(sample_copy)
    assert gc.get_freeze_count() > 0
    old = weakref.ref(data.ds)
    data.reload()
    gc.collect()
    assert old() is None
