"""Tests of the exercise catalog (analytics/data/catalog.yaml and analytics/catalog.py).

The expected numbers were checked by hand against the five source articles.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from analytics.catalog import (
    Catalog,
    CatalogError,
    format_dose,
    format_table,
    load_catalog,
)
from analytics.names import fold_plurals, normalize_name

VIDEO = "Video Series: Exercises to Keep a Healthy Back"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# --------------------------------------------------------------------------- packaged file


def test_packaged_catalog_loads_and_is_cached(catalog: Catalog) -> None:
    assert len(catalog) >= 20
    assert load_catalog() is catalog
    assert len(catalog.sources) == 5


@pytest.mark.parametrize(
    "exercise_id",
    [
        "single_knee_to_chest", "double_knee_to_chest", "prone_press_up",
        "long_axis_traction_stretch", "plank", "side_plank", "rotating_plank",
        "abdominal_crunch_close_to_floor", "bird_dog", "hip_flexor_stretch",
        "ball_squeeze_posterior_pelvic_tilt", "cat_cow", "chin_to_chest", "shoulder_shrug",
        "pelvic_tilt", "lower_trunk_rotation", "hamstring_stretch", "bridge",
        "back_stretch_with_breathing", "horizontal_oblique_crunch", "straight_leg_raise",
        "upper_abdominal_crunch", "leg_and_arm_lifts",
    ],
)
def test_exercise_exists(catalog: Catalog, exercise_id: str) -> None:
    assert exercise_id in catalog
    assert catalog.get(exercise_id).id == exercise_id


def test_ids_in_file_order_and_unique(catalog: Catalog) -> None:
    ids = catalog.ids()
    assert len(ids) == len(set(ids)) == len(catalog) == 23
    assert ids[0] == "single_knee_to_chest"
    assert [ex.id for ex in catalog] == list(ids)


def test_get_unknown_id_raises_clear_key_error(catalog: Catalog) -> None:
    with pytest.raises(KeyError, match="no exercise 'push_up' in the catalog"):
        catalog.get("push_up")
    assert "push_up" not in catalog
    assert ["bridge"] not in catalog


def test_source_titles_and_authors(catalog: Catalog) -> None:
    by_id = {s.id: s for s in catalog.sources}
    assert by_id["ben_kim"].title == "Healthy Spine Exercises"
    assert by_id["ben_kim"].author == "Dr. Ben Kim"
    assert by_id["ben_kim"].seed_file == "000_60569990b361a23b.txt"
    assert by_id["healthy_back_video"].title == VIDEO
    assert by_id["healthy_back_video"].author is None
    assert [s.seed_file[:3] for s in catalog.sources] == ["000", "001", "002", "003", "004"]


def test_pelvic_tilt_from_video_series(catalog: Catalog) -> None:
    p = next(p for p in catalog.get("pelvic_tilt").prescriptions if p.source_title == VIDEO)
    assert (p.hold_s_min, p.hold_s_max, p.reps_min, p.reps_max) == (5, 5, 10, 10)
    assert p.sets is None and p.times_per_day is None
    assert p.hold_s_target == 5


def test_bridge_has_two_prescriptions(catalog: Catalog) -> None:
    bridge = catalog.get("bridge")
    assert bridge.source_ids == ("healthy_back_video", "best_spine_back_exercises")
    video = bridge.prescription("healthy_back_video")
    assert (video.hold_s_min, video.hold_s_max, video.reps_min, video.reps_max) == (3, 5, 10, 10)
    assert video.sets is None
    best = bridge.prescription("best_spine_back_exercises")
    assert (best.sets, best.reps_min, best.reps_max) == (3, 15, 15)
    assert (best.rest_s_min, best.rest_s_max) == (60, 60)
    assert best.hold_s_min is None
    # the most concrete prescription is the default
    assert bridge.default is best


def test_single_knee_to_chest_three_sources(catalog: Catalog) -> None:
    ktc = catalog.get("single_knee_to_chest")
    assert set(ktc.source_ids) == {"ben_kim", "healthy_back_video", "best_spine_back_exercises"}
    kim = ktc.prescription("ben_kim")
    assert (kim.hold_s_min, kim.hold_s_max) == (20, 30)
    assert kim.reps_min is None and kim.reps_max is None  # "a few more times"
    assert kim.sides == "each_side"
    video = ktc.prescription("healthy_back_video")
    assert (video.hold_s_min, video.reps_min, video.reps_max) == (10, 3, 5)
    best = ktc.prescription("best_spine_back_exercises")
    assert (best.hold_s_min, best.reps_min, best.reps_max, best.times_per_day) == (5, 2, 3, 2)


def test_double_knee_to_chest_merges_articles_000_001_002(catalog: Catalog) -> None:
    dktc = catalog.get("double_knee_to_chest")
    assert dktc.source_ids == ("ben_kim", "thirteen_spine_exercises", "healthy_back_video")
    assert not dktc.prescription("thirteen_spine_exercises").has_dose
    assert dktc.prescription("healthy_back_video").sides == "both"


def test_lower_trunk_rotation_twice_a_day_from_article_003(catalog: Catalog) -> None:
    ltr = catalog.get("lower_trunk_rotation")
    best = ltr.prescription("best_spine_back_exercises")
    assert best.times_per_day == 2
    assert (best.hold_s_min, best.hold_s_max, best.reps_min, best.reps_max) == (5, 10, 2, 3)
    video = ltr.prescription("healthy_back_video")
    assert (video.hold_s_min, video.hold_s_max, video.reps_min, video.reps_max) == (3, 5, None, 10)


@pytest.mark.parametrize(
    ("exercise_id", "hold", "reps"),
    [
        pytest.param("hamstring_stretch", (10, 20), (3, 3), id="hamstring"),
        pytest.param("straight_leg_raise", (5, 5), (10, 12), id="slr"),
        pytest.param("upper_abdominal_crunch", (3, 3), (12, 15), id="upper-crunch"),
        pytest.param("leg_and_arm_lifts", (3, 5), (12, 15), id="leg-arm-lifts"),
        pytest.param("horizontal_oblique_crunch", (None, None), (12, 15), id="oblique"),
        pytest.param("back_stretch_with_breathing", (None, None), (15, 15), id="back-noise"),
        pytest.param("hip_flexor_stretch", (30, 30), (None, None), id="hip-flexor"),
        pytest.param("prone_press_up", (20, 30), (None, None), id="press-up"),
        pytest.param("plank", (None, None), (None, None), id="plank-no-dose"),
    ],
)
def test_default_doses(
    catalog: Catalog, exercise_id: str, hold: tuple[Any, Any], reps: tuple[Any, Any]
) -> None:
    d = catalog.get(exercise_id).default
    assert (d.hold_s_min, d.hold_s_max) == hold
    assert (d.reps_min, d.reps_max) == reps


def test_every_default_follows_the_documented_rule(catalog: Catalog) -> None:
    order = [s.id for s in catalog.sources]
    for ex in catalog:
        best = max(
            ex.prescriptions,
            key=lambda p: (
                sum(v is not None for v in p.dose_values), -order.index(p.source_id)
            ),
        )
        assert ex.default is best, ex.id


def test_numbers_are_typed(catalog: Catalog) -> None:
    for ex in catalog:
        for p in ex.prescriptions:
            for v in (p.hold_s_min, p.hold_s_max, p.rest_s_min, p.rest_s_max):
                assert v is None or isinstance(v, float)
            for v in (p.reps_min, p.reps_max, p.sets, p.times_per_day):
                assert v is None or (isinstance(v, int) and not isinstance(v, bool))
            assert p.quote


def test_waking_caution_on_ben_kim_stretches(catalog: Catalog) -> None:
    for ex in catalog:
        ids = {c.id for c in ex.cautions}
        if "ben_kim" in ex.source_ids:
            assert {"no_stretch_on_waking", "stretch_later_after_workout"} <= ids, ex.id
        else:
            assert "no_stretch_on_waking" not in ids, ex.id
    waking = next(c for c in catalog.get("prone_press_up").cautions
                  if c.id == "no_stretch_on_waking")
    assert waking.kind == "timing" and waking.source_id == "ben_kim"


def test_article_cautions_follow_their_sources(catalog: Catalog) -> None:
    bridge = {c.id: c for c in catalog.get("bridge").cautions}
    assert bridge["doctor_approval_first"].kind == "approval"
    assert bridge["stop_and_contact_on_symptoms"].kind == "stop_and_contact"
    assert "numbness" in bridge["stop_and_contact_on_symptoms"].text
    plank = {c.id for c in catalog.get("plank").cautions}
    assert "never_past_neutral" in plank
    slr = {c.id for c in catalog.get("straight_leg_raise").cautions}
    assert {"consult_professional_if_condition", "contact_doctor_if_symptoms_persist"} <= slr


def test_knee_vs_knees_to_chest(catalog: Catalog) -> None:
    keys = catalog.name_keys()
    assert keys["knee to chest"] == "single_knee_to_chest"
    assert keys[normalize_name("Knee-to-Chest")] == "single_knee_to_chest"
    assert keys["ktc"] == "single_knee_to_chest"
    assert keys["knees to chest"] == "double_knee_to_chest"
    assert keys["both knees to chest"] == "double_knee_to_chest"
    assert keys["double knee to chest"] == "double_knee_to_chest"
    # the plural-folded level cannot tell them apart, so the key is ambiguous and unused
    assert fold_plurals("knees to chest") in catalog.plural_ambiguous
    assert "knee to chest" not in catalog.folded_keys()
    assert catalog.plural_ambiguous == {"knee to chest", "knee to chest stretch"}


@pytest.mark.parametrize(
    ("typed", "exercise_id"),
    [
        ("Glute bridge", "bridge"),
        ("hip bridge", "bridge"),
        ("McKenzie press-up", "prone_press_up"),
        ("press up", "prone_press_up"),
        ("Bird-dog", "bird_dog"),
        ("quadruped arm and leg raise", "bird_dog"),
        ("cat camel", "cat_cow"),
        ("LTR", "lower_trunk_rotation"),
        ("rotational stretches", "lower_trunk_rotation"),
        ("windshield wipers", "lower_trunk_rotation"),
        ("supine hamstring stretch", "hamstring_stretch"),
        ("SLR", "straight_leg_raise"),
        ("thigh stretch", "straight_leg_raise"),
        ("crunch", "abdominal_crunch_close_to_floor"),
        ("side bridge", "side_plank"),
        ("pelvic tilts", "pelvic_tilt"),
        ("posterior pelvic tilt", "pelvic_tilt"),
        ("neck flexion stretch", "chin_to_chest"),
        ("shrugs", "shoulder_shrug"),
        ("Back noise", "back_stretch_with_breathing"),
        ("leg and arm lifts", "leg_and_arm_lifts"),
        ("Cat-Cow stretch", "cat_cow"),
    ],
)
def test_aliases(catalog: Catalog, typed: str, exercise_id: str) -> None:
    assert catalog.name_keys()[normalize_name(typed)] == exercise_id


def test_push_up_is_not_an_alias(catalog: Catalog) -> None:
    keys = catalog.name_keys()
    assert "push up" not in keys
    assert "pushup" not in keys


def test_folded_keys(catalog: Catalog) -> None:
    folded = catalog.folded_keys()
    assert folded["bridge"] == "bridge"
    assert folded[fold_plurals("hamstring stretches")] == "hamstring_stretch"
    assert not set(folded) & catalog.plural_ambiguous


def test_to_records_is_json_ready(catalog: Catalog) -> None:
    records = catalog.to_records()
    assert len(records) == len(catalog)
    json.dumps(records)
    required = {"id", "name", "aliases", "region", "kind", "position", "summary",
                "default_source", "cautions", "prescriptions"}
    prescription_keys = {
        "source", "source_id", "hold_s_min", "hold_s_max", "reps_min", "reps_max", "sets",
        "rest_s_min", "rest_s_max", "rest", "sides", "times_per_day", "quote", "note",
    }
    for rec in records:
        assert set(rec) == required
        assert isinstance(rec["aliases"], list)
        for c in rec["cautions"]:
            assert set(c) == {"id", "text", "kind", "source"}
        for p in rec["prescriptions"]:
            assert set(p) == prescription_keys
    ktc = next(r for r in records if r["id"] == "single_knee_to_chest")
    kim = next(p for p in ktc["prescriptions"] if p["source_id"] == "ben_kim")
    assert kim["source"] == "Healthy Spine Exercises"
    assert kim["reps_min"] is None


def test_to_frame(catalog: Catalog) -> None:
    frame = catalog.to_frame()
    assert list(frame.columns) == [
        "id", "name", "region", "kind", "position", "hold_s_min", "hold_s_max", "reps_min",
        "reps_max", "sets", "sides", "times_per_day", "default_source", "n_sources", "aliases",
    ]
    assert len(frame) == len(catalog)
    row = frame.set_index("id").loc["bridge"]
    assert row["sets"] == 3 and row["reps_min"] == 15
    assert row["n_sources"] == 2
    assert row["default_source"] == "best_spine_back_exercises"
    assert "glute bridge" in row["aliases"]


def test_format_table_and_dose(catalog: Catalog) -> None:
    kim = catalog.get("single_knee_to_chest").prescription("ben_kim")
    assert format_dose(kim) == "hold 20-30 s x ? reps, each side"
    best = catalog.get("single_knee_to_chest").default
    assert format_dose(best) == "hold 5 s x 2-3 reps, each side, 2x/day"
    assert format_dose(catalog.get("bridge").default) == "3 sets x 15 reps, rest 60 s"
    assert format_dose(catalog.get("plank").default) == "no dose given"
    text = format_table(catalog)
    lines = text.splitlines()
    assert lines[0].split() == ["id", "name", "region", "kind", "default", "dose", "source"]
    assert len(lines) == len(catalog) + 3
    assert any(line.startswith("bridge ") for line in lines)
    assert lines[-1] == "23 exercises from 5 articles"


# --------------------------------------------------------------------------- error cases


def _minimal() -> dict[str, Any]:
    """A small valid catalog: one source, two exercises."""
    return {
        "version": 1,
        "sources": [
            {
                "id": "art",
                "title": "An article",
                "author": None,
                "seed_file": "000.txt",
                "cautions": [{"id": "ask_doctor", "text": "Ask first.", "kind": "approval"}],
            },
        ],
        "exercises": [
            {
                "id": "bridge",
                "name": "Bridge",
                "aliases": ["glute bridge"],
                "region": "hips_legs",
                "kind": "strength",
                "position": "supine",
                "summary": "Raise the hips.",
                "prescriptions": [
                    {"source": "art", "hold_s_min": 3, "hold_s_max": 5, "reps_min": 10,
                     "reps_max": 10, "quote": "Hold for 3 to 5 seconds."},
                ],
                "default": "art",
                "cautions": ["ask_doctor"],
            },
            {
                "id": "plank",
                "name": "Plank",
                "aliases": ["planks"],
                "region": "core",
                "kind": "strength",
                "position": "plank",
                "summary": "Hold a plank.",
                "prescriptions": [{"source": "art", "quote": "Planks are great."}],
                "default": "art",
                "cautions": ["ask_doctor"],
            },
        ],
    }


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_minimal_catalog_loads(tmp_path: Path) -> None:
    cat = load_catalog(_write(tmp_path, _minimal()))
    assert cat.ids() == ("bridge", "plank")
    assert cat.get("plank").default.has_dose is False
    assert cat.get("bridge").default.hold_s_min == 3.0
    assert cat.plural_ambiguous == frozenset()
    assert cat.folded_keys()["plank"] == "plank"


def _dup_id(d: dict[str, Any]) -> None:
    d["exercises"][1]["id"] = "bridge"
    d["exercises"][1]["aliases"] = []


def _alias_collision(d: dict[str, Any]) -> None:
    d["exercises"][1]["aliases"] = ["Glute-Bridge"]


def _bad_region(d: dict[str, Any]) -> None:
    d["exercises"][0]["region"] = "spine"


def _min_gt_max(d: dict[str, Any]) -> None:
    d["exercises"][0]["prescriptions"][0]["hold_s_min"] = 8


def _missing_default(d: dict[str, Any]) -> None:
    d["exercises"][0]["default"] = "other_article"


def _unknown_source(d: dict[str, Any]) -> None:
    d["exercises"][1]["prescriptions"][0]["source"] = "nowhere"


def _float_reps(d: dict[str, Any]) -> None:
    d["exercises"][0]["prescriptions"][0]["reps_min"] = 2.5


def _negative_hold(d: dict[str, Any]) -> None:
    d["exercises"][0]["prescriptions"][0]["hold_s_min"] = -1


def _bad_id(d: dict[str, Any]) -> None:
    d["exercises"][0]["id"] = "Glute Bridge"


def _unknown_caution(d: dict[str, Any]) -> None:
    d["exercises"][0]["cautions"] = ["ask_doctor", "no_such_caution"]


def _caution_left_out(d: dict[str, Any]) -> None:
    d["exercises"][1]["cautions"] = []


def _missing_key(d: dict[str, Any]) -> None:
    del d["exercises"][0]["summary"]


def _unknown_key(d: dict[str, Any]) -> None:
    d["exercises"][0]["prescriptions"][0]["hold_min"] = 3


def _bad_sides(d: dict[str, Any]) -> None:
    d["exercises"][0]["prescriptions"][0]["sides"] = "left"


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        pytest.param(_dup_id, r"exercises\[1\] 'bridge': duplicate exercise id 'bridge'",
                     id="duplicate-id"),
        pytest.param(_alias_collision,
                     r"exercise 'plank': alias/name 'Glute-Bridge' collides with 'glute bridge' "
                     r"of exercise 'bridge'", id="alias-collision"),
        pytest.param(_bad_region, r"exercises\[0\] 'bridge': region 'spine' is not one of",
                     id="bad-region"),
        pytest.param(_min_gt_max, r"prescriptions\[0\]: hold_s_min 8 > hold_s_max 5",
                     id="min-gt-max"),
        pytest.param(_missing_default, r"default 'other_article' is not the source",
                     id="default-missing-source"),
        pytest.param(_unknown_source, r"source 'nowhere' is not a known source id",
                     id="unknown-source"),
        pytest.param(_float_reps, r"reps_min must be a whole number, got 2\.5", id="float-reps"),
        pytest.param(_negative_hold, r"hold_s_min must be a finite number >= 0",
                     id="negative-hold"),
        pytest.param(_bad_id, r"id 'Glute Bridge' is not a snake_case id", id="bad-id"),
        pytest.param(_unknown_caution, r"caution 'no_such_caution' is not a known caution id",
                     id="unknown-caution"),
        pytest.param(_caution_left_out,
                     r"article-wide caution 'ask_doctor' of source 'art' is not listed",
                     id="caution-left-out"),
        pytest.param(_missing_key, r"missing required key\(s\): summary", id="missing-key"),
        pytest.param(_unknown_key, r"unknown key\(s\): hold_min", id="unknown-key"),
        pytest.param(_bad_sides, r"sides 'left' is not one of: each_side, both", id="bad-sides"),
    ],
)
def test_invalid_catalog(tmp_path: Path, mutate: Any, match: str) -> None:
    data = copy.deepcopy(_minimal())
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(CatalogError, match=match) as info:
        load_catalog(path)
    assert str(path) in str(info.value)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    data = _minimal()
    _bad_region(data)
    _min_gt_max(data)
    _missing_default(data)
    with pytest.raises(CatalogError) as info:
        load_catalog(_write(tmp_path, data))
    err = info.value
    assert len(err.problems) == 3
    assert "3 problems" in str(err)
    assert isinstance(err, ValueError)


def test_plural_collision_is_recorded_not_an_error(tmp_path: Path) -> None:
    data = _minimal()
    data["exercises"][0]["aliases"] = ["knee to chest"]
    data["exercises"][1]["aliases"] = ["knees to chest"]
    cat = load_catalog(_write(tmp_path, data))
    assert cat.plural_ambiguous == {"knee to chest"}
    assert cat.name_keys()["knees to chest"] == "plank"
    assert "knee to chest" not in cat.folded_keys()


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CatalogError, match=r"nope\.yaml: 1 problem in the catalog:\n.*not found"):
        load_catalog(missing)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nsources: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CatalogError, match="the file is empty"):
        load_catalog(path)


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="catalog: must be a mapping, got list"):
        load_catalog(path)


def test_packaged_yaml_round_trips_through_a_path(tmp_path: Path, catalog: Catalog) -> None:
    from importlib import resources

    text = resources.files("analytics").joinpath("data", "catalog.yaml").read_text("utf-8")
    path = tmp_path / "copy.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_catalog(path) == catalog
