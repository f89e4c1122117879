"""Charts: data match the metrics, titles and summaries, empty states, determinism."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pytest
from conftest import NOW

from analytics import figures, load
from analytics.metrics.summary import CohortMetrics, compute
from analytics.metrics.timing import TIMING_ADVICE
from analytics.report.context import _untitled_json
from analytics.synth import generate_cohort, write_cohort

PROGRAM_HEADER = "patient_id,exercise,start_date,end_date,reps,hold_s,times_per_day,days_per_week\n"
SESSION_HEADER = "patient_id,performed_at,exercise,reps,hold_s\n"
PAIN_HEADER = "patient_id,reported_at,pain,context,symptoms\n"

# P1 (Europe/London): pelvic tilt (10 reps, 5 s hold) and hamstring stretch (3 reps, 10 s)
# every day from Monday 2025-03-03; data end on 2025-03-10, so the period has 8 days.
PROGRAMS = (PROGRAM_HEADER
            + "P1,pelvic tilt,2025-03-03,,10,5,1,7\n"
            + "P1,hamstring stretch,2025-03-03,,3,10,1,7\n")
SESSIONS = (SESSION_HEADER
            + "P1,2025-03-03T07:30,pelvic tilt,10,4\n"
            + "P1,2025-03-03T07:32,hamstring stretch,3,8\n"
            + "P1,2025-03-04T07:30,pelvic tilt,10,5\n"
            + "P1,2025-03-06T18:00,pelvic tilt,10,6\n"
            + "P1,2025-03-06T18:02,hamstring stretch,6,12\n"
            + "P1,2025-03-07T18:00,pelvic tilt,5,6\n"
            + "P1,2025-03-10T18:00,pelvic tilt,10,7\n")
PAIN = (PAIN_HEADER
        + "P1,2025-03-03T07:00,6,before_session,\n"
        + "P1,2025-03-03T08:00,4,after_session,\n"
        + "P1,2025-03-04T07:00,5,before_session,\n"
        + "P1,2025-03-04T08:00,4,after_session,\n"
        + "P1,2025-03-06T20:00,5,evening,\n"
        + "P1,2025-03-10T20:00,3,evening,\n")
NAMES = {"pelvic_tilt": "Pelvic tilt", "hamstring_stretch": "Hamstring stretch"}
HOLD_MAX = {"hamstring_stretch": 20.0}


@pytest.fixture
def small(make_folder) -> CohortMetrics:
    ds = load(make_folder({"programs.csv": PROGRAMS, "sessions.csv": SESSIONS,
                           "pain.csv": PAIN}), now=NOW)
    assert ds.rejects.empty
    return compute(ds)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> CohortMetrics:
    folder = tmp_path_factory.mktemp("cohort")
    write_cohort(generate_cohort(n_patients=12, days=42, seed=3), folder)
    return compute(load(folder))


def _shapes_at(fig: go.Figure, axis: str) -> list[float]:
    """The ``axis`` ("x" or "y") positions of the straight reference lines."""
    out = []
    for s in fig.layout.shapes:
        if s.type == "line" and getattr(s, f"{axis}0") == getattr(s, f"{axis}1"):
            out.append(getattr(s, f"{axis}0"))
    return out


def _texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def _cells(fig: go.Figure) -> int:
    return sum(v is not None for t in fig.data for row in t.z for v in row)


def _is_empty_state(chart: figures.Chart) -> bool:
    return len(chart.figure.data) == 0 and any(
        a.xref == "paper" and a.x == 0.5 and a.y == 0.5 for a in chart.figure.layout.annotations)


# ------------------------------------------------------------------ hand-made dataset


def test_calendar_one_cell_per_period_day_with_levels(small):
    fig = figures.calendar_heatmap(small, "P1").figure
    assert _cells(fig) == 8
    assert list(fig.data[0].x) == ["2025-03-03", "2025-03-10"]
    assert list(fig.data[0].y) == list(figures.WEEKDAYS)
    z = fig.data[0].z
    # Mon 03-03 full, Wed 03-05 missed, Sat 03-08 missed, Mon 03-10 full.
    assert z[0][0] == figures.CAL_FULL and z[2][0] == figures.CAL_MISSED
    assert z[5][0] == figures.CAL_MISSED and z[0][1] == figures.CAL_FULL
    assert z[1][1] is None  # Tue 03-11 is after the period
    assert fig.data[0].customdata[0][0] == ["2025-03-03", 1, 1, "1 of 1 prescribed sessions done"]


def test_weekly_bars_match_metrics_and_threshold(small):
    chart = figures.weekly_adherence(small, "P1")
    bar = chart.figure.data[0]
    expected = small.weekly[small.weekly["patient_id"] == "P1"]["adherence_pct"].tolist()
    assert list(bar.y) == expected == [57.1, 100.0]
    assert list(bar.marker.color) == [figures.PALETTE["orange"], figures.PALETTE["blue"]]
    assert _shapes_at(chart.figure, "y") == [80.0]
    assert "threshold 80%" in _texts(chart.figure)
    assert "1 was below the 80% threshold" in chart.summary


def test_hold_rows_band_and_personal_best(small):
    chart = figures.hold_progression(small, "P1", names=NAMES, hold_max=HOLD_MAX)
    fig = chart.figure
    assert [a.text for a in fig.layout.annotations][:2] == ["Hamstring stretch", "Pelvic tilt"]
    best = {t.yaxis: t for t in fig.data if t.name == "daily best"}
    assert list(best["y2"].y) == [4.0, 5.0, 6.0, 6.0, 7.0]
    assert list(best["y2"].x) == ["2025-03-03", "2025-03-04", "2025-03-06", "2025-03-07",
                                  "2025-03-10"]
    band = [t for t in fig.data if t.name == "target range"]
    assert len(band) == 1 and band[0].fill == "tonexty" and list(band[0].y) == [20.0, 20.0]
    pb = [t for t in fig.data if t.name == "personal best" and t.yaxis == "y2"][0]
    assert (pb.x[0], pb.y[0]) == ("2025-03-10", 7.0)
    assert "best 7 s" in _texts(fig)
    assert any(t.startswith("trend +") and t.endswith("s/week") for t in _texts(fig))
    assert "Pelvic tilt: best 7 s on 2025-03-10" in chart.summary
    # Without the catalog range: a dashed target line and no band.
    plain = figures.hold_progression(small, "P1", ["pelvic_tilt"])
    assert [t.name for t in plain.figure.data if t.name == "target range"] == []
    target = [t for t in plain.figure.data if t.name == "target"][0]
    assert target.line.dash == "dash" and set(target.y) == {5.0}
    assert plain.figure.layout.annotations[0].text == "pelvic_tilt"


def test_pain_trend_lines_windows_and_session_ticks(small):
    chart = figures.pain_trend(small, "P1")
    fig = chart.figure
    daily = small.pain_daily[small.pain_daily["patient_id"] == "P1"]
    rolling = [t for t in fig.data if t.name == "7-day rolling mean"][0]
    assert list(rolling.y) == pytest.approx(daily["rolling_7d_mean"].tolist())
    points = [t for t in fig.data if t.name == "daily mean"][0]
    assert list(points.y) == pytest.approx(daily["pain_mean"].tolist())
    ticks = [t for t in fig.data if t.name == "session day"][0]
    assert list(ticks.x) == ["2025-03-03", "2025-03-04", "2025-03-06", "2025-03-07",
                             "2025-03-10"]
    baseline = small.pain_change.set_index("patient_id").loc["P1", "pain_baseline"]
    assert _shapes_at(fig, "y") == [pytest.approx(baseline - 2)]
    assert "clinically important improvement (2 points)" in _texts(fig)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 2
    assert list(fig.layout.yaxis.range) == [0, 10]
    assert fig.layout.yaxis.title.text == "Pain (0-10)"


def test_pain_before_after_bars(small):
    chart = figures.pain_before_after(small, "P1")
    bar = chart.figure.data[0]
    assert list(bar.y) == [5.5, 4.0]
    assert all("n=2 days" in t for t in bar.text)
    assert "1.5 points lower after exercising" in chart.summary


def test_dose_bars_capped_with_uncapped_hover(small):
    chart = figures.dose_by_exercise(small, "P1", names=NAMES)
    bar = chart.figure.data[0]
    d = small.dose_by_exercise[small.dose_by_exercise["patient_id"] == "P1"]
    assert list(bar.y) == ["Hamstring stretch", "Pelvic tilt"]
    assert list(bar.x) == pytest.approx(d["dose_pct_mean"].tolist())
    assert [c[0] for c in bar.customdata] == pytest.approx(d["dose_pct_uncapped_mean"].tolist())
    assert bar.x[0] == 100.0 and bar.customdata[0][0] == 150.0  # 3 and 6 of 3 reps
    assert _shapes_at(chart.figure, "x") == [100]


def test_session_times_counts_and_advice(small):
    chart = figures.session_times(small, "P1")
    stretch, other = chart.figure.data
    assert sum(stretch.y) == 2 and sum(other.y) == 3
    assert stretch.y[7] == 1 and stretch.y[18] == 1 and other.y[7] == 1 and other.y[18] == 2
    assert chart.figure.layout.barmode == "stack"
    assert _shapes_at(chart.figure, "x") == [8]
    assert "1 of 2 stretch sessions (50%) started before 08:00" in chart.summary
    for advice in TIMING_ADVICE:
        assert advice["advice"] in chart.summary


def test_patient_without_data_gets_empty_states(small):
    charts = figures.patient_charts(small, "P2")
    assert tuple(c.key for c in charts) == figures.PATIENT_CHART_KEYS
    for chart in charts:
        assert _is_empty_state(chart), chart.key
        assert chart.summary and chart.title
        assert chart.figure.layout.title.text == chart.title
    by_key = {c.key: c for c in charts}
    assert by_key["pain_trend"].summary == "No pain reports in this period."
    assert by_key["hold"].summary == figures.NO_HOLDS
    assert figures.NO_HOLDS in _texts(by_key["hold"].figure)
    assert all(a["advice"] in by_key["session_times"].summary for a in TIMING_ADVICE)
    # Unknown patients and exercises do not raise either.
    assert all(_is_empty_state(c) for c in figures.patient_charts(small, "nobody"))
    assert _is_empty_state(figures.hold_progression(small, "P1", ["plank"]))


# ------------------------------------------------------------------ generated cohort


def _every_chart(m: CohortMetrics, patient_id: str) -> list[figures.Chart]:
    return [*figures.patient_charts(m, patient_id),
            figures.adherence_distribution(m), figures.pain_change_distribution(m)]


def test_every_chart_has_titles_summary_and_house_style(cohort):
    for pid in cohort.summary["patient_id"]:
        for chart in _every_chart(cohort, str(pid)):
            # The spec is what the report embeds: plain JSON types only, no NaN;
            # ``figure`` validates it against plotly's schema.
            json.dumps(chart.spec, allow_nan=False)
            layout = chart.spec["layout"]
            assert chart.figure.layout.title.text == chart.title
            assert chart.summary.strip() and chart.title
            assert layout["title"]["text"] == chart.title
            # The plotly_white look is set explicitly (no named template).
            assert layout["template"] == {}
            assert layout["plot_bgcolor"] == layout["paper_bgcolor"] == "white"
            assert layout["colorway"] == list(figures.COLORWAY)
            if chart.key == "hold":
                rows = max(1, len(cohort.holds[cohort.holds["patient_id"] == pid]))
                assert layout["height"] == max(figures.HEIGHT, figures.HOLD_BASE_HEIGHT
                                               + figures.HOLD_ROW_HEIGHT * rows)
            else:
                assert 300 <= layout["height"] <= 600
            x_titles = [v["title"]["text"] for k, v in layout.items()
                        if k.startswith("xaxis") and v.get("title", {}).get("text")]
            y_titles = [v["title"]["text"] for k, v in layout.items()
                        if k.startswith("yaxis") and v.get("title", {}).get("text")]
            assert x_titles and y_titles, chart.key
            assert all(t.type in {"bar", "heatmap", "scatter"} for t in chart.figure.data)
            assert all(getattr(t, "hovertemplate", None) for t in chart.figure.data
                       if t.hoverinfo != "skip"), chart.key


def test_cohort_patient_charts_match_metrics(cohort):
    for pid in cohort.summary["patient_id"]:
        pid = str(pid)
        charts = {c.key: c for c in figures.patient_charts(cohort, pid)}
        period = cohort.periods.set_index("patient_id").loc[pid, "period_days"]
        assert _cells(charts["calendar"].figure) == period
        weekly = cohort.weekly[cohort.weekly["patient_id"] == pid]["adherence_pct"]
        assert list(charts["weekly"].figure.data[0].y) == weekly.tolist()
        daily = cohort.pain_daily[cohort.pain_daily["patient_id"] == pid]
        rolling = [t for t in charts["pain_trend"].figure.data
                   if t.name == "7-day rolling mean"][0]
        assert list(rolling.y) == pytest.approx(daily["rolling_7d_mean"].tolist())
        n_sessions = (cohort.timing_sessions["patient_id"] == pid).sum()
        assert sum(sum(t.y) for t in charts["session_times"].figure.data) == n_sessions
        holds = cohort.holds[cohort.holds["patient_id"] == pid]
        rows = [t for t in charts["hold"].figure.data if t.name == "daily best"]
        assert len(rows) == len(holds)


def test_cohort_distributions(cohort):
    adh = figures.adherence_distribution(cohort)
    values = cohort.summary["adherence_pct"].dropna()
    assert sum(adh.figure.data[0].y) == len(values)
    assert _shapes_at(adh.figure, "x") == [80.0]
    pain = figures.pain_change_distribution(cohort)
    n = cohort.summary["pain_change"].notna().sum()
    assert sum(sum(t.y) for t in pain.figure.data) == n
    assert sorted(_shapes_at(pain.figure, "x")) == [-2.0, 2.0]
    assert f"{len(values)} patients with a program" in adh.summary


def test_cohort_distributions_without_data(small):
    empty = type(small)(**{**small.__dict__, "summary": small.summary.iloc[0:0]})
    assert _is_empty_state(figures.adherence_distribution(empty))
    assert figures.pain_change_distribution(empty).summary == "No pain reports in this period."


def test_charts_are_deterministic(cohort):
    pid = str(cohort.summary["patient_id"].iloc[0])
    # What reports embed (the spec, serialised as the report does) and the validated
    # figure are both the same from run to run.
    first = [_untitled_json(c.spec) for c in _every_chart(cohort, pid)]
    second = [_untitled_json(c.spec) for c in _every_chart(cohort, pid)]
    assert first == second
    assert ([c.figure.to_json() for c in _every_chart(cohort, pid)]
            == [c.figure.to_json() for c in _every_chart(cohort, pid)])
    text = "".join(first)
    assert '"uid"' not in text and "NaN" not in text and "bdata" not in text


def test_changing_one_spec_leaves_other_charts_alone(cohort):
    pid = str(cohort.summary["patient_id"].iloc[0])
    hold = figures.hold_progression(cohort, pid)
    hold.spec["layout"]["colorway"].append("#123456")
    hold.spec["layout"]["yaxis"]["title"]["text"] = "changed"
    assert figures.weekly_adherence(cohort, pid).spec["layout"]["colorway"] == list(
        figures.COLORWAY)
    rows = [k for k in hold.spec["layout"] if k.startswith("yaxis") and k != "yaxis"]
    assert rows and all(hold.spec["layout"][k]["title"]["text"] != "changed" for k in rows)


def test_figures_open_as_widgets(small):
    pytest.importorskip("anywidget")
    for chart in figures.patient_charts(small, "P1"):
        widget = go.FigureWidget(chart.figure)
        assert widget.layout.title.text == chart.title


def test_hold_max_from_catalog(make_folder):
    ds = load(make_folder({"programs.csv": PROGRAMS}), now=NOW)
    limits: dict[str, Any] = figures.hold_max_by_exercise(ds.catalog)
    assert limits["hamstring_stretch"] == 20.0
    assert all(isinstance(v, float) and not math.isnan(v) for v in limits.values())
    assert pd.Series(list(limits)).is_unique


def test_pain_change_bands_put_clinical_changes_beyond_the_lines(small):
    summary = pd.DataFrame({"pain_change": [-2.0, -1.99, 0.0, 1.5, 2.0, None],
                            "pain_status": ["improved", "no_change", "no_change",
                                            "no_change", "worse", "insufficient_data"]})
    m = type(small)(**{**small.__dict__, "summary": summary})
    fig = figures.pain_change_distribution(m).figure
    judged = dict(zip(fig.data[0].x, fig.data[0].y, strict=True))
    assert judged == {-2.5: 1, -1.5: 1, -0.5: 0, 0.5: 1, 1.5: 1, 2.5: 1}
    assert sum(fig.data[1].y) == 0
