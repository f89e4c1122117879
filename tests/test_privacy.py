"""Privacy and safety of every output.

* Script, event-handler, ``javascript:`` URL, template and formula payloads are fed
  through every text field of the data contract (``patients.patient_id/name/notes``,
  ``programs.exercise``, ``sessions.exercise/notes/side/source``, ``pain.notes`` and
  ``symptoms``, the names of ``aliases.csv``) into every output: per-patient reports
  (therapist and patient audience), the caseload ``index.html``, de-identified reports,
  ``adherence summary`` (csv/json/table), ``adherence validate`` (text/json) and the FHIR
  export. No payload is ever active: outside ``<script type="application/json">`` blocks
  no payload tag or handler appears unescaped, inside them no ``<``, no link or source
  is a ``javascript:`` URL; and in the real browser (Debian's Chromium through
  Playwright) a report built from payload data opens no dialog, logs no error and makes
  no request other than ``file:``/``data:``/``blob:``.
* De-identified output holds no input identifier: every file written (names and
  bytes) and the command's own output are scanned for each patient id, name and note.
* Pseudonyms are stable for a key and differ across keys; the key file is private and
  created once even when several processes start together.

CSV written by the package (formula neutralisation) is covered by ``test_csv_safety``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from analytics import load
from analytics.cli import cli
from analytics.metrics.summary import compute
from analytics.report.batch import ReportJob, write_all
from analytics.report.pseudonym import KEY_FILE, Pseudonymizer, load_pseudonymizer
from analytics.report.render import plotly_js
from analytics.textfmt import is_formula_like

REPO = Path(__file__).resolve().parents[1]
NOW = pd.Timestamp("2025-06-30T12:00:00Z")
PAYLOADS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "</script><script>alert(1)</script>",
    "{{7*7}}",
    '=HYPERLINK("http://x")',
)
#: Payload patients shown in the browser (their reports hold every payload).
BROWSER_PATIENTS = (PAYLOADS[0], PAYLOADS[1])


def _csv(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_payload_folder(folder: Path) -> None:
    """Six patients whose ids are the payloads; each one's rows carry every payload in
    every text field. Half of the payloads are ``aliases.csv`` names (so they link),
    the rest stay unlinked; one session per payload is rejected (its ``side`` is the
    payload) and one pain report (its ``symptoms`` is the payload)."""
    folder.mkdir(parents=True, exist_ok=True)
    patients, programs, sessions, pain = [], [], [], []
    for pid in PAYLOADS:
        patients.append([pid, f"Name {pid}", "Europe/London", f"note {pid}"])
        programs.append([pid, "plank", "2025-03-01", "", 1, 1, 20, 1, 7])
        for text in PAYLOADS:
            programs.append([pid, text, "2025-03-01", "", 1, 10, "", 1, 7])
        for day in range(1, 15):
            when = f"2025-03-{day:02d}"
            sessions.append([pid, f"{when}T08:00", "plank", 1, 1, 20 + day, "", "",
                             f"held {PAYLOADS[day % 6]}", "", "", PAYLOADS[day % 6]])
            for i, text in enumerate(PAYLOADS):
                sessions.append([pid, f"{when}T09:{i:02d}", text, 1, 10, "", "", "", text,
                                 "", "", text])
            pain.append([pid, f"{when}T20:00", 3 + day % 4, "evening",
                         "numbness" if day == 9 else "", f"pain {PAYLOADS[day % 6]}"])
        for i, text in enumerate(PAYLOADS):
            sessions.append([pid, f"2025-03-15T10:{i:02d}", "bridge", 1, 10, "", text, "",
                             text, "", "", text])
            pain.append([pid, f"2025-03-15T21:{i:02d}", 4, "evening", text, text])
    session_header = ["patient_id", "performed_at", "exercise", "sets", "reps", "hold_s",
                      "side", "rpe", "notes", "set_index", "set_type", "source"]
    (folder / "patients.csv").write_text(
        _csv(["patient_id", "name", "timezone", "notes"], patients), encoding="utf-8")
    (folder / "programs.csv").write_text(
        _csv(["patient_id", "exercise", "start_date", "end_date", "sets", "reps", "hold_s",
              "times_per_day", "days_per_week"], programs), encoding="utf-8")
    (folder / "sessions.csv").write_text(_csv(session_header, sessions), encoding="utf-8")
    (folder / "pain.csv").write_text(
        _csv(["patient_id", "reported_at", "pain", "context", "symptoms", "notes"], pain),
        encoding="utf-8")
    (folder / "aliases.csv").write_text(
        _csv(["name", "exercise_id"], [[p, "bird_dog"] for p in PAYLOADS[::2]]),
        encoding="utf-8")


@pytest.fixture(scope="module")
def payload_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("payload") / "data"
    write_payload_folder(folder)
    return folder


@pytest.fixture(scope="module")
def payload_reports(payload_data: Path, tmp_path_factory: pytest.TempPathFactory
                    ) -> dict[str, Path]:
    """Every report flavour of the payload data: therapist, patient audience and
    de-identified (each with its ``index.html``)."""
    ds = load(payload_data, now=NOW)
    m = compute(ds)
    out: dict[str, Path] = {}
    for flavour, job in (
            ("therapist", ReportJob(ds, m, generated="test")),
            ("patient", ReportJob(ds, m, audience="patient", generated="test")),
            ("deidentified", ReportJob(ds, m, pseudonymizer=Pseudonymizer(b"k" * 32),
                                       generated="test"))):
        out[flavour] = tmp_path_factory.mktemp(flavour)
        write_all(job, out[flavour], workers=1)
    return out


# --------------------------------------------------------------------------- HTML


def _assets() -> list[str]:
    """The package's own inline scripts (plotly.js and the small loaders)."""
    templates = resources.files("analytics").joinpath("templates")
    return [plotly_js(), *(templates.joinpath(n).read_text(encoding="utf-8")
                           for n in ("charts.js", "sort.js"))]


