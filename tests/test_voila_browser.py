"""``make app`` for real: Voila serves ``therapist_review.ipynb`` on a free loopback port,
Debian's Chromium (through Playwright) opens it, picks another patient and sees the
headline and every chart change; "Export report" gives a link that downloads the report.
No console errors, with one documented exception (see :data:`BENIGN_FAILURES`). The
server and its kernels are stopped at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import ARGS, chromium_path
from playwright.sync_api import sync_playwright

from analytics import load
from analytics.dashboard import APP_ROOT_ENV
from analytics.metrics.summary import compute

REPO = Path(__file__).resolve().parents[1]
VOILA = Path(sys.executable).parent / "voila"
NOTEBOOK = "notebooks/therapist_review.ipynb"
#: The flags of ``make app`` (checked against the Makefile below), minus the port.
APP_FLAGS = ["--no-browser", "--Voila.ip=127.0.0.1"]
ALLOW = "--VoilaConfiguration.file_allowlist=['reports/[^/]+\\.html']"
#: Voila's page template (share/jupyter/voila/templates/lab/index.html.j2) links the
#: Font Awesome 5 style sheets from cdn.jsdelivr.net. Without network access (as here)
#: Chromium logs "Failed to load resource: net::ERR_NAME_NOT_RESOLVED" once for each;
#: nothing on the page uses those icons. These two requests, and only they, may fail.
BENIGN_FAILURES = (
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@%5E5/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@%5E5/css/v4-shims.min.css",
)
START_TIMEOUT_S = 90
PAGE_TIMEOUT_MS = 180_000
CHANGE_TIMEOUT_MS = 60_000

CHARTS_DRAWN = """() => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return plots.length === 5 && plots.every(p => p.querySelector('.main-svg'))
        && document.querySelector('.an-who') !== null;
}"""
CHART_DATA = """() => [...document.querySelectorAll('.js-plotly-plot')].map(
    p => JSON.stringify((p.data || []).map(t => [t.type, t.x, t.y, t.z])))"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_make_app_runs_voila_like_this_test():
    recipe = (REPO / "Makefile").read_text(encoding="utf-8").split("\napp:", 1)[1]
    recipe = recipe.split("\n\n", 1)[0]
    for flag in (NOTEBOOK, *APP_FLAGS, "--Voila.root_dir=$(CURDIR)", APP_ROOT_ENV,
                 "file_allowlist=\"['reports/[^/]+\\.html']\""):
        assert flag in recipe, flag


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Voila as ``make app`` starts it, in a copy of the project's notebook and sample
    data (so exported reports land in a temporary ``reports/``)."""
    root = tmp_path_factory.mktemp("app")
    (root / "notebooks").mkdir()
    shutil.copy(REPO / NOTEBOOK, root / NOTEBOOK)
    shutil.copytree(REPO / "data", root / "data")
    port = free_port()
    env = {**os.environ, APP_ROOT_ENV: str(root)}
    log = (root / "voila.log").open("wb")
    proc = subprocess.Popen(
        [str(VOILA), NOTEBOOK, *APP_FLAGS, f"--port={port}", f"--Voila.root_dir={root}",
         ALLOW],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError("voila exited: "
                                   + (root / "voila.log").read_text(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not answer on port {port}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/", root
    finally:
        # Voila and the kernels it started form one process group of our own.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


def test_voila_review_switches_patient_and_exports(app):
    url, root = app
    m = compute(load(root / "data"))
    row = m.summary.set_index("patient_id").loc["P003"]
    weekly = m.weekly[m.weekly["patient_id"] == "P003"]["adherence_pct"].tolist()
    errors: list[str] = []
    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})

        def on_console(msg) -> None:
            if msg.type != "error":
                return
            where = msg.location.get("url", "")
            if msg.text.startswith("Failed to load resource") and where in BENIGN_FAILURES:
                return
            errors.append(f"{msg.text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("requestfailed", lambda req: failed.append(req.url))
        page.goto(url, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function(CHARTS_DRAWN, timeout=PAGE_TIMEOUT_MS)
        assert page.inner_text(".an-who") == "Amelia Jensen (P001)"
        before_value = page.inner_text(".an-value[data-key=adherence]")
        before = page.evaluate(CHART_DATA)
        assert all(json.loads(d) for d in before)

        select = page.locator(".widget-dropdown select").first
        label = select.evaluate(
            "s => [...s.options].map(o => o.text).find(t => t.startsWith('P003'))")
        assert re.fullmatch(r"P003\sOliver\sThompson\s·\s\d+\swarnings", label), label
        select.select_option(label=label)
        page.wait_for_function("() => document.querySelector('.an-who').textContent"
                               ".includes('P003')", timeout=CHANGE_TIMEOUT_MS)
        page.wait_for_function(
            "before => { const now = (" + CHART_DATA + ")();"
            " return now.length === before.length && now.every((d, i) => d !== before[i]); }",
            arg=before, timeout=CHANGE_TIMEOUT_MS)
        assert page.inner_text(".an-who") == "Oliver Thompson (P003)"
        value = page.inner_text(".an-value[data-key=adherence]")
        assert value == f"{row['adherence_pct']:.1f}%" != before_value
        after = [json.loads(d) for d in page.evaluate(CHART_DATA)]
        assert after[1][0][0] == "bar" and after[1][0][2] == weekly
        assert all(page.eval_on_selector_all(
            ".js-plotly-plot", "ps => ps.map(p => p.querySelectorAll("
            "'.heatmaplayer image, .barlayer path, .scatterlayer path').length > 0)"))

        page.get_by_role("button", name="Export report").click()
        link = page.wait_for_selector("a.an-report-link", timeout=CHANGE_TIMEOUT_MS)
        href = link.get_attribute("href")
        assert href is not None and href.startswith("/voila/files/reports/P003-")
        response = page.request.get(url.rstrip("/") + href)
        assert response.status == 200 and b"Oliver Thompson" in response.body()
        assert (root / "reports" / href.rsplit("/", 1)[1]).is_file()
        browser.close()
    assert errors == []
    assert set(failed) <= set(BENIGN_FAILURES), failed
