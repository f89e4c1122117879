"""The notebooks in ``notebooks/``: stored thin and without outputs, executed headless with
papermill (on the bundled sample and on another data folder) without any error output,
and exported by nbconvert to HTML that still holds every chart and needs no network for
them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbconvert import HTMLExporter

from analytics.synth import generate_cohort, write_cohort

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NAMES = ("therapist_review.ipynb", "my_progress.ipynb", "caseload_overview.ipynb")
KERNEL = "python3"
#: Seconds allowed per cell (loading data and building the widgets takes a few seconds).
CELL_TIMEOUT = 600


@pytest.fixture(scope="module", autouse=True)
def kernel() -> str:
    """The ``python3`` kernel of this interpreter; installed into the venv if missing."""
    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix",
                        "--name", KERNEL], check=True)
    return KERNEL


def execute(name: str, out: Path, **kwargs) -> nbformat.NotebookNode:
    pm.execute_notebook(str(NOTEBOOKS / name), str(out), kernel_name=KERNEL,
                        cwd=str(NOTEBOOKS), progress_bar=False, log_output=False,
                        execution_timeout=CELL_TIMEOUT, **kwargs)
    return nbformat.read(out, as_version=4)


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """Every error output and every stderr stream of an executed notebook."""
    found = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {i}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                found.append(f"cell {i} stderr: {output.text[:500]}")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_thin_parameterised_and_stored_without_outputs(name: str):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and code[0] is tagged[0]
    assert 'data_dir = "../data"' in tagged[0].source and "patient = " in tagged[0].source
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert len(code) <= 4 and sum(len(c.source.splitlines()) for c in code) <= 12
    assert nb.metadata.kernelspec.name == KERNEL


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_on_the_bundled_sample(name: str, tmp_path: Path):
    nb = execute(name, tmp_path / name)
    assert problems(nb) == []
    last = nb.cells[-1].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in last)


@pytest.fixture(scope="module")
def other_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("other") / "data"
    write_cohort(generate_cohort(n_patients=3, days=35, seed=5), folder)
    return folder


@pytest.mark.parametrize(("name", "patient"), [
    ("therapist_review.ipynb", "P002"), ("my_progress.ipynb", "P003"),
    ("caseload_overview.ipynb", "P001"),
])
def test_notebook_runs_on_any_data_folder(name: str, patient: str, other_folder: Path,
                                          tmp_path: Path):
    before = {p.name: p.read_bytes() for p in other_folder.iterdir()}
    nb = execute(name, tmp_path / name,
                 parameters={"data_dir": str(other_folder), "patient": patient})
    assert problems(nb) == []
    html = "".join(o.get("data", {}).get("text/html", "") for o in nb.cells[-1].outputs)
    assert f"({patient})" in html or patient in html
    assert {p.name: p.read_bytes() for p in other_folder.iterdir()} == before


def test_nbconvert_html_keeps_the_charts(tmp_path: Path):
    """As JupyterLab saves a notebook (no widget state), nbconvert shows the snapshot:
    every chart with its data and plotly.js embedded once, nothing from a plotly CDN."""
    nb = execute("therapist_review.ipynb", tmp_path / "review.ipynb",
                 store_widget_state=False)
    assert problems(nb) == []
    html, _ = HTMLExporter().from_notebook_node(nb)
    (tmp_path / "review.html").write_text(html, encoding="utf-8")
    plots = re.findall(r"Plotly\.newPlot\(\s*\"([^\"]+)\",\s*(\[.*?\]),\s*\{", html)
    assert len(plots) == 5
    traces = [json.loads(data) for _, data in plots]
    assert traces[0][0]["type"] == "heatmap" and traces[1][0]["type"] == "bar"
    assert all(len(t) > 0 for t in traces)
    assert html.count("window.Plotly = Plotly") == 1  # plotly.js itself, once
    assert not re.search(r"src=\"https?://cdn\.plot\.ly", html)  # no plotly.js from a CDN
    assert "Amelia Jensen (P001)" in html
