"""The report in a real browser (Debian's Chromium driven by Playwright): no console
errors, no request other than file:/data:, every chart drawn, printable to PDF."""

from __future__ import annotations

import re

import pytest

from analytics import load
from analytics.metrics.summary import compute
from analytics.report.batch import ReportJob, write_all
from analytics.synth import generate_cohort, write_cohort


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    write_cohort(generate_cohort(n_patients=4, days=56, seed=11), folder)
    ds = load(folder)
    m = compute(ds)
    out = tmp_path_factory.mktemp("reports")
    write_all(ReportJob(ds, m, generated="test"), out, workers=1)
    return out


def _open(browser, path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: requests.append(req.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def test_patient_report_renders_offline(browser, reports):
    page, errors, requests = _open(browser, reports / "P001.html")
    assert errors == []
    assert all(re.match(r"^(file|data|blob):", u) for u in requests), requests
    charts = page.eval_on_selector_all(
        "div.chart", """els => els.map(el => ({
            id: el.id,
            svg: el.querySelectorAll('svg.main-svg').length,
            marks: el.querySelectorAll('.plot path, .plot image, .plot rect, .barlayer path,'
                                       + ' .scatterlayer path, .heatmaplayer image').length,
        }))""")
    assert len(charts) >= 6
    for c in charts:
        assert c["svg"] > 0, c
        assert c["marks"] > 0, c
    page.close()


def test_index_sorts_and_links(browser, reports):
    page, errors, _ = _open(browser, reports / "index.html")
    assert errors == []
    first = page.inner_text("#caseload tbody tr:first-child td:first-child")
    page.click("#caseload thead th:nth-child(3)")  # adherence
    page.click("#caseload thead th:nth-child(3)")  # descending
    values = page.eval_on_selector_all(
        "#caseload tbody tr td:nth-child(3)", "els => els.map(e => e.getAttribute('data-sort'))")
    numbers = [float(v) for v in values]
    assert numbers == sorted(numbers, reverse=True)
    assert first.endswith("(P001)")
    href = page.get_attribute("#caseload tbody tr td:first-child a", "href")
    assert href.endswith(".html")
    page.close()


def test_print_to_pdf(browser, reports):
    """Print with the page's print stylesheet (A4). A sensible page count shows the
    charts were laid out for print; ``break-inside: avoid`` on every chart block keeps
    a chart from being split across pages."""
    page, errors, _ = _open(browser, reports / "P001.html")
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 3 <= pages <= 20, pages
    assert errors == []
    page.close()
