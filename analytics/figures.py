"""Every chart of the reports and notebooks, built from :class:`CohortMetrics` only.

Each function returns a :class:`Chart`: a plotly figure as a plain dict
(``chart.spec``: ``{"data": [...], "layout": {...}}``, the JSON plotly.js draws), the
same figure as a validated :class:`plotly.graph_objects.Figure` on demand
(``chart.figure``), a key, a title and a one-or-two sentence text summary with the key
numbers (for screen readers and print). Nothing here computes a metric beyond
filtering one patient's rows and trivial reshaping (counting values into bins), and
nothing writes HTML or touches widgets: the report serialises ``chart.spec`` and a
notebook draws it.

Why plain dicts: building the same figures through ``graph_objects`` (validating every
property on every assignment) took about 0.33 s of the 0.36 s it took to prepare one
report's data (one process, 200-patient benchmark cohort); as plain dicts the charts
take about 0.03 s. Every test reads ``chart.figure``, so each chart is still checked
against plotly's schema.

Conventions
-----------
* Deterministic: the same metrics give an identical spec (no uids, no timestamps;
  data are plain Python lists, dates are ISO ``YYYY-MM-DD`` strings).
* The plotly_white look set explicitly (an empty template, see :func:`_layout`), the
  Okabe-Ito colour-blind-safe :data:`PALETTE` (:data:`COLORWAY`), a
  title and axis titles with units on every chart, modest heights, small margins,
  hover texts in plain words. Only SVG traces (no WebGL), so charts print.
* A patient without data for a chart gets the same chart with a centred empty-state
  annotation and an honest summary; no function raises for a missing patient.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from analytics.metrics.summary import CohortMetrics
from analytics.metrics.timing import TIMING_ADVICE
from analytics.textfmt import fmt_or_dash, plural

if TYPE_CHECKING:
    from analytics.catalog import Catalog

#: A plotly figure as a plain dict: ``{"data": [trace, ...], "layout": {...}}``.
Spec = dict[str, Any]

#: Okabe-Ito colour-blind-safe palette (Okabe M, Ito K 2008, "Color Universal Design").
PALETTE: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Neutral grey for "nothing to show" (days with nothing prescribed, undecided data).
GREY = "#BBBBBB"
LIGHT_GREY = "#EEEEEE"

#: Default figure height in pixels (multi-row hold charts grow with the rows).
HEIGHT = 340
#: Fixed height of the hold chart above its rows (title, legend, x axis), pixels.
HOLD_BASE_HEIGHT = 110
#: Extra height per additional hold-chart row, in pixels.
HOLD_ROW_HEIGHT = 150

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: Plain words for ``pain_status`` values.
PAIN_STATUS_WORDS: dict[str, str] = {
    "improved": "a clinically important improvement",
    "worse": "a clinically important worsening",
    "no_change": "no clinically important change",
    "insufficient_data": "not enough reports yet to judge the change",
}

#: Keys of :func:`patient_charts`, in report order.
PATIENT_CHART_KEYS: tuple[str, ...] = (
    "calendar", "weekly", "hold", "pain_trend", "pain_before_after", "dose", "session_times",
)

NO_HOLDS = "No hold times logged for exercises with a hold target."
NO_PAIN = "No pain reports in this period."
NO_PROGRAM = "No program in this period."
NO_SESSIONS = "No sessions logged in this period."


@dataclass(frozen=True)
class Chart:
    """One chart: a stable ``key``, the figure and a plain-words summary.

    ``spec`` is the figure as a plain dict (treat it as read-only: charts may be
    cached and shared); :attr:`figure` is the same figure as a new, validated
    ``go.Figure`` on each access (changing it does not change ``spec``).
    """

    key: str
    spec: Spec
    summary: str

    @property
    def title(self) -> str:
        """The chart's title (the one in ``spec``)."""
        return str(self.spec["layout"]["title"]["text"])

    @property
    def figure(self) -> go.Figure:
        """``spec`` as a :class:`plotly.graph_objects.Figure` (validated by plotly;
        raises ``ValueError`` for a property plotly does not know)."""
        return go.Figure(self.spec)


# --------------------------------------------------------------------------- helpers


def _rows(frame: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """The rows of one patient (empty when the patient or the column is absent)."""
    if frame.empty or "patient_id" not in frame.columns:
        return frame.iloc[0:0]
    return frame[frame["patient_id"].isin([patient_id])].reset_index(drop=True)


def _iso(value: Any) -> str:
    """A day as ``YYYY-MM-DD``."""
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _isos(values: Iterable[Any]) -> list[str]:
    """Days as ``YYYY-MM-DD`` (vectorised for a datetime Series without gaps)."""
    if (isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values)
            and not values.isna().any()):
        return values.dt.strftime("%Y-%m-%d").tolist()
    return [_iso(v) for v in values]


