"""Rendering report contexts to self-contained HTML with one Jinja environment.

``autoescape`` is on for every template: user-supplied text (names, notes, exercise
names, ids) is always escaped. Figure JSON is embedded in
``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped so that no
text can close the script element. plotly.js, CSS and the small scripts are inlined:
the page opens offline and its Content-Security-Policy forbids any network request.
"""

from __future__ import annotations

import functools
from importlib import resources

import jinja2
import markupsafe
from plotly.offline import get_plotlyjs

from analytics.report.context import ReportContext, json_for_script


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analytics", "templates"),
        autoescape=True, trim_blocks=False, lstrip_blocks=False,
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    env.filters["script_json"] = lambda text: markupsafe.Markup(
        json_for_script(text))
    return env


@functools.lru_cache(maxsize=8)
def _asset(name: str) -> str:
    return resources.files("analytics").joinpath("templates", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped with the installed plotly package (embedded once
    per page)."""
    return get_plotlyjs()


def render_patient(ctx: ReportContext) -> str:
    """One patient's report as a complete HTML document."""
    return _env().get_template("report.html").render(
        ctx=ctx, css=_asset("base.css"), plotly_js=plotly_js(), charts_js=_asset("charts.js"))


def render_caseload(ctx: object) -> str:
    """The caseload overview (``index.html``) as a complete HTML document."""
    return _env().get_template("index.html").render(
        ctx=ctx, css=_asset("base.css"), plotly_js=plotly_js(), charts_js=_asset("charts.js"),
        sort_js=_asset("sort.js"))