_JSON_BLOCK = re.compile(r'<script type="application/json" id="[A-Za-z0-9_-]+">(.*?)</script>',
                         re.S)
#: Elements that could load or run something; none is ever made from user text.
_ACTIVE_TAGS = {"img", "iframe", "object", "embed", "base", "form", "link", "audio",
                "video", "source", "svg", "math", "frame", "frameset", "applet"}
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}


class _Elements(HTMLParser):
    """Every start tag of a document with its attributes (script content is data)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def active_payload_problems(html: str, own_scripts: int) -> list[str]:
    """What in ``html`` could run a payload; an empty list means nothing.

    ``own_scripts`` is the number of the package's own inline scripts (plotly.js and
    the loaders), which are the only ``<script>`` elements without a JSON type.
    """
    problems = []
    if not html.rstrip().endswith("</html>"):
        problems.append("the document does not end with </html>")
    for block in _JSON_BLOCK.findall(html):
        if "<" in block:
            problems.append(f"'<' inside a JSON block: {block[:80]!r}")
    rest = _JSON_BLOCK.sub("", html)
    for asset in _assets():
        rest = rest.replace(f"<script>{asset}</script>", "<script></script>")
    for payload in PAYLOADS:
        if any(c in payload for c in "<>\"") and payload in rest:
            at = rest.index(payload)
            problems.append(f"unescaped payload: {rest[max(0, at - 60):at + 60]!r}")
    parser = _Elements()
    parser.feed(html)
    scripts = [a for t, a in parser.tags if t == "script"]
    plain = [a for a in scripts if a.get("type") != "application/json"]
    if len(plain) != own_scripts or any(plain):
        problems.append(f"script elements other than the package's own: {plain}")
    for tag, attrs in parser.tags:
        if tag in _ACTIVE_TAGS:
            problems.append(f"<{tag}> element: {attrs}")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"event handler on <{tag}>: {name}={value!r}")
            if name in _URL_ATTRS and re.match(r"\s*(javascript|vbscript|data):", value, re.I):
                problems.append(f"script URL on <{tag}>: {name}={value!r}")
    return problems


@pytest.mark.parametrize("flavour", ["therapist", "patient", "deidentified"])
def test_no_payload_is_active_in_any_report(payload_reports: dict[str, Path], flavour: str):
    files = sorted(payload_reports[flavour].glob("*.html"))
    assert len(files) == len(PAYLOADS) + 1  # every patient + index.html
    for f in files:
        html = f.read_text(encoding="utf-8")
        own = 3 if f.name == "index.html" else 2
        assert active_payload_problems(html, own) == [], f.name
    # The payloads did reach the pages (escaped), so the checks above are not vacuous.
    if flavour != "deidentified":
        index = (payload_reports[flavour] / "index.html").read_text(encoding="utf-8")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
        assert "{{7*7}}" in index  # shown as text, never evaluated as a template


def test_therapist_report_shows_payloads_as_text(payload_reports: dict[str, Path]):
    html = (payload_reports["therapist"] / "script_alert_1_script.html").read_text(
        encoding="utf-8")
    for payload in PAYLOADS:
        escaped = (payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   .replace('"', "&#34;").replace("'", "&#39;"))
        assert escaped in html, payload  # unlinked names, rejected values, reasons
    # An unlinked program exercise, as text (javascript:alert(1) is an alias: linked).
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt; (not in catalog)" in html
    assert "javascript:alert(1) (not in catalog)" not in html


def test_links_are_only_relative_report_files(payload_reports: dict[str, Path]):
    for flavour in ("therapist", "patient", "deidentified"):
        folder = payload_reports[flavour]
        index = (folder / "index.html").read_text(encoding="utf-8")
        for asset in _assets():
            index = index.replace(asset, "")
        hrefs = re.findall(r'href="([^"]*)"', index)
        assert len(hrefs) == len(PAYLOADS)
        for href in hrefs:
            assert re.fullmatch(r"[A-Za-z0-9._-]+\.html", href), href
            assert (folder / href).is_file()


def test_payload_patient_ids_get_safe_distinct_file_names(payload_reports: dict[str, Path]):
    names = sorted(p.name for p in payload_reports["therapist"].glob("*.html"))
    assert len(names) == len({n.casefold() for n in names}) == len(PAYLOADS) + 1
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.html", name), name


# --------------------------------------------------------------------------- browser


def _open_and_record(browser, path: Path) -> tuple[object, dict[str, list[str]]]:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    seen: dict[str, list[str]] = {"dialogs": [], "errors": [], "requests": []}

    def on_dialog(dialog) -> None:
        seen["dialogs"].append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("request", lambda req: seen["requests"].append(req.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, seen


def _assert_quiet(seen: dict[str, list[str]]) -> None:
    assert seen["dialogs"] == []
    assert seen["errors"] == []
    assert all(re.match(r"^(file|data|blob):", u) for u in seen["requests"]), seen["requests"]


@pytest.mark.parametrize("pid", BROWSER_PATIENTS)
def test_payload_report_is_inert_in_the_browser(browser, payload_reports, pid: str):
    job = ReportJob(None, None)  # only for the file name
    page, seen = _open_and_record(browser, payload_reports["therapist"] / job.file_name(pid))
    # Hover every chart (tooltips render user-derived labels) and click every link.
    for chart in page.query_selector_all("div.chart"):
        chart.hover()
    _assert_quiet(seen)
    assert f"Name {pid} ({pid})" in page.title()  # shown as text
    counts = page.evaluate("""() => ({
        scripts: document.querySelectorAll('script:not([type="application/json"])').length,
        imgs: document.querySelectorAll('img').length,
        js_links: [...document.querySelectorAll('[href],[src],[action]')].filter(
            e => /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src')
                                        || e.getAttribute('action') || '')).length,
        handlers: [...document.querySelectorAll('main *')].filter(
            e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        svgs: document.querySelectorAll('div.chart svg.main-svg').length,
    })""")
    assert counts["scripts"] == 2 and counts["imgs"] == 0, counts
    assert counts["js_links"] == 0 and counts["handlers"] == 0, counts
    assert counts["svgs"] > 0  # the charts were drawn
    page.close()


def test_payload_index_and_patient_report_are_inert_in_the_browser(browser, payload_reports):
    for path in (payload_reports["therapist"] / "index.html",
                 payload_reports["patient"] / "javascript_alert_1.html"):
        page, seen = _open_and_record(browser, path)
        if path.name == "index.html":
            page.click("#caseload thead th:nth-child(1)")  # sorting re-inserts rows
            links = page.eval_on_selector_all("#caseload a", "els => els.map(e => e.href)")
            assert all(u.startswith("file:") for u in links), links
            text = page.inner_text("#caseload")
            for pid in PAYLOADS:
                assert pid in text
        _assert_quiet(seen)
        page.close()


# --------------------------------------------------------------------------- other outputs


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_summary_outputs_with_payloads(payload_data: Path):
    code, text = _run("summary", str(payload_data), "--format", "csv")
    assert code == 0, text
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == len(PAYLOADS) + 1
    assert not [c for r in rows for c in r if is_formula_like(c)]
    ids = [r[0] for r in rows[1:]]
    assert "'" + PAYLOADS[5] in ids and PAYLOADS[0] in ids  # neutralised, else as is
    code, text = _run("summary", str(payload_data), "--format", "json")
    assert code == 0
    assert sorted(r["patient_id"] for r in json.loads(text)) == sorted(PAYLOADS)
    code, text = _run("summary", str(payload_data))
    assert code == 0 and all(p in text for p in PAYLOADS)


def test_validate_outputs_with_payloads(payload_data: Path):
    code, text = _run("validate", str(payload_data), "--json")
    assert code == 1
    report = json.loads(text)
    values = {r["value"] for r in report["rejects"]}
    assert set(PAYLOADS) <= values  # rejected sides and symptoms, verbatim as data
    named = {u["name"] for u in report["unlinked"]} | {f["name"] for f in report["fuzzy"]}
    assert named >= set(PAYLOADS[1::2])
    code, text = _run("validate", str(payload_data))
    assert code == 1 and repr(PAYLOADS[1]) in text


def test_fhir_export_with_payloads(payload_data: Path, tmp_path: Path):
    for pid in PAYLOADS:
        out = tmp_path / "bundle.json"
        code, text = _run("export", "fhir", str(payload_data), "--patient", pid,
                          "--out", str(out))
        assert code == 0, text
        bundle = json.loads(out.read_text(encoding="utf-8"))
        patient = bundle["entry"][0]["resource"]
        assert patient["identifier"][0]["value"] == pid
        assert "name" not in patient  # no name leaves the folder
        notes = [n["text"] for e in bundle["entry"] for n in e["resource"].get("note", [])]
        assert any(PAYLOADS[2] in n for n in notes)  # JSON data, kept as written


# --------------------------------------------------------------------------- de-identified

#: Identifiers distinctive enough not to occur by chance inside plotly.js.
IDENTS = {
    "ids": ["QXZ7W1K", "QXZ7W2M"],
    "names": ["Annabelqx Smythqx", "Bobqx Jonesqx"],
    "notes": ["Qprivnote1", "Qsessnote2", "Qpainnote3", "Qsympnote4", "Qsidenote5",
              "Qsrcnote6"],
}
#: Exercise names as typed (an unlinked one, an alias): kept in de-identified reports,
#: where they name the exercise (see SECURITY.md).
EXERCISES = ["Qexname1 stretch", "Qaliasname2"]


def write_identifier_folder(folder: Path) -> None:
    """Two patients whose identifiers and free text are distinctive strings, in every
    field that can hold them: notes, rejected values (side, symptoms), an unlinked
    exercise name, an alias and a source."""
    folder.mkdir(parents=True, exist_ok=True)
    (a, b), (name_a, name_b) = IDENTS["ids"], IDENTS["names"]
    n, ex = IDENTS["notes"], EXERCISES
    (folder / "patients.csv").write_text(
        "patient_id,name,timezone,notes\n"
        f"{a},{name_a},Europe/London,{n[0]} lives at 1 Qstreetqx\n"
        f"{b},{name_b},America/New_York,{n[0]}b\n", encoding="utf-8")
    (folder / "programs.csv").write_text(
        "patient_id,exercise,start_date,end_date,sets,reps,hold_s,times_per_day,"
        f"days_per_week\n{a},plank,2025-03-01,,1,1,20,1,7\n"
        f"{a},{ex[0]},2025-03-01,,1,10,,1,7\n{b},bridge,2025-03-01,,1,10,,1,7\n",
        encoding="utf-8")
    rows = ["patient_id,performed_at,exercise,sets,reps,hold_s,side,rpe,notes,set_index,"
            "set_type,source"]
    for day in range(1, 15):
        rows.append(f"{a},2025-03-{day:02d}T08:00,plank,1,1,{20 + day},,,{n[1]} {name_a},"
                    f",,{n[5]}")
        rows.append(f"{a},2025-03-{day:02d}T09:00,{ex[0]},1,10,,,,,,,")
        rows.append(f"{a},2025-03-{day:02d}T10:00,{ex[1]},1,10,,,,,,,")
        rows.append(f"{b},2025-03-{day:02d}T08:00,bridge,1,10,,,,{n[1]}b,,,")
    rows.append(f"{a},2025-03-15T08:00,plank,1,1,30,{n[4]},,,,,")
    (folder / "sessions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    pain = ["patient_id,reported_at,pain,context,symptoms,notes"]
    for day in range(1, 15):
        pain.append(f"{a},2025-03-{day:02d}T20:00,{2 + day % 5},evening,,{n[2]} {name_a}")
        pain.append(f"{b},2025-03-{day:02d}T20:00,{7 - day % 3},evening,,")
    pain.append(f"{a},2025-03-15T20:00,4,evening,{n[3]},")
    pain.append(f"{a},2025-03-16T20:00,5,evening,numbness,{n[2]} red flag")
    (folder / "pain.csv").write_text("\n".join(pain) + "\n", encoding="utf-8")
    (folder / "aliases.csv").write_text(f"name,exercise_id\n{ex[1]},cat_cow\n",
                                        encoding="utf-8")


def _identifiers(folder: Path) -> list[str]:
    words = [w for name in IDENTS["names"] for w in name.split()]
    return [*IDENTS["ids"], *IDENTS["names"], *words, *IDENTS["notes"], "Qstreetqx",
            str(folder), folder.name]


def test_deidentified_outputs_hold_no_identifier(tmp_path: Path, monkeypatch):
    data = tmp_path / "QXZdatafolder"
    write_identifier_folder(data)
    monkeypatch.setenv("ADHERENCE_PSEUDONYM_KEY", "a-test-key-of-some-length")
    runner = CliRunner()
    out = tmp_path / "deid"
    outputs = []
    for args in (["--all", "--out", str(out), "--workers", "1"],
                 ["--all", "--out", str(out / "patient"), "--audience", "patient",
                  "--workers", "1"],
                 ["--patient", IDENTS["ids"][0], "--out", str(out / "one" / "r.html")]):
        result = runner.invoke(cli, ["report", str(data), "--deidentify", *args])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 3 + 3 + 1
    # The data really holds the identifiers in what reports show when not de-identified.
    plain = runner.invoke(cli, ["report", str(data), "--patient", IDENTS["ids"][0],
                                "--out", str(tmp_path / "plain.html")])
    assert plain.exit_code == 0
    html = (tmp_path / "plain.html").read_text(encoding="utf-8")
    for shown in (IDENTS["ids"][0], IDENTS["names"][0], IDENTS["notes"][4],
                  IDENTS["notes"][3].lower()):
        assert shown in html, shown
    for ident in _identifiers(data):
        for text in outputs:
            assert ident not in text, ident
        for f in files:
            assert ident not in str(f.relative_to(out)), (f, ident)
            assert ident.lower().encode("utf-8") not in f.read_bytes().lower(), (f.name,
                                                                                  ident)
    assert Pseudonymizer(b"a-test-key-of-some-length")(IDENTS["ids"][0]) in \
        (out / "index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- pseudonyms


def test_pseudonyms_are_stable_for_a_key_and_differ_across_keys():
    ids = [f"P{i:03d}" for i in range(200)]
    first, again, other = (Pseudonymizer(b"key-one"), Pseudonymizer(b"key-one"),
                           Pseudonymizer(b"key-two"))
    assert [first(i) for i in ids] == [again(i) for i in ids]
    assert all(first(i) != other(i) for i in ids)
    assert len({first(i) for i in ids}) == len(ids)
    assert all(re.fullmatch(r"Patient [0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", first(i)) for i in ids)
    assert all(i not in first(i) for i in ids)


def test_key_file_is_private_stable_and_never_empty(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("ADHERENCE_PSEUDONYM_KEY", raising=False)
    one = load_pseudonymizer(tmp_path)
    key = tmp_path / KEY_FILE
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert load_pseudonymizer(tmp_path)("P1") == one("P1")
    assert load_pseudonymizer(tmp_path / "elsewhere")("P1") != one("P1")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.setenv("ADHERENCE_PSEUDONYM_KEY", "from-the-environment")
    assert load_pseudonymizer(tmp_path)("P1") == Pseudonymizer(b"from-the-environment")("P1")
    monkeypatch.delenv("ADHERENCE_PSEUDONYM_KEY")
    key.write_text("", encoding="ascii")  # e.g. truncated by hand: refuse, never use ""
    with pytest.raises(Exception, match="pseudonym key is missing or too short"):
        load_pseudonymizer(tmp_path)


def test_processes_creating_the_key_at_once_agree(tmp_path: Path):
    code = ("import sys; from analytics.report.pseudonym import load_pseudonymizer; "
            "print(load_pseudonymizer(sys.argv[1])('P1'))")
    env = {k: v for k, v in os.environ.items() if k != "ADHERENCE_PSEUDONYM_KEY"}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o for o, _ in outs}) == 1


# --------------------------------------------------------------------------- terminal


def test_terminal_outputs_never_pass_control_characters(tmp_path: Path):
    """Text from data files is printed with control characters escaped, so a value
    holding an escape sequence cannot recolour, retitle or clear the user's terminal."""
    esc = "\x1b]0;owned\x07\x1b[2J"
    data = tmp_path / "data"
    data.mkdir()
    pid = f"P{esc}1"
    # Other patients: a file mostly made of control characters is refused as binary.
    others = "".join(f"Q{i:03d},Some ordinary name number {i}\n" for i in range(20))
    (data / "patients.csv").write_text(f'patient_id,name\n"{pid}",n\n{others}',
                                       encoding="utf-8")
    (data / "programs.csv").write_text(f'patient_id,exercise,start_date\n"{pid}",bridge,'
                                       "2025-03-01\n", encoding="utf-8")
    (data / "sessions.csv").write_text(
        "patient_id,performed_at,exercise,reps,side\n"
        f'"{pid}",2025-03-01T08:00,bridge,10,\n"{pid}",2025-03-02T08:00,"x{esc}",10,\n'
        f'"{pid}",2025-03-03T08:00,bridge,10,"{esc}"\n'
        + "".join(f"Q{i:03d},2025-03-01T08:00,bridge,10,left\n" for i in range(20)),
        encoding="utf-8")
    export = tmp_path / f"e{esc}.csv"
    export.write_text(STRONG_FOR_TERMINAL.format(esc=esc), encoding="utf-8")
    runner = CliRunner()
    outputs = [
        runner.invoke(cli, ["summary", str(data)]),
        runner.invoke(cli, ["validate", str(data)]),
        runner.invoke(cli, ["log", str(data), "bridge", "--patient", pid, "--reps", "5",
                            "--at", "2025-03-04T08:00"]),
        runner.invoke(cli, ["log", str(data), f"bridge{esc}x", "--patient", pid]),
        runner.invoke(cli, ["import", "strong", str(export), "--patient", pid, "--data",
                            str(data)]),
    ]
    for result in outputs:
        assert "Traceback" not in result.output
        assert "\x1b" not in result.output and "\x07" not in result.output, result.output
    assert "\\x1b" in outputs[0].output  # shown escaped


STRONG_FOR_TERMINAL = (
    "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,"
    "Workout Notes,RPE\n"
    '2025-03-05 08:00:00,W,5m,"Bridge",1,0,10,0,0,"{esc}",,\n'
    '2025-03-05 08:00:00,W,5m,"Bench{esc}",1,0,10,0,0,,,\n'
    '2025-03-05 08:00:00,W,5m,"Bridge",Q{esc},0,10,0,0,,,\n')