def _num(value: Any) -> float | None:
    """A plain float, ``None`` for null/NaN (so JSON holds ``null``)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    out = float(value)
    return None if math.isnan(out) else out


def _nums(values: Iterable[Any]) -> list[float | None]:
    return [_num(v) for v in values]


def _ints(values: Iterable[Any]) -> list[int]:
    return [int(v) for v in values]


def _display_name(key: str, exercise_id: Any, names: dict[str, str] | None) -> str:
    """The display name of an exercise: ``names`` by id, else the id, else the typed
    name of an unlinked exercise (its key without the leading ``?``)."""
    if exercise_id is not None and not pd.isna(exercise_id):
        ex = str(exercise_id)
        return (names or {}).get(ex, ex)
    text = str(key)
    return f"{text[1:]} (not in catalog)" if text.startswith("?") else text


#: The plotly_white look of every axis, set explicitly (no named template).
_AXIS: dict[str, Any] = {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8",
                         "zerolinecolor": "#EBF0F8", "zerolinewidth": 2, "ticks": "",
                         "automargin": True}
COLORWAY: tuple[str, ...] = tuple(PALETTE[c] for c in ("blue", "orange", "bluish_green",
                                                        "vermillion", "reddish_purple",
                                                        "sky_blue", "yellow"))


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    """One axis: the shared look, its title (with units) and ``extra`` settings."""
    return {**_AXIS, "title": {"text": title}, **extra}


def _layout(title: str, x_title: str, y_title: str, *, height: int = HEIGHT,
            showlegend: bool = False, xaxis: dict[str, Any] | None = None,
            yaxis: dict[str, Any] | None = None) -> dict[str, Any]:
    """The shared layout: an empty template (plotly's default template would be
    applied otherwise), the plotly_white look, title, axis titles, height, small
    margins; ``xaxis``/``yaxis`` add settings to the axes."""
    return {
        "template": {},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(COLORWAY),
        "title": {"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 56, "b": 50},
        "showlegend": showlegend,
        "hovermode": "closest",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right",
                   "x": 1.0, "traceorder": "normal"},
        "font": {"size": 12},
        "xaxis": _axis(x_title, **(xaxis or {})),
        "yaxis": _axis(y_title, **(yaxis or {})),
    }


def _spec(data: list[dict[str, Any]], layout: dict[str, Any]) -> Spec:
    return {"data": data, "layout": layout}


def _empty(key: str, title: str, x_title: str, y_title: str, message: str,
           summary: str | None = None) -> Chart:
    """A chart with no data: axes titled but blank, and a centred annotation."""
    blank = {"showticklabels": False, "showgrid": False, "zeroline": False}
    layout = _layout(title, x_title, y_title, xaxis=blank, yaxis=blank)
    layout["annotations"] = [{"text": message, "xref": "paper", "yref": "paper", "x": 0.5,
                              "y": 0.5, "showarrow": False,
                              "font": {"size": 14, "color": "#555555"}}]
    return Chart(key, _spec([], layout), summary or message)


#: Label positions of reference lines: ``(x, xanchor, y, yanchor)`` along the line,
#: as plotly's ``add_hline``/``add_vline`` place them (``None``: the line's value).
_HLINE_LABEL: dict[str, tuple[float, str, None, str]] = {
    "top left": (0, "left", None, "bottom"),
    "top right": (1, "right", None, "bottom"),
    "bottom left": (0, "left", None, "top"),
    "bottom right": (1, "right", None, "top"),
}
_VLINE_LABEL: dict[str, tuple[None, str, float, str]] = {
    "top left": (None, "right", 1, "top"),
    "top right": (None, "left", 1, "top"),
    "bottom left": (None, "right", 0, "bottom"),
    "bottom right": (None, "left", 0, "bottom"),
}


def _refline(layout: dict[str, Any], axis: str, value: float, label: str, color: str,
             position: str) -> None:
    """Add a dashed line across the plot at ``value`` on the ``axis`` (``"x"``: a
    vertical line, ``"y"``: a horizontal one) and its label at ``position``."""
    line = {"dash": "dash", "color": color, "width": 1.5}
    if axis == "y":
        x, xanchor, _, yanchor = _HLINE_LABEL[position]
        shape = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y",
                 "y0": value, "y1": value, "line": line}
        note = {"xref": "x domain", "x": x, "yref": "y", "y": value}
    else:
        _, xanchor, y, yanchor = _VLINE_LABEL[position]
        shape = {"type": "line", "xref": "x", "x0": value, "x1": value,
                 "yref": "y domain", "y0": 0, "y1": 1, "line": line}
        note = {"xref": "x", "x": value, "yref": "y domain", "y": y}
    layout.setdefault("shapes", []).append(shape)
    layout.setdefault("annotations", []).append({
        **note, "text": label, "xanchor": xanchor, "yanchor": yanchor, "showarrow": False,
        "font": {"size": 11, "color": color}, "bgcolor": "rgba(255,255,255,0.85)"})


def _hline(layout: dict[str, Any], y: float, label: str, color: str = PALETTE["black"], *,
           position: str = "top left") -> None:
    _refline(layout, "y", y, label, color, position)


def _vline(layout: dict[str, Any], x: float, label: str, color: str = PALETTE["black"], *,
           position: str = "top right") -> None:
    _refline(layout, "x", x, label, color, position)


# --------------------------------------------------------------------------- calendar

#: Calendar cell levels (``z`` of the first heatmap trace).
CAL_MISSED, CAL_PARTIAL, CAL_FULL = 0, 1, 2
_CAL_COLORS = (PALETTE["orange"], PALETTE["sky_blue"], PALETTE["blue"])


def calendar_heatmap(m: CohortMetrics, patient_id: str) -> Chart:
    """Contribution-calendar view: one cell per local day of the patient's period.

    Columns are ISO weeks (x: the Monday, ``YYYY-MM-DD``), rows weekdays Mon..Sun.
    Trace 0 colours days with a prescription by ``done / prescribed`` (levels
    :data:`CAL_MISSED`, :data:`CAL_PARTIAL`, :data:`CAL_FULL`); trace 1 shows days with
    nothing prescribed in light grey. Cells outside the period are blank (``None``).
    Source: ``m.daily``.
    """
    key, title = "calendar", "Sessions done each day"
    x_title, y_title = "Week starting (Monday, local date)", "Day of week"
    d = _rows(m.daily, patient_id)
    if d.empty:
        return _empty(key, title, x_title, y_title, NO_PROGRAM)
    d = d.sort_values("day", kind="stable")
    weeks = sorted(set(_isos(d["week_start"])))
    col = {w: i for i, w in enumerate(weeks)}
    grid: list[list[int | None]] = [[None] * len(weeks) for _ in WEEKDAYS]
    grey: list[list[int | None]] = [[None] * len(weeks) for _ in WEEKDAYS]
    info: list[list[list[Any]]] = [[["", 0, 0, ""] for _ in weeks] for _ in WEEKDAYS]
    counts = {CAL_MISSED: 0, CAL_PARTIAL: 0, CAL_FULL: 0}
    n_free = 0
    days, week_starts = _isos(d["day"]), _isos(d["week_start"])
    weekdays = pd.DatetimeIndex(d["day"]).day_of_week.tolist()
    for day, row, week, prescribed, done, counted in zip(
            days, weekdays, week_starts, d["prescribed"].astype(int).tolist(),
            d["done"].astype(int).tolist(), d["counted"].astype(int).tolist(), strict=True):
        c = col[week]
        if prescribed > 0:
            level = (CAL_FULL if done >= prescribed
                     else CAL_PARTIAL if done > 0 else CAL_MISSED)
            grid[row][c] = level
            counts[level] += 1
            words = f"{done} of {prescribed} prescribed sessions done"
        else:
            grey[row][c] = 0
            n_free += 1
            words = "nothing prescribed"
        info[row][c] = [day, counted, prescribed, words]
    hover = ("%{customdata[0]}<br>%{customdata[3]}<br>"
             "%{customdata[1]} sessions counted<extra></extra>")
    scale = [[0.0, _CAL_COLORS[0]], [1 / 3, _CAL_COLORS[0]], [1 / 3, _CAL_COLORS[1]],
             [2 / 3, _CAL_COLORS[1]], [2 / 3, _CAL_COLORS[2]], [1.0, _CAL_COLORS[2]]]
    data = [
        {"type": "heatmap", "name": "prescribed days", "x": weeks, "y": list(WEEKDAYS),
         "z": grid, "customdata": info, "zmin": -0.5, "zmax": 2.5, "colorscale": scale,
         "xgap": 3, "ygap": 3, "hovertemplate": hover,
         "colorbar": {"title": {"text": "Sessions"}, "tickvals": [0, 1, 2],
                      "ticktext": ["none done", "some done", "all done"],
                      "thickness": 12, "len": 0.8}},
        {"type": "heatmap", "name": "nothing prescribed", "x": weeks, "y": list(WEEKDAYS),
         "z": grey, "customdata": info, "zmin": 0, "zmax": 1,
         "colorscale": [[0.0, LIGHT_GREY], [1.0, LIGHT_GREY]], "showscale": False,
         "xgap": 3, "ygap": 3, "hovertemplate": hover},
    ]
    layout = _layout(title, x_title, y_title,
                     xaxis={"type": "category", "tickangle": -45, "showgrid": False},
                     yaxis={"categoryorder": "array", "categoryarray": list(WEEKDAYS),
                            "autorange": "reversed", "showgrid": False})
    n_presc = sum(counts.values())
    summary = (f"Of {plural(n_presc, 'day')} with a prescription from {_iso(d['day'].iloc[0])} "
               f"to {_iso(d['day'].iloc[-1])}, all sessions were done on {counts[CAL_FULL]}, "
               f"some on {counts[CAL_PARTIAL]} and none on {counts[CAL_MISSED]}.")
    if n_free:
        summary += f" Nothing was prescribed on {plural(n_free, 'day')}."
    return Chart(key, _spec(data, layout), summary)


# --------------------------------------------------------------------------- weekly


def weekly_adherence(m: CohortMetrics, patient_id: str) -> Chart:
    """Bars of weekly ``adherence_pct`` (``m.weekly``), orange below the threshold,
    with a dashed line at ``m.settings.adherence_threshold_pct``."""
    key, title = "weekly", "Weekly adherence"
    x_title, y_title = "Week starting (Monday, local date)", "Sessions done (% of prescribed)"
    threshold = float(m.settings.adherence_threshold_pct)
    w = _rows(m.weekly, patient_id)
    if w.empty:
        return _empty(key, title, x_title, y_title, NO_PROGRAM)
    if w["adherence_pct"].isna().all():
        return _empty(key, title, x_title, y_title, "Nothing was prescribed in this period.")
    w = w.sort_values("week_start", kind="stable")
    pct = _nums(w["adherence_pct"])
    below = [p is not None and p < threshold for p in pct]
    colors = [PALETTE["orange"] if b else PALETTE["blue"] for b in below]
    words = ["below the threshold" if b else "at or above the threshold" for b in below]
    custom = [[int(d), int(p), s, _iso(ws)] for d, p, s, ws in
              zip(w["done"], w["prescribed"], words, w["week_start"], strict=True)]
    data = [{
        "type": "bar", "name": "adherence", "x": _isos(w["week_start"]), "y": pct,
        "marker": {"color": colors}, "customdata": custom,
        "hovertemplate": ("Week of %{customdata[3]}<br>%{customdata[0]} of %{customdata[1]} "
                          "prescribed sessions done (%{y:.1f}%)<br>%{customdata[2]}"
                          "<extra></extra>"),
    }]
    layout = _layout(title, x_title, y_title, xaxis={"type": "category", "tickangle": -45},
                     yaxis={"range": [0, 105], "ticksuffix": "%"})
    _hline(layout, threshold, f"threshold {threshold:g}%")
    valid = [p for p in pct if p is not None]
    n_below = sum(below)
    summary = (f"Weekly adherence ranged from {min(valid):.1f}% to {max(valid):.1f}% over "
               f"{plural(len(valid), 'week')} with a prescription; {n_below} "
               f"{'was' if n_below == 1 else 'were'} below the {threshold:g}% threshold.")
    return Chart(key, _spec(data, layout), summary)


# --------------------------------------------------------------------------- holds


def hold_max_by_exercise(catalog: Catalog) -> dict[str, float]:
    """``{exercise_id: hold_s_max}`` of each catalog default prescription that has one
    (for the target band of :func:`hold_progression`)."""
    out: dict[str, float] = {}
    for ex in catalog:
        value = ex.default.hold_s_max
        if value is not None:
            out[ex.id] = float(value)
    return out


def _stacked_rows(layout: dict[str, Any], labels: list[str], x_title: str) -> None:
    """One subplot row per label, top to bottom, sharing the x axis (as plotly's
    ``make_subplots(rows=n, shared_xaxes=True, subplot_titles=labels)`` lays them out):
    axes ``x``/``y`` (top), ``x2``/``y2``, ...; only the bottom row shows x tick labels
    and the x title; each row's label is a title above it."""
    n = len(labels)
    spacing = min(0.12, 0.3 / n)
    height = (1.0 - spacing * (n - 1)) / n
    x_axis, y_axis = layout.pop("xaxis"), layout.pop("yaxis")
    bottom = "x" if n == 1 else f"x{n}"
    notes = []
    for row, label in enumerate(labels, start=1):
        suffix = "" if row == 1 else str(row)
        start = (n - row) * (height + spacing)
        x = {**x_axis, "anchor": f"y{suffix}", "domain": [0.0, 1.0]}
        if row < n:
            x.update(matches=bottom, showticklabels=False, title={"text": ""})
        else:
            x["title"] = {"text": x_title}
        layout[f"xaxis{suffix}"] = x
        layout[f"yaxis{suffix}"] = {**y_axis, "title": dict(y_axis["title"]),
                                    "anchor": f"x{suffix}", "domain": [start, start + height]}
        notes.append({"text": label, "x": 0.5, "xanchor": "center", "xref": "paper",
                      "y": start + height, "yanchor": "bottom", "yref": "paper",
                      "showarrow": False, "font": {"size": 16}})
    layout["annotations"] = notes + layout.get("annotations", [])


