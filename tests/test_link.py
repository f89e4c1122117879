"""Linking typed names to catalog ids: exact, plural, fuzzy, unlinked, user aliases."""

from __future__ import annotations

import pytest
from conftest import NOW

from analytics import load
from analytics.catalog import load_catalog
from analytics.link import FUZZY_THRESHOLD, Linker


@pytest.fixture(scope="module")
def linker() -> Linker:
    return Linker.from_catalog(load_catalog())


@pytest.mark.parametrize(("name", "exercise_id", "method"), [
    pytest.param("Pelvic Tilt", "pelvic_tilt", "exact", id="name-case"),
    pytest.param("pelvic_tilt", "pelvic_tilt", "exact", id="id"),
    pytest.param("knee-to-chest", "single_knee_to_chest", "exact", id="hyphens"),
    pytest.param("KTC", "single_knee_to_chest", "exact", id="abbreviation"),
    pytest.param("Knees to chest", "double_knee_to_chest", "exact", id="knees-is-double"),
    pytest.param("glute bridge", "bridge", "exact", id="glute-bridge"),
    pytest.param("McKenzie press-up", "prone_press_up", "exact", id="mckenzie"),
    pytest.param("quadruped arm and leg raise", "bird_dog", "exact", id="quadruped"),
    pytest.param("cat cows", "cat_cow", "plural", id="plural"),
    pytest.param("hip flexor stretches", "hip_flexor_stretch", "plural", id="plural-es"),
    pytest.param("kne to chset", "single_knee_to_chest", "fuzzy", id="typo-ktc"),
    pytest.param("brige", "bridge", "fuzzy", id="typo-bridge"),
    pytest.param("hamstring strech", "hamstring_stretch", "fuzzy", id="typo-hamstring"),
    pytest.param("pelvc tilt", "pelvic_tilt", "fuzzy", id="typo-pelvic"),
])
def test_names_that_link(linker, name, exercise_id, method):
    got_id, got_method, score, _ = linker.link_name(name)
    assert (got_id, got_method) == (exercise_id, method)
    if method == "fuzzy":
        assert FUZZY_THRESHOLD <= score < 100


@pytest.mark.parametrize("name", [
    "push up", "pull up", "bench press", "shoulder press", "overhead press", "push-ups",
    "squat", "deadlift", "leg press", "lunges", "dead bug", "plan", "xyz", "=HYPERLINK(1)",
])
def test_other_exercises_stay_unlinked(linker, name):
    assert linker.link_name(name)[:2] == (None, "none")


def test_suggestions_for_unlinked_name(linker):
    found = linker.suggestions("press up prone")
    assert found and found[0]["exercise_id"] == "prone_press_up"
    assert set(found[0]) == {"exercise_id", "name", "score"}


def test_dataset_lists_unlinked_and_fuzzy_names(make_folder):
    rows = "".join(f"P1,2025-03-0{d}T08:00,{name},10\n" for d, name in
                   [(1, "bench press"), (2, "bench press"), (3, "kne to chset"), (4, "bridge")])
    ds = load(make_folder({"sessions.csv": "patient_id,performed_at,exercise,reps\n" + rows}),
              now=NOW)
    assert len(ds.sessions) == 4  # unlinked rows are loaded, not rejected
    assert ds.unlinked[["name", "count", "tables"]].values.tolist() == [
        ["bench press", 2, "sessions"]]
    assert ds.fuzzy[["name", "exercise_id", "count"]].values.tolist() == [
        ["kne to chset", "single_knee_to_chest", 1]]
    assert ds.sessions["link_method"].tolist() == ["none", "none", "fuzzy", "exact"]
    assert not ds.clean


def test_user_alias_file_extends_catalog(make_folder):
    folder = make_folder({
        "sessions.csv": ("patient_id,performed_at,exercise,reps\n"
                         "P1,2025-03-01T08:00,Dr Kim curl,5\n"),
        "aliases.csv": "name,exercise_id\nDr Kim curl,single_knee_to_chest\nfoo,not_an_id\n",
    })
    ds = load(folder, now=NOW)
    assert ds.sessions["exercise_id"].tolist() == ["single_knee_to_chest"]
    assert ds.rejects[["table", "line", "column"]].values.tolist() == [
        ["aliases", 3, "exercise_id"]]
    acc = ds.accounting.set_index("table").loc["aliases"]
    assert (acc["read"], acc["loaded"], acc["rejected"]) == (2, 1, 1)