def hold_progression(m: CohortMetrics, patient_id: str,
                     exercise_ids: list[str] | None = None, *,
                     names: dict[str, str] | None = None,
                     hold_max: dict[str, float] | None = None) -> Chart:
    """Daily best (markers and lines) and daily mean (thin line) hold per exercise.

    One subplot row per exercise (shared x). The prescribed target is a dashed line;
    when ``hold_max`` (exercise id -> catalog default ``hold_s_max``, see
    :func:`hold_max_by_exercise`) gives a longer hold, the band from target to it is
    shaded. Each row is annotated with its Theil-Sen slope (s/week) and personal best.
    Sources: ``m.holds_daily`` and ``m.holds``.

    Parameters
    ----------
    exercise_ids : list of str, optional
        Only these exercises (catalog id or exercise key), in the given order; default
        every exercise with logged holds, in key order.
    names : dict, optional
        Exercise id -> display name (default: the id).
    hold_max : dict, optional
        Exercise id -> upper end of the catalog hold range, seconds.
    """
    key, title = "hold", "Hold times"
    x_title, y_title = "Day (local date)", "Hold (seconds)"
    daily = _rows(m.holds_daily, patient_id)
    summ = _rows(m.holds, patient_id)
    if daily.empty or summ.empty:
        return _empty(key, title, x_title, y_title, NO_HOLDS)
    summ = summ.sort_values("key", kind="stable")
    if exercise_ids is not None:
        wanted = [str(e) for e in exercise_ids]
        ids = summ["exercise_id"].astype("string").fillna("")
        picked = []
        for e in wanted:
            hit = summ[(ids == e) | (summ["key"].astype("string") == e)]
            picked.extend(i for i in hit.index if i not in picked)
        summ = summ.loc[picked]
    if summ.empty:
        return _empty(key, title, x_title, y_title, NO_HOLDS)

    n = len(summ)
    labels = [_display_name(r.key, r.exercise_id, names) for r in summ.itertuples()]
    shown: set[str] = set()
    data: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    parts = []
    # iter(): dict() would take a GroupBy for a mapping (it has a ``keys`` attribute).
    by_key = dict(iter(daily.groupby("key", sort=False, observed=True)))

    def trace(axes: dict[str, str], name: str, **props: Any) -> None:
        """A scatter trace on ``axes``; each legend entry is shown once, the first time."""
        data.append({"type": "scatter", "name": name, "legendgroup": name,
                     "showlegend": name not in shown, **props, **axes})
        shown.add(name)

    for row, (r, label) in enumerate(zip(summ.itertuples(index=False), labels, strict=True),
                                     start=1):
        suffix = "" if row == 1 else str(row)
        axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}

        ex = by_key.get(r.key, daily.iloc[0:0]).sort_values("day", kind="stable")
        days = _isos(ex["day"])
        target = _nums(ex["target_s"])
        ex_id = None if pd.isna(r.exercise_id) else str(r.exercise_id)
        upper_s = (hold_max or {}).get(ex_id) if ex_id is not None else None
        trace(axes, "target", x=days, y=target, mode="lines",
              line={"color": PALETTE["bluish_green"], "width": 1.5, "dash": "dash"},
              hovertemplate="Target %{y:g} seconds on %{x}<extra></extra>")
        if upper_s is not None and any(t is not None and upper_s > t for t in target):
            trace(axes, "target range", x=days, y=[max(upper_s, t or 0.0) for t in target],
                  mode="lines", fill="tonexty", fillcolor="rgba(0,158,115,0.15)",
                  line={"color": PALETTE["bluish_green"], "width": 1, "dash": "dot"},
                  customdata=[[t, upper_s] for t in target],
                  hovertemplate=("Target range %{customdata[0]:g} to %{customdata[1]:g} "
                                 "seconds<extra></extra>"))
        trace(axes, "daily mean", x=days, y=_nums(ex["hold_s_mean"]), mode="lines",
              line={"color": PALETTE["sky_blue"], "width": 1},
              hovertemplate="%{x}: mean hold %{y:.1f} seconds<extra></extra>")
        trace(axes, "daily best", x=days, y=_nums(ex["hold_s_best"]), mode="lines+markers",
              line={"color": PALETTE["blue"], "width": 2}, marker={"size": 5},
              hovertemplate="%{x}: longest hold %{y:.1f} seconds<extra></extra>")
        pb, pb_day = _num(r.personal_best_s), _iso(r.personal_best_day)
        trace(axes, "personal best", x=[pb_day], y=[pb], mode="markers",
              marker={"symbol": "star", "size": 12, "color": PALETTE["reddish_purple"],
                      "line": {"color": PALETTE["black"], "width": 1}},
              hovertemplate="Personal best %{y:.1f} seconds on %{x}<extra></extra>")
        notes.append({"x": pb_day, "y": pb, "text": f"best {pb:g} s", "showarrow": True,
                      "arrowhead": 0, "ax": 0, "ay": -22, "font": {"size": 11},
                      "xref": f"x{suffix}", "yref": f"y{suffix}"})
        slope = _num(r.slope_s_per_week)
        slope_text = ("trend: not enough days" if slope is None
                      else f"trend {slope:+.1f} s/week")
        notes.append({"text": slope_text, "xref": f"x{suffix} domain",
                      "yref": f"y{suffix} domain", "x": 0.01, "y": 0.02, "xanchor": "left",
                      "yanchor": "bottom", "showarrow": False, "font": {"size": 11}})
        parts.append(f"{label}: best {pb:g} s on {pb_day}, {slope_text}, "
                     f"mean {fmt_or_dash(_num(r.last7_mean_s))} s over the last 7 logged days "
                     "against a "
                     f"{fmt_or_dash(_num(r.target_s), '{:g}')} s target")
    height = max(HEIGHT, HOLD_BASE_HEIGHT + HOLD_ROW_HEIGHT * n)
    layout = _layout(title, "", "Hold (s)" if n > 1 else y_title, height=height,
                     showlegend=True, yaxis={"rangemode": "tozero"})
    layout["annotations"] = notes
    _stacked_rows(layout, labels, x_title)
    layout["margin"] = {**layout["margin"], "t": 80, "r": 150}
    layout["legend"] = {**layout["legend"], "orientation": "v", "x": 1.02,
                        "xanchor": "left", "y": 1.0, "yanchor": "top"}
    summary = "Daily longest hold per exercise. " + "; ".join(parts) + "."
    return Chart(key, _spec(data, layout), summary)


# --------------------------------------------------------------------------- pain


def pain_trend(m: CohortMetrics, patient_id: str) -> Chart:
    """Daily mean pain (points), its 7-day rolling mean (line), the baseline and recent
    windows shaded, a line at baseline minus ``settings.pain_improved_points`` and the
    days with a counted session marked along the bottom. Sources: ``m.pain_daily``,
    ``m.pain_change``, ``m.sessions``."""
    key, title = "pain_trend", "Pain over time"
    x_title, y_title = "Day (local date)", "Pain (0-10)"
    p = _rows(m.pain_daily, patient_id)
    if p.empty:
        return _empty(key, title, x_title, y_title, NO_PAIN)
    p = p.sort_values("day", kind="stable")
    s = m.settings
    days = _isos(p["day"])
    data: list[dict[str, Any]] = [
        {"type": "scatter", "name": "daily mean", "x": days, "y": _nums(p["pain_mean"]),
         "mode": "markers", "marker": {"color": PALETTE["sky_blue"], "size": 6},
         "customdata": _ints(p["n_reports"]),
         "hovertemplate": "%{x}: mean pain %{y:.1f}/10 from %{customdata} report(s)"
                          "<extra></extra>"},
        {"type": "scatter", "name": "7-day rolling mean", "x": days,
         "y": _nums(p["rolling_7d_mean"]), "mode": "lines",
         "line": {"color": PALETTE["blue"], "width": 2.5},
         "hovertemplate": "%{x}: 7-day average %{y:.1f}/10<extra></extra>"},
    ]
    sess = _rows(m.sessions, patient_id)
    if not sess.empty:
        sess = sess[sess["counted"].astype(bool)]
    session_days = sorted(set(_isos(sess["day"]))) if not sess.empty else []
    if session_days:
        data.append({
            "type": "scatter", "name": "session day", "x": session_days,
            "y": [0.25] * len(session_days), "mode": "markers",
            "marker": {"symbol": "line-ns-open", "size": 9, "color": "#555555",
                       "line": {"width": 1.5, "color": "#555555"}},
            "cliponaxis": False, "hovertemplate": "%{x}: session done<extra></extra>"})
    layout = _layout(title, x_title, y_title, showlegend=True,
                     xaxis={"type": "date"}, yaxis={"range": [0, 10], "dtick": 2})
    layout["margin"] = {**layout["margin"], "t": 80}
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    width = pd.Timedelta(days=s.pain_window_days - 1)
    half = pd.Timedelta(hours=12)
    change = _rows(m.pain_change, patient_id)
    c = change.iloc[0] if not change.empty else None
    baseline = _num(c["pain_baseline"]) if c is not None else None
    if c is not None:
        first, last = pd.Timestamp(c["first_day"]), pd.Timestamp(c["last_day"])
        n_days = s.pain_window_days
        for x0, x1, color, label in (
            (first - half, first + width + half, "rgba(230,159,0,0.15)",
             f"baseline (first {n_days} days)"),
            (last - width - half, last + half, "rgba(0,114,178,0.12)",
             f"recent (last {n_days} days)"),
        ):
            shapes.append({"type": "rect", "xref": "x", "yref": "paper",
                           "x0": x0.isoformat(), "x1": x1.isoformat(), "y0": 0, "y1": 1,
                           "fillcolor": color, "line": {"width": 0}, "layer": "below"})
            notes.append({"x": (x0 + (x1 - x0) / 2).isoformat(), "y": 0.99, "xref": "x",
                          "yref": "paper", "yanchor": "top", "text": label,
                          "showarrow": False, "font": {"size": 10, "color": "#555555"}})
    layout["shapes"], layout["annotations"] = shapes, notes
    target = None
    if baseline is not None and baseline - s.pain_improved_points >= 0:
        target = baseline - s.pain_improved_points
        _hline(layout, target, f"clinically important improvement "
               f"({s.pain_improved_points:g} points)", PALETTE["bluish_green"],
               position="bottom right")

    summary = (f"{plural(int(p['n_reports'].sum()), 'pain report')} on "
               f"{plural(len(p), 'day')} from {days[0]} to {days[-1]}.")
    if c is not None and baseline is not None:
        recent = _num(c["pain_recent"])
        chg = _num(c["pain_change"])
        status = PAIN_STATUS_WORDS.get(str(c["pain_status"]), str(c["pain_status"]))
        summary += (f" Average pain was {baseline:.1f}/10 in the first {s.pain_window_days} "
                    f"days and {fmt_or_dash(recent)}/10 in the last {s.pain_window_days} days "
                    f"(change {fmt_or_dash(chg, '{:+.1f}')} points: {status}).")
    if target is None and baseline is not None:
        summary += (f" The baseline is below {s.pain_improved_points:g} points, so no "
                    "improvement line is drawn.")
    return Chart(key, _spec(data, layout), summary)


def pain_before_after(m: CohortMetrics, patient_id: str) -> Chart:
    """Mean pain before versus after sessions, over days with both kinds of report
    (``m.pain_before_after``): two bars, each labelled with its value and the number
    of paired days."""
    key, title = "pain_before_after", "Pain before and after exercising"
    x_title, y_title = "When pain was reported", "Mean pain (0-10)"
    b = _rows(m.pain_before_after, patient_id)
    if b.empty:
        return _empty(key, title, x_title, y_title,
                      "No days with pain reported both before and after a session.")
    r = b.iloc[0]
    n = int(r["n_days"])
    before, after = _num(r["before_mean"]), _num(r["after_mean"])
    diff = _num(r["mean_diff"])
    data = [{
        "type": "bar", "name": "mean pain", "x": ["Before session", "After session"],
        "y": [before, after], "marker": {"color": [PALETTE["orange"], PALETTE["blue"]]},
        "text": [f"{fmt_or_dash(before)} (n={n} days)", f"{fmt_or_dash(after)} (n={n} days)"],
        "textposition": "outside", "cliponaxis": False,
        "hovertemplate": f"%{{x}}: mean pain %{{y:.2f}}/10 over {plural(n, 'paired day')}"
                         "<extra></extra>",
    }]
    layout = _layout(title, x_title, y_title, yaxis={"range": [0, 10], "dtick": 2})
    gap = diff or 0.0
    direction = ("no difference" if gap == 0
                 else f"{abs(gap):.1f} points {'lower' if gap < 0 else 'higher'} after "
                      "exercising")
    summary = (f"On {plural(n, 'day')} with pain reported both before and after a session, "
               f"mean pain was {fmt_or_dash(before)}/10 before and {fmt_or_dash(after)}/10 after "
               f"({direction}).")
    return Chart(key, _spec(data, layout), summary)


# --------------------------------------------------------------------------- dose


def dose_by_exercise(m: CohortMetrics, patient_id: str, *,
                     names: dict[str, str] | None = None) -> Chart:
    """Horizontal bars of the mean capped dose % per exercise (``m.dose_by_exercise``),
    the uncapped mean in the hover, and a dashed reference line at 100%. Exercises
    without a repetition prescription (no dose %) are left out and counted in the
    summary."""
    key, title = "dose", "Repetitions done per exercise"
    x_title = "Repetitions done (% of prescribed, capped at 100%)"
    y_title = "Exercise"
    d = _rows(m.dose_by_exercise, patient_id)
    if d.empty:
        return _empty(key, title, x_title, y_title,
                      "No sessions with prescribed exercises logged in this period.")
    d = d.sort_values("key", kind="stable")
    has = d[d["dose_pct_mean"].notna()]
    n_without = len(d) - len(has)
    if has.empty:
        return _empty(key, title, x_title, y_title,
                      "No repetitions logged for exercises with a repetition prescription.")
    labels = [_display_name(r.key, r.exercise_id, names) for r in has.itertuples()]
    capped = _nums(has["dose_pct_mean"])
    custom = [[_num(u), int(s)] for u, s in
              zip(has["dose_pct_uncapped_mean"], has["n_sessions"], strict=True)]
    data = [{
        "type": "bar", "name": "dose", "orientation": "h", "x": capped, "y": labels,
        "marker": {"color": PALETTE["blue"]}, "customdata": custom,
        "hovertemplate": ("%{y}<br>On average %{x:.0f}% of the prescribed repetitions "
                          "(%{customdata[0]:.0f}% without the 100% cap)<br>"
                          "over %{customdata[1]} sessions<extra></extra>"),
    }]
    layout = _layout(title, x_title, y_title,
                     height=max(HEIGHT, min(600, 120 + 34 * len(labels))),
                     xaxis={"range": [0, 110], "ticksuffix": "%"},
                     yaxis={"autorange": "reversed"})
    _vline(layout, 100, "prescribed dose (100%)")
    values = [v for v in capped if v is not None]
    low = [lab for lab, v in zip(labels, capped, strict=True) if v is not None and v < 80]
    summary = (f"Mean repetitions per session were {min(values):.0f}% to {max(values):.0f}% "
               f"of the prescription across {plural(len(values), 'exercise')}")
    summary += (f"; below 80% for {', '.join(low)}." if low else ".")
    if n_without:
        summary += (f" {plural(n_without, 'exercise')} without a repetition prescription "
                    f"{'is' if n_without == 1 else 'are'} not shown.")
    return Chart(key, _spec(data, layout), summary)


# --------------------------------------------------------------------------- timing


def _advice_text() -> str:
    return " ".join(f'{a["source"]}: "{a["advice"]}"' for a in TIMING_ADVICE)


def session_times(m: CohortMetrics, patient_id: str) -> Chart:
    """Sessions per local start hour (hourly bins 0-24), stretch sessions and other
    sessions stacked, a dashed line at ``settings.early_hour``; the summary gives the
    share of stretch sessions started before that hour and both pieces of advice of
    :data:`TIMING_ADVICE` (information, not an alert). Source: ``m.timing_sessions``."""
    key, title = "session_times", "When sessions start"
    x_title, y_title = "Start time (local hour of day)", "Sessions (count)"
    t = _rows(m.timing_sessions, patient_id)
    early_hour = int(m.settings.early_hour)
    if t.empty:
        return _empty(key, title, x_title, y_title, NO_SESSIONS,
                      f"{NO_SESSIONS} Advice on timing, for information: {_advice_text()}")
    hours = [min(23, max(0, math.floor(h))) for h in _nums(t["start_hour"]) if h is not None]
    stretch = t["has_stretch"].astype(bool).tolist()
    counts = {True: [0] * 24, False: [0] * 24}
    for h, is_stretch in zip(hours, stretch, strict=True):
        counts[is_stretch][h] += 1
    centres = [h + 0.5 for h in range(24)]
    labels = [f"{h:02d}:00-{(h + 1) % 24:02d}:00" for h in range(24)]
    data = [{"type": "bar", "name": f"sessions {name}", "x": centres,
             "y": counts[is_stretch], "width": 1.0,
             "marker": {"color": color, "line": {"color": "white", "width": 1}},
             "customdata": labels,
             "hovertemplate": f"%{{customdata}}: %{{y}} sessions {name}<extra></extra>"}
            for is_stretch, name, color in ((True, "with a stretch", PALETTE["orange"]),
                                            (False, "without a stretch", PALETTE["blue"]))]
    layout = _layout(title, x_title, y_title, showlegend=True,
                     xaxis={"range": [0, 24], "tickvals": list(range(0, 25, 3)),
                            "ticktext": [f"{h:02d}:00" for h in range(0, 25, 3)]})
    layout.update(barmode="stack", bargap=0)
    _vline(layout, early_hour, f"{early_hour:02d}:00")
    n_stretch = int(sum(stretch))
    n_early = int((t["has_stretch"].astype(bool) & t["early"].astype(bool)).sum())
    head = f"{plural(len(t), 'session')} logged"
    if n_stretch:
        share = 100.0 * n_early / n_stretch
        head += (f"; {n_early} of {plural(n_stretch, 'stretch session')} ({share:.0f}%) "
                 f"started before {early_hour:02d}:00.")
    else:
        head += "; none included a stretch."
    summary = (f"{head} The two articles differ on timing (for information, not an alert): "
               f"{_advice_text()}")
    return Chart(key, _spec(data, layout), summary)


# --------------------------------------------------------------------------- patient


def patient_charts(m: CohortMetrics, patient_id: str, names: dict[str, str] | None = None,
                   *, hold_max: dict[str, float] | None = None) -> tuple[Chart, ...]:
    """Every patient chart in report order (keys :data:`PATIENT_CHART_KEYS`)."""
    return (
        calendar_heatmap(m, patient_id),
        weekly_adherence(m, patient_id),
        hold_progression(m, patient_id, names=names, hold_max=hold_max),
        pain_trend(m, patient_id),
        pain_before_after(m, patient_id),
        dose_by_exercise(m, patient_id, names=names),
        session_times(m, patient_id),
    )


# --------------------------------------------------------------------------- cohort


def _bins(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """Counts in ``[edges[i], edges[i+1])``, the last bin closed on the right."""
    counts = [0] * (len(edges) - 1)
    for v in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= v < edges[i + 1] or (last and v == edges[i + 1]):
                counts[i] += 1
                break
    return counts


def adherence_distribution(m: CohortMetrics) -> Chart:
    """Patients per 10% band of ``m.summary.adherence_pct`` (bands below the threshold
    in orange) with a dashed line at the threshold. Patients without a program are left
    out and counted in the summary."""
    key, title = "adherence_distribution", "Adherence across patients"
    x_title, y_title = "Adherence (% of prescribed sessions done)", "Patients (count)"
    threshold = float(m.settings.adherence_threshold_pct)
    values = [v for v in _nums(m.summary["adherence_pct"]) if v is not None]
    n_none = len(m.summary) - len(values)
    if not values:
        return _empty(key, title, x_title, y_title, "No patient has a program in this period.")
    edges = list(range(0, 101, 10))
    counts = _bins(values, edges)
    labels = [f"{lo}-{hi}%" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    colors = [PALETTE["orange"] if hi <= threshold else PALETTE["blue"] for hi in edges[1:]]
    data = [{
        "type": "bar", "name": "patients", "x": [lo + 5 for lo in edges[:-1]], "y": counts,
        "width": 10, "marker": {"color": colors, "line": {"color": "white", "width": 1}},
        "customdata": labels,
        "hovertemplate": "Adherence %{customdata}: %{y} patients<extra></extra>"}]
    yaxis: dict[str, Any] = {"rangemode": "tozero"}
    if max(counts) <= 10:
        yaxis["dtick"] = 1
    layout = _layout(title, x_title, y_title, yaxis=yaxis,
                     xaxis={"range": [0, 100], "tickvals": edges,
                            "ticktext": [f"{e}%" for e in edges]})
    layout["bargap"] = 0
    _vline(layout, threshold, f"threshold {threshold:g}%", position="top left")
    n_ok = sum(v >= threshold for v in values)
    median = float(pd.Series(values).median())
    summary = (f"{n_ok} of {plural(len(values), 'patient')} with a program reached the "
               f"{threshold:g}% threshold (median adherence {median:.1f}%).")
    if n_none:
        summary += f" {plural(n_none, 'patient')} without a program in this period."
    return Chart(key, _spec(data, layout), summary)


def _change_bin(value: float) -> int:
    """Left edge of the 1-point band of a pain change: ``(k-1, k]`` below zero and
    ``[k, k+1)`` from zero up, so a change of exactly -2 lies left of the -2 line and
    +2 right of the +2 line (both are clinically important)."""
    return math.ceil(value) - 1 if value < 0 else math.floor(value)


def pain_change_distribution(m: CohortMetrics) -> Chart:
    """Patients per 1-point band of ``pain_change`` (recent minus baseline; negative is
    less pain; bands see :func:`_change_bin`), stacked by whether there were enough
    reports to judge, with dashed lines at minus and plus the clinically important
    change."""
    key, title = "pain_change_distribution", "Change in pain across patients"
    x_title, y_title = "Change in pain (points, recent minus baseline)", "Patients (count)"
    s = m.summary
    has = s[s["pain_change"].notna()]
    if has.empty:
        return _empty(key, title, x_title, y_title, NO_PAIN)
    values = _nums(has["pain_change"])
    judged = (has["pain_status"].astype("string") != "insufficient_data").fillna(False).tolist()
    lefts = [_change_bin(v) for v in values if v is not None]
    lo, hi = min(-3, min(lefts)), max(3, max(lefts) + 1)
    edges = list(range(lo, hi + 1))
    labels = [(f"over {a:+d} up to {b:+d}" if b <= 0 else f"{a:+d} up to under {b:+d}")
              for a, b in zip(edges[:-1], edges[1:], strict=True)]
    data = []
    for flag, name, color in ((True, "enough reports", PALETTE["blue"]),
                              (False, "not enough reports yet", GREY)):
        counts = [0] * (len(edges) - 1)
        for v, j in zip(values, judged, strict=True):
            if j is flag and v is not None:
                counts[_change_bin(v) - lo] += 1
        data.append({
            "type": "bar", "name": name, "x": [a + 0.5 for a in edges[:-1]], "y": counts,
            "width": 1, "marker": {"color": color, "line": {"color": "white", "width": 1}},
            "customdata": labels,
            "hovertemplate": f"Change %{{customdata}} points: %{{y}} patients ({name})"
                             "<extra></extra>"})
    layout = _layout(title, x_title, y_title, showlegend=True,
                     xaxis={"range": [lo, hi], "dtick": 1}, yaxis={"rangemode": "tozero"})
    layout.update(barmode="stack", bargap=0)
    improved = float(m.settings.pain_improved_points)
    worse = float(m.settings.pain_worse_points)
    _vline(layout, -improved, f"-{improved:g}: improvement", PALETTE["bluish_green"],
           position="top left")
    _vline(layout, worse, f"+{worse:g}: worsening", PALETTE["vermillion"])
    n_down = sum(v is not None and v <= -improved for v in values)
    n_up = sum(v is not None and v >= worse for v in values)
    n_undecided = judged.count(False)
    summary = (f"Of {plural(len(values), 'patient')} with pain reports, {n_down} reported "
               f"at least {improved:g} points less pain and {n_up} at least {worse:g} points "
               f"more (median change {float(pd.Series(values).median()):+.1f} points).")
    if n_undecided:
        summary += (f" {n_undecided} of them {'does' if n_undecided == 1 else 'do'} not yet "
                    "have enough reports to judge.")
    return Chart(key, _spec(data, layout), summary)
